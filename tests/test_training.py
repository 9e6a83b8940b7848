"""The trainers' promises: the stacked trainer gives every member what the plain loop
(``training.fit``) gives it alone (seeds, sizes, early-stopping faces and fixed epochs
alike), and a member's folds what ``training.cross_validate`` gives them, under every
``finetune.cv_criterion``; cached features give the model that training the full network
with its prefix frozen gives, frozen layers stay bit-identical, the state kept at a
checkpoint epoch is the state of a run stopped there, a refit's epoch takes a fold's
optimiser steps, one face changing its answer cannot swing the pooled choice as it swung
the mean over folds, and the losses are torch's own."""

import copy
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from workflow_scripts.data.splits import assign_roles, faces_with_role, labelled_subsets, subset_faces
from workflow_scripts.finetune.blocks import extract_features
from workflow_scripts.nn import stacked_training
from workflow_scripts.nn.architecture import Architecture, ConvSpec
from workflow_scripts.nn.metrics import balanced_class_weights, classification_metrics
from workflow_scripts.nn.networks import build_classifier, build_trunk, network_input
from workflow_scripts.nn.stacked_training import StackedAdam, fit_stacked
from workflow_scripts.nn.training import (
    FitSettings, TrainingRows, balanced_error, balanced_loss, cross_validate, fit, plain_error, plain_loss,
    pooled_criterion_for, reconstruction_error, score_folds, weighted_cross_entropy,
)
from workflow_scripts.pretrain.sources import describe_stopping, train_cae
from workflow_scripts.study.columns import STOPPING_KEYS
from workflow_scripts.study.protocol import refit_steps_per_epoch, steps_per_epoch

ARCH = Architecture((ConvSpec(4, 3, 2), ConvSpec(6, 3, 2)), fc1=16, fc2=8, image_size=16)
SETTINGS = FitSettings(max_epochs=6, patience=2, batch_size=16, learning_rate=3e-3, min_epoch_samples=100)
TASK, N_CLASSES = "pose", 5
CLOSE = {"rtol": 1e-4, "atol": 1e-5}


@pytest.fixture(scope="module")
def study(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    subsets = labelled_subsets(small_faces.table, roles, [40, 80], seeds=[0, 1, 2])
    return small_faces, roles, subsets


def _weights(labels):
    return torch.tensor(balanced_class_weights(labels, N_CLASSES), dtype=torch.float32)


def training_rows(labels, fit_rows, stop_rows, seed):
    return TrainingRows(fit_rows, stop_rows, _weights(labels[fit_rows]),
                        None if stop_rows is None else _weights(labels[stop_rows]), seed)


def _setup(study, length, seeds=(0, 1, 2), n=80):
    """A source trunk, the inputs, labels, each seed's labelled rows, the validation rows,
    and one classifier per seed with the source's first ``length`` layers copied in."""
    faces, roles, subsets = study
    torch.manual_seed(123)
    source = build_trunk(ARCH)
    inputs = network_input(faces.images)
    labels = torch.tensor(faces.table[TASK].to_numpy())
    rows = [torch.tensor(subset_faces(subsets, TASK, s, n)) for s in seeds]
    validation = torch.tensor(faces_with_role(roles, "validation"))
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_classifier(ARCH, N_CLASSES)
        model[:length].load_state_dict(source[:length].state_dict())
        models.append(model)
    return source, inputs, labels, rows, validation, models


def _features(study, source, length, device=torch.device("cpu")):
    n_faces = len(study[0].table)
    return extract_features(source, length, study[0].images, list(range(n_faces)), device)["features"]


def _frozen_prefix(model, length):
    for parameter in model[:length].parameters():
        parameter.requires_grad_(False)
    return model


def _assert_same_states(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], **CLOSE, msg=key)


