import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workflow_scripts.report.claim import (chance_levels, claim_test, comparison_test, control_levels, decide,
                                           decide_family)
from workflow_scripts.report.exploratory import choose_by_stop_score, figure_settings, headline, pareto_mask, tradeoff
from workflow_scripts.report.sensitivity import (COST_COLUMNS, PRECISION_COLUMNS, checkpoint_changes, checkpoint_claim,
                                                 int8_cost, precision_claim)
from workflow_scripts.report.statistics import holm, paired_gains, summarise

CLAIM = {"depth": "conv2+fc1", "n_train": 50, "metric": "balanced_accuracy", "alpha": 0.05,
         "energy_reduction_at_least": 2.0, "hardware": "hw", "classes": {"gender": 2, "smile": 2, "glasses": 2, "pose": 5}}


def hand_metrics():
    """smile at n=50, three seeds: none, cae at conv2+fc1, cnn from gender at conv1 and
    conv2+fc1. The early-stopping scores and the test disagree on the cnn: conv1 wins on
    the stop faces, conv2+fc1 on test."""
    rows = []
    values = {  # (test balanced accuracy per seed, early-stopping balanced accuracy per seed)
        ("none", "none", "none"): ([0.50, 0.60, 0.55], [0.5, 0.5, 0.5]),
        ("cae", "cae", "conv2+fc1"): ([0.60, 0.65, 0.65], [0.6, 0.6, 0.6]),
        ("cnn", "gender", "conv1"): ([0.50, 0.60, 0.60], [0.9, 0.8, 0.85]),
        ("cnn", "gender", "conv2+fc1"): ([0.52, 0.62, 0.57], [0.4, 0.5, 0.45]),
    }
    for (scenario, source, depth), (test, stop) in values.items():
        for seed, (value, early) in enumerate(zip(test, stop)):
            rows.append({"task": "smile", "scenario": scenario, "source": source, "depth": depth, "n_train": 50,
                         "seed": seed, "accuracy": value + 0.1, "balanced_accuracy": value, "macro_f1": value - 0.1,
                         "stop_accuracy": early + 0.05, "stop_balanced_accuracy": early})
    return pd.DataFrame(rows)


def hand_inference():
    common = {"hardware": "hw", "ceiling_reduction": 4.5, "ceiling_layers": "conv1+conv2+fc1+fc2", "n_tasks": 4}
    return pd.DataFrame([
        {**common, "scenario": "none", "depth": "none", "energy_pj": 400.0, "reduction_vs_none": 1.0},
        {**common, "scenario": "cae", "depth": "conv2+fc1", "energy_pj": 100.0, "reduction_vs_none": 4.0},
        {**common, "scenario": "cnn", "depth": "conv1", "energy_pj": 300.0, "reduction_vs_none": 400 / 300},
        {**common, "scenario": "cnn", "depth": "conv2+fc1", "energy_pj": 100.0, "reduction_vs_none": 4.0},
    ])


def test_summary_mean_std_and_t_interval():
    summary = summarise(hand_metrics()).set_index(["scenario", "depth", "metric"])
    none = summary.loc[("none", "none", "balanced_accuracy")]
    assert none["mean"] == pytest.approx(0.55)
    assert none["std"] == pytest.approx(0.05)
    # t(0.975, 2) = 4.3027; half width = 4.3027 * 0.05 / sqrt(3)
    assert none["ci_high"] - none["mean"] == pytest.approx(4.302653 * 0.05 / np.sqrt(3), rel=1e-5)
    assert none["n_seeds"] == 3
    assert summary.loc[("cnn", "conv1", "stop_balanced_accuracy"), "mean"] == pytest.approx(0.85)


def test_paired_gains_and_test():
    gains = paired_gains(hand_metrics()).set_index(["scenario", "depth", "metric"])
    cae = gains.loc[("cae", "conv2+fc1", "balanced_accuracy")]
    # differences by seed: +0.10, +0.05, +0.10
    assert cae["gain"] == pytest.approx(0.25 / 3)
    assert cae["n_pairs"] == 3
    sd = np.std([0.10, 0.05, 0.10], ddof=1)
    t = (0.25 / 3) / (sd / np.sqrt(3))
    assert cae["p_value"] == pytest.approx(2 * stats.t.sf(t, 2))
    # identical differences (+0.02 each): no spread, no test
    assert np.isnan(gains.loc[("cnn", "conv2+fc1", "balanced_accuracy"), "p_value"])
    assert gains.loc[("cnn", "conv2+fc1", "accuracy"), "gain"] == pytest.approx(0.02)


