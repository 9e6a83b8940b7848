"""Does the pre-declared test stay quiet where there is nothing to find? The claim's family
rerun on a finished run with every label scrambled.

    .venv/bin/python bench/scrambled_labels.py --results RESULTS --config CONFIG [--seed S]

reads a finished run of CONFIG as ``bench/verdict_repeatability.py`` does (its faces, roles,
subsets, the features of every trunk of the family at the claim's depth, the energy table),
permutes each task's labels among the faces of each role (pool, validation, test
separately, each role keeping its class counts; ``--seed``), so that no face's image says
anything about its label, trains the family's blocks again on them (every task's ``none``,
``cae`` and each other baseline at the claim's depth and N, every seed, oneDNN on as in the
run) and runs the same pre-declared test (``report.claim.claim_test``, Holm over the whole
family). Under scrambled labels every true gain is zero: a comparison decided better or
worse is a false positive, and the family's error rate is at most alpha when the test is
sound. One scrambled run is one draw of that rate (the simulated null of
``bench/power_analysis.py`` measures the rate itself); it prints each comparison's gain,
interval and decision and whether any comparison is a false positive. Each block is kept
under ``--kept`` (default ``build/scrambled_labels/seed<S>``) and read back by a later call;
``--tasks`` trains some tasks only (two calls on disjoint tasks use two cores; a last call
without it tests).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from verdict_repeatability import rerun_claim  # noqa: E402

from workflow_scripts.atomic import write_csv  # noqa: E402
from workflow_scripts.report.claim import BETTER, WORSE  # noqa: E402
from workflow_scripts.study.config import load_config_file  # noqa: E402
from workflow_scripts.study.grid import claim as claim_of  # noqa: E402

SHOWN = ["task", "against", "gain", "ci_low", "ci_high", "p_holm", "p_equivalence_holm", "decision", "verdict"]


def scrambler(tasks, seed: int):
    """``relabel(table, roles)``: the table with each task's labels permuted among the faces
    of each role (every role keeps its class counts; faces without a role keep theirs)."""
    def relabel(table: pd.DataFrame, roles: pd.DataFrame) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        scrambled = table.copy()
        for task in tasks:
            for _, faces in roles.groupby("role", sort=True)["face"]:
                faces = faces.to_numpy()
                scrambled.loc[faces, task] = table.loc[rng.permutation(faces), task].to_numpy()
        return scrambled
    return relabel


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0, help="of the label permutations")
    parser.add_argument("--output", type=Path, help="write the family's test as CSV")
    parser.add_argument("--kept", type=Path, help="where each block's metrics are kept "
                        "(default build/scrambled_labels/seed<S>)")
    parser.add_argument("--tasks", nargs="+", help="train these tasks' blocks only (and test nothing)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the finetune jobs run
    config = load_config_file(args.config)
    claim = claim_of(config)
    kept = args.kept or ROOT / "build" / "scrambled_labels" / f"seed{args.seed}"
    kept.mkdir(parents=True, exist_ok=True)
    print(f"the claim's family at N = {claim['n_train']} on labels scrambled with seed {args.seed}", flush=True)
    result = rerun_claim(config, claim, args.results, True, kept, tasks=args.tasks,
                         relabel=scrambler(config["finetune"]["tasks"], args.seed))
    if result is None:
        return
    table = result[0]
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(table[SHOWN].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    false = table["decision"].isin([BETTER, WORSE])
    print(f"false positives: {int(false.sum())} of {len(table)} comparisons "
          f"(the family errs: {'yes' if false.any() else 'no'}; alpha {claim['alpha']})")
    if args.output:
        write_csv(table, args.output)


if __name__ == "__main__":
    main()
