"""The trainer's promises on CUDA: stacked members equal one-by-one training, cached
features equal the frozen full network, frozen layers stay bit-identical, and a CUDA
training agrees with the CPU's. Marked ``gpu``: skipped, with the reason, where torch
sees no CUDA device (CI has none); run them with ``pytest -m gpu`` on a GPU machine."""

import copy

import pytest
import torch

from test_training import SETTINGS, _members, _setup, study  # noqa: F401 - study is a fixture
from workflow_scripts.finetuning import extract_features
from workflow_scripts.splits import subset_faces
from workflow_scripts.training import FitSettings, balanced_error, fit_stacked, weighted_cross_entropy

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; torch sees none"),
]
CUDA = torch.device("cuda")
CLOSE = {"rtol": 1e-3, "atol": 1e-4}  # float32 on a GPU sums in other orders than the CPU


@pytest.fixture(autouse=True)
def deterministic():
    """cuDNN's fastest algorithms are not deterministic: compare like with like."""
    before = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before


def _close(a, b):
    for key in a:
        torch.testing.assert_close(a[key], b[key], **CLOSE, msg=key)


def test_stacked_members_of_different_sizes_equal_one_by_one_on_cuda(study):
    _, _, subsets = study
    _, inputs, labels, _, validation, models = _setup(study, 0)
    plan = [(40, 0), (80, 0), (40, 1), (80, 2)]
    rows = [torch.tensor(subset_faces(subsets, seed, n)) for n, seed in plan]
    seeds = [seed for _, seed in plan]
    settings = FitSettings(max_epochs=10, patience=3, batch_size=16, learning_rate=3e-3, min_epoch_samples=100)
    modules = [copy.deepcopy(models[seed]) for seed in seeds]
    together = fit_stacked(modules, _members(inputs, labels, rows, validation, seeds), weighted_cross_entropy, settings,
                           criterion=balanced_error, device=CUDA)
    for member, seed in enumerate(seeds):
        alone = fit_stacked([copy.deepcopy(modules[member])], _members(inputs, labels, rows[member:member + 1], validation, [seed]),
                            weighted_cross_entropy, settings, criterion=balanced_error, device=CUDA)
        assert alone.epochs_run[0] == together.epochs_run[member]
        _close(alone.states[0], together.states[member])


def test_cached_features_equal_the_frozen_full_network_and_the_prefix_never_moves_on_cuda(study):
    length = 2
    source, inputs, labels, rows, validation, models = _setup(study, length)
    prefix = copy.deepcopy(source[:length])
    prefix_before = copy.deepcopy(prefix.state_dict())
    uncached = fit_stacked([copy.deepcopy(m[length:]) for m in models], _members(inputs, labels, rows, validation, [0, 1, 2]),
                           weighted_cross_entropy, SETTINGS, criterion=balanced_error, frozen_prefix=prefix, device=CUDA)
    features = extract_features(source, length, study[0].images, list(range(len(labels))), CUDA)["features"]
    cached = fit_stacked([copy.deepcopy(m[length:]) for m in models], _members(features, labels, rows, validation, [0, 1, 2]),
                         weighted_cross_entropy, SETTINGS, criterion=balanced_error, device=CUDA)
    for key, value in prefix.cpu().state_dict().items():
        assert torch.equal(value, prefix_before[key]), f"frozen {key} moved"
    for a, b in zip(cached.states, uncached.states):
        _close(a, b)


def test_a_cuda_training_agrees_with_the_cpu(study):
    """The same members on both devices: the same stopping and weights within float32
    tolerance (an argmax tie on the validation set could split them; this data has none)."""
    _, inputs, labels, rows, validation, models = _setup(study, 0)
    members = _members(inputs, labels, rows, validation, [0, 1, 2])
    on_cpu = fit_stacked([copy.deepcopy(m) for m in models], members, weighted_cross_entropy, SETTINGS, criterion=balanced_error)
    on_cuda = fit_stacked([copy.deepcopy(m) for m in models], members, weighted_cross_entropy, SETTINGS,
                          criterion=balanced_error, device=CUDA)
    assert on_cpu.best_epoch == on_cuda.best_epoch
    for a, b in zip(on_cpu.states, on_cuda.states):
        _close(a, b)
