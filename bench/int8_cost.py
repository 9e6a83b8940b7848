"""What the int8 stage (rules quantize_prefixes, score_int8, collect_int8_metrics) adds to
``make run``, measured.

    .venv/bin/python bench/int8_cost.py [--config config.yaml] [--workdir build/int8_cost] [--cores 2] [--reuse]

runs the whole study of CONFIG through Snakemake in WORKDIR (emptied first, unless
``--reuse`` keeps a finished run there), timing its wall clock; then reruns the int8 stage
alone (``--forcerun quantize_prefixes score_int8``, target ``results/int8_metrics.csv``),
timing that too; and sums the wall and CPU seconds of every job's benchmark file by rule.
It prints the int8 stage's wall time against the rest of the run's, and the share of all
job-seconds the int8 rules took (CPU seconds are the steadier measure where other work
shares the machine). The study's outputs are those of ``make run`` without the report page.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from workflow_scripts.study import scenarios

ROOT = Path(__file__).resolve().parents[1]
INT8_RULES = ("quantize_prefixes", "score_int8", "collect_int8_metrics")
# benchmark files named after their rule (rules/*.smk's benchmark:); the others lie in a folder per rule
NAMED = {"fetch_mtfl", "prepare_faces", "split_roles", "draw_subsets", "describe_faces", "collect_metrics", "collect_paper_endpoint",
         "collect_int8_metrics", "all_tasks_energy", "training_compute", "analyse_results", "plot_figures"}


def snakemake(workdir: Path, config: Path, cores: int, *args) -> float:
    """Run Snakemake on ``config`` in ``workdir``; return its wall seconds."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(config), "--cores", str(cores), *args, "--quiet", "rules"]  # targets before any option
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def rule_of(relative: Path) -> str:
    """The rule a benchmark file (its path under results/benchmarks/) belongs to."""
    if relative.stem in NAMED:
        return relative.stem
    top, below = relative.parts[0], relative.parts[1]
    if top == "pretrain":
        return scenarios.network_trunk(below).rule
    if top == "int8":
        return "quantize_prefixes" if below == "prefix" else "score_int8"
    return {"features": "extract_features", "energy": "estimate_layer_energy"}.get(top, top)  # finetune, paper_endpoint


def job_seconds(results: Path) -> pd.DataFrame:
    """Wall and CPU seconds of every job's benchmark file, summed by rule, with the job count."""
    benchmarks = results / "benchmarks"
    rows = []
    for path in sorted(benchmarks.rglob("*.tsv")):
        last = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append({"rule": rule_of(path.relative_to(benchmarks)), "wall_s": float(last["s"]),
                     "cpu_s": float(last["cpu_time"])})
    table = pd.DataFrame(rows)
    return table.groupby("rule").agg(jobs=("wall_s", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "int8_cost")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--reuse", action="store_true", help="keep a finished run in WORKDIR; time the int8 stage only")
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    whole = float("nan")
    if not args.reuse:
        shutil.rmtree(args.workdir, ignore_errors=True)
        args.workdir.mkdir(parents=True)
        whole = snakemake(args.workdir, args.config.resolve(), args.cores)
        print(f"whole study: {whole:.1f} s wall on {args.cores} cores", flush=True)
    table = job_seconds(args.workdir / "results")  # the whole run's jobs, before the int8 rerun replaces its files
    int8 = snakemake(args.workdir, args.config.resolve(), args.cores, "results/int8_metrics.csv",
                     "--forcerun", "quantize_prefixes", "score_int8")
    print(f"int8 stage alone (quantize_prefixes, score_int8, collect_int8_metrics): {int8:.1f} s wall")
    if whole == whole:
        print(f"int8 stage against the rest of the run: {int8:.1f} s / {whole - int8:.1f} s = {int8 / (whole - int8):.3f}")
    print(table.sort_values("cpu_s", ascending=False).round(1).to_string())
    int8_rows = table.loc[[r for r in INT8_RULES if r in table.index]]
    for column, words in (("wall_s", "job wall seconds"), ("cpu_s", "job CPU seconds")):
        share, total = int8_rows[column].sum(), table[column].sum()
        print(f"int8 rules: {share:.1f} of {total:.1f} {words} ({share / total:.1%}; {share / (total - share):.1%} of the rest)")


if __name__ == "__main__":
    main()
