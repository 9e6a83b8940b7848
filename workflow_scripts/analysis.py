"""The study's answer in numbers: seed statistics, paired gains over ``none``, the one
pre-declared test of the claim (Holm-corrected across tasks), the exploratory headline,
and the accuracy-energy Pareto front.

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
from scipy import stats

from . import scenarios
from .depths import layers_covered
from .study_grid import BLOCK_KEY

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
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half, n


def unit_values(values, pretrain_seeds=None) -> tuple[np.ndarray, str]:
    """The values a test or interval runs across, and their unit: with two or more
    pretraining seeds among ``pretrain_seeds`` (one per value; NO_PRETRAINING or None for
    none), the mean of each pretraining seed's values, in order of first appearance;
    otherwise the values themselves, one per fine-tuning seed. NaN values are left out."""
    values = pd.Series(np.asarray(values, dtype=float))
    seeds = pd.Series(NO_PRETRAINING if pretrain_seeds is None else np.asarray(pretrain_seeds), index=values.index)
    kept = values.notna()
    values, seeds = values[kept], seeds[kept]
    if seeds.nunique() < 2:
        return values.to_numpy(), FINETUNING_SEED
    return values.groupby(seeds, sort=False).mean().to_numpy(), PRETRAINING_SEED


def paired_test(differences, pretrain_seeds=None, confidence=0.95) -> dict:
    """The paired test of gains (``differences``, one per fine-tuning seed) in its unit
    (``unit_values``): the mean over units, its t-interval, the two-sided one-sample
    t-test's p-value (NaN below two units or without spread), the unit and the counts of
    units and pairs."""
    units, unit = unit_values(differences, pretrain_seeds)
    mean, low, high, n_units = mean_interval(units, confidence)
    spread = n_units > 1 and units.std() > 1e-12  # identical differences: no test
    p_value = float(stats.ttest_1samp(units, 0.0).pvalue) if spread else float("nan")
    n_pairs = int(pd.Series(np.asarray(differences, dtype=float)).notna().sum())
    return {"gain": mean, "ci_low": low, "ci_high": high, "p_value": p_value, "n_pairs": n_pairs,
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
    """The gains of the claim's setting, in every metric: the frozen CAE at the claim's
    depth against no transfer at the claim's N."""
    return gains[(gains["scenario"] == scenarios.CAE) & (gains["depth"] == claim["depth"])
                 & (gains["n_train"] == claim["n_train"])]


NO_SIGNAL = "no signal at this N"  # the verdict of a task where both arms sit at chance


