"""One block of the transfer grid: a target task, a scenario, a source and a depth,
trained at every labelled-set size and seed: ``run_block`` plans the members, fits them
and scores them. A member that trains for an epoch count fixed before it starts (the
cross-validated refit, ``fixed_epochs``) is also scored at the pre-declared checkpoint
epochs (``analysis.checkpoints``): a sensitivity analysis, never a choice.

For frozen scenarios (``cae``, ``cnn``) the source's prefix has been run once over every
face (``extract_features``) and only the rest of the classifier trains, on those
features; ``none`` and the fine-tuned variants train from images. With pretraining per
seed, fine-tuning seed s reads the features (or the trunk) of the source pretrained with
seed s, so the spread over seeds covers the pretraining too.

Every member starts from ``torch.manual_seed(seed)``'s classifier, so scenarios compared
at one seed share the initialisation of the layers they train, their labelled subset,
their early-stopping faces and their batch order. A member reads the labels of its N
labelled faces (training and, under ``from_labels`` and ``cross_validated``, early
stopping), of the held-out validation split only under ``held_out``, and of the test
faces only to be scored. Which N faces it gets is decided before, by ``splits``: its
labelled subset is stratified on its own task's label across the pool, and no other
label takes part.
"""

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from workflow_scripts.data.splits import faces_with_role, subset_faces
from workflow_scripts.nn.architecture import Architecture, prefix_length
from workflow_scripts.nn.metrics import balanced_class_weights, classification_metrics
from workflow_scripts.nn.networks import build_classifier, network_input, transfer_prefix
from workflow_scripts.nn.stacked_training import fit_stacked
from workflow_scripts.nn.training import (
    FitResult, FitSettings, TrainingRows, criterion_for, cross_validate, fit, pooled_criterion_for, predict,
    weighted_cross_entropy,
)
from workflow_scripts.study import scenarios
from workflow_scripts.study.columns import CHECKPOINT_SCORE_COLUMNS
from workflow_scripts.study.datasets import dataset_tasks
from workflow_scripts.study.protocol import Protocol, cross_validation_folds, early_stopping_mask, refit_steps_per_epoch


@dataclass(frozen=True)
class Block:
    """One grid cell; its fields are ``study.grid.BLOCK_KEY``, in order."""

    task: str
    scenario: str
    source: str
    depth: str

    def __str__(self):
        return f"{self.task}/{self.scenario}/{self.source}/{self.depth}"


@dataclass(frozen=True)
class FinetuneDesign:
    """How every block's classifiers are made (config ``network`` and ``finetune``):
    ``pretrain_seed_of`` maps a fine-tuning seed to the pretraining seed of its source;
    ``checkpoints`` are the epoch counts at which members that train a fixed number of
    epochs are also scored (``analysis.checkpoints``); ``class_counts``: each task's number
    of classes (``datasets.dataset_tasks``)."""

    architecture: Architecture
    training: FitSettings
    protocol: Protocol
    train_sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    pretrain_seed_of: dict
    checkpoints: tuple[int, ...] = ()
    class_counts: dict = dataclasses.field(kw_only=True)

    @classmethod
    def from_config(cls, config: dict, pretrain_seed_of: dict | None = None) -> "FinetuneDesign":
        finetune = config["finetune"]
        return cls(Architecture.from_config(config["network"], config["data"]["image_size"]),
                   FitSettings.from_config(finetune["training"]), Protocol.from_config(finetune),
                   tuple(finetune["train_sizes"]), tuple(finetune["seeds"]), pretrain_seed_of or {},
                   tuple(config.get("analysis", {}).get("checkpoints", ())),
                   class_counts={task: len(names) for task, names in dataset_tasks(config).items()})


@dataclass(frozen=True)
class LabelledFaces:
    """The face table (labels), every face's role and the nested labelled subsets."""

    table: pd.DataFrame
    roles: pd.DataFrame
    subsets: pd.DataFrame


@dataclass(frozen=True)
class Member:
    """One classifier of a block: its labelled-set size and seed, the pretraining seed of
    the source it transfers from (None without transfer), the faces it trains on, the
    early-stopping faces (None: fixed epochs or cross-validated), the class weights of
    both losses, and, cross-validated, the members of its folds (each trains on the
    others' faces and stops on its own)."""

    n_train: int
    seed: int
    pretrain_seed: int | None
    fit_faces: np.ndarray
    stop_faces: np.ndarray | None
    class_weights: np.ndarray
    stop_class_weights: np.ndarray | None
    folds: tuple["Member", ...] = ()


