"""The trainer's promises: stacking changes nothing but speed (seeds and sizes alike),
cached features give the model that frozen full-network training gives, frozen layers
stay bit-identical, and each member stops on its own early-stopping rows."""

import copy
import math

import numpy as np
import pytest
import torch

from workflow_scripts.metrics import balanced_class_weights, classification_metrics
from workflow_scripts.networks import Architecture, ConvSpec, build_classifier, build_trunk, network_input
from workflow_scripts.finetuning import extract_features
from workflow_scripts.splits import assign_roles, faces_with_role, labelled_subsets, subset_faces
from workflow_scripts.training import (
    FitSettings, Members, StackedAdam, balanced_error, fit_stacked, plain_error, weighted_cross_entropy,
)

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


def reference_fit(model, frozen_length, inputs, labels, train_rows, val_rows, settings, seed):
    """Plain PyTorch, one model, torch.optim.Adam: freeze the prefix, train the rest,
    keep the best state by validation balanced error (the last state without validation)."""
    for parameter in model[:frozen_length].parameters():
        parameter.requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    generator = torch.Generator().manual_seed(seed)
    class_weights = _weights(labels[train_rows])
    best, best_epoch, best_state = math.inf, 0, None
    for epoch in range(1, settings.max_epochs + 1):
        for _ in range(settings.passes_per_epoch(len(train_rows))):
            order = train_rows[torch.randperm(len(train_rows), generator=generator)]
            for start in range(0, len(order), settings.batch_size):
                rows = order[start:start + settings.batch_size]
                loss = weighted_cross_entropy(model(inputs[rows]), labels[rows], class_weights, torch.ones(len(rows)))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        if val_rows is None:
            best_epoch, best_state = epoch, copy.deepcopy(model.state_dict())
            continue
        with torch.no_grad():
            predicted = model(inputs[val_rows]).argmax(-1)
        val = 1 - classification_metrics(labels[val_rows].numpy(), predicted.numpy(), N_CLASSES)["balanced_accuracy"]
        if val < best:
            best, best_epoch, best_state = val, epoch, copy.deepcopy(model.state_dict())
        if epoch - best_epoch >= settings.patience:
            break
    return best_state, best_epoch


def _setup(study, length, seeds=(0, 1, 2), n=80):
    faces, roles, subsets = study
    torch.manual_seed(123)
    source = build_trunk(ARCH)
    inputs = network_input(faces.images)
    labels = torch.tensor(faces.table[TASK].to_numpy())
    rows = [torch.tensor(subset_faces(subsets, s, n)) for s in seeds]
    validation = torch.tensor(faces_with_role(roles, "validation"))
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_classifier(ARCH, N_CLASSES)
        model[:length].load_state_dict(source[:length].state_dict())
        models.append(model)
    return source, inputs, labels, rows, validation, models


def _members(inputs, labels, rows, validation, seeds):
    """Members training on ``rows``; validation: shared rows, a list per member, or None."""
    if validation is not None and not isinstance(validation, list):
        validation = [validation] * len(rows)
    return Members(
        inputs, labels, list(rows), torch.stack([_weights(labels[r]) for r in rows]), list(seeds),
        validation, None if validation is None else torch.stack([_weights(labels[v]) for v in validation]),
    )


def _assert_same_states(a, b):
    for key in a:
        torch.testing.assert_close(a[key], b[key], **CLOSE, msg=key)


@pytest.mark.parametrize("length", [1, 2, 3])
def test_cached_features_equal_frozen_full_network_training(study, length):
    source, inputs, labels, rows, validation, models = _setup(study, length)
    seeds = [0, 1, 2]
    # the pipeline's path: prefix run once over every face, the rest trained on its output
    features = extract_features(source, length, study[0].images, list(range(len(labels))), torch.device("cpu"))["features"]
    cached = fit_stacked([copy.deepcopy(m[length:]) for m in models], _members(features, labels, rows, validation, seeds),
                         weighted_cross_entropy, SETTINGS, criterion=balanced_error)
    for member, (model, seed) in enumerate(zip(models, seeds)):
        reference_state, reference_best = reference_fit(
            copy.deepcopy(model), length, inputs, labels, rows[member], validation, SETTINGS, seed
        )
        assert cached.best_epoch[member] == reference_best
        assert cached.epochs_run[member] == min(reference_best + SETTINGS.patience, SETTINGS.max_epochs)
        model[length:].load_state_dict(cached.states[member])
        _assert_same_states(model.state_dict(), reference_state)


def test_frozen_prefix_path_matches_cached_path_and_never_moves(study):
    length = 2
    source, inputs, labels, rows, validation, models = _setup(study, length)
    prefix = copy.deepcopy(source[:length])
    prefix_before = copy.deepcopy(prefix.state_dict())
    uncached = fit_stacked([copy.deepcopy(m[length:]) for m in models], _members(inputs, labels, rows, validation, [0, 1, 2]),
                           weighted_cross_entropy, SETTINGS, criterion=balanced_error, frozen_prefix=prefix)
    features = extract_features(source, length, study[0].images, list(range(len(labels))), torch.device("cpu"))["features"]
    cached = fit_stacked([copy.deepcopy(m[length:]) for m in models], _members(features, labels, rows, validation, [0, 1, 2]),
                         weighted_cross_entropy, SETTINGS, criterion=balanced_error)
    for key, value in prefix.state_dict().items():
        assert torch.equal(value, prefix_before[key]), f"frozen {key} moved"
    for a, b in zip(cached.states, uncached.states):
        _assert_same_states(a, b)