def test_headline_reports_the_early_stopping_winner_not_the_test_winner():
    metrics = hand_metrics()
    table = headline(paired_gains(metrics), summarise(metrics), hand_inference(), CLAIM)
    row = table.iloc[0]
    # on test, conv2+fc1 gains more (+0.02 against +0.017); on the stop faces conv1 wins: conv1 is reported
    assert (row["cnn_source"], row["cnn_depth"]) == ("gender", "conv1")
    assert row["cnn_balanced_accuracy_gain"] == pytest.approx(0.05 / 3)
    assert row["cnn_candidates"] == 2 and row["cnn_chosen_by"] == "best early-stopping score"
    assert row["cnn_energy_reduction_hw"] == pytest.approx(400 / 300)
    # the CAE's setting is the claim's, fixed beforehand
    assert row["cae_depth"] == "conv2+fc1" and row["cae_balanced_accuracy_gain"] == pytest.approx(0.25 / 3)
    assert row["cae_balanced_accuracy_ci_low"] < row["cae_balanced_accuracy_gain"] < row["cae_balanced_accuracy_ci_high"]
    assert row["cae_energy_reduction_hw"] == pytest.approx(4.0)


def test_figure_settings_follow_the_early_stopping_scores_and_fall_back_to_the_claim_depth_without_them():
    metrics = hand_metrics()
    chosen = figure_settings(summarise(metrics), "balanced_accuracy", "conv2+fc1").set_index("scenario")
    assert chosen.loc["cnn", "depth"] == "conv1" and chosen.loc["cnn", "chosen_by"] == "early-stopping score"
    assert chosen.loc["none", "depth"] == "none"
    blind = metrics.assign(stop_accuracy=np.nan, stop_balanced_accuracy=np.nan)  # fixed epochs: no stop faces
    chosen = figure_settings(summarise(blind), "balanced_accuracy", "conv2+fc1")
    assert set(zip(chosen["scenario"], chosen["depth"])) == {("none", "none"), ("cae", "conv2+fc1"), ("cnn", "conv2+fc1")}
    assert chosen["chosen_by"].str.startswith("claim depth").all()


def test_choose_by_stop_score_counts_the_candidates():
    chosen = choose_by_stop_score(summarise(hand_metrics()), ["task", "scenario"], ["source", "depth"], "accuracy")
    cnn = chosen[chosen["scenario"] == "cnn"].iloc[0]
    assert cnn["depth"] == "conv1" and cnn["candidates"] == 2 and cnn["stop_mean"] == pytest.approx(0.9)


def test_holm_against_hand_values():
    # sorted 0.01, 0.02, 0.04 -> 3 x 0.01, max(0.03, 2 x 0.02), max(0.04, 1 x 0.04)
    assert holm([0.04, 0.01, 0.02]).tolist() == pytest.approx([0.04, 0.03, 0.04])
    # sorted 0.01, 0.2, 0.5, 0.9 -> 0.04, 0.6, min(1, 1.0), max(1.0, 0.9): monotone, capped at 1
    assert holm([0.5, 0.01, 0.9, 0.2]).tolist() == pytest.approx([1.0, 0.04, 1.0, 0.6])
    adjusted = holm([0.01, np.nan, 0.02])
    assert np.isnan(adjusted[1]) and adjusted[0] == pytest.approx(0.03) and adjusted[2] == pytest.approx(0.04)


def test_claim_test_corrects_across_tasks_and_its_energy_half_can_fail():
    metrics = hand_metrics()
    other = metrics.assign(task="gender")
    other.loc[other["scenario"] == "cae", "balanced_accuracy"] -= np.array([0.09, 0.2, 0.0])  # a gain that is noise
    both = pd.concat([metrics, other])
    table = claim_test(both, hand_inference(), CLAIM).set_index("task")
    assert list(table.index) == ["gender", "smile"]  # the study's task order
    smile, gender = table.loc["smile"], table.loc["gender"]
    assert smile["p_holm"] == pytest.approx(min(1, 2 * min(smile["p_value"], gender["p_value"])))
    assert smile["p_holm"] > smile["p_value"]
    assert smile["accuracy_half_holds"] == (smile["p_holm"] < 0.05)
    assert not gender["accuracy_half_holds"]
    assert (table["energy_reduction"] == 4.0).all() and table["energy_half_holds"].all()
    assert set(table["ceiling_layers"]) == {"conv1+conv2+fc1+fc2"} and set(table["ceiling_reduction"]) == {4.5}
    strict = claim_test(both, hand_inference(), {**CLAIM, "energy_reduction_at_least": 5.0})
    assert not strict["energy_half_holds"].any() and not strict["holds"].any()


