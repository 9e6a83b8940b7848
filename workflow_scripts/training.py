"""Training many small models at once, with per-member early stopping.

``fit_stacked`` trains S same-shaped modules side by side: their parameters are stacked
(``torch.func.stack_module_state``) and one ``vmap``-ed forward/backward serves all of
them. Each member has its own training rows, batch order (a generator seeded with its
seed), class weights and early stopping, so the result for each member is the one it
would get trained alone; the batching only saves time. Adam is element-wise, so one
optimiser over the stacked tensors is S independent optimisers.

An epoch is ``passes_per_epoch(n)`` passes over a member's n rows, each shuffled by
``torch.randperm(n, generator)`` and trained in batches of ``batch_size`` (a pass's last
batch may be short). Several passes make an epoch of a small labelled set as long as
``min_epoch_samples``, so small and large sets get comparable numbers of updates between
two validations. Then the validation criterion (the loss, or for classifiers the balanced
error) decides: a strictly lower value keeps the member's current state as its best;
``patience`` epochs without one end the member.
"""

import copy
import logging
import math
import time
from dataclasses import dataclass

import pandas as pd
import torch
from torch.func import functional_call, stack_module_state

log = logging.getLogger(__name__)


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
        return cls(**{k: section[k] for k in cls.__dataclass_fields__})

    def passes_per_epoch(self, n: int) -> int:
        """Passes over n rows that make one epoch: enough to draw ``min_epoch_samples``."""
        return max(1, math.ceil(self.min_epoch_samples / n))


@dataclass
class FitResult:
    states: list[dict[str, torch.Tensor]]  # best state of each member, on the CPU
    best_epoch: list[int]
    epochs_run: list[int]  # what the member would have run alone: best epoch + patience, capped
    curves: pd.DataFrame  # member, epoch, train_loss, validation_loss, validation_criterion
    seconds: float


