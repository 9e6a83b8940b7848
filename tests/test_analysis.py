import numpy as np
import pandas as pd
import pytest

from workflow_scripts.analysis import deepest_depth, headline, paired_gains, pareto_mask, summarise, tradeoff


def hand_metrics():
    """smile at n=50, three seeds: none, cae at conv2+fc1, cnn from gender at conv1 and conv2+fc1."""
    rows = []
    values = {
        ("none", "none", "none"): [0.50, 0.60, 0.55],
        ("cae", "cae", "conv2+fc1"): [0.60, 0.65, 0.65],
        ("cnn", "gender", "conv1"): [0.50, 0.60, 0.60],
        ("cnn", "gender", "conv2+fc1"): [0.52, 0.62, 0.57],
    }
    for (scenario, source, depth), per_seed in values.items():
        for seed, value in enumerate(per_seed):
            rows.append({"task": "smile", "scenario": scenario, "source": source, "depth": depth, "n_train": 50,
                         "seed": seed, "accuracy": value + 0.1, "balanced_accuracy": value, "macro_f1": value - 0.1})
    return pd.DataFrame(rows)


def hand_inference():
    return pd.DataFrame([
        {"hardware": "hw", "scenario": "none", "depth": "none", "energy_pj": 400.0, "reduction_vs_none": 1.0},
        {"hardware": "hw", "scenario": "cae", "depth": "conv2+fc1", "energy_pj": 100.0, "reduction_vs_none": 4.0},
        {"hardware": "hw", "scenario": "cnn", "depth": "conv1", "energy_pj": 300.0, "reduction_vs_none": 400 / 300},
        {"hardware": "hw", "scenario": "cnn", "depth": "conv2+fc1", "energy_pj": 100.0, "reduction_vs_none": 4.0},
    ])


def test_summary_mean_std_and_t_interval():
    summary = summarise(hand_metrics()).set_index(["scenario", "depth", "metric"])
    none = summary.loc[("none", "none", "balanced_accuracy")]
    assert none["mean"] == pytest.approx(0.55)
    assert none["std"] == pytest.approx(0.05)
    # t(0.975, 2) = 4.3027; half width = 4.3027 * 0.05 / sqrt(3)
    assert none["ci_high"] - none["mean"] == pytest.approx(4.302653 * 0.05 / np.sqrt(3), rel=1e-5)
    assert none["n_seeds"] == 3


def test_paired_gains_and_test():
    gains = paired_gains(hand_metrics()).set_index(["scenario", "depth", "metric"])
    cae = gains.loc[("cae", "conv2+fc1", "balanced_accuracy")]
    # differences by seed: +0.10, +0.05, +0.10
    assert cae["gain"] == pytest.approx(0.25 / 3)
    assert cae["n_pairs"] == 3
    sd = np.std([0.10, 0.05, 0.10], ddof=1)
    t = (0.25 / 3) / (sd / np.sqrt(3))
    from scipy import stats
    assert cae["p_value"] == pytest.approx(2 * stats.t.sf(t, 2))
    # identical differences (+0.02 each): no spread, no test
    assert np.isnan(gains.loc[("cnn", "conv2+fc1", "balanced_accuracy"), "p_value"])
    assert gains.loc[("cnn", "conv2+fc1", "accuracy"), "gain"] == pytest.approx(0.02)


def test_headline_picks_the_deepest_cae_and_the_best_cnn():
    table = headline(paired_gains(hand_metrics()), hand_inference())
    row = table.iloc[0]
    assert row["cae_depth"] == "conv2+fc1" and row["cae_balanced_accuracy_gain"] == pytest.approx(0.25 / 3)
    assert row["cae_energy_reduction_hw"] == pytest.approx(4.0)
    assert row["cae_balanced_accuracy_ci_low"] < row["cae_balanced_accuracy_gain"] < row["cae_balanced_accuracy_ci_high"]
    # cnn gains: conv1 +0.017 (0, 0, +0.05), conv2+fc1 +0.02 (each seed): the latter is best
    assert (row["cnn_source"], row["cnn_depth"]) == ("gender", "conv2+fc1")
    assert row["cnn_energy_reduction_hw"] == pytest.approx(4.0)


def test_deepest_depth():
    assert deepest_depth(["conv1", "conv4+fc1", "conv2"]) == "conv4+fc1"
    assert deepest_depth(["conv10", "conv2"]) == "conv10"


def test_pareto_mask():
    accuracy = [0.9, 0.8, 0.7, 0.85, 0.9]
    energy = [10.0, 5.0, 6.0, 5.0, 12.0]
    # (0.7, 6) is beaten by (0.8, 5); (0.8, 5) by (0.85, 5); (0.9, 12) by (0.9, 10)
    assert pareto_mask(accuracy, energy).tolist() == [True, False, False, True, False]


def test_tradeoff_marks_the_front_per_task_and_size():
    table = tradeoff(summarise(hand_metrics()), hand_inference()).set_index(["scenario", "depth"])
    assert table.loc[("cae", "conv2+fc1"), "pareto"]  # best accuracy at least energy
    assert not table.loc[("none", "none"), "pareto"] and not table.loc[("cnn", "conv1"), "pareto"]