def _assert_same_fit(stacked, alone):
    assert (stacked.best_epoch, stacked.epochs_run) == (alone.best_epoch, alone.epochs_run)
    _assert_same_states(stacked.state, alone.state)
    np.testing.assert_allclose(stacked.curve.to_numpy(), alone.curve.to_numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("length, learning_rate", [(0, 3e-3), (2, 1e-2)])
def test_stacked_members_of_different_sizes_equal_the_plain_loop(study, length, learning_rate):
    """Seeds and sizes in one stack, from images (length 0) or on cached features of every
    convolution (2: only fully-connected layers train): members
    with 40 and 80 rows take different numbers of steps per epoch and stop at different
    epochs, and each gets what ``fit`` gives it alone."""
    _, _, subsets = study
    source, images, labels, _, validation, models = _setup(study, length)
    inputs = _features(study, source, length) if length else images
    plan = [(40, 0), (80, 0), (40, 1), (80, 2)]
    rows = [training_rows(labels, torch.tensor(subset_faces(subsets, TASK, seed, n)), validation, seed) for n, seed in plan]
    modules = [copy.deepcopy(models[seed][length:]) for _, seed in plan]
    settings = FitSettings(max_epochs=10, patience=3, batch_size=16, learning_rate=learning_rate, min_epoch_samples=100)
    together = fit_stacked(modules, inputs, labels, rows, weighted_cross_entropy, settings, criterion=balanced_error)
    assert len({r.epochs_run for r in together}) > 1, "members that stop at different epochs"
    for member, stacked in enumerate(together):
        alone = fit(copy.deepcopy(modules[member]), inputs, labels, rows[member], weighted_cross_entropy, settings,
                    criterion=balanced_error)
        _assert_same_fit(stacked, alone)


def test_each_member_stops_on_its_own_faces(study):
    """Early-stopping rows per member (from_labels): a member's stopping depends on its
    rows only, so changing another member's rows changes nothing for it."""
    _, roles, subsets = study
    _, inputs, labels, _, _, models = _setup(study, 0)
    labelled = [torch.tensor(subset_faces(subsets, TASK, seed, 80)) for seed in (0, 1)]
    first_rows = [training_rows(labels, r[:64], r[64:], seed) for seed, r in enumerate(labelled)]
    other_rows = [first_rows[0], training_rows(labels, labelled[1][:64], torch.tensor(faces_with_role(roles, "validation"))[:30], 1)]
    first, second = (
        fit_stacked([copy.deepcopy(models[s]) for s in (0, 1)], inputs, labels, rows, weighted_cross_entropy, SETTINGS,
                    criterion=balanced_error)
        for rows in (first_rows, other_rows)
    )
    _assert_same_fit(first[0], second[0])
    _assert_same_fit(first[0], fit(copy.deepcopy(models[0]), inputs, labels, first_rows[0], weighted_cross_entropy,
                                   SETTINGS, criterion=balanced_error))


def test_fixed_epochs_train_max_epochs_and_keep_the_last_state(study):
    _, inputs, labels, rows, _, models = _setup(study, 0, seeds=(0, 1))
    members = [training_rows(labels, r, None, seed) for seed, r in enumerate(rows)]
    stacked = fit_stacked([copy.deepcopy(m) for m in models], inputs, labels, members, weighted_cross_entropy, SETTINGS)
    for member, result in enumerate(stacked):
        assert (result.epochs_run, result.best_epoch) == (SETTINGS.max_epochs, SETTINGS.max_epochs)
        assert result.curve["stop_criterion"].isna().all() and result.curve["train_loss"].notna().all()
        alone = fit(copy.deepcopy(models[member]), inputs, labels, members[member], weighted_cross_entropy, SETTINGS)
        _assert_same_fit(result, alone)
    # the kept state is the last: one more epoch from it would move it
    assert not torch.equal(stacked[0].state["out.weight"], models[0].state_dict()["out.weight"])


@pytest.mark.parametrize("length", [1, 2, 3])
def test_cached_features_equal_training_the_full_network_with_its_prefix_frozen(study, length):
    source, inputs, labels, rows, validation, models = _setup(study, length)
    features = _features(study, source, length)
    for member, model in enumerate(models):
        member_rows = training_rows(labels, rows[member], validation, member)
        full = _frozen_prefix(copy.deepcopy(model), length)
        prefix_before = copy.deepcopy(full[:length].state_dict())
        on_images = fit(full, inputs, labels, member_rows, weighted_cross_entropy, SETTINGS, criterion=balanced_error)
        cached = fit(copy.deepcopy(model[length:]), features, labels, member_rows, weighted_cross_entropy, SETTINGS,
                     criterion=balanced_error)
        for key, value in prefix_before.items():
            assert torch.equal(on_images.state[key], value), f"frozen {key} moved"
        head = {k: v for k, v in on_images.state.items() if k not in prefix_before}
        assert (cached.best_epoch, cached.epochs_run) == (on_images.best_epoch, on_images.epochs_run)
        _assert_same_states(cached.state, head)


def test_stacked_adam_equals_torch_adam_and_skips_members_that_do_not_step():
    torch.manual_seed(0)
    start = torch.randn(3, 4, 5)
    params = {"w": start.clone()}
    optimiser = StackedAdam(params, learning_rate=0.01, weight_decay=0.001)
    references = [torch.nn.Parameter(start[s].clone()) for s in range(3)]
    torch_adams = [torch.optim.Adam([p], lr=0.01, weight_decay=0.001) for p in references]
    for step in range(5):
        grads = torch.randn(3, 4, 5)
        stepping = torch.tensor([1.0, 1.0 if step % 2 else 0.0, 0.0], dtype=torch.float64)
        optimiser.step(params, {"w": grads}, stepping)
        for s in range(3):
            if stepping[s]:
                references[s].grad = grads[s].clone()
                torch_adams[s].step()
    for s in range(3):
        torch.testing.assert_close(params["w"][s], references[s].detach(), rtol=1e-6, atol=1e-7)
    assert torch.equal(params["w"][2], start[2])  # never stepped, never moved


def test_criteria_match_the_metrics_module_alone_and_stacked_with_padding():
    torch.manual_seed(0)
    logits = torch.randn(3, 50, N_CLASSES)
    targets = torch.tensor([0, 1, 2, 2, 2] * 10).expand(3, -1)  # classes 3 and 4 absent
    mask = torch.ones(3, 50)
    mask[1, 40:] = 0  # member 1: its last 10 rows are padding
    stacked = {criterion: torch.vmap(criterion)(logits, targets, mask) for criterion in (balanced_error, plain_error)}
    for member in range(3):
        n = int(mask[member].sum())
        expected = classification_metrics(targets[member, :n].numpy(), logits[member, :n].argmax(-1).numpy(), N_CLASSES)
        for criterion, metric in ((balanced_error, "balanced_accuracy"), (plain_error, "accuracy")):
            assert stacked[criterion][member].item() == pytest.approx(1 - expected[metric])
            assert criterion(logits[member, :n], targets[member, :n]).item() == pytest.approx(1 - expected[metric])


def test_balanced_error_of_a_worked_example():
    # class 0: 2 of 3 right, class 1: 1 of 1 right -> balanced accuracy 5/6, accuracy 3/4
    logits = torch.tensor([[2.0, 0], [2, 0], [0, 2], [0, 2]])
    targets = torch.tensor([0, 0, 0, 1])
    assert balanced_error(logits, targets).item() == pytest.approx(1 / 6)
    assert plain_error(logits, targets).item() == pytest.approx(1 / 4)


def test_the_losses_are_torchs_and_padding_rows_count_for_nothing():
    torch.manual_seed(0)
    logits, targets = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    weights = torch.tensor([1.0, 2.0, 0.5])
    torch.testing.assert_close(weighted_cross_entropy(logits, targets, weights), F.cross_entropy(logits, targets, weight=weights))
    mask = torch.tensor([1.0, 1, 1, 1, 0, 0])
    torch.testing.assert_close(weighted_cross_entropy(logits, targets, weights, mask),
                               F.cross_entropy(logits[:4], targets[:4], weight=weights))
    assert weighted_cross_entropy(logits, targets, weights, torch.zeros(6)).item() == 0  # an idle member: 0, not NaN
    images, reconstructed = torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8)
    torch.testing.assert_close(reconstruction_error(reconstructed, images), F.mse_loss(reconstructed, images))
    torch.testing.assert_close(reconstruction_error(reconstructed, images, None, torch.tensor([1.0, 1, 0, 0])),
                               F.mse_loss(reconstructed[:2], images[:2]))