def test_pareto_mask():
    accuracy = [0.9, 0.8, 0.7, 0.85, 0.9]
    energy = [10.0, 5.0, 6.0, 5.0, 12.0]
    # (0.7, 6) is beaten by (0.8, 5); (0.8, 5) by (0.85, 5); (0.9, 12) by (0.9, 10)
    assert pareto_mask(accuracy, energy).tolist() == [True, False, False, True, False]


def test_tradeoff_marks_the_front_per_task_and_size():
    table = tradeoff(summarise(hand_metrics()), hand_inference()).set_index(["scenario", "depth"])
    assert table.loc[("cae", "conv2+fc1"), "pareto"]  # best accuracy at least energy
    assert not table.loc[("none", "none"), "pareto"] and not table.loc[("cnn", "conv1"), "pareto"]


# ---- nested seeds: the pretraining seed is the unit of the test ----

OFFSETS = [0.08, 0.05, -0.01]  # the CAE's gain from each pretraining seed: pretraining decides most of it
WITHIN = [0.01, -0.01, 0.02, -0.02]  # fine-tuning seeds' deviations around it (sum 0 in each pretraining seed)


def nested_metrics(task="smile", pretrain_seed_of=None, offsets=OFFSETS, within=WITHIN, none_level=0.6):
    """none and the CAE at the claim's depth, N = 50: 3 pretraining seeds (0, 4, 8), each
    used by 4 fine-tuning seeds; the CAE's gain at fine-tuning seed f of pretraining seed p
    is offsets[p] + within[f], over a none baseline that varies by seed."""
    rows = []
    for p, offset in enumerate(offsets):
        for f, deviation in enumerate(within):
            seed = p * len(within) + f
            pretrain_seed = pretrain_seed_of[seed] if pretrain_seed_of else p * len(within)
            base = none_level + 0.01 * (seed % 3)
            for scenario, source, depth, value, pretrained in (
                    ("none", "none", "none", base, -1), ("cae", "cae", "conv2+fc1", base + offset + deviation, pretrain_seed)):
                rows.append({"task": task, "scenario": scenario, "source": source, "depth": depth, "n_train": 50,
                             "seed": seed, "pretrain_seed": pretrained, "accuracy": value, "balanced_accuracy": value,
                             "macro_f1": value})
    return pd.DataFrame(rows)


def test_nested_seeds_test_across_pretraining_seed_means_where_the_naive_test_is_over_confident():
    nested = paired_gains(nested_metrics()).set_index(["scenario", "metric"]).loc[("cae", "balanced_accuracy")]
    # pretraining-seed means 0.08, 0.05, -0.01: mean 0.04, SD 0.045826, SE 0.026458, t = 1.5119 on 2 df
    assert nested["unit"] == "pretraining seed" and nested["n_units"] == 3 and nested["n_pairs"] == 12
    assert nested["gain"] == pytest.approx(0.04)
    assert nested["p_value"] == pytest.approx(0.26970, abs=1e-5)
    assert (nested["ci_low"], nested["ci_high"]) == pytest.approx((0.04 - 0.113837, 0.04 + 0.113837), abs=1e-6)
    # the same 12 gains taken as 12 independent seeds (as if one pretraining served them all):
    # SD 0.042426, SE 0.012247, t = 3.266 on 11 df, p = 0.0075, an interval that excludes 0
    naive = paired_gains(nested_metrics(pretrain_seed_of=dict.fromkeys(range(12), 0)))
    naive = naive.set_index(["scenario", "metric"]).loc[("cae", "balanced_accuracy")]
    assert naive["unit"] == "fine-tuning seed" and naive["n_units"] == 12 and naive["gain"] == pytest.approx(0.04)
    assert naive["p_value"] == pytest.approx(0.0075186, abs=1e-6) and naive["ci_low"] == pytest.approx(0.04 - 0.026956, abs=1e-6)
    assert naive["ci_low"] > 0 and nested["ci_low"] < 0 and nested["p_value"] > 0.05 > naive["p_value"]
    # summary.csv's interval of the CAE arm takes the same unit: across the 3 pretraining seeds' means
    summary = summarise(nested_metrics()).set_index(["scenario", "metric"])
    assert summary.loc[("cae", "balanced_accuracy"), "n_units"] == 3 and summary.loc[("cae", "balanced_accuracy"), "n_seeds"] == 12
    assert summary.loc[("none", "balanced_accuracy"), "unit"] == "fine-tuning seed"
    assert summary.loc[("none", "balanced_accuracy"), "n_units"] == 12


