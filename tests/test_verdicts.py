"""The words of the verdicts, on tables built by hand: each tested comparison gets its
decision (better, equivalent, worse, inconclusive, no signal at this N) with Holm's p or
the reason there is none, everything else an exploratory label, and the answer reads right
for one task, two tasks and more, for the family's baselines, and (for a summary published
before the decision rule) as it did then."""

import dataclasses
import math

import pandas as pd
import pytest

from workflow_scripts.report.summary_page import baseline_role
from workflow_scripts.report.verdicts import (ONE_SEED, accuracy_verdicts, answer_sentence, arm_words, baseline_words,
                                              checkpoint_finding, control_finding, dataset_caveat, energy_verdict,
                                              exploratory_verdict, holm_words, joined, precision_finding,
                                              pretraining_cap_sentence, tasks_inference, unit_sentence)
from workflow_scripts.study import scenarios

CLAIM = {"depth": "conv2+fc1", "n_train": 50, "metric": "balanced_accuracy", "alpha": 0.05,
         "energy_reduction_at_least": 2.0, "hardware": "hw", "classes": {"gender": 2, "smile": 2, "glasses": 2, "pose": 5}}


def gain(task, metric, value, low, high, scenario="cae", depth="conv2+fc1", n_train=50):
    source = "cae" if scenario == "cae" else "gender"
    return {"task": task, "scenario": scenario, "source": source, "depth": depth, "n_train": n_train, "metric": metric,
            "gain": value, "ci_low": low, "ci_high": high, "p_value": 0.01, "n_pairs": 3}


def hand_gains():
    return pd.DataFrame([
        gain("smile", "balanced_accuracy", 0.02, -0.01, 0.05),
        gain("smile", "accuracy", -0.03, -0.05, -0.01),
        gain("gender", "balanced_accuracy", 0.05, 0.02, 0.08),
        gain("gender", "accuracy", 0.03, 0.01, 0.05),
        gain("pose", "balanced_accuracy", 0.01, float("nan"), float("nan")),  # one seed: no CI, and not in the test
        # not the claim's setting: never a verdict
        gain("smile", "balanced_accuracy", 0.9, 0.8, 1.0, depth="conv1"),
        gain("smile", "balanced_accuracy", 0.9, 0.8, 1.0, n_train=200),
        gain("smile", "balanced_accuracy", 0.9, 0.8, 1.0, scenario="cnn"),
    ])


def hand_claim_table(holds: dict, reduction=3.5, at_least=2.0, against="none", decisions=None):
    """The claim test's verdict columns against one baseline for the tasks in ``holds``
    (task -> accuracy half holds: decided better, else inconclusive or as ``decisions``
    says), with an energy reduction that ``at_least`` judges."""
    energy = reduction >= at_least
    decisions = decisions or {}
    rows = []
    for task, half in holds.items():
        decision = "better" if half else decisions.get(task, "inconclusive")
        rows.append({"task": task, "against": against, "n_train": 50, "depth": "conv2+fc1", "metric": "balanced_accuracy",
                     "margin": 0.02, "p_holm": 0.01 if half else 0.2, "decision": decision, "accuracy_half_holds": half,
                     "energy_reduction": reduction, "energy_half_holds": energy, "holds": half and energy,
                     "n_tasks": len(holds), "verdict": decision})
    return pd.DataFrame(rows)


def yes_no_table(holds: dict, reduction=3.5, at_least=2.0):
    """The claim table as summaries published before the decision rule held it: one test
    per task against no transfer, without against, margin, decision or verdict."""
    return hand_claim_table(holds, reduction, at_least).drop(columns=["against", "margin", "decision", "verdict"])


