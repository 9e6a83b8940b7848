"""The study's answer for a reader: ``results/summary.md`` (Markdown) and the report's
first page (reStructuredText).

Both open with the paper's claims beside this run's measurements; then the one
pre-declared test (Holm-corrected across tasks); everything after that is exploratory.
What the verdicts say is decided in ``verdicts``; this module lays them out.
"""

import math

import pandas as pd

from . import paper, scenarios
from .tasks import TASKS
from .atomic import atomic_path
from .study_grid import ENERGY_WORD_BITS
from .verdicts import (accuracy_verdicts, answer_sentence, checkpoint_finding, energy_verdict, exploratory_verdict,
                       number_word, precision_finding, pretraining_cap_sentence, tasks_inference, unit_sentence)

METRIC_WORDS = {"accuracy": "accuracy", "balanced_accuracy": "balanced-accuracy"}


def markdown_table(table: pd.DataFrame, digits: int = 3) -> str:
    def cell(value):
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.{digits}f}"
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
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:+.2f}"


def interval(mean, low, high) -> str:
    if math.isnan(mean):
        return "not measured"
    if math.isnan(low):
        return f"{points(mean)} (one seed: no CI)"
    return f"{points(mean)} [{points(low)}, {points(high)}]"


def percent(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{100 * value:.1f} %"


def levels(none, cae, chance, chance_name) -> str:
    """'59.5 % / 55.3 % / 50.0 % (1/2)': the two arms' mean score beside chance."""
    if pd.isna(none) and pd.isna(cae):
        return ""
    return f"{percent(none)} / {percent(cae)} / {percent(chance)} ({chance_name})"


ENDPOINT_NOT_RUN = "the paper's endpoint was not run (analysis.paper_endpoint: false)"
COMPARISON_COLUMNS = ["claim", "paper", "this run (mean, 95 % CI)", "holds?", "none / CAE / chance"]


def paper_comparison(claim_table: pd.DataFrame, gains: pd.DataFrame, claim: dict,
                     endpoint: pd.DataFrame | None = None) -> pd.DataFrame:
    """claim | paper | this run (mean, 95 % CI) | holds? | none / CAE / chance, per task:

    - the paper's accuracy gain beside the accuracy gain measured under the plain objective
      (the paper's likely protocol; ``endpoint``: ``paper_endpoint.endpoint_gains``'
      table), with both arms' accuracy beside the test set's majority-class rate (what
      always answering the commonest class scores); without ``endpoint``, a row that says
      the paper's endpoint was not run;
    - the pre-declared test's gain (the claim's metric, under the study's objective), with
      its verdict and, for balanced accuracy, both arms beside chance (1/k);

    then the inference energy reduction (one image, every task) on the claim's hardware."""
    tested = accuracy_verdicts(claim_table, gains, claim)
    tested = tested[tested["metric"] == claim["metric"]].set_index("task")
    chance = claim_table.set_index("task") if "chance_level" in claim_table else pd.DataFrame()
    measured = endpoint.set_index("task") if endpoint is not None else pd.DataFrame()
    setting = f"CAE {claim['depth']} frozen vs none, N = {claim['n_train']}"
    rows = []
    for task in [t for t in TASKS if t in set(tested.index) | set(measured.index)]:
        quoted = paper.ACCURACY_GAIN_POINTS.get(task)
        endpoint_row = {"claim": f"{task}: accuracy gain under the plain objective (the paper's endpoint), {setting} (points)",
                        "paper": "not reported" if quoted is None else f"{quoted:+.2f}"}
        if task in measured.index:
            row = measured.loc[task]
            endpoint_row.update({
                "this run (mean, 95 % CI)": interval(row["plain_gain"], row["ci_low"], row["ci_high"]),
                "holds?": exploratory_verdict(row["ci_low"], row["ci_high"]),
                "none / CAE / chance": levels(row["none_accuracy"], row["cae_accuracy"], row["majority_accuracy"],
                                              "majority class")})
        else:
            endpoint_row.update({"this run (mean, 95 % CI)": "not run", "holds?": ENDPOINT_NOT_RUN,
                                 "none / CAE / chance": ""})
        rows.append(endpoint_row)
        if task not in tested.index:
            continue
        row = tested.loc[task]
        level = ""
        if claim["metric"] == "balanced_accuracy" and task in chance.index:
            found = chance.loc[task]
            level = levels(found["none_balanced_accuracy"], found["cae_balanced_accuracy"], found["chance_level"],
                           f"1/{round(1 / found['chance_level'])}")
        rows.append({
            "claim": f"{task}: {METRIC_WORDS[claim['metric']]} gain, {setting} (points; the pre-declared test)",
            "paper": "not reported" if claim["metric"] != "accuracy" or quoted is None else f"{quoted:+.2f}",
            "this run (mean, 95 % CI)": interval(row["gain"], row["ci_low"], row["ci_high"]),
            "holds?": row["verdict"], "none / CAE / chance": level,
        })
    if len(claim_table):
        first = claim_table.iloc[0]
        reduction, ceiling = first["energy_reduction"], first["ceiling_reduction"]
        rows.append({
            "claim": f"{tasks_inference(n_tasks_of(claim_table))} energy reduction, CAE {claim['depth']} shared vs none, {claim['hardware']} (ZigZag)",
            "paper": f"{paper.ENERGY_REDUCTION:.2f}x",
            "this run (mean, 95 % CI)": f"{reduction:.2f}x (ceiling of layer sharing: {ceiling:.2f}x)",
            "holds?": energy_verdict(reduction, ceiling), "none / CAE / chance": "",
        })
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


COMPARISON_NOTE = (
    "The paper reports accuracy; its gains stand beside accuracy gains of classifiers trained as it most likely "
    "trained them (unweighted loss, stopping on accuracy), exploratory. The pre-declared test stays on the study's own "
    "objective and metric. Chance is the test set's majority-class rate for accuracy (what always answering the "
    "commonest class scores) and 1/k for the balanced accuracy of k classes; a task whose two arms both hold chance "
    "inside their 95 % intervals at the claim's N gets \"no signal at this N\".")


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
            shown[f"{name} p (uncorrected)"] = f"{row[f'{scenario}_{metric}_p']:.3g}"
            shown[f"{name} energy reduction ({hardware})"] = f"{row.get(f'{scenario}_energy_reduction_{hardware}', float('nan')):.2f}x"
        rows.append(shown)
    return pd.DataFrame(rows)


# the claim test's columns as summary.md heads them (publish reads them back)
VERDICT_COLUMNS = {"task": "task", "n_train": "N", "depth": "CAE depth", "metric": "metric", "gain": "gain (points)",
                   "ci_low": "CI low", "ci_high": "CI high", "p_value": "p", "p_holm": "Holm p",
                   "accuracy_half_holds": "accuracy half", "energy_reduction": "energy reduction",
                   "energy_half_holds": "energy half", "holds": "claim holds", "verdict": "verdict (accuracy half)"}


def verdict_table(claim_table: pd.DataFrame) -> pd.DataFrame:
    """The claim test as summary.md shows it (publish reads it back through VERDICT_COLUMNS)."""
    shown = claim_table.copy()
    for column in ("gain", "ci_low", "ci_high"):
        shown[column] = shown[column].map(points)
    shown["p_value"] = shown["p_value"].map(lambda p: f"{p:.3g}")
    shown["p_holm"] = shown["p_holm"].map(lambda p: f"{p:.3g}")
    shown["energy_reduction"] = shown["energy_reduction"].map(lambda r: f"{r:.2f}x")
    return shown[[c for c in VERDICT_COLUMNS if c in shown]].rename(columns=VERDICT_COLUMNS)


def checkpoint_cells(checkpoint_table: pd.DataFrame, claim_table: pd.DataFrame) -> pd.DataFrame:
    """Per task, the claim's gain (points, 95 % CI) and the test's decision at the epochs the
    protocol chose (the pre-declared test) and at each checkpoint epoch count."""
    def cell(gain, low, high, holds):
        return f"{interval(gain, low, high)}; {'holds' if holds else 'does not hold'}"

    tested = claim_table.set_index("task") if len(claim_table) else pd.DataFrame()
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
    """Per task: the claim's gain (points, 95 % CI) and the test's verdict at float32 and at int8."""
    rows = []
    for task in [t for t in TASKS if t in set(precision_table["task"])]:
        row = {"task": task}
        for found in precision_table[precision_table["task"] == task].itertuples(index=False):
            row[f"{found.precision} gain (points)"] = interval(found.gain, found.ci_low, found.ci_high)
            row[f"{found.precision} verdict"] = f"{found.verdict} (Holm p = {found.p_holm:.3g})"
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
        "int8 cost (points; largest)": [f"{100 * c:+.2f} ({100 * w:+.2f})" for c, w in zip(shown["cost"], shown["largest_cost"])],
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
                         reduction_vs_none=shown["reduction_vs_none"].map(lambda r: f"{r:.2f}x"),
                         ceiling_reduction=shown["ceiling_reduction"].map(lambda r: f"{r:.2f}x"))
    columns = {"hardware": "hardware", "scenario": "scenario", "depth": "depth", "energy": f"energy ({unit})",
               "latency_cycles": "latency (cycles)", "reduction_vs_none": "reduction vs none",
               "ceiling_reduction": "ceiling of layer sharing"}
    return shown[list(columns)].rename(columns=columns)