def test_one_pretraining_seed_per_fine_tuning_seed_is_the_test_across_seeds():
    per_seed = paired_gains(nested_metrics(pretrain_seed_of={seed: seed for seed in range(12)}))
    shared = paired_gains(nested_metrics(pretrain_seed_of=dict.fromkeys(range(12), 0)))
    numbers = ["gain", "ci_low", "ci_high", "p_value", "n_units"]
    assert per_seed[numbers].to_numpy() == pytest.approx(shared[numbers].to_numpy())
    assert set(per_seed["unit"]) == {"pretraining seed"} and set(shared["unit"]) == {"fine-tuning seed"}


def test_the_claim_test_carries_its_unit():
    metrics = nested_metrics()
    table = claim_test(metrics, hand_inference(), CLAIM)
    assert table.loc[0, ["unit", "n_units", "n_pairs"]].tolist() == ["pretraining seed", 3, 12]
    assert table.loc[0, "p_value"] == pytest.approx(0.26970, abs=1e-5) and table.loc[0, "verdict"] == "inconclusive"


# ---- no signal at this N: both arms at chance ----

def chance_metrics():
    """At N = 50, four seeds (each its own pretraining seed): glasses (2 classes) with both
    arms around 0.5, pose (5 classes) with none around 0.2 and the CAE above it, smile
    well above 0.5 in both arms."""
    levels = {  # task -> (none per seed, cae per seed)
        "glasses": ([0.48, 0.52, 0.50, 0.51], [0.49, 0.53, 0.47, 0.52]),
        "pose": ([0.19, 0.21, 0.22, 0.18], [0.30, 0.31, 0.29, 0.30]),
        "smile": ([0.60, 0.62, 0.61, 0.63], [0.59, 0.62, 0.60, 0.62]),
    }
    rows = []
    for task, arms in levels.items():
        for (scenario, source, depth), values in zip((("none", "none", "none"), ("cae", "cae", "conv2+fc1")), arms):
            for seed, value in enumerate(values):
                rows.append({"task": task, "scenario": scenario, "source": source, "depth": depth, "n_train": 50,
                             "seed": seed, "pretrain_seed": seed if scenario == "cae" else -1, "accuracy": value,
                             "balanced_accuracy": value, "macro_f1": value})
    return pd.DataFrame(rows)


def test_a_task_at_chance_in_both_arms_gets_no_signal_not_no():
    metrics = chance_metrics()
    summary = summarise(metrics)
    chance = chance_levels(summary, CLAIM).set_index("task")
    # glasses: none 0.5025 +- 3.182 * 0.01708 / 2 = [0.4753, 0.5297], CAE 0.5025 +- 3.182 * 0.02754 / 2: both hold 0.5
    assert chance.loc["glasses", "chance_level"] == 0.5 and chance.loc["glasses", "at_chance"]
    assert chance.loc["glasses", "baseline_ci_low"] == pytest.approx(0.5025 - 3.182446 * np.std([0.48, 0.52, 0.50, 0.51], ddof=1) / 2)
    # pose: chance 1/5; none's interval holds 0.2, the CAE's (0.2925 ... 0.3075) does not
    assert chance.loc["pose", "chance_level"] == pytest.approx(0.2) and not chance.loc["pose", "at_chance"]
    assert chance.loc["pose", "baseline_ci_low"] < 0.2 < chance.loc["pose", "baseline_ci_high"]
    assert not chance.loc["smile", "at_chance"]
    table = claim_test(metrics, hand_inference(), CLAIM, summary).set_index("task")
    # smile: gains -0.01, 0, -0.01, -0.01 (mean -0.0075, SE 0.0025): within +-2 points by TOST, t = (0.02 - 0.0075)
    # / 0.0025 = 5 on 3 df, Holm's first of three steps; glasses' gain 0 (SE 0.01) is not, and both arms sit at chance
    assert table.loc["smile", "p_equivalence_holm"] == pytest.approx(3 * stats.t.sf(5, 3))
    assert table["verdict"].to_dict() == {"glasses": "no signal at this N", "pose": "better", "smile": "equivalent"}
    assert table.loc["glasses", "decision"] == "inconclusive"
    assert not table.loc["glasses", "accuracy_half_holds"]


