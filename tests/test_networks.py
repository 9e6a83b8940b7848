import pytest
import torch

from workflow_scripts.nn.architecture import Architecture, ConvSpec, prefix_length
from workflow_scripts.nn.networks import ConvAutoencoder, build_classifier, build_trunk, transfer_prefix

ARCH = Architecture((ConvSpec(4, 3, 2), ConvSpec(6, 3, 2), ConvSpec(8, 3, 1)), fc1=12, fc2=7, image_size=16)


@pytest.mark.parametrize(
    "depth, length, shape",
    [("conv1", 1, (4, 8, 8)), ("conv2", 2, (6, 4, 4)), ("conv3", 3, (8, 4, 4)), ("conv3+fc1", 4, (12,))],
)
def test_every_depth_has_its_prefix_and_shape(depth, length, shape):
    assert prefix_length(depth, ARCH) == length
    model = build_classifier(ARCH, 5)
    assert model[:length](torch.zeros(2, 1, 16, 16)).shape == (2, *shape)
    assert model(torch.zeros(2, 1, 16, 16)).shape == (2, 5)


@pytest.mark.parametrize("depth", ["conv4", "conv2+fc1", "fc1", "conv0"])
def test_depths_that_do_not_fit_are_rejected(depth):
    with pytest.raises(ValueError, match="is not one of"):
        prefix_length(depth, ARCH)


def test_cae_reconstructs_image_shape_and_shares_trunk_names():
    cae = ConvAutoencoder(ARCH)
    out = cae(torch.rand(3, 1, 16, 16))
    assert out.shape == (3, 1, 16, 16) and out.min() >= 0 and out.max() <= 1
    classifier_keys = {k for k in build_classifier(ARCH, 2).state_dict() if k.split(".")[0] in ARCH.trunk_names()}
    assert set(cae.encoder.state_dict()) == classifier_keys


@pytest.mark.parametrize("depth", ["conv1", "conv2", "conv3", "conv3+fc1"])
def test_transfer_copies_exactly_the_named_layers(depth):
    torch.manual_seed(0)
    source = build_trunk(ARCH)
    torch.manual_seed(1)
    target = build_classifier(ARCH, 2)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    length = prefix_length(depth, ARCH)
    copied = transfer_prefix(target, source, length)
    assert copied == ARCH.trunk_names()[:length]
    source_state = source.state_dict()
    for key, value in target.state_dict().items():
        layer = key.split(".")[0]
        if layer in copied:
            assert torch.equal(value, source_state[key]), key
        else:
            assert torch.equal(value, before[key]), f"{key} changed but {layer} was not transferred"