def _folds(labels, labelled, seed, n_folds=3):
    """A member's cross-validation folds, dealt in turn (the rows' order stands in for
    the stratified deal of protocol.cross_validation_folds, tested there)."""
    fold_of = torch.arange(len(labelled)) % n_folds
    return [training_rows(labels, labelled[fold_of != f], labelled[fold_of == f], seed) for f in range(n_folds)]


@pytest.mark.parametrize("cv_criterion", ["pooled_error", "pooled_loss", "fold_mean_error"])
def test_stacked_cross_validation_equals_the_plain_folds_in_step(study, cv_criterion):
    """Folds of two members in one stack stop as ``cross_validate`` stops each member's
    folds alone: on the folds' score (``cv_criterion``), ties going to the later epoch."""
    _, _, subsets = study
    _, inputs, labels, _, _, models = _setup(study, 0)
    settings = FitSettings(max_epochs=10, patience=3, batch_size=16, learning_rate=3e-3, min_epoch_samples=100)
    pooled = pooled_criterion_for("balanced", cv_criterion)
    plan = [(40, 0), (80, 1)]
    folds = {m: _folds(labels, torch.tensor(subset_faces(subsets, TASK, m[1], m[0])), m[1]) for m in plan}
    owners = [m for m in plan for _ in folds[m]]
    stacked = fit_stacked([copy.deepcopy(models[seed]) for _, seed in owners], inputs, labels,
                          [rows for m in plan for rows in folds[m]], weighted_cross_entropy, settings,
                          criterion=balanced_error, pooled=pooled, folds_of=owners)
    chosen = set()
    for m in plan:
        alone = cross_validate([copy.deepcopy(models[m[1]]) for _ in folds[m]], inputs, labels, folds[m],
                               weighted_cross_entropy, settings, criterion=balanced_error, pooled=pooled)
        mine = [r for r, owner in zip(stacked, owners) if owner == m]
        for together, by_itself in zip(mine, alone):
            _assert_same_fit(together, by_itself)
        # the rule, read off the recorded curves: one score of all folds per epoch (the mean
        # of their own criteria only under fold_mean_error); the last epoch of the lowest
        # score is chosen, and patience more end the search
        choice = alone[0].curve["choice_score"].to_numpy()
        for result in alone:
            np.testing.assert_array_equal(result.curve["choice_score"], choice)
        if cv_criterion == "fold_mean_error":
            np.testing.assert_allclose(choice, np.mean([r.curve["stop_criterion"].to_numpy() for r in alone], axis=0))
        best = len(choice) - 1 - int(np.argmin(choice[::-1]))
        assert {r.best_epoch for r in alone} == {best + 1}
        assert {r.epochs_run for r in alone} == {min(best + 1 + settings.patience, settings.max_epochs)}
        chosen.add(best + 1)
    assert len(chosen) > 1, "members whose folds chose different epoch counts"


