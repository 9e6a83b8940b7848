"""The study's answer in numbers: seed statistics, paired gains over ``none``, the
headline table and the accuracy-energy Pareto front.

All functions take the tidy tables the pipeline writes (``results/metrics.csv``,
``results/energy/inference.csv``) and return tidy tables.
"""

import numpy as np
import pandas as pd
from scipy import stats

from .depths import blocks_covered

GRID = ["task", "scenario", "source", "depth", "n_train"]
METRICS = ["accuracy", "balanced_accuracy", "macro_f1"]
GAIN_METRICS = ["accuracy", "balanced_accuracy"]
TRANSFER = ("cae", "cnn")


def mean_interval(values, confidence=0.95) -> tuple[float, float, float, int]:
    """Mean, t-interval bounds and count of a sample (bounds NaN below two values)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan"), n
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half, n


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per grid point and metric: mean, standard deviation, 95 % CI across seeds."""
    rows = []
    for key, group in metrics.groupby(GRID, sort=True):
        for metric in METRICS:
            mean, low, high, n = mean_interval(group[metric])
            rows.append({**dict(zip(GRID, key)), "metric": metric, "mean": mean,
                         "std": float(group[metric].std(ddof=1)) if n > 1 else float("nan"),
                         "ci_low": low, "ci_high": high, "n_seeds": n})
    return pd.DataFrame(rows)


def paired_gains(metrics: pd.DataFrame) -> pd.DataFrame:
    """Gain of every transfer grid point over ``none``, paired by task, n_train and seed:
    mean gain, 95 % CI and the two-sided paired t-test's p-value, per metric."""
    pairing = ["task", "n_train", "seed"]
    baseline = metrics.loc[metrics["scenario"] == "none", pairing + GAIN_METRICS]
    transfer = metrics[metrics["scenario"] != "none"]
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


def deepest_depth(depths) -> str:
    """The deepest of a list of depths: ``conv<K>+fc1`` (the paper's headline) when listed."""
    return max(depths, key=blocks_covered)


def headline(gains: pd.DataFrame, inference: pd.DataFrame) -> pd.DataFrame:
    """For each task and training size: the gain of ``cae`` at the deepest depth, the best
    ``cnn`` (source and depth, by balanced-accuracy gain) and their four-task inference
    energy reduction on each hardware."""
    if gains.empty:
        return pd.DataFrame()
    bacc = gains[gains["metric"] == "balanced_accuracy"]
    acc = gains[gains["metric"] == "accuracy"].set_index(GRID)
    reduction = inference.set_index(["hardware", "scenario", "depth"])["reduction_vs_none"]
    hardware = sorted(inference["hardware"].unique())
    rows = []
    for (task, n_train), group in bacc.groupby(["task", "n_train"], sort=True):
        row = {"task": task, "n_train": n_train}
        cae = group[group["scenario"] == "cae"]
        candidates = {}
        if len(cae):
            candidates["cae"] = cae[cae["depth"] == deepest_depth(list(cae["depth"]))]
        cnn = group[group["scenario"] == "cnn"]
        if len(cnn):
            candidates["cnn"] = cnn.loc[[cnn["gain"].idxmax()]]
        for scenario, chosen in candidates.items():
            best = chosen.iloc[0]
            key = tuple(best[c] for c in GRID)
            row[f"{scenario}_source"] = best["source"]
            row[f"{scenario}_depth"] = best["depth"]
            row[f"{scenario}_balanced_accuracy_gain"] = best["gain"]
            row[f"{scenario}_balanced_accuracy_ci_low"] = best["ci_low"]
            row[f"{scenario}_balanced_accuracy_ci_high"] = best["ci_high"]
            row[f"{scenario}_balanced_accuracy_p"] = best["p_value"]
            row[f"{scenario}_accuracy_gain"] = acc.loc[key, "gain"] if key in acc.index else float("nan")
            for name in hardware:
                index = (name, scenario, best["depth"])
                row[f"{scenario}_energy_reduction_{name}"] = reduction.get(index, float("nan"))
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


def tradeoff(summary: pd.DataFrame, inference: pd.DataFrame, metric="balanced_accuracy") -> pd.DataFrame:
    """Per hardware, task and training size: each (scenario, source, depth)'s mean metric
    beside its four-task inference energy, and whether it is on the Pareto front."""
    points = summary[summary["metric"] == metric].merge(
        inference[["hardware", "scenario", "depth", "energy_pj"]], on=["scenario", "depth"], how="inner"
    )
    parts = []
    for _, group in points.groupby(["hardware", "task", "n_train"], sort=True):
        parts.append(group.assign(pareto=pareto_mask(group["mean"], group["energy_pj"])))
    columns = ["hardware", "task", "n_train", "scenario", "source", "depth", "mean", "energy_pj", "pareto"]
    return pd.concat(parts, ignore_index=True)[columns].rename(columns={"mean": metric}) if parts else pd.DataFrame(columns=columns)