def test_stacked_members_of_different_sizes_equal_one_by_one(study):
    """Seeds and sizes in one stack: members with 40 and 80 rows take different numbers of
    steps per epoch and stop at different epochs, and each gets what it gets alone."""
    faces, roles, subsets = study
    _, inputs, labels, _, validation, models = _setup(study, 0)
    plan = [(40, 0), (80, 0), (40, 1), (80, 2)]
    rows = [torch.tensor(subset_faces(subsets, seed, n)) for n, seed in plan]
    seeds = [seed for _, seed in plan]
    modules = [copy.deepcopy(models[seed]) for seed in seeds]
    settings = FitSettings(max_epochs=10, patience=3, batch_size=16, learning_rate=3e-3, min_epoch_samples=100)
    together = fit_stacked(modules, _members(inputs, labels, rows, validation, seeds), weighted_cross_entropy, settings,
                           criterion=balanced_error)
    assert len(set(together.epochs_run)) > 1, "members that stop at different epochs"
    for member, seed in enumerate(seeds):
        alone = fit_stacked([copy.deepcopy(modules[member])], _members(inputs, labels, rows[member:member + 1], validation, [seed]),
                            weighted_cross_entropy, settings, criterion=balanced_error)
        assert alone.epochs_run[0] == together.epochs_run[member]
        assert alone.best_epoch[0] == together.best_epoch[member]
        _assert_same_states(alone.states[0], together.states[member])
        reference_state, reference_best = reference_fit(
            copy.deepcopy(modules[member]), 0, inputs, labels, rows[member], validation, settings, seed)
        assert reference_best == together.best_epoch[member]
        _assert_same_states(together.states[member], reference_state)


def test_each_member_stops_on_its_own_rows(study):
    """Early-stopping rows per member (from_labels): a member's stopping depends on its
    rows only, so changing another member's rows changes nothing for it."""
    faces, roles, subsets = study
    _, inputs, labels, _, _, models = _setup(study, 0)
    labelled = [torch.tensor(subset_faces(subsets, seed, 80)) for seed in (0, 1)]
    fit_rows, stop_rows = [r[:64] for r in labelled], [r[64:] for r in labelled]
    seeds = [0, 1]
    first = fit_stacked([copy.deepcopy(models[s]) for s in seeds], _members(inputs, labels, fit_rows, stop_rows, seeds),
                        weighted_cross_entropy, SETTINGS, criterion=balanced_error)
    other = list(stop_rows)
    other[1] = torch.tensor(faces_with_role(roles, "validation"))[:30]
    second = fit_stacked([copy.deepcopy(models[s]) for s in seeds], _members(inputs, labels, fit_rows, other, seeds),
                         weighted_cross_entropy, SETTINGS, criterion=balanced_error)
    assert first.best_epoch[0] == second.best_epoch[0]
    _assert_same_states(first.states[0], second.states[0])
    reference_state, reference_best = reference_fit(copy.deepcopy(models[0]), 0, inputs, labels, fit_rows[0], stop_rows[0],
                                                    SETTINGS, 0)
    assert first.best_epoch[0] == reference_best
    _assert_same_states(first.states[0], reference_state)


def test_fixed_epochs_train_max_epochs_and_keep_the_last_state(study):
    _, inputs, labels, rows, _, models = _setup(study, 0, seeds=(0, 1))
    result = fit_stacked([copy.deepcopy(m) for m in models], _members(inputs, labels, rows, None, [0, 1]),
                         weighted_cross_entropy, SETTINGS)
    assert result.epochs_run == [SETTINGS.max_epochs] * 2 and result.best_epoch == [SETTINGS.max_epochs] * 2
    assert result.curves["validation_criterion"].isna().all()
    reference_state, _ = reference_fit(copy.deepcopy(models[1]), 0, inputs, labels, rows[1], None, SETTINGS, 1)
    _assert_same_states(result.states[1], reference_state)


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


def test_criteria_match_the_metrics_module_and_ignore_padding():
    torch.manual_seed(0)
    logits = torch.randn(3, 50, N_CLASSES)
    targets = torch.tensor([0, 1, 2, 2, 2] * 10).expand(3, -1)  # classes 3 and 4 absent
    mask = torch.ones(3, 50)
    mask[1, 40:] = 0  # member 1: its last 10 rows are padding
    balanced, plain = balanced_error(logits, targets, mask), plain_error(logits, targets, mask)
    for member in range(3):
        n = int(mask[member].sum())
        expected = classification_metrics(targets[member, :n].numpy(), logits[member, :n].argmax(-1).numpy(), N_CLASSES)
        assert balanced[member].item() == pytest.approx(1 - expected["balanced_accuracy"])
        assert plain[member].item() == pytest.approx(1 - expected["accuracy"])


def test_padding_rows_count_for_nothing_in_the_loss():
    logits, targets = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    weights = torch.tensor([1.0, 2.0, 0.5])
    mask = torch.tensor([1.0, 1, 1, 1, 0, 0])
    masked = weighted_cross_entropy(logits, targets, weights, mask)
    assert masked.item() == pytest.approx(weighted_cross_entropy(logits[:4], targets[:4], weights, torch.ones(4)).item())
    assert np.isfinite(weighted_cross_entropy(logits, targets, weights, torch.zeros(6)).item())  # an idle member: 0, not NaN
