"""The study's answer for a reader: ``results/summary.md`` (Markdown) and the report's
first page (reStructuredText).

Both open with the paper's claims beside this run's measurements; then the pre-declared
family (the CAE against each baseline, per task, Holm-corrected together); everything
after that is exploratory. What the verdicts say is decided in ``verdicts``; this module
lays them out. No number is shown as "-0.00": a value that rounds to zero loses its sign.
"""

import math

import pandas as pd

from workflow_scripts.atomic import atomic_path
from workflow_scripts.report.claim import claim_against, claim_margin, paper_rows
from workflow_scripts.report.verdicts import (accuracy_verdicts, answer_sentence, baseline_words, checkpoint_finding,
                                              control_finding, dataset_caveat, energy_verdict, exploratory_verdict,
                                              holm_words, joined, number_word, precision_finding,
                                              pretraining_cap_sentence, tasks_inference, tested_verdict, unit_sentence)
from workflow_scripts.study import paper, scenarios
from workflow_scripts.study.grid import ENERGY_WORD_BITS

METRIC_WORDS = {"accuracy": "accuracy", "balanced_accuracy": "balanced-accuracy"}


def fixed(value: float, digits: int, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals (and a sign where ``sign``), never a negative zero:
    what rounds to zero reads 0.00, without sign."""
    text = f"{value:{'+' if sign else ''}.{digits}f}"
    return text.lstrip("+-") if float(text) == 0 else text


def markdown_table(table: pd.DataFrame, digits: int = 3) -> str:
    def cell(value):
        if isinstance(value, float):
            return "" if math.isnan(value) else fixed(value, digits)
        return str(value)

    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def rst_table(table: pd.DataFrame) -> str:
    """A reStructuredText list-table of string cells (for the report's first page)."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [list(table.columns), *table.astype(str).values.tolist()]:
        lines.append("   * - " + str(row[0]))
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines)


def energy_unit(values_pj) -> tuple[str, float]:
    """A readable unit for energies given in pJ: (name, pJ per unit), chosen so the
    largest value reads between 1 and 1000."""
    largest = max((abs(float(v)) for v in values_pj if not pd.isna(v)), default=0.0)
    for name, scale in (("J", 1e12), ("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3)):
        if largest >= scale:
            return name, scale
    return "pJ", 1.0


def n_tasks_of(table: pd.DataFrame) -> int:
    """The number of tasks one inference answers (the energy tables' n_tasks column)."""
    return int(table["n_tasks"].iloc[0]) if "n_tasks" in table and len(table) else 0


def every_task(count: int) -> str:
    """'the one task', 'both tasks', 'all four tasks'."""
    return "the one task" if count == 1 else "both tasks" if count == 2 else f"all {number_word(count)} tasks"


def points(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else fixed(100 * value, 2, sign=True)


def p_text(value) -> str:
    """An uncorrected p-value, or 'n/a' where there is none (one seed, no spread)."""
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.3g}"


def interval(mean, low, high) -> str:
    if math.isnan(mean):
        return "not measured"
    if math.isnan(low):
        return f"{points(mean)} (one seed: no CI)"
    return f"{points(mean)} [{points(low)}, {points(high)}]"


def percent(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{fixed(100 * value, 1)} %"


def levels(none, cae, chance, chance_name) -> str:
    """'59.5 % / 55.3 % / 50.0 % (1/2)': the two arms' mean score beside chance."""
    if pd.isna(none) and pd.isna(cae):
        return ""
    return f"{percent(none)} / {percent(cae)} / {percent(chance)} ({chance_name})"


ENDPOINT_NOT_RUN = "the paper's endpoint was not run (analysis.paper_endpoint: false)"
LEVELS = "baseline / CAE / chance"
COMPARISON_COLUMNS = ["claim", "paper", "this run (mean, 95 % CI)", "holds?", LEVELS]


def paper_comparison(claim_table: pd.DataFrame, gains: pd.DataFrame, claim: dict,
                     endpoint: pd.DataFrame | None = None) -> pd.DataFrame:
    """claim | paper | this run (mean, 95 % CI) | holds? | baseline / CAE / chance, per task:

    - the paper's accuracy gain beside the accuracy gain measured under the plain objective
      (the paper's likely protocol; ``endpoint``: ``paper_endpoint.endpoint_gains``'
      table), with both arms' accuracy beside the test set's majority-class rate (what
      always answering the commonest class scores); without ``endpoint``, a row that says
      the paper's endpoint was not run;
    - the pre-declared family's gains (the claim's metric, under the study's objective)
      against no transfer and every other baseline the run has, each with its verdict and,
      for balanced accuracy, both arms beside chance (1/k);

    then the inference energy reduction (one image, every task) on the claim's hardware."""
    tested = accuracy_verdicts(claim_table, gains, claim)
    tested = tested[tested["metric"] == claim["metric"]].set_index("task")
    others = claim_table[claim_table["against"] != scenarios.NONE] if "against" in claim_table else claim_table.iloc[:0]
    chance = paper_rows(claim_table).set_index("task") if "chance_level" in claim_table else pd.DataFrame()
    measured = endpoint.set_index("task") if endpoint is not None else pd.DataFrame()
    setting = f"CAE {claim['depth']} frozen vs none, N = {claim['n_train']}"
    rows = []
    for task in [t for t in claim["classes"] if t in set(tested.index) | set(measured.index)]:
        quoted = paper.ACCURACY_GAIN_POINTS.get(task)
        endpoint_row = {"claim": f"{task}: accuracy gain under the plain objective (the paper's endpoint), {setting} (points)",
                        "paper": "not reported" if quoted is None else f"{quoted:+.2f}"}
        if task in measured.index:
            row = measured.loc[task]
            endpoint_row.update({
                "this run (mean, 95 % CI)": interval(row["plain_gain"], row["ci_low"], row["ci_high"]),
                "holds?": exploratory_verdict(row["ci_low"], row["ci_high"]),
                LEVELS: levels(row["none_accuracy"], row["cae_accuracy"], row["majority_accuracy"], "majority class")})
        else:
            endpoint_row.update({"this run (mean, 95 % CI)": "not run", "holds?": ENDPOINT_NOT_RUN, LEVELS: ""})
        rows.append(endpoint_row)
        if task not in tested.index:
            continue
        row = tested.loc[task]
        level = ""
        if claim["metric"] == "balanced_accuracy" and task in chance.index:
            level = chance_cell(chance.loc[task])
        rows.append({
            "claim": f"{task}: {METRIC_WORDS[claim['metric']]} gain, {setting} (points; the pre-declared test)",
            "paper": "not reported" if claim["metric"] != "accuracy" or quoted is None else f"{quoted:+.2f}",
            "this run (mean, 95 % CI)": interval(row["gain"], row["ci_low"], row["ci_high"]),
            "holds?": row["verdict"], LEVELS: level,
        })
        for found in others[others["task"] == task].to_dict("records"):
            rows.append({
                "claim": f"{task}: {METRIC_WORDS[claim['metric']]} gain, CAE {claim['depth']} frozen vs "
                         f"{baseline_words(found['against'])} ({found['against']}), N = {claim['n_train']} "
                         "(points; the pre-declared family: is the gain the CAE's learning?)",
                "paper": "not reported", "this run (mean, 95 % CI)": interval(found["gain"], found["ci_low"], found["ci_high"]),
                "holds?": tested_verdict(found["verdict"], found["p_holm"], found.get("n_units")),
                LEVELS: chance_cell(found) if claim["metric"] == "balanced_accuracy" else ""})
    if len(claim_table):
        first = claim_table.iloc[0]
        reduction, ceiling = first["energy_reduction"], first["ceiling_reduction"]
        rows.append({
            "claim": f"{tasks_inference(n_tasks_of(claim_table))} energy reduction, CAE {claim['depth']} shared vs none, {claim['hardware']} (ZigZag)",
            "paper": f"{paper.ENERGY_REDUCTION:.2f}x",
            "this run (mean, 95 % CI)": f"{reduction:.2f}x (ceiling of layer sharing: {ceiling:.2f}x)",
            "holds?": energy_verdict(reduction, ceiling), LEVELS: "",
        })
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def chance_cell(found) -> str:
    """A claim row's baseline and CAE balanced accuracy beside chance (1/k)."""
    return levels(found["baseline_balanced_accuracy"], found["cae_balanced_accuracy"], found["chance_level"],
                  f"1/{round(1 / found['chance_level'])}")


COMPARISON_NOTE = (
    "The paper reports accuracy; its gains stand beside accuracy gains of classifiers trained as it most likely "
    "trained them (unweighted loss, stopping on accuracy), exploratory. The pre-declared test stays on the study's own "
    "objective and metric. Chance is the test set's majority-class rate for accuracy (what always answering the "
    "commonest class scores) and 1/k for the balanced accuracy of k classes; a comparison that is neither better nor "
    "worse and whose two arms both hold chance inside their 95 % intervals at the claim's N gets \"no signal at this "
    "N\". The baseline is no transfer, or the frozen random trunk where the row names it.")


def equal_networks(k: int) -> str:
    return "one network" if k == 1 else f"{number_word(k)} equal networks"


def energy_note(claim_table: pd.DataFrame) -> str:
    """What the measured reduction can and cannot be, in words, and the conditions under
    which its ceiling holds."""
    if claim_table.empty:
        return ""
    first = claim_table.iloc[0]
    ceiling, hardware, k = first["ceiling_reduction"], first["hardware"], n_tasks_of(claim_table)
    if k == 1:
        text = (f"Energy: a study of one task has one classifier and nothing to share, so the one-task inference "
                f"energy on {hardware} falls {ceiling:.2f}x at most, whatever is transferred.")
    else:
        times = "twice" if k == 2 else f"{number_word(k)} times"
        text = (f"Energy: {number_word(k)} task classifiers that share frozen layers run the shared part once instead "
                f"of {times}; even sharing everything but the output layers ({first['ceiling_layers']}) cuts the "
                f"{tasks_inference(k)} energy on {hardware} by at most {ceiling:.2f}x, and no sharing among "
                f"{number_word(k)} equal networks reaches {k}x.")
    text += (f" The ceiling holds under this accounting: {equal_networks(k)}, one image at a time, each layer's cost "
             "additive (ZigZag's per-layer energies summed).")
    if paper.ENERGY_REDUCTION > ceiling:
        text += (f" The paper's {paper.ENERGY_REDUCTION:.2f}x (four tasks) lies above that ceiling, so layer sharing "
                 "alone cannot reach it under this accounting; accounting that could explain it includes a larger "
                 "no-transfer baseline network than the transfer classifiers, reloading each task's weights from DRAM "
                 "per image, or counting only the shared layers' energy.")
    return text


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


BASELINE_ROLES = {scenarios.NONE: "no transfer (the paper's claim)",
                  "random": "a frozen random trunk (the same layers randomly initialised and frozen: is the gain the "
                            "CAE's learning, or freezing alone?)"}


def family_text(claim_table: pd.DataFrame, claim: dict, k: int) -> str:
    """The pre-declared family and its decision rule in words, with a sentence for each
    baseline of analysis.claim.against that the run lacks (left out of the family)."""
    present = list(dict.fromkeys(claim_table["against"])) if "against" in claim_table and len(claim_table) else []
    missing = [name for name in claim_against(claim) if name not in present]
    alpha, margin = claim["alpha"], 100 * claim_margin(claim)
    roles = [BASELINE_ROLES.get(name, name) for name in present] or ["no baseline the run has"]
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


SCALING_WORDS = {"layer": "layer", "target_mean": "CAE mean", "target_sd": "CAE SD", "mean": "random trunk mean",
                 "sd": "random trunk SD", "default_mean": "at default init: mean", "default_sd": "at default init: SD"}


def feature_stat_cells(feature_stats: pd.DataFrame) -> pd.DataFrame:
    """The trunks' feature statistics as the run recorded them, averaged over seeds. The
    random trunk's scaling tables (``random_trunk.SCALING_COLUMNS``: per layer, the CAE's
    output mean and SD, the random trunk's after scaling and at its default init) show per
    layer under SCALING_WORDS; any other table one row per combination of its text columns,
    the mean of each numeric column."""
    if {"layer", "target_mean", "target_sd", "mean", "sd"} <= set(feature_stats):
        kept = [c for c in SCALING_WORDS if c in feature_stats]
        return feature_stats[kept].groupby("layer", sort=False).mean().reset_index().rename(columns=SCALING_WORDS)
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
                  "pretraining seeds; the random trunk is scaled to the CAE's output mean and SD of its seed):", "",
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
    ``changes``: ``analysis.checkpoint_claim`` and ``checkpoint_changes``;
    ``precision_table`` and ``cost_table``: ``analysis.precision_claim`` and ``int8_cost``
    (None: no int8 scores); ``controls``: ``analysis.control_levels``, and ``feature_stats``
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


# Snakemake's report shows this page in a box that centres its content (Tailwind's
# items-center justify-center in an h-screen flex box): a page taller or wider than the
# window then starts above and left of its edges, where no scrolling reaches. The page
# brings its own rules: start at the top left, let the rule graph wrap below the text, and
# on a phone put the page before the menu rather than beside it.
TOP_OF_PAGE_STYLE = """\
.. raw:: html

   <style>
   div.h-screen.items-center.justify-center { align-items: flex-start; justify-content: flex-start; }
   div.grow.flex.gap-3.p-3.items-start { flex-wrap: wrap; min-width: 0; }
   div.grow.flex.gap-3.p-3.items-start > div { min-width: 0; max-width: 100%; }
   div.document table.docutils { display: block; max-width: 100%; overflow-x: auto; }
   div.document table.docutils :is(td, th) { min-width: 8em; }
   @media (max-width: 640px) {
     div.flex.flex-row.w-screen.h-screen { flex-direction: column-reverse; justify-content: flex-end; width: 100%; height: auto; }
     div.flex.flex-row.w-screen.h-screen > nav { width: 100%; height: auto; }
   }
   </style>"""

FRONT_PAGE_TITLE = "The CAE transfer-learning study: its answer"


def write_front_page(path, *, claim_table, gains, claim, config_hash, dataset, protocol_text, pretraining_text,
                     endpoint=None, sources=None):
    """The report's first page (reStructuredText): the title, the one-sentence answer
    (class ``verdict``), then the paper's claims beside this run and how to read the rest."""
    comparison = paper_comparison(claim_table, gains, claim, endpoint)
    capped = pretraining_cap_sentence(sources) if sources is not None else ""
    caveat = dataset_caveat(dataset)
    lines = [
        FRONT_PAGE_TITLE,
        "=" * len(FRONT_PAGE_TITLE),
        "",
        TOP_OF_PAGE_STYLE,
        "",
        ".. class:: verdict",
        "",
        f"**{answer_sentence(claim_table, dataset, claim_against(claim))}**",
        "",
        *([caveat, ""] if caveat else []),
        f"The pre-declared claim: CAE layers up to {claim['depth']}, frozen and shared, against no transfer at N = "
        f"{claim['n_train']}; {claim['metric'].replace('_', ' ')}, paired t-tests Holm-corrected over tasks and "
        f"baselines ({joined(claim_against(claim))}, those the run has) at alpha = {claim['alpha']}, each comparison "
        f"decided better, equivalent (within ±{100 * claim_margin(claim):g} points), worse or inconclusive; energy on "
        f"{claim['hardware']} at least {claim['energy_reduction_at_least']:.2f}x lower. "
        f"{unit_sentence(claim_table)}".rstrip(),
        "",
        f"Data: {dataset}. Config hash: ``{config_hash}``. Fine-tuning: {protocol_text}. "
        f"Pretraining: {pretraining_text}.",
        "",
        *([capped, ""] if capped else []),
        f"The paper's claims ({paper.CITATION}) beside this run:",
        "",
        rst_table(comparison) if len(comparison) else "(no cae scenario at the claim's setting)",
        "",
        COMPARISON_NOTE,
        "",
        energy_note(claim_table),
        "",
        "How to read this report: **Analysis** holds the pre-declared test (claim.csv), the exploratory gains "
        "and headline tables and summary.md; **Figures** the pre-declared comparison against labelled samples, the "
        "accuracy against labels (settings chosen by early-stopping score), the gain heatmaps (exploratory), the "
        "energy by memory level and the accuracy-energy trade-off (descriptive, every setting); **Accuracy** every "
        "classifier's test and early-stopping scores; **Energy** ZigZag's per-layer costs summed per scenario; "
        "**Pretraining** and **Data** what the study was built on. Every caption names the config it came from.",
        "",
    ]
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines))