def test_a_refit_trains_its_own_epoch_count_stacked_or_alone(study):
    _, inputs, labels, rows, _, models = _setup(study, 0, seeds=(0, 1))
    members = [dataclasses.replace(training_rows(labels, r, None, seed), epochs=epochs)
               for (seed, r), epochs in zip(enumerate(rows), (2, 5))]
    stacked = fit_stacked([copy.deepcopy(m) for m in models], inputs, labels, members, weighted_cross_entropy, SETTINGS)
    for member, result in enumerate(stacked):
        assert result.epochs_run == result.best_epoch == members[member].epochs == len(result.curve)
        _assert_same_fit(result, fit(copy.deepcopy(models[member]), inputs, labels, members[member],
                                     weighted_cross_entropy, SETTINGS))


@pytest.mark.parametrize("cv_criterion", ["pooled_error", "pooled_loss", "fold_mean_error"])
def test_ties_go_to_the_first_epoch_when_early_stopping_and_to_the_last_when_cross_validating(study, cv_criterion):
    """With a learning rate of 0 every epoch scores the same: early stopping keeps epoch 1
    and ends after ``patience`` more; cross-validation, under every ``cv_criterion``,
    takes each tie as the better (the later epoch), so it never runs out of patience and
    chooses ``max_epochs``."""
    _, _, subsets = study
    _, inputs, labels, _, validation, models = _setup(study, 0, seeds=(0,))
    frozen = FitSettings(max_epochs=5, patience=2, batch_size=16, learning_rate=0.0)
    labelled = torch.tensor(subset_faces(subsets, TASK, 0, 40))
    alone = fit(copy.deepcopy(models[0]), inputs, labels, training_rows(labels, labelled, validation, 0),
                weighted_cross_entropy, frozen, criterion=balanced_error)
    assert (alone.best_epoch, alone.epochs_run) == (1, 3)
    folds = _folds(labels, labelled, 0)
    pooled = pooled_criterion_for("balanced", cv_criterion)
    in_step = cross_validate([copy.deepcopy(models[0]) for _ in folds], inputs, labels, folds, weighted_cross_entropy,
                             frozen, criterion=balanced_error, pooled=pooled)
    stacked = fit_stacked([copy.deepcopy(models[0]) for _ in folds], inputs, labels, folds, weighted_cross_entropy, frozen,
                          criterion=balanced_error, pooled=pooled, folds_of=[0] * len(folds))
    for result in in_step + stacked:
        assert (result.best_epoch, result.epochs_run) == (5, 5)


