"""Training many small same-shaped models at once, each as ``training.fit`` trains it alone.

The members' parameters are stacked (``torch.func.stack_module_state``) and one
``vmap``-ed forward and backward serves all of them. Each member keeps its own
``TrainingRows`` (members of different N stack too), batch order (the same
``epoch_batches`` from its own seeded generator), class weights, early-stopping rows and
stopping, so stacking changes nothing but speed. The optimiser is Adam written out over
the stacked tensors with a step count per member (``StackedAdam``), so a member whose
epoch has fewer batches skips the steps it does not have, as it would alone; members
that stop leave the stack.

It is meant for a GPU, where many tiny models each leave most of the device idle. On the
CPU the plain loop measured as fast or faster for every kind of block: stacked members
pad their batches to the longest member's, and the padded work costs more than the loop
saves (``bench/training_speed.py``, bench/README.md). ``finetuning.stacking_groups``
decides which members stack.
"""

import copy
import logging
import math
import time

import pandas as pd
import torch
from torch.func import functional_call, stack_module_state

from .training import CURVE_COLUMNS, FitResult, FitSettings, TrainingRows, epoch_batches

log = logging.getLogger(__name__)

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def padded(rows: list[torch.Tensor], width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Ragged row lists as [S, width] rows (padding: row 0) and a [S, width] float mask."""
    width = max(len(r) for r in rows) if width is None else width
    table = torch.zeros(len(rows), width, dtype=torch.long, device=rows[0].device)
    mask = torch.zeros(len(rows), width, device=rows[0].device)
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

    def member_forward(self, params, buffers, inputs):
        return functional_call(self.base, (params, buffers), (inputs,))

    def select(self, keep: torch.Tensor):
        """Keep only the members at indices ``keep``."""
        self.params = {k: v.detach()[keep].requires_grad_(True) for k, v in self.params.items()}
        self.buffers = {k: v[keep] for k, v in self.buffers.items()}

    @torch.no_grad()
    def forward_rows(self, inputs, rows, chunk=512):
        """Member s on ``inputs[rows[s]]``: rows [S, m] -> [S, m, ...], m in chunks."""
        run = torch.vmap(self.member_forward)
        parts = []
        for start in range(0, rows.shape[1], chunk):
            part = rows[:, start:start + chunk]
            parts.append(run(self.params, self.buffers, inputs[part.flatten()].unflatten(0, part.shape)))
        return torch.cat(parts, dim=1)


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


def epoch_schedule(members: list[TrainingRows], generators, settings: FitSettings, device):
    """One epoch's batches of every member as rows [S, T, b] and mask [S, T, b], T the
    most batches any member has (a member with fewer idles through the rest)."""
    batches = [epoch_batches(m.fit, g, settings.passes_per_epoch(len(m.fit)), settings.batch_size)
               for m, g in zip(members, generators)]
    steps = max(len(b) for b in batches)
    rows = torch.zeros(len(batches), steps, settings.batch_size, dtype=torch.long)
    mask = torch.zeros(len(batches), steps, settings.batch_size)
    for s, member in enumerate(batches):
        for t, batch in enumerate(member):
            rows[s, t, :len(batch)] = batch
            mask[s, t, :len(batch)] = 1
    return rows.to(device), mask.to(device)


def fit_stacked(modules, inputs, targets, members: list[TrainingRows], loss, settings: FitSettings, *,
                criterion=None, device=torch.device("cpu"), label="fit", folds_of: list | None = None) -> list[FitResult]:
    """Train ``modules[s]`` on ``members[s]`` for every s at once; each member's result
    is what ``training.fit`` returns for it (``seconds``: its share of the whole).

    ``folds_of``: members that are the folds of one cross-validation share a key here;
    they stop together, as ``training.cross_validate`` stops them: on the mean of their
    criteria, ties going to the later epoch."""
    started = time.perf_counter()
    n_members = len(modules)
    if len(members) != n_members:
        raise ValueError(f"{n_members} modules but {len(members)} members")
    if any(not parameter.requires_grad for module in modules for parameter in module.parameters()):
        raise ValueError("fit_stacked trains every parameter: pass only the layers that train (cached features hold the frozen ones)")
    stack = Stack(modules, device)
    inputs, targets = inputs.to(device), targets.to(device)
    class_weights = torch.stack([m.class_weights for m in members]).to(device)
    stopping = members[0].stop is not None
    if stopping:
        stop_rows, stop_mask = padded([m.stop.to(device) for m in members])
        stop_weights = torch.stack([m.stop_class_weights for m in members]).to(device)
        stop_targets = targets[stop_rows]
        score_of = torch.vmap(criterion) if criterion is not None else None
    # who stops together: each member alone, or the folds of one cross-validation
    keys = list(range(n_members)) if folds_of is None else folds_of
    group = torch.tensor([list(dict.fromkeys(keys)).index(k) for k in keys])
    n_groups, later_ties = int(group.max()) + 1, folds_of is not None
    epoch_cap = torch.tensor([m.epoch_cap(settings) for m in members])
    kept_epoch = torch.zeros(n_groups, dtype=torch.long)  # without early stopping: the epoch whose state is kept
    kept_epoch[group] = torch.tensor([m.kept_epoch(settings) for m in members])
    checkpoint_epochs = [m.checkpoint_epochs(settings) for m in members]

    member_losses = torch.vmap(lambda p, b, x, y, w, m: loss(stack.member_forward(p, b, x), y, w, m))
    optimiser = StackedAdam(stack.params, settings.learning_rate, settings.weight_decay)
    generators = [torch.Generator().manual_seed(int(m.seed)) for m in members]
    samples = torch.tensor([settings.passes_per_epoch(len(m.fit)) * len(m.fit) for m in members], dtype=torch.float32)

    alive = torch.arange(n_members)  # members still training, as indices into the full stack
    best_score = torch.full((n_groups,), math.inf, dtype=torch.float64)
    best_epoch = torch.zeros(n_groups, dtype=torch.long)
    stopped_at = epoch_cap.clone()
    best_params = {k: v.detach().clone() for k, v in stack.params.items()}
    curves = {s: [] for s in range(n_members)}
    checkpoints = {s: {} for s in range(n_members)}
    for epoch in range(1, int(epoch_cap.max()) + 1):
        alive_list, alive_device = alive.tolist(), alive.to(device)
        schedule, schedule_mask = epoch_schedule([members[s] for s in alive_list], [generators[s] for s in alive_list],
                                                 settings, device)
        weights = class_weights[alive_device]
        train_loss = torch.zeros(len(alive_list), device=device)
        for step in range(schedule.shape[1]):
            rows, mask = schedule[:, step], schedule_mask[:, step]
            losses = member_losses(stack.params, stack.buffers, inputs[rows], targets[rows], weights, mask)
            grads = torch.autograd.grad(losses.sum(), list(stack.params.values()))
            optimiser.step(stack.params, dict(zip(stack.params, grads)), (mask.sum(1) > 0).double())
            train_loss += losses.detach() * mask.sum(1)
        train_loss = train_loss.cpu() / samples[alive]

        groups, member_group = group[alive].unique(return_inverse=True)
        if stopping:
            outputs = stack.forward_rows(inputs, stop_rows[alive_device])
            alive_targets, alive_mask = stop_targets[alive_device], stop_mask[alive_device]
            stop_loss = torch.vmap(loss)(outputs, alive_targets, stop_weights[alive_device], alive_mask).cpu()
            score = stop_loss if score_of is None else score_of(outputs, alive_targets, alive_mask).cpu()
            # the mean over each group's members (a member alone: its own score), summed in
            # member order in double precision, as training.cross_validate sums them
            group_score = torch.zeros(len(groups), dtype=torch.float64).index_add_(0, member_group, score.double())
            group_score /= torch.bincount(member_group, minlength=len(groups))
            better = group_score <= best_score[groups] if later_ties else group_score < best_score[groups]
        else:  # fixed epochs: the kept epoch's state
            stop_loss = score = torch.full((len(alive_list),), math.nan)
            group_score, better = torch.full((len(groups),), math.nan), kept_epoch[groups] == epoch
        improved = better[member_group]
        if improved.any():
            for k, v in stack.params.items():
                best_params[k][alive[improved].to(device)] = v.detach()[improved.to(device)]
            best_score[groups[better]] = group_score[better].double()
            best_epoch[groups[better]] = epoch
        for i, s in enumerate(alive_list):
            curves[s].append((epoch, train_loss[i].item(), stop_loss[i].item(), score[i].item()))
            if epoch in checkpoint_epochs[s]:
                checkpoints[s][epoch] = {k: v[i].detach().cpu().clone() for k, v in stack.params.items()}
        finished = epoch >= epoch_cap[alive]
        if stopping:
            finished |= (epoch - best_epoch[group[alive]]) >= settings.patience
        stopped_at[alive[finished]] = epoch
        log.info("%s epoch %d: %d/%d members training, train loss %.4f, early-stopping criterion %.4f",
                 label, epoch, len(alive_list), n_members, train_loss.mean(), score.mean())
        if finished.any():
            keep = (~finished).nonzero().flatten()
            alive = alive[keep]
            if not len(alive):
                break
            stack.select(keep.to(device))
            optimiser.select(keep.to(device))

    seconds = (time.perf_counter() - started) / n_members
    buffers = {k: v.cpu() for k, v in Stack(modules, "cpu").buffers.items()}

    def member_buffers(s):
        return {k: v[s].clone() for k, v in buffers.items()}

    return [
        FitResult(
            state={**{k: v[s].detach().cpu().clone() for k, v in best_params.items()}, **member_buffers(s)},
            best_epoch=int(best_epoch[group[s]]), epochs_run=int(stopped_at[s]),
            curve=pd.DataFrame(curves[s], columns=CURVE_COLUMNS), seconds=seconds,
            checkpoints={epoch: {**state, **member_buffers(s)} for epoch, state in checkpoints[s].items()},
        )
        for s in range(n_members)
    ]
