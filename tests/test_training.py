"""The trainer's promises: stacking changes nothing but speed, cached features give the
model that frozen full-network training gives, frozen layers stay bit-identical."""

import copy
import math

import pandas as pd
import pytest
import torch

from workflow_scripts.finetuning import extract_features, needed_faces, run_block
from workflow_scripts.metrics import balanced_class_weights, classification_metrics
from workflow_scripts.networks import Architecture, ConvSpec, build_classifier, build_trunk, network_input
from workflow_scripts.splits import assign_roles, faces_with_role, labelled_subsets, subset_faces
from workflow_scripts.training import FitSettings, balanced_error, fit_stacked, weighted_cross_entropy

ARCH = Architecture((ConvSpec(4, 3, 2), ConvSpec(6, 3, 2)), fc1=16, fc2=8, image_size=16)
SETTINGS = FitSettings(max_epochs=6, patience=2, batch_size=16, learning_rate=3e-3, min_epoch_samples=100)
TASK, N_CLASSES = "pose", 5


@pytest.fixture(scope="module")
def study(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    subsets = labelled_subsets(small_faces.table, roles, [40, 80], seeds=[0, 1, 2])
    return small_faces, roles, subsets


def _weights(labels):
    return torch.tensor(balanced_class_weights(labels, N_CLASSES), dtype=torch.float32)


def reference_fit(model, frozen_length, inputs, labels, train_rows, val_rows, settings, seed):
    """Plain PyTorch, one model: freeze the prefix, train the rest, keep the best state."""
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
                loss = weighted_cross_entropy(model(inputs[rows]), labels[rows], class_weights)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
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
    rows = torch.stack([torch.tensor(subset_faces(subsets, s, n)) for s in seeds])
    validation = torch.tensor(faces_with_role(roles, "validation"))
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_classifier(ARCH, N_CLASSES)
        model[:length].load_state_dict(source[:length].state_dict())
        models.append(model)
    return source, inputs, labels, rows, validation, models


@pytest.mark.parametrize("length", [1, 2, 3])
def test_cached_features_equal_frozen_full_network_training(study, length):
    source, inputs, labels, rows, validation, models = _setup(study, length)
    seeds = [0, 1, 2]
    # the pipeline's path: prefix run once over every face, the rest trained on its output
    features = extract_features(source, length, study[0].images, list(range(len(labels))), torch.device("cpu"))["features"]
    cached = fit_stacked(
        [copy.deepcopy(m[length:]) for m in models], features, labels, rows,
        torch.stack([_weights(labels[r]) for r in rows]), validation, _weights(labels[validation]),
        weighted_cross_entropy, SETTINGS, seeds, criterion=balanced_error,
    )
    for member, (model, seed) in enumerate(zip(models, seeds)):
        reference_state, reference_best = reference_fit(
            copy.deepcopy(model), length, inputs, labels, rows[member], validation, SETTINGS, seed
        )
        assert cached.best_epoch[member] == reference_best
        assert cached.epochs_run[member] == min(reference_best + SETTINGS.patience, SETTINGS.max_epochs)
        trained_rest = model[length:]
        trained_rest.load_state_dict(cached.states[member])
        for key, value in model.state_dict().items():
            torch.testing.assert_close(value, reference_state[key], rtol=1e-4, atol=1e-5, msg=key)


def test_frozen_prefix_path_matches_cached_path_and_never_moves(study):
    length = 2
    source, inputs, labels, rows, validation, models = _setup(study, length)
    prefix = copy.deepcopy(source[:length])
    prefix_before = copy.deepcopy(prefix.state_dict())
    weights = torch.stack([_weights(labels[r]) for r in rows])
    common = (labels, rows, weights, validation, _weights(labels[validation]), weighted_cross_entropy, SETTINGS, [0, 1, 2])
    uncached = fit_stacked([copy.deepcopy(m[length:]) for m in models], inputs, *common, frozen_prefix=prefix, criterion=balanced_error)
    features = extract_features(source, length, study[0].images, list(range(len(labels))), torch.device("cpu"))["features"]
    cached = fit_stacked([copy.deepcopy(m[length:]) for m in models], features, *common, criterion=balanced_error)
    for key, value in prefix.state_dict().items():
        assert torch.equal(value, prefix_before[key]), f"frozen {key} moved"
    for a, b in zip(cached.states, uncached.states):
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5)


