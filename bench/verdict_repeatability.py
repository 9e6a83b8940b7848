"""Does the claim's verdict survive a rerun with another float order? Checked on a finished run.

    .venv/bin/python bench/verdict_repeatability.py --results RESULTS --config CONFIG [--replay]

reads a finished run of CONFIG (``RESULTS``: its faces, roles, subsets, the features of the
CAE and of every other trunk of the family at the claim's depth, the energy table,
``metrics.csv`` and ``analysis/claim.csv``), trains the claim's blocks again (every task's
``none`` block, its ``cae`` block and the block of every other baseline of the family
(``random``) at the claim's depth, at the claim's N only, every seed) on the CPU with one
thread and oneDNN's convolutions switched off (``torch.backends.mkldnn.enabled = False``:
the same arithmetic summed in another order), runs the same pre-declared test on them
(every comparison of the family, Holm-corrected together), and prints per comparison the
run's gain and decision beside the rerun's: whether the sign of the gain and the decision
stay the same. It also prints σ_f per arm, the float-order noise of a member's test score
(the root mean square over members of the SD of its two scores, |a - b| / √2, as
``bench/float_sensitivity.py``). ``--replay`` also reruns with oneDNN on (the run's own
order; it should reproduce the run's numbers). ``--output`` writes the comparison as CSV.
Each rerun block is kept under ``--kept`` (default ``build/verdict_repeatability``; empty it
for a fresh rerun) and read back by a later call; ``--only-none`` trains the ``none``
blocks alone, which need no features, and ``--tasks`` those of some tasks only (two calls
on disjoint tasks use two cores; a last call without it reads every kept block and compares).
"""

import argparse
import dataclasses
from pathlib import Path

import pandas as pd
import torch

from workflow_scripts.atomic import read_csv, read_torch, write_csv
from workflow_scripts.data.faces import load_face_set
from workflow_scripts.finetune.blocks import Block, FinetuneDesign, LabelledFaces, run_block
from workflow_scripts.report.claim import claim_against, claim_test
from workflow_scripts.study import scenarios
from workflow_scripts.study.config import load_config_file
from workflow_scripts.study.grid import claim as claim_of, distinct_pretrain_seeds, pretrain_seed_of

ROOT = Path(__file__).resolve().parents[1]
COMPARED = ["gain", "ci_low", "ci_high", "p_holm", "verdict"]
MEMBER = ["task", "scenario", "source", "depth", "n_train", "seed"]


def family_arms(config: dict, claim: dict) -> list[str]:
    """The arms of the pre-declared family this run has: none, the CAE, each other baseline."""
    baselines = [b for b in claim_against(claim) if b in config["finetune"]["scenarios"]]
    return list(dict.fromkeys([scenarios.NONE, scenarios.CAE, *baselines]))


def claim_blocks(config: dict, claim: dict, tasks=None) -> list[Block]:
    blocks = []
    for task in tasks or config["finetune"]["tasks"]:
        for arm in family_arms(config, claim):
            if arm == scenarios.NONE:
                blocks.append(Block(task, scenarios.NONE, scenarios.NONE, scenarios.NONE))
            else:
                blocks.append(Block(task, arm, scenarios.source_network(arm, task), claim["depth"]))
    return blocks


def rerun_claim(config: dict, claim: dict, results: Path, onednn: bool, kept: Path, only_none: bool = False,
                tasks=None, relabel=None):
    """The claim's test on the claim's blocks trained again, oneDNN on or off. Each block's
    rerun is kept in ``kept`` and read from there by a later call (a bench of a quarter of
    an hour can be resumed, or its ``none`` blocks run before the run's features exist).
    ``relabel(table, roles)``, if given, returns the face table the blocks read instead."""
    torch.backends.mkldnn.enabled = onednn
    data = results / "data"
    faces = load_face_set(data / "faces.pt", data / "faces.csv")
    roles = read_csv(data / "roles.csv")
    table = faces.table if relabel is None else relabel(faces.table, roles)
    labelled = LabelledFaces(table, roles, read_csv(data / "subsets.csv"))
    design = dataclasses.replace(FinetuneDesign.from_config(config, pretrain_seed_of(config)),
                                 train_sizes=(claim["n_train"],))
    metrics = []
    for block in claim_blocks(config, claim, tasks):
        frozen = block.scenario != scenarios.NONE
        if frozen and only_none:
            continue
        path = kept / f"{'-'.join(dataclasses.astuple(block))}.csv"
        if path.exists():
            block_metrics = read_csv(path)
        else:
            features = {seed: read_torch(results / "features" / block.source / f"seed{seed}" / f"{claim['depth']}.pt")
                        for seed in distinct_pretrain_seeds(design.pretrain_seed_of)} if frozen else None
            block_metrics = run_block(block, design, labelled, torch.device("cpu"),
                                      images=None if frozen else faces.images, features=features)[0]
            write_csv(block_metrics, path)
        metrics.append(block_metrics)
        print(f"  {block}: mean test balanced accuracy {block_metrics['balanced_accuracy'].mean():.4f}", flush=True)
    if only_none or tasks:
        return None
    metrics = pd.concat(metrics, ignore_index=True)
    family = {**claim, "against": [arm for arm in family_arms(config, claim) if arm != scenarios.CAE]}
    return claim_test(metrics, read_csv(results / "energy" / "inference.csv"), family), metrics


