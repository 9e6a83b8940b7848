"""The pages lay the verdicts out: the paper's numbers beside this run's, one row per
task and metric of the claim's setting, then the energy, and the answer on the front page."""

import pandas as pd

from test_verdicts import CLAIM, hand_claim_table, hand_gains
from workflow_scripts.summary_pages import paper_comparison, write_front_page


def claim_table():
    return hand_claim_table({"gender": True, "smile": False}).assign(
        hardware="hw", energy_reduction=3.5, ceiling_reduction=3.98, ceiling_layers="conv1+conv2+fc1+fc2", n_tasks=4)


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
    assert energy["claim"].startswith("four-task inference energy reduction") and energy["paper"] == "6.58x"
    assert energy["holds?"] == "no, and cannot: sharing layers gives at most 3.98x here"


def test_the_front_page_opens_with_the_answer(tmp_path):
    path = tmp_path / "front.rst"
    write_front_page(path, claim_table=claim_table(), gains=hand_gains(), claim=CLAIM, config_hash="abc",
                     dataset="synthetic", protocol_text="p", pretraining_text="q")
    text = path.read_text()
    assert "**The pre-declared claim holds for gender, not for smile.**" in text
    assert "Data: synthetic. Config hash: ``abc``." in text and "conv1+conv2+fc1+fc2" in text
    empty = tmp_path / "empty.rst"
    write_front_page(empty, claim_table=pd.DataFrame(), gains=hand_gains().iloc[:0], claim=CLAIM, config_hash="abc",
                     dataset="synthetic", protocol_text="p", pretraining_text="q")
    assert "not tested" in empty.read_text()