@dataclass
class Fitted:
    """A trained member: its classifier's training, and, cross-validated, each fold's
    member (its faces) beside the fold model's training (its state at the chosen count)."""

    result: FitResult
    folds: list[tuple[Member, FitResult]]


def needed_faces(roles: pd.DataFrame) -> np.ndarray:
    """Faces a fine-tuning job may look at: the whole pool (every labelled subset is drawn
    from it, whatever finetune.train_sizes and seeds), validation and test."""
    used = np.concatenate([faces_with_role(roles, role) for role in ("pool", "validation", "test")])
    return np.unique(used)


@torch.no_grad()
def extract_features(trunk, length: int, images, faces, device, chunk: int = 1024) -> dict:
    """Outputs of the first ``length`` trunk layers for ``faces``: {faces, features}."""
    prefix = trunk[:length].to(device).eval()
    inputs = network_input(images[torch.as_tensor(faces)])
    features = torch.cat([prefix(inputs[i:i + chunk].to(device)).cpu() for i in range(0, len(inputs), chunk)])
    return {"faces": torch.as_tensor(faces), "features": features}


def member_faces(labels_by_face: np.ndarray, labelled: np.ndarray, roles: pd.DataFrame, protocol: Protocol):
    """(training faces, early-stopping faces or None) of a member with ``labelled`` faces,
    in their labelled order; reads the labels of ``labelled`` only."""
    if protocol.epoch_choice == "from_labels":
        held_out = early_stopping_mask(labels_by_face[labelled], protocol.stop_fraction_of_n)
        return labelled[~held_out], labelled[held_out]
    if protocol.epoch_choice == "held_out":
        return labelled, faces_with_role(roles, "validation")
    return labelled, None  # fixed_epochs, and cross_validated (whose folds are planned apart)


class BlockInputs:
    """What a block's classifiers read: one input tensor (the images, or the cached
    features of every pretraining seed one after another), the task label of each row,
    and where each face's row sits."""

    def __init__(self, labels_by_face: np.ndarray, images=None, features: dict | None = None):
        n_faces = len(labels_by_face)
        self.lookup = {}
        if features is None:
            self.lookup[None] = torch.arange(n_faces)
            self.tensor, faces = network_input(images), torch.arange(n_faces)
        else:
            offset, parts = 0, []
            for pretrain_seed, part in sorted(features.items()):
                lookup = torch.full((n_faces,), -1, dtype=torch.long)
                lookup[part["faces"]] = torch.arange(len(part["faces"])) + offset
                self.lookup[pretrain_seed] = lookup
                parts.append(part["faces"])
                offset += len(part["faces"])
            self.tensor, faces = torch.cat([features[s]["features"] for s in sorted(features)]), torch.cat(parts)
        self.targets = torch.as_tensor(labels_by_face[faces.numpy()])

    def to(self, device) -> "BlockInputs":
        self.tensor, self.targets = self.tensor.to(device), self.targets.to(device)
        return self

    def rows(self, faces, pretrain_seed=None) -> torch.Tensor:
        """Rows of ``faces`` (in the features of ``pretrain_seed``; images: any seed)."""
        lookup = self.lookup[None] if None in self.lookup else self.lookup[pretrain_seed]
        found = lookup[torch.as_tensor(faces)]
        if (found < 0).any():
            raise ValueError("cached features lack some faces the block needs; rerun extract_features")
        return found

    def training_rows(self, member: Member, epochs: int | None = None, checkpoints=(),
                      steps_per_epoch: int | None = None) -> TrainingRows:
        def weights(values):
            return None if values is None else torch.tensor(values, dtype=torch.float32)

        stop = None if member.stop_faces is None else self.rows(member.stop_faces, member.pretrain_seed)
        return TrainingRows(self.rows(member.fit_faces, member.pretrain_seed), stop, weights(member.class_weights),
                            weights(member.stop_class_weights), member.seed, epochs, tuple(checkpoints), steps_per_epoch)


