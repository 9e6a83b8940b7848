"""The compute of learning each classifier of the grid on the device, in MACs, from the
epochs it actually ran (``results/metrics.csv``) and the forward MACs of each layer.

Frozen layers cost a forward pass per sample; trained layers a forward and a backward
(about twice the forward: gradients for the inputs and for the weights). Early stopping
scores the stop faces through the whole classifier once per epoch. Cross-validated, the
folds' trainings and scoring count too: k models, each on the N faces outside its fold,
for ``fold_epochs_run`` epochs, each epoch scoring the N faces once between them; the
refit on all N scores nothing, and its epoch draws a fold's optimiser steps of batches. The per-layer counts
are ``energy.count_layers``'s forward hooks, the same ZigZag's counts are checked against.
"""

import numpy as np
import pandas as pd

from workflow_scripts.deploy.energy import count_layers
from workflow_scripts.nn.architecture import Architecture, prefix_layers
from workflow_scripts.nn.networks import build_classifier
from workflow_scripts.study import scenarios
from workflow_scripts.study.grid import BLOCK_KEY
from workflow_scripts.study.protocol import cross_validation_folds, epoch_samples, passes_per_epoch, refit_steps_per_epoch

BACKWARD_FACTOR = 2  # a backward pass costs about two forward passes


def forward_macs(architecture: Architecture, class_counts) -> dict:
    """(layer, n_classes or 0) -> forward MACs of one image: the output layer once per
    class count, every other layer once (keyed 0)."""
    side = architecture.image_size
    macs = {}
    for n_classes in sorted(set(class_counts)):
        for row in count_layers(build_classifier(architecture, n_classes), (1, side, side)).itertuples():
            macs[(row.layer, n_classes if row.layer == scenarios.OUTPUT_LAYER else 0)] = row.macs
    return macs


def frozen_layers(architecture: Architecture, depths) -> dict[str, list[str]]:
    """Depth -> the layers a frozen transfer to that depth keeps fixed."""
    return {depth: prefix_layers(depth, architecture) for depth in depths}


def fold_training_sizes(n_train: int, folds: int) -> list[int]:
    """The training faces of each cross-validation fold: N minus the fold's faces (the
    folds' sizes do not depend on the labels, only on how ``cross_validation_folds`` deals)."""
    return [n_train - int(size) for size in np.bincount(cross_validation_folds(np.zeros(n_train), folds), minlength=folds)]


def training_macs(metrics: pd.DataFrame, forward_macs: dict, frozen_layers: dict, layer_names, min_epoch_samples: int,
                  task_classes: dict, *, batch_size: int) -> pd.DataFrame:
    """MACs of learning each classifier (a row of ``metrics``) on the device.

    Samples seen = epochs x passes per epoch x n_fit (the faces it trained on), where
    epochs is epochs_run, or a cross-validated row's chosen count (best_epoch: its refit
    without the epochs run on for analysis.checkpoints, each epoch a fold's optimiser steps
    of ``batch_size`` batches: ``protocol.epoch_samples``); each epoch also scores its n_stop
    stop faces through the whole classifier. Cross-validated rows (``folds`` > 0) add
    their folds' samples and scoring (module docstring).
    forward_macs: (layer, n_classes or 0) -> MACs; frozen_layers: depth -> frozen layers;
    layer_names: a classifier's layers, input to output.
    """
    rows = []
    for row in metrics.itertuples(index=False):
        n_classes = task_classes[row.task]
        frozen = frozen_layers.get(row.depth, []) if scenarios.is_frozen(row.scenario) else []
        trained = [name for name in layer_names if name not in frozen]

        def macs(names):
            return sum(forward_macs[(name, n_classes if name == scenarios.OUTPUT_LAYER else 0)] for name in names)

        folds = int(getattr(row, "folds", 0) or 0)
        # a cross-validated refit needs its chosen count (best_epoch); the epochs it runs on
        # to the last of analysis.checkpoints are the analysis's, not the protocol's
        epochs = row.best_epoch if folds else row.epochs_run
        if folds:
            fold_sizes = fold_training_sizes(row.n_train, folds)
            steps = refit_steps_per_epoch(fold_sizes, min_epoch_samples, batch_size)
            samples = epochs * epoch_samples(row.n_fit, min_epoch_samples, batch_size, steps)
            samples += row.fold_epochs_run * sum(passes_per_epoch(n, min_epoch_samples) * n for n in fold_sizes)
            stop_scores = row.fold_epochs_run * row.n_train  # every face scored once an epoch, in its own fold
        else:
            samples = epochs * passes_per_epoch(row.n_fit, min_epoch_samples) * row.n_fit
            stop_scores = row.epochs_run * row.n_stop
        rows.append({
            **{key: getattr(row, key) for key in BLOCK_KEY},
            "n_train": row.n_train, "seed": row.seed, "epochs_trained": epochs, "samples_seen": samples,
            "frozen_forward_macs": samples * macs(frozen), "trained_macs": samples * (1 + BACKWARD_FACTOR) * macs(trained),
            "early_stopping_macs": stop_scores * macs(layer_names),
        })
    table = pd.DataFrame(rows)
    table["training_macs"] = table["frozen_forward_macs"] + table["trained_macs"] + table["early_stopping_macs"]
    return table
