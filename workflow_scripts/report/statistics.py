"""Seed statistics: per grid point, each metric's mean and 95 % interval, and the paired
gains of transfer over ``none``, both in the test's unit; the paired t-test and Holm's
correction the claim's family uses.

**The unit of a test.** Members that transfer from one pretraining seed share its
randomness, so they are not independent draws. Where the members of a grid point come from
two or more pretraining seeds, the unit of every interval and test is the pretraining seed:
values (or gains, paired by fine-tuning seed) are averaged within each pretraining seed,
and the t-interval and t-test run across those means. With one fine-tuning seed per
pretraining seed (``pretrain.per_seed``) that is the test across seeds. Where every member
shares one pretraining seed (or none: no transfer), the unit is the fine-tuning seed, and a
transfer gain's interval then says nothing about another pretraining.

All functions take the tidy tables the pipeline writes (``results/metrics.csv``) and
return tidy tables.
"""

import numpy as np
import pandas as pd
from scipy import special

from workflow_scripts.study import scenarios
from workflow_scripts.study.grid import BLOCK_KEY

BLOCK = list(BLOCK_KEY)
GRID = [*BLOCK_KEY, "n_train"]  # a grid point: a block at one training size
METRICS = ["accuracy", "balanced_accuracy", "macro_f1"]
GAIN_METRICS = ["accuracy", "balanced_accuracy"]
PRETRAINING_SEED = "pretraining seed"  # the units of a test (column ``unit``)
FINETUNING_SEED = "fine-tuning seed"
NO_PRETRAINING = -1  # metrics.csv's pretrain_seed of a member that transfers nothing


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
    half = special.stdtrit(n - 1, (1 + confidence) / 2) * values.std(ddof=1) / np.sqrt(n)  # scipy's t.ppf, faster
    return mean, mean - half, mean + half, n


def unit_values(values, pretrain_seeds=None) -> tuple[np.ndarray, str]:
    """The values a test or interval runs across, and their unit: with two or more
    pretraining seeds among ``pretrain_seeds`` (one per value; NO_PRETRAINING or None for
    none), the mean of each pretraining seed's values, in order of first appearance;
    otherwise the values themselves, one per fine-tuning seed. NaN values are left out."""
    values = np.asarray(values, dtype=float)
    kept = ~np.isnan(values)
    if pretrain_seeds is None:
        return values[kept], FINETUNING_SEED
    codes, uniques = pd.factorize(np.asarray(pretrain_seeds)[kept], use_na_sentinel=False)
    if len(uniques) < 2:
        return values[kept], FINETUNING_SEED
    return np.bincount(codes, weights=values[kept]) / np.bincount(codes), PRETRAINING_SEED


def unit_test(units: np.ndarray) -> tuple[float, float, float]:
    """The one-sample t statistic of the unit values against 0, its standard error and the
    two-sided p-value (NaN below two units or without spread)."""
    if len(units) < 2 or units.std() <= 1e-12:  # identical differences: no test
        return float("nan"), float("nan"), float("nan")
    se = float(units.std(ddof=1) / np.sqrt(len(units)))
    t = float(units.mean()) / se
    return t, se, float(2 * special.stdtr(len(units) - 1, -abs(t)))  # scipy's t.sf, faster


def paired_test(differences, pretrain_seeds=None, confidence=0.95) -> dict:
    """The paired test of gains (``differences``, one per fine-tuning seed) in its unit
    (``unit_values``): the mean over units, its t-interval, the two-sided one-sample
    t-test's p-value (NaN below two units or without spread), the unit and the counts of
    units and pairs."""
    units, unit = unit_values(differences, pretrain_seeds)
    return units_test(units, unit, int(np.count_nonzero(~np.isnan(np.asarray(differences, dtype=float)))), confidence)


def units_test(units: np.ndarray, unit: str, n_pairs: int, confidence=0.95) -> dict:
    """``paired_test`` on unit values already formed."""
    mean, low, high, n_units = mean_interval(units, confidence)
    return {"gain": mean, "ci_low": low, "ci_high": high, "p_value": unit_test(units)[2], "n_pairs": n_pairs,
            "unit": unit, "n_units": n_units}


def pretrain_seeds_of(metrics: pd.DataFrame) -> pd.Series:
    """metrics.csv's pretrain_seed column (NO_PRETRAINING for tables that lack it)."""
    if "pretrain_seed" in metrics:
        return metrics["pretrain_seed"].fillna(NO_PRETRAINING)
    return pd.Series(NO_PRETRAINING, index=metrics.index)


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per grid point and metric (test metrics and early-stopping scores): mean, standard
    deviation across seeds (members), and the 95 % CI in the test's unit (``unit_values``:
    across pretraining-seed means where the members come from several pretraining seeds,
    else across seeds), with the unit, the number of units and of seeds."""
    measured = METRICS + [stop_metric(m) for m in GAIN_METRICS if stop_metric(m) in metrics]
    metrics = metrics.assign(pretrain_seed=pretrain_seeds_of(metrics))
    rows = []
    for key, group in metrics.groupby(GRID, sort=True):
        for metric in measured:
            units, unit = unit_values(group[metric], group["pretrain_seed"])
            mean, low, high, n_units = mean_interval(units)
            n = int(group[metric].notna().sum())
            rows.append({**dict(zip(GRID, key)), "metric": metric, "mean": mean,
                         "std": float(group[metric].std(ddof=1)) if n > 1 else float("nan"),
                         "ci_low": low, "ci_high": high, "n_seeds": n, "unit": unit, "n_units": n_units})
    return pd.DataFrame(rows)


def paired_gains(metrics: pd.DataFrame, by=()) -> pd.DataFrame:
    """Gain of every transfer grid point over ``none``, paired by task, n_train and seed
    (and the columns ``by``, e.g. a checkpoint's epochs), per metric: mean gain, 95 % CI
    and the two-sided paired t-test's p-value in the test's unit (``paired_test``: the
    pretraining seed where the transfer members come from several), with the unit and the
    counts of units and pairs. Every row is exploratory: nothing here is corrected for the
    number of comparisons."""
    by = list(by)
    pairing = ["task", "n_train", "seed", *by]
    baseline = metrics.loc[metrics["scenario"] == scenarios.NONE, pairing + GAIN_METRICS]
    transfer = metrics[metrics["scenario"] != scenarios.NONE]
    transfer = transfer.assign(pretrain_seed=pretrain_seeds_of(transfer))
    paired = transfer.merge(baseline, on=pairing, suffixes=("", "_none"), how="inner")
    rows = []
    for key, group in paired.groupby(GRID + by, sort=True):
        for metric in GAIN_METRICS:
            test = paired_test(group[metric] - group[f"{metric}_none"], group["pretrain_seed"])
            rows.append({**dict(zip(GRID + by, key)), "metric": metric, **test})
    columns = [*GRID, *by, "metric", "gain", "ci_low", "ci_high", "p_value", "n_pairs", "unit", "n_units"]
    return pd.DataFrame(rows, columns=columns)


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