def test_the_tested_metric_gets_its_decision_and_the_rest_is_exploratory():
    table = accuracy_verdicts(hand_claim_table({"gender": True, "smile": False}), hand_gains(), CLAIM)
    verdicts = {(row.task, row.metric): row.verdict for row in table.itertuples()}
    assert verdicts == {
        ("gender", "accuracy"): "exploratory: 95 % CI above 0",
        ("gender", "balanced_accuracy"): "better (Holm p = 0.01)",
        ("smile", "accuracy"): "exploratory: 95 % CI below 0",
        ("smile", "balanced_accuracy"): "inconclusive (Holm p = 0.2)",
        # the claim's metric, but the task is not in the test: exploratory, and one seed has no CI
        ("pose", "balanced_accuracy"): "exploratory: no CI",
    }
    assert list(table["task"]) == ["gender", "gender", "smile", "smile", "pose"]  # the study's task order
    assert table.set_index(["task", "metric"]).loc[("smile", "balanced_accuracy"), "gain"] == pytest.approx(0.02)


def test_an_interval_that_straddles_zero_includes_it():
    assert exploratory_verdict(-0.01, 0.05) == "exploratory: 95 % CI includes 0"
    assert exploratory_verdict(0.0, 0.05) == "exploratory: 95 % CI includes 0"  # 0 itself is in the interval
    assert exploratory_verdict(math.nan, math.nan) == "exploratory: no CI"


def test_without_a_claim_test_every_verdict_is_exploratory():
    table = accuracy_verdicts(pd.DataFrame(), hand_gains(), CLAIM)
    assert table["verdict"].str.startswith("exploratory").all() and len(table) == 5


def test_energy_verdicts_against_the_papers_reduction():
    assert energy_verdict(7.0, 7.5, quoted=6.58) == "yes"
    assert energy_verdict(3.5, 3.98, quoted=6.58) == \
        "no, and cannot under this accounting: sharing layers gives at most 3.98x here"
    assert energy_verdict(3.5, 8.0, quoted=6.58) == "no"


BEAT = "the CAE's frozen layers up to conv2+fc1"


@pytest.mark.parametrize("holds, answer", [
    ({"smile": True}, f"the claim holds for smile: {BEAT} significantly beat no transfer in balanced accuracy for smile "
                      "(Holm-corrected), and sharing them cuts the one-task inference energy 3.50x (enough"),
    ({"smile": False}, f"the claim does not hold for smile: {BEAT} do not significantly beat no transfer in balanced "
                       "accuracy for smile (Holm-corrected), and sharing them cuts the one-task inference"),
    ({"gender": True, "smile": True}, "the claim holds for gender and smile: "),
    ({"gender": True, "smile": False}, f"the claim holds for gender, not for smile: {BEAT} significantly beat no "
                                       "transfer in balanced accuracy for gender only (Holm-corrected), and sharing "
                                       "them cuts the two-task inference energy"),
    ({"gender": False, "smile": True}, "the claim holds for smile, not for gender: "),
    ({"gender": False, "smile": False}, "the claim holds for neither gender nor smile: "
                                        f"{BEAT} significantly beat no transfer in balanced accuracy for neither "
                                        "gender nor smile"),
    ({"gender": True, "smile": False, "glasses": False, "pose": True},
     "the claim holds for gender and pose, not for smile or glasses: "),
    ({"gender": False, "smile": False, "glasses": False}, "the claim holds for no task: "
                                                          f"{BEAT} significantly beat no transfer in balanced accuracy "
                                                          "for no task (Holm-corrected), and sharing them cuts the "
                                                          "three-task inference energy 3.50x (enough"),
    ({"gender": True, "smile": True, "glasses": True, "pose": True},
     "the claim holds for gender, smile, glasses and pose: "),
])
def test_a_summary_published_before_the_decision_rule_reads_as_it_did(holds, answer):
    sentence = answer_sentence(yes_no_table(holds), "mtfl")
    assert sentence.startswith("On MTFL at N = 50 " + answer), sentence
    assert sentence.endswith(".") and sentence.count(".") == 1 + sentence.count("x ("), sentence  # one sentence
    assert " 1 " not in sentence and "1 task" not in sentence


def test_the_answer_blames_the_energy_half_where_it_fails():
    sentence = answer_sentence(yes_no_table({"gender": True, "smile": True}, reduction=1.5), "synthetic")
    assert sentence.startswith("On synthetic faces at N = 50 the claim holds for neither gender nor smile: "), sentence
    assert "for gender and smile (Holm-corrected), and sharing them cuts the two-task inference energy 1.50x " \
           "(not enough for the energy half)." in sentence


