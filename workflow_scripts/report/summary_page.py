"""``results/summary.md``: the answer in one sentence, the paper's claims beside this run,
the pre-declared family (the CAE against each baseline, per task, Holm-corrected together)
and its controls; everything after that is exploratory (int8, checkpoints, the headline,
energy, the source networks). What the verdicts say is decided in ``verdicts``; this module
lays them out."""

import pandas as pd

from workflow_scripts.atomic import atomic_path
from workflow_scripts.report.claim import claim_against, claim_margin, paper_rows
from workflow_scripts.report.comparison import COMPARISON_NOTE, energy_note, paper_comparison
from workflow_scripts.report.formatting import (METRIC_WORDS, energy_unit, every_task, fixed, interval, markdown_table,
                                                n_tasks_of, p_text, percent, points)
from workflow_scripts.report.verdicts import (answer_sentence, baseline_words, checkpoint_finding, control_finding,
                                              dataset_caveat, holm_words, joined, number_word, precision_finding,
                                              pretraining_cap_sentence, tasks_inference, tested_verdict, unit_sentence)
from workflow_scripts.study import paper, scenarios
from workflow_scripts.study.grid import ENERGY_WORD_BITS

def compact_headline(headline: pd.DataFrame, metric: str, hardware: str) -> pd.DataFrame:
    """The headline's gains as 'mean [CI]' in points, the chosen CNN's setting, and the
    energy reductions on one accelerator (the CSV keeps every column)."""
    rows = []
    for row in headline.to_dict("records"):
        shown = {"task": row["task"], "N": row["n_train"]}
        for scenario, name in ((scenarios.CAE, "CAE"), (scenarios.CNN, "CNN")):
            if f"{scenario}_depth" not in row or pd.isna(row.get(f"{scenario}_depth")):
                continue
            if scenario == scenarios.CNN:
                shown["CNN chosen (source, depth; among)"] = (
                    f"{row['cnn_source']}, {row['cnn_depth']}; {int(row['cnn_candidates'])}")
            else:
                shown["CAE depth"] = row["cae_depth"]
            shown[f"{name} {METRIC_WORDS[metric]} gain (points)"] = interval(
                row[f"{scenario}_{metric}_gain"], row[f"{scenario}_{metric}_ci_low"], row[f"{scenario}_{metric}_ci_high"])
            shown[f"{name} p (uncorrected)"] = p_text(row[f"{scenario}_{metric}_p"])
            shown[f"{name} energy reduction ({hardware})"] = f"{fixed(row.get(f'{scenario}_energy_reduction_{hardware}', float('nan')), 2)}x"
        rows.append(shown)
    return pd.DataFrame(rows)


# the claim test's columns as summary.md heads them (publish reads them back; a summary
# published before the decision rule lacks against, margin, the equivalence columns and decision)
VERDICT_COLUMNS = {"task": "task", "against": "against", "n_train": "N", "depth": "CAE depth", "metric": "metric",
                   "gain": "gain (points)", "ci_low": "CI low", "ci_high": "CI high", "p_value": "p", "p_holm": "Holm p",
                   "margin": "margin (points)", "equivalence_low": "TOST CI low", "equivalence_high": "TOST CI high",
                   "p_equivalence_holm": "TOST Holm p", "decision": "decision",
                   "accuracy_half_holds": "accuracy half", "energy_reduction": "energy reduction",
                   "energy_half_holds": "energy half", "holds": "claim holds", "verdict": "verdict (accuracy half)"}


def verdict_table(claim_table: pd.DataFrame) -> pd.DataFrame:
    """The claim test as summary.md shows it (publish reads it back through VERDICT_COLUMNS)."""
    shown = claim_table.copy()
    for column in ("gain", "ci_low", "ci_high", "equivalence_low", "equivalence_high"):
        if column in shown:
            shown[column] = shown[column].map(points)
    if "margin" in shown:
        shown["margin"] = shown["margin"].map(lambda m: fixed(100 * m, 2))
    n_units = shown["n_units"] if "n_units" in shown else pd.Series(None, index=shown.index)
    shown["p_value"] = shown["p_value"].map(p_text)
    for column in ("p_holm", "p_equivalence_holm"):
        if column in shown:
            shown[column] = [holm_words(p, n).removeprefix("Holm p = ") for p, n in zip(shown[column], n_units)]
    shown["energy_reduction"] = shown["energy_reduction"].map(lambda r: f"{fixed(r, 2)}x")
    return shown[[c for c in VERDICT_COLUMNS if c in shown]].rename(columns=VERDICT_COLUMNS)


