"""The random scenario's trunk: reproducible from its seed, scaled on the pool faces alone to
the CAE's per-layer output statistics, and a control a head can learn from, but not from
scrambled labels."""

import numpy as np
import pytest
import torch

from workflow_scripts.data.splits import assign_roles, faces_with_role
from workflow_scripts.finetune.blocks import extract_features
from workflow_scripts.nn.architecture import Architecture, ConvSpec
from workflow_scripts.nn.metrics import balanced_class_weights, classification_metrics
from workflow_scripts.nn.networks import ConvAutoencoder, build_classifier, network_input, source_trunk
from workflow_scripts.nn.training import FitSettings, TrainingRows, balanced_error, fit, predict, weighted_cross_entropy
from workflow_scripts.pretrain.random_trunk import (
    TOLERANCE, dead_units, init_random_trunk, layer_statistics, seeded_trunk,
)
from workflow_scripts.pretrain.sources import train_cae

ARCH = Architecture((ConvSpec(4, 3, 2), ConvSpec(8, 3, 2)), fc1=16, fc2=8, image_size=16)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def pretrained(small_faces):
    """The faces, their roles and a CAE trained briefly on the pool (seed 0)."""
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    settings = FitSettings(max_epochs=4, patience=2, batch_size=64, learning_rate=3e-3, min_epoch_samples=100)
    cae, _, _ = train_cae(small_faces.images, roles, ARCH, settings, seed=0, device=CPU)
    return small_faces, roles, cae


@pytest.fixture(scope="module")
def random_trunk(pretrained):
    faces, roles, cae = pretrained
    return init_random_trunk(faces.images, roles, cae, ARCH, seed=0)


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_trunk_is_reproducible_from_its_seed(pretrained, random_trunk):
    faces, roles, cae = pretrained
    saved_network, _ = random_trunk
    again, _ = init_random_trunk(faces.images, roles, cae, ARCH, seed=0)
    other, _ = init_random_trunk(faces.images, roles, cae, ARCH, seed=1)
    assert _same_state(saved_network["trunk_state"], again["trunk_state"])
    assert not any(torch.equal(saved_network["trunk_state"][k], other["trunk_state"][k]) for k in saved_network["trunk_state"])
    # it describes itself, and its weights point where the seed's default initialisation points (scaled, not redrawn):
    # with the CAE's seed, the CAE's own initial encoder
    assert saved_network["kind"] == "random" and saved_network["seed"] == 0 and saved_network["settings"]["target"] == "cae"
    described = saved_network["architecture"]
    assert Architecture.from_config(described, described["image_size"]) == ARCH and described == cae["architecture"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        initial = ConvAutoencoder(ARCH).encoder.state_dict()
    for name in ("conv1.0.weight", "conv2.0.weight", "fc1.1.weight"):
        ratio = saved_network["trunk_state"][name] / initial[name]
        assert ratio.min() > 0 and torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-4), name


def test_each_layer_has_the_cae_output_mean_and_sd_on_the_pool(pretrained, random_trunk):
    faces, roles, cae = pretrained
    saved_network, scaling = random_trunk
    pool = network_input(faces.images[torch.as_tensor(faces_with_role(roles, "pool"))])
    reached = layer_statistics(source_trunk(saved_network, ARCH), pool)
    target = layer_statistics(source_trunk(cae, ARCH), pool)
    default = layer_statistics(seeded_trunk(ARCH, 0), pool)
    print("layer: default init (mean, SD) -> scaled random trunk -> CAE")
    for layer in ("conv1", "conv2", "fc1"):
        (mean, sd), (target_mean, target_sd) = reached[layer], target[layer]
        print(f"{layer}: {default[layer][0]:.4f}, {default[layer][1]:.4f} -> {mean:.4f}, {sd:.4f} -> "
              f"{target_mean:.4f}, {target_sd:.4f}")
        assert abs(mean - target_mean) <= TOLERANCE * target_sd and abs(sd - target_sd) <= TOLERANCE * target_sd, layer
    # the default initialisation was far off (the strawman the scaling removes), and the table says what was done
    assert abs(default["fc1"][1] - target["fc1"][1]) > 0.2 * target["fc1"][1]
    assert [row["layer"] for row in scaling] == ["conv1", "conv2", "fc1"]
    assert all(row["scale"] > 0 and row["rounds"] >= 1 for row in scaling)
    assert scaling[-1]["sd"] == pytest.approx(reached["fc1"][1], rel=1e-5)