def test_a_single_seed_is_never_called_at_chance():
    one_seed = chance_metrics().query("seed == 0")
    assert not chance_levels(summarise(one_seed), CLAIM)["at_chance"].any()


# ---- checkpoint sensitivity (exploratory) ----

def checkpoint_rows():
    """checkpoints.csv at 5 and 10 epochs for smile and gender, three seeds: smile's CAE
    gains +0.10, +0.11, +0.12 at 5 epochs and -0.01, -0.02, -0.03 at 10; gender's 0.00,
    -0.01, -0.02 at both."""
    gains = {("smile", 5): [0.10, 0.11, 0.12], ("smile", 10): [-0.01, -0.02, -0.03],
             ("gender", 5): [0.0, -0.01, -0.02], ("gender", 10): [0.0, -0.01, -0.02]}
    rows = []
    for (task, epochs), values in gains.items():
        for seed, value in enumerate(values):
            base = 0.6 + 0.01 * seed
            for scenario, source, depth, score, pretrained in (("none", "none", "none", base, -1),
                                                                ("cae", "cae", "conv2+fc1", base + value, seed)):
                rows.append({"task": task, "scenario": scenario, "source": source, "depth": depth, "n_train": 50,
                             "seed": seed, "pretrain_seed": pretrained, "epochs": epochs, "accuracy": score,
                             "balanced_accuracy": score, "macro_f1": score})
    return pd.DataFrame(rows)


def test_checkpoint_claim_tests_the_claims_gain_at_each_epoch_count():
    table = checkpoint_claim(checkpoint_rows(), CLAIM)
    assert list(zip(table["task"], table["epochs"])) == [("gender", 5), ("gender", 10), ("smile", 5), ("smile", 10)]
    row = table.set_index(["task", "epochs"])
    # smile at 5: mean 0.11, SD 0.01, t = 0.11 / (0.01 / sqrt 3) = 19.05 on 2 df; Holm doubles the smaller p of two
    p = 2 * stats.t.sf(0.11 / (0.01 / np.sqrt(3)), 2)
    assert row.loc[("smile", 5), "gain"] == pytest.approx(0.11) and row.loc[("smile", 5), "p_value"] == pytest.approx(p)
    assert row.loc[("smile", 5), "p_holm"] == pytest.approx(2 * p) and row.loc[("smile", 5), "holds"]
    assert row.loc[("smile", 10), "gain"] == pytest.approx(-0.02) and not row.loc[("smile", 10), "holds"]
    # gender: mean -0.01, SD 0.01, t = -1.732 on 2 df
    assert row.loc[("gender", 5), "gain"] == pytest.approx(-0.01)
    assert row.loc[("gender", 5), "p_value"] == pytest.approx(2 * stats.t.sf(np.sqrt(3), 2))
    assert set(table["unit"]) == {"pretraining seed"} and set(table["n_units"]) == {3}
    assert checkpoint_claim(checkpoint_rows().iloc[:0], CLAIM).empty


def test_checkpoint_changes_compare_the_epoch_counts_and_the_tested_result():
    table = checkpoint_claim(checkpoint_rows(), CLAIM)
    tested = pd.DataFrame({"task": ["gender", "smile"], "gain": [0.001, 0.05], "accuracy_half_holds": [False, True]})
    changes = checkpoint_changes(table, tested).set_index("task")
    assert changes.loc["smile"].tolist() == [True, True]  # +0.11 holds, -0.02 does not
    # gender: -0.01 at both checkpoints against +0.001 tested: the sign differs, the decision (no) does not
    assert changes.loc["gender"].tolist() == [True, False]
    assert checkpoint_changes(table[table["task"] == "smile"].query("epochs == 5"), tested.iloc[1:])["sign_changes"].tolist() == [False]