def test_no_claim_test_is_said_so_not_called_a_failure():
    assert "not tested" in answer_sentence(pd.DataFrame(), "mtfl")


def test_task_counts_are_words():
    assert [tasks_inference(k) for k in (1, 2, 4, 12)] == [
        "one-task inference", "two-task inference", "four-task inference", "12-task inference"]


def test_joined():
    assert [joined(["a"]), joined(["a", "b"]), joined(["a", "b", "c"], "or")] == ["a", "a and b", "a, b or c"]


# ---- no signal at this N ----

def with_verdicts(table: pd.DataFrame, silent) -> pd.DataFrame:
    """The claim table with the claim test's verdict column: no signal at this N for ``silent``."""
    words = ["better" if half else "no signal at this N" if task in silent else verdict
             for task, half, verdict in zip(table["task"], table["accuracy_half_holds"], table["verdict"])]
    return table.assign(verdict=words)


def test_a_task_at_chance_is_no_signal_in_the_verdicts_and_the_answer():
    holds = {"gender": False, "smile": False, "glasses": False, "pose": False}
    table = with_verdicts(hand_claim_table(holds), {"glasses", "pose"})
    verdicts = accuracy_verdicts(table, hand_gains(), CLAIM).set_index(["task", "metric"])["verdict"]
    assert verdicts[("smile", "balanced_accuracy")] == "inconclusive (Holm p = 0.2)"
    sentence = answer_sentence(table, "mtfl")
    assert sentence.startswith(
        "On MTFL at N = 50 the claim holds for neither gender nor smile, and glasses and pose show no signal at this N "
        "(no transfer and the CAE both at chance). In balanced accuracy (Holm-corrected over the four comparisons), the "
        "CAE's frozen layers up to conv2+fc1 are, against no transfer, inconclusive for gender and smile and at chance "
        "like it (no signal at this N) for glasses and pose."), sentence
    one = answer_sentence(with_verdicts(hand_claim_table({"gender": True, "glasses": False}), {"glasses"}), "mtfl")
    assert one.startswith("On MTFL at N = 50 the claim holds for gender, and glasses shows no signal at this N "), one
    silent = answer_sentence(with_verdicts(hand_claim_table({"glasses": False, "pose": False}), {"glasses", "pose"}), "mtfl")
    assert silent.startswith("On MTFL at N = 50 glasses and pose show no signal at this N (no transfer and the CAE both "
                             "at chance). "), silent
    # a table without the verdict column (a summary published before it) reads as before
    assert answer_sentence(yes_no_table(holds), "mtfl").startswith("On MTFL at N = 50 the claim holds for no task: ")


def test_the_tested_verdict_says_no_signal():
    table = with_verdicts(hand_claim_table({"gender": True, "smile": False}), {"smile"})
    verdicts = accuracy_verdicts(table, hand_gains(), CLAIM).set_index(["task", "metric"])["verdict"]
    assert verdicts[("smile", "balanced_accuracy")] == "no signal at this N (Holm p = 0.2)"
    assert verdicts[("gender", "balanced_accuracy")] == "better (Holm p = 0.01)"


# ---- the decision rule and the family, in words ----

def family_table():
    """Three tasks against no transfer and against a frozen random trunk: every decision once."""
    return pd.concat([
        hand_claim_table({"gender": True, "smile": False, "pose": False}, decisions={"pose": "equivalent"}),
        hand_claim_table({"gender": False, "smile": False, "pose": False}, against="random",
                         decisions={"gender": "worse", "smile": "equivalent"})], ignore_index=True)


def test_the_answer_says_each_baselines_decisions_in_those_words():
    sentence = answer_sentence(family_table(), "mtfl", ["none", "random"])
    assert sentence == (
        "On MTFL at N = 50 the claim holds for gender, not for smile or pose. In balanced accuracy (Holm-corrected over "
        "the six comparisons), the CAE's frozen layers up to conv2+fc1 are, against no transfer, better for gender, "
        "equivalent (within ±2 points) for pose and inconclusive for smile; against a frozen random trunk, equivalent "
        "(within ±2 points) for smile, worse for gender and inconclusive for pose. Sharing them cuts the three-task "
        "inference energy 3.50x (enough for the energy half).")
    # the claim is read on the rows against none only: better than random alone does not make it hold
    only_random = family_table().assign(holds=lambda t: (t["against"] == "random") & (t["task"] == "smile"))
    assert "the claim holds for no task" in answer_sentence(only_random, "mtfl")


