"""Publish a study's answer: run it fresh, time it, copy its outputs into ``docs/<name>``.

    .venv/bin/python -m workflow_scripts.report.publish CONFIG DEST [--cores N] [--archive PATH]

runs the whole study of CONFIG from nothing in ``build/<name>`` (a working folder of its
own, emptied first, so the wall time is that of a complete run), builds its report, and
copies what a reader needs into DEST: ``summary.md``, ``metrics.csv`` (and the int8 scores,
``int8_metrics.csv``, with the claim and the cost at int8), the claim and
headline tables, the figures, and ``run.json`` (command, date, machine, wall time, config
hash, archive SHA-256) with a ``README.md`` that says the same in words. The answer in one
sentence (derived from the summary's pre-declared test, so summaries published before the
summary opened with it read the same), the paper-side table of ``summary.md`` and its
sentence on the verdict at int8 also replace the section between ``<!-- DEST:begin -->``
and ``<!-- DEST:end -->`` in the project's README. Nothing in DEST is written by hand.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from workflow_scripts.data.archive import sha256_of
from workflow_scripts.report.summary_page import INT8_HEADING, VERDICT_COLUMNS
from workflow_scripts.report.verdicts import answer_sentence
from workflow_scripts.study.config import load_config_file

ROOT = Path(__file__).resolve().parents[2]
COPIED = [
    "summary.md", "metrics.csv", "analysis/claim.csv", "analysis/headline.csv", "analysis/gains.csv",
    "analysis/checkpoint_claim.csv", "checkpoints.csv", "paper_endpoint.csv", "pretrain/sources.csv",
    "int8_metrics.csv", "analysis/int8_claim.csv", "analysis/int8_cost.csv",
    "energy/inference.csv",
    "figures/balanced_accuracy_vs_labels.png", "figures/accuracy_vs_labels.png", "figures/gain_heatmaps.png",
    "figures/claim_comparison.png", "figures/inference_energy.png", "figures/accuracy_energy_tradeoff.png", "figures/pretraining_curves.png",
]
OPTIONAL = {"paper_endpoint.csv"}  # written where analysis.paper_endpoint is on
TABLE_HEADING = "## The paper's claims beside this run"


def machine() -> dict:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"cpu": model, "cores": os.cpu_count(), "gpu": gpu, "python": platform.python_version(),
            "torch": torch.__version__, "system": platform.platform()}


def paper_table(summary_text: str) -> str:
    """The paper-side-by-side table (and its note) that opens a summary.md, without its heading."""
    start = summary_text.index("\n", summary_text.index(TABLE_HEADING))
    end = summary_text.index("\n## ", start)
    return summary_text[start:end].strip()


def markdown_rows(text: str, heading: str) -> pd.DataFrame:
    """The first Markdown table after ``heading``, as strings."""
    start = text.index(heading)
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    header, body = rows[0], [row for row in rows[2:]]
    return pd.DataFrame(body, columns=header)


def published_answer(summary_text: str) -> str:
    """The answer of a summary.md, derived from its pre-declared test's table, its 'Data:'
    line and its sentences on baselines left out of the family (``verdicts.answer_sentence``)."""
    dataset = re.search(r"^Data: ([^.]+)\.", summary_text, re.MULTILINE).group(1)
    shown = markdown_rows(summary_text, "## The pre-declared test")
    table = shown.rename(columns={words: column for column, words in VERDICT_COLUMNS.items()})
    for column in ("accuracy_half_holds", "energy_half_holds", "holds"):
        table[column] = table[column] == "True"
    table["n_train"] = table["n_train"].astype(int)
    table["energy_reduction"] = table["energy_reduction"].str.removesuffix("x").astype(float)
    if "margin" in table:  # shown in points
        table["margin"] = table["margin"].astype(float) / 100
    left_out = re.findall(r"analysis\.claim\.against also lists (\S+) \(", summary_text)
    against = list(dict.fromkeys(table["against"])) + left_out if "against" in table else None
    return answer_sentence(table, dataset, against)


def int8_finding(summary_text: str) -> str:
    """The sentence under the summary's int8 heading (``verdicts.precision_finding``), without
    its bold marks; empty for a summary without int8 scores."""
    if INT8_HEADING not in summary_text:
        return ""
    after = summary_text[summary_text.index(INT8_HEADING) + len(INT8_HEADING):]
    return next(line for line in after.splitlines() if line.strip()).strip().strip("*")


def readme_section(summary_text: str) -> str:
    """What the README quotes of a published summary: the answer, the paper-side table, and
    whether the verdict holds at int8 (where the summary says)."""
    section = f"**{published_answer(summary_text)}**\n\n{paper_table(summary_text)}"
    finding = int8_finding(summary_text)
    return f"{section}\n\n{finding}" if finding else section


def replace_section(text: str, name: str, section: str) -> str:
    """``text`` with the section between the markers of ``name`` replaced (unchanged without markers)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        return text
    i, j = text.index(begin) + len(begin), text.index(end)
    return text[:i] + "\n" + section + "\n" + text[j:]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--cores", default="all")
    parser.add_argument("--archive", type=Path, help="MTFL.zip to read (default: the config's mtfl.path)")
    args = parser.parse_args(argv)
    config = load_config_file(args.config)
    name = args.dest.name
    work = ROOT / "build" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    archive = (args.archive or Path(config["mtfl"]["path"])).resolve()
    snakemake = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
                 "--configfile", str(args.config.resolve())]
    overrides = ["--config", f"mtfl={{path: {archive}}}"] if config["data"]["dataset"] == "mtfl" else []
    started = time.perf_counter()
    subprocess.run([*snakemake, "--cores", str(args.cores), *overrides], check=True)
    wall = time.perf_counter() - started
    subprocess.run([*snakemake, *overrides, "--report", str(work / "results" / "report.html")], check=True)

    results = work / "results"
    shutil.rmtree(args.dest, ignore_errors=True)
    for relative in COPIED:
        if relative in OPTIONAL and not (results / relative).exists():
            continue
        target = args.dest / Path(relative).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results / relative, target)
    config_hash = pd.read_csv(results / "metrics.csv")["config_hash"].iloc[0]
    command = f"make run CONFIG={args.config}"
    run = {
        "config": str(args.config), "config_hash": str(config_hash),
        "command": command, "published_by": f"python -m workflow_scripts.report.publish {args.config} {args.dest}",
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "wall_seconds": round(wall, 1), "snakemake_cores": args.cores, "machine": machine(),
        "archive_sha256": sha256_of(archive) if config["data"]["dataset"] == "mtfl" else None,
    }
    (args.dest / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    summary_text = (args.dest / "summary.md").read_text()
    lines = [
        f"# {name}: a published run of `{args.config}`",
        "",
        "Pipeline outputs, copied by `workflow_scripts/report/publish.py` from a fresh run; nothing here is edited by hand.",
        "",
        f"- command: `{command}` (published with `{run['published_by']}`)",
        f"- date: {run['date_utc']} UTC",
        f"- machine: {run['machine']['cpu']}, {run['machine']['cores']} cores, GPU: {run['machine']['gpu']}; "
        f"Python {run['machine']['python']}, torch {run['machine']['torch']}",
        f"- wall time: {wall / 60:.1f} min for the whole study, data to figures (`snakemake --cores {args.cores}`)",
        f"- config hash: `{config_hash}` (tests/test_published.py fails when {args.config} no longer hashes to it)",
    ]
    if run["archive_sha256"]:
        lines.append(f"- MTFL archive SHA-256: `{run['archive_sha256']}`")
    lines += ["", "Files: `summary.md` (the answer), `claim.csv` (the pre-declared test), `headline.csv`, `gains.csv`,",
              "`metrics.csv` (every classifier), `inference.csv` (energy), and the figures.", "",
              "## The answer", "", readme_section(summary_text), "",
              "![accuracy against labels](balanced_accuracy_vs_labels.png)", ""]
    (args.dest / "README.md").write_text("\n".join(lines))
    readme = ROOT / "README.md"
    readme.write_text(replace_section(readme.read_text(), name, readme_section(summary_text)))
    print(f"published {args.dest} ({wall / 60:.1f} min)")


if __name__ == "__main__":
    main()
