"""A long study across short GPU leases: what travels between them, and one lease's share.

    python bench/gpu_lease.py pack-faces WORKDIR BUNDLE
    python bench/gpu_lease.py lease --workdir W --configfile C --out OUT --budget S [--grace G]
        [--carry FILE ...] [--config-value KEY=VALUE ...] [--cores N] [-- SNAKEMAKE ARGS]
    python bench/gpu_lease.py estimate --configfile C [--faces N]

``pack-faces`` packs the prepared-data stage's outputs of a finished run in WORKDIR
(``results/data/``: the face set, its table, the skipped records and the splits), with
Snakemake's metadata records of them, into one xz-compressed tar: the faces travel, the
archive does not. ``lease`` unpacks what it carries (a faces bundle, the state parts of the
previous lease) into W, runs Snakemake on C until ``budget - grace`` seconds have passed
(then SIGTERM: Snakemake starts no new job and waits for the running ones), interrupts it
at ``budget`` (SIGINT: the running jobs are stopped, their outputs not trusted), and packs,
under OUT, every finished output that the rest of the study still reads or that nothing
reads (the study's end products), with its metadata record and each job's log and
benchmark, in parts of at most 16 MiB. ``estimate`` prints what the study's big files
weigh, from the config.

What makes Snakemake trust carried outputs, honestly:

- the files are byte-identical and keep their times (tar), and their metadata records
  (``.snakemake/metadata``: params, set of inputs, input checksums) travel with them, so
  every rerun trigger is checked as on the machine that made them;
- a rule's script newer than its outputs reruns the rule (Snakemake's code trigger reads the
  script's mtime, and a fresh checkout makes every script new): a bundle records each
  script's SHA-256 and mtime, and the unpacking puts the recorded mtime back on a script
  whose content is the same (a changed script keeps its new time, and its jobs rerun);
- the archive is absent where the faces travel: ``--config mtfl={url: ""}`` defines no
  fetch_mtfl rule, and Snakemake takes an existing output whose input is missing as a
  source, so prepare_faces leaves the DAG. Snakemake can then check none of its params:
  the bundle records them, and a lease refuses a config whose data settings differ;
- a file with Snakemake's incomplete marker (its job was interrupted) is never carried;
- Snakemake reruns a finished job whose output is missing only when a job that has to run
  reads that output: a finished intermediate that no remaining job reads (a block's
  models.pt once its int8 scoring is done, features once every block on them is) need
  not travel.
"""

import argparse
import base64
import hashlib
import io
import json
import lzma
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from workflow_scripts.nn.architecture import Architecture, prefix_length  # noqa: E402
from workflow_scripts.nn.networks import ConvAutoencoder, build_classifier  # noqa: E402
from workflow_scripts.study import config as study_config, grid as study_grid, scenarios  # noqa: E402

MIB = 2 ** 20
PART_BYTES = 16 * MIB  # the device tool's files back: 16 MiB a file,
MAX_FILES_BACK = 8  # 8 files,
MAX_BYTES_BACK = 64 * MIB  # 64 MiB together; and 64 MiB carried in, the working tree included
FACE_FILES = ("results/data/faces.pt", "results/data/faces.csv", "results/data/skipped_records.csv",
              "results/data/roles.csv", "results/data/subsets.csv")
MANIFEST = "lease_manifest.json"
STAGE_SCRIPTS = "workflow_scripts/stages"
NO_DOWNLOAD = 'mtfl={url: ""}'  # mtfl.url is not part of the config hash
# images compress better as differences of neighbouring bytes
FACES_FILTERS = [{"id": lzma.FILTER_DELTA, "dist": 1}, {"id": lzma.FILTER_LZMA2, "preset": 6}]
STATE_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6}]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def snakemake_record(workdir: Path, kind: str, relative: str) -> Path:
    """Where Snakemake keeps its ``kind`` record (metadata, incomplete) of ``relative``
    (snakemake/persistence/file.py: the path's URL-safe base64, cut into names of 254)."""
    encoded = base64.urlsafe_b64encode(relative.encode()).decode()
    parts = [encoded[i:i + 254] for i in range(0, len(encoded), 254)]
    return workdir / ".snakemake" / kind / Path(*["@" + p for p in parts[:-1]], parts[-1])


