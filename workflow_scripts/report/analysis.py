"""The study's answer in numbers: seed statistics, paired gains over ``none``, the
pre-declared family that tests the claim (the CAE against each baseline of
analysis.claim.against, per task, Holm-corrected together, each comparison decided better,
equivalent, worse or inconclusive), the exploratory headline, and the accuracy-energy
Pareto front.

Nothing is chosen on the test set. Where a table or figure picks among settings (the
best other-task CNN, the setting a figure draws per scenario), it picks by the mean
**early-stopping score** (the members' scores on their stop faces at their best epoch,
columns ``stop_*``) and then reports the chosen setting's test numbers. The claim's own setting (CAE at one depth,
one N, one metric) is fixed in the config beforehand and needs no choice.

**The unit of a test.** Members that transfer from one pretraining seed share its
randomness, so they are not independent draws. Where the members of a grid point come from
two or more pretraining seeds, the unit of every interval and test is the pretraining seed:
values (or gains, paired by fine-tuning seed) are averaged within each pretraining seed,
and the t-interval and t-test run across those means. With one fine-tuning seed per
pretraining seed (``pretrain.per_seed``) that is the test across seeds. Where every member
shares one pretraining seed (or none: no transfer), the unit is the fine-tuning seed, and a
transfer gain's interval then says nothing about another pretraining.

All functions take the tidy tables the pipeline writes (``results/metrics.csv``,
``results/energy/inference.csv``) and return tidy tables.
"""

import numpy as np
import pandas as pd
from scipy import special, stats

from workflow_scripts.study import scenarios
from workflow_scripts.study.depths import layers_covered
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
    resolved from the dataset by study_grid.claim)."""
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


CHECKPOINT_CLAIM_COLUMNS = ["epochs", "task", "gain", "ci_low", "ci_high", "p_value", "p_holm", "n_pairs", "unit", "n_units",
                      "holds"]


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
