"""The pages lay the verdicts out: the paper's numbers beside this run's, one row per
task and metric of the claim's setting, then the energy, and the answer on the front page."""

import pandas as pd
import pytest

from test_verdicts import CLAIM, hand_claim_table, hand_gains
from workflow_scripts.report.comparison import energy_note, paper_comparison
from workflow_scripts.report.formatting import energy_unit, markdown_table
from workflow_scripts.report.front_page import write_front_page
from workflow_scripts.report.summary_page import write_summary
from workflow_scripts.report.publish import published_answer
from workflow_scripts.report.verdicts import unit_sentence
from workflow_scripts.report.verdicts import answer_sentence

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


def summary_text(tmp_path, holds, inference, table=None, **extra):
    path = tmp_path / "summary.md"
    extra.setdefault("sources", pd.DataFrame({"network": ["cae"]}))
    write_summary(path, claim_table=claim_table(holds) if table is None else table, headline=pd.DataFrame(),
                  summary=pd.DataFrame(columns=["metric", "scenario", "depth", "task", "n_train", "source", "mean"]),
                  gains=hand_gains(), inference=inference, claim=CLAIM,
                  config_hash="abc", dataset="mtfl", protocol_text="p", pretraining_text="q", **extra)
    return path.read_text()


def endpoint_gains_table():
    """paper_endpoint.endpoint_gains' table (accuracy scale) for gender and smile."""
    return pd.DataFrame({
        "task": ["gender", "smile"], "paper_gain": [0.0198, 0.0188], "plain_gain": [-0.01, 0.03],
        "ci_low": [-0.025, 0.01], "ci_high": [0.005, 0.05], "n": [10, 10], "none_accuracy": [0.61, 0.55],
        "cae_accuracy": [0.60, 0.58], "majority_accuracy": [0.612, 0.52]})


def chance_claim_table():
    """claim_table() with the claim test's chance columns: gender above chance, smile at it."""
    return claim_table().assign(
        verdict=["better", "no signal at this N"], chance_level=0.5, baseline_balanced_accuracy=[0.595, 0.51],
        cae_balanced_accuracy=[0.553, 0.50])


def test_paper_comparison_sets_the_papers_accuracy_beside_the_plain_objective():
    table = paper_comparison(chance_claim_table(), hand_gains(), CLAIM, endpoint_gains_table())
    assert list(table.columns) == ["claim", "paper", "this run (mean, 95 % CI)", "holds?", "baseline / CAE / chance"]
    rows = {row[0]: row[1:] for row in table.itertuples(index=False)}
    smile = "smile: accuracy gain under the plain objective (the paper's endpoint), CAE conv2+fc1 frozen vs none, N = 50 (points)"
    assert rows[smile] == ("+1.88", "+3.00 [+1.00, +5.00]", "exploratory: 95 % CI above 0",
                           "55.0 % / 58.0 % / 52.0 % (majority class)")
    gender = "gender: accuracy gain under the plain objective (the paper's endpoint), CAE conv2+fc1 frozen vs none, N = 50 (points)"
    assert rows[gender] == ("+1.98", "-1.00 [-2.50, +0.50]", "exploratory: 95 % CI includes 0",
                            "61.0 % / 60.0 % / 61.2 % (majority class)")
    tested = "gender: balanced-accuracy gain, CAE conv2+fc1 frozen vs none, N = 50 (points; the pre-declared test)"
    assert rows[tested] == ("not reported", "+5.00 [+2.00, +8.00]", "better (Holm p = 0.01)", "59.5 % / 55.3 % / 50.0 % (1/2)")
    assert rows["smile: balanced-accuracy gain, CAE conv2+fc1 frozen vs none, N = 50 (points; the pre-declared test)"][2] == \
        "no signal at this N (Holm p = 0.2)"
    # the class-weighted classifiers' accuracy gain is no longer set beside the paper's
    assert not any(name.startswith("smile: accuracy gain, CAE") for name in rows)
    # pose is not in the claim test: its untested balanced-accuracy gain stays exploratory, and no endpoint was run for it
    pose = {name: row for name, row in rows.items() if name.startswith("pose")}
    assert [row[1:3] for row in pose.values()] == [
        ("not run", "the paper's endpoint was not run (analysis.paper_endpoint: false)"),
        ("+1.00 (one seed: no CI)", "exploratory: no CI")]
    energy = table.iloc[-1]
    assert energy["claim"].startswith("two-task inference energy reduction") and energy["paper"] == "6.58x"
    assert energy["holds?"] == "no, and cannot under this accounting: sharing layers gives at most 3.98x here"


