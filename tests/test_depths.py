import pytest

from workflow_scripts.study.depths import deepest, depth_names, layers_covered


def test_depth_names_run_shallow_to_deep():
    assert depth_names(3) == ["conv1", "conv2", "conv3", "conv3+fc1"]
    assert [layers_covered(d) for d in depth_names(12)] == list(range(1, 14))


def test_the_deepest_depth_counts_layers_not_characters():
    assert deepest(["conv1", "conv4+fc1", "conv2"]) == "conv4+fc1"
    assert deepest(["conv10", "conv2"]) == "conv10"  # "conv2" sorts after "conv10" as text


@pytest.mark.parametrize("name", ["conv", "fc1", "conv2+fc2", "Conv2", "conv2 "])
def test_a_misspelled_depth_is_an_error(name):
    with pytest.raises(ValueError, match="not a transfer depth"):
        layers_covered(name)
