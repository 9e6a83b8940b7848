"""The trainers' promises on CUDA: stacked members equal the plain loop, and stacked
cross-validation folds the folds trained in step; cached features equal the full network
trained with its prefix frozen (which stays bit-identical); a CUDA training agrees with
the CPU's. Marked ``gpu``: skipped, with the reason, where
torch sees no CUDA device (CI has none); run them with ``pytest -m gpu`` on a GPU machine."""

import copy

import pytest
import torch

from test_training import (  # noqa: F401 - study is a fixture
    ARCH, SETTINGS, TASK, _features, _folds, _frozen_prefix, _setup, study, training_rows,
)
from workflow_scripts.data.splits import subset_faces
from workflow_scripts.nn.stacked_training import fit_stacked
from workflow_scripts.nn.training import FitSettings, balanced_error, cross_validate, fit, weighted_cross_entropy
from workflow_scripts.pretrain.sources import train_cae, train_source_cnn

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; torch sees none"),
]
CUDA = torch.device("cuda")
CLOSE = {"rtol": 1e-3, "atol": 1e-4}  # float32 on a GPU sums in other orders than the CPU


@pytest.fixture(autouse=True)
def deterministic():
    """cuDNN's fastest algorithms are not deterministic, and on Ampere and later its
    convolutions round their inputs to TF32 (10-bit mantissa) by default: compare like
    with like, in float32. (The pipeline keeps torch's defaults; bench/gpu_check.sh
    measures how far its CUDA results lie from the CPU's.)"""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32
    cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32 = True, False, False, False
    yield
    cudnn.deterministic, cudnn.benchmark, cudnn.allow_tf32, matmul.allow_tf32 = before


def _close(a, b):
    for key in a:
        torch.testing.assert_close(a[key], b[key], **CLOSE, msg=key)


def test_stacked_members_of_different_sizes_equal_the_plain_loop_on_cuda(study):
    _, _, subsets = study
    _, inputs, labels, _, validation, models = _setup(study, 0)
    plan = [(40, 0), (80, 0), (40, 1), (80, 2)]
    rows = [training_rows(labels, torch.tensor(subset_faces(subsets, TASK, seed, n)), validation, seed) for n, seed in plan]
    settings = FitSettings(max_epochs=10, patience=3, batch_size=16, learning_rate=3e-3, min_epoch_samples=100)
    modules = [copy.deepcopy(models[seed]) for _, seed in plan]
    together = fit_stacked(modules, inputs, labels, rows, weighted_cross_entropy, settings, criterion=balanced_error,
                           device=CUDA)
    for member, stacked in enumerate(together):
        alone = fit(copy.deepcopy(modules[member]), inputs, labels, rows[member], weighted_cross_entropy, settings,
                    criterion=balanced_error, device=CUDA)
        assert (alone.best_epoch, alone.epochs_run) == (stacked.best_epoch, stacked.epochs_run)
        _close(alone.state, stacked.state)


def test_stacked_cross_validation_folds_equal_the_folds_in_step_on_cuda(study):
    """Two members' folds in one stack stop as ``cross_validate`` stops each member's folds."""
    _, _, subsets = study
    _, inputs, labels, _, _, models = _setup(study, 0)
    settings = FitSettings(max_epochs=10, patience=3, batch_size=16, learning_rate=3e-3, min_epoch_samples=100)
    plan = [(40, 0), (80, 1)]
    folds = {m: _folds(labels, torch.tensor(subset_faces(subsets, TASK, m[1], m[0])), m[1]) for m in plan}
    owners = [m for m in plan for _ in folds[m]]
    stacked = fit_stacked([copy.deepcopy(models[seed]) for _, seed in owners], inputs, labels,
                          [rows for m in plan for rows in folds[m]], weighted_cross_entropy, settings,
                          criterion=balanced_error, device=CUDA, folds_of=owners)
    for m in plan:
        in_step = cross_validate([copy.deepcopy(models[m[1]]) for _ in folds[m]], inputs, labels, folds[m],
                                 weighted_cross_entropy, settings, criterion=balanced_error, device=CUDA)
        mine = [r for r, owner in zip(stacked, owners) if owner == m]
        for together, alone in zip(mine, in_step):
            assert (together.best_epoch, together.epochs_run) == (alone.best_epoch, alone.epochs_run)
            _close(alone.state, together.state)


def test_cached_features_equal_the_frozen_full_network_and_the_prefix_never_moves_on_cuda(study):
    length = 2
    source, inputs, labels, rows, validation, models = _setup(study, length)
    features = _features(study, source, length, CUDA)
    member_rows = training_rows(labels, rows[0], validation, 0)
    full = _frozen_prefix(copy.deepcopy(models[0]), length)
    prefix_before = copy.deepcopy(full[:length].state_dict())
    on_images = fit(full, inputs, labels, member_rows, weighted_cross_entropy, SETTINGS, criterion=balanced_error, device=CUDA)
    cached = fit(copy.deepcopy(models[0][length:]), features, labels, member_rows, weighted_cross_entropy, SETTINGS,
                 criterion=balanced_error, device=CUDA)
    for key, value in prefix_before.items():
        assert torch.equal(on_images.state[key], value), f"frozen {key} moved"
    assert cached.best_epoch == on_images.best_epoch
    _close(cached.state, {k: v for k, v in on_images.state.items() if k not in prefix_before})


@pytest.mark.parametrize("stacked", [False, True])
def test_a_cuda_training_agrees_with_the_cpu(study, stacked):
    """The same members on both devices: the same stopping and weights within float32
    tolerance (an argmax tie on the early-stopping faces could split them; this data has none)."""
    _, inputs, labels, rows, validation, models = _setup(study, 0)
    members = [training_rows(labels, r, validation, seed) for seed, r in enumerate(rows)]

    def train(device):
        if stacked:
            return fit_stacked([copy.deepcopy(m) for m in models], inputs, labels, members, weighted_cross_entropy, SETTINGS,
                               criterion=balanced_error, device=device)
        return [fit(copy.deepcopy(m), inputs, labels, r, weighted_cross_entropy, SETTINGS, criterion=balanced_error,
                    device=device) for m, r in zip(models, members)]

    for on_cpu, on_cuda in zip(train(torch.device("cpu")), train(CUDA)):
        assert on_cpu.best_epoch == on_cuda.best_epoch
        _close(on_cpu.state, on_cuda.state)


def test_sources_pretrained_on_cuda_are_saved_on_the_cpu(study):
    """Feature extraction and the tables read saved source networks in jobs without a GPU."""
    faces, roles, _ = study
    settings = FitSettings(max_epochs=2, patience=1, batch_size=32, learning_rate=1e-3)
    cae, _, _ = train_cae(faces.images, roles, ARCH, settings, 0, CUDA)
    cnn, _ = train_source_cnn(faces.images, faces.table, roles, "smile", 2, ARCH, settings, 0, CUDA)
    for saved_network in (cae, cnn):
        for part in ("trunk_state", "model_state"):
            assert {tensor.device.type for tensor in saved_network[part].values()} == {"cpu"}, part
