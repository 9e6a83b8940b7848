import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workflow_scripts.analysis import (
    choose_by_stop_score, claim_test, figure_settings, headline, holm, paired_gains, pareto_mask, summarise, tradeoff,
)

CLAIM = {"depth": "conv2+fc1", "n_train": 50, "metric": "balanced_accuracy", "alpha": 0.05,
         "energy_reduction_at_least": 2.0, "hardware": "hw"}


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
    gains = paired_gains(pd.concat([metrics, other]))
    table = claim_test(gains, hand_inference(), CLAIM).set_index("task")
    assert list(table.index) == ["gender", "smile"]  # the study's task order
    smile, gender = table.loc["smile"], table.loc["gender"]
    assert smile["p_holm"] == pytest.approx(min(1, 2 * min(smile["p_value"], gender["p_value"])))
    assert smile["p_holm"] > smile["p_value"]
    assert smile["accuracy_half_holds"] == (smile["p_holm"] < 0.05)
    assert not gender["accuracy_half_holds"]
    assert (table["energy_reduction"] == 4.0).all() and table["energy_half_holds"].all()
    assert set(table["ceiling_layers"]) == {"conv1+conv2+fc1+fc2"} and set(table["ceiling_reduction"]) == {4.5}
    strict = claim_test(gains, hand_inference(), {**CLAIM, "energy_reduction_at_least": 5.0})
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
