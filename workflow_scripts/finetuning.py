"""One block of the transfer grid: a target task, a scenario, a source and a depth,
trained at every labelled-set size and seed.

For frozen scenarios (``cae``, ``cnn``) the source's prefix has been run once over every
face (``extract_features``) and only the rest of the classifier trains, on those
features; ``none`` and the fine-tuned variants train from images. With pretraining per
seed, fine-tuning seed s reads the features (or the trunk) of the source pretrained with
seed s, so the spread over seeds covers the pretraining too.

Every member starts from ``torch.manual_seed(seed)``'s classifier, so scenarios compared
at one seed share the initialisation of the layers they train, their labelled subset,
their early-stopping split and their batch order. A member reads the labels of its N
labelled faces (training and, under ``from_labels``, early stopping), of the held-out
validation split only under ``held_out``, and of the test faces only to be scored.
"""

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from . import scenarios
from .metrics import balanced_class_weights, classification_metrics
from .networks import Architecture, build_classifier, network_input, prefix_length, transfer_prefix
from .protocol import Protocol, early_stopping_mask
from .splits import faces_with_role, subset_faces
from .tasks import N_CLASSES
from .training import (
    FitSettings, Members, Stack, balanced_error, fit_stacked, padded, plain_error, predict_stacked, weighted_cross_entropy,
)


@dataclass(frozen=True)
class Block:
    task: str
    scenario: str
    source: str
    depth: str

    def __str__(self):
        return f"{self.task}/{self.scenario}/{self.source}/{self.depth}"


def needed_faces(roles: pd.DataFrame, subsets: pd.DataFrame) -> np.ndarray:
    """Faces a fine-tuning job may look at: every labelled subset, validation and test."""
    used = np.concatenate([subsets["face"].to_numpy(), faces_with_role(roles, "validation"), faces_with_role(roles, "test")])
    return np.unique(used)


@torch.no_grad()
def extract_features(trunk, length: int, images, faces, device, chunk: int = 1024) -> dict:
    """Outputs of the first ``length`` trunk blocks for ``faces``: {faces, features}."""
    prefix = trunk[:length].to(device).eval()
    inputs = network_input(images[torch.as_tensor(faces)])
    features = torch.cat([prefix(inputs[i:i + chunk].to(device)).cpu() for i in range(0, len(inputs), chunk)])
    return {"faces": torch.as_tensor(faces), "features": features}


def member_faces(labels_by_face: np.ndarray, labelled: np.ndarray, roles: pd.DataFrame, protocol: Protocol):
    """(training faces, early-stopping faces or None) of a member with ``labelled`` faces,
    in their labelled order; reads the labels of ``labelled`` only."""
    if protocol.validation == "from_labels":
        held_out = early_stopping_mask(labels_by_face[labelled], protocol.validation_fraction_of_n)
        return labelled[~held_out], labelled[held_out]
    if protocol.validation == "held_out":
        return labelled, faces_with_role(roles, "validation")
    return labelled, None


class Rows:
    """Where each face's input sits in the tensor a block trains on: one shared image
    tensor, or the features of each pretraining seed, concatenated."""

    def __init__(self, n_faces: int, features: dict | None = None):
        self.lookup = {}
        if features is None:
            self.lookup[None] = torch.arange(n_faces)
            self.faces = torch.arange(n_faces)
            return
        offset, faces = 0, []
        for pretrain_seed, part in sorted(features.items()):
            lookup = torch.full((n_faces,), -1, dtype=torch.long)
            lookup[part["faces"]] = torch.arange(len(part["faces"])) + offset
            self.lookup[pretrain_seed] = lookup
            faces.append(part["faces"])
            offset += len(part["faces"])
        self.faces = torch.cat(faces)  # the face of every row

    def of(self, faces, pretrain_seed=None) -> torch.Tensor:
        """Rows of ``faces`` (in the features of ``pretrain_seed``; images: any seed)."""
        lookup = self.lookup[None] if None in self.lookup else self.lookup[pretrain_seed]
        found = lookup[torch.as_tensor(faces)]
        if (found < 0).any():
            raise ValueError("cached features lack some faces the block needs; rerun extract_features")
        return found


def trains_convolutions(scenario: str, length: int, architecture: Architecture) -> bool:
    """Whether a block's classifiers train any convolution: from images or tuned, or frozen
    at a depth short of the last convolution."""
    return not scenarios.is_frozen(scenario) or length < architecture.n_conv


def stacking_groups(members: list, stack: str, device: torch.device, trains_convolutions: bool) -> list[list]:
    """Which members train together: all of the block, the seeds of one size, or one by one.

    auto: the whole block on CUDA, and on CPU when only fully-connected layers train
    (frozen at conv<K> or deeper); one at a time on CPU while convolutions train, where
    stacked convolutions measured slower than one model at a time (bench/training_speed.py,
    bench/paper_scale.py)."""
    if stack == "auto":
        stack = "block" if device.type == "cuda" or not trains_convolutions else "none"
    if stack == "block":
        return [members]
    if stack == "seeds":
        sizes = dict.fromkeys(n for n, _ in members)
        return [[m for m in members if m[0] == n] for n in sizes]
    return [[m] for m in members]