def incomplete_files(workdir: Path) -> set[str]:
    """Outputs of jobs that started and did not finish (Snakemake's incomplete markers)."""
    folder = workdir / ".snakemake" / "incomplete"
    found = set()
    for marker in folder.rglob("*") if folder.is_dir() else []:
        if marker.is_file():
            encoded = "".join(p.lstrip("@") for p in marker.relative_to(folder).parts)
            try:
                found.add(base64.urlsafe_b64decode(encoded).decode())
            except ValueError:
                continue
    return found


def script_stamps(code_root: Path) -> dict:
    """SHA-256 and mtime of every rule script."""
    return {str(p.relative_to(code_root)): [sha256(p), p.stat().st_mtime]
            for p in sorted((code_root / STAGE_SCRIPTS).glob("*.py"))}


def restore_script_times(code_root: Path, stamps: dict) -> list[str]:
    """Put the recorded mtime back on each script whose content is the recorded one and
    whose mtime is later (a fresh checkout's); return those it changed."""
    restored = []
    for name, (digest, mtime) in stamps.items():
        path = code_root / name
        if path.is_file() and path.stat().st_mtime > mtime and sha256(path) == digest:
            os.utime(path, (mtime, mtime))
            restored.append(name)
    return restored


def faces_settings(config: dict) -> dict:
    """prepare_faces' params (rules/data.smk), which Snakemake cannot check where the archive is absent."""
    return {"data": config["data"], "dataset": study_config.dataset_settings(config)}


class _PartWriter(io.RawIOBase):
    """A file object that writes into ``stem.000``, ``stem.001``, … of at most ``part_bytes`` each."""

    def __init__(self, stem: Path, part_bytes: int):
        self.stem, self.part_bytes, self.paths, self._file, self._left = stem, part_bytes, [], None, 0

    def writable(self):
        return True

    def write(self, data):
        view, written = memoryview(data), 0
        while written < len(view):
            if self._left == 0:
                if self._file:
                    self._file.close()
                self.paths.append(self.stem.with_name(f"{self.stem.name}.{len(self.paths):03d}"))
                self._file, self._left = open(self.paths[-1], "wb"), self.part_bytes
            n = min(self._left, len(view) - written)
            self._file.write(view[written:written + n])
            written, self._left = written + n, self._left - n
        return written

    def close(self):
        if self._file:
            self._file.close()
            self._file = None
        super().close()


