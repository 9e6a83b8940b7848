"""The ``random`` scenario's trunk: the trunk at a seeded random initialisation, scaled on
the unlabelled pool to the CAE's output statistics, layer by layer (a data-dependent
initialisation, LSUV-style).

Why scaled: at PyTorch's default initialisation the trunk's outputs shrink layer by layer
(fc1's outputs average about 0.02 on faces, against 0.3-0.4 for a trained CAE), and a head
on them stays near chance, a strawman. So each transferred layer's output, what the next
layer or the head sees (after its ReLU and max-pool), is brought on the pool faces to the
mean and SD of the CAE trunk's output at that layer, the CAE of the same pretraining seed:
the one target this module uses. Left as it is are the directions of the weights; the
scaled random trunk differs from the CAE only in what the CAE learnt (with the same seed
it even starts from the CAE's initial encoder, which ``ConvAutoencoder`` builds first).

Per layer, in order (the layers before it already scaled), one scalar weight scale
``alpha > 0`` and one bias shift ``gamma``: the pre-activation ``u = Wx + b`` becomes
``alpha * (u + gamma)`` (weights ``alpha * W``, bias ``alpha * (b + gamma)``). ReLU and
max-pool commute with a shift and a positive scale, so the output is
``alpha * relu(v + gamma)`` with ``v`` the max-pooled ``u``: its mean/SD ratio depends on
``gamma`` alone (and grows with it), found by bisection; ``alpha`` then sets the SD. The
layer's real output is measured after the change, and the fit repeated until its mean and
SD are each within ``tolerance`` x the target SD of the target (``MAX_ROUNDS`` at most).

The faces are the pool's (``roles.csv`` role ``pool``): the unlabelled faces the CAE trains
on; no label, validation or test face is read. The saved network describes itself: its
kind, seed, architecture and settings beside the weights, and the scaling of each layer.
Beside the statistics, each layer's dead units on the pool (units that output zero on
every face), the CAE's and the scaled random trunk's: a CAE with many dead bottleneck units
hands the head fewer features than its width says.
"""

from dataclasses import asdict

import torch
from torch import nn

from workflow_scripts.data.splits import faces_with_role
from workflow_scripts.nn.architecture import Architecture
from workflow_scripts.nn.networks import build_trunk, network_input, source_trunk

KIND = "random"  # scenarios.TRUNKS' name of this trunk
TARGET = "cae"  # the trunk whose per-layer output mean and SD it is scaled to
TOLERANCE = 1e-3  # |mean - target mean| and |SD - target SD|, as a fraction of the target SD
MAX_ROUNDS = 5
BISECTION_STEPS = 100
CHUNK = 512  # faces per forward pass
SCALING_COLUMNS = ["layer", "default_mean", "default_sd", "target_mean", "target_sd", "mean", "sd", "scale", "shift",
                   "rounds", "units", "target_dead_units", "dead_units"]


def seeded_trunk(architecture: Architecture, seed: int) -> nn.Sequential:
    """The trunk at PyTorch's default initialisation under ``seed`` (the global RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_trunk(architecture)


def _moments(chunks) -> tuple[float, float]:
    """Mean and (population) SD over every element of the chunks, summed in float64."""
    count, total, squares = 0, 0.0, 0.0
    for chunk in chunks:
        chunk = chunk.double()
        count += chunk.numel()
        total += float(chunk.sum())
        squares += float((chunk * chunk).sum())
    mean = total / count
    return mean, max(squares / count - mean * mean, 0.0) ** 0.5


@torch.no_grad()
def layer_statistics(trunk: nn.Sequential, inputs: torch.Tensor) -> dict[str, tuple[float, float]]:
    """{layer: (mean, SD)} of each named trunk layer's output over ``inputs``."""
    outputs = {name: [] for name, _ in trunk.named_children()}
    for start in range(0, len(inputs), CHUNK):
        x = inputs[start:start + CHUNK]
        for name, layer in trunk.named_children():
            x = layer(x)
            outputs[name].append(x)
    return {name: _moments(chunks) for name, chunks in outputs.items()}


@torch.no_grad()
def dead_units(trunk: nn.Sequential, inputs: torch.Tensor) -> dict[str, tuple[int, int]]:
    """{layer: (dead, units)} of each named trunk layer: its units (a convolution's channels,
    a linear layer's outputs) and how many of them output zero on every input at every
    position (after ReLU: units that pass nothing on to the next layer or the head)."""
    alive = {}
    for start in range(0, len(inputs), CHUNK):
        x = inputs[start:start + CHUNK]
        for name, layer in trunk.named_children():
            x = layer(x)
            fired = (x > 0).flatten(2).any(2).any(0) if x.dim() > 2 else (x > 0).any(0)
            alive[name] = fired | alive[name] if name in alive else fired
    return {name: (int((~fired).sum()), fired.numel()) for name, fired in alive.items()}


def _parts(layer: nn.Sequential):
    """A trunk layer as (before, affine, after): modules before the conv or linear, the
    conv or linear itself, and what follows its ReLU (max-pooling, which commutes with it)."""
    modules = list(layer)
    index = next(i for i, m in enumerate(modules) if isinstance(m, (nn.Conv2d, nn.Linear)))
    if not isinstance(modules[index + 1], nn.ReLU) or not all(isinstance(m, nn.MaxPool2d) for m in modules[index + 2:]):
        raise ValueError(f"cannot scale a layer that is not affine, ReLU, max-pool: {layer}")
    return nn.Sequential(*modules[:index]), modules[index], nn.Sequential(*modules[index + 2:])


