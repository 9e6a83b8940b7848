"""The Python half of ``bench/gpu_check.sh``: the configs it runs and the tables it prints.

    python bench/gpu_check.py configs OUTDIR [--tiny] [--device cuda]
    python bench/gpu_check.py compare CPU_RESULTS CUDA_RESULTS...
    python bench/gpu_check.py slice-report SLICE_FOLDER CONFIG [--none-folder FOLDER] [--slice-seconds S]
    python bench/gpu_check.py utilisation UTIL_CSV STEPS_TSV

``configs`` writes two config files into OUTDIR: ``tiny.yaml`` (the tiny study of
``tests/test_workflow.py``) and ``paper_synthetic.yaml``
(``mtfl_paper.yaml`` on synthetic faces of MTFL's size, 10,000 training and 2,995 test
faces at 64 px: the MTFL archive does not travel to a GPU machine). ``--tiny`` shrinks the
paper config to a few seconds of work, to test the script on a CPU.

``compare`` prints how the metrics of the same config and seeds differ between a CPU run
and each CUDA run (members, balanced accuracy, kept epochs).
``slice-report`` prints the per-job seconds of a ``paper_scale.py slice`` run (its
Snakemake benchmark files) and extrapolates the whole paper-scale study from them.
``utilisation`` prints the GPU's mean and peak utilisation during each step.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from workflow_scripts.study import scenarios  # noqa: E402
from workflow_scripts.study.config import load_config_file  # noqa: E402
from workflow_scripts.study.grid import BLOCK_KEY, finetune_blocks, pretrain_seeds, source_networks  # noqa: E402

PAPER = ROOT / "workflow_scripts" / "config" / "mtfl_paper.yaml"
MTFL_SIZE = {"n_train": 10000, "n_test": 2995, "seed": 0}  # MTFL: 10,000 training and 2,995 test faces
MEMBER = [*BLOCK_KEY, "n_train", "seed"]


def write_configs(outdir: Path, tiny: bool, device: str):
    from test_workflow import TINY

    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "tiny.yaml").write_text(yaml.safe_dump(TINY))  # the device comes with --config
    paper = yaml.safe_load(PAPER.read_text())
    paper["device"] = device
    paper["data"]["dataset"] = "synthetic"
    paper["synthetic"] = dict(MTFL_SIZE)
    if tiny:  # the paper grid's shape at a few seconds' cost
        paper["data"]["image_size"] = 16
        paper["synthetic"].update(n_train=600, n_test=200)
        paper["finetune"].update(train_sizes=[20, 50], seeds=[0, 1])
        paper["finetune"]["training"].update(max_epochs=3, patience=1, min_epoch_samples=64)
        for network in ("cae", "cnn"):
            paper["pretrain"][network].update(max_epochs=2, patience=1)
    (outdir / "paper_synthetic.yaml").write_text(yaml.safe_dump(paper, sort_keys=False))


def compare(cpu_results: Path, cuda_results: Path):
    print(f"{cuda_results.parent.name} against {cpu_results.parent.name}, the same config and seeds")
    missing = [folder for folder in (cpu_results, cuda_results) if not (folder / "metrics.csv").exists()]
    if missing:
        print(f"no metrics.csv in {', '.join(map(str, missing))}: the run did not get that far")
        return
    cpu, cuda = (pd.read_csv(folder / "metrics.csv") for folder in (cpu_results, cuda_results))
    both = cpu.merge(cuda, on=MEMBER, suffixes=("_cpu", "_cuda"))
    print(f"{len(both)} members in both runs ({len(cpu)} on the CPU, {len(cuda)} on CUDA)")
    rows = []
    for metric in ("balanced_accuracy", "accuracy", "stop_balanced_accuracy"):
        if metric not in cpu.columns:
            continue
        difference = (both[f"{metric}_cuda"] - both[f"{metric}_cpu"]).abs()
        rows.append({"metric": metric, "max |diff|": difference.max(), "mean |diff|": difference.mean(),
                     "members differing": int((difference > 1e-9).sum())})
    print(pd.DataFrame(rows).to_string(index=False, float_format="{:.4f}".format))
    for column in ("best_epoch", "epochs_run"):
        changed = both[f"{column}_cpu"] != both[f"{column}_cuda"]
        print(f"{column}: {int(changed.sum())} of {len(both)} members differ")
    moved = both[both["best_epoch_cpu"] != both["best_epoch_cuda"]]
    if len(moved):
        print(moved[[*MEMBER, "best_epoch_cpu", "best_epoch_cuda", "balanced_accuracy_cpu", "balanced_accuracy_cuda"]]
              .to_string(index=False, float_format="{:.4f}".format))
    same_epoch = both[both["best_epoch_cpu"] == both["best_epoch_cuda"]]
    if len(same_epoch):
        difference = (same_epoch["balanced_accuracy_cuda"] - same_epoch["balanced_accuracy_cpu"]).abs()
        print(f"members that kept the same epoch: balanced accuracy max |diff| {difference.max():.4f}, "
              f"mean {difference.mean():.4f}")


def benchmarks(folder: Path) -> pd.DataFrame:
    """One row per finished job of a run: its rule, wildcards (as the path) and seconds."""
    rows = []
    for path in sorted((folder / "results" / "benchmarks").rglob("*.tsv")):
        seconds = pd.read_csv(path, sep="\t")["s"].iloc[0]
        parts = path.relative_to(folder / "results" / "benchmarks").with_suffix("").parts
        rows.append({"stage": parts[0], "job": "/".join(parts[1:]), "seconds": float(seconds)})
    return pd.DataFrame(rows, columns=["stage", "job", "seconds"])


def block_epochs(folder: Path) -> pd.DataFrame:
    """Per finished block: its members' epochs run (a stack runs until its last stops)."""
    frames = [pd.read_csv(path) for path in (folder / "results" / "finetune").rglob("metrics.csv")]
    if not frames:
        return pd.DataFrame(columns=[*BLOCK_KEY, "mean epochs", "max epochs"])
    metrics = pd.concat(frames)
    return (metrics.groupby(list(BLOCK_KEY))["epochs_run"].agg(["mean", "max"])
            .rename(columns={"mean": "mean epochs", "max": "max epochs"}).reset_index())