def test_stacked_early_stopping_keeps_the_first_of_equal_epochs_as_fit_does(study):
    _, _, subsets = study
    _, inputs, labels, _, validation, models = _setup(study, 0, seeds=(0, 1))
    frozen = FitSettings(max_epochs=5, patience=2, batch_size=16, learning_rate=0.0)
    rows = [training_rows(labels, torch.tensor(subset_faces(subsets, TASK, seed, 40)), validation, seed) for seed in (0, 1)]
    for result in fit_stacked([copy.deepcopy(m) for m in models], inputs, labels, rows, weighted_cross_entropy, frozen,
                              criterion=balanced_error):
        assert (result.best_epoch, result.epochs_run) == (1, 3)


def test_the_trainers_refuse_what_they_would_train_differently(study):
    _, inputs, labels, rows, validation, models = _setup(study, 1, seeds=(0,))
    with pytest.raises(ValueError, match="fit_stacked trains every parameter"):
        fit_stacked([_frozen_prefix(copy.deepcopy(models[0]), 1)], inputs, labels, [training_rows(labels, rows[0], validation, 0)],
                    weighted_cross_entropy, SETTINGS)
    folds = _folds(labels, rows[0], 0)
    for change in ({"epochs": 3}, {"checkpoints": (2,)}):
        with pytest.raises(ValueError, match="a model that stops early has no epoch count or checkpoints of its own"):
            dataclasses.replace(folds[0], **change)
    with pytest.raises(ValueError, match="every fold needs stop rows"):
        unstopped = [*folds[1:], dataclasses.replace(folds[0], stop=None)]
        cross_validate([copy.deepcopy(models[0]) for _ in folds], inputs, labels, unstopped, weighted_cross_entropy, SETTINGS)
    with pytest.raises(ValueError, match=r"checkpoint epochs must be positive, got \[0, 3\]"):
        dataclasses.replace(training_rows(labels, rows[0], None, 0), checkpoints=(0, 3))


def test_the_state_kept_at_a_checkpoint_is_a_run_stopped_there_alone_and_stacked(study, length=2):
    """Members keeping epoch 2 and 5 with checkpoints 1, 3 and 4 (and 9, beyond
    max_epochs 6: left out): each trains to max(kept, 4) epochs, its result is its kept
    epoch's state, and its state at each checkpoint is what a run of that many epochs
    ends with, in the plain loop and in the stack."""
    source, images, labels, rows, _, models = _setup(study, length, seeds=(0, 1))
    inputs = _features(study, source, length) if length else images
    modules = [copy.deepcopy(m[length:]) for m in models]
    members = [dataclasses.replace(training_rows(labels, r, None, seed), epochs=kept, checkpoints=(4, 1, 3, 9))
               for (seed, r), kept in zip(enumerate(rows), (2, 5))]
    stacked = fit_stacked([copy.deepcopy(m) for m in modules], inputs, labels, members, weighted_cross_entropy, SETTINGS)
    for member, together in enumerate(stacked):
        alone = fit(copy.deepcopy(modules[member]), inputs, labels, members[member], weighted_cross_entropy, SETTINGS)
        kept = members[member].epochs
        for result in (alone, together):
            assert (result.best_epoch, result.epochs_run, len(result.curve)) == (kept, max(kept, 4), max(kept, 4))
            assert sorted(result.epoch_states) == [1, 3, 4]
        _assert_same_fit(together, alone)
        for epochs in (1, 3, 4, kept):
            stopped_rows = dataclasses.replace(members[member], epochs=epochs, checkpoints=())
            stopped = fit(copy.deepcopy(modules[member]), inputs, labels, stopped_rows, weighted_cross_entropy, SETTINGS)
            assert stopped.epochs_run == len(stopped.curve) == epochs
            # alone: the same ops in the same order, so bit for bit; stacked: within float tolerance
            on_the_way = alone.state if epochs == kept else alone.epoch_states[epochs]
            assert all(torch.equal(on_the_way[k], stopped.state[k]) for k in stopped.state), epochs
            _assert_same_states(together.state if epochs == kept else together.epoch_states[epochs], stopped.state)