def run_block(
    *,
    block: Block,
    architecture: Architecture,
    table: pd.DataFrame,
    roles: pd.DataFrame,
    subsets: pd.DataFrame,
    settings: FitSettings,
    protocol: Protocol,
    train_sizes,
    seeds,
    device,
    pretrain_seed_of: dict | None = None,
    images=None,
    features: dict | None = None,
    trunks: dict | None = None,
):
    """Train the block's classifiers; return (metrics table, curves table, trained states).

    ``features`` ({pretrain seed: {faces, features}}) feeds the frozen scenarios, ``images``
    the others; ``trunks`` ({pretrain seed: trunk}) are the sources of the ``*_tuned``
    scenarios; ``pretrain_seed_of`` maps a fine-tuning seed to its pretraining seed.
    """
    if block.scenario not in scenarios.SCENARIOS:
        raise ValueError(f"unknown scenario {block.scenario!r}")
    n_classes = N_CLASSES[block.task]
    transfers = scenarios.transfers(block.scenario)
    frozen = scenarios.is_frozen(block.scenario)
    length = prefix_length(block.depth, architecture) if transfers else 0
    pretrain_seed_of = pretrain_seed_of or {}

    def pretrain_seed(seed):
        return pretrain_seed_of.get(seed) if transfers else None

    if frozen:
        rows = Rows(len(table), features)
        inputs = torch.cat([features[s]["features"] for s in sorted(features)])
    else:
        rows = Rows(len(table))
        inputs = network_input(images)
    labels_by_face = table[block.task].to_numpy()
    # a row's target: the label of its face (a tensor over every row; only the rows of a
    # member's own faces are ever indexed)
    targets = torch.as_tensor(labels_by_face[rows.faces.numpy()])
    test_faces = faces_with_role(roles, "test")
    weights_of = (lambda labels: balanced_class_weights(labels, n_classes)) if protocol.objective == "balanced" \
        else (lambda labels: np.ones(n_classes))
    criterion = balanced_error if protocol.objective == "balanced" else plain_error

    def initial_module(seed):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_classifier(architecture, n_classes)
        if frozen:
            return model[length:]  # the prefix is the source's, already applied in the features
        if length:
            transfer_prefix(model, trunks[pretrain_seed(seed)], length)
        return model

    plan = {}
    for n_train in train_sizes:
        for seed in seeds:
            labelled = subset_faces(subsets, seed, n_train)
            fit_faces, stop_faces = member_faces(labels_by_face, labelled, roles, protocol)
            plan[(n_train, seed)] = (fit_faces, stop_faces)

    metric_rows, curve_tables, states = [], [], {}
    convolutions = trains_convolutions(block.scenario, length, architecture)
    for group in stacking_groups(list(plan), protocol.stack, device, convolutions):
        fit_faces = [plan[m][0] for m in group]
        stop_faces = [plan[m][1] for m in group]
        pretrain_seeds = [pretrain_seed(seed) for _, seed in group]
        members = Members(
            inputs=inputs, targets=targets,
            train_rows=[rows.of(f, p) for f, p in zip(fit_faces, pretrain_seeds)],
            class_weights=torch.tensor(np.stack([weights_of(labels_by_face[f]) for f in fit_faces]), dtype=torch.float32),
            seeds=[seed for _, seed in group],
            validation_rows=None if stop_faces[0] is None else [rows.of(f, p) for f, p in zip(stop_faces, pretrain_seeds)],
            validation_weights=None if stop_faces[0] is None else torch.tensor(
                np.stack([weights_of(labels_by_face[f]) for f in stop_faces]), dtype=torch.float32),
        )
        modules = [initial_module(seed) for _, seed in group]
        result = fit_stacked(modules, members, weighted_cross_entropy, settings, criterion=criterion, device=device,
                             label=f"{block} members={group}")
        for module, state in zip(modules, result.states):
            module.load_state_dict(state)
        test_predicted = predict_stacked(modules, inputs, [rows.of(test_faces, p) for p in pretrain_seeds], device).argmax(-1)
        if members.validation_rows is not None:
            stop_rows, _ = padded(members.validation_rows)
            stop_predicted = Stack(modules, device).forward_rows(inputs.to(device), stop_rows.to(device)).argmax(-1).cpu()
        for member, (n_train, seed) in enumerate(group):
            scores = classification_metrics(labels_by_face[test_faces], test_predicted[member].numpy(), n_classes)
            validation = {"accuracy": float("nan"), "balanced_accuracy": float("nan")}
            if members.validation_rows is not None:
                n_stop = len(stop_faces[member])
                validation = classification_metrics(
                    labels_by_face[stop_faces[member]], stop_predicted[member, :n_stop].numpy(), n_classes)
            metric_rows.append({
                "task": block.task, "scenario": block.scenario, "source": block.source, "depth": block.depth,
                "n_train": n_train, "seed": seed, "pretrain_seed": pretrain_seeds[member] if transfers else -1,
                "n_fit": len(fit_faces[member]), "n_early_stopping": 0 if stop_faces[member] is None else len(stop_faces[member]),
                "accuracy": scores["accuracy"], "balanced_accuracy": scores["balanced_accuracy"],
                "macro_f1": scores["macro_f1"], "confusion": json.dumps(scores["confusion"]),
                "validation_accuracy": validation["accuracy"], "validation_balanced_accuracy": validation["balanced_accuracy"],
                "epochs_run": result.epochs_run[member], "best_epoch": result.best_epoch[member],
                "train_seconds": result.seconds / len(group),
            })
            states[(n_train, seed)] = result.states[member]
        keys = pd.DataFrame(group, columns=["n_train", "seed"])
        curves = result.curves.join(keys, on="member").drop(columns="member")
        curve_tables.append(curves)
    curves = pd.concat(curve_tables, ignore_index=True).assign(
        task=block.task, scenario=block.scenario, source=block.source, depth=block.depth)
    metrics = pd.DataFrame(metric_rows).sort_values(["n_train", "seed"], ignore_index=True)
    return metrics, curves, states
