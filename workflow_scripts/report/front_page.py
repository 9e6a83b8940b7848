"""The report's first page (reStructuredText): the title, the one-sentence answer, the
pre-declared claim in words, the paper's claims beside this run, and how to read the rest."""

from workflow_scripts.atomic import atomic_path
from workflow_scripts.report.claim import claim_against, claim_margin
from workflow_scripts.report.comparison import COMPARISON_NOTE, energy_note, paper_comparison
from workflow_scripts.report.formatting import rst_table
from workflow_scripts.report.page_style import TOP_OF_PAGE_STYLE
from workflow_scripts.report.verdicts import (answer_sentence, dataset_caveat, joined, pretraining_cap_sentence,
                                              unit_sentence)
from workflow_scripts.study import paper

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