def write_bundle(workdir: Path, files: list[str], stem: Path, manifest: dict, filters, part_bytes=PART_BYTES) -> list[Path]:
    """``files`` (relative to ``workdir``), their metadata records and ``manifest`` as one
    xz-compressed tar cut into parts ``stem.000``, …; return the parts."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    for old in stem.parent.glob(f"{stem.name}.[0-9][0-9][0-9]"):
        old.unlink()
    manifest = {**manifest, "files": {name: sha256(workdir / name) for name in files}}
    parts = _PartWriter(stem, part_bytes)
    with lzma.open(parts, "wb", format=lzma.FORMAT_XZ, filters=filters) as xz, tarfile.open(fileobj=xz, mode="w|") as tar:
        data = json.dumps(manifest, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime = len(data), time.time()
        tar.addfile(info, io.BytesIO(data))
        for name in files:
            tar.add(workdir / name, arcname=name)
            record = snakemake_record(workdir, "metadata", name)
            if record.is_file():
                tar.add(record, arcname=str(record.relative_to(workdir)))
    parts.close()
    return parts.paths


def read_bundle(parts: list[Path], workdir: Path) -> dict:
    """Unpack the parts of one bundle into ``workdir`` (files keep their times); check each
    file against the manifest; return the manifest."""
    stream = io.BytesIO(b"".join(Path(p).read_bytes() for p in sorted(parts)))
    with lzma.open(stream) as xz, tarfile.open(fileobj=xz, mode="r|") as tar:
        manifest = None
        for member in tar:
            if member.name == MANIFEST:
                manifest = json.load(tar.extractfile(member))
            else:
                tar.extract(member, workdir, filter="data")
    if manifest is None:
        raise SystemExit(f"{parts[0]}: no {MANIFEST} inside: not a bundle written by bench/gpu_lease.py")
    for name, digest in manifest["files"].items():
        if sha256(workdir / name) != digest:
            raise SystemExit(f"{parts[0]}: {name} does not match its SHA-256 in the bundle")
    return manifest


def bundles(paths: list[Path]) -> list[list[Path]]:
    """Carried files grouped into bundles (``stem.000``, ``stem.001``, … together), in name order."""
    grouped = {}
    for path in sorted(Path(p) for p in paths):
        stem = re.sub(r"\.\d{3}$", "", str(path))
        grouped.setdefault(stem, []).append(path)
    return list(grouped.values())


def pack_faces(workdir: Path, bundle: Path, configfile: Path, code_root: Path = ROOT) -> list[Path]:
    config = study_config.load_config_file(configfile)
    missing = [name for name in FACE_FILES if not (workdir / name).is_file()]
    if missing:
        raise SystemExit(f"{workdir}: {', '.join(missing)} missing: run the data stage first "
                         "(snakemake results/data/faces.pt results/data/subsets.csv)")
    if set(FACE_FILES) & incomplete_files(workdir):
        raise SystemExit(f"{workdir}: the data stage did not finish (Snakemake's incomplete markers)")
    manifest = {"kind": "faces", "config_hash": study_config.config_hash(config), "faces_settings": faces_settings(config),
                "scripts": script_stamps(code_root)}
    return write_bundle(workdir, list(FACE_FILES), bundle, manifest, FACES_FILTERS)


def snakemake_command(code_root: Path, workdir: Path, configfile: Path, config_values, cores, extra) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(code_root / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(configfile), "--config", NO_DOWNLOAD, *config_values, "--cores", str(cores), *extra]


def planned_jobs(command: list[str], env) -> list[dict]:
    """The jobs a dry run of ``command`` plans, each {rule, input, output} (Snakemake's own printout)."""
    result = subprocess.run([*command, "--dry-run", "--rerun-incomplete"], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"the dry run failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    jobs = []
    for line in result.stdout.splitlines():
        if m := re.match(r"^(?:local)?rule (\S+):$", line):
            jobs.append({"rule": m.group(1), "input": [], "output": []})
        elif jobs and (m := re.match(r"^    (input|output): (.*)$", line)):
            jobs[-1][m.group(1)] = m.group(2).split(", ")
    return jobs


def finished_outputs(workdir: Path) -> dict[str, list[str]]:
    """Output -> recorded inputs, of every output Snakemake recorded as finished that is
    still there and not marked incomplete."""
    folder, incomplete = workdir / ".snakemake" / "metadata", incomplete_files(workdir)
    found = {}
    for record in folder.rglob("*") if folder.is_dir() else []:
        if not record.is_file():
            continue
        name = base64.urlsafe_b64decode("".join(p.lstrip("@") for p in record.relative_to(folder).parts)).decode()
        if name not in incomplete and (workdir / name).is_file():
            meta = json.loads(record.read_text())
            found[name] = list(meta.get("input") or [])
    return found


def state_files(workdir: Path, pending: list[dict], skip: dict) -> list[str]:
    """What the next lease needs so that it reruns no finished job: every finished output
    that a remaining job reads or that no job reads (an end product), and the logs and
    benchmarks; less the files of ``skip`` ({path: sha256}: carried anyway) still equal to them."""
    finished = finished_outputs(workdir)
    read = {f for inputs in finished.values() for f in inputs} | {f for job in pending for f in job["input"]}
    read_by_pending = {f for job in pending for f in job["input"]}
    wanted = {f for f in finished if f in read_by_pending or f not in read}
    for kind in ("logs", "benchmarks"):
        folder = workdir / "results" / kind
        wanted |= {str(p.relative_to(workdir)) for p in folder.rglob("*") if p.is_file() and ".partial-" not in p.name}
    wanted -= {f for f, digest in skip.items() if (workdir / f).is_file() and sha256(workdir / f) == digest}
    return sorted(wanted)


def run_until(command, env, budget: float, grace: float, log_path: Path) -> dict:
    """Run ``command`` until it ends or ``budget`` seconds pass: SIGTERM at ``budget - grace``
    (no new jobs; the running ones finish), SIGINT at ``budget`` (the running jobs stop)."""
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        stops = [(budget - grace, signal.SIGTERM), (budget, signal.SIGINT), (budget + 60, signal.SIGKILL)]
        sent = []
        while process.poll() is None:
            elapsed = time.monotonic() - started
            for at, sig in stops:
                if elapsed >= at and sig not in sent:
                    # SIGTERM to Snakemake alone; SIGINT and SIGKILL to its jobs too, as Ctrl-C in a terminal
                    (os.kill if sig == signal.SIGTERM else os.killpg)(process.pid, sig)
                    sent.append(sig)
            time.sleep(0.5)
    return {"returncode": process.returncode, "seconds": round(time.monotonic() - started, 1),
            "signals": [signal.Signals(s).name for s in sent]}


def lease(args) -> dict:
    workdir, out = args.workdir.resolve(), args.out.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    configfile = args.configfile.resolve()
    config = study_config.load_config_file(configfile)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(args.code_root), os.environ.get("PYTHONPATH")]))}
    report = {"config_hash": study_config.config_hash(config), "budget_s": args.budget}

    started = time.monotonic()
    carried_faces, stamps = {}, {}
    for parts in bundles(args.carry):
        manifest = read_bundle(parts, workdir)
        if manifest["kind"] == "faces":
            if manifest["faces_settings"] != json.loads(json.dumps(faces_settings(config))):
                raise SystemExit(f"{parts[0]}: its faces were prepared under other data settings than {configfile} "
                                 f"names ({manifest['faces_settings']}): prepare them again")
            carried_faces = manifest["files"]
        stamps.update(manifest["scripts"])
    report["restored_script_times"] = restore_script_times(args.code_root, stamps)
    report["unpack_s"] = round(time.monotonic() - started, 1)

    command = snakemake_command(args.code_root, workdir, configfile, args.config_value, args.cores,
                                ["--keep-going", "--rerun-incomplete", *args.snakemake_args])
    report["planned_at_start"] = planned_jobs(command, env)
    report["run"] = run_until(command, env, args.budget, args.grace, out / "snakemake.log")

    started = time.monotonic()
    pending = planned_jobs(command, env)
    report["pending_jobs"] = len([j for j in pending if j["rule"] != "all"])
    files = state_files(workdir, pending, carried_faces)
    manifest = {"kind": "state", "config_hash": report["config_hash"], "scripts": script_stamps(args.code_root)}
    parts = write_bundle(workdir, files, out / "state.tar.xz", manifest, STATE_FILTERS)
    report["pack_s"] = round(time.monotonic() - started, 1)
    report["carried"], report["state_parts"] = files, [p.name for p in parts]
    report["state_bytes"] = sum(p.stat().st_size for p in parts)
    (out / "lease.json").write_text(json.dumps(report, indent=1))
    if len(parts) + 2 > MAX_FILES_BACK or report["state_bytes"] > MAX_BYTES_BACK - (out / "snakemake.log").stat().st_size:
        heaviest = sorted(files, key=lambda f: -(workdir / f).stat().st_size)[:5]
        raise SystemExit(f"the state ({report['state_bytes'] / MIB:.1f} MiB in {len(parts)} parts) does not fit the "
                         f"{MAX_FILES_BACK} files / {MAX_BYTES_BACK // MIB} MiB that come back; heaviest: "
                         + ", ".join(f"{f} ({(workdir / f).stat().st_size / MIB:.1f} MiB)" for f in heaviest))
    return report


