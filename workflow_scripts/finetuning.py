"""One block of the transfer grid: a target task, a scenario, a source and a depth,
trained at every labelled-set size and seed.

Scenarios:
- ``none``: the whole classifier from random initialisation;
- ``cae`` / ``cnn``: the prefix up to the depth copied from the source (the CAE encoder
  or another task's CNN) and frozen; only the rest is trained, on the prefix's outputs
  computed once (``extract_features``);
- ``cae_tuned`` / ``cnn_tuned``: the same copy, but the copied layers train too (they can
  no longer be shared between tasks at inference).

Every member starts from ``torch.manual_seed(seed)``'s classifier, so scenarios compared
at one seed share the initialisation of the layers they train, their labelled subset and
their batch order.
"""

import json

import numpy as np
import pandas as pd
import torch

from .metrics import balanced_class_weights, classification_metrics
from .networks import Architecture, build_classifier, network_input, prefix_length, transfer_prefix
from .splits import faces_with_role, subset_faces
from .tasks import N_CLASSES
from .training import FitSettings, balanced_error, fit_stacked, predict_stacked, weighted_cross_entropy

FROZEN_SCENARIOS = ("cae", "cnn")
TUNED_SCENARIOS = ("cae_tuned", "cnn_tuned")
SCENARIOS = ("none", *FROZEN_SCENARIOS, *TUNED_SCENARIOS)


def needed_faces(roles: pd.DataFrame, subsets: pd.DataFrame) -> np.ndarray:
    """Faces a fine-tuning job ever looks at: every labelled subset, validation and test."""
    used = np.concatenate([subsets["face"].to_numpy(), faces_with_role(roles, "validation"), faces_with_role(roles, "test")])
    return np.unique(used)


@torch.no_grad()
def extract_features(trunk, length: int, images, faces, device, chunk: int = 1024) -> dict:
    """Outputs of the first ``length`` trunk blocks for ``faces``: {faces, features}."""
    prefix = trunk[:length].to(device).eval()
    inputs = network_input(images[torch.as_tensor(faces)])
    features = torch.cat([prefix(inputs[i:i + chunk].to(device)).cpu() for i in range(0, len(inputs), chunk)])
    return {"faces": torch.as_tensor(faces), "features": features}


def run_block(
    *,
    task: str,
    scenario: str,
    source: str,
    depth: str,
    architecture: Architecture,
    table: pd.DataFrame,
    roles: pd.DataFrame,
    subsets: pd.DataFrame,
    settings: FitSettings,
    train_sizes,
    seeds,
    device,
    images=None,
    features=None,
    trunk=None,
    batch_seeds="auto",
):
    """Train the block's classifiers; return (metrics table, curves table, trained states).

    ``features`` ({faces, features}) feeds the frozen scenarios; ``images`` the others.
    ``trunk`` is the source network's trunk, needed by the ``*_tuned`` scenarios.
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}")
    n_classes = N_CLASSES[task]
    length = 0 if scenario == "none" else prefix_length(depth, architecture)
    frozen = scenario in FROZEN_SCENARIOS
    if frozen:
        inputs = features["features"]
        row_of_face = torch.full((len(table),), -1, dtype=torch.long)
        row_of_face[features["faces"]] = torch.arange(len(features["faces"]))
    else:
        inputs = network_input(images)
        row_of_face = torch.arange(len(table))

    def rows(faces):
        found = row_of_face[torch.as_tensor(faces)]
        if (found < 0).any():
            raise ValueError("cached features lack some faces the block needs; rerun extract_features")
        return found

    labels_by_face = torch.tensor(table[task].to_numpy())
    targets = labels_by_face[features["faces"]] if frozen else labels_by_face
    validation = rows(faces_with_role(roles, "validation"))
    test = rows(faces_with_role(roles, "test"))
    validation_weights = torch.tensor(balanced_class_weights(targets[validation], n_classes), dtype=torch.float32)

    def initial_module(seed):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_classifier(architecture, n_classes)
        if frozen:
            return model[length:]  # the prefix is the source's, already applied in the features
        if length:
            transfer_prefix(model, trunk, length)
        return model

    metric_rows, curve_tables, states = [], [], {}
    if batch_seeds == "auto":
        # measured on the CPU: stacked convolutions over full images are slower than one
        # model at a time; stacked heads on cached features are faster
        batch_seeds = device.type == "cuda" or frozen
    seed_groups = [list(seeds)] if batch_seeds else [[seed] for seed in seeds]
    for n_train in train_sizes:
        for group in seed_groups:
            train_rows = torch.stack([rows(subset_faces(subsets, seed, n_train)) for seed in group])
            class_weights = torch.stack([
                torch.tensor(balanced_class_weights(targets[r], n_classes), dtype=torch.float32) for r in train_rows
            ])
            modules = [initial_module(seed) for seed in group]
            result = fit_stacked(
                modules, inputs, targets, train_rows, class_weights, validation, validation_weights,
                weighted_cross_entropy, settings, group, device,
                label=f"{task}/{scenario}/{source}/{depth} n={n_train} seeds={group}", criterion=balanced_error,
            )
            for module, state in zip(modules, result.states):
                module.load_state_dict(state)
            predicted = predict_stacked(modules, inputs, test, device).argmax(-1)
            for member, seed in enumerate(group):
                metrics = classification_metrics(targets[test].numpy(), predicted[member].numpy(), n_classes)
                metric_rows.append({
                    "task": task, "scenario": scenario, "source": source, "depth": depth,
                    "n_train": n_train, "seed": seed,
                    "accuracy": metrics["accuracy"], "balanced_accuracy": metrics["balanced_accuracy"],
                    "macro_f1": metrics["macro_f1"], "confusion": json.dumps(metrics["confusion"]),
                    "epochs_run": result.epochs_run[member], "best_epoch": result.best_epoch[member],
                    "train_seconds": result.seconds / len(group),
                })
                states[(n_train, seed)] = result.states[member]
            curves = result.curves.assign(seed=[group[m] for m in result.curves["member"]], n_train=n_train)
            curve_tables.append(curves.drop(columns="member"))
    curves = pd.concat(curve_tables, ignore_index=True).assign(task=task, scenario=scenario, source=source, depth=depth)
    return pd.DataFrame(metric_rows), curves, states
