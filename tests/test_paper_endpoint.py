"""The paper's endpoint: which blocks train again under the plain objective, the
majority-class rate, and the paired accuracy gains beside the paper's, on tables whose
answers are worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from workflow_scripts.finetune import paper_endpoint
from workflow_scripts.finetune.paper_endpoint import GAIN_COLUMNS, endpoint_gains
from workflow_scripts.study.config import ConfigError, check_config, load_config_file
from workflow_scripts.study.grid import pretrain_seed_of
from workflow_scripts.study.protocol import Protocol


@pytest.fixture
def config():
    return load_config_file(ROOT / "config.yaml")


def block(task, scenario, source, depth):
    return {"task": task, "scenario": scenario, "source": source, "depth": depth}


def test_the_claims_comparison_per_task_at_the_claims_depth_and_n(config):
    config["finetune"].update(tasks=["smile", "pose"], depths=["conv2", "conv4+fc1"], train_sizes=[50, 200])
    assert paper_endpoint.endpoint_blocks(config) == [
        block("smile", "none", "none", "none"), block("smile", "cae", "cae", "conv4+fc1"),
        block("pose", "none", "none", "none"), block("pose", "cae", "cae", "conv4+fc1"),
    ]
    assert paper_endpoint.endpoint_train_sizes(config) == [50]
    # the claim's own depth and N, not the defaults
    config["analysis"]["claim"].update(depth="conv2", n_train=200)
    assert [b["depth"] for b in paper_endpoint.endpoint_blocks(config)] == ["none", "conv2"] * 2
    assert paper_endpoint.endpoint_train_sizes(config) == [200]


def test_no_blocks_when_switched_off_or_without_both_arms(config):
    assert config["analysis"]["paper_endpoint"] is True  # the schema's default
    config["analysis"]["paper_endpoint"] = False
    assert paper_endpoint.endpoint_blocks(config) == []
    config["analysis"]["paper_endpoint"] = True
    config["finetune"]["scenarios"] = ["none", "cnn"]
    assert paper_endpoint.endpoint_blocks(config) == []


def test_the_protocol_is_the_studys_with_the_plain_objective(config):
    config["finetune"].update(epoch_choice="cross_validated", folds=3, objective="balanced", stack="seeds")
    settings = paper_endpoint.endpoint_protocol(config["finetune"])
    assert settings == {"epoch_choice": "cross_validated", "stop_fraction_of_n": 0.2, "folds": 3,
                        "cv_criterion": "pooled_error", "objective": "plain", "stack": "seeds"}
    assert Protocol.from_config(settings).objective == "plain"
    assert config["finetune"]["objective"] == "balanced"  # the study's own config is left alone


def test_majority_rate():
    assert paper_endpoint.majority_rate([0, 1, 1, 2, 1]) == pytest.approx(0.6)
    assert paper_endpoint.majority_rate(np.array([4, 4])) == 1.0
    with pytest.raises(ValueError):
        paper_endpoint.majority_rate([])


def test_majority_accuracy_reads_the_test_faces_only():
    # every face but the test faces (1, 3, 4) is smiling (0); of the test faces two in three are not (1)
    table = pd.DataFrame({"smile": [0, 1, 0, 1, 0, 0], "pose": [2, 2, 0, 2, 4, 2]})
    rates = paper_endpoint.majority_accuracies(table, np.array([1, 3, 4]), ["smile", "pose"])
    assert rates == pytest.approx({"smile": 2 / 3, "pose": 2 / 3})


def test_endpoint_table_adds_the_objective_and_the_majority_rate():
    metrics = pd.DataFrame({"task": ["pose", "smile", "smile"], "scenario": ["none", "cae", "none"],
                            "source": ["none", "cae", "none"], "depth": ["none", "conv2+fc1", "none"],
                            "n_train": [20, 20, 20], "seed": [0, 0, 0], "accuracy": [0.5, 0.6, 0.7]})
    table = paper_endpoint.endpoint_table(metrics, {"smile": 0.55, "pose": 0.8})
    assert list(table.columns) == [*metrics.columns, "objective", "majority_accuracy"]
    assert list(zip(table["task"], table["scenario"], table["majority_accuracy"])) == [
        ("pose", "none", 0.8), ("smile", "cae", 0.55), ("smile", "none", 0.55)]
    assert set(table["objective"]) == {"plain"}
    with pytest.raises(ValueError, match="pose"):
        paper_endpoint.endpoint_table(metrics, {"smile": 0.55})


def endpoint_rows(task, none, cae, depth="conv4+fc1", majority=0.5, n_train=50, cae_seeds=None):
    rows = [{"task": task, "scenario": "none", "source": "none", "depth": "none", "n_train": n_train, "seed": seed,
             "accuracy": accuracy, "majority_accuracy": majority} for seed, accuracy in enumerate(none)]
    rows += [{"task": task, "scenario": "cae", "source": "cae", "depth": depth, "n_train": n_train, "seed": seed,
              "accuracy": accuracy, "majority_accuracy": majority}
             for seed, accuracy in zip(cae_seeds or range(len(cae)), cae)]
    return rows


def test_endpoint_gains_worked_by_hand():
    endpoint = pd.DataFrame(
        # gender: gains by seed +0.03, 0.00, +0.06: mean 0.03, SD 0.03, SE 0.03 / sqrt(3) = 0.0173205,
        # t(0.975, 2 df) = 4.302653, half-width 0.0745241
        endpoint_rows("gender", none=[0.60, 0.62, 0.58], cae=[0.63, 0.62, 0.64], majority=0.55)
        # pose: gains -0.05, +0.05 (seeds 0, 1): mean 0, SD 0.0707107, SE 0.05, t(0.975, 1 df) = 12.706205,
        # half-width 0.635310; the cae member of seed 2 has no none partner and is left out of every column
        + endpoint_rows("pose", none=[0.50, 0.40], cae=[0.45, 0.45, 0.99], majority=0.7)
        # smile: one seed, no interval
        + endpoint_rows("smile", none=[0.70], cae=[0.65], majority=0.6))
    gains = endpoint_gains(endpoint)
    assert list(gains.columns) == GAIN_COLUMNS == ["task", "paper_gain", "plain_gain", "ci_low", "ci_high", "n",
                                                    "n_pairs", "none_accuracy", "cae_accuracy", "majority_accuracy"]
    assert list(gains["task"]) == ["gender", "pose", "smile"]
    gender, pose, smile = (row for _, row in gains.iterrows())
    # the paper's +1.98, +1.47, +1.88 points, on the accuracy scale of the measured gains
    assert (gender["paper_gain"], pose["paper_gain"], smile["paper_gain"]) == pytest.approx((0.0198, 0.0147, 0.0188))
    assert gender["plain_gain"] == pytest.approx(0.03)
    assert (gender["ci_low"], gender["ci_high"]) == pytest.approx((0.03 - 0.0745241, 0.03 + 0.0745241), abs=1e-6)
    assert (gender["n"], gender["none_accuracy"], gender["cae_accuracy"], gender["majority_accuracy"]) == pytest.approx(
        (3, 0.60, 0.63, 0.55))
    assert pose["plain_gain"] == pytest.approx(0.0, abs=1e-12)
    assert (pose["ci_low"], pose["ci_high"]) == pytest.approx((-0.635310, 0.635310), abs=1e-6)
    assert (pose["n"], pose["none_accuracy"], pose["cae_accuracy"], pose["majority_accuracy"]) == pytest.approx(
        (2, 0.45, 0.45, 0.7))
    assert smile["plain_gain"] == pytest.approx(-0.05) and smile["n"] == 1
    assert (gender["n_pairs"], pose["n_pairs"], smile["n_pairs"]) == (3, 2, 1)
    assert math.isnan(smile["ci_low"]) and math.isnan(smile["ci_high"])


def test_endpoint_gains_pair_by_seed_not_by_row_order():
    rows = endpoint_rows("gender", none=[0.60, 0.70], cae=[0.75, 0.61], cae_seeds=[1, 0])
    gains = endpoint_gains(pd.DataFrame(rows[::-1]))
    # by seed the gains are +0.01, +0.05 (SE 0.02); paired by position they would be -0.09, +0.15
    # (the same mean, SE 0.12): the interval tells them apart
    assert gains.loc[0, "plain_gain"] == pytest.approx(0.03)
    assert gains.loc[0, "ci_low"] == pytest.approx(0.03 - 12.706205 * 0.02, abs=1e-6)


def test_endpoint_gains_take_the_pretraining_seed_as_the_unit_where_there_are_several():
    rows = endpoint_rows("gender", none=[0.60, 0.60, 0.60, 0.60], cae=[0.61, 0.63, 0.70, 0.72])
    for row in rows:
        row["pretrain_seed"] = {0: 0, 1: 0, 2: 2, 3: 2}[row["seed"]] if row["scenario"] == "cae" else -1
    gains = endpoint_gains(pd.DataFrame(rows))
    # gains +0.01, +0.03 (pretraining seed 0) and +0.10, +0.12 (seed 2): unit means 0.02 and 0.11,
    # mean 0.065, SD 0.0636396, SE 0.045, t(0.975, 1 df) = 12.706205: half-width 0.571779 over 2 units
    # (across the four fine-tuning seeds it would be 0.0835 with 3 df)
    assert gains.loc[0, "plain_gain"] == pytest.approx(0.065)
    assert gains.loc[0, "n"] == 2
    assert gains.loc[0, "ci_high"] - 0.065 == pytest.approx(0.571779, abs=1e-5)


def test_endpoint_gains_refuse_several_settings_in_one_arm():
    two_sizes = endpoint_rows("gender", [0.6], [0.7]) + endpoint_rows("gender", [0.6], [0.7], n_train=200)
    with pytest.raises(ValueError, match="several N"):
        endpoint_gains(pd.DataFrame(two_sizes))
    two_depths = endpoint_rows("gender", [0.6], [0.7]) + endpoint_rows("gender", [], [0.8], depth="conv2")
    with pytest.raises(ValueError, match="cae arm"):
        endpoint_gains(pd.DataFrame(two_depths))


def test_endpoint_gains_of_an_empty_table_have_the_columns():
    empty = pd.DataFrame(columns=["task", "scenario", "source", "depth", "n_train", "seed", "accuracy", "majority_accuracy"])
    assert list(endpoint_gains(empty).columns) == GAIN_COLUMNS and endpoint_gains(empty).empty


def test_the_endpoint_trains_every_seed_or_the_first_of_each_unit(config):
    config["pretrain"].update(per_seed=True, shared_by=3)
    config["finetune"]["seeds"] = [4, 5, 6, 7, 8, 9, 10, 11, 12]
    check_config(config)
    assert paper_endpoint.endpoint_seeds(config) == config["finetune"]["seeds"]  # absent: every seed
    config["analysis"]["paper_endpoint_per_unit"] = 2
    check_config(config)
    # every unit (4, 7, 10) stays, with its first two seeds
    assert paper_endpoint.endpoint_seeds(config) == [4, 5, 7, 8, 10, 11]
    assert {pretrain_seed_of(config)[seed] for seed in paper_endpoint.endpoint_seeds(config)} == {4, 7, 10}
    # without per-seed pretraining every seed is a unit of its own, and stays
    config["pretrain"].update(per_seed=False, shared_by=1)
    assert paper_endpoint.endpoint_seeds(config) == config["finetune"]["seeds"]


def test_more_endpoint_seeds_than_a_unit_holds_are_refused(config):
    config["pretrain"].update(per_seed=True, shared_by=3)
    config["finetune"]["seeds"] = list(range(9))
    config["analysis"]["paper_endpoint_per_unit"] = 4
    with pytest.raises(ConfigError, match=r"key 'analysis.paper_endpoint_per_unit': 4 exceeds the 3 seeds of a "
                                          r"pretraining unit \(pretrain.shared_by\)"):
        check_config(config)