def hand_int8(metrics):
    """The same classifiers at int8: the CAE loses 0.10 balanced accuracy on every seed (its
    gain turns to about -0.017), no transfer and the CNNs keep theirs; agreement 0.9 for
    the CAE, 1 elsewhere."""
    int8 = metrics[["task", "scenario", "source", "depth", "n_train", "seed", "accuracy", "balanced_accuracy", "macro_f1"]]
    int8 = int8.assign(pretrain_seed=-1, agreement=1.0)
    cae = int8["scenario"] == "cae"
    int8.loc[cae, "balanced_accuracy"] -= 0.10
    int8.loc[cae, "agreement"] = 0.9
    return int8


def test_the_claim_at_int8_beside_float32_with_the_same_test():
    metrics = hand_metrics()
    int8 = hand_int8(metrics)
    table = precision_claim(metrics, int8, hand_inference(), CLAIM).set_index("precision")
    # float32: the pre-declared test itself
    tested = claim_test(metrics, hand_inference(), CLAIM).iloc[0]
    for column in ("gain", "ci_low", "ci_high", "p_value", "p_holm", "verdict", "unit", "n_units"):
        assert table.loc["float32", column] == tested[column]
    # int8: differences by seed +0.10 - 0.10, +0.05 - 0.10, +0.10 - 0.10 = 0, -0.05, 0
    assert table.loc["int8", "gain"] == pytest.approx(-0.05 / 3)
    sd = np.std([0.0, -0.05, 0.0], ddof=1)
    assert table.loc["int8", "p_value"] == pytest.approx(2 * stats.t.sf((0.05 / 3) / (sd / np.sqrt(3)), 2))
    # and both arms' intervals now hold chance (0.5): the same machinery says so at int8
    assert not table.loc["int8", "accuracy_half_holds"] and table.loc["int8", "verdict"] == "no signal at this N"
    assert list(table.columns) == PRECISION_COLUMNS[1:]


def test_what_int8_costs_per_scenario_and_depth():
    metrics = hand_metrics()
    cost = int8_cost(metrics, hand_int8(metrics))
    assert list(cost.columns) == COST_COLUMNS
    assert list(dict.fromkeys(zip(cost["scenario"], cost["depth"]))) == [
        ("none", "none"), ("cae", "conv2+fc1"), ("cnn", "conv1"), ("cnn", "conv2+fc1")]
    cae = cost[(cost["scenario"] == "cae") & (cost["metric"] == "balanced_accuracy")].iloc[0]
    assert cae["float32"] == pytest.approx(1.9 / 3) and cae["int8"] == pytest.approx(1.6 / 3)
    assert cae["cost"] == pytest.approx(0.10) and cae["largest_cost"] == pytest.approx(0.10)
    assert cae["agreement"] == pytest.approx(0.9) and cae["members"] == 3
    kept = cost[(cost["scenario"] != "cae")]
    assert (kept["cost"].abs() < 1e-12).all() and (kept["agreement"] == 1).all()


def test_the_tradeoff_carries_int8_points_and_their_front():
    metrics = hand_metrics()
    table = tradeoff(summarise(metrics), hand_inference(), int8_summary=summarise(hand_int8(metrics)))
    cae = table[table["scenario"] == "cae"].iloc[0]
    assert cae["int8_balanced_accuracy"] == pytest.approx(cae["balanced_accuracy"] - 0.10)
    # float32: the CAE (0.633 at 100 pJ) is on the front; at int8 (0.533) the equally cheap CNN at conv2+fc1
    # (0.570) dominates it
    assert cae["pareto"] and not cae["int8_pareto"]
    assert table.loc[table["depth"] == "conv2+fc1", "int8_pareto"].tolist() == [False, True]
    assert "int8_balanced_accuracy" not in tradeoff(summarise(metrics), hand_inference())


# ---- the pre-declared family and its decision rule ----