def test_a_baseline_the_run_lacks_is_said_to_be_left_out():
    table = family_table().query("against == 'none'")
    sentence = answer_sentence(table, "mtfl", ["none", "random"])
    assert "(Holm-corrected over the three comparisons)" in sentence
    assert "; a frozen random trunk was not compared (this run has none, so the family leaves it out)." in sentence
    assert "not compared" not in answer_sentence(table, "mtfl", ["none"])


def test_a_comparison_without_a_p_value_says_why_in_words():
    assert holm_words(float("nan"), 1) == ONE_SEED == "no test: one seed cannot be tested (a t-test needs two or more)"
    assert holm_words(float("nan"), 3).startswith("no test: the gain is the same for every seed")
    assert holm_words(0.0328, 4) == "Holm p = 0.0328"
    one_seed = hand_claim_table({"gender": False}).assign(p_holm=float("nan"), n_units=1)
    verdicts = accuracy_verdicts(one_seed, hand_gains(), CLAIM).set_index(["task", "metric"])["verdict"]
    assert verdicts[("gender", "balanced_accuracy")] == f"inconclusive ({ONE_SEED})"
    assert "nan" not in verdicts[("gender", "balanced_accuracy")]


def test_faces_other_than_mtfl_carry_a_line_that_they_are_no_evidence_about_the_paper():
    assert dataset_caveat("mtfl") == ""
    assert dataset_caveat("synthetic").startswith("Synthetic faces are no evidence about the paper")
    assert "no evidence for or against the paper's claims" in dataset_caveat("folder")


def test_the_control_finding_names_where_the_random_trunk_learns():
    controls = pd.DataFrame({"task": ["gender"] * 3 + ["smile"] * 3, "arm": ["cae", "none", "random"] * 2,
                             "test_above_chance": [True, True, True, True, True, False]})
    assert control_finding(controls) == (
        "Above chance on the test faces (95 % interval above 1/k): the CAE for gender and smile; no transfer for gender "
        "and smile; the frozen random trunk for gender. The frozen random trunk's head stays at chance where no "
        "transfer's learns for smile: there it is no fair control, and the CAE against it says little.")
    fair = control_finding(controls.assign(test_above_chance=True))
    assert fair.endswith("Wherever no transfer's head learns, the frozen random trunk's does too.")


# ---- the test's unit ----

@pytest.mark.parametrize("unit, n_units, n_pairs, words", [
    ("pretraining seed", 3, 12, "The test's unit is the pretraining seed: each task's gains, paired by fine-tuning seed "
                                "(12 seeds), are averaged within each of the three pretraining seeds, and the t-test and "
                                "interval run across those three means, so they cover the pretraining's randomness."),
    ("pretraining seed", 3, 3, "The test's unit is the seed: each of the three fine-tuning seeds transfers from a CAE of "
                               "its own pretraining seed, so the interval covers the pretraining's randomness."),
    ("fine-tuning seed", 10, 10, "Every fine-tuning seed transfers from one and the same pretraining seed, so this test "
                                 "cannot cover the pretraining's randomness: it runs across the ten fine-tuning seeds"),
])
def test_the_unit_sentence_names_the_unit_and_counts_it(unit, n_units, n_pairs, words):
    table = hand_claim_table({"gender": False, "smile": False}).assign(unit=unit, n_units=n_units, n_pairs=n_pairs)
    assert unit_sentence(table).startswith(words), unit_sentence(table)
    assert unit_sentence(hand_claim_table({"gender": False})) == ""  # a table read back without the columns


