"""Training many small models at once, each with its own data and early stopping.

``fit_stacked`` trains S same-shaped modules side by side: their parameters are stacked
(``torch.func.stack_module_state``) and one ``vmap``-ed forward/backward serves all of
them. Each member has its own training rows (members of different N stack too), batch
order (a generator seeded with its seed), class weights, early-stopping rows and
stopping, so the result for each member is the one it would get trained alone; stacking
only saves time. The optimiser is Adam written out over the stacked tensors with a step
count per member, so a member whose epoch has fewer batches simply skips the steps it
does not have, as it would alone.

An epoch is ``passes_per_epoch(n)`` passes over a member's n rows, each shuffled by
``torch.randperm(n, generator)`` and cut into batches of ``batch_size`` (a pass's last
batch may be short). Several passes make an epoch of a small labelled set as long as
``min_epoch_samples``, so small and large sets get comparable numbers of updates between
two validations. Then the member's validation criterion decides: a strictly lower value
keeps its current state as its best; ``patience`` epochs without one end the member, and
ended members leave the stack. Without validation rows (fixed epochs) a member trains
``max_epochs`` and keeps its last state.

Everything a member reads stays on the device for the whole fit: the batch order of an
epoch is drawn on the CPU (the seeded generators) and moved once per epoch, and nothing
is read back to the host but once per epoch.
"""

import copy
import logging
import math
import time
from dataclasses import dataclass

import pandas as pd
import torch
from torch.func import functional_call, stack_module_state

from .protocol import passes_per_epoch

log = logging.getLogger(__name__)

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


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


@dataclass
class Members:
    """What S stacked members learn from. Rows index ``inputs`` (and ``targets``); a
    member's rows may differ from every other's in number and in content.

    inputs [M, ...], targets [M, ...]: every row any member reads (images or features).
    train_rows: per member, a 1-D tensor of the rows it trains on.
    class_weights [S, C]: each member's loss weights (ones for an unweighted loss).
    seeds: each member's shuffling seed.
    validation_rows: per member, the rows its early stopping scores; None: no early
    stopping (fixed epochs).
    validation_weights [S, C]: the loss weights of the validation loss (for the curves).
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    train_rows: list[torch.Tensor]
    class_weights: torch.Tensor
    seeds: list[int]
    validation_rows: list[torch.Tensor] | None = None
    validation_weights: torch.Tensor | None = None

    def __post_init__(self):
        n = len(self.train_rows)
        if not (len(self.seeds) == len(self.class_weights) == n):
            raise ValueError(f"{n} members but {len(self.seeds)} seeds and {len(self.class_weights)} class-weight rows")
        if self.validation_rows is not None and len(self.validation_rows) != n:
            raise ValueError(f"{n} members but {len(self.validation_rows)} validation row sets")
        if any(len(rows) == 0 for rows in self.train_rows):
            raise ValueError("a member has no training rows")


@dataclass
class FitResult:
    states: list[dict[str, torch.Tensor]]  # best (or, without validation, last) state of each member, on the CPU
    best_epoch: list[int]
    epochs_run: list[int]  # epochs the member trained: best epoch + patience, capped, or max_epochs
    curves: pd.DataFrame  # member, epoch, train_loss, validation_loss, validation_criterion
    seconds: float


def choose_device(setting: str) -> torch.device:
    """``auto``: CUDA when present, else the CPU; ``cpu`` or ``cuda`` forces one."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config device is 'cuda' but torch sees no CUDA device")
    return torch.device(setting)


# ---- losses and criteria ------------------------------------------------------------
# A loss serves one member: (outputs [b, ...], targets [b, ...], class weights [C],
# mask [b]) -> scalar; masked rows (padding) count for nothing. A criterion scores all
# members at once: (outputs [S, m, ...], targets [S, m, ...], mask [S, m]) -> [S].

def weighted_cross_entropy(logits, targets, class_weights, mask):
    """Cross-entropy with per-class weights, normalised by the weights of the batch's rows."""
    picked = -torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    weights = class_weights[targets] * mask
    return (weights * picked).sum() / weights.sum().clamp(min=1e-12)


