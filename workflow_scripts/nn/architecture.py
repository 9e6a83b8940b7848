"""The study's architecture, as the config gives it: conv layers, fc1, fc2 and the image
side, the layer names and the transfer depths it allows. Torch-free, so that the stages
that only count or name layers (energy tables, collection) do not load PyTorch; the
networks built from it are ``networks``'."""

from dataclasses import dataclass

from workflow_scripts.study.depths import depth_names, layers_covered
from workflow_scripts.study.scenarios import HEAD_LAYERS


@dataclass(frozen=True)
class ConvSpec:
    """One conv layer of config ``network.conv``."""

    channels: int
    kernel: int
    maxpool: int  # max-pool factor (1: no max-pooling); named as the config key


@dataclass(frozen=True)
class Architecture:
    conv: tuple[ConvSpec, ...]
    fc1: int
    fc2: int
    image_size: int

    @classmethod
    def from_config(cls, network: dict, image_size: int) -> "Architecture":
        return cls(tuple(ConvSpec(**layer) for layer in network["conv"]), network["fc1"], network["fc2"], image_size)

    @property
    def n_conv(self) -> int:
        return len(self.conv)

    def conv_output_shape(self) -> tuple[int, int, int]:
        side = self.image_size
        for layer in self.conv:
            side //= layer.maxpool
        return self.conv[-1].channels, side, side

    def trunk_names(self) -> list[str]:
        return [f"conv{k}" for k in range(1, self.n_conv + 1)] + ["fc1"]

    def classifier_names(self) -> list[str]:
        """Every layer of a task classifier, input to output."""
        return self.trunk_names() + list(HEAD_LAYERS)

    def depths(self) -> list[str]:
        """Every transfer depth this architecture allows, shallow to deep."""
        return depth_names(self.n_conv)


def prefix_length(depth: str, architecture: Architecture) -> int:
    """How many trunk layers a transfer depth covers; ValueError if it does not fit."""
    if depth not in architecture.depths():
        raise ValueError(f"transfer depth {depth!r} is not one of {architecture.depths()}")
    return layers_covered(depth)


def prefix_layers(depth: str, architecture: Architecture) -> list[str]:
    """The names of the trunk layers a transfer depth covers (conv2 -> conv1, conv2)."""
    return architecture.trunk_names()[:prefix_length(depth, architecture)]