def test_the_checkpoint_finding_says_what_changes():
    changes = pd.DataFrame({"task": ["gender", "smile", "pose"], "sign_changes": [False, True, True],
                            "decision_changes": [False, True, False]})
    assert checkpoint_finding(changes) == ("The gain's sign changes with the epoch count for smile and pose, and the "
                                           "test's decision changes with it for smile: the verdict depends on the "
                                           "training budget.")
    assert checkpoint_finding(changes.assign(decision_changes=False)).endswith(
        "for smile and pose: the direction of the gain depends on the training budget.")
    assert checkpoint_finding(changes.assign(sign_changes=False, decision_changes=False)) == \
        "Neither the gain's sign nor the test's decision changes with the epoch count, for any task."


# ---- pretraining at its epoch cap ----

def test_pretraining_at_its_epoch_cap_is_flagged_by_network_and_seed():
    sources = pd.DataFrame({
        "network": ["cae", "cae", "cae", "cnn_gender", "cnn_smile"], "seed": [0, 1, 2, 0, 0],
        "epochs_run": [20, 14, 20, 20, 9], "best_epoch": [20, 9, 19, 20, 4], "max_epochs": [20, 20, 20, 30, 30],
        "stopped_early": [False, True, False, "False", True]})
    assert pretraining_cap_sentence(sources) == (
        "Pretraining ran to its epoch cap instead of stopping early for cae (seeds 0 and 2, at 20 epochs) and "
        "cnn_gender (seed 0, at 30 epochs): its validation loss was still improving when the cap stopped it, so "
        "longer pretraining could change what these networks transfer.")
    assert pretraining_cap_sentence(sources.assign(stopped_early=True)) == \
        "Every source network's pretraining stopped early, before its epoch cap."
    assert pretraining_cap_sentence(sources.drop(columns=["stopped_early", "best_epoch", "max_epochs"])) == ""


def precision_table(int8_verdicts, float_verdicts=None):
    """analysis.precision_claim's table: a verdict per precision and task."""
    float_verdicts = float_verdicts or {"gender": "yes", "smile": "no"}
    rows = [{"precision": precision, "task": task, "verdict": verdict}
            for precision, verdicts in (("float32", float_verdicts), ("int8", int8_verdicts))
            for task, verdict in verdicts.items()]
    return pd.DataFrame(rows)


def test_the_int8_finding_says_whether_the_verdict_holds_at_the_energys_precision():
    same = precision_finding(precision_table({"smile": "no", "gender": "yes"}))
    assert same == ("The verdict is the same at int8, the precision the energy assumes (8-bit words): task by task "
                    "the pre-declared test decides as on the float32 scores (its accuracy half holds for gender at "
                    "both precisions).")
    changed = precision_finding(precision_table({"gender": "no signal at this N", "smile": "no"}))
    assert changed == ("The verdict changes at int8, the precision the energy assumes (8-bit words): the pre-declared "
                       "test decides otherwise for gender (yes at float32, no signal at this N at int8).")
    none = precision_finding(precision_table({"gender": "no", "smile": "no"}, {"gender": "no", "smile": "no"}), 16)
    assert "16-bit words, energy.precision_bits, not at int8's 8" in none and "holds for no task at either precision" in none
    assert "could not be repeated" in precision_finding(precision_table({}, {}))


def test_sentences_name_arms_and_baselines_as_the_scenario_table_does(monkeypatch):
    """The words come from the scenario's entry (``words``, ``asks``), not from a list of
    names kept beside it: change the entry and every sentence follows."""
    assert [arm_words(n) for n in ("none", "cae", "random")] == ["no transfer", "the CAE", "the frozen random trunk"]
    assert [baseline_words(n) for n in ("none", "random")] == ["no transfer", "a frozen random trunk"]
    entry = dataclasses.replace(scenarios.BY_NAME["random"], words="the shuffled trunk", asks="is order all it takes?")
    monkeypatch.setitem(scenarios.BY_NAME, "random", entry)
    assert arm_words("random") == "the shuffled trunk" and baseline_words("random") == "a shuffled trunk"
    assert baseline_role("random") == "a shuffled trunk (is order all it takes?)"
    controls = pd.DataFrame({"task": ["smile"], "arm": ["random"], "test_above_chance": [True]})
    assert "the shuffled trunk for smile" in control_finding(controls)
    # an entry without words is named by its label
    monkeypatch.setitem(scenarios.BY_NAME, "random", dataclasses.replace(entry, words=None))
    assert arm_words("random") == entry.label
