"""Training one model: a plain PyTorch loop, ``train_one_epoch`` / ``evaluate`` / ``fit``.

Every model the study trains alone goes through ``fit``: the CAE, the source CNNs and the
classifiers of a block that ``finetune.stack`` trains one at a time; the folds of one
cross-validated classifier go through ``cross_validate``, which runs the same loop for
each fold in step and chooses the epoch count on one score of all the folds' predictions
(``pooled_criterion_for``). Where many small models train side by side (on a GPU),
``stacked_training.fit_stacked`` gives each of them what these loops give it.

A model learns from rows of two shared tensors, ``inputs`` (images or cached features)
and ``targets`` (labels or, for the CAE, the images). An epoch is ``passes_per_epoch(n)``
passes over its n training rows, each a fresh permutation drawn from the model's own
seeded generator and cut into batches of ``batch_size`` (the last of a pass may be
short). Several passes make an epoch of a small labelled set as long as
``min_epoch_samples``, so small and large sets get comparable numbers of updates between
two early-stopping checks. A cross-validated refit counts its epochs in a fold's optimiser
steps instead (``TrainingRows.steps_per_epoch``): the first that many batches of as many
passes as it takes, so at its chosen count it has taken the steps its folds took. After
each epoch the early-stopping rows are scored: a strictly lower criterion keeps the
current state as the best, and ``patience`` epochs without one end training. Without
early-stopping rows (fixed epochs) the model keeps its state at ``max_epochs`` (a
cross-validated refit: at its chosen count), and also at each of its pre-declared
checkpoint epochs up to ``max_epochs``, training on to the last of them where that lies
beyond: one trajectory, so the state kept at epoch E is the state a run stopped at E
ends with.
"""

import logging
import math
import time
from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F

from workflow_scripts.study.protocol import passes_per_epoch

log = logging.getLogger(__name__)

# stop_criterion: the model's own early-stopping score; choice_score: the score its epoch
# choice compares (alone: the same; a cross-validation fold: its folds' score together)
CURVE_COLUMNS = ["epoch", "train_loss", "stop_loss", "stop_criterion", "choice_score"]


@dataclass(frozen=True)
class FitSettings:
    max_epochs: int
    patience: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 0.0
    min_epoch_samples: int = 0

    @classmethod
    def from_config(cls, section: dict) -> "FitSettings":
        return cls(**{k: section[k] for k in cls.__dataclass_fields__ if k in section})

    def passes_per_epoch(self, n: int) -> int:
        return passes_per_epoch(n, self.min_epoch_samples)


@dataclass(frozen=True)
class TrainingRows:
    """What one model learns from, as rows of the shared ``inputs`` and ``targets``.

    fit: the rows it trains on; stop: the rows early stopping scores (None: fixed epochs);
    class_weights [C]: its training loss's class weights (ones: unweighted; [1] for the
    CAE); stop_class_weights: those of the early-stopping loss drawn in the curves;
    seed: seeds its batch order; epochs: without stop rows, the epoch whose state it
    keeps (None: ``max_epochs``; a cross-validated refit: the chosen count);
    checkpoints: without stop rows, epochs whose states it keeps as well (those beyond
    ``max_epochs`` are left out), training past ``epochs`` to the last of them;
    steps_per_epoch: the optimiser steps of one of its epochs (None: ``passes_per_epoch``
    whole passes; a cross-validated refit: a fold's steps per epoch)."""

    fit: torch.Tensor
    stop: torch.Tensor | None
    class_weights: torch.Tensor
    stop_class_weights: torch.Tensor | None
    seed: int
    epochs: int | None = None
    checkpoints: tuple[int, ...] = ()
    steps_per_epoch: int | None = None

    def __post_init__(self):
        if len(self.fit) == 0:
            raise ValueError("a model has no training rows")
        if self.stop is not None and (self.epochs is not None or self.checkpoints):
            raise ValueError("a model that stops early has no epoch count or checkpoints of its own")
        if any(epoch < 1 for epoch in self.checkpoints):
            raise ValueError(f"checkpoint epochs must be positive, got {list(self.checkpoints)}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"an epoch needs at least one optimiser step, got steps_per_epoch={self.steps_per_epoch}")

    def epoch_batches(self, generator: torch.Generator, settings) -> list[torch.Tensor]:
        """One epoch's batches of its training rows, drawn from ``generator``: its passes,
        or the first ``steps_per_epoch`` batches of as many passes as that takes."""
        if self.steps_per_epoch is None:
            return epoch_batches(self.fit, generator, settings.passes_per_epoch(len(self.fit)), settings.batch_size)
        passes = math.ceil(self.steps_per_epoch / math.ceil(len(self.fit) / settings.batch_size))
        return epoch_batches(self.fit, generator, passes, settings.batch_size)[:self.steps_per_epoch]

    def kept_epoch(self, settings) -> int:
        """Without stop rows, the epoch whose state is the result."""
        return settings.max_epochs if self.epochs is None else self.epochs

    def checkpoint_epochs(self, settings) -> list[int]:
        """The checkpoint epochs it reaches: those up to ``max_epochs``, in order."""
        return sorted(epoch for epoch in set(self.checkpoints) if epoch <= settings.max_epochs)

    def epoch_cap(self, settings) -> int:
        """Epochs at most: ``max_epochs`` with early stopping; else the kept epoch or the
        last checkpoint, whichever comes later."""
        if self.stop is not None:
            return settings.max_epochs
        return max([self.kept_epoch(settings), *self.checkpoint_epochs(settings)])


@dataclass
class FitResult:
    state: dict[str, torch.Tensor]  # the best state (fixed epochs: the kept epoch's), on the CPU
    best_epoch: int
    epochs_run: int  # best epoch + patience, capped at max_epochs; without early stopping its epoch cap
    curve: pd.DataFrame  # CURVE_COLUMNS, one row per epoch run
    seconds: float
    epoch_states: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)  # epoch -> state, on the CPU


