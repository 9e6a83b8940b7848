"""How many units and fine-tuning seeds the claim's test needs: a power analysis of a finished run.

    .venv/bin/python bench/power_analysis.py --metrics METRICS --config CONFIG [--results RESULTS] [--run-json RUN_JSON]
        [--target 2] [--assurance 0.9]

reads a finished run's ``metrics.csv`` (e.g. ``docs/mtfl_quick/metrics.csv``) and its
config, takes the pre-declared family's paired gains at the claim's setting (the CAE
against each baseline of ``analysis.claim.against`` that the run has), estimates their
variance components per task (the pretraining seed, the test's unit, against the
within-unit spread: a one-way random-effects ANOVA, ``workflow_scripts.report.power``), and
prints the cheapest nested design (units x fine-tuning seeds per unit) whose 95 % interval
has a half-width of at most ``--target`` points for every task and comparison with
``--assurance`` probability, planned on the components' 80 % upper confidence limits, with
its CPU cost, and beside it the design on the point estimates and the run's own design.

The cost of a design is ``units x unit_seconds + units x seeds_per_unit x member_seconds``:
``member_seconds`` from metrics.csv's ``train_seconds`` (every arm of the family at the
claim's N, every task; a ``random`` arm the run lacks priced as the ``cae`` arm, whose frozen
features it shares in cost); ``unit_seconds`` from the run's Snakemake benchmarks where
``--results`` has them (a CAE's pretraining and its feature extraction, CPU seconds), else
from ``--run-json`` (a published run's wall time x cores, less every member's training,
per pretraining seed: an upper bound, since it also holds the CNNs, ZigZag, int8 and the
report), or ``--unit-seconds`` where measured elsewhere. The output says which.
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from workflow_scripts.atomic import read_csv
from workflow_scripts.report import power as study_power
from workflow_scripts.report.claim import baseline_arm, claim_against, claim_arm, family_present
from workflow_scripts.report.statistics import pretrain_seeds_of
from workflow_scripts.study import scenarios
from workflow_scripts.study.config import load_config_file
from workflow_scripts.study.grid import claim as claim_of

UPPER = 0.8  # the one-sided confidence of the planning values


def benchmark_seconds(paths) -> float | None:
    """Mean CPU seconds (``cpu_time``, else wall ``s``) of Snakemake benchmark files; None without any."""
    seconds = []
    for path in paths:
        table = pd.read_csv(path, sep="\t")
        column = "cpu_time" if "cpu_time" in table and table["cpu_time"].notna().all() else "s"
        seconds.append(float(table[column].mean()))
    return sum(seconds) / len(seconds) if seconds else None


def unit_cost(metrics: pd.DataFrame, claim: dict, results: Path | None, run_json: Path | None) -> tuple[float, str]:
    """CPU seconds of one unit (a pretraining seed's CAE and its features), and where the number comes from."""
    if results is not None:
        pretrain = benchmark_seconds(sorted((results / "benchmarks" / "pretrain" / "cae").glob("seed*.tsv")))
        features = benchmark_seconds(sorted((results / "benchmarks" / "features" / "cae").glob(f"seed*/{claim['depth']}.tsv")))
        if pretrain is not None:
            return pretrain + (features or 0.0), f"the run's benchmarks ({results}/benchmarks: CAE pretraining + features)"
    if run_json is not None:
        run = json.loads(run_json.read_text())
        cpu = float(run["wall_seconds"]) * int(run["machine"]["cores"])
        units = pretrain_seeds_of(metrics[metrics["scenario"] == scenarios.CAE]).nunique()
        rest = (cpu - float(metrics["train_seconds"].sum())) / units
        return rest, (f"{run_json}: wall {run['wall_seconds']:.0f} s x {run['machine']['cores']} cores, less every "
                      f"member's training, per pretraining seed ({units}): an upper bound")
    raise SystemExit("power_analysis.py: give --results (with benchmarks/) or --run-json to price a unit")


def member_cost(metrics: pd.DataFrame, claim: dict, family: list[str]) -> tuple[float, str]:
    """CPU seconds of one fine-tuning seed: each arm's member of every task at the claim's N."""
    arms = {scenarios.CAE: claim_arm(metrics, claim)}
    arms.update({against: baseline_arm(metrics, claim, against) for against in family})
    seconds, notes = 0.0, []
    for arm, members in arms.items():
        if members.empty:
            members, note = arms[scenarios.CAE], f"{arm} priced as cae"
            notes.append(note)
        seconds += float(members.groupby("task")["train_seconds"].mean().sum())
    return seconds, "metrics.csv's train_seconds" + (f" ({'; '.join(notes)})" if notes else "")


def points(variance: float) -> str:
    return f"{100 * variance ** 0.5:.2f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--results", type=Path, help="the run's results/ folder (for its benchmarks)")
    parser.add_argument("--run-json", type=Path, help="a published run's run.json (where --results has no benchmarks)")
    parser.add_argument("--unit-seconds", type=float, help="CPU seconds of one unit, measured elsewhere (overrides both)")
    parser.add_argument("--target", type=float, default=2.0, help="half-width of the 95 %% interval, in points")
    parser.add_argument("--assurance", type=float, default=0.9)
    args = parser.parse_args(argv)
    claim = claim_of(load_config_file(args.config))
    metrics = read_csv(args.metrics)
    compared = family_present(metrics, claim)
    family = claim_against(claim)
    gains = pd.concat([study_power.unit_gains(metrics, claim, against).assign(against=against) for against in compared])
    absent = sorted(set(family) - set(compared))
    missing = f" ({', '.join(absent)} not in this run)" if absent else ""
    print(f"Paired gains of the CAE at {claim['depth']}, N = {claim['n_train']}, in {claim['metric']}, "
          f"against {', '.join(compared)}{missing}; "
          f"one-way random-effects ANOVA over the pretraining seed (method of moments), SDs in points:")
    planning, estimates, lines = {}, {}, []
    for against in compared:
        table = study_power.variance_components(gains[gains["against"] == against], UPPER)
        for row in table.to_dict("records"):
            lines.append(f"  {against:>6} {row['task']:>8}  unit {points(row['unit_var'])} (80 % upper "
                         f"{points(row['unit_var_upper'])})  within {points(row['within_var'])} [95 % CI "
                         f"{points(row['within_var_low'])}, {points(row['within_var_high'])}; 80 % upper "
                         f"{points(row['within_var_upper'])}]  F = {row['F']:.2f} on {row['df_between']} and "
                         f"{row['df_within']} df, p = {row['p_value']:.2f}")
            if row["task"] != "pooled":
                planning[(against, row["task"])] = (row["unit_var_upper"], row["within_var_upper"])
                estimates[(against, row["task"])] = (row["unit_var"], row["within_var"])
    print("\n".join(lines))
    unit_seconds, unit_source = ((args.unit_seconds, "--unit-seconds") if args.unit_seconds is not None
                                 else unit_cost(metrics, claim, args.results, args.run_json))
    member_seconds, member_source = member_cost(metrics, claim, family)
    print(f"Cost: {unit_seconds:.0f} CPU s per unit ({unit_source}); {member_seconds:.0f} CPU s per fine-tuning "
          f"seed, the arms {', '.join([scenarios.CAE, *family])} of every task ({member_source}).")
    target = args.target / 100
    units = pretrain_seeds_of(claim_arm(metrics, claim)).nunique()
    per_unit = len(gains) // (len(planning) * units)
    now = min(study_power.assurance(units, per_unit, *planning[key], target) for key in planning)
    print(f"This run: {units} units x {per_unit} seeds per unit: assurance {now:.2f} (80 % upper limits).")
    for name, values in (("the 80 % upper limits", planning), ("the point estimates", estimates)):
        options = study_power.designs(values, unit_seconds, member_seconds, target)
        best = study_power.cheapest(options, args.assurance)
        if best is None:
            print(f"On {name}: no design up to 64 units x 32 seeds reaches assurance {args.assurance}.")
            continue
        print(f"Design on {name}: {best['units']} units x {best['per_unit']} fine-tuning seeds per unit "
              f"({best['seeds']} seeds) gives a 95 % CI half-width <= {args.target:g} points for every task and "
              f"comparison with assurance {best['assurance']:.3f} (weakest: {' against '.join(best['weakest_task'][::-1])}); "
              f"CPU cost {study_power.hours(best['cpu_seconds'])} for the claim's arms "
              f"({study_power.hours(best['cpu_seconds'] / 2)} on 2 cores). In the config: finetune.seeds: "
              f"{best['seeds']} seeds, pretrain.per_seed: true, pretrain.shared_by: {best['per_unit']}.")


if __name__ == "__main__":
    main()