def checkpoint_cells(checkpoint_table: pd.DataFrame, claim_table: pd.DataFrame) -> pd.DataFrame:
    """Per task, the claim's gain (points, 95 % CI) and the test's decision at the epochs the
    protocol chose (the pre-declared test) and at each checkpoint epoch count."""
    def cell(gain, low, high, holds):
        return f"{interval(gain, low, high)}; {'holds' if holds else 'does not hold'}"

    tested = paper_rows(claim_table).set_index("task") if len(claim_table) else pd.DataFrame()
    rows = []
    for task, group in checkpoint_table.groupby("task", sort=False):
        row = {"task": task}
        if task in tested.index:
            found = tested.loc[task]
            row["chosen epochs (the test)"] = cell(found["gain"], found["ci_low"], found["ci_high"],
                                                   found["accuracy_half_holds"])
        for found in group.itertuples(index=False):
            row[f"{int(found.epochs)} epochs"] = cell(found.gain, found.ci_low, found.ci_high, found.holds)
        rows.append(row)
    return pd.DataFrame(rows)


def checkpoint_section(checkpoint_table, changes, claim_table, claim) -> list[str]:
    """summary.md's lines on the claim's gain at fixed epoch counts (exploratory)."""
    lines = ["### The claim's gain at fixed epoch counts (sensitivity)", ""]
    if checkpoint_table is None or checkpoint_table.empty:
        return lines + ["No test scores at fixed epoch counts were recorded under this run's protocol.", ""]
    return lines + [
        f"Exploratory, a sensitivity and not a choice: the {METRIC_WORDS[claim['metric']]} gain of the claim's setting "
        "from test scores recorded after a fixed number of epochs (analysis.checkpoints), paired, in the same unit "
        "and Holm-corrected across tasks as the pre-declared test; \"holds\" means the gain is positive with a Holm p "
        "below alpha at that epoch count.",
        "",
        markdown_table(checkpoint_cells(checkpoint_table, claim_table)),
        "",
        checkpoint_finding(changes),
        "",
    ]


def energy_bits(inference: pd.DataFrame) -> int:
    """The word width the energy was priced at (inference.csv's precision_bits, one value for
    the whole table; the default width for a table from before it had the column)."""
    return int(inference["precision_bits"].iloc[0]) if "precision_bits" in inference and len(inference) else ENERGY_WORD_BITS


def precision_cells(precision_table: pd.DataFrame) -> pd.DataFrame:
    """Per baseline and task: the claim's gain (points, 95 % CI) and the test's verdict at
    float32 and at int8."""
    table = precision_table if "against" in precision_table else precision_table.assign(against=scenarios.NONE)
    rows = []
    for against in dict.fromkeys(table["against"]):
        for task in dict.fromkeys(table.loc[table["against"] == against, "task"]):  # the claim test's task order
            row = {"task": task, "against": against}
            for found in table[(table["task"] == task) & (table["against"] == against)].to_dict("records"):
                row[f"{found['precision']} gain (points)"] = interval(found["gain"], found["ci_low"], found["ci_high"])
                row[f"{found['precision']} verdict"] = tested_verdict(found["verdict"], found["p_holm"], found.get("n_units"))
            rows.append(row)
    return pd.DataFrame(rows)