def stacking_groups(members: list, stack: str, device: torch.device) -> list[list]:
    """Which members train together: all of the block, the seeds of one size, or one by one.

    auto: the whole block on CUDA, one at a time on the CPU, where stacking measured
    slower wherever a conv layer or fc1 trains and at most 1.6x faster where only fc2 and
    out train, on blocks of a second or less (bench/training_speed.py; bench/README.md)."""
    if stack == "auto":
        stack = "block" if device.type == "cuda" else "none"
    if stack == "block":
        return [members]
    if stack == "seeds":
        sizes = dict.fromkeys(m.n_train for m in members)
        return [[m for m in members if m.n_train == n] for n in sizes]
    return [[m] for m in members]


def transferred_length(block: Block, architecture: Architecture) -> int:
    """How many trunk layers the block's classifiers take from the source (0: none)."""
    return prefix_length(block.depth, architecture) if scenarios.transfers(block.scenario) else 0


def trained_part(block: Block, architecture: Architecture, n_classes: int) -> torch.nn.Sequential:
    """The layers a block's classifier trains, untrained: the part after the frozen prefix
    (the prefix is the source's, already applied in the features), else all of it."""
    model = build_classifier(architecture, n_classes)
    return model[transferred_length(block, architecture):] if scenarios.is_frozen(block.scenario) else model


def loss_weights(labels_by_face: np.ndarray, faces, n_classes: int, objective: str) -> np.ndarray | None:
    """The class weights of a loss over ``faces``: inverse class frequency (``balanced``)
    or ones (``plain``); None without faces."""
    if faces is None:
        return None
    if objective == "balanced":
        return balanced_class_weights(labels_by_face[faces], n_classes)
    return np.ones(n_classes)


def plan_members(block: Block, design: FinetuneDesign, faces: LabelledFaces) -> list[Member]:
    """Every (size, seed) member of the block, with the faces it reads."""
    labels = faces.table[block.task].to_numpy()

    def class_weights(of_faces):
        return loss_weights(labels, of_faces, design.class_counts[block.task], design.protocol.objective)

    cross_validated = design.protocol.epoch_choice == "cross_validated"
    members = []
    for n_train in design.train_sizes:
        for seed in design.seeds:
            labelled = subset_faces(faces.subsets, block.task, seed, n_train)
            fit_faces, stop_faces = member_faces(labels, labelled, faces.roles, design.protocol)
            pretrain_seed = design.pretrain_seed_of.get(seed) if scenarios.transfers(block.scenario) else None
            member = Member(n_train, seed, pretrain_seed, fit_faces, stop_faces, class_weights(fit_faces),
                            class_weights(stop_faces))
            if cross_validated:
                # fold f stops on the member's faces in fold f and trains on the rest, with
                # the member's seed (its initialisation and batch-order seed)
                fold_of = cross_validation_folds(labels[labelled], design.protocol.folds)
                member = dataclasses.replace(member, folds=tuple(
                    dataclasses.replace(member, fit_faces=labelled[fold_of != f], stop_faces=labelled[fold_of == f],
                                        class_weights=class_weights(labelled[fold_of != f]),
                                        stop_class_weights=class_weights(labelled[fold_of == f]))
                    for f in range(design.protocol.folds)))
            members.append(member)
    return members


