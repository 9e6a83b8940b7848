"""The study's answer in numbers: seed statistics, paired gains over ``none``, the one
pre-declared test of the claim (Holm-corrected across tasks), the exploratory headline,
and the accuracy-energy Pareto front.

Nothing is chosen on the test set. Where a table or figure picks among settings (the
best other-task CNN, the setting a figure draws per scenario), it picks by the mean
**early-stopping score** (the members' scores on their stop faces at their best epoch,
columns ``stop_*``) and then reports the chosen setting's test numbers. The claim's own setting (CAE at one depth,
one N, one metric) is fixed in the config beforehand and needs no choice.

All functions take the tidy tables the pipeline writes (``results/metrics.csv``,
``results/energy/inference.csv``) and return tidy tables.
"""

import numpy as np
import pandas as pd
from scipy import stats

from . import scenarios
from .study_grid import BLOCK_KEY
from .tasks import TASKS

BLOCK = list(BLOCK_KEY)
GRID = [*BLOCK_KEY, "n_train"]  # a grid point: a block at one training size
METRICS = ["accuracy", "balanced_accuracy", "macro_f1"]
GAIN_METRICS = ["accuracy", "balanced_accuracy"]


def stop_metric(metric: str) -> str:
    """The column of the early-stopping score (on the stop faces) that stands for a test metric."""
    return f"stop_{metric}"


def mean_interval(values, confidence=0.95) -> tuple[float, float, float, int]:
    """Mean, t-interval bounds and count of a sample (bounds NaN below two values)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan"), n
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half, n


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per grid point and metric (test metrics and early-stopping scores): mean, standard
    deviation, 95 % CI across seeds."""
    measured = METRICS + [stop_metric(m) for m in GAIN_METRICS if stop_metric(m) in metrics]
    rows = []
    for key, group in metrics.groupby(GRID, sort=True):
        for metric in measured:
            mean, low, high, n = mean_interval(group[metric])
            rows.append({**dict(zip(GRID, key)), "metric": metric, "mean": mean,
                         "std": float(group[metric].std(ddof=1)) if n > 1 else float("nan"),
                         "ci_low": low, "ci_high": high, "n_seeds": n})
    return pd.DataFrame(rows)


def paired_gains(metrics: pd.DataFrame) -> pd.DataFrame:
    """Gain of every transfer grid point over ``none``, paired by task, n_train and seed:
    mean gain, 95 % CI and the two-sided paired t-test's p-value, per metric. Every row is
    exploratory: nothing here is corrected for the number of comparisons."""
    pairing = ["task", "n_train", "seed"]
    baseline = metrics.loc[metrics["scenario"] == scenarios.NONE, pairing + GAIN_METRICS]
    transfer = metrics[metrics["scenario"] != scenarios.NONE]
    paired = transfer.merge(baseline, on=pairing, suffixes=("", "_none"), how="inner")
    rows = []
    for key, group in paired.groupby(GRID, sort=True):
        for metric in GAIN_METRICS:
            differences = group[metric] - group[f"{metric}_none"]
            mean, low, high, n = mean_interval(differences)
            spread = n > 1 and differences.std() > 1e-12  # identical differences: no test
            p_value = float(stats.ttest_1samp(differences, 0.0).pvalue) if spread else float("nan")
            rows.append({**dict(zip(GRID, key)), "metric": metric, "gain": mean, "ci_low": low, "ci_high": high,
                         "p_value": p_value, "n_pairs": n})
    return pd.DataFrame(rows)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaN counts as 1, stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    filled = np.where(np.isnan(p), 1.0, p)
    order = np.argsort(filled, kind="stable")
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * filled[index]))
        adjusted[index] = running
    return np.where(np.isnan(p), np.nan, adjusted)


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
    with their test gains over no transfer and their four-task inference energy reduction
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


def claim_gains(gains: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """The gains of the claim's setting, in every metric: the frozen CAE at the claim's
    depth against no transfer at the claim's N."""
    return gains[(gains["scenario"] == scenarios.CAE) & (gains["depth"] == claim["depth"])
                 & (gains["n_train"] == claim["n_train"])]


def claim_test(gains: pd.DataFrame, inference: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """The one pre-declared test: per task, the gain of the CAE at the claim's depth over
    no transfer at the claim's N in the claim's metric, its paired t-test, and Holm's
    correction across the tasks. The accuracy half holds where the gain is positive and
    the Holm-adjusted p-value is below alpha; the energy half where the four-task
    reduction on the claim's hardware is at least ``energy_reduction_at_least``."""
    chosen = claim_gains(gains, claim)
    chosen = chosen[chosen["metric"] == claim["metric"]].copy()
    if chosen.empty:
        return pd.DataFrame()
    chosen["p_holm"] = holm(chosen["p_value"])
    energy = inference[(inference["hardware"] == claim["hardware"]) & (inference["scenario"] == scenarios.CAE)
                       & (inference["depth"] == claim["depth"])]
    reduction = float(energy["reduction_vs_none"].iloc[0]) if len(energy) else float("nan")
    ceiling = float(energy["ceiling_reduction"].iloc[0]) if len(energy) else float("nan")
    table = chosen[["task", "n_train", "depth", "metric", "gain", "ci_low", "ci_high", "p_value", "p_holm", "n_pairs"]]
    table = table.assign(
        accuracy_half_holds=(table["gain"] > 0) & (table["p_holm"] < claim["alpha"]),
        hardware=claim["hardware"], energy_reduction=reduction, ceiling_reduction=ceiling,
        ceiling_layers=energy["ceiling_layers"].iloc[0] if len(energy) else "",
        n_tasks=int(energy["n_tasks"].iloc[0]) if len(energy) else 0,
        energy_half_holds=reduction >= claim["energy_reduction_at_least"],
    )
    table["holds"] = table["accuracy_half_holds"] & table["energy_half_holds"]
    return table.sort_values("task", key=lambda tasks: tasks.map(TASKS.index), ignore_index=True)


def pareto_mask(accuracy, energy) -> np.ndarray:
    """True where no other point has at least the accuracy at no more energy, and is
    strictly better in one of the two."""
    accuracy, energy = np.asarray(accuracy, float), np.asarray(energy, float)
    keep = np.ones(len(accuracy), dtype=bool)
    for i in range(len(accuracy)):
        dominated = (accuracy >= accuracy[i]) & (energy <= energy[i]) & ((accuracy > accuracy[i]) | (energy < energy[i]))
        keep[i] = not dominated.any()
    return keep


def tradeoff(summary: pd.DataFrame, inference: pd.DataFrame, metric="balanced_accuracy") -> pd.DataFrame:
    """Per hardware, task and training size: each (scenario, source, depth)'s mean test
    metric beside its four-task inference energy, and whether it is on the Pareto front.
    Descriptive: every setting is shown, none is chosen."""
    points = summary[summary["metric"] == metric].merge(
        inference[["hardware", "scenario", "depth", "energy_pj"]], on=["scenario", "depth"], how="inner"
    )
    parts = []
    for _, group in points.groupby(["hardware", "task", "n_train"], sort=True):
        parts.append(group.assign(pareto=pareto_mask(group["mean"], group["energy_pj"])))
    columns = ["hardware", "task", "n_train", "scenario", "source", "depth", "mean", "energy_pj", "pareto"]
    return pd.concat(parts, ignore_index=True)[columns].rename(columns={"mean": metric}) if parts else pd.DataFrame(columns=columns)