def slice_report(folder: Path, config_path: Path, none_folder: Path | None, slice_seconds: float | None):
    config = load_config_file(config_path)
    jobs = benchmarks(folder)
    print(f"slice {folder.name}: {len(jobs)} jobs finished, {jobs['seconds'].sum():.0f} job-seconds"
          + (f", {slice_seconds:.0f} s wall" if slice_seconds else ""))
    print(jobs.groupby("stage")["seconds"].agg(["count", "mean", "max", "sum"]).to_string(float_format="{:.1f}".format))
    finetune = jobs[jobs["stage"] == "finetune"].copy()
    print(finetune.to_string(index=False, float_format="{:.1f}".format))
    epochs = block_epochs(folder)
    if len(epochs):
        print(epochs.to_string(index=False, float_format="{:.1f}".format))
    none_block = None
    if none_folder is not None:
        none_jobs = benchmarks(none_folder)
        none_finetune = none_jobs[none_jobs["stage"] == "finetune"]
        if len(none_finetune):
            none_block = float(none_finetune["seconds"].iloc[0])
            print(f"from-images block ({none_folder.name}): {none_block:.1f} s")
            print(block_epochs(none_folder).to_string(index=False, float_format="{:.1f}".format))

    # the whole study, priced job by job from what the slice measured
    grid = pd.DataFrame(finetune_blocks(config))
    grid["frozen"] = [scenarios.is_frozen(s) for s in grid["scenario"]]
    seeds = len(pretrain_seeds(config))
    networks = source_networks(config)
    n_cnn = sum(n != "cae" for n in networks) * seeds

    def mean_of(stage, pattern=""):
        chosen = jobs[(jobs["stage"] == stage) & jobs["job"].str.contains(pattern, regex=False)]
        return float(chosen["seconds"].mean()) if len(chosen) else float("nan")

    cae = mean_of("pretrain", "cae/")
    job_depth = finetune["job"].str.split("/").str[-1]  # finetune/{task}/{scenario}/{source}/{depth}
    frozen_by_depth = {depth: float(finetune.loc[job_depth == depth, "seconds"].mean())
                       for depth in config["finetune"]["depths"]}
    frozen = grid[grid["frozen"]]
    lines = [
        ("pretrain_cae", seeds, cae, "measured (every CAE of the study is in this slice)"),
        ("pretrain_cnn", n_cnn, cae, "priced like a CAE (not in this slice; a CNN trains the encoder alone, "
                                     f"{config['pretrain']['cnn']['max_epochs']} epochs at most against the CAE's "
                                     f"{config['pretrain']['cae']['max_epochs']}: an upper bound)"),
        ("extract_features", len(networks) * seeds * len(config["finetune"]["depths"]), mean_of("features"),
         "measured mean per job"),
        ("finetune, frozen", len(frozen), float(sum(frozen_by_depth[d] for d in frozen["depth"])) / max(len(frozen), 1),
         "each priced like this slice's block at its depth"),
    ]
    from_images = int((~grid["frozen"]).sum())
    if none_block is not None:
        lines.append(("finetune, from images", from_images, none_block,
                      "priced like the gender/none block (tuned blocks start from a source and may stop elsewhere)"))
    else:
        lines.append(("finetune, from images", from_images, float("nan"), "not measured (the none slice did not finish)"))
    data = jobs[jobs["stage"].isin(["data"])]["seconds"].sum()
    table = pd.DataFrame(lines, columns=["jobs", "count", "s per job", "how"])
    table["job-seconds"] = table["count"] * table["s per job"]
    print("\nthe whole paper-scale study, extrapolated job by job:")
    print(table[["jobs", "count", "s per job", "job-seconds", "how"]].to_string(index=False, float_format="{:.1f}".format))
    total = table["job-seconds"].sum(min_count=len(table)) + data
    print(f"data jobs: {data:.0f} s; the whole study: {total:.0f} job-seconds = {total / 3600:.2f} h one job at a time"
          " (energy and report jobs not included: seconds on the CPU)")
    if slice_seconds and jobs["seconds"].sum() > 0:
        overlap = slice_seconds / jobs["seconds"].sum()
        print(f"this slice ran {jobs['seconds'].sum():.0f} job-seconds in {slice_seconds:.0f} s wall ({overlap:.2f} s wall per"
              f" job-second, GPU slots shared); at the same overlap the whole study: {total * overlap / 60:.0f} min wall")


