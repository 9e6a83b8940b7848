"""The study's answer for a reader: ``results/summary.md`` (Markdown) and the report's
first page (reStructuredText).

Both open with the paper's claims beside this run's measurements; then the one
pre-declared test (Holm-corrected across tasks); everything after that is exploratory.
What the verdicts say is decided in ``verdicts``; this module lays them out.
"""

import math

import pandas as pd

from . import paper, scenarios
from .atomic import atomic_path
from .verdicts import accuracy_verdicts, claim_answer, energy_verdict

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


def points(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:+.2f}"


def interval(mean, low, high) -> str:
    if math.isnan(mean):
        return "not measured"
    if math.isnan(low):
        return f"{points(mean)} (one seed: no CI)"
    return f"{points(mean)} [{points(low)}, {points(high)}]"


def paper_comparison(claim_table: pd.DataFrame, gains: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """claim | paper | this run (mean, 95 % CI) | holds? — per task the accuracy and the
    balanced-accuracy gain of the CAE at the claim's depth and N (points), then the
    four-task inference energy reduction on the claim's hardware."""
    rows = []
    for row in accuracy_verdicts(claim_table, gains, claim).itertuples(index=False):
        quoted = paper.ACCURACY_GAIN_POINTS.get(row.task) if row.metric == "accuracy" else None
        rows.append({
            "claim": f"{row.task}: {METRIC_WORDS[row.metric]} gain, CAE {claim['depth']} frozen vs none, N = {claim['n_train']} (points)",
            "paper": "not reported" if quoted is None else f"{quoted:+.2f}",
            "this run (mean, 95 % CI)": interval(row.gain, row.ci_low, row.ci_high),
            "holds?": row.verdict,
        })
    if len(claim_table):
        first = claim_table.iloc[0]
        reduction, ceiling = first["energy_reduction"], first["ceiling_reduction"]
        rows.append({
            "claim": f"four-task inference energy reduction, CAE {claim['depth']} shared vs none, {claim['hardware']} (ZigZag)",
            "paper": f"{paper.ENERGY_REDUCTION:.2f}x",
            "this run (mean, 95 % CI)": f"{reduction:.2f}x (ceiling of layer sharing: {ceiling:.2f}x)",
            "holds?": energy_verdict(reduction, ceiling),
        })
    return pd.DataFrame(rows, columns=["claim", "paper", "this run (mean, 95 % CI)", "holds?"])


def energy_note(claim_table: pd.DataFrame) -> str:
    """What the measured reduction can and cannot be, in words."""
    if claim_table.empty:
        return ""
    first = claim_table.iloc[0]
    ceiling, hardware, k = first["ceiling_reduction"], first["hardware"], int(first["n_tasks"])
    text = (f"Energy: {k} task classifiers that share frozen layers run the shared part once instead of {k} "
            f"times; even sharing everything but the output layers ({first['ceiling_layers']}) cuts the "
            f"{k}-task inference energy on {hardware} by at most {ceiling:.2f}x, and no sharing among {k} "
            f"equal networks reaches {k}x.")
    if paper.ENERGY_REDUCTION > ceiling:
        text += (f" The paper's {paper.ENERGY_REDUCTION:.2f}x lies above that ceiling, so it cannot come from layer "
                 "sharing alone; accounting that could explain it includes a larger no-transfer baseline network "
                 "than the transfer classifiers, reloading each task's weights from DRAM per image, or counting "
                 "only the shared layers' energy.")
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


def verdict_table(claim_table: pd.DataFrame) -> pd.DataFrame:
    shown = claim_table.copy()
    for column in ("gain", "ci_low", "ci_high"):
        shown[column] = shown[column].map(points)
    shown["p_value"] = shown["p_value"].map(lambda p: f"{p:.3g}")
    shown["p_holm"] = shown["p_holm"].map(lambda p: f"{p:.3g}")
    shown["energy_reduction"] = shown["energy_reduction"].map(lambda r: f"{r:.2f}x")
    columns = {"task": "task", "n_train": "N", "depth": "CAE depth", "metric": "metric", "gain": "gain (points)",
               "ci_low": "CI low", "ci_high": "CI high", "p_value": "p", "p_holm": "Holm p",
               "accuracy_half_holds": "accuracy half", "energy_reduction": "energy reduction",
               "energy_half_holds": "energy half", "holds": "claim holds"}
    return shown[list(columns)].rename(columns=columns)


def write_summary(path, *, claim_table, headline, summary, gains, inference, sources, claim, config_hash,
                  dataset, protocol_text, pretraining_text):
    lines = [
        "# Study summary",
        "",
        f"Data: {dataset}. Config hash: `{config_hash}`. Fine-tuning: {protocol_text}. "
        f"Pretraining: {pretraining_text}. Metrics are test-set means over seeds; gains are paired by "
        "seed against no transfer, with 95 % t-intervals.",
        "",
        f"## The paper's claims beside this run ({paper.CITATION})",
        "",
        markdown_table(paper_comparison(claim_table, gains, claim)) if len(claim_table) else "(no cae scenario at the claim's setting)",
        "",
        energy_note(claim_table),
        "",
        "## The pre-declared test",
        "",
        f"One comparison per task, fixed in `analysis.claim` before the run: the CAE's frozen layers up to "
        f"{claim['depth']} against no transfer, N = {claim['n_train']}, test {claim['metric'].replace('_', ' ')}; paired "
        f"t-tests, Holm-corrected across the tasks at alpha = {claim['alpha']}. The claim holds for a task when the "
        f"gain is positive with a Holm p below alpha and the four-task energy on {claim['hardware']} falls at least "
        f"{claim['energy_reduction_at_least']:.2f}x.",
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
        "### Headline: gains over no transfer and four-task inference energy reduction",
        "",
        "Every column, every accelerator and both metrics: results/analysis/headline.csv.",
        "",
        "The cnn energy assumes one source network's frozen prefix shared by all four tasks; the source named "
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
    energy = inference[["hardware", "scenario", "depth", "energy_pj", "latency_cycles", "reduction_vs_none", "ceiling_reduction"]]
    energy = energy[energy["scenario"].isin([scenarios.NONE, scenarios.CAE])]
    lines += ["### Energy of one four-task inference (ZigZag)", "", markdown_table(energy, digits=2), ""]
    lines += ["### Source networks", "", markdown_table(sources, digits=4), ""]
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines))


