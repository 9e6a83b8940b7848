"""The compute of learning on the device: frozen layers forward only, trained layers
forward and backward, and the stop faces scored once per epoch."""

import pandas as pd

from workflow_scripts.deploy.training_compute import fold_training_sizes, forward_macs, frozen_layers, training_macs
from workflow_scripts.nn.architecture import Architecture, ConvSpec

TINY = Architecture((ConvSpec(4, 3, 2), ConvSpec(8, 3, 2)), fc1=16, fc2=8, image_size=16)


def test_training_macs_count_frozen_layers_forward_only():
    forward = {("conv1", 0): 1000, ("conv2", 0): 500, ("fc1", 0): 100, ("fc2", 0): 10, ("out", 2): 2, ("out", 5): 5}
    metrics = pd.DataFrame([
        {"task": "smile", "scenario": "cae", "source": "cae", "depth": "conv2+fc1", "n_train": 60, "seed": 0, "epochs_run": 3,
         "n_fit": 50, "n_stop": 10},
        {"task": "pose", "scenario": "none", "source": "none", "depth": "none", "n_train": 200, "seed": 1, "epochs_run": 2,
         "n_fit": 200, "n_stop": 0},
    ])
    table = training_macs(metrics, forward, {"conv2+fc1": ["conv1", "conv2", "fc1"]},
                          ["conv1", "conv2", "fc1", "fc2", "out"], 100, {"smile": 2, "pose": 5}, batch_size=32)
    frozen, scratch = table.iloc[0], table.iloc[1]
    assert frozen["samples_seen"] == 3 * 2 * 50  # two passes over the 50 trained faces make an epoch of >= 100
    # forward through the frozen prefix, three forwards' worth through fc2 and out, and
    # each epoch the 10 stop faces through the whole classifier
    assert frozen["training_macs"] == 300 * (1600 + 3 * 12) + 3 * 10 * 1612
    assert frozen["early_stopping_macs"] == 3 * 10 * 1612
    assert scratch["samples_seen"] == 2 * 200
    assert scratch["training_macs"] == 400 * 3 * 1615 and scratch["frozen_forward_macs"] == 0
    assert list(table.columns[:6]) == ["task", "scenario", "source", "depth", "n_train", "seed"]


def test_forward_macs_per_layer_and_output_size():
    macs = forward_macs(TINY, [5, 2, 2])
    # conv1: 16x16 outputs x 4 channels x 9; conv2: 8x8 x 8 x (4 x 9); fc1: 128 -> 16; fc2: 16 -> 8
    assert macs == {("conv1", 0): 16 * 16 * 4 * 9, ("conv2", 0): 8 * 8 * 8 * 4 * 9, ("fc1", 0): 128 * 16,
                    ("fc2", 0): 16 * 8, ("out", 2): 8 * 2, ("out", 5): 8 * 5}
    assert frozen_layers(TINY, ["conv1", "conv2+fc1"]) == {"conv1": ["conv1"], "conv2+fc1": ["conv1", "conv2", "fc1"]}


def test_a_cross_validated_row_counts_its_folds_and_its_refit():
    """N = 10 in 3 folds (4, 3, 3 faces): the folds train on 6, 7 and 7 faces for 4 epochs
    and score all 10 faces once an epoch; the refit trains on 10 for its chosen 2 epochs,
    each a fold's optimiser steps, scoring none (the 5 it ran for a checkpoint are the
    analysis's, not counted)."""
    assert fold_training_sizes(10, 3) == [6, 7, 7]
    forward = {("fc2", 0): 10, ("out", 2): 2}
    metrics = pd.DataFrame([{"task": "smile", "scenario": "none", "source": "none", "depth": "none", "n_train": 10,
                             "seed": 0, "best_epoch": 2, "epochs_run": 5, "n_fit": 10, "n_stop": 10, "folds": 3,
                             "fold_epochs_run": 4}])
    row = training_macs(metrics, forward, {}, ["fc2", "out"], 20, {"smile": 2}, batch_size=4).iloc[0]
    # passes per epoch to reach 20 samples: 4 of 6 faces, 3 of 7 (of 2 batches of 4 each: 8,
    # 6 and 6 steps, 7 on average); the refit's 7 steps over 10 faces (3 batches a pass):
    # two passes and one batch, 24 samples, where its own 2 passes would draw 20
    assert row["samples_seen"] == 2 * 24 + 4 * (4 * 6 + 3 * 7 + 3 * 7)
    assert row["early_stopping_macs"] == 4 * 10 * 12
    assert row["training_macs"] == row["samples_seen"] * 3 * 12 + 4 * 10 * 12