def _ratio(pooled, gamma) -> tuple[float, float, float]:
    mean, sd = _moments(torch.relu(chunk + gamma) for chunk in pooled)
    return mean, sd, (mean / sd if sd > 0 else 0.0)


def fit_shift_and_scale(pooled: list[torch.Tensor], target_mean: float, target_sd: float, tolerance: float):
    """(alpha, gamma) with alpha * relu(v + gamma) at the target mean and SD, ``v`` the
    max-pooled pre-activations (``pooled``, in chunks)."""
    if target_sd <= 0:
        raise ValueError("the target layer's output has no spread (a dead layer): nothing to scale to")
    wanted = target_mean / target_sd
    low = -max(float(chunk.max()) for chunk in pooled)  # every output zero: ratio 0
    spread = max(float(chunk.abs().max()) for chunk in pooled) or 1.0
    high = spread
    for _ in range(BISECTION_STEPS):
        if _ratio(pooled, high)[2] >= wanted:
            break
        high += 2 * (high - low)
    else:
        raise ValueError(f"no bias shift brings the output's mean/SD ratio to the target's {wanted:.6g}")
    for _ in range(BISECTION_STEPS):  # the ratio grows with gamma
        gamma = (low + high) / 2
        _, sd, ratio = _ratio(pooled, gamma)
        if abs(ratio - wanted) <= tolerance / 4:
            break
        low, high = (gamma, high) if ratio < wanted else (low, gamma)
    return target_sd / sd, gamma


@torch.no_grad()
def scale_to_target(trunk: nn.Sequential, inputs: torch.Tensor, targets: dict, tolerance: float = TOLERANCE) -> list[dict]:
    """Scale ``trunk`` in place, layer by layer, so that each layer's output over ``inputs``
    has the mean and SD of ``targets`` ({layer: (mean, SD)}); one row per layer with what
    it changed and the statistics reached (``SCALING_COLUMNS``, bar the default ones)."""
    rows = []
    x = [inputs[start:start + CHUNK] for start in range(0, len(inputs), CHUNK)]
    for name, layer in trunk.named_children():
        target_mean, target_sd = targets[name]
        before, affine, after = _parts(layer)
        scale, shift = 1.0, 0.0
        for rounds in range(1, MAX_ROUNDS + 1):
            pooled = [after(affine(before(chunk))) for chunk in x]
            alpha, gamma = fit_shift_and_scale(pooled, target_mean, target_sd, tolerance)
            affine.weight.mul_(alpha)
            affine.bias.add_(gamma).mul_(alpha)
            scale, shift = scale * alpha, shift + gamma / scale  # u = scale * (u_default + shift)
            mean, sd = _moments(layer(chunk) for chunk in x)
            if abs(mean - target_mean) <= tolerance * target_sd and abs(sd - target_sd) <= tolerance * target_sd:
                break
        else:
            raise ValueError(f"layer {name}: output mean {mean:.6g}, SD {sd:.6g} after {MAX_ROUNDS} rounds, not within "
                             f"{tolerance} x SD of the target {target_mean:.6g}, {target_sd:.6g}")
        rows.append({"layer": name, "target_mean": target_mean, "target_sd": target_sd, "mean": mean, "sd": sd,
                     "scale": scale, "shift": shift, "rounds": rounds})
        x = [layer(chunk) for chunk in x]
    return rows


def init_random_trunk(images, roles, target_network: dict, architecture: Architecture, seed: int,
                      tolerance: float = TOLERANCE, device="cpu"):
    """The random trunk of ``seed`` scaled on the pool faces to the target network's per-layer
    output statistics; return its saved network and its scaling table (one row per layer)."""
    if target_network.get("kind") != TARGET:
        raise ValueError(f"the target network is a {target_network.get('kind')!r}, not a {TARGET!r}")
    pool = torch.as_tensor(faces_with_role(roles, "pool"))
    if len(pool) == 0:
        raise ValueError("roles: no face has role 'pool' to scale the random trunk on")
    inputs = network_input(images[pool]).to(device)
    target_trunk = source_trunk(target_network, architecture).to(device).eval()
    targets, target_dead = layer_statistics(target_trunk, inputs), dead_units(target_trunk, inputs)
    trunk = seeded_trunk(architecture, seed).to(device).eval()
    defaults = layer_statistics(trunk, inputs)
    rows = scale_to_target(trunk, inputs, targets, tolerance)
    dead = dead_units(trunk, inputs)
    trunk.cpu()  # the file must load where no GPU is
    for row in rows:
        row["default_mean"], row["default_sd"] = defaults[row["layer"]]
        row["target_dead_units"], row["units"] = target_dead[row["layer"]]
        row["dead_units"] = dead[row["layer"]][0]
    saved_network = {
        "kind": KIND,
        "seed": seed,
        "architecture": asdict(architecture),
        "settings": {"target": TARGET, "target_seed": target_network["seed"], "faces": "pool", "n_faces": len(pool),
                     "tolerance": tolerance},
        "scaling": rows,
        "trunk_state": trunk.state_dict(),
        "model_state": trunk.state_dict(),  # the whole network is the trunk
    }
    return saved_network, [{column: row[column] for column in SCALING_COLUMNS} for row in rows]