def test_a_source_network_records_whether_it_stopped_early_or_at_its_cap(study):
    """With a learning rate of 0 the CAE's validation loss never improves after epoch 1:
    patience runs out at epoch 3 of 5 (stopped early). Capped at one epoch it cannot run
    out of patience: it stops at its cap."""
    faces, roles, _ = study
    frozen = FitSettings(max_epochs=5, patience=2, batch_size=64, learning_rate=0.0)
    checkpoint, _, _ = train_cae(faces.images, roles, ARCH, frozen, seed=0, device=torch.device("cpu"))
    assert {key: checkpoint[key] for key in STOPPING_KEYS} == {"epochs_run": 3, "best_epoch": 1, "max_epochs": 5,
                                                               "stopped_early": True}
    capped = FitSettings(max_epochs=1, patience=2, batch_size=64, learning_rate=3e-3)
    checkpoint, _, _ = train_cae(faces.images, roles, ARCH, capped, seed=0, device=torch.device("cpu"))
    assert {key: checkpoint[key] for key in STOPPING_KEYS} == {"epochs_run": 1, "best_epoch": 1, "max_epochs": 1,
                                                               "stopped_early": False}
    assert "stopped at its epoch cap (max_epochs 1)" in describe_stopping(checkpoint)


def _counting_adam_steps(monkeypatch) -> list:
    """Record every ``torch.optim.Adam`` step (the plain loop) and every stacked step's
    stepping members (``StackedAdam``)."""
    steps = []
    plain_step, stacked_step = torch.optim.Adam.step, StackedAdam.step

    def plain(self, *args, **kwargs):
        steps.append(1)
        return plain_step(self, *args, **kwargs)

    def stacked(self, params, grads, stepping):
        steps.append(stepping.cpu().clone())
        return stacked_step(self, params, grads, stepping)

    monkeypatch.setattr(torch.optim.Adam, "step", plain)
    monkeypatch.setattr(stacked_training.StackedAdam, "step", stacked)
    return steps


def test_a_refit_epoch_takes_as_many_optimiser_steps_as_a_fold_epoch(study, monkeypatch):
    """N = 50 in 5 folds, batches of 32, min_epoch_samples 512 (the quick MTFL study's): a
    fold trains on 40 faces, 13 passes of 2 batches = 26 steps an epoch, where a refit of
    ceil(512 / 50) = 11 passes over 50 faces would take 22. The refit counts a fold's 26
    (and at N = 200: 20, where its passes would take 21), alone and stacked, so at its
    chosen count it has taken the folds' steps."""
    settings = FitSettings(max_epochs=6, patience=2, batch_size=32, learning_rate=1e-3, min_epoch_samples=512)
    assert steps_per_epoch(40, 512, 32) == 26 and steps_per_epoch(50, 512, 32) == 22
    assert refit_steps_per_epoch([40] * 5, 512, 32) == 26
    assert steps_per_epoch(160, 512, 32) == 20 and steps_per_epoch(200, 512, 32) == 21
    assert refit_steps_per_epoch([160] * 5, 512, 32) == 20
    assert refit_steps_per_epoch([42, 42, 43, 43, 43], 512, 32) == 25  # 26, 26, 24, 24, 24: mean 24.8
    faces, _, subsets = study
    _, inputs, labels, _, _, models = _setup(study, 0, seeds=(0, 1))
    labelled = {n: torch.tensor(subset_faces(subsets, TASK, 0, n))[:n] for n in (40, 80)}
    refits = [dataclasses.replace(training_rows(labels, labelled[40], None, 0), epochs=3, steps_per_epoch=26),
              dataclasses.replace(training_rows(labels, labelled[80], None, 1), epochs=3, steps_per_epoch=5)]
    steps = _counting_adam_steps(monkeypatch)
    for member, rows in enumerate(refits):
        steps.clear()
        fit(copy.deepcopy(models[member]), inputs, labels, rows, weighted_cross_entropy, settings)
        assert len(steps) == 3 * rows.steps_per_epoch
    steps.clear()
    fit_stacked([copy.deepcopy(m) for m in models], inputs, labels, refits, weighted_cross_entropy, settings)
    assert torch.stack(steps).sum(0).tolist() == [3 * 26, 3 * 5]
    # a fold's epoch without steps_per_epoch: its passes, every batch of each
    steps.clear()
    fit(copy.deepcopy(models[0]), inputs, labels, training_rows(labels, labelled[40], None, 0), weighted_cross_entropy,
        dataclasses.replace(settings, max_epochs=2))
    assert len(steps) == 2 * steps_per_epoch(40, 512, 32)
    # a cut epoch still draws its batches from whole permutations: no face twice in a pass
    batches = refits[1].epoch_batches(torch.Generator().manual_seed(0), settings)
    assert len(batches) == 5 and [len(b) for b in batches] == [32, 32, 16, 32, 32]
    assert sorted(torch.cat(batches[:3]).tolist()) == sorted(labelled[80].tolist())