def test_dead_units_are_those_silent_on_every_pool_face(pretrained, random_trunk):
    """A unit forced silent (its bias far below any input) is counted dead, in a convolution
    (per channel, over every position) and in fc1; the scaling table carries the CAE's and
    the random trunk's counts on the pool."""
    faces, roles, cae = pretrained
    saved_network, scaling = random_trunk
    pool = network_input(faces.images[torch.as_tensor(faces_with_role(roles, "pool"))])
    before = dead_units(source_trunk(cae, ARCH), pool)
    assert {layer: units for layer, (_, units) in before.items()} == {"conv1": 4, "conv2": 8, "fc1": 16}
    for name, unit in (("conv2", 3), ("fc1", 5)):
        trunk = source_trunk(cae, ARCH)
        with torch.no_grad():
            affine = next(m for m in getattr(trunk, name) if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
            affine.weight[unit] = 0.0
            affine.bias[unit] = -1.0
        after = dead_units(trunk, pool)
        assert after["conv1"] == before["conv1"]  # upstream of the change
        was_dead = unit in _dead_indices(source_trunk(cae, ARCH), pool, name)
        assert after[name][0] == before[name][0] + (0 if was_dead else 1), (name, before, after)
    assert [(row["layer"], row["units"], row["target_dead_units"]) for row in scaling] == [
        (layer, units, dead) for layer, (dead, units) in before.items()]
    reached = dead_units(source_trunk(saved_network, ARCH), pool)
    assert [row["dead_units"] for row in scaling] == [reached[layer][0] for layer in ("conv1", "conv2", "fc1")]


def _dead_indices(trunk, inputs, name):
    with torch.no_grad():
        x = inputs
        for layer_name, layer in trunk.named_children():
            x = layer(x)
            if layer_name == name:
                fired = (x > 0).flatten(2).any(2).any(0) if x.dim() > 2 else (x > 0).any(0)
                return set(torch.nonzero(~fired).flatten().tolist())


def test_only_pool_faces_shape_the_trunk(pretrained, random_trunk):
    """Changing every validation and test face leaves the trunk as it was; changing pool faces does not."""
    faces, roles, cae = pretrained
    saved_network, _ = random_trunk
    images = faces.images.clone()
    elsewhere = torch.as_tensor(np.concatenate([faces_with_role(roles, "validation"), faces_with_role(roles, "test")]))
    images[elsewhere] = 255 - images[elsewhere]
    unchanged, _ = init_random_trunk(images, roles, cae, ARCH, seed=0)
    assert _same_state(saved_network["trunk_state"], unchanged["trunk_state"])
    pool = torch.as_tensor(faces_with_role(roles, "pool"))
    images[pool[:100]] = 255 - images[pool[:100]]
    changed, _ = init_random_trunk(images, roles, cae, ARCH, seed=0)
    assert not _same_state(saved_network["trunk_state"], changed["trunk_state"])


def test_it_refuses_a_target_that_is_not_a_cae(pretrained):
    faces, roles, cae = pretrained
    with pytest.raises(ValueError, match="not a 'cae'"):
        init_random_trunk(faces.images, roles, {**cae, "kind": "cnn"}, ARCH, seed=0)


def _head_balanced_accuracy(faces, roles, features, labels, length, seed):
    """A frozen-scenario head (fc2, out) trained on every pool face's ``labels``, early-stopped
    on the validation faces, scored on the test faces' true labels."""
    task_labels = torch.tensor(faces.table["gender"].to_numpy())
    pool, validation = (torch.as_tensor(faces_with_role(roles, r)) for r in ("pool", "validation"))
    test = faces_with_role(roles, "test")

    def weights(rows):
        return torch.tensor(balanced_class_weights(labels[rows].numpy(), 2), dtype=torch.float32)

    torch.manual_seed(seed)
    head = build_classifier(ARCH, 2)[length:]
    settings = FitSettings(max_epochs=30, patience=6, batch_size=32, learning_rate=3e-3, min_epoch_samples=200)
    result = fit(head, features, labels, TrainingRows(pool, validation, weights(pool), weights(validation), seed),
                 weighted_cross_entropy, settings, criterion=balanced_error, device=CPU)
    head.load_state_dict(result.state)
    predicted = predict(head, features, torch.as_tensor(test)).argmax(-1)
    return classification_metrics(task_labels[test].numpy(), predicted.numpy(), 2)["balanced_accuracy"]


def test_a_head_learns_gender_from_it_but_not_scrambled_labels(pretrained, random_trunk):
    faces, roles, _ = pretrained
    length = 1  # conv1: what the synthetic faces' gender shows at 16 px
    trunk = source_trunk(random_trunk[0], ARCH)
    features = extract_features(trunk, length, faces.images, list(range(len(faces.table))), CPU)["features"]
    labels = torch.tensor(faces.table["gender"].to_numpy())
    scrambled = labels.clone()
    labelled = torch.as_tensor(np.concatenate([faces_with_role(roles, "pool"), faces_with_role(roles, "validation")]))
    scrambled[labelled] = labels[labelled][torch.randperm(len(labelled), generator=torch.Generator().manual_seed(0))]
    real = [_head_balanced_accuracy(faces, roles, features, labels, length, seed) for seed in (0, 1)]
    shuffled = [_head_balanced_accuracy(faces, roles, features, scrambled, length, seed) for seed in (0, 1)]
    print(f"gender at conv1 on the random trunk: balanced accuracy {real} (true labels), {shuffled} (scrambled)")
    assert np.mean(real) > 0.62
    assert abs(np.mean(shuffled) - 0.5) < 0.08
