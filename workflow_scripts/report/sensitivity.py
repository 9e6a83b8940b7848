"""How far the claim's answer depends on what was fixed (exploratory, a sensitivity and
never a choice): the claim's gain at each pre-declared checkpoint epoch count, the
pre-declared test again on the int8 scores (the precision the energy assumes), and what
int8 costs each scenario and depth.
"""

import numpy as np
import pandas as pd

from workflow_scripts.report.claim import claim_gains, claim_test, paper_rows
from workflow_scripts.report.statistics import METRICS, holm, paired_gains
from workflow_scripts.study import scenarios
from workflow_scripts.study.depths import layers_covered
from workflow_scripts.study.grid import BLOCK_KEY

# ---- the claim at each checkpoint epoch count (exploratory) ------------------------------

CHECKPOINT_CLAIM_COLUMNS = ["epochs", "task", "gain", "ci_low", "ci_high", "p_value", "p_holm", "n_pairs", "unit",
                            "n_units", "holds"]


def checkpoint_claim(checkpoints: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """Exploratory, a sensitivity and not a choice: the claim's gain (the CAE at the claim's
    depth over no transfer at the claim's N, in the claim's metric) from the test scores
    recorded after a fixed number of epochs (results/checkpoints.csv: metrics.csv's key
    columns, ``epochs`` and the test metrics), per epoch count and task: paired, in the
    test's unit and Holm-corrected across the tasks as the pre-declared test is, and whether
    the test would hold there (gain above 0, Holm p below alpha)."""
    if checkpoints.empty:
        return pd.DataFrame(columns=CHECKPOINT_CLAIM_COLUMNS)
    gains = claim_gains(paired_gains(checkpoints, by=["epochs"]), claim)
    gains = gains[gains["metric"] == claim["metric"]]
    parts = []
    for _, group in gains.groupby("epochs", sort=True):
        group = group.assign(p_holm=holm(group["p_value"]))
        parts.append(group.assign(holds=(group["gain"] > 0) & (group["p_holm"] < claim["alpha"])))
    if not parts:
        return pd.DataFrame(columns=CHECKPOINT_CLAIM_COLUMNS)
    table = pd.concat(parts, ignore_index=True)[CHECKPOINT_CLAIM_COLUMNS]
    order = table["task"].map(list(claim["classes"]).index)
    return table.assign(order=order).sort_values(["order", "epochs"], ignore_index=True).drop(columns="order")


def checkpoint_changes(checkpoint_table: pd.DataFrame, claim_table: pd.DataFrame) -> pd.DataFrame:
    """Per task of the checkpoint table: whether the gain's sign, and whether the test's
    decision (holds or not), differ between the epoch counts and the pre-declared test
    (at the epochs the protocol chose). Columns: task, sign_changes, decision_changes."""
    tested = paper_rows(claim_table).set_index("task") if len(claim_table) else pd.DataFrame()
    rows = []
    for task, group in checkpoint_table.groupby("task", sort=False):
        signs, decisions = list(np.sign(group["gain"])), list(group["holds"].astype(bool))
        if task in tested.index:
            signs.append(np.sign(tested.loc[task, "gain"]))
            decisions.append(bool(tested.loc[task, "accuracy_half_holds"]))
        rows.append({"task": task, "sign_changes": len(set(signs)) > 1, "decision_changes": len(set(decisions)) > 1})
    return pd.DataFrame(rows, columns=["task", "sign_changes", "decision_changes"])

# ---- accuracy at int8, the precision the energy assumes (exploratory) -------------------

FLOAT32, INT8 = "float32", "int8"
MEMBER = [*BLOCK_KEY, "n_train", "seed"]
PRECISION_COLUMNS = ["precision", "task", "against", "n_train", "depth", "metric", "gain", "ci_low", "ci_high", "p_value",
                     "p_holm", "p_equivalence_holm", "n_pairs", "unit", "n_units", "decision", "accuracy_half_holds",
                     "verdict"]


def precision_claim(metrics: pd.DataFrame, int8_metrics: pd.DataFrame, inference: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """Exploratory, beside the pre-declared test: that test (``claim_test``: the same
    pairing, unit, family, Holm correction, decision rule and chance levels) on the float32
    scores (``metrics.csv``, the pre-declared test itself) and on the int8 scores of the
    same classifiers (``int8_metrics.csv``: metrics.csv's key columns and test metrics), one
    row per precision, baseline and task. Columns ``PRECISION_COLUMNS``."""
    parts = []
    for precision, table in ((FLOAT32, metrics), (INT8, int8_metrics)):
        tested = claim_test(table, inference, claim)
        if len(tested):
            parts.append(tested.assign(precision=precision))
    if not parts:
        return pd.DataFrame(columns=PRECISION_COLUMNS)
    return pd.concat(parts, ignore_index=True)[PRECISION_COLUMNS]


COST_COLUMNS = ["scenario", "depth", "metric", "float32", "int8", "cost", "largest_cost", "agreement", "lowest_agreement",
                "members"]


def int8_cost(metrics: pd.DataFrame, int8_metrics: pd.DataFrame) -> pd.DataFrame:
    """Exploratory and descriptive: what int8 costs each scenario and depth, over every
    task, source, N and seed. Per metric: the float32 and int8 means, ``cost`` (float32
    minus int8, the mean of the members' differences: positive where int8 loses),
    ``largest_cost`` (the member that lost most), the mean and lowest ``agreement`` (share
    of test faces on which a member's int8 and float32 classifiers answer alike) and the
    number of members."""
    paired = metrics[MEMBER + METRICS].merge(int8_metrics[MEMBER + METRICS + ["agreement"]], on=MEMBER,
                                             suffixes=(f"_{FLOAT32}", f"_{INT8}"))
    rows = []
    for (scenario, depth), group in paired.groupby(["scenario", "depth"], sort=False):
        for metric in METRICS:
            cost = group[f"{metric}_{FLOAT32}"] - group[f"{metric}_{INT8}"]
            rows.append({"scenario": scenario, "depth": depth, "metric": metric,
                         FLOAT32: group[f"{metric}_{FLOAT32}"].mean(), INT8: group[f"{metric}_{INT8}"].mean(),
                         "cost": cost.mean(), "largest_cost": cost.max(), "agreement": group["agreement"].mean(),
                         "lowest_agreement": group["agreement"].min(), "members": len(group)})
    table = pd.DataFrame(rows, columns=COST_COLUMNS)
    depth_rank = table["depth"].map(lambda depth: 0 if depth == scenarios.NONE else layers_covered(depth))
    order = table["scenario"].map(scenarios.SCENARIOS.index) * 100 + depth_rank
    return table.assign(order=order).sort_values("order", kind="stable", ignore_index=True).drop(columns="order")