def test_one_face_changing_its_answer_swings_the_mean_over_folds_but_not_the_pooled_choice():
    """Five folds of ten faces, 27 of class 0 and 23 of class 1; fold 0 holds one face of
    class 1. From epoch 1 to 2 two faces of class 1 (in folds 1 and 2, six each) turn from
    wrong to right: every rule calls epoch 2 better. Add one change: fold 0's face of
    class 1 turns from right to wrong by a hair. The mean over folds of each fold's
    balanced error moves by 10 points for it (50 in its fold), more than the two faces
    gained, and keeps epoch 1; pooled over all 50 faces it weighs 1/(2 x 23) = 2.2 points,
    less than the two faces gained (4.3), and the pooled loss moves by a hair: both still
    choose epoch 2."""
    labels = torch.tensor([0] * 9 + [1] + [0] * 4 + [1] * 6 + [0] * 4 + [1] * 6 + [0] * 5 + [1] * 5 + [0] * 5 + [1] * 5)
    folds = labels.view(5, 10)
    right = torch.where(torch.rand(50, generator=torch.Generator().manual_seed(0)) < 0.8, 2.0, -2.0)  # 80 % right
    right[9] = 1e-3  # fold 0's one face of class 1: right, by a hair
    right[[14, 24]] = -2.0  # a face of class 1 in folds 1 and 2: wrong at epoch 1
    learnt = right.clone()
    learnt[[14, 24]] = 2.0
    flipped = learnt.clone()
    flipped[9] = -1e-3

    def score(margins, cv_criterion):
        """The folds' score of outputs whose margin for the true class is ``margins``."""
        sign = torch.where(labels == 1, 1.0, -1.0)
        parts = torch.stack([-sign * margins / 2, sign * margins / 2], dim=1).view(5, 10, 2)
        own = [balanced_error(parts[f], folds[f]).item() for f in range(5)]
        return score_folds(own, list(parts), list(folds), pooled_criterion_for("balanced", cv_criterion))

    for cv_criterion in ("fold_mean_error", "pooled_error", "pooled_loss"):
        assert score(learnt, cv_criterion) < score(right, cv_criterion), cv_criterion  # epoch 2 is better
    # the one face: the mean over folds now keeps epoch 1; the pooled scores still choose epoch 2
    assert score(flipped, "fold_mean_error") - score(learnt, "fold_mean_error") == pytest.approx(0.1, abs=1e-6)
    assert score(flipped, "fold_mean_error") > score(right, "fold_mean_error")
    assert score(flipped, "pooled_error") - score(learnt, "pooled_error") == pytest.approx(1 / (2 * 23), abs=1e-6)
    assert score(flipped, "pooled_error") < score(right, "pooled_error")
    assert abs(score(flipped, "pooled_loss") - score(learnt, "pooled_loss")) < 1e-3
    assert score(flipped, "pooled_loss") < score(right, "pooled_loss")


def test_the_pooled_losses_are_the_class_weighted_and_plain_cross_entropy():
    logits, targets = torch.randn(7, 3), torch.tensor([0, 2, 2, 1, 2, 2, 0])
    weights = torch.tensor(balanced_class_weights(targets.numpy(), 3), dtype=torch.float32)
    torch.testing.assert_close(balanced_loss(logits, targets), F.cross_entropy(logits, targets, weight=weights))
    torch.testing.assert_close(plain_loss(logits, targets), F.cross_entropy(logits, targets))
    mask = torch.tensor([1.0, 1, 1, 0, 1, 0, 1])  # padding rows count for nothing
    kept = mask.bool()
    torch.testing.assert_close(balanced_loss(logits, targets, mask), balanced_loss(logits[kept], targets[kept]))
    torch.testing.assert_close(plain_loss(logits, targets, mask), plain_loss(logits[kept], targets[kept]))