def utilisation(util_csv: Path, steps_tsv: Path):
    samples = pd.read_csv(util_csv, header=None, names=["time", "util", "memory"], skipinitialspace=True)
    if samples.empty:
        print("no utilisation samples")
        return
    samples["time"] = pd.to_numeric(samples["time"], errors="coerce")
    samples["util"] = pd.to_numeric(samples["util"].astype(str).str.rstrip(" %"), errors="coerce")
    samples["memory"] = pd.to_numeric(samples["memory"].astype(str).str.rstrip(" MiB"), errors="coerce")
    steps = pd.read_csv(steps_tsv, sep="\t")
    rows = []
    for step in steps.itertuples():
        during = samples[(samples["time"] >= step.start) & (samples["time"] <= step.end)]
        rows.append({"step": step.step, "samples": len(during), "mean util %": during["util"].mean(),
                     "max util %": during["util"].max(), "max memory MiB": during["memory"].max()})
    print(pd.DataFrame(rows).to_string(index=False, float_format="{:.0f}".format))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    configs = commands.add_parser("configs")
    configs.add_argument("outdir", type=Path)
    configs.add_argument("--tiny", action="store_true")
    configs.add_argument("--device", default="cuda")
    compared = commands.add_parser("compare")
    compared.add_argument("cpu_results", type=Path)
    compared.add_argument("cuda_results", type=Path, nargs="+")
    sliced = commands.add_parser("slice-report")
    sliced.add_argument("folder", type=Path)
    sliced.add_argument("config", type=Path)
    sliced.add_argument("--none-folder", type=Path)
    sliced.add_argument("--slice-seconds", type=float)
    used = commands.add_parser("utilisation")
    used.add_argument("util_csv", type=Path)
    used.add_argument("steps_tsv", type=Path)
    args = parser.parse_args()
    if args.command == "configs":
        write_configs(args.outdir, args.tiny, args.device)
    elif args.command == "compare":
        for cuda_results in args.cuda_results:
            compare(args.cpu_results, cuda_results)
            print()
    elif args.command == "slice-report":
        slice_report(args.folder, args.config, args.none_folder, args.slice_seconds)
    else:
        utilisation(args.util_csv, args.steps_tsv)


if __name__ == "__main__":
    main()