def reconstruction_error(outputs, targets, _class_weights, mask):
    """Mean squared error over the batch's rows."""
    per_row = ((outputs - targets) ** 2).flatten(1).mean(1)
    return (per_row * mask).sum() / mask.sum().clamp(min=1)


def balanced_error(stacked_logits, targets, mask):
    """1 - balanced accuracy of each member over its rows (mean recall of the classes present).

    The ``balanced`` objective's early-stopping criterion: unlike a class-weighted loss it
    does not grow when a model becomes confident, and it is what the study reports."""
    n_classes = stacked_logits.shape[-1]
    correct = (stacked_logits.argmax(-1) == targets).float() * mask  # [S, m]
    members = (targets.unsqueeze(-1) == torch.arange(n_classes, device=targets.device)).float() * mask.unsqueeze(-1)  # [S, m, C]
    support = members.sum(1)  # [S, C]
    recall = (correct.unsqueeze(-1) * members).sum(1) / support.clamp(min=1)
    present = (support > 0).float()
    return 1 - (recall * present).sum(-1) / present.sum(-1).clamp(min=1)


def plain_error(stacked_logits, targets, mask):
    """1 - accuracy of each member over its rows: the ``plain`` objective's criterion."""
    correct = (stacked_logits.argmax(-1) == targets).float() * mask
    return 1 - correct.sum(-1) / mask.sum(-1).clamp(min=1)


# ---- the stack ------------------------------------------------------------------------