def test_an_endpoint_on_fewer_seeds_than_the_test_says_how_many():
    """analysis.paper_endpoint_per_unit trims the endpoint's seeds: its row says so."""
    table = chance_claim_table().assign(n_pairs=[24, 24], n_units=[8, 8])
    endpoint = endpoint_gains_table().assign(n=[8, 8], n_pairs=[16, 24])
    rows = list(paper_comparison(table, hand_gains(), CLAIM, endpoint)["claim"])
    setting = "accuracy gain under the plain objective (the paper's endpoint), CAE conv2+fc1 frozen vs none, N = 50"
    assert f"gender: {setting} (points; 16 of the test's 24 seeds, 8 of its 8 units)" in rows
    assert f"smile: {setting} (points)" in rows  # as many seeds as the test: nothing to say


def test_without_the_paper_endpoint_the_table_says_it_was_not_run():
    table = paper_comparison(claim_table(), hand_gains(), CLAIM)
    endpoint_rows = table[table["claim"].str.contains("the paper's endpoint")]
    assert list(endpoint_rows["paper"]) == ["+1.98", "+1.88", "+1.47"]  # gender, smile, pose
    assert set(endpoint_rows["holds?"]) == {"the paper's endpoint was not run (analysis.paper_endpoint: false)"}
    assert set(endpoint_rows["this run (mean, 95 % CI)"]) == {"not run"}


def test_the_energy_note_states_the_conditions_of_its_ceiling():
    note = energy_note(claim_table({"gender": False, "smile": False, "glasses": False, "pose": False}))
    assert "The ceiling holds under this accounting: four equal networks, one image at a time, each layer's cost " \
           "additive" in note
    assert "so layer sharing alone cannot reach it under this accounting;" in note


def test_the_front_page_opens_with_the_answer(tmp_path):
    path = tmp_path / "front.rst"
    write_front_page(path, claim_table=claim_table(), gains=hand_gains(), claim=CLAIM, config_hash="abc",
                     dataset="synthetic", protocol_text="p", pretraining_text="q")
    text = path.read_text()
    title, rule, blank = text.splitlines()[:3]
    assert title == "The CAE transfer-learning study: its answer" and rule == "=" * len(title)
    # the verdict is the first paragraph of text after the title (the page's style block comes between)
    first_paragraph = text.split(".. class:: verdict\n\n", 1)[1].split("\n\n", 1)[0]
    assert first_paragraph == f"**{answer_sentence(claim_table(), 'synthetic', ['none', 'random'])}**"
    assert first_paragraph.startswith("**On synthetic faces at N = 50 the claim holds for gender, not for smile. ")
    # synthetic faces say, right under the answer, that they are no evidence about the paper
    assert text.split(first_paragraph, 1)[1].lstrip().startswith("Synthetic faces are no evidence about the paper")
    assert "Data: synthetic. Config hash: ``abc``." in text and "conv1+conv2+fc1+fc2" in text
    empty = tmp_path / "empty.rst"
    write_front_page(empty, claim_table=pd.DataFrame(), gains=hand_gains().iloc[:0], claim=CLAIM, config_hash="abc",
                     dataset="synthetic", protocol_text="p", pretraining_text="q")
    assert "not tested" in empty.read_text()


def test_the_before_run_page_brings_the_same_top_of_page_style():
    from conftest import ROOT
    from workflow_scripts.report.page_style import TOP_OF_PAGE_STYLE

    assert TOP_OF_PAGE_STYLE in (ROOT / "workflow_scripts" / "captions" / "front_page_before_run.rst").read_text()


@pytest.mark.parametrize("holds", [{"smile": False}, {"gender": True, "smile": False},
                                   dict.fromkeys(TASKS, False)])
def test_summary_opens_with_the_answer_then_the_table(tmp_path, holds):
    text = summary_text(tmp_path, holds, hand_inference(len(holds)))
    body = text.split("\n\n")
    assert body[0] == "# Study summary"
    assert body[1] == f"**{answer_sentence(claim_table(holds), 'mtfl', ['none', 'random'])}**"
    assert body[2].startswith("Data: mtfl.") and body[3].startswith("## The paper's claims beside this run")
    assert body[4].startswith("| claim | paper |")
    # what publish derives for the README from the summary's claim table is the same sentence
    assert published_answer(text) == answer_sentence(claim_table(holds), "mtfl", ["none", "random"])


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


