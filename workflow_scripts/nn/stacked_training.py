"""Training many small same-shaped models at once, each as ``training.fit`` trains it alone.

The members' parameters are stacked (``torch.func.stack_module_state``) and one
``vmap``-ed forward and backward serves all of them. Each member keeps its own
``TrainingRows`` (members of different N stack too), batch order (the same
``epoch_batches`` from its own seeded generator), class weights, early-stopping rows and
stopping, so stacking changes nothing but speed. The optimiser is Adam written out over
the stacked tensors with a step count per member (``StackedAdam``), so a member whose
epoch has fewer batches skips the steps it does not have, as it would alone; members
that stop leave the stack. ``StackedRun`` holds the state of one such training, and
``fit_stacked`` reads as ``training.fit`` does: train an epoch, score it, keep what
improved, record, let the finished members go.

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

from workflow_scripts.nn.training import CURVE_COLUMNS, FitResult, FitSettings, TrainingRows

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
    batches = [m.epoch_batches(g, settings) for m, g in zip(members, generators)]
    steps = max(len(b) for b in batches)
    rows = torch.zeros(len(batches), steps, settings.batch_size, dtype=torch.long)
    mask = torch.zeros(len(batches), steps, settings.batch_size)
    for s, member in enumerate(batches):
        for t, batch in enumerate(member):
            rows[s, t, :len(batch)] = batch
            mask[s, t, :len(batch)] = 1
    return rows.to(device), mask.to(device)


def check_stackable(modules, members: list[TrainingRows]):
    """Refuse what the stack would train differently from ``training.fit``."""
    if len(members) != len(modules):
        raise ValueError(f"{len(modules)} modules but {len(members)} members")
    if any(not parameter.requires_grad for module in modules for parameter in module.parameters()):
        raise ValueError("fit_stacked trains every parameter: pass only the layers that train (cached features hold the frozen ones)")


def stopping_groups(n_members: int, folds_of: list | None) -> torch.Tensor:
    """The group (0, 1, ...) of each member: members that stop together, each member
    alone or, with ``folds_of``, the folds of one cross-validation (one key each)."""
    keys = list(range(n_members)) if folds_of is None else folds_of
    return torch.tensor([list(dict.fromkeys(keys)).index(k) for k in keys])


class StackedRun:
    """The members of one stacked training and how far each has got: the stacked
    parameters and their optimiser (members still training only), each member's rows,
    batch-order generator, curve, epoch states (at its checkpoint epochs) and best parameters, and, per group of
    members that stop together (a member alone, or the folds of one cross-validation),
    the best score and epoch. ``alive`` holds the members still training, as indices
    into the full stack; the stack and the optimiser hold those members, in that order."""

    def __init__(self, modules, members: list[TrainingRows], loss, settings: FitSettings, device,
                 folds_of: list | None = None, pooled=None):
        check_stackable(modules, members)
        self.members, self.settings, self.device = members, settings, device
        self.stack = Stack(modules, device)
        self.optimiser = StackedAdam(self.stack.params, settings.learning_rate, settings.weight_decay)
        self.member_losses = torch.vmap(lambda p, b, x, y, w, m: loss(self.stack.member_forward(p, b, x), y, w, m))
        self.loss = loss
        self.generators = [torch.Generator().manual_seed(int(m.seed)) for m in members]
        self.class_weights = torch.stack([m.class_weights for m in members]).to(device)
        self.stopping = members[0].stop is not None
        if self.stopping:
            self.stop_rows, self.stop_mask = padded([m.stop.to(device) for m in members])
            self.stop_weights = torch.stack([m.stop_class_weights for m in members]).to(device)
        self.group = stopping_groups(len(members), folds_of)
        self.later_ties = folds_of is not None
        self.pooled = pooled if folds_of is not None else None
        n_groups = int(self.group.max()) + 1
        self.epoch_cap = torch.tensor([m.epoch_cap(settings) for m in members])
        self.kept_epoch = torch.zeros(n_groups, dtype=torch.long)  # without early stopping: the epoch whose state is kept
        self.kept_epoch[self.group] = torch.tensor([m.kept_epoch(settings) for m in members])
        self.checkpoint_epochs = [m.checkpoint_epochs(settings) for m in members]

        self.alive = torch.arange(len(members))
        self.best_score = torch.full((n_groups,), math.inf, dtype=torch.float64)
        self.best_epoch = torch.zeros(n_groups, dtype=torch.long)
        self.stopped_at = self.epoch_cap.clone()
        self.best_params = {k: v.detach().clone() for k, v in self.stack.params.items()}
        self.curves = {s: [] for s in range(len(members))}
        self.epoch_states = {s: {} for s in range(len(members))}

    def train_epoch(self, inputs, targets) -> torch.Tensor:
        """One epoch of every member still training; their mean training losses per row."""
        alive_list = self.alive.tolist()
        schedule, schedule_mask = epoch_schedule([self.members[s] for s in alive_list],
                                                 [self.generators[s] for s in alive_list], self.settings, self.device)
        weights = self.class_weights[self.alive.to(self.device)]
        train_loss = torch.zeros(len(alive_list), device=self.device)
        for step in range(schedule.shape[1]):
            rows, mask = schedule[:, step], schedule_mask[:, step]
            losses = self.member_losses(self.stack.params, self.stack.buffers, inputs[rows], targets[rows], weights, mask)
            grads = torch.autograd.grad(losses.sum(), list(self.stack.params.values()))
            self.optimiser.step(self.stack.params, dict(zip(self.stack.params, grads)), (mask.sum(1) > 0).double())
            train_loss += losses.detach() * mask.sum(1)
        return (train_loss / schedule_mask.sum((1, 2))).cpu()

    def score(self, epoch: int, inputs, targets, criterion) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(stop loss, criterion, its group's score) of every member still training and
        whether its group did better at ``epoch`` than before (without early stopping:
        whether ``epoch`` is its kept epoch); the groups' scores go to ``best_score``."""
        groups, member_group = self.group[self.alive].unique(return_inverse=True)
        if not self.stopping:  # fixed epochs: the kept epoch's state
            nothing = torch.full((len(self.alive),), math.nan)
            return nothing, nothing, nothing, (self.kept_epoch[groups] == epoch)[member_group]
        alive = self.alive.to(self.device)
        outputs = self.stack.forward_rows(inputs, self.stop_rows[alive])
        alive_targets, alive_mask = targets[self.stop_rows[alive]], self.stop_mask[alive]
        stop_loss = torch.vmap(self.loss)(outputs, alive_targets, self.stop_weights[alive], alive_mask).cpu()
        score = stop_loss if criterion is None else torch.vmap(criterion)(outputs, alive_targets, alive_mask).cpu()
        if self.pooled is None:
            # the mean over each group's members (a member alone: its own score), summed in
            # member order in double precision, as training.cross_validate sums them
            group_score = torch.zeros(len(groups), dtype=torch.float64).index_add_(0, member_group, score.double())
            group_score /= torch.bincount(member_group, minlength=len(groups))
        else:  # one score of each group's rows together: a member's folds' out-of-fold predictions
            in_group = (member_group.to(self.device).unsqueeze(0) == torch.arange(len(groups), device=self.device).unsqueeze(1))
            group_rows = (in_group.unsqueeze(-1) * alive_mask).flatten(1)  # [groups, members x stop rows]
            pooled = torch.vmap(self.pooled, in_dims=(None, None, 0))
            group_score = pooled(outputs.flatten(0, 1), alive_targets.flatten(), group_rows).cpu().double()
        better = group_score <= self.best_score[groups] if self.later_ties else group_score < self.best_score[groups]
        self.best_score[groups[better]] = group_score[better]
        return stop_loss, score, group_score[member_group], better[member_group]

    def keep_improved(self, epoch: int, improved: torch.Tensor):
        """Keep the parameters of the members still training whose group did better."""
        if not improved.any():
            return
        for k, v in self.stack.params.items():
            self.best_params[k][self.alive[improved].to(self.device)] = v.detach()[improved.to(self.device)]
        self.best_epoch[self.group[self.alive[improved]]] = epoch

    def record(self, epoch: int, train_loss, stop_loss, score, choice_score):
        """The epoch's row of each member's curve, and its state at a checkpoint epoch."""
        for i, s in enumerate(self.alive.tolist()):
            self.curves[s].append((epoch, train_loss[i].item(), stop_loss[i].item(), score[i].item(),
                                   choice_score[i].item()))
            if epoch in self.checkpoint_epochs[s]:
                self.epoch_states[s][epoch] = {k: v[i].detach().cpu().clone() for k, v in self.stack.params.items()}

    def drop_finished(self, epoch: int) -> bool:
        """Let the members that end at ``epoch`` leave the stack (their cap, or their
        group's patience run out); whether any member trains on."""
        finished = epoch >= self.epoch_cap[self.alive]
        if self.stopping:
            finished |= (epoch - self.best_epoch[self.group[self.alive]]) >= self.settings.patience
        self.stopped_at[self.alive[finished]] = epoch
        if finished.any():
            keep = (~finished).nonzero().flatten()
            self.alive = self.alive[keep]
            if len(self.alive):
                self.stack.select(keep.to(self.device))
                self.optimiser.select(keep.to(self.device))
        return len(self.alive) > 0

    def results(self, modules, seconds: float) -> list[FitResult]:
        """Each member's ``FitResult``, its buffers (untrained) beside its parameters."""
        buffers = {k: v.cpu() for k, v in Stack(modules, "cpu").buffers.items()}

        def with_buffers(s, params):
            return {**params, **{k: v[s].clone() for k, v in buffers.items()}}

        return [
            FitResult(
                state=with_buffers(s, {k: v[s].detach().cpu().clone() for k, v in self.best_params.items()}),
                best_epoch=int(self.best_epoch[self.group[s]]), epochs_run=int(self.stopped_at[s]),
                curve=pd.DataFrame(self.curves[s], columns=CURVE_COLUMNS), seconds=seconds,
                epoch_states={epoch: with_buffers(s, state) for epoch, state in self.epoch_states[s].items()},
            )
            for s in range(len(self.members))
        ]


