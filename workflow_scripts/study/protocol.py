"""How a classifier of the grid learns and when it stops. Torch-free.

Early stopping scores a member on its *stop faces* (early-stopping faces), chosen by the
epoch choice (``finetune.epoch_choice``):

- ``from_labels``: the stop faces are a stratified part of the member's own N labelled
  faces (``stop_fraction_of_n``); the rest trains. N counts every label used, so a
  "few labels" result really uses few labels.
- ``cross_validated``: stratified k-fold inside the member's own N labelled faces
  (``folds``): each fold's faces are the stop faces of a model trained on the other
  folds; after each epoch one score of all N out-of-fold predictions (``cv_criterion``)
  chooses the epoch count, and the member then trains on all N faces for as many
  optimiser steps as a fold took to reach that count (choose on a split of the budget,
  refit on the whole budget).
- ``held_out``: the stop faces are the data set's labelled validation split (every
  class, about a thousand faces on MTFL), on top of the N training labels.
- ``fixed_epochs``: no stop faces and no early stopping; train ``max_epochs`` on all N
  faces, keep the last.

Objectives (``finetune.objective``):

- ``balanced``: cross-entropy weighted by inverse class frequency, early stopping on the
  stop faces' balanced error (1 - balanced accuracy);
- ``plain``: unweighted cross-entropy, early stopping on the stop faces' error
  (1 - accuracy), the paper's likely protocol.

The allowed values and the defaults are the config schema's (``config/schema.yaml``),
read from there.
"""

import math
from dataclasses import dataclass, fields
from fractions import Fraction

import numpy as np

from workflow_scripts.study.config import load_schema

SCHEMA = load_schema()["properties"]["finetune"]["properties"]  # finetune's keys: enum, default, description


def passes_per_epoch(n: int, min_epoch_samples: int) -> int:
    """Passes over n training rows that make one epoch: enough to draw ``min_epoch_samples``."""
    return max(1, math.ceil(min_epoch_samples / n))


def early_stopping_mask(labels_in_order, fraction: float) -> np.ndarray:
    """Which faces of a labelled set are stop faces (held out for early stopping): True for held out.

    ``labels_in_order`` are the faces' labels in their labelled order (a labelled subset of
    N faces is the first N of one ordering of the pool). Within each class, the k-th face
    is held out when ``floor(k f + 1 - 2f)`` steps up, so a class of n faces gives
    ``floor(n f + 1 - 2f)``: none for a single face (it trains), at least one from two
    faces on, and never all of them. The rule only looks at a face's rank within its
    class, so the split of N faces is the first N faces' part of the split of any larger
    set: nested subsets stay nested, in both their training and their held-out parts.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"stop_fraction_of_n must lie in (0, 1), got {fraction}")
    f = Fraction(fraction).limit_denominator(10**6)  # exact arithmetic: no rounding at the steps

    def held_out_of_first(k):
        return math.floor(k * f + 1 - 2 * f) if k else 0

    labels = np.asarray(labels_in_order)
    held_out = np.zeros(len(labels), dtype=bool)
    seen: dict = {}
    for position, label in enumerate(labels.tolist()):
        k = seen[label] = seen.get(label, 0) + 1
        held_out[position] = held_out_of_first(k) > held_out_of_first(k - 1)
    return held_out


def cross_validation_folds(labels_in_order, folds: int) -> np.ndarray:
    """The fold (0 .. folds-1) of each face of a labelled set, stratified on its labels:
    the faces sorted by label (stable, so in labelled order within a class) are dealt to
    the folds in turn, so every fold holds each class's faces to within one and the
    folds' sizes differ by one at most."""
    labels = np.asarray(labels_in_order)
    if not 2 <= folds <= len(labels):
        raise ValueError(f"finetune.folds: {folds} folds of {len(labels)} labelled faces; "
                         f"need 2 <= folds <= N")
    fold_of = np.empty(len(labels), dtype=np.int64)
    fold_of[np.argsort(labels, kind="stable")] = np.arange(len(labels)) % folds
    return fold_of


