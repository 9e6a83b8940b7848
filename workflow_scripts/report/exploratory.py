"""The exploratory views of the grid beside the claim: the setting a figure draws, the
headline (the CAE and the best other-task CNN over no transfer, with their energy
reduction) and the accuracy-energy Pareto front. Uncorrected, and labelled so.

Nothing is chosen on the test set. Where a table or figure picks among settings (the best
other-task CNN, the setting a figure draws per scenario), it picks by the mean
**early-stopping score** (the members' scores on their stop faces at their best epoch,
columns ``stop_*``) and then reports the chosen setting's test numbers.
"""

import numpy as np
import pandas as pd

from workflow_scripts.report.sensitivity import INT8
from workflow_scripts.report.statistics import BLOCK, GAIN_METRICS, GRID, stop_metric
from workflow_scripts.study import scenarios

def choose_by_stop_score(summary: pd.DataFrame, within: list[str], among: list[str], metric: str) -> pd.DataFrame:
    """For each group of ``within``, the setting (columns ``among``) with the highest mean
    early-stopping score for ``metric``; groups without any such score get no choice.
    Columns: within, among, stop_mean, candidates."""
    scores = summary[summary["metric"] == stop_metric(metric)]
    scores = scores.groupby(within + among, as_index=False)["mean"].mean().dropna(subset=["mean"])
    if scores.empty:
        return pd.DataFrame(columns=within + among + ["stop_mean", "candidates"])
    best = scores.loc[scores.groupby(within)["mean"].idxmax()]
    counts = scores.groupby(within).size().rename("candidates").reset_index()
    return best.rename(columns={"mean": "stop_mean"}).merge(counts, on=within).reset_index(drop=True)


def figure_settings(summary: pd.DataFrame, metric: str, claim_depth: str) -> pd.DataFrame:
    """The setting a figure draws per task and scenario: the one with the best mean
    early-stopping score over all sizes. Without such scores (fixed epochs) nothing can be
    chosen: the claim's depth is drawn, with every source of the scenario.
    Columns: task, scenario, source, depth, chosen_by."""
    points = summary[summary["metric"] == metric][BLOCK].drop_duplicates()
    chosen = choose_by_stop_score(summary, ["task", "scenario"], ["source", "depth"], metric)
    parts = [chosen[BLOCK].assign(chosen_by="early-stopping score")]
    unchosen = points.merge(chosen[["task", "scenario"]], on=["task", "scenario"], how="left", indicator=True)
    unchosen = unchosen[unchosen["_merge"] == "left_only"].drop(columns="_merge")
    fallback = unchosen[(unchosen["scenario"] == scenarios.NONE) | (unchosen["depth"] == claim_depth)]
    parts.append(fallback.assign(chosen_by="claim depth (no early-stopping scores)"))
    return pd.concat(parts, ignore_index=True).sort_values(["task", "scenario", "source"], ignore_index=True)


def headline(gains: pd.DataFrame, summary: pd.DataFrame, inference: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """For each task and training size: the CAE at the claim's depth (fixed beforehand), and
    the other-task CNN whose (source, depth) has the best mean early-stopping score at that size,
    with their test gains over no transfer and their inference energy reduction (all tasks)
    on each hardware. Exploratory: uncorrected, and the CNN is a chosen one."""
    if gains.empty:
        return pd.DataFrame()
    metric = claim["metric"]
    table = gains.set_index(GRID + ["metric"])
    reduction = inference.set_index(["hardware", "scenario", "depth"])["reduction_vs_none"]
    hardware = list(dict.fromkeys(inference["hardware"]))
    chosen_cnn = choose_by_stop_score(summary[summary["scenario"] == scenarios.CNN], ["task", "n_train"], ["source", "depth"], metric)
    chosen_cnn = chosen_cnn.set_index(["task", "n_train"])
    rows = []
    for (task, n_train), _ in gains.groupby(["task", "n_train"], sort=True):
        row = {"task": task, "n_train": n_train}
        settings = {scenarios.CAE: (scenarios.CAE, claim["depth"], "fixed by analysis.claim", 1)}
        if (task, n_train) in chosen_cnn.index:
            pick = chosen_cnn.loc[(task, n_train)]
            settings[scenarios.CNN] = (pick["source"], pick["depth"], "best early-stopping score", int(pick["candidates"]))
        for scenario, (source, depth, chosen_by, candidates) in settings.items():
            key = (task, scenario, source, depth, n_train)
            if (*key, metric) not in table.index:
                continue
            row.update({f"{scenario}_source": source, f"{scenario}_depth": depth,
                        f"{scenario}_chosen_by": chosen_by, f"{scenario}_candidates": candidates})
            for name in GAIN_METRICS:
                found = table.loc[(*key, name)]
                row.update({f"{scenario}_{name}_gain": found["gain"], f"{scenario}_{name}_ci_low": found["ci_low"],
                            f"{scenario}_{name}_ci_high": found["ci_high"], f"{scenario}_{name}_p": found["p_value"]})
            for name in hardware:
                row[f"{scenario}_energy_reduction_{name}"] = reduction.get((name, scenario, depth), float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


def pareto_mask(accuracy, energy) -> np.ndarray:
    """True where no other point has at least the accuracy at no more energy, and is
    strictly better in one of the two."""
    accuracy, energy = np.asarray(accuracy, float), np.asarray(energy, float)
    keep = np.ones(len(accuracy), dtype=bool)
    for i in range(len(accuracy)):
        dominated = (accuracy >= accuracy[i]) & (energy <= energy[i]) & ((accuracy > accuracy[i]) | (energy < energy[i]))
        keep[i] = not dominated.any()
    return keep


def tradeoff(summary: pd.DataFrame, inference: pd.DataFrame, metric="balanced_accuracy",
             int8_summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per hardware, task and training size: each (scenario, source, depth)'s mean test
    metric beside its inference energy (all tasks), and whether it is on the Pareto front.
    Given ``int8_summary`` (``summarise`` of the int8 scores), also the int8 mean
    (``int8_<metric>``) and the Pareto front over the int8 points (``int8_pareto``).
    Descriptive: every setting is shown, none is chosen."""
    points = summary[summary["metric"] == metric].merge(
        inference[["hardware", "scenario", "depth", "energy_pj"]], on=["scenario", "depth"], how="inner"
    )
    columns = ["hardware", "task", "n_train", "scenario", "source", "depth", "mean", "energy_pj", "pareto"]
    int8_column = f"{INT8}_{metric}"
    if int8_summary is not None:
        int8_means = int8_summary.loc[int8_summary["metric"] == metric, GRID + ["mean"]].rename(columns={"mean": int8_column})
        points = points.merge(int8_means, on=GRID, how="left")
        columns += [int8_column, f"{INT8}_pareto"]
    parts = []
    for _, group in points.groupby(["hardware", "task", "n_train"], sort=True):
        group = group.assign(pareto=pareto_mask(group["mean"], group["energy_pj"]))
        if int8_summary is not None:
            scored = group[int8_column].notna()
            front = pd.Series(False, index=group.index)
            front[scored] = pareto_mask(group.loc[scored, int8_column], group.loc[scored, "energy_pj"])
            group = group.assign(**{f"{INT8}_pareto": front})
        parts.append(group)
    return pd.concat(parts, ignore_index=True)[columns].rename(columns={"mean": metric}) if parts else pd.DataFrame(columns=columns)