def cost_cells(cost_table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per scenario and depth, in ``metric``: float32 and int8 means, what int8 costs
    (points; the mean and the member that lost most) and how often the two agree."""
    shown = cost_table[cost_table["metric"] == metric]
    words = metric.replace("_", " ")
    return pd.DataFrame({
        "scenario": shown["scenario"], "depth": shown["depth"],
        f"float32 {words}": shown["float32"].map(percent), f"int8 {words}": shown["int8"].map(percent),
        "int8 cost (points; largest)": [f"{fixed(100 * c, 2, True)} ({fixed(100 * w, 2, True)})"
                                        for c, w in zip(shown["cost"], shown["largest_cost"])],
        "agreement (lowest)": [f"{percent(a)} ({percent(low)})" for a, low in zip(shown["agreement"], shown["lowest_agreement"])],
        "members": shown["members"],
    })


INT8_HEADING = "### At int8, the precision the energy assumes"


def int8_section(precision_table, cost_table, claim, bits: int = ENERGY_WORD_BITS) -> list[str]:
    """summary.md's lines on the classifiers at int8 (exploratory); empty without int8 scores."""
    if precision_table is None or cost_table is None:
        return []
    metric = claim["metric"]
    return [
        INT8_HEADING,
        "",
        f"**{precision_finding(precision_table, bits)}**",
        "",
        f"Exploratory. The energy prices every layer at {bits}-bit words (energy.precision_bits); the accuracies "
        "above are float32. Every classifier was also quantised to int8 after training (PyTorch's post-training "
        "static quantisation, FX graph mode, x86 backend; calibrated on unlabelled pool faces, so no label beyond N) "
        "and scored on the same test faces; a frozen prefix was quantised once per source network, pretraining "
        "seed and depth and shared by every task's head. The pre-declared test, repeated on the int8 scores (same "
        "pairing, unit and Holm correction; results/analysis/int8_claim.csv):",
        "",
        markdown_table(precision_cells(precision_table)) if len(precision_table) else "(no claim to test)",
        "",
        f"What int8 costs, per scenario and depth, in test {metric.replace('_', ' ')} over every task, "
        "source, N and seed (cost: float32 minus int8, positive where int8 loses; agreement: the share of test "
        "faces on which a classifier's int8 and float32 versions answer alike; every metric: "
        "results/analysis/int8_cost.csv):",
        "",
        markdown_table(cost_cells(cost_table, metric)) if len(cost_table) else "(no int8 scores)",
        "",
    ]


def energy_table(inference: pd.DataFrame) -> pd.DataFrame:
    """No transfer and the CAE at each depth, per accelerator: energy in a readable unit
    (named in its column), latency, and the reductions."""
    shown = inference[inference["scenario"].isin([scenarios.NONE, scenarios.CAE])]
    unit, scale = energy_unit(shown["energy_pj"])
    shown = shown.assign(energy=shown["energy_pj"] / scale, latency_cycles=shown["latency_cycles"].round().astype(int),
                         reduction_vs_none=shown["reduction_vs_none"].map(lambda r: f"{fixed(r, 2)}x"),
                         ceiling_reduction=shown["ceiling_reduction"].map(lambda r: f"{fixed(r, 2)}x"))
    columns = {"hardware": "hardware", "scenario": "scenario", "depth": "depth", "energy": f"energy ({unit})",
               "latency_cycles": "latency (cycles)", "reduction_vs_none": "reduction vs none",
               "ceiling_reduction": "ceiling of layer sharing"}
    return shown[list(columns)].rename(columns=columns)


def baseline_role(name: str) -> str:
    """A baseline in words, with what comparing the CAE with it asks (the scenario table's ``asks``)."""
    entry = scenarios.BY_NAME.get(name)
    return f"{baseline_words(name)} ({entry.asks})" if entry and entry.asks else baseline_words(name)


def family_text(claim_table: pd.DataFrame, claim: dict, k: int) -> str:
    """The pre-declared family and its decision rule in words, with a sentence for each
    baseline of analysis.claim.against that the run lacks (left out of the family)."""
    present = list(dict.fromkeys(claim_table["against"])) if "against" in claim_table and len(claim_table) else []
    missing = [name for name in claim_against(claim) if name not in present]
    alpha, margin = claim["alpha"], 100 * claim_margin(claim)
    roles = [baseline_role(name) for name in present] or ["no baseline the run has"]
    text = (f"Fixed in `analysis.claim` before the run: per task, the CAE's frozen layers up to {claim['depth']} "
            f"against {joined(roles)}, N = {claim['n_train']}, test {claim['metric'].replace('_', ' ')}; "
            f"{number_word(len(claim_table))} paired t-tests, Holm-corrected together at alpha = {alpha}. Each "
            "comparison is decided **better** (gain above 0, Holm p below alpha), **worse** (below 0, likewise), "
            f"**equivalent** (neither, and two one-sided tests put the gain within ±{margin:g} points, the smallest "
            "effect of interest of analysis.claim.margin, Holm-corrected over the same family; uncorrected, that is "
            f"the {100 * (1 - 2 * alpha):g} % interval inside ±{margin:g} points) or **inconclusive**; one that is "
            "neither better nor worse while both arms sit at chance is \"no signal at this N\". The paper's claim "
            f"holds for a task when the CAE is better than no transfer and the {tasks_inference(k)} energy on "
            f"{claim['hardware']} falls at least {claim['energy_reduction_at_least']:.2f}x.")
    for name in missing:
        text += (f" analysis.claim.against also lists {name} ({baseline_words(name)}), but this run has no {name} "
                 "classifiers at the claim's setting, so it is left out of the family.")
    return f"{text} {unit_sentence(claim_table)}".rstrip()


def control_cells(controls: pd.DataFrame) -> pd.DataFrame:
    """Per task and arm: test and out-of-fold balanced accuracy (95 % CI) beside chance."""
    def cell(mean, low, high, above):
        if pd.isna(mean):
            return "n/a"
        shown = percent(mean) if pd.isna(low) else f"{percent(mean)} [{percent(low)}, {percent(high)}]"
        return f"{shown}{'; above chance' if above else ''}"

    return pd.DataFrame({
        "task": controls["task"], "arm": controls["arm"], "chance": controls["chance_level"].map(percent),
        "test balanced accuracy": [cell(*v) for v in zip(controls["test_mean"], controls["test_ci_low"],
                                                          controls["test_ci_high"], controls["test_above_chance"])],
        "out-of-fold balanced accuracy": [cell(*v) for v in zip(controls["folds_mean"], controls["folds_ci_low"],
                                                                 controls["folds_ci_high"], controls["folds_above_chance"])],
    })


SCALING_WORDS = {"layer": "layer", "units": "units", "target_mean": "CAE mean", "target_sd": "CAE SD",
                 "target_dead_units": "CAE dead units", "mean": "random trunk mean", "sd": "random trunk SD",
                 "dead_units": "random trunk dead units", "default_mean": "at default init: mean",
                 "default_sd": "at default init: SD"}


def feature_stat_cells(feature_stats: pd.DataFrame) -> pd.DataFrame:
    """The trunks' feature statistics as the run recorded them, averaged over seeds. The
    random trunk's scaling tables (``random_trunk.SCALING_COLUMNS``: per layer, the CAE's
    output mean and SD and dead units, the random trunk's after scaling and at its default
    init) show per
    layer under SCALING_WORDS; any other table one row per combination of its text columns,
    the mean of each numeric column."""
    if {"layer", "target_mean", "target_sd", "mean", "sd"} <= set(feature_stats):
        kept = [c for c in SCALING_WORDS if c in feature_stats]
        table = feature_stats[kept].groupby("layer", sort=False).mean().reset_index()
        if "units" in table:  # a layer's width, the same for every seed: a count, not a mean
            table["units"] = table["units"].round().astype(int)
        return table.rename(columns=SCALING_WORDS)
    table = feature_stats.drop(columns=[c for c in ("seed", "pretrain_seed") if c in feature_stats])
    keys = [c for c in table if not pd.api.types.is_numeric_dtype(table[c])]
    if not keys:
        return table.mean(numeric_only=True).to_frame().T
    return table.groupby(keys, sort=False).mean(numeric_only=True).reset_index()


def control_section(controls, feature_stats, claim) -> list[str]:
    """summary.md's lines on whether the family's controls are fair ones: does each arm's
    head learn (test and out-of-fold scores beside chance), and the trunks' feature
    statistics where the run recorded them; empty where the family has no baseline but none."""
    if controls is None or controls.empty or set(controls["arm"]) <= {scenarios.CAE, scenarios.NONE}:
        return []
    lines = ["### The controls: does each arm learn?", "",
             f"Descriptive, at N = {claim['n_train']}: each arm's mean test balanced accuracy and its out-of-fold score "
             "at the chosen epoch count (the folds inside the N labels; optimistic, since the count was chosen on "
             "them), with 95 % intervals in the test's unit, beside chance (1/k). A frozen random trunk is a fair "
             "control only where its head learns.", "",
             markdown_table(control_cells(controls)), "", control_finding(controls), ""]
    if feature_stats is not None and len(feature_stats):
        lines += ["The trunks' features on the unlabelled pool faces, per layer, as the run recorded them (means over "
                  "pretraining seeds; the random trunk is scaled to the CAE's output mean and SD of its seed; a dead "
                  "unit outputs zero on every pool face):", "",
                  markdown_table(feature_stat_cells(feature_stats)), ""]
    else:
        lines += ["This run recorded no statistics of the trunks' features.", ""]
    return lines


def write_summary(path, *, claim_table, headline, summary, gains, inference, sources, claim, config_hash,
                  dataset, protocol_text, pretraining_text, endpoint=None, checkpoint_table=None, changes=None,
                  precision_table=None, cost_table=None, controls=None, feature_stats=None):
    """results/summary.md: the answer in one sentence, the paper's claims beside this run,
    the pre-declared test, then the exploratory tables. ``endpoint``: the paper's endpoint
    (``paper_endpoint.endpoint_gains``), None where it was not run; ``checkpoint_table`` and
    ``changes``: ``sensitivity.checkpoint_claim`` and ``checkpoint_changes``;
    ``precision_table`` and ``cost_table``: ``sensitivity.precision_claim`` and ``int8_cost``
    (None: no int8 scores); ``controls``: ``claim.control_levels``, and ``feature_stats``
    the trunks' feature statistics where the run recorded them."""
    k = n_tasks_of(inference)
    capped = pretraining_cap_sentence(sources)
    caveat = dataset_caveat(dataset)
    lines = [
        "# Study summary",
        "",
        f"**{answer_sentence(claim_table, dataset, claim_against(claim))}**",
        "",
        *([caveat, ""] if caveat else []),
        f"Data: {dataset}. Config hash: `{config_hash}`. Fine-tuning: {protocol_text}. "
        f"Pretraining: {pretraining_text}. Metrics are test-set means over seeds; gains are paired by "
        "fine-tuning seed against no transfer, with 95 % t-intervals in the test's unit (below).",
        "",
        *([capped, ""] if capped else []),
        f"## The paper's claims beside this run ({paper.CITATION})",
        "",
        markdown_table(paper_comparison(claim_table, gains, claim, endpoint)) if len(claim_table)
        else "(no cae scenario at the claim's setting)",
        "",
        COMPARISON_NOTE,
        "",
        energy_note(claim_table),
        "",
        "## The pre-declared test",
        "",
        family_text(claim_table, claim, k),
        "",
        markdown_table(verdict_table(claim_table)) if len(claim_table) else "(not run)",
        "",
        *control_section(controls, feature_stats, claim),
        "## Exploratory (uncorrected for multiple comparisons)",
        "",
        "Everything below is exploratory: p-values and intervals are per comparison, not corrected. Where a "
        "setting is chosen (the best other-task CNN per task and N), it is chosen by the mean early-stopping "
        "score (on the members' stop faces), and its test numbers are reported; read its p-value knowing it won "
        "a choice.",
        "",
        *int8_section(precision_table, cost_table, claim, energy_bits(inference)),
        *checkpoint_section(checkpoint_table, changes, claim_table, claim),
        f"### Headline: gains over no transfer and {tasks_inference(k)} energy reduction",
        "",
        "Every column, every accelerator and both metrics: results/analysis/headline.csv.",
        "",
        f"The cnn energy assumes one source network's frozen prefix shared by {every_task(k)}; the source named "
        "here is the one chosen for that task, and chosen sources that differ between tasks would not form one "
        "such deployment.",
        "",
        markdown_table(compact_headline(headline, claim["metric"], claim["hardware"])) if len(headline)
        else "(no transfer scenario in this study)",
        "",
    ]
    bacc = summary[summary["metric"] == "balanced_accuracy"]
    if len(bacc):
        focus = bacc[(bacc["scenario"] == scenarios.NONE) | (bacc["depth"] == claim["depth"])]
        table = focus.pivot_table(index=["task", "n_train"], columns=["scenario", "source"], values="mean")
        table.columns = [f"{s} ({src})" if scenarios.source_is_task(s) else s for s, src in table.columns]
        lines += [f"### Test balanced accuracy: no transfer and depth {claim['depth']}", "", markdown_table(table.reset_index()), ""]
    lines += [f"### Energy of one {tasks_inference(k)} (ZigZag, {energy_bits(inference)}-bit words)", "",
              markdown_table(energy_table(inference), digits=2), ""]
    lines += ["### Source networks", "", *([capped, ""] if capped else []), markdown_table(sources, digits=4), ""]
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines))