UNIT_GAINS = {  # task -> the CAE's gain over none and over random, per pretraining seed (two fine-tuning seeds each)
    "gender": ([0.060, 0.055, 0.065, 0.062], [0.050, 0.045, 0.055, 0.048]),  # better than none, better than random
    "smile": ([-0.060, -0.058, -0.066, -0.061], [0.002, -0.001, 0.001, -0.002]),  # worse than none, equivalent to random
    "glasses": ([0.001, -0.002, 0.002, 0.000], [0.030, -0.040, 0.050, -0.020]),  # equivalent to none, inconclusive
    "pose": ([0.040, -0.050, 0.060, -0.030], None),  # inconclusive against none; no random members for pose
}


def family_metrics(unit_gains=UNIT_GAINS, with_random=True):
    """none, cae (conv2+fc1) and random (conv2+fc1) at N = 50: eight fine-tuning seeds in four
    pretraining seeds (0, 2, 4, 6); within a pretraining seed the two seeds' gains differ by
    +-0.004, so every unit mean is the table's value."""
    rows = []
    for task, (over_none, over_random) in unit_gains.items():
        for seed in range(8):
            unit, wobble = seed // 2, 0.004 * (1 if seed % 2 else -1)
            none = 0.60 + 0.01 * (seed % 3)
            cae = none + over_none[unit] + wobble
            arms = [("none", "none", "none", none, -1), ("cae", "cae", "conv2+fc1", cae, 2 * unit)]
            if with_random and over_random is not None:
                arms.append(("random", "random", "conv2+fc1", cae - over_random[unit] - wobble, 2 * unit))
            for scenario, source, depth, value, pretrained in arms:
                rows.append({"task": task, "scenario": scenario, "source": source, "depth": depth, "n_train": 50,
                             "seed": seed, "pretrain_seed": pretrained, "accuracy": value, "balanced_accuracy": value,
                             "macro_f1": value, "stop_accuracy": value, "stop_balanced_accuracy": value})
    return pd.DataFrame(rows)


def test_each_comparison_is_decided_better_equivalent_worse_or_inconclusive():
    table = claim_test(family_metrics(), hand_inference(), {**CLAIM, "against": ["none", "random"], "margin": 2})
    decisions = dict(zip(zip(table["against"], table["task"]), table["decision"]))
    assert decisions == {
        ("none", "gender"): "better", ("none", "smile"): "worse", ("none", "glasses"): "equivalent",
        ("none", "pose"): "inconclusive",
        ("random", "gender"): "better", ("random", "smile"): "equivalent", ("random", "glasses"): "inconclusive"}
    # one family: Holm over all seven comparisons, the difference tests and the equivalence tests alike
    units = {key: np.array(UNIT_GAINS[key[1]][0 if key[0] == "none" else 1]) for key in decisions}
    p = [stats.ttest_1samp(units[key], 0).pvalue for key in zip(table["against"], table["task"])]
    assert table["p_holm"].to_numpy() == pytest.approx(holm(p))
    tost = [max(stats.t.sf((u.mean() + 0.02) / (u.std(ddof=1) / 2), 3), stats.t.cdf((u.mean() - 0.02) / (u.std(ddof=1) / 2), 3))
            for u in (units[key] for key in zip(table["against"], table["task"]))]
    assert table["p_equivalence"].to_numpy() == pytest.approx(tost)
    assert table["p_equivalence_holm"].to_numpy() == pytest.approx(holm(tost))
    # equivalent exactly where the 90 % interval lies inside +-2 points (before the correction, the TOST's own test)
    inside = (table["equivalence_low"] > -0.02) & (table["equivalence_high"] < 0.02)
    assert (inside == (table["p_equivalence"] < 0.05)).all()
    # the paper's claim is read on the rows against none; better than random alone holds nothing
    assert table.loc[table["against"] == "none", "holds"].tolist() == [True, False, False, False]
    assert table["unit"].eq("pretraining seed").all() and table["n_units"].eq(4).all()


def test_the_family_leaves_out_a_baseline_the_run_lacks():
    claim = {**CLAIM, "against": ["none", "random"]}
    without = claim_test(family_metrics(with_random=False), hand_inference(), claim)
    assert set(without["against"]) == {"none"} and len(without) == 4
    # Holm over the four comparisons that remain
    assert without["p_holm"].to_numpy() == pytest.approx(holm(without["p_value"]))
    alone = claim_test(family_metrics(), hand_inference(), {**CLAIM, "against": ["none"]})
    assert set(alone["against"]) == {"none"}
    # the defaults: against none and random, margin 2 points
    assert set(claim_test(family_metrics(), hand_inference(), CLAIM)["against"]) == {"none", "random"}
    assert (claim_test(family_metrics(), hand_inference(), CLAIM)["margin"] == 0.02).all()