def test_the_summary_names_the_tests_unit_flags_capped_pretraining_and_reads_back_no_signal(tmp_path):
    table = chance_claim_table().assign(unit="pretraining seed", n_units=3, n_pairs=12)
    sources = pd.DataFrame({"network": ["cae", "cae"], "seed": [0, 4], "epochs_run": [20, 12], "best_epoch": [20, 8],
                            "max_epochs": [20, 20], "stopped_early": [False, True]})
    text = summary_text(tmp_path, None, hand_inference(2), table=table, sources=sources)
    assert unit_sentence(table) in text and "averaged within each of the three pretraining seeds" in text
    body = text.split("\n\n")
    # the flag stands right under the data line, before the paper's table, and again by the source networks
    assert body[3] == ("Pretraining ran to its epoch cap instead of stopping early for cae (seed 0, at 20 epochs): its "
                       "validation loss was still improving when the cap stopped it, so longer pretraining could change "
                       "what these networks transfer.")
    assert text.count(body[3]) == 2
    assert "| verdict (accuracy half) |" in text and "| no signal at this N |" in text
    # publish derives the README's sentence from the summary's table: no signal survives the round trip
    assert published_answer(text) == answer_sentence(table, "mtfl", ["none", "random"])
    assert "smile shows no signal at this N" in published_answer(text)


def test_the_summary_shows_the_claims_gain_at_each_checkpoint(tmp_path):
    checkpoints = pd.DataFrame({
        "epochs": [5, 10, 5, 10], "task": ["gender", "gender", "smile", "smile"], "gain": [0.03, -0.01, 0.02, 0.01],
        "ci_low": [0.01, -0.03, -0.01, -0.02], "ci_high": [0.05, 0.01, 0.05, 0.04], "p_value": [0.01, 0.3, 0.2, 0.5],
        "p_holm": [0.02, 0.6, 0.4, 0.6], "n_pairs": 3, "unit": "pretraining seed", "n_units": 3,
        "holds": [True, False, False, False]})
    changes = pd.DataFrame({"task": ["gender", "smile"], "sign_changes": [True, False], "decision_changes": [True, True]})
    text = summary_text(tmp_path, {"gender": True, "smile": False}, hand_inference(2), checkpoint_table=checkpoints,
                        changes=changes)
    assert "### The claim's gain at fixed epoch counts (sensitivity)" in text and "Exploratory, a sensitivity" in text
    assert "| task | chosen epochs (the test) | 5 epochs | 10 epochs |" in text
    assert "| gender | +2.00 [-1.00, +5.00]; holds | +3.00 [+1.00, +5.00]; holds | -1.00 [-3.00, +1.00]; does not hold |" in text
    assert ("The gain's sign changes with the epoch count for gender, and the test's decision changes with it for "
            "gender and smile: the verdict depends on the training budget.") in text
    # the section sits among the exploratory ones, after the pre-declared test
    assert text.index("## Exploratory") < text.index("### The claim's gain at fixed epoch counts")
    empty = summary_text(tmp_path, {"gender": True}, hand_inference(1))
    assert "No test scores at fixed epoch counts were recorded under this run's protocol." in empty


def test_the_front_page_sets_the_paper_endpoint_beside_the_paper(tmp_path):
    path = tmp_path / "front.rst"
    write_front_page(path, claim_table=chance_claim_table().assign(unit="fine-tuning seed", n_units=3, n_pairs=3),
                     gains=hand_gains(), claim=CLAIM, config_hash="abc", dataset="mtfl", protocol_text="p",
                     pretraining_text="q", endpoint=endpoint_gains_table())
    text = path.read_text()
    assert "- 55.0 % / 58.0 % / 52.0 % (majority class)" in text and "- baseline / CAE / chance" in text
    assert "so this test cannot cover the pretraining's randomness" in text