def chance_levels(summary: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """Per task at the claim's N: the test balanced accuracy of no transfer and of the CAE
    at the claim's depth (mean and 95 % CI, from ``summarise``), the chance level 1/k (k:
    the task's classes), and ``at_chance``: both intervals include 1/k, so at this N
    neither classifier shows that it learnt anything (a single seed has no interval, and is
    never called at chance). Columns: task, chance_level, none_balanced_accuracy,
    none_ci_low, none_ci_high, cae_balanced_accuracy, cae_ci_low, cae_ci_high, at_chance."""
    columns = ["task", "chance_level", "none_balanced_accuracy", "none_ci_low", "none_ci_high",
               "cae_balanced_accuracy", "cae_ci_low", "cae_ci_high", "at_chance"]
    points = summary[(summary["metric"] == "balanced_accuracy") & (summary["n_train"] == claim["n_train"])]
    arms = {"none": points[points["scenario"] == scenarios.NONE],
            "cae": points[(points["scenario"] == scenarios.CAE) & (points["depth"] == claim["depth"])]}
    rows = []
    for task in [t for t in claim["classes"] if t in set(arms["none"]["task"]) & set(arms["cae"]["task"])]:
        row = {"task": task, "chance_level": 1 / claim["classes"][task]}
        includes = []
        for name, arm in arms.items():
            found = arm[arm["task"] == task].iloc[0]
            row.update({f"{name}_balanced_accuracy": found["mean"], f"{name}_ci_low": found["ci_low"],
                        f"{name}_ci_high": found["ci_high"]})
            includes.append(bool(found["ci_low"] <= row["chance_level"] <= found["ci_high"]))  # False for NaN
        rows.append({**row, "at_chance": all(includes)})
    return pd.DataFrame(rows, columns=columns)


def claim_test(gains: pd.DataFrame, inference: pd.DataFrame, claim: dict, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """The one pre-declared test: per task, the gain of the CAE at the claim's depth over
    no transfer at the claim's N in the claim's metric, its paired t-test (in the test's
    unit, ``paired_gains``), and Holm's correction across the tasks. The accuracy half
    holds where the gain is positive and the Holm-adjusted p-value is below alpha; the
    energy half where the all-tasks reduction on the claim's hardware is at least
    ``energy_reduction_at_least``. ``verdict`` says the accuracy half in words: yes, no, or
    NO_SIGNAL where it does not hold and both arms sit at chance (``chance_levels``, from
    ``summary``; without a summary nothing is called at chance)."""
    chosen = claim_gains(gains, claim)
    chosen = chosen[chosen["metric"] == claim["metric"]].copy()
    if chosen.empty:
        return pd.DataFrame()
    chosen["p_holm"] = holm(chosen["p_value"])
    energy = inference[(inference["hardware"] == claim["hardware"]) & (inference["scenario"] == scenarios.CAE)
                       & (inference["depth"] == claim["depth"])]
    reduction = float(energy["reduction_vs_none"].iloc[0]) if len(energy) else float("nan")
    ceiling = float(energy["ceiling_reduction"].iloc[0]) if len(energy) else float("nan")
    kept = ["task", "n_train", "depth", "metric", "gain", "ci_low", "ci_high", "p_value", "p_holm", "n_pairs",
            "unit", "n_units"]
    table = chosen[[c for c in kept if c in chosen]]
    table = table.assign(
        accuracy_half_holds=(table["gain"] > 0) & (table["p_holm"] < claim["alpha"]),
        hardware=claim["hardware"], energy_reduction=reduction, ceiling_reduction=ceiling,
        ceiling_layers=energy["ceiling_layers"].iloc[0] if len(energy) else "",
        n_tasks=int(energy["n_tasks"].iloc[0]) if len(energy) else 0,
        energy_half_holds=reduction >= claim["energy_reduction_at_least"],
    )
    table["holds"] = table["accuracy_half_holds"] & table["energy_half_holds"]
    chance = chance_levels(summary, claim) if summary is not None else pd.DataFrame(columns=["task", "at_chance"])
    table = table.merge(chance, on="task", how="left")
    table["at_chance"] = table["at_chance"].fillna(False).astype(bool)
    table["verdict"] = np.where(table["accuracy_half_holds"], "yes", np.where(table["at_chance"], NO_SIGNAL, "no"))
    return table.sort_values("task", key=lambda tasks: tasks.map(list(claim["classes"]).index), ignore_index=True)


CHECKPOINT_COLUMNS = ["epochs", "task", "gain", "ci_low", "ci_high", "p_value", "p_holm", "n_pairs", "unit", "n_units",
                      "holds"]


def checkpoint_claim(checkpoints: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """Exploratory, a sensitivity and not a choice: the claim's gain (the CAE at the claim's
    depth over no transfer at the claim's N, in the claim's metric) from the test scores
    recorded after a fixed number of epochs (results/checkpoints.csv: metrics.csv's key
    columns, ``epochs`` and the test metrics), per epoch count and task: paired, in the
    test's unit and Holm-corrected across the tasks as the pre-declared test is, and whether
    the test would hold there (gain above 0, Holm p below alpha)."""
    if checkpoints.empty:
        return pd.DataFrame(columns=CHECKPOINT_COLUMNS)
    gains = claim_gains(paired_gains(checkpoints, by=["epochs"]), claim)
    gains = gains[gains["metric"] == claim["metric"]]
    parts = []
    for _, group in gains.groupby("epochs", sort=True):
        group = group.assign(p_holm=holm(group["p_value"]))
        parts.append(group.assign(holds=(group["gain"] > 0) & (group["p_holm"] < claim["alpha"])))
    if not parts:
        return pd.DataFrame(columns=CHECKPOINT_COLUMNS)
    table = pd.concat(parts, ignore_index=True)[CHECKPOINT_COLUMNS]
    order = table["task"].map(list(claim["classes"]).index)
    return table.assign(order=order).sort_values(["order", "epochs"], ignore_index=True).drop(columns="order")


def checkpoint_changes(checkpoint_table: pd.DataFrame, claim_table: pd.DataFrame) -> pd.DataFrame:
    """Per task of the checkpoint table: whether the gain's sign, and whether the test's
    decision (holds or not), differ between the epoch counts and the pre-declared test
    (at the epochs the protocol chose). Columns: task, sign_changes, decision_changes."""
    tested = claim_table.set_index("task") if len(claim_table) else pd.DataFrame()
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
PRECISION_COLUMNS = ["precision", "task", "n_train", "depth", "metric", "gain", "ci_low", "ci_high", "p_value", "p_holm",
                     "n_pairs", "unit", "n_units", "accuracy_half_holds", "verdict"]


def precision_claim(metrics: pd.DataFrame, int8_metrics: pd.DataFrame, inference: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """Exploratory, beside the pre-declared test: that test (``claim_test``: the same
    pairing, unit, Holm correction and chance levels) on the float32 scores
    (``metrics.csv``, the pre-declared test itself) and on the int8 scores of the same
    classifiers (``int8_metrics.csv``: metrics.csv's key columns and test metrics), one
    row per precision and task. Columns ``PRECISION_COLUMNS``."""
    parts = []
    for precision, table in ((FLOAT32, metrics), (INT8, int8_metrics)):
        tested = claim_test(paired_gains(table), inference, claim, summarise(table))
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
