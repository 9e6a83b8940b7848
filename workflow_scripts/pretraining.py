"""The source networks: the CAE (no labels) and one CNN per task (all pool labels).

Both are trained on the training pool and early-stopped on the validation set. A saved
checkpoint holds the trunk's state under ``trunk_state`` (what transfer copies), the
whole network's state, and the training curve.
"""

import torch

from .metrics import balanced_class_weights, classification_metrics
from .networks import Architecture, ConvAutoencoder, build_classifier, network_input
from .splits import faces_with_role
from .tasks import N_CLASSES
from .training import FitSettings, balanced_error, fit_stacked, predict_stacked, reconstruction_error, weighted_cross_entropy


def _seeded(build, seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def train_cae(images, roles, architecture: Architecture, settings: FitSettings, seed: int, device, n_samples: int = 16):
    """Train the CAE; return its checkpoint and ``n_samples`` test images beside their reconstructions."""
    model = _seeded(lambda: ConvAutoencoder(architecture), seed)
    inputs = network_input(images)
    targets = images.float() / 255
    pool = torch.as_tensor(faces_with_role(roles, "pool"))
    validation = torch.as_tensor(faces_with_role(roles, "validation"))
    result = fit_stacked(
        [model], inputs, targets, pool.unsqueeze(0), torch.ones(1, 1), validation, torch.ones(1),
        reconstruction_error, settings, [seed], device, label="CAE",
    )
    model.load_state_dict(result.states[0])
    test = torch.as_tensor(faces_with_role(roles, "test"))
    test_error = reconstruction_error(predict_stacked([model], inputs, test, device)[0], targets[test], None).item()
    shown = test[:n_samples]
    samples = torch.stack([targets[shown], predict_stacked([model], inputs, shown, device)[0]], dim=1)
    checkpoint = {
        "kind": "cae",
        "trunk_state": model.encoder.state_dict(),
        "model_state": model.state_dict(),
        "test_reconstruction_mse": test_error,
        "epochs_run": result.epochs_run[0],
    }
    return checkpoint, result.curves.drop(columns="member"), samples


def train_source_cnn(images, table, roles, task: str, architecture: Architecture, settings: FitSettings, seed: int, device):
    """Train the classifier of ``task`` on every pool label; return its checkpoint and curve."""
    n_classes = N_CLASSES[task]
    model = _seeded(lambda: build_classifier(architecture, n_classes), seed)
    inputs = network_input(images)
    labels = torch.tensor(table[task].to_numpy())
    pool = torch.as_tensor(faces_with_role(roles, "pool"))
    validation = torch.as_tensor(faces_with_role(roles, "validation"))
    weights = torch.tensor(balanced_class_weights(labels[pool], n_classes), dtype=torch.float32)
    validation_weights = torch.tensor(balanced_class_weights(labels[validation], n_classes), dtype=torch.float32)
    result = fit_stacked(
        [model], inputs, labels, pool.unsqueeze(0), weights.unsqueeze(0), validation, validation_weights,
        weighted_cross_entropy, settings, [seed], device, label=f"source CNN {task}", criterion=balanced_error,
    )
    model.load_state_dict(result.states[0])
    test = torch.as_tensor(faces_with_role(roles, "test"))
    predicted = predict_stacked([model], inputs, test, device)[0].argmax(-1)
    metrics = classification_metrics(labels[test].numpy(), predicted.numpy(), n_classes)
    trunk_names = architecture.trunk_names()
    checkpoint = {
        "kind": "cnn",
        "task": task,
        "trunk_state": {k: v for k, v in model.state_dict().items() if k.split(".")[0] in trunk_names},
        "model_state": model.state_dict(),
        "test_accuracy": metrics["accuracy"],
        "test_balanced_accuracy": metrics["balanced_accuracy"],
        "epochs_run": result.epochs_run[0],
    }
    return checkpoint, result.curves.drop(columns="member")