def test_the_summary_says_whether_the_verdict_holds_at_int8_and_what_int8_costs(tmp_path):
    precision = pd.DataFrame({
        "precision": ["float32", "float32", "int8", "int8"], "task": ["gender", "smile", "gender", "smile"],
        "gain": [0.05, 0.01, 0.01, 0.012], "ci_low": [0.02, -0.01, -0.02, -0.01], "ci_high": [0.08, 0.03, 0.04, 0.03],
        "p_holm": [0.01, 0.4, 0.5, 0.5], "verdict": ["yes", "no", "no", "no"]})
    cost = pd.DataFrame({
        "scenario": ["none", "cae"], "depth": ["none", "conv2+fc1"], "metric": "balanced_accuracy",
        "float32": [0.60, 0.64], "int8": [0.598, 0.60], "cost": [0.002, 0.04], "largest_cost": [0.01, 0.09],
        "agreement": [0.99, 0.93], "lowest_agreement": [0.97, 0.85], "members": [6, 6]})
    text = summary_text(tmp_path, {"gender": True, "smile": False}, hand_inference(2).assign(precision_bits=8),
                        precision_table=precision, cost_table=cost)
    assert "### At int8, the precision the energy assumes" in text
    assert ("**The verdict changes at int8, the precision the energy assumes (8-bit words): the pre-declared test "
            "decides otherwise for gender (yes at float32, no at int8).**") in text
    assert "| gender | none | +5.00 [+2.00, +8.00] | yes (Holm p = 0.01) | +1.00 [-2.00, +4.00] | no (Holm p = 0.5) |" in text
    assert "| cae | conv2+fc1 | 64.0 % | 60.0 % | +4.00 (+9.00) | 93.0 % (85.0 %) | 6 |" in text
    assert text.index("## Exploratory") < text.index("### At int8")
    assert "### Energy of one two-task inference (ZigZag, 8-bit words)" in text
    sixteen = summary_text(tmp_path, {"gender": True}, hand_inference(2).assign(precision_bits=16),
                           precision_table=precision, cost_table=cost)
    assert "(ZigZag, 16-bit words)" in sixteen and "priced at 16-bit words, energy.precision_bits, not at int8's 8" in sixteen
    # without int8 scores (a run from before they were made) the section is left out
    assert "### At int8" not in summary_text(tmp_path, {"gender": True}, hand_inference(1))


# ---- issue 27: no negative zero, no "Holm p = nan", synthetic faces said to be no evidence ----

def test_no_table_shows_a_negative_zero(tmp_path):
    from workflow_scripts.report.formatting import fixed, markdown_table, points

    assert [fixed(-0.0004, 2), fixed(-0.004, 2, sign=True), fixed(0.004, 2, sign=True), fixed(-0.006, 2, sign=True)] == \
        ["0.00", "0.00", "0.00", "-0.01"]
    assert points(-0.00001) == "0.00" and points(0.0123) == "+1.23"
    assert markdown_table(pd.DataFrame({"x": [-0.0001, -0.5]})).splitlines()[2:] == ["| 0.000 |", "| -0.500 |"]
    tiny = claim_table().assign(gain=-0.00001, ci_low=-0.00004, ci_high=0.02)
    text = summary_text(tmp_path, None, hand_inference(2), table=tiny)
    assert "-0.00" not in text and "| 0.00 | 0.00 | +2.00 |" in text


def test_one_seed_says_it_cannot_be_tested_instead_of_holm_p_nan(tmp_path):
    one_seed = claim_table().assign(p_value=float("nan"), p_holm=float("nan"), p_equivalence_holm=float("nan"),
                                    unit="fine-tuning seed", n_units=1, n_pairs=1, decision="inconclusive",
                                    verdict="inconclusive", accuracy_half_holds=False, holds=False)
    text = summary_text(tmp_path, None, hand_inference(2), table=one_seed)
    assert "nan" not in text
    assert "inconclusive (no test: one seed cannot be tested (a t-test needs two or more))" in text
    assert "| no test: one seed cannot be tested (a t-test needs two or more) |" in text  # the family's table


def test_the_summary_of_faces_other_than_mtfls_says_they_are_no_evidence_about_the_paper(tmp_path):
    path = tmp_path / "summary.md"
    common = dict(claim_table=claim_table(), headline=pd.DataFrame(), gains=hand_gains(), inference=hand_inference(2),
                  claim=CLAIM, config_hash="abc", protocol_text="p", pretraining_text="q",
                  summary=pd.DataFrame(columns=["metric", "scenario", "depth", "task", "n_train", "source", "mean"]),
                  sources=pd.DataFrame({"network": ["cae"]}))
    write_summary(path, dataset="synthetic", **common)
    body = path.read_text().split("\n\n")
    assert body[2].startswith("Synthetic faces are no evidence about the paper")
    write_summary(path, dataset="mtfl", **common)
    assert "no evidence" not in path.read_text()


def family_claim_table():
    """claim_table() against none and against the frozen random trunk, with chance columns."""
    none = chance_claim_table()
    random = chance_claim_table().assign(against="random", verdict=["worse", "equivalent"], decision=["worse", "equivalent"],
                                         gain=[-0.03, 0.001], accuracy_half_holds=False, holds=False,
                                         baseline_balanced_accuracy=[0.62, 0.50])
    return pd.concat([none, random], ignore_index=True)