def choose_device(setting: str) -> torch.device:
    """``auto``: CUDA when present, else the CPU; ``cpu`` or ``cuda`` forces one."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config device is 'cuda' but torch sees no CUDA device")
    return torch.device(setting)


# ---- losses and early-stopping criteria ---------------------------------------------
# Each serves one model: outputs [b, ...], targets [b, ...]; ``mask`` [b] marks the rows
# that count (the stacked trainer pads members' batches to one length; alone: all rows).

def weighted_cross_entropy(logits, targets, class_weights, mask=None):
    """Cross-entropy with per-class weights, normalised by the weights of the batch's rows
    (``F.cross_entropy(weight=...)``'s mean); an empty batch gives 0."""
    picked = F.cross_entropy(logits, targets, reduction="none")
    weights = class_weights[targets] if mask is None else class_weights[targets] * mask
    return (weights * picked).sum() / weights.sum().clamp(min=1e-12)


def reconstruction_error(outputs, targets, _class_weights=None, mask=None):
    """Mean squared error per row, averaged over the batch's rows."""
    per_row = ((outputs - targets) ** 2).flatten(1).mean(1)
    if mask is None:
        return per_row.mean()
    return (per_row * mask).sum() / mask.sum().clamp(min=1)


def balanced_error(logits, targets, mask=None):
    """1 - balanced accuracy (the mean recall of the classes present among the rows).

    The ``balanced`` objective's early-stopping criterion: unlike a class-weighted loss it
    does not grow when a model becomes confident, and it is what the study reports."""
    if mask is None:
        mask = torch.ones(targets.shape, device=logits.device)
    classes = torch.arange(logits.shape[-1], device=targets.device)
    in_class = (targets.unsqueeze(-1) == classes).float() * mask.unsqueeze(-1)  # [b, C]
    correct = (logits.argmax(-1) == targets).float() * mask
    support = in_class.sum(0)
    recall = (correct.unsqueeze(-1) * in_class).sum(0) / support.clamp(min=1)
    present = (support > 0).float()
    return 1 - (recall * present).sum() / present.sum().clamp(min=1)


def plain_error(logits, targets, mask=None):
    """1 - accuracy: the ``plain`` objective's criterion."""
    if mask is None:
        mask = torch.ones(targets.shape, device=logits.device)
    correct = (logits.argmax(-1) == targets).float() * mask
    return 1 - correct.sum() / mask.sum().clamp(min=1)


def balanced_loss(logits, targets, mask=None):
    """Cross-entropy averaged within each class present among the rows, then over those
    classes: the ``balanced`` objective's class-weighted loss with the rows' own inverse
    class frequencies as weights. It moves smoothly with the outputs, so unlike an error
    one row changing its answer does not make it jump."""
    if mask is None:
        mask = torch.ones(targets.shape, device=logits.device)
    picked = F.cross_entropy(logits, targets, reduction="none") * mask
    classes = torch.arange(logits.shape[-1], device=targets.device)
    in_class = (targets.unsqueeze(-1) == classes).float() * mask.unsqueeze(-1)  # [b, C]
    support = in_class.sum(0)
    per_class = (picked.unsqueeze(-1) * in_class).sum(0) / support.clamp(min=1)
    present = (support > 0).float()
    return (per_class * present).sum() / present.sum().clamp(min=1)


def plain_loss(logits, targets, mask=None):
    """Mean cross-entropy over the rows: the ``plain`` objective's loss."""
    if mask is None:
        mask = torch.ones(targets.shape, device=logits.device)
    picked = F.cross_entropy(logits, targets, reduction="none") * mask
    return picked.sum() / mask.sum().clamp(min=1)


def criterion_for(objective: str):
    """The early-stopping criterion of a fine-tuning objective (``finetune.objective``)."""
    return {"balanced": balanced_error, "plain": plain_error}[objective]


def pooled_criterion_for(objective: str, cv_criterion: str):
    """What scores the out-of-fold predictions of all N faces together to choose a
    cross-validated epoch count (``finetune.cv_criterion``): the objective's loss
    (``pooled_loss``) or error (``pooled_error``); None for ``fold_mean_error``, the mean
    over folds of each fold's early-stopping criterion."""
    if cv_criterion == "fold_mean_error":
        return None
    if cv_criterion == "pooled_error":
        return criterion_for(objective)
    return {"balanced": balanced_loss, "plain": plain_loss}[objective]


# ---- the loop ---------------------------------------------------------------------------

def epoch_batches(rows: torch.Tensor, generator: torch.Generator, passes: int, batch_size: int) -> list[torch.Tensor]:
    """One epoch's batches of ``rows``: ``passes`` permutations drawn from ``generator``
    (on the CPU, so an order never depends on the device), each cut into batches."""
    batches = []
    for _ in range(passes):
        order = torch.randperm(len(rows), generator=generator).to(rows.device)
        batches += rows[order].split(batch_size)
    return batches


def train_one_epoch(model, optimizer, loss, inputs, targets, batches, class_weights) -> torch.Tensor:
    """One pass of ``optimizer`` over ``batches``; the epoch's mean training loss per row
    (a tensor on the device: reading it is the caller's one sync per epoch)."""
    model.train()
    total = torch.zeros((), device=inputs.device)
    for rows in batches:
        batch_loss = loss(model(inputs[rows]), targets[rows], class_weights)
        optimizer.zero_grad(set_to_none=True)
        batch_loss.backward()
        optimizer.step()
        total += batch_loss.detach() * len(rows)
    return total / sum(len(rows) for rows in batches)


@torch.no_grad()
def predict(model, inputs, rows, chunk: int = 1024) -> torch.Tensor:
    """The model's outputs for ``inputs[rows]``, in chunks, on the inputs' device."""
    model.eval()
    return torch.cat([model(inputs[rows[start:start + chunk]]) for start in range(0, len(rows), chunk)])


@torch.no_grad()
def evaluate(model, loss, criterion, inputs, targets, rows, class_weights) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, criterion, outputs) on ``rows``; without a criterion early stopping minimises the loss."""
    outputs = predict(model, inputs, rows)
    rows_loss = loss(outputs, targets[rows], class_weights)
    return rows_loss, rows_loss if criterion is None else criterion(outputs, targets[rows]), outputs


class Run:
    """One model in training: its rows on the device, Adam over the parameters that
    require a gradient, the seeded generator of its batch order, and its best state."""

    def __init__(self, model, rows: TrainingRows, settings: FitSettings, device):
        self.model, self.rows, self.settings = model.to(device), rows, settings
        self.fit_rows, self.class_weights = rows.fit.to(device), rows.class_weights.to(device)
        if rows.stop is not None:
            self.stop_rows, self.stop_weights = rows.stop.to(device), rows.stop_class_weights.to(device)
        self.optimizer = torch.optim.Adam([p for p in self.model.parameters() if p.requires_grad],
                                          lr=settings.learning_rate, weight_decay=settings.weight_decay)
        self.generator = torch.Generator().manual_seed(int(rows.seed))
        self.best_state, self.epoch_states, self.curve = None, {}, []

    def train_epoch(self, loss, inputs, targets) -> float:
        batches = [b.to(self.fit_rows.device) for b in self.rows.epoch_batches(self.generator, self.settings)]
        return train_one_epoch(self.model, self.optimizer, loss, inputs, targets, batches, self.class_weights).item()

    def score(self, loss, criterion, inputs, targets) -> tuple[float, float, torch.Tensor | None]:
        """(loss, criterion, outputs) on the stop rows; NaN, NaN, None without them."""
        if self.rows.stop is None:
            return math.nan, math.nan, None
        stop_loss, score, outputs = evaluate(self.model, loss, criterion, inputs, targets, self.stop_rows, self.stop_weights)
        return stop_loss.item(), score.item(), outputs

    def keep_state(self):
        self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def keep_epoch_state(self, epoch: int):
        self.epoch_states[epoch] = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}

    def result(self, best_epoch: int, epochs_run: int, seconds: float) -> FitResult:
        return FitResult(state={k: v.cpu() for k, v in self.best_state.items()}, best_epoch=best_epoch,
                         epochs_run=epochs_run, curve=pd.DataFrame(self.curve, columns=CURVE_COLUMNS), seconds=seconds,
                         epoch_states=self.epoch_states)


def fit(model, inputs, targets, rows: TrainingRows, loss, settings: FitSettings, *, criterion=None,
        device=torch.device("cpu"), label="fit") -> FitResult:
    """Train ``model`` (its parameters that require a gradient) with Adam on ``rows``;
    return its best state by the early-stopping criterion (without early stopping: its
    kept epoch's, and its checkpoint epochs' states)."""
    started = time.perf_counter()
    inputs, targets = inputs.to(device), targets.to(device)
    run = Run(model, rows, settings, device)
    stopping = rows.stop is not None
    checkpoints = rows.checkpoint_epochs(settings)
    best_score, best_epoch = math.inf, 0
    for epoch in range(1, rows.epoch_cap(settings) + 1):
        train_loss = run.train_epoch(loss, inputs, targets)
        stop_loss, score, _ = run.score(loss, criterion, inputs, targets)
        # early stopping keeps a strictly better score; fixed epochs keep the kept epoch's state
        improved = score < best_score if stopping else epoch == rows.kept_epoch(settings)
        if improved:
            best_score, best_epoch = score, epoch
            run.keep_state()
        if epoch in checkpoints:
            run.keep_epoch_state(epoch)
        run.curve.append((epoch, train_loss, stop_loss, score, score))
        log.info("%s epoch %d: train loss %.4f, early-stopping criterion %.4f (best %.4f at epoch %d)",
                 label, epoch, train_loss, score, best_score, best_epoch)
        if stopping and epoch - best_epoch >= settings.patience:
            break
    return run.result(best_epoch, epoch, time.perf_counter() - started)


def score_folds(scores: list[float], outputs: list[torch.Tensor], targets: list[torch.Tensor], pooled=None) -> float:
    """One epoch's score of a member's folds: ``pooled`` of every fold's ``outputs`` on its
    own stop rows together (with their ``targets``), or without it the mean of the folds'
    own ``scores``."""
    if pooled is None:
        return sum(scores) / len(scores)
    return pooled(torch.cat(outputs), torch.cat(targets)).item()


def cross_validate(models, inputs, targets, folds: list[TrainingRows], loss, settings: FitSettings, *, criterion=None,
                   pooled=None, device=torch.device("cpu"), label="cross-validation") -> list[FitResult]:
    """Choose an epoch count by cross-validation: one model per fold (each with its own
    stop rows) trains in step with the others, one epoch at a time; after each epoch the
    folds are scored together: ``pooled`` of every fold's outputs on its own stop rows at
    once (the out-of-fold predictions of all the member's faces; ``pooled_criterion_for``),
    or, without it, the mean over folds of each fold's ``criterion``. The lowest score so
    far (ties: the later epoch) marks the best epoch, and ``patience`` epochs without a
    score as low end every fold. Each fold's result holds that best epoch (the chosen
    count) and its state then; its curve, its own fold's scores."""
    if any(rows.stop is None for rows in folds):
        raise ValueError("cross-validation folds stop on their scores: every fold needs stop rows")
    started = time.perf_counter()
    inputs, targets = inputs.to(device), targets.to(device)
    runs = [Run(model, rows, settings, device) for model, rows in zip(models, folds)]
    best_score, best_epoch = math.inf, 0
    for epoch in range(1, settings.max_epochs + 1):
        rows, outputs = [], []
        for run in runs:
            train_loss = run.train_epoch(loss, inputs, targets)
            stop_loss, score, fold_outputs = run.score(loss, criterion, inputs, targets)
            rows.append((epoch, train_loss, stop_loss, score))
            outputs.append(fold_outputs)
        folds_score = score_folds([row[-1] for row in rows], outputs, [targets[run.stop_rows] for run in runs], pooled)
        for run, row in zip(runs, rows):
            run.curve.append((*row, folds_score))
        if folds_score <= best_score:
            best_score, best_epoch = folds_score, epoch
            for run in runs:
                run.keep_state()
        log.info("%s epoch %d: folds' score %.4f over %d folds (best %.4f at epoch %d)",
                 label, epoch, folds_score, len(runs), best_score, best_epoch)
        if epoch - best_epoch >= settings.patience:
            break
    seconds = (time.perf_counter() - started) / len(runs)
    return [run.result(best_epoch, epoch, seconds) for run in runs]