def test_stacked_seeds_equal_one_by_one(study):
    source, inputs, labels, rows, validation, models = _setup(study, 0)
    weights = torch.stack([_weights(labels[r]) for r in rows])
    val_weights = _weights(labels[validation])
    together = fit_stacked([copy.deepcopy(m) for m in models], inputs, labels, rows, weights, validation, val_weights,
                           weighted_cross_entropy, SETTINGS, [0, 1, 2], criterion=balanced_error)
    for member, seed in enumerate([0, 1, 2]):
        alone = fit_stacked([copy.deepcopy(models[member])], inputs, labels, rows[member:member + 1], weights[member:member + 1],
                            validation, val_weights, weighted_cross_entropy, SETTINGS, [seed], criterion=balanced_error)
        assert alone.epochs_run[0] == together.epochs_run[member]
        for key in alone.states[0]:
            torch.testing.assert_close(alone.states[0][key], together.states[member][key], rtol=1e-4, atol=1e-5)


def _block(study, scenario, trunk=None, features=None, batch_seeds=True):
    faces, roles, subsets = study
    return run_block(
        task=TASK, scenario=scenario, source="none" if scenario == "none" else "cae",
        depth="none" if scenario == "none" else "conv2", architecture=ARCH, table=faces.table, roles=roles,
        subsets=subsets, settings=SETTINGS, train_sizes=[40, 80], seeds=[0, 1, 2], device=torch.device("cpu"),
        images=faces.images, features=features, trunk=trunk, batch_seeds=batch_seeds,
    )


def test_block_is_deterministic_and_complete(study):
    first, curves, states = _block(study, "none")
    second, _, _ = _block(study, "none")
    columns = ["accuracy", "balanced_accuracy", "macro_f1", "confusion", "epochs_run", "best_epoch"]
    pd.testing.assert_frame_equal(first[columns], second[columns])
    assert len(first) == 6 and set(first["n_train"]) == {40, 80}
    assert first["balanced_accuracy"].between(0, 1).all()
    assert set(curves["seed"]) == {0, 1, 2} and (curves.groupby(["n_train", "seed"]).size() > 0).all()
    assert set(states) == {(n, s) for n in (40, 80) for s in (0, 1, 2)}


def test_frozen_block_trains_only_the_rest_and_tuned_block_moves_the_prefix(study):
    faces, roles, subsets = study
    torch.manual_seed(9)
    trunk = build_trunk(ARCH)
    features = extract_features(trunk, 2, faces.images, needed_faces(roles, subsets), torch.device("cpu"))
    _, _, frozen_states = _block(study, "cae", trunk=None, features=features)
    # depth conv2: the saved, trained part is fc1, fc2 and out; conv1 and conv2 stay the source's
    assert {key.split(".")[0] for key in frozen_states[(40, 0)]} == {"fc1", "fc2", "out"}
    _, _, tuned_states = _block(study, "cae_tuned", trunk=trunk)
    tuned = tuned_states[(40, 0)]
    assert not torch.equal(tuned["conv1.0.weight"], trunk.conv1[0].weight)  # fine-tuned: the copy moved


def test_features_for_missing_faces_are_a_clear_error(study):
    faces, roles, subsets = study
    trunk = build_trunk(ARCH)
    features = extract_features(trunk, 2, faces.images, faces_with_role(roles, "test"), torch.device("cpu"))
    with pytest.raises(ValueError, match="cached features lack some faces"):
        _block(study, "cae", trunk=trunk, features=features)


def test_balanced_error_matches_the_metrics_module():
    torch.manual_seed(0)
    logits = torch.randn(3, 50, N_CLASSES)
    targets = torch.tensor([0, 1, 2, 2, 2] * 10)  # classes 3 and 4 absent
    errors = balanced_error(logits, targets, None)
    for member in range(3):
        expected = classification_metrics(targets.numpy(), logits[member].argmax(-1).numpy(), N_CLASSES)["balanced_accuracy"]
        assert errors[member].item() == pytest.approx(1 - expected)