def estimate(configfile: Path, n_faces: int) -> list[tuple[str, int, float]]:
    """(what, count, MB each) of the study's big files, from the config's network and grid."""
    config = study_config.load_config_file(configfile)
    architecture = Architecture.from_config(config["network"], config["data"]["image_size"])
    members = len(config["finetune"]["train_sizes"]) * len(config["finetune"]["seeds"])

    def megabytes(tensors) -> float:
        return sum(t.numel() * t.element_size() for t in tensors) / 1e6

    classifier = build_classifier(architecture, 2)
    layers = list(classifier.named_children())
    rows = [("faces.pt (uint8 images)", 1, n_faces * config["data"]["image_size"] ** 2 / 1e6),
            ("source CAE model.pt", len(study_grid.pretrain_seeds(config)), megabytes(ConvAutoencoder(architecture).state_dict().values())),
            ("source CNN model.pt", (len(study_grid.source_networks(config)) - 1) * len(study_grid.pretrain_seeds(config)),
             megabytes(classifier.state_dict().values()))]
    blocks = study_grid.finetune_blocks(config)
    from_images = [b for b in blocks if not scenarios.is_frozen(b["scenario"])]
    rows.append((f"block models.pt, from images ({members} members)", len(from_images), members * megabytes(classifier.state_dict().values())))
    import torch

    for depth in config["finetune"]["depths"]:
        length = prefix_length(depth, architecture)
        frozen = [b for b in blocks if scenarios.is_frozen(b["scenario"]) and b["depth"] == depth]
        head = megabytes(t for _, layer in layers[length:] for t in layer.state_dict().values())
        with torch.no_grad():
            per_face = classifier[:length](torch.zeros(1, 1, config["data"]["image_size"], config["data"]["image_size"])).numel()
        rows.append((f"block models.pt, frozen at {depth}", len(frozen), members * head))
        networks = len(study_grid.source_networks(config)) * len(study_grid.pretrain_seeds(config))
        rows.append((f"features at {depth} (float32, {n_faces} faces)", networks, per_face * 4 * n_faces / 1e6))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    faces = commands.add_parser("pack-faces", help="pack the prepared faces of a finished data stage")
    faces.add_argument("workdir", type=Path)
    faces.add_argument("bundle", type=Path, help="the bundle's name; parts BUNDLE.000, BUNDLE.001, … are written")
    faces.add_argument("--configfile", type=Path, help="the run's config (default: WORKDIR/config.yaml)")
    one = commands.add_parser("lease", help="one lease's share of the study, then pack its state")
    one.add_argument("--workdir", type=Path, required=True)
    one.add_argument("--configfile", type=Path, required=True)
    one.add_argument("--out", type=Path, required=True, help="where the state parts and lease.json go ($OUT)")
    one.add_argument("--budget", type=float, required=True, help="seconds for Snakemake, its jobs included")
    one.add_argument("--grace", type=float, default=150, help="seconds before the budget when no new job starts")
    one.add_argument("--carry", type=Path, nargs="*", default=[], help="bundle parts to unpack first")
    one.add_argument("--config-value", action="append", default=[], help="KEY=VALUE for Snakemake's --config")
    one.add_argument("--cores", default="all")
    one.add_argument("--code-root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    one.add_argument("snakemake_args", nargs="*", help="after --: more Snakemake arguments")
    size = commands.add_parser("estimate", help="what the study's big files weigh")
    size.add_argument("--configfile", type=Path, default=ROOT / "workflow_scripts/config/mtfl_paper.yaml")
    size.add_argument("--faces", type=int, default=12995, help="faces in the set (MTFL: 12,995)")
    args = parser.parse_args(argv)

    if args.command == "pack-faces":
        started = time.monotonic()
        parts = pack_faces(args.workdir, args.bundle, args.configfile or args.workdir / "config.yaml")
        size_mb = sum(p.stat().st_size for p in parts) / 1e6
        print(f"{len(parts)} parts, {size_mb:.1f} MB, {time.monotonic() - started:.0f} s: {' '.join(map(str, parts))}")
    elif args.command == "lease":
        report = lease(args)
        print(json.dumps({k: v for k, v in report.items() if k not in ("planned_at_start", "carried")}, indent=1))
    else:
        total = 0
        for what, count, each in estimate(args.configfile, args.faces):
            total += count * each
            print(f"{what:48s} {count:4d} x {each:8.2f} MB = {count * each:9.1f} MB")
        print(f"{'total':48s} {total / 1e3:24.1f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
