import pytest

from workflow_scripts.depths import blocks_covered, depth_names


def test_depth_names_run_shallow_to_deep():
    assert depth_names(3) == ["conv1", "conv2", "conv3", "conv3+fc1"]
    assert [blocks_covered(d) for d in depth_names(12)] == list(range(1, 14))


@pytest.mark.parametrize("name", ["conv", "fc1", "conv2+fc2", "Conv2", "conv2 "])
def test_a_misspelled_depth_is_an_error(name):
    with pytest.raises(ValueError, match="not a transfer depth"):
        blocks_covered(name)