def choose_device(setting: str) -> torch.device:
    """``auto``: CUDA when present, else the CPU; ``cpu`` or ``cuda`` forces one."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config device is 'cuda' but torch sees no CUDA device")
    return torch.device(setting)


def weighted_cross_entropy(logits, targets, class_weights):
    """Cross-entropy with per-class weights, normalised by the weights of the batch."""
    picked = -torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    weights = class_weights[targets]
    return (weights * picked).sum() / weights.sum()


def reconstruction_error(outputs, targets, _class_weights):
    return ((outputs - targets) ** 2).mean()


def balanced_error(stacked_logits, targets, _class_weights):
    """1 - balanced accuracy of each member: [S, m, C] logits, [m] labels -> [S].

    The early-stopping criterion of the classifiers: unlike a class-weighted loss, it does
    not grow when a model becomes confident, and it is what the study reports."""
    n_classes = stacked_logits.shape[-1]
    correct = (stacked_logits.argmax(-1) == targets).float()  # [S, m]
    members = (targets.unsqueeze(-1) == torch.arange(n_classes, device=targets.device)).float()  # [m, C]
    support = members.sum(0)
    recall = (correct @ members) / support.clamp(min=1)  # [S, C]
    present = support > 0
    return 1 - recall[:, present].mean(-1)


class Stack:
    """S same-shaped modules as stacked tensors, with a vmap-ed forward."""

    def __init__(self, modules, device):
        params, buffers = stack_module_state(modules)
        self.params = {k: v.detach().to(device).requires_grad_(True) for k, v in params.items()}
        self.buffers = {k: v.to(device) for k, v in buffers.items()}
        self.base = copy.deepcopy(modules[0]).to("meta")
        self.size = len(modules)

    def member_forward(self, params, buffers, inputs):
        return functional_call(self.base, (params, buffers), (inputs,))

    def forward_each(self, inputs):
        """Member s on inputs[s]: [S, b, ...] -> [S, b, ...]."""
        return torch.vmap(self.member_forward)(self.params, self.buffers, inputs)

    @torch.no_grad()
    def forward_shared(self, inputs, chunk=512):
        """Every member on the same inputs: [m, ...] -> [S, m, ...], in chunks."""
        run = torch.vmap(self.member_forward, in_dims=(0, 0, None))
        return torch.cat([run(self.params, self.buffers, inputs[i:i + chunk]) for i in range(0, len(inputs), chunk)], dim=1)

    def states(self):
        return [
            {k: v[s].detach().cpu().clone() for k, v in {**self.params, **self.buffers}.items()}
            for s in range(self.size)
        ]


def fit_stacked(
    modules,
    inputs,
    targets,
    train_rows,
    class_weights,
    validation_rows,
    validation_weights,
    loss,
    settings: FitSettings,
    seeds,
    device=torch.device("cpu"),
    frozen_prefix=None,
    label="fit",
    criterion=None,
) -> FitResult:
    """Train ``modules`` (S members) and return each member's best state.

    inputs [M, ...], targets [M, ...]: every row a member may see (images or cached features).
    train_rows [S, n]: member s trains on those rows. class_weights [S, C]: its loss weights.
    validation_rows [m] and validation_weights [C]: the shared early-stopping set.
    loss(outputs, targets, class_weights) -> scalar, for one member.
    criterion(stacked outputs, targets, weights) -> [S]: what early stopping minimises on
    the validation set; the validation loss when None.
    frozen_prefix: optional frozen module applied to every batch first (the uncached
    path: the same training as on features computed once).
    """
    started = time.perf_counter()
    n_members, n = train_rows.shape
    stack = Stack(modules, device)
    inputs, targets = inputs.to(device), targets.to(device)
    train_rows, class_weights = train_rows.to(device), class_weights.to(device)
    validation_rows, validation_weights = validation_rows.to(device), validation_weights.to(device)
    if frozen_prefix is not None:
        frozen_prefix = frozen_prefix.to(device).eval()

    def prefixed(x):
        if frozen_prefix is None:
            return x
        with torch.no_grad():
            return frozen_prefix(x)

    member_losses = torch.vmap(lambda p, b, x, y, w: loss(stack.member_forward(p, b, x), y, w))
    optimizer = torch.optim.Adam(stack.params.values(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
    validation_inputs = inputs[validation_rows]
    validation_targets = targets[validation_rows]

    best_score = torch.full((n_members,), math.inf)
    best_epoch = torch.zeros(n_members, dtype=torch.long)
    best_params = {k: v.detach().clone() for k, v in stack.params.items()}
    active = torch.ones(n_members, dtype=torch.bool)
    curves = []
    epoch_seconds = []
    passes = settings.passes_per_epoch(n)
    for epoch in range(1, settings.max_epochs + 1):
        epoch_started = time.perf_counter()
        train_loss = torch.zeros(n_members, device=device)
        for _ in range(passes):
            order = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(device)
            shuffled_rows = torch.gather(train_rows, 1, order)
            for start in range(0, n, settings.batch_size):
                rows = shuffled_rows[:, start:start + settings.batch_size]
                batch = prefixed(inputs[rows.flatten()]).unflatten(0, rows.shape)
                losses = member_losses(stack.params, stack.buffers, batch, targets[rows], class_weights)
                optimizer.zero_grad(set_to_none=True)
                losses.sum().backward()
                optimizer.step()
                train_loss += losses.detach() * rows.shape[1]
        train_loss = (train_loss / (n * passes)).cpu()

        outputs = stack.forward_shared(prefixed(validation_inputs))
        validation_loss = torch.vmap(loss, in_dims=(0, None, None))(outputs, validation_targets, validation_weights).cpu()
        score = validation_loss if criterion is None else criterion(outputs, validation_targets, validation_weights).cpu()
        improved = (score < best_score) & active
        for k, v in stack.params.items():
            best_params[k][improved.to(device)] = v.detach()[improved.to(device)]
        best_score = torch.where(improved, score, best_score)
        best_epoch[improved] = epoch
        for s in active.nonzero().flatten().tolist():
            curves.append((s, epoch, train_loss[s].item(), validation_loss[s].item(), score[s].item()))
        active &= (epoch - best_epoch) < settings.patience
        epoch_seconds.append(time.perf_counter() - epoch_started)
        left = sum(epoch_seconds) / epoch * (settings.max_epochs - epoch)
        log.info(
            "%s epoch %d/%d: train loss %.4f, validation loss %.4f, criterion %.4f (best %.4f), %d/%d members running, %.1f s, at most %.0f s left",
            label, epoch, settings.max_epochs, train_loss.mean(), validation_loss.mean(), score.mean(), best_score.mean(),
            int(active.sum()), n_members, epoch_seconds[-1], left,
        )
        if not active.any():
            break

    stack.params = best_params
    epochs_run = torch.clamp(best_epoch + settings.patience, max=epoch).tolist()
    return FitResult(
        states=stack.states(),
        best_epoch=best_epoch.tolist(),
        epochs_run=epochs_run,
        curves=pd.DataFrame(curves, columns=["member", "epoch", "train_loss", "validation_loss", "validation_criterion"]),
        seconds=time.perf_counter() - started,
    )


@torch.no_grad()
def predict_stacked(modules_or_stack, inputs, rows, device=torch.device("cpu"), frozen_prefix=None, chunk=512):
    """Outputs of every member on ``inputs[rows]``: [S, m, ...], on the CPU."""
    stack = modules_or_stack if isinstance(modules_or_stack, Stack) else Stack(modules_or_stack, device)
    x = inputs[rows.to(inputs.device)].to(device)
    if frozen_prefix is not None:
        frozen_prefix = frozen_prefix.to(device).eval()
        x = torch.cat([frozen_prefix(x[i:i + chunk]) for i in range(0, len(x), chunk)])
    return stack.forward_shared(x, chunk).cpu()