def write_summary(path, *, claim_table, headline, summary, gains, inference, sources, claim, config_hash,
                  dataset, protocol_text, pretraining_text, endpoint=None, checkpoint_table=None, changes=None,
                  precision_table=None, cost_table=None):
    """results/summary.md: the answer in one sentence, the paper's claims beside this run,
    the pre-declared test, then the exploratory tables. ``endpoint``: the paper's endpoint
    (``paper_endpoint.endpoint_gains``), None where it was not run; ``checkpoint_table`` and
    ``changes``: ``analysis.checkpoint_claim`` and ``checkpoint_changes``;
    ``precision_table`` and ``cost_table``: ``analysis.precision_claim`` and ``int8_cost``
    (None: no int8 scores)."""
    k = n_tasks_of(inference)
    capped = pretraining_cap_sentence(sources)
    lines = [
        "# Study summary",
        "",
        f"**{answer_sentence(claim_table, dataset)}**",
        "",
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
        f"One comparison per task, fixed in `analysis.claim` before the run: the CAE's frozen layers up to "
        f"{claim['depth']} against no transfer, N = {claim['n_train']}, test {claim['metric'].replace('_', ' ')}; paired "
        f"t-tests, Holm-corrected across the tasks at alpha = {claim['alpha']}. The claim holds for a task when the "
        f"gain is positive with a Holm p below alpha and the {tasks_inference(k)} energy on {claim['hardware']} falls "
        f"at least {claim['energy_reduction_at_least']:.2f}x. {unit_sentence(claim_table)}".rstrip(),
        "",
        markdown_table(verdict_table(claim_table)) if len(claim_table) else "(not run)",
        "",
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
        table.columns = [f"{s} ({src})" if scenarios.base_scenario(s) == scenarios.CNN else s for s, src in table.columns]
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
    lines = [
        FRONT_PAGE_TITLE,
        "=" * len(FRONT_PAGE_TITLE),
        "",
        TOP_OF_PAGE_STYLE,
        "",
        ".. class:: verdict",
        "",
        f"**{answer_sentence(claim_table, dataset)}**",
        "",
        f"The pre-declared claim: CAE layers up to {claim['depth']}, frozen and shared, against no transfer at N = "
        f"{claim['n_train']}; {claim['metric'].replace('_', ' ')}, paired t-tests Holm-corrected across tasks at "
        f"alpha = {claim['alpha']}; energy on {claim['hardware']} at least {claim['energy_reduction_at_least']:.2f}x lower. "
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
