"""Transfer depths by name: ``conv<k>`` is the first k conv layers of the trunk and
``conv<K>+fc1`` all K of them and fc1. Torch-free, so that the config check (at DAG
build), the study grid, the networks and the analysis all read depth names the same way."""

import re

PATTERN = re.compile(r"conv(\d+)(\+fc1)?")


def depth_names(n_conv: int) -> list[str]:
    """Every transfer depth of a trunk with n_conv conv layers, shallow to deep."""
    return [f"conv{k}" for k in range(1, n_conv + 1)] + [f"conv{n_conv}+fc1"]


def layers_covered(depth: str) -> int:
    """How many trunk layers a depth names: conv2 -> 2, conv4+fc1 -> 5."""
    match = PATTERN.fullmatch(depth)
    if match is None:
        raise ValueError(f"{depth!r} is not a transfer depth (conv<k> or conv<K>+fc1)")
    return int(match.group(1)) + (1 if match.group(2) else 0)


def deepest(depths) -> str:
    """The deepest of a list of depths: ``conv<K>+fc1`` (the paper's headline) when listed."""
    return max(depths, key=layers_covered)