def write_front_page(path, *, claim_table, gains, claim, config_hash, dataset, protocol_text, pretraining_text):
    """The report's first page (reStructuredText): the answer, then how to read the rest."""
    comparison = paper_comparison(claim_table, gains, claim)
    answer = claim_answer(claim_table)
    lines = [
        "The CAE transfer-learning study: its answer",
        "============================================",
        "",
        f"Data: {dataset}. Config hash: ``{config_hash}``. Fine-tuning: {protocol_text}. "
        f"Pretraining: {pretraining_text}.",
        "",
        f"**{answer}** (CAE layers up to {claim['depth']}, frozen and shared, against no transfer at N = "
        f"{claim['n_train']}; {claim['metric'].replace('_', ' ')}, paired t-tests Holm-corrected across tasks at "
        f"alpha = {claim['alpha']}; energy on {claim['hardware']} at least {claim['energy_reduction_at_least']:.2f}x lower.)",
        "",
        f"The paper's claims ({paper.CITATION}) beside this run:",
        "",
        rst_table(comparison) if len(comparison) else "(no cae scenario at the claim's setting)",
        "",
        energy_note(claim_table),
        "",
        "How to read this report: **Analysis** holds the pre-declared test (claim.csv), the exploratory gains "
        "and headline tables and summary.md; **Figures** the accuracy against labels (settings chosen by "
        "early-stopping score), the gain heatmaps (exploratory), the energy by memory level and the accuracy-energy "
        "trade-off (descriptive, every setting); **Accuracy** every classifier's test and early-stopping scores; "
        "**Energy** ZigZag's per-layer costs summed per scenario; **Pretraining** and **Data** what the study "
        "was built on. Every caption names the config it came from.",
        "",
    ]
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines))
