"""The pages lay the verdicts out: the paper's numbers beside this run's, one row per
task and metric of the claim's setting, then the energy, and the answer on the front page."""

import pandas as pd
import pytest

from test_verdicts import CLAIM, hand_claim_table, hand_gains
from workflow_scripts.publish import published_answer
from workflow_scripts.summary_pages import (energy_note, energy_unit, paper_comparison, write_front_page,
                                            write_summary)
from workflow_scripts.verdicts import answer_sentence

TASKS = ["gender", "smile", "glasses", "pose"]


def claim_table(holds=None):
    holds = holds or {"gender": True, "smile": False}
    return hand_claim_table(holds).assign(
        hardware="hw", energy_reduction=3.5, ceiling_reduction=3.98, ceiling_layers="conv1+conv2+fc1+fc2",
        gain=0.02, ci_low=-0.01, ci_high=0.05, p_value=0.1)


def hand_inference(n_tasks, none_pj=107742818.0):
    return pd.DataFrame([
        {"hardware": hw, "scenario": scenario, "source": scenario, "depth": depth, "energy_pj": none_pj / reduction,
         "latency_cycles": 1000, "reduction_vs_none": reduction, "ceiling_reduction": 3.98, "n_tasks": n_tasks}
        for hw in ("hw", "tpu") for scenario, depth, reduction in (("none", "none", 1.0), ("cae", "conv2+fc1", 3.5))])


def summary_text(tmp_path, holds, inference):
    path = tmp_path / "summary.md"
    write_summary(path, claim_table=claim_table(holds), headline=pd.DataFrame(),
                  summary=pd.DataFrame(columns=["metric", "scenario", "depth", "task", "n_train", "source", "mean"]),
                  gains=hand_gains(), inference=inference, sources=pd.DataFrame({"network": ["cae"]}), claim=CLAIM,
                  config_hash="abc", dataset="mtfl", protocol_text="p", pretraining_text="q")
    return path.read_text()


def test_paper_comparison_puts_the_papers_numbers_beside_the_verdicts():
    table = paper_comparison(claim_table(), hand_gains(), CLAIM)
    rows = dict(zip(table["claim"], zip(table["paper"], table["this run (mean, 95 % CI)"], table["holds?"])))
    smile = "smile: accuracy gain, CAE conv2+fc1 frozen vs none, N = 50 (points)"
    assert rows[smile] == ("+1.88", "-3.00 [-5.00, -1.00]", "exploratory: 95 % CI below 0")
    gender = "gender: balanced-accuracy gain, CAE conv2+fc1 frozen vs none, N = 50 (points)"
    assert rows[gender] == ("not reported", "+5.00 [+2.00, +8.00]", "yes (Holm p = 0.01)")
    assert rows["pose: balanced-accuracy gain, CAE conv2+fc1 frozen vs none, N = 50 (points)"][1:] == \
        ("+1.00 (one seed: no CI)", "exploratory: no CI")
    energy = table.iloc[-1]
    assert energy["claim"].startswith("two-task inference energy reduction") and energy["paper"] == "6.58x"
    assert energy["holds?"] == "no, and cannot: sharing layers gives at most 3.98x here"


def test_the_front_page_opens_with_the_answer(tmp_path):
    path = tmp_path / "front.rst"
    write_front_page(path, claim_table=claim_table(), gains=hand_gains(), claim=CLAIM, config_hash="abc",
                     dataset="synthetic", protocol_text="p", pretraining_text="q")
    text = path.read_text()
    title, rule, blank = text.splitlines()[:3]
    assert title == "The CAE transfer-learning study: its answer" and rule == "=" * len(title)
    # the verdict is the first paragraph of text after the title (the page's style block comes between)
    first_paragraph = text.split(".. class:: verdict\n\n", 1)[1].split("\n\n", 1)[0]
    assert first_paragraph == f"**{answer_sentence(claim_table(), 'synthetic')}**"
    assert first_paragraph.startswith("**On synthetic faces at N = 50 the claim holds for gender, not for smile: ")
    assert "Data: synthetic. Config hash: ``abc``." in text and "conv1+conv2+fc1+fc2" in text
    empty = tmp_path / "empty.rst"
    write_front_page(empty, claim_table=pd.DataFrame(), gains=hand_gains().iloc[:0], claim=CLAIM, config_hash="abc",
                     dataset="synthetic", protocol_text="p", pretraining_text="q")
    assert "not tested" in empty.read_text()


def test_the_before_run_page_brings_the_same_top_of_page_style():
    from conftest import ROOT
    from workflow_scripts.summary_pages import TOP_OF_PAGE_STYLE

    assert TOP_OF_PAGE_STYLE in (ROOT / "workflow_scripts" / "captions" / "front_page_before_run.rst").read_text()


@pytest.mark.parametrize("holds", [{"smile": False}, {"gender": True, "smile": False},
                                   dict.fromkeys(TASKS, False)])
def test_summary_opens_with_the_answer_then_the_table(tmp_path, holds):
    text = summary_text(tmp_path, holds, hand_inference(len(holds)))
    body = text.split("\n\n")
    assert body[0] == "# Study summary"
    assert body[1] == f"**{answer_sentence(claim_table(holds), 'mtfl')}**"
    assert body[2].startswith("Data: mtfl.") and body[3].startswith("## The paper's claims beside this run")
    assert body[4].startswith("| claim | paper |")
    # what publish derives for the README from the summary's claim table is the same sentence
    assert published_answer(text) == answer_sentence(claim_table(holds), "mtfl")


def test_energies_read_in_a_readable_unit(tmp_path):
    text = summary_text(tmp_path, {"gender": True, "smile": False}, hand_inference(2))
    assert "107742818" not in text and "energy (µJ)" in text and "| 107.74 |" in text and "| 30.78 |" in text
    assert energy_unit([107742818.0, 3e7]) == ("µJ", 1e6)
    assert energy_unit([2.5e9]) == ("mJ", 1e9) and energy_unit([5e4]) == ("nJ", 1e3) and energy_unit([12.0]) == ("pJ", 1)


@pytest.mark.parametrize("n_tasks, words", [
    (1, ["one task", "one-task inference", "nothing to share"]),
    (2, ["two task classifiers", "instead of twice", "two-task inference", "both tasks", "two equal networks reaches 2x"]),
    (4, ["four task classifiers", "instead of four times", "four-task inference", "all four tasks",
         "four equal networks reaches 4x"]),
])
def test_text_from_the_config_reads_right_for_any_number_of_tasks(tmp_path, n_tasks, words):
    holds = dict.fromkeys(TASKS[:n_tasks], False)
    text = summary_text(tmp_path, holds, hand_inference(n_tasks))
    for phrase in words:
        assert phrase in text, phrase
    wrong = [f"{n_tasks} task", f"{n_tasks} times", f"{n_tasks}-task", f"among {n_tasks} "]
    if n_tasks != 4:
        wrong.append("four-task inference")
    for phrase in wrong:
        assert phrase not in text, phrase
    assert energy_note(claim_table(holds)) in text
