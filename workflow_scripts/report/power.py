"""How large the claim's study must be: the variance components of the pre-declared
family's paired gains, and the nested design (units x fine-tuning seeds per unit) whose
95 % interval is narrow enough for every task, with its CPU cost. ``bench/power_analysis.py``
prints it for a finished run.

The model is the analysis's own (``statistics.paired_test``): a gain (the CAE's member minus
the baseline's, paired by fine-tuning seed) is the task's mean gain plus a unit effect (the
pretraining seed: its CAE, and the random trunk drawn with it) of variance ``unit_var``
plus a within-unit deviation (subset draw, initialisation, batch order, epoch choice) of
variance ``within_var``. The test averages the gains within each of ``units`` units and
runs a t-test across the unit means, so a unit mean has variance
``unit_var + within_var / per_unit`` and the 95 % interval's half-width is
``t(0.975, units - 1) * s / sqrt(units)``, with ``s**2`` that variance times a chi-square
on ``units - 1`` degrees of freedom over its degrees of freedom. The *assurance* of a
design is the probability that this half-width comes out at most the target.

The components are estimated by a one-way random-effects ANOVA (method of moments, the
unbalanced form with n0), per task and pooled over tasks. Planning on point estimates of a
component estimated from four units is optimistic, so the design is planned on their
one-sided 80 % upper confidence limits (as pilot-study sample sizes are; Browne 1995),
and the design on the point estimates is printed beside it.

A crossed design (every labelled subset scored with every CAE, one shared ``none`` member
per subset) needs a crossed random-effects analysis that the pipeline does not run; it is
not planned here.
"""

import math

import numpy as np
import pandas as pd
from scipy import special, stats

from workflow_scripts.report.claim import claim_classes, claim_pairs


def unit_gains(metrics: pd.DataFrame, claim: dict, against: str) -> pd.DataFrame:
    """The claim's paired gains against one baseline at the claim's N, one row per task and
    fine-tuning seed, with the unit (the CAE's pretraining seed). Columns: task, seed, unit, gain."""
    pairs = claim_pairs(metrics, claim, against)
    metric, tasks = claim["metric"], list(claim_classes(claim))
    table = pd.DataFrame({"task": pairs["task"], "seed": pairs["seed"], "unit": pairs["pretrain_seed"],
                          "gain": pairs[metric] - pairs[f"{metric}_baseline"]}).dropna(subset=["gain"])
    return table.sort_values("task", key=lambda task: task.map(tasks.index), kind="stable", ignore_index=True)


def anova_sums(gains, units) -> dict:
    """The one-way ANOVA's sums of squares and degrees of freedom of ``gains`` grouped by
    ``units``, and n0, the effective number of values per unit (the mean where balanced)."""
    table = pd.DataFrame({"gain": np.asarray(gains, dtype=float), "unit": np.asarray(units)})
    groups = table.groupby("unit")["gain"]
    sizes, means = groups.size(), groups.mean()
    n, k = len(table), len(sizes)
    between = float((sizes * (means - table["gain"].mean()) ** 2).sum())
    within = float(((table["gain"] - table["unit"].map(means)) ** 2).sum())
    return {"ss_between": between, "df_between": k - 1, "ss_within": within, "df_within": n - k,
            "n0": (n - float((sizes ** 2).sum()) / n) / (k - 1) if k > 1 else float("nan")}