def initial_model(block: Block, design: FinetuneDesign, member: Member, trunks: dict | None) -> torch.nn.Sequential:
    """``torch.manual_seed(member.seed)``'s classifier, its transferred prefix copied from
    the source (tuned scenarios) or cut off (frozen: the features hold it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(member.seed)
        model = build_classifier(design.architecture, design.class_counts[block.task])
    length = transferred_length(block, design.architecture)
    if scenarios.is_frozen(block.scenario):
        return model[length:]
    if length:
        transfer_prefix(model, trunks[member.pretrain_seed], length)
    return model


def fit_members(block: Block, design: FinetuneDesign, members: list[Member], inputs: BlockInputs, device,
                trunks: dict | None = None) -> list[Fitted]:
    """Train every member, stacked where ``finetune.stack`` says so, else one at a time.
    Cross-validated, a member's folds train first and choose its epoch count on their
    out-of-fold predictions (``finetune.cv_criterion``; stacked with the other folds of
    its group, or in step with each other alone); then the member trains on all its N
    faces, each epoch as many optimiser steps as a fold's, and keeps its state at that
    many epochs. A member scored at checkpoints (``Protocol.scores_checkpoints``) trains
    on to the last checkpoint up to ``max_epochs`` and keeps the state of each."""
    criterion = criterion_for(design.protocol.objective)
    pooled = pooled_criterion_for(design.protocol.objective, design.protocol.cv_criterion)
    checkpoints = design.checkpoints if design.protocol.scores_checkpoints() else ()
    settings = design.training

    def refit_steps(member: Member) -> int | None:
        """A cross-validated member's steps per epoch: its folds'; otherwise None (passes)."""
        if not member.folds:
            return None
        return refit_steps_per_epoch([len(fold.fit_faces) for fold in member.folds], settings.min_epoch_samples,
                                     settings.batch_size)

    def train(group: list[Member], epochs=None, folds_of=None) -> list[FitResult]:
        """Fit ``group`` from its initial models: one model alone, one member's folds in
        step, or everything in one stack (folds stopping with their member's others)."""
        models = [initial_model(block, design, m, trunks) for m in group]
        rows = [inputs.training_rows(m, e, () if folds_of else checkpoints, None if folds_of else refit_steps(m))
                for m, e in zip(group, epochs or [None] * len(group))]
        common = {"loss": weighted_cross_entropy, "settings": settings, "criterion": criterion, "device": device,
                  "label": f"{block} n={group[0].n_train} seed={group[0].seed}" + (" folds" if folds_of else "")}
        if folds_of is None and len(group) == 1:
            return [fit(models[0], inputs.tensor, inputs.targets, rows[0], **common)]
        if folds_of is not None and len(set(folds_of)) == 1:
            return cross_validate(models, inputs.tensor, inputs.targets, rows, pooled=pooled, **common)
        return fit_stacked(models, inputs.tensor, inputs.targets, rows, **common, pooled=pooled, folds_of=folds_of)

    fitted = {}
    for group in stacking_groups(members, design.protocol.stack, device):
        folds, epochs = {(m.n_train, m.seed): [] for m in group}, None
        if design.protocol.epoch_choice == "cross_validated":
            fold_members = [fold for m in group for fold in m.folds]
            owners = [(m.n_train, m.seed) for m in group for _ in m.folds]
            for owner, fold, result in zip(owners, fold_members, train(fold_members, folds_of=owners)):
                folds[owner].append((fold, result))
            epochs = [folds[(m.n_train, m.seed)][0][1].best_epoch for m in group]  # the count its folds chose
        for m, result in zip(group, train(group, epochs)):
            fitted[(m.n_train, m.seed)] = Fitted(result, folds[(m.n_train, m.seed)])
    return [fitted[(m.n_train, m.seed)] for m in members]


def member_scores(block: Block, design: FinetuneDesign, member: Member, state: dict, inputs: BlockInputs,
                  faces: LabelledFaces, of_faces: np.ndarray) -> dict:
    """``classification_metrics`` of the member's classifier in ``state`` on ``of_faces``."""
    model = trained_part(block, design.architecture, design.class_counts[block.task]).to(inputs.tensor.device)
    model.load_state_dict(state)
    predicted = predict(model, inputs.tensor, inputs.rows(of_faces, member.pretrain_seed).to(inputs.tensor.device))
    return classification_metrics(faces.table[block.task].to_numpy()[of_faces], predicted.argmax(-1).cpu().numpy(),
                                  design.class_counts[block.task])


def score_member(block: Block, design: FinetuneDesign, member: Member, fitted: Fitted, inputs: BlockInputs,
                 faces: LabelledFaces) -> dict:
    """The metrics row of a trained member: its test scores and its early-stopping score
    (cross-validated: the mean and the spread over folds of each fold model's score on
    its own stop faces, at the chosen epoch count)."""

    def scores(state, of_faces):
        return member_scores(block, design, member, state, inputs, faces, of_faces)

    test = scores(fitted.result.state, faces_with_role(faces.roles, "test"))
    if fitted.folds:
        stop_parts = pd.DataFrame([scores(result.state, fold.stop_faces) for fold, result in fitted.folds])
        stop = {f"{m}{suffix}": getattr(stop_parts[m], how)() for m in ("accuracy", "balanced_accuracy")
                for suffix, how in (("", "mean"), ("_sd", "std"))}
        n_stop = sum(len(fold.stop_faces) for fold, _ in fitted.folds)
    elif member.stop_faces is not None:
        stop = {**scores(fitted.result.state, member.stop_faces), "accuracy_sd": np.nan, "balanced_accuracy_sd": np.nan}
        n_stop = len(member.stop_faces)
    else:
        stop = dict.fromkeys(["accuracy", "balanced_accuracy", "accuracy_sd", "balanced_accuracy_sd"], np.nan)
        n_stop = 0
    return {
        **dataclasses.asdict(block), "n_train": member.n_train, "seed": member.seed,
        "pretrain_seed": -1 if member.pretrain_seed is None else member.pretrain_seed,
        "n_fit": len(member.fit_faces), "n_stop": n_stop, "folds": len(fitted.folds),
        "accuracy": test["accuracy"], "balanced_accuracy": test["balanced_accuracy"], "macro_f1": test["macro_f1"],
        "confusion": json.dumps(test["confusion"]),
        "stop_accuracy": stop["accuracy"], "stop_balanced_accuracy": stop["balanced_accuracy"],
        "stop_accuracy_sd": stop["accuracy_sd"], "stop_balanced_accuracy_sd": stop["balanced_accuracy_sd"],
        "epochs_run": fitted.result.epochs_run, "best_epoch": fitted.result.best_epoch,
        "fold_epochs_run": max((result.epochs_run for _, result in fitted.folds), default=0),
        "train_seconds": fitted.result.seconds + sum(result.seconds for _, result in fitted.folds),
    }


def score_checkpoints(block: Block, design: FinetuneDesign, member: Member, fitted: Fitted, inputs: BlockInputs,
                      faces: LabelledFaces) -> list[dict]:
    """One row of ``CHECKPOINT_SCORE_COLUMNS`` per checkpoint epoch the member was kept at: its
    test scores after that many epochs (none for a member that stopped early)."""
    test_faces = faces_with_role(faces.roles, "test")
    rows = []
    for epochs, state in sorted(fitted.result.epoch_states.items()):
        test = member_scores(block, design, member, state, inputs, faces, test_faces)
        rows.append({**dataclasses.asdict(block), "n_train": member.n_train, "seed": member.seed,
                     "pretrain_seed": -1 if member.pretrain_seed is None else member.pretrain_seed, "epochs": epochs,
                     **{metric: test[metric] for metric in ("accuracy", "balanced_accuracy", "macro_f1")}})
    return rows


def run_block(block: Block, design: FinetuneDesign, faces: LabelledFaces, device, *, images=None,
              features: dict | None = None, trunks: dict | None = None):
    """Plan, fit and score the block's classifiers; return (metrics, curves, trained
    states, checkpoint scores: ``CHECKPOINT_SCORE_COLUMNS``, empty where no member is scored at
    checkpoints).

    ``features`` ({pretrain seed: {faces, features}}) feed the frozen scenarios, ``images``
    the others; ``trunks`` ({pretrain seed: trunk}) are the sources of the tuned scenarios.
    """
    if block.scenario not in scenarios.SCENARIOS:
        raise ValueError(f"unknown scenario {block.scenario!r}")
    labels = faces.table[block.task].to_numpy()
    inputs = BlockInputs(labels, features=features) if scenarios.is_frozen(block.scenario) else BlockInputs(labels, images)
    inputs.to(device)
    members = plan_members(block, design, faces)
    fitted = fit_members(block, design, members, inputs, device, trunks)
    metrics = pd.DataFrame([score_member(block, design, m, f, inputs, faces) for m, f in zip(members, fitted)])
    curves = pd.concat([
        result.curve.assign(n_train=m.n_train, seed=m.seed, fold=fold)
        for m, f in zip(members, fitted) for fold, result in [(-1, f.result), *enumerate(r for _, r in f.folds)]
    ], ignore_index=True).assign(**dataclasses.asdict(block))
    states = {(m.n_train, m.seed): f.result.state for m, f in zip(members, fitted)}
    checkpoint_rows = [row for m, f in zip(members, fitted) for row in score_checkpoints(block, design, m, f, inputs, faces)]
    checkpoints = pd.DataFrame(checkpoint_rows, columns=CHECKPOINT_SCORE_COLUMNS)
    return (metrics.sort_values(["n_train", "seed"], ignore_index=True), curves, states,
            checkpoints.sort_values(["n_train", "seed", "epochs"], ignore_index=True))