def compare(run: pd.DataFrame, reruns: dict[str, pd.DataFrame], alpha: float) -> pd.DataFrame:
    """Per comparison of the family (task, baseline): the run's numbers beside each rerun's."""
    if "against" not in run:  # a claim.csv from before the family: the CAE against none only
        run = run.assign(against=scenarios.NONE)
    key = ["task", "against"]
    table = run.set_index(key)[COMPARED].add_prefix("run_")
    for name, rerun in reruns.items():
        rerun = rerun.set_index(key).reindex(table.index)
        table = table.join(rerun[COMPARED].add_prefix(f"{name}_"))
        table[f"{name}_same_sign"] = (table["run_gain"] > 0) == (rerun["gain"] > 0)
        if "decision" in run:
            table[f"{name}_same_decision"] = run.set_index(key)["decision"] == rerun["decision"]
        else:  # a claim.csv from before the decision rule
            table[f"{name}_same_decision"] = (table["run_p_holm"] < alpha) == (rerun["p_holm"] < alpha)
        table[f"{name}_same_verdict"] = table["run_verdict"] == rerun["verdict"]
    return table.reset_index()


def float_noise(run_metrics: pd.DataFrame, rerun: pd.DataFrame) -> pd.DataFrame:
    """Per arm, in points of balanced accuracy: σ_f, the root mean square over members of
    |a - b| / √2 (a member's score in the run and in the rerun), how many members chose
    another epoch count, and σ_f over the members that kept their count (the refit's own
    drift: what no epoch rule removes) and over those that moved (NaN where none did)."""
    both = run_metrics.merge(rerun, on=MEMBER, suffixes=("_run", "_rerun"))
    both["half_square"] = (100 * (both["balanced_accuracy_run"] - both["balanced_accuracy_rerun"])) ** 2 / 2
    both["other_epoch"] = both["best_epoch_run"] != both["best_epoch_rerun"]
    both["kept_square"] = both["half_square"].where(~both["other_epoch"])
    both["moved_square"] = both["half_square"].where(both["other_epoch"])
    return (both.groupby("scenario", sort=False)
            .agg(members=("half_square", "size"), sigma_f=("half_square", lambda v: v.mean() ** 0.5),
                 other_epoch=("other_epoch", "sum"), sigma_f_kept=("kept_square", lambda v: v.mean() ** 0.5),
                 sigma_f_moved=("moved_square", lambda v: v.mean() ** 0.5))
            .reset_index())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--replay", action="store_true", help="also rerun with oneDNN on (the run's own order)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--kept", type=Path, default=ROOT / "build" / "verdict_repeatability",
                        help="where each rerun block's metrics are kept (and read back by a later call)")
    parser.add_argument("--only-none", action="store_true", help="train the none blocks only (no features needed)")
    parser.add_argument("--tasks", nargs="+", help="train these tasks' blocks only (and compare nothing): "
                        "calls on disjoint tasks share the cores, a last call without --tasks compares")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the finetune jobs run
    config = load_config_file(args.config)
    claim = claim_of(config)
    reruns, rerun_metrics = {}, {}
    for name, onednn in ([("replay", True)] if args.replay else []) + [("no_onednn", False)]:
        print(f"rerun {name}: the claim's blocks at N = {claim['n_train']}, oneDNN {'on' if onednn else 'off'}", flush=True)
        kept = args.kept / name
        kept.mkdir(parents=True, exist_ok=True)
        result = rerun_claim(config, claim, args.results, onednn, kept, args.only_none, args.tasks)
        if result is not None:
            reruns[name], rerun_metrics[name] = result
    if args.only_none or args.tasks:
        return
    table = compare(read_csv(args.results / "analysis" / "claim.csv"), reruns, claim["alpha"])
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    run_metrics = read_csv(args.results / "metrics.csv")
    for name in reruns:
        print(f"{name}: sign kept for {int(table[f'{name}_same_sign'].sum())} of {len(table)} comparisons, decision "
              f"for {int(table[f'{name}_same_decision'].sum())}, verdict for {int(table[f'{name}_same_verdict'].sum())}")
        for row in float_noise(run_metrics, rerun_metrics[name]).itertuples():
            print(f"  sigma_f of {row.scenario}: {row.sigma_f:.2f} points over {row.members} members "
                  f"({row.other_epoch} chose another epoch count; {row.sigma_f_kept:.2f} over those that kept "
                  f"theirs, {row.sigma_f_moved:.2f} over those that moved)")
    if args.output:
        write_csv(table, args.output)


if __name__ == "__main__":
    main()