def padded(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Ragged row lists as [S, n_max] rows (padding row 0) and a [S, n_max] float mask."""
    width = max(len(r) for r in rows)
    table = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width)
    for s, r in enumerate(rows):
        table[s, :len(r)] = r
        mask[s, :len(r)] = 1
    return table, mask


class Stack:
    """S same-shaped modules as stacked tensors, with a vmap-ed forward."""

    def __init__(self, modules, device):
        params, buffers = stack_module_state(modules)
        self.params = {k: v.detach().to(device).requires_grad_(True) for k, v in params.items()}
        self.buffers = {k: v.to(device) for k, v in buffers.items()}
        self.base = copy.deepcopy(modules[0]).to("meta")

    @property
    def size(self) -> int:
        return len(next(iter(self.params.values())))

    def member_forward(self, params, buffers, inputs):
        return functional_call(self.base, (params, buffers), (inputs,))

    def select(self, keep: torch.Tensor):
        """Keep only the members at indices ``keep``."""
        self.params = {k: v.detach()[keep].requires_grad_(True) for k, v in self.params.items()}
        self.buffers = {k: v[keep] for k, v in self.buffers.items()}

    @torch.no_grad()
    def forward_rows(self, inputs, rows, prefix=None, chunk=512):
        """Member s on ``inputs[rows[s]]``: rows [S, m] -> [S, m, ...], in chunks of m."""
        run = torch.vmap(self.member_forward)
        parts = []
        for start in range(0, rows.shape[1], chunk):
            block = rows[:, start:start + chunk]
            x = inputs[block.flatten()]
            if prefix is not None:
                x = prefix(x)
            parts.append(run(self.params, self.buffers, x.unflatten(0, block.shape)))
        return torch.cat(parts, dim=1)

    def states(self, params=None):
        params = self.params if params is None else params
        return [
            {k: v[s].detach().cpu().clone() for k, v in {**params, **self.buffers}.items()}
            for s in range(self.size)
        ]


class StackedAdam:
    """Adam (as ``torch.optim.Adam``, L2 weight decay) over stacked parameters, with a
    step count per member: a member steps only where ``stepping`` is true."""

    def __init__(self, params: dict, learning_rate: float, weight_decay: float):
        self.learning_rate, self.weight_decay = learning_rate, weight_decay
        self.first = {k: torch.zeros_like(v) for k, v in params.items()}
        self.second = {k: torch.zeros_like(v) for k, v in params.items()}
        some = next(iter(params.values()))
        self.steps = torch.zeros(len(some), dtype=torch.float64, device=some.device)

    def select(self, keep):
        self.first = {k: v[keep] for k, v in self.first.items()}
        self.second = {k: v[keep] for k, v in self.second.items()}
        self.steps = self.steps[keep]

    @torch.no_grad()
    def step(self, params: dict, grads: dict, stepping: torch.Tensor):
        beta1, beta2 = ADAM_BETAS
        self.steps += stepping
        # the step-dependent factors in double precision, as torch.optim.Adam computes them
        step_size = (self.learning_rate / (1 - beta1 ** self.steps.clamp(min=1))).float()
        correction2_root = (1 - beta2 ** self.steps.clamp(min=1)).sqrt().float()
        for name, param in params.items():
            shape = (-1,) + (1,) * (param.dim() - 1)
            on = stepping.view(shape).bool()
            grad = grads[name]
            if self.weight_decay:
                grad = grad + self.weight_decay * param
            first = torch.where(on, torch.lerp(self.first[name], grad, 1 - beta1), self.first[name])
            second = torch.where(on, beta2 * self.second[name] + (1 - beta2) * grad * grad, self.second[name])
            self.first[name], self.second[name] = first, second
            denominator = second.sqrt() / correction2_root.view(shape) + ADAM_EPS
            param.copy_(torch.where(on, param - step_size.view(shape) * first / denominator, param))


def epoch_schedule(train_rows, generators, passes, batch_size):
    """One epoch's batches for every member: rows [S, T, b] and mask [S, T, b], T the
    most batches any member has; a member's batches are its passes, each a fresh
    permutation of its rows cut into batches (the last of a pass may be short)."""
    batches = []
    for rows, generator, n_passes in zip(train_rows, generators, passes):
        member = []
        for _ in range(n_passes):
            order = rows[torch.randperm(len(rows), generator=generator)]
            member += list(order.split(batch_size))
        batches.append(member)
    steps = max(len(b) for b in batches)
    table = torch.zeros(len(batches), steps, batch_size, dtype=torch.long)
    mask = torch.zeros(len(batches), steps, batch_size)
    for s, member in enumerate(batches):
        for t, batch in enumerate(member):
            table[s, t, :len(batch)] = batch
            mask[s, t, :len(batch)] = 1
    return table, mask


def fit_stacked(modules, members: Members, loss, settings: FitSettings, *, criterion=None,
                device=torch.device("cpu"), frozen_prefix=None, label="fit") -> FitResult:
    """Train ``modules`` (S members) on ``members``; return each member's best state.

    loss: the per-member training loss (see above); criterion: what early stopping
    minimises on the validation rows ([S] per call), the validation loss when None.
    frozen_prefix: optional frozen module applied to every batch first (the uncached
    path: the same training as on features computed once).
    """
    started = time.perf_counter()
    n_members = len(modules)
    stack = Stack(modules, device)
    inputs, targets = members.inputs.to(device), members.targets.to(device)
    class_weights = members.class_weights.to(device)
    if frozen_prefix is not None:
        frozen_prefix = frozen_prefix.to(device).eval()
    validating = members.validation_rows is not None
    if validating:
        validation_rows, validation_mask = (t.to(device) for t in padded(members.validation_rows))
        validation_weights = members.validation_weights.to(device)
        validation_targets = targets[validation_rows]

    def prefixed(x):
        if frozen_prefix is None:
            return x
        with torch.no_grad():
            return frozen_prefix(x)

    member_losses = torch.vmap(lambda p, b, x, y, w, m: loss(stack.member_forward(p, b, x), y, w, m))
    optimiser = StackedAdam(stack.params, settings.learning_rate, settings.weight_decay)
    generators = [torch.Generator().manual_seed(int(seed)) for seed in members.seeds]
    passes = [settings.passes_per_epoch(len(rows)) for rows in members.train_rows]
    samples_per_epoch = torch.tensor([p * len(r) for p, r in zip(passes, members.train_rows)], dtype=torch.float32, device=device)

    alive = torch.arange(n_members)  # members still training, as indices into the full stack
    best_score = torch.full((n_members,), math.inf)
    best_epoch = torch.zeros(n_members, dtype=torch.long)
    stopped_at = torch.full((n_members,), settings.max_epochs, dtype=torch.long)
    best_params = {k: v.detach().clone() for k, v in stack.params.items()}
    curves = []
    epoch_seconds = []
    for epoch in range(1, settings.max_epochs + 1):
        epoch_started = time.perf_counter()
        alive_list = alive.tolist()
        schedule, schedule_mask = epoch_schedule(
            [members.train_rows[s] for s in alive_list], [generators[s] for s in alive_list],
            [passes[s] for s in alive_list], settings.batch_size,
        )
        schedule, schedule_mask = schedule.to(device), schedule_mask.to(device)
        alive_device = alive.to(device)
        weights = class_weights[alive_device]
        train_loss = torch.zeros(len(alive_list), device=device)
        for step in range(schedule.shape[1]):
            rows, mask = schedule[:, step], schedule_mask[:, step]
            batch = prefixed(inputs[rows.flatten()]).unflatten(0, rows.shape)
            losses = member_losses(stack.params, stack.buffers, batch, targets[rows], weights, mask)
            grads = torch.autograd.grad(losses.sum(), list(stack.params.values()))
            optimiser.step(stack.params, dict(zip(stack.params, grads)), (mask.sum(1) > 0).double())
            train_loss += losses.detach() * mask.sum(1)
        train_loss = (train_loss / samples_per_epoch[alive_device]).cpu()

        if validating:
            outputs = stack.forward_rows(inputs, validation_rows[alive_device], prefixed)
            alive_targets, alive_mask = validation_targets[alive_device], validation_mask[alive_device]
            validation_loss = torch.vmap(loss)(outputs, alive_targets, validation_weights[alive_device], alive_mask).cpu()
            score = validation_loss if criterion is None else criterion(outputs, alive_targets, alive_mask).cpu()
        else:  # fixed epochs: the last state is the kept one
            validation_loss = score = torch.full((len(alive_list),), math.nan)
        improved = (score < best_score[alive]) | (not validating)
        if improved.any():
            chosen = alive[improved]
            for k, v in stack.params.items():
                best_params[k][chosen.to(device)] = v.detach()[improved.to(device)]
            best_score[chosen] = torch.where(torch.isnan(score[improved]), best_score[chosen], score[improved])
            best_epoch[chosen] = epoch
        for i, s in enumerate(alive_list):
            curves.append((s, epoch, train_loss[i].item(), validation_loss[i].item(), score[i].item()))
        finished = (epoch - best_epoch[alive]) >= settings.patience if validating else torch.zeros(len(alive_list), dtype=torch.bool)
        stopped_at[alive[finished]] = epoch
        epoch_seconds.append(time.perf_counter() - epoch_started)
        log.info(
            "%s epoch %d/%d: %d/%d members training, train loss %.4f, validation criterion %.4f (best %.4f), %.1f s",
            label, epoch, settings.max_epochs, len(alive_list), n_members, train_loss.mean(), score.mean(),
            best_score[alive].mean(), epoch_seconds[-1],
        )
        if finished.any():
            keep = (~finished).nonzero().flatten()
            alive = alive[keep]
            if not len(alive):
                break
            stack.select(keep.to(device))
            optimiser.select(keep.to(device))

    full = Stack(modules, "cpu")
    return FitResult(
        states=full.states({k: v.cpu() for k, v in best_params.items()}),
        best_epoch=best_epoch.tolist(),
        epochs_run=stopped_at.tolist(),
        curves=pd.DataFrame(curves, columns=["member", "epoch", "train_loss", "validation_loss", "validation_criterion"]),
        seconds=time.perf_counter() - started,
    )


@torch.no_grad()
def predict_stacked(modules, inputs, rows, device=torch.device("cpu"), frozen_prefix=None, chunk=512):
    """Outputs of every member: rows [m] (the same rows for all) or one 1-D tensor per
    member (its own rows, equal in number) -> [S, m, ...], on the CPU."""
    stack = Stack(modules, device)
    if isinstance(rows, torch.Tensor) and rows.dim() == 1:
        rows = rows.expand(stack.size, -1)
    else:
        rows = torch.stack(list(rows))
    prefix = None if frozen_prefix is None else frozen_prefix.to(device).eval()
    return stack.forward_rows(inputs.to(device), rows.to(device), prefix, chunk).cpu()