def fit_stacked(modules, inputs, targets, members: list[TrainingRows], loss, settings: FitSettings, *,
                criterion=None, pooled=None, device=torch.device("cpu"), label="fit",
                folds_of: list | None = None) -> list[FitResult]:
    """Train ``modules[s]`` on ``members[s]`` for every s at once; each member's result
    is what ``training.fit`` returns for it (``seconds``: its share of the whole).

    ``folds_of``: members that are the folds of one cross-validation share a key here;
    they stop together, as ``training.cross_validate`` stops them: on ``pooled`` of all
    their stop rows' outputs at once (without it: the mean of their criteria), ties going
    to the later epoch."""
    started = time.perf_counter()
    run = StackedRun(modules, members, loss, settings, device, folds_of, pooled)
    inputs, targets = inputs.to(device), targets.to(device)
    for epoch in range(1, int(run.epoch_cap.max()) + 1):
        training = len(run.alive)
        train_loss = run.train_epoch(inputs, targets)
        stop_loss, score, choice_score, improved = run.score(epoch, inputs, targets, criterion)
        run.keep_improved(epoch, improved)
        run.record(epoch, train_loss, stop_loss, score, choice_score)
        log.info("%s epoch %d: %d/%d members training, train loss %.4f, early-stopping criterion %.4f",
                 label, epoch, training, len(members), train_loss.mean(), score.mean())
        if not run.drop_finished(epoch):
            break
    return run.results(modules, (time.perf_counter() - started) / len(members))
