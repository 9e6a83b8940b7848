"""The source networks: the CAE (no labels) and one CNN per task (every pool label of
its task), each trained with a given seed.

Both train on the training pool and early-stop on the validation split (the CAE on its
reconstruction error, a CNN on its balanced error). A saved network holds ``kind``
(cae or cnn), ``task`` (a CNN's), ``seed``, the ``architecture`` and the training
``settings`` that made it, ``trunk_state`` (the trunk's weights: what
transfer copies), ``model_state`` (the whole network), how training stopped
(``study.columns.STOPPING_KEYS``: ``epochs_run``, ``best_epoch`` (the kept state's), ``max_epochs``
and ``stopped_early``) and the test score (``test_reconstruction_mse``, or
``test_accuracy`` and ``test_balanced_accuracy``). The training curve is written beside it.

``stopped_early`` is True when ``patience`` epochs passed without a better validation
score, so training ended because the score had stopped improving, not because it hit
``max_epochs`` (a network that stopped at its cap may have had more to learn).
"""

from dataclasses import asdict

import torch

from workflow_scripts.data.splits import faces_with_role
from workflow_scripts.nn.architecture import Architecture
from workflow_scripts.nn.metrics import balanced_class_weights, classification_metrics
from workflow_scripts.nn.networks import ConvAutoencoder, build_classifier, network_input
from workflow_scripts.nn.training import (
    FitResult, FitSettings, TrainingRows, balanced_error, fit, predict, reconstruction_error, weighted_cross_entropy,
)


def stopping(result: FitResult, settings: FitSettings) -> dict:
    """How a source network's training ended: ``study.columns.STOPPING_KEYS``."""
    return {"epochs_run": result.epochs_run, "best_epoch": result.best_epoch, "max_epochs": settings.max_epochs,
            "stopped_early": result.epochs_run - result.best_epoch >= settings.patience}


def describe_stopping(saved_network: dict) -> str:
    """One phrase for the log: how the source network's training ended."""
    if saved_network["stopped_early"]:
        return f"stopped early after {saved_network['epochs_run']} epochs (best epoch {saved_network['best_epoch']})"
    return (f"stopped at its epoch cap (max_epochs {saved_network['max_epochs']}), the validation score still "
            f"improving within patience (best epoch {saved_network['best_epoch']}): raise max_epochs to let it converge")


def _seeded(build, seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _pool_and_validation(roles):
    return torch.as_tensor(faces_with_role(roles, "pool")), torch.as_tensor(faces_with_role(roles, "validation"))


def train_cae(images, roles, architecture: Architecture, settings: FitSettings, seed: int, device, n_samples: int = 16):
    """Train the CAE; return its saved network, curve and ``n_samples`` test images beside their reconstructions."""
    model = _seeded(lambda: ConvAutoencoder(architecture), seed)
    inputs = network_input(images)
    targets = images.float() / 255
    pool, validation = _pool_and_validation(roles)
    unweighted = torch.ones(1)
    result = fit(model, inputs, targets, TrainingRows(pool, validation, unweighted, unweighted, seed), reconstruction_error,
                 settings, device=device, label=f"CAE seed {seed}")
    model.load_state_dict(result.state)
    test = torch.as_tensor(faces_with_role(roles, "test"))
    reconstructed = predict(model, inputs.to(device), test.to(device)).cpu()
    test_error = float(((reconstructed - targets[test]) ** 2).mean())
    samples = torch.stack([targets[test[:n_samples]], reconstructed[:n_samples]], dim=1)
    model.cpu()  # the saved network must load where no GPU is (feature extraction, tables)
    saved_network = {
        "kind": "cae",
        "seed": seed,
        "architecture": asdict(architecture),
        "settings": asdict(settings),
        "trunk_state": model.encoder.state_dict(),
        "model_state": model.state_dict(),
        "test_reconstruction_mse": test_error,
        **stopping(result, settings),
    }
    return saved_network, result.curve, samples


def train_source_cnn(images, table, roles, task: str, n_classes: int, architecture: Architecture, settings: FitSettings,
                     seed: int, device):
    """Train the classifier of ``task`` (``n_classes`` classes) on every pool label; return its saved network and curve."""
    model = _seeded(lambda: build_classifier(architecture, n_classes), seed)
    inputs = network_input(images)
    labels = torch.tensor(table[task].to_numpy())
    pool, validation = _pool_and_validation(roles)

    def weights(rows):
        return torch.tensor(balanced_class_weights(labels[rows], n_classes), dtype=torch.float32)

    rows = TrainingRows(pool, validation, weights(pool), weights(validation), seed)
    result = fit(model, inputs, labels, rows, weighted_cross_entropy, settings, criterion=balanced_error, device=device,
                 label=f"source CNN {task} seed {seed}")
    model.load_state_dict(result.state)
    test = torch.as_tensor(faces_with_role(roles, "test"))
    predicted = predict(model, inputs.to(device), test.to(device)).argmax(-1).cpu()
    metrics = classification_metrics(labels[test].numpy(), predicted.numpy(), n_classes)
    model.cpu()  # the saved network must load where no GPU is (feature extraction, tables)
    trunk_names = architecture.trunk_names()
    saved_network = {
        "kind": "cnn",
        "task": task,
        "seed": seed,
        "architecture": asdict(architecture),
        "settings": asdict(settings),
        "trunk_state": {k: v for k, v in model.state_dict().items() if k.split(".")[0] in trunk_names},
        "model_state": model.state_dict(),
        "test_accuracy": metrics["accuracy"],
        "test_balanced_accuracy": metrics["balanced_accuracy"],
        **stopping(result, settings),
    }
    return saved_network, result.curve