def steps_per_epoch(n: int, min_epoch_samples: int, batch_size: int) -> int:
    """Optimiser steps in one epoch over n training rows: its passes, each cut into batches
    (the last of a pass may be short)."""
    return passes_per_epoch(n, min_epoch_samples) * math.ceil(n / batch_size)


def epoch_samples(n: int, min_epoch_samples: int, batch_size: int, steps: int | None = None) -> int:
    """Samples one epoch over n training rows draws: its passes' rows; an epoch of
    ``steps`` batches (a cross-validated refit), the rows of as many whole passes as those
    batches fill, then whole batches of the next pass."""
    if steps is None:
        return passes_per_epoch(n, min_epoch_samples) * n
    passes, batches = divmod(steps, math.ceil(n / batch_size))
    return passes * n + batches * batch_size


def refit_steps_per_epoch(fold_sizes, min_epoch_samples: int, batch_size: int) -> int:
    """The optimiser steps of one epoch of a cross-validated refit: a fold's epoch (the
    folds' mean, rounded half up, where fold sizes differ), so the refit at the chosen
    count takes as many steps as the folds took to reach it."""
    steps = [steps_per_epoch(n, min_epoch_samples, batch_size) for n in fold_sizes]
    return math.floor(Fraction(sum(steps), len(steps)) + Fraction(1, 2))


CV_CRITERIA = {  # finetune.cv_criterion: how the describe() sentence names it
    "pooled_error": "the error of all N out-of-fold predictions",
    "pooled_loss": "the loss of all N out-of-fold predictions",
    "fold_mean_error": "the mean over folds of each fold's error",
}


@dataclass(frozen=True)
class Protocol:
    """The fine-tuning protocol of a study: these keys of config ``finetune``, with the
    schema's defaults and, where the schema lists them, its allowed values."""

    epoch_choice: str = SCHEMA["epoch_choice"]["default"]
    stop_fraction_of_n: float = SCHEMA["stop_fraction_of_n"]["default"]
    folds: int = SCHEMA["folds"]["default"]
    cv_criterion: str = SCHEMA["cv_criterion"]["default"]
    objective: str = SCHEMA["objective"]["default"]
    stack: str = SCHEMA["stack"]["default"]

    def __post_init__(self):
        for name in self.config_keys():
            allowed = SCHEMA[name].get("enum")
            if allowed is not None and getattr(self, name) not in allowed:
                raise ValueError(f"finetune.{name}: {getattr(self, name)!r} is not one of {', '.join(allowed)}")

    @classmethod
    def config_keys(cls) -> list[str]:
        """The keys of config ``finetune`` that make the protocol."""
        return [field.name for field in fields(cls)]

    @classmethod
    def from_config(cls, finetune: dict) -> "Protocol":
        return cls(**{k: finetune[k] for k in cls.config_keys() if k in finetune})

    def scores_checkpoints(self) -> bool:
        """Whether a member is also scored at the pre-declared checkpoint epochs
        (``analysis.checkpoints``): where it trains on all N faces for an epoch count
        chosen before it starts (the cross-validated refit, ``fixed_epochs``)."""
        return self.epoch_choice in ("cross_validated", "fixed_epochs")

    def describe(self) -> str:
        """One sentence for summaries and logs."""
        stopping = {
            "from_labels": f"early stopping on {self.stop_fraction_of_n:.0%} of each member's N labelled faces "
                           "(stratified; N counts every label used)",
            "cross_validated": f"epoch count chosen by {self.folds}-fold cross-validation inside each member's N labelled "
                               f"faces (stratified; {CV_CRITERIA[self.cv_criterion]}, ties to the later epoch), then "
                               "trained on all N for as many optimiser steps as a fold took",
            "held_out": "early stopping on the held-out labelled validation split (labels beyond N)",
            "fixed_epochs": "no early stopping (max_epochs, last state kept)",
        }[self.epoch_choice]
        loss = {"balanced": "class-weighted cross-entropy, stopping on balanced error",
                "plain": "unweighted cross-entropy, stopping on error (1 - accuracy)"}[self.objective]
        return f"{stopping}; {loss}"