def components(sums: dict, upper: float = 0.8) -> dict:
    """Variance components from ANOVA sums (``anova_sums``, or several pooled by adding
    them): the unit's and the within-unit variance (method of moments; the unit's clipped at
    0), the F statistic and its p-value, the within-unit variance's 95 % interval, and
    one-sided ``upper`` upper confidence limits of both (``unit_var_upper``: from the
    F-distribution of the variance ratio, times the within-unit estimate)."""
    df_b, df_w = sums["df_between"], sums["df_within"]
    ms_between, ms_within = sums["ss_between"] / df_b, sums["ss_within"] / df_w
    f = ms_between / ms_within
    ratio_upper = max(0.0, (f / stats.f.ppf(1 - upper, df_b, df_w) - 1) / sums["n0"])
    return {
        "unit_var": max(0.0, (ms_between - ms_within) / sums["n0"]), "within_var": ms_within,
        "F": f, "p_value": float(stats.f.sf(f, df_b, df_w)), "df_between": df_b, "df_within": df_w, "n0": sums["n0"],
        "within_var_low": sums["ss_within"] / stats.chi2.ppf(0.975, df_w),
        "within_var_high": sums["ss_within"] / stats.chi2.ppf(0.025, df_w),
        "within_var_upper": sums["ss_within"] / stats.chi2.ppf(1 - upper, df_w),
        "unit_var_upper": ratio_upper * ms_within,
    }


def variance_components(gains: pd.DataFrame, upper: float = 0.8) -> pd.DataFrame:
    """Per task of ``unit_gains``' table (in its order), and pooled over the tasks (each task's sums of
    squares and degrees of freedom added: the components taken as common to the tasks), the
    ``components``. Columns: task ('pooled' last) and the components."""
    rows, pooled = [], None
    for task in dict.fromkeys(gains["task"]):
        group = gains[gains["task"] == task]
        sums = anova_sums(group["gain"], group["unit"])
        rows.append({"task": task, **components(sums, upper)})
        pooled = sums if pooled is None else {key: pooled[key] + sums[key] for key in sums}
    if pooled is not None and len(rows) > 1:
        pooled["n0"] /= len(rows)
        rows.append({"task": "pooled", **components(pooled, upper)})
    return pd.DataFrame(rows)


def assurance(units: int, per_unit: int, unit_var: float, within_var: float, target: float,
              confidence: float = 0.95) -> float:
    """The probability that the test's ``confidence`` interval (a t-interval across the
    ``units`` unit means, each of ``per_unit`` gains) has a half-width of at most ``target``."""
    if units < 2:
        return 0.0
    df = units - 1
    variance = unit_var + within_var / per_unit
    if variance <= 0:
        return 1.0
    t = special.stdtrit(df, (1 + confidence) / 2)
    return float(stats.chi2.cdf(df * target ** 2 * units / (t ** 2 * variance), df))


def designs(task_components: dict, unit_seconds: float, member_seconds: float, target: float, *,
            confidence: float = 0.95, max_units: int = 64, max_per_unit: int = 32) -> pd.DataFrame:
    """Every nested design up to ``max_units`` x ``max_per_unit`` with its lowest assurance
    over the tasks (``task_components``: task -> (unit_var, within_var)) and its CPU
    seconds: ``unit_seconds`` per unit (its pretraining) and ``member_seconds`` per
    fine-tuning seed (every arm's member of every task). Columns: units, per_unit, seeds,
    assurance, weakest_task, cpu_seconds."""
    rows = []
    for units in range(2, max_units + 1):
        for per_unit in range(1, max_per_unit + 1):
            each = {task: assurance(units, per_unit, u, w, target, confidence) for task, (u, w) in task_components.items()}
            weakest = min(each, key=each.get)
            rows.append({"units": units, "per_unit": per_unit, "seeds": units * per_unit, "assurance": each[weakest],
                         "weakest_task": weakest,
                         "cpu_seconds": units * unit_seconds + units * per_unit * member_seconds})
    return pd.DataFrame(rows)


def cheapest(options: pd.DataFrame, wanted: float) -> pd.Series | None:
    """The cheapest design whose assurance reaches ``wanted`` (fewer seeds on a tie); None
    where none in ``options`` does."""
    good = options[options["assurance"] >= wanted]
    if good.empty:
        return None
    return good.sort_values(["cpu_seconds", "seeds", "units"], kind="stable").iloc[0]


def hours(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds / 3600:.1f} h"
