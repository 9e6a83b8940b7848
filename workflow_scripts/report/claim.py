"""The pre-declared family that tests the claim: the CAE against each baseline of
analysis.claim.against, per task, at the claim's depth, N and metric, paired by fine-tuning
seed in the test's unit (``statistics``), Holm-corrected together, and each comparison
decided better, equivalent (TOST within the margin), worse or inconclusive; the energy half
on the claim's hardware; chance levels and whether each arm learns at the claim's N.

The claim's setting (CAE at one depth, one N, one metric) is fixed in the config
beforehand: nothing here is chosen, on the test set or elsewhere.
"""

import numpy as np
import pandas as pd
from scipy import special

from workflow_scripts.report.statistics import (GAIN_METRICS, holm, pretrain_seeds_of, stop_metric, summarise,
                                                unit_test, unit_values, units_test)
from workflow_scripts.study import scenarios

def claim_gains(gains: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """The gains of the claim's setting over no transfer, in every metric (``paired_gains``'
    rows of the frozen CAE at the claim's depth at the claim's N)."""
    return gains[(gains["scenario"] == scenarios.CAE) & (gains["depth"] == claim["depth"])
                 & (gains["n_train"] == claim["n_train"])]


NO_SIGNAL = "no signal at this N"  # the verdict of a comparison whose two arms both sit at chance
BETTER, EQUIVALENT, WORSE, INCONCLUSIVE = "better", "equivalent", "worse", "inconclusive"
DECISIONS = (BETTER, EQUIVALENT, WORSE, INCONCLUSIVE)
# analysis.claim.against and .margin where a config leaves them out (the schema gives them
# no default, so the config hash of a config without them stays what it was)
AGAINST = (scenarios.NONE, "random")
MARGIN_POINTS = 2.0


def claim_classes(claim: dict) -> dict[str, int]:
    """The study's tasks, in order, with their numbers of classes (the claim's ``classes``,
    resolved from the dataset by study.grid.claim)."""
    return dict(claim["classes"])


def claim_against(claim: dict) -> list[str]:
    """The baselines the pre-declared family compares the CAE with (analysis.claim.against)."""
    return list(claim.get("against", AGAINST))


def claim_margin(claim: dict) -> float:
    """The smallest effect of interest as a fraction (analysis.claim.margin is in points)."""
    return float(claim.get("margin", MARGIN_POINTS)) / 100


def baseline_arm(metrics: pd.DataFrame, claim: dict, against: str) -> pd.DataFrame:
    """The members of a baseline at the claim's N: every ``none`` member, or the members of
    scenario ``against`` at the claim's depth."""
    chosen = (metrics["scenario"] == against) & (metrics["n_train"] == claim["n_train"])
    if against != scenarios.NONE:
        chosen &= metrics["depth"] == claim["depth"]
    return metrics[chosen]


def claim_arm(metrics: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """The members of the claim's own arm: the frozen CAE at the claim's depth and N."""
    return metrics[(metrics["scenario"] == scenarios.CAE) & (metrics["depth"] == claim["depth"])
                   & (metrics["n_train"] == claim["n_train"])]


def claim_pairs(metrics: pd.DataFrame, claim: dict, against: str) -> pd.DataFrame:
    """The claim's arm beside a baseline's members, paired by task, N and fine-tuning seed
    (the baseline's metrics suffixed ``_baseline``); the unit is the CAE's pretraining seed."""
    pairing = ["task", "n_train", "seed"]
    cae = claim_arm(metrics, claim).assign(pretrain_seed=lambda table: pretrain_seeds_of(table))
    baseline = baseline_arm(metrics, claim, against)[pairing + GAIN_METRICS]
    return cae.merge(baseline, on=pairing, suffixes=("", "_baseline"), how="inner")


def comparison_test(differences, pretrain_seeds, margin: float, alpha: float) -> dict:
    """One comparison of the pre-declared family, in the test's unit (``paired_test``): the
    mean gain, its 95 % interval and two-sided p-value, and the equivalence test against
    ``margin`` (two one-sided t-tests, TOST): ``p_equivalence``, the larger of the two
    one-sided p-values of 'gain <= -margin' and 'gain >= +margin', and the (1 - 2 alpha)
    interval (``equivalence_low``, ``equivalence_high``: 90 % at alpha 0.05) that lies
    inside +-margin exactly where p_equivalence < alpha. NaN below two units or without spread."""
    units, unit = unit_values(differences, pretrain_seeds)
    test = units_test(units, unit, int(np.count_nonzero(~np.isnan(np.asarray(differences, dtype=float)))))
    low = high = p_equivalence = float("nan")
    se = unit_test(units)[1]
    if not np.isnan(se):
        df, mean = len(units) - 1, float(units.mean())
        half = special.stdtrit(df, 1 - alpha) * se
        low, high = mean - half, mean + half
        p_equivalence = float(max(special.stdtr(df, -(mean + margin) / se), special.stdtr(df, (mean - margin) / se)))
    return {**test, "equivalence_low": low, "equivalence_high": high, "margin": margin, "p_equivalence": p_equivalence}


def decide(gain: float, p_holm: float, p_equivalence_holm: float, alpha: float) -> str:
    """The decision on one comparison: better (gain above 0, Holm p below alpha), worse
    (below 0, likewise), equivalent (neither, and the TOST's Holm p below alpha: the gain
    lies within +-margin), else inconclusive. A NaN p-value (one unit, no spread) decides nothing."""
    if p_holm < alpha and gain > 0:
        return BETTER
    if p_holm < alpha and gain < 0:
        return WORSE
    if p_equivalence_holm < alpha:
        return EQUIVALENT
    return INCONCLUSIVE


def decide_family(tests: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The family's tests (``comparison_test``'s columns, one row per comparison) with Holm's
    correction over all of them, for the difference tests (``p_holm``) and the equivalence
    tests (``p_equivalence_holm``) alike, and each comparison's ``decision``."""
    tests = tests.assign(p_holm=holm(tests["p_value"]), p_equivalence_holm=holm(tests["p_equivalence"]))
    return tests.assign(decision=[decide(g, p, q, alpha) for g, p, q in
                                  zip(tests["gain"], tests["p_holm"], tests["p_equivalence_holm"])])


def chance_levels(summary: pd.DataFrame, claim: dict, against: str = scenarios.NONE) -> pd.DataFrame:
    """Per task at the claim's N: the test balanced accuracy of the baseline ``against`` (no
    transfer, or that scenario at the claim's depth) and of the CAE at the claim's depth
    (mean and 95 % CI, from ``summarise``), the chance level 1/k (k: the task's classes),
    and ``at_chance``: both intervals include 1/k, so at this N neither classifier shows
    that it learnt anything (a single seed has no interval, and is never called at chance).
    Columns: task, chance_level, baseline_balanced_accuracy, baseline_ci_low,
    baseline_ci_high, cae_balanced_accuracy, cae_ci_low, cae_ci_high, at_chance."""
    columns = ["task", "chance_level", "baseline_balanced_accuracy", "baseline_ci_low", "baseline_ci_high",
               "cae_balanced_accuracy", "cae_ci_low", "cae_ci_high", "at_chance"]
    points = summary[(summary["metric"] == "balanced_accuracy")]
    arms = {"baseline": baseline_arm(points, claim, against), "cae": claim_arm(points, claim)}
    rows = []
    classes = claim_classes(claim)
    for task in [t for t in classes if t in set(arms["baseline"]["task"]) & set(arms["cae"]["task"])]:
        row = {"task": task, "chance_level": 1 / classes[task]}
        includes = []
        for name, arm in arms.items():
            found = arm[arm["task"] == task].iloc[0]
            row.update({f"{name}_balanced_accuracy": found["mean"], f"{name}_ci_low": found["ci_low"],
                        f"{name}_ci_high": found["ci_high"]})
            includes.append(bool(found["ci_low"] <= row["chance_level"] <= found["ci_high"]))  # False for NaN
        rows.append({**row, "at_chance": all(includes)})
    return pd.DataFrame(rows, columns=columns)


CLAIM_COLUMNS = ["task", "against", "n_train", "depth", "metric", "gain", "ci_low", "ci_high", "p_value", "p_holm",
                 "equivalence_low", "equivalence_high", "margin", "p_equivalence", "p_equivalence_holm", "decision",
                 "n_pairs", "unit", "n_units"]


def family_present(metrics: pd.DataFrame, claim: dict) -> list[str]:
    """The baselines of analysis.claim.against that the run has members of at the claim's
    N (a baseline the run lacks is left out of the family)."""
    return [against for against in claim_against(claim) if len(baseline_arm(metrics, claim, against))]


def claim_test(metrics: pd.DataFrame, inference: pd.DataFrame, claim: dict, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """The pre-declared family: per baseline of analysis.claim.against that the run has
    (``family_present``) and per task, the CAE at the claim's depth against that baseline
    at the claim's N in the claim's metric, paired by fine-tuning seed in the test's unit
    (``comparison_test``), Holm-corrected over every task and baseline together, with its
    ``decision`` (``decide``; margin: analysis.claim.margin). The accuracy half holds for a
    row where the decision is better; the energy half where the four-task reduction on the
    claim's hardware is at least ``energy_reduction_at_least``; the paper's claim (``holds``)
    is both, read on the rows against none. ``verdict`` is the decision in words, or
    NO_SIGNAL where the decision is neither better nor worse and both arms sit at chance
    (``chance_levels``, from ``summary``, by default ``summarise(metrics)``)."""
    metric, margin, alpha = claim["metric"], claim_margin(claim), claim["alpha"]
    rows = []
    for against in family_present(metrics, claim):
        pairs = claim_pairs(metrics, claim, against)
        for task, group in pairs.groupby("task", sort=False):
            test = comparison_test(group[metric] - group[f"{metric}_baseline"], group["pretrain_seed"], margin, alpha)
            rows.append({"task": task, "against": against, "n_train": claim["n_train"], "depth": claim["depth"],
                         "metric": metric, **test})
    if not rows:
        return pd.DataFrame()
    table = decide_family(pd.DataFrame(rows), alpha)[CLAIM_COLUMNS]
    energy = inference[(inference["hardware"] == claim["hardware"]) & (inference["scenario"] == scenarios.CAE)
                       & (inference["depth"] == claim["depth"])]
    reduction = float(energy["reduction_vs_none"].iloc[0]) if len(energy) else float("nan")
    ceiling = float(energy["ceiling_reduction"].iloc[0]) if len(energy) else float("nan")
    table = table.assign(
        accuracy_half_holds=table["decision"] == BETTER,
        hardware=claim["hardware"], energy_reduction=reduction, ceiling_reduction=ceiling,
        ceiling_layers=energy["ceiling_layers"].iloc[0] if len(energy) else "",
        n_tasks=int(energy["n_tasks"].iloc[0]) if len(energy) else 0,
        energy_half_holds=reduction >= claim["energy_reduction_at_least"],
    )
    table["holds"] = table["accuracy_half_holds"] & table["energy_half_holds"]
    summary = summarise(metrics) if summary is None else summary
    chance = pd.concat([chance_levels(summary, claim, against).assign(against=against)
                        for against in dict.fromkeys(table["against"])], ignore_index=True)
    table = table.merge(chance, on=["against", "task"], how="left")
    table["at_chance"] = table["at_chance"].fillna(False).astype(bool)
    quiet = table["at_chance"] & table["decision"].isin([EQUIVALENT, INCONCLUSIVE])
    table["verdict"] = np.where(quiet, NO_SIGNAL, table["decision"])
    tasks = list(claim_classes(claim))
    order = table["against"].map(list(dict.fromkeys(table["against"])).index) * 100 + table["task"].map(tasks.index)
    return table.assign(order=order).sort_values("order", ignore_index=True).drop(columns="order")


def paper_rows(claim_table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the claim test that test the paper's claim: the CAE against no transfer
    (every row of a table from before the family had other baselines)."""
    if "against" not in claim_table:
        return claim_table
    return claim_table[claim_table["against"] == scenarios.NONE].reset_index(drop=True)


def control_levels(summary: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """Whether each arm of the family learns at the claim's N (is a control a fair one?):
    per task and arm (none, the CAE at the claim's depth, and every other baseline of
    analysis.claim.against the run has), the mean test balanced accuracy and the mean
    out-of-fold score at the chosen epoch count (``stop_balanced_accuracy``), each with its
    95 % CI in the test's unit, beside chance (1/k); ``test_above_chance`` and
    ``folds_above_chance``: the interval lies above it. Descriptive."""
    points = summary[summary["n_train"] == claim["n_train"]]
    arms = [("cae", claim_arm(points, claim))]
    arms += [(against, baseline_arm(points, claim, against)) for against in claim_against(claim)]
    rows = []
    classes = claim_classes(claim)
    for task in [t for t in classes if t in set(points["task"])]:
        chance = 1 / classes[task]
        for arm, found in arms:
            found = found[found["task"] == task].set_index("metric")
            if "balanced_accuracy" not in found.index:
                continue
            row = {"task": task, "arm": arm, "chance_level": chance}
            for name, metric in (("test", "balanced_accuracy"), ("folds", stop_metric("balanced_accuracy"))):
                if metric in found.index:
                    mean, low, high = found.loc[metric, ["mean", "ci_low", "ci_high"]]
                else:
                    mean = low = high = float("nan")
                row.update({f"{name}_mean": mean, f"{name}_ci_low": low, f"{name}_ci_high": high,
                            f"{name}_above_chance": bool(low > chance)})
            rows.append(row)
    columns = ["task", "arm", "chance_level"] + [f"{name}_{c}" for name in ("test", "folds")
                                                for c in ("mean", "ci_low", "ci_high", "above_chance")]
    return pd.DataFrame(rows, columns=columns)
