"""The study's networks, built from the config's architecture, and layer transfer.

Every network shares one trunk: conv layers ``conv1 .. convK`` (conv, ReLU, max-pool)
and ``fc1`` (flatten, linear, ReLU). A task classifier adds ``fc2`` (linear, ReLU) and
``out`` (linear, one logit per class). The CAE's encoder is the trunk itself, ``fc1``
being its bottleneck; its decoder mirrors it back to the image. Because layer names and
shapes are the same everywhere, transferring a depth means copying named layers.

A transfer depth names a prefix of the trunk: ``conv<k>`` (the first k conv layers) or
``conv<K>+fc1`` (all K conv layers and fc1).
"""

from collections import OrderedDict

import torch
from torch import nn

from workflow_scripts.nn.architecture import Architecture, ConvSpec
from workflow_scripts.study.scenarios import HEAD_LAYERS


def _conv_layer(in_channels, spec: ConvSpec):
    layers = [nn.Conv2d(in_channels, spec.channels, spec.kernel, padding=spec.kernel // 2), nn.ReLU()]
    if spec.maxpool > 1:
        layers.append(nn.MaxPool2d(spec.maxpool))
    return nn.Sequential(*layers)


def build_trunk(architecture: Architecture) -> nn.Sequential:
    """conv1 .. convK and fc1, as one Sequential with those names."""
    layers = OrderedDict()
    in_channels = 1
    for k, spec in enumerate(architecture.conv, start=1):
        layers[f"conv{k}"] = _conv_layer(in_channels, spec)
        in_channels = spec.channels
    c, h, w = architecture.conv_output_shape()
    layers["fc1"] = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, architecture.fc1), nn.ReLU())
    return nn.Sequential(layers)


def build_classifier(architecture: Architecture, n_classes: int) -> nn.Sequential:
    """Trunk, then fc2 and out: one Sequential whose prefixes are the transfer depths."""
    layers = OrderedDict(build_trunk(architecture).named_children())
    hidden, output = HEAD_LAYERS
    layers[hidden] = nn.Sequential(nn.Linear(architecture.fc1, architecture.fc2), nn.ReLU())
    layers[output] = nn.Linear(architecture.fc2, n_classes)
    return nn.Sequential(layers)


class ConvAutoencoder(nn.Module):
    """Encoder = the trunk (fc1 is the bottleneck); decoder = its mirror, ending in a sigmoid."""

    def __init__(self, architecture: Architecture):
        super().__init__()
        self.encoder = build_trunk(architecture)
        c, h, w = architecture.conv_output_shape()
        layers = [nn.Linear(architecture.fc1, c * h * w), nn.ReLU(), nn.Unflatten(1, (c, h, w))]
        specs = architecture.conv
        for k in reversed(range(len(specs))):
            out_channels = specs[k - 1].channels if k > 0 else 1
            if specs[k].maxpool > 1:
                layers.append(nn.Upsample(scale_factor=specs[k].maxpool, mode="nearest"))
            layers.append(nn.Conv2d(specs[k].channels, out_channels, specs[k].kernel, padding=specs[k].kernel // 2))
            layers.append(nn.ReLU() if k > 0 else nn.Sigmoid())
        self.decoder = nn.Sequential(*layers)

    def forward(self, images):
        return self.decoder(self.encoder(images))


def network_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 grey images to what every network of the study reads: about zero mean, unit spread."""
    return (images.float() / 255 - 0.5) / 0.25


def transfer_prefix(target: nn.Sequential, source_trunk: nn.Sequential, length: int) -> list[str]:
    """Copy the first ``length`` named layers of ``source_trunk`` into ``target``; return their names."""
    names = [name for name, _ in list(target.named_children())[:length]]
    for name in names:
        getattr(target, name).load_state_dict(getattr(source_trunk, name).state_dict())
    return names


def source_trunk(saved_network: dict, architecture: Architecture) -> nn.Sequential:
    """The trunk of a saved source network (CAE encoder or source CNN)."""
    trunk = build_trunk(architecture)
    trunk.load_state_dict(saved_network["trunk_state"])
    return trunk