def test_decide_reads_the_corrected_p_values():
    assert decide(0.03, 0.01, 0.9, 0.05) == "better" and decide(-0.03, 0.01, 0.9, 0.05) == "worse"
    assert decide(0.005, 0.2, 0.01, 0.05) == "equivalent" and decide(0.005, 0.2, 0.2, 0.05) == "inconclusive"
    assert decide(0.01, float("nan"), float("nan"), 0.05) == "inconclusive"  # one seed: nothing decided


def test_control_levels_say_whether_each_arms_head_learns():
    metrics = family_metrics()
    random_at_chance = metrics["scenario"] == "random"
    metrics.loc[random_at_chance, "balanced_accuracy"] = 0.5 + 0.01 * (metrics.loc[random_at_chance, "seed"] % 2 - 0.5)
    levels = control_levels(summarise(metrics), CLAIM).set_index(["task", "arm"])
    assert levels.loc[("gender", "none"), "test_above_chance"] and not levels.loc[("gender", "random"), "test_above_chance"]
    assert levels.loc[("gender", "random"), "folds_above_chance"]  # its stop scores were left above chance
    assert ("pose", "random") not in levels.index and levels.loc[("pose", "cae"), "chance_level"] == pytest.approx(0.2)


# ---- the family's false-positive rate on simulated nulls ----

def simulated_family(rng, true_gain, units=4, per_unit=3, tasks=4, unit_sd=0.02, within_sd=0.03):
    """One simulated study of the claim's arms: per task, none, cae and random members for
    units x per_unit fine-tuning seeds; the CAE's pretraining seed (the unit) shifts its
    members and the random trunk's of the same unit; the CAE gains ``true_gain`` over both."""
    pretrain = np.repeat(np.arange(units), per_unit)
    tests = []
    for _ in range(tasks):
        none = rng.normal(0, within_sd, units * per_unit)
        cae = true_gain + rng.normal(0, unit_sd, units)[pretrain] + rng.normal(0, within_sd, units * per_unit)
        random = rng.normal(0, unit_sd, units)[pretrain] + rng.normal(0, within_sd, units * per_unit)
        tests += [comparison_test(cae - none, pretrain, 0.02, 0.05), comparison_test(cae - random, pretrain, 0.02, 0.05)]
    return decide_family(pd.DataFrame(tests), 0.05)["decision"]


@pytest.mark.parametrize("units, unit_sd", [(4, 0.02), (8, 0.01)])
def test_the_family_wise_false_positive_rate_stays_below_alpha_on_simulated_nulls(units, unit_sd):
    """2000 simulated studies without any gain (four tasks x two comparisons, units of three
    seeds): any 'better' or 'worse' is a false positive. Holm in the pretraining-seed unit
    keeps the rate at or below alpha (0.05, allowing 2.5 Monte Carlo SDs); ignoring the unit
    or the correction would not. Four units with the unit's variance a third of the gains'
    spread (measured on 600 of them: 0.043 as it is, 0.15 across fine-tuning seeds, 0.30
    without Holm); and the published quick study's design and spreads, eight units, a unit
    SD of 1 point and 3 within (0.048 on 10,000 of them)."""
    rng = np.random.default_rng(0)
    n = 2000
    false = sum(simulated_family(rng, 0.0, units=units, unit_sd=unit_sd).isin(["better", "worse"]).any()
                for _ in range(n))
    assert false / n <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / n), false / n


def test_equivalence_is_rarely_claimed_for_a_gain_at_the_margin():
    """With every true gain exactly at the margin (+2 points), 'equivalent' is a false claim:
    the family's rate of any such claim stays at or below alpha (without Holm on the
    equivalence tests: 0.09 on 600 of them)."""
    rng = np.random.default_rng(1)
    n = 1000
    false = sum(simulated_family(rng, 0.02, within_sd=0.01, unit_sd=0.005).eq("equivalent").any() for _ in range(n))
    assert false / n <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / n), false / n