def test_the_family_against_random_stands_beside_the_papers_claim(tmp_path):
    table = paper_comparison(family_claim_table(), hand_gains(), CLAIM)
    rows = {row[0]: row[1:] for row in table.itertuples(index=False)}
    random = ("gender: balanced-accuracy gain, CAE conv2+fc1 frozen vs a frozen random trunk (random), N = 50 "
              "(points; the pre-declared family: is the gain the CAE's learning?)")
    assert rows[random] == ("not reported", "-3.00 [-1.00, +5.00]", "worse (Holm p = 0.01)", "62.0 % / 55.3 % / 50.0 % (1/2)")
    text = summary_text(tmp_path, None, hand_inference(2), table=family_claim_table())
    assert "against no transfer (the paper's claim) and a frozen random trunk" in text
    assert "**better**" in text and "**equivalent**" in text and "within ±2 points" in text
    assert "| task | against | N |" in text and "| decision |" in text
    assert "left out of the family" not in text.split("## The pre-declared test")[1].split("##")[0]
    # publish reads the answer back from the table, both baselines included
    assert published_answer(text) == answer_sentence(family_claim_table(), "mtfl", ["none", "random"])
    alone = summary_text(tmp_path, None, hand_inference(2), table=chance_claim_table())
    assert ("analysis.claim.against also lists random (a frozen random trunk), but this run has no random classifiers "
            "at the claim's setting, so it is left out of the family.") in alone
    assert "a frozen random trunk was not compared" in published_answer(alone)


def test_the_controls_section_shows_whether_each_arm_learns_and_the_feature_statistics(tmp_path):
    controls = pd.DataFrame({
        "task": ["gender"] * 3, "arm": ["cae", "none", "random"], "chance_level": 0.5,
        "test_mean": [0.6, 0.58, 0.52], "test_ci_low": [0.55, 0.54, 0.49], "test_ci_high": [0.65, 0.62, 0.55],
        "test_above_chance": [True, True, False], "folds_mean": [0.62, 0.6, 0.51], "folds_ci_low": [0.55, 0.52, 0.45],
        "folds_ci_high": [0.69, 0.68, 0.57], "folds_above_chance": [True, True, False]})
    stats = pd.DataFrame({"network": ["cae", "cae", "random", "random"], "seed": [0, 1, 0, 1],
                          "feature_sd": [0.8, 0.9, 0.2, 0.3], "dead_units": [50, 54, 3, 5]})
    text = summary_text(tmp_path, None, hand_inference(2), table=family_claim_table(), controls=controls,
                        feature_stats=stats)
    assert "### The controls: does each arm learn?" in text
    assert "| gender | random | 50.0 % | 52.0 % [49.0 %, 55.0 %] | 51.0 % [45.0 %, 57.0 %] |" in text
    assert "stays at chance where no transfer's learns for gender" in text
    assert "| network | feature_sd | dead_units |" in text and "| random | 0.250 | 4.000 |" in text
    without = summary_text(tmp_path, None, hand_inference(2), table=family_claim_table(), controls=controls)
    assert "This run recorded no statistics of the trunks' features." in without
    assert "### The controls" not in summary_text(tmp_path, None, hand_inference(2), controls=controls.iloc[:2])


def test_the_random_trunks_scaling_tables_stand_beside_the_caes_statistics():
    from workflow_scripts.report.summary_page import feature_stat_cells

    scaling = pd.DataFrame({"layer": ["conv1", "fc1", "conv1", "fc1"], "default_mean": [0.1, 0.02, 0.1, 0.02],
                            "default_sd": [0.2, 0.01, 0.2, 0.03], "target_mean": [0.5, 0.3, 0.7, 0.5],
                            "target_sd": [0.4, 0.2, 0.6, 0.2], "mean": [0.5, 0.3, 0.7, 0.5],
                            "sd": [0.4, 0.2, 0.6, 0.2], "scale": 2.0, "shift": 0.1, "rounds": 1,
                            "units": [4, 16, 4, 16], "target_dead_units": [0, 6, 1, 8], "dead_units": [0, 1, 0, 0]})
    table = feature_stat_cells(scaling)
    assert list(table.columns) == ["layer", "units", "CAE mean", "CAE SD", "CAE dead units", "random trunk mean",
                                   "random trunk SD", "random trunk dead units", "at default init: mean",
                                   "at default init: SD"]
    assert table.set_index("layer").loc["fc1"].tolist() == pytest.approx([16, 0.4, 0.2, 7, 0.4, 0.2, 0.5, 0.02, 0.02])
    # a layer's width prints as a count ("16", not "16.000"); means over seeds keep their digits
    assert "| fc1 | 16 | 0.400 | 0.200 | 7.000 |" in markdown_table(table)
