"""Energy estimation: independent MAC counts, the compulsory-traffic bound, sharing arithmetic."""

import pandas as pd
import pytest
import torch
from torch import nn

from workflow_scripts.deploy.energy import (
    WIDTH_ATTRIBUTES, EnergyCheckError, HardwareError, add_bounds, count_layers, export_onnx, multitask_inference,
    layer_costs, run_zigzag, scenario_prefixes, sharing_ceiling,
)
from workflow_scripts.nn.architecture import Architecture, ConvSpec
from workflow_scripts.nn.networks import build_classifier
from workflow_scripts.study.config import resolve_hardware_path
from workflow_scripts.study.grid import precision_bits

TINY = Architecture((ConvSpec(4, 3, 2), ConvSpec(8, 3, 2)), fc1=16, fc2=8, image_size=16)
EYERISS = (resolve_hardware_path("zigzag:hardware/eyeriss_like.yaml"), resolve_hardware_path("zigzag:mapping/default.yaml"))


def test_hook_counts_match_hand_counts():
    table = count_layers(build_classifier(TINY, 5), (1, 16, 16))
    assert list(table["layer"]) == ["conv1", "conv2", "fc1", "fc2", "out"]
    # conv1: 16x16 outputs x 4 channels x (1 x 3 x 3); conv2: 8x8 x 8 x (4 x 3 x 3); fc1: 8*4*4 -> 16
    assert list(table["macs"]) == [16 * 16 * 4 * 9, 8 * 8 * 8 * 4 * 9, 128 * 16, 16 * 8, 8 * 5]
    assert list(table["weights"]) == [4 * 9, 8 * 4 * 9, 128 * 16, 16 * 8, 8 * 5]
    assert list(table["input_activations"]) == [256, 4 * 8 * 8, 128, 16, 8]


@pytest.fixture(scope="module")
def tiny_layers(tmp_path_factory):
    return layer_costs(TINY, [2, 5], *EYERISS, tmp_path_factory.mktemp("zigzag"))


def test_zigzag_on_a_tiny_network(tiny_layers):
    layers = tiny_layers
    assert list(layers["layer"]) == ["conv1", "conv2", "fc1", "fc2", "out", "out"]
    assert list(layers["head_classes"]) == [0, 0, 0, 0, 2, 5]
    assert (layers["macs"] == layers["zigzag_macs"]).all()  # also enforced inside layer_costs
    assert (layers["energy_pj"] > 0).all() and (layers["latency_cycles"] > 0).all()
    assert (layers["zigzag_over_lower_bound"] >= 1).all()
    levels = [c for c in layers.columns if c.startswith("energy_") and c not in ("energy_pj",)]
    assert "energy_dram_pj" in levels and "mac_energy_pj" not in levels
    # ZigZag's total is its MAC energy plus every memory level's
    memory = layers[[c for c in levels if c != "mac_energy_pj"]].sum(axis=1)
    assert (memory + layers["mac_energy_pj"]).round(3).tolist() == layers["energy_pj"].round(3).tolist()


def all_tasks_energy(layers):
    prefixes = scenario_prefixes(TINY, ["conv2+fc1"], ["none", "cae"])
    table = multitask_inference(layers, TINY.classifier_names(), prefixes, {"gender": 2, "smile": 2, "glasses": 2, "pose": 5})
    return table.set_index(["scenario", "depth"])["energy_pj"]


def test_precision_bits_sets_zigzags_operand_width(tiny_layers, tmp_path):
    """8 bits (the default) prices what ZigZag prices a workload without width attributes
    at; 16 bits moves more data, so the energy of all tasks grows, the MACs stay and so does
    one MAC's energy (the hardware file's)."""
    import onnx

    assert (tiny_layers["precision_bits"] == 8).all()
    plain = tmp_path / "plain.onnx"
    export_onnx(build_classifier(TINY, 2), (1, 16, 16), plain)
    exported = onnx.load(str(plain))
    widths = [{a.name: a.i for a in node.attribute if a.name in WIDTH_ATTRIBUTES} for node in exported.graph.node
              if node.op_type in ("Conv", "Gemm")]
    assert widths == [dict.fromkeys(WIDTH_ATTRIBUTES, 8)] * 5
    for node in exported.graph.node:  # ZigZag's own default: no width given
        kept = [a for a in node.attribute if a.name not in WIDTH_ATTRIBUTES]
        del node.attribute[:]
        node.attribute.extend(kept)
    onnx.save(exported, str(plain))
    default = run_zigzag(plain, *EYERISS, tmp_path / "plain")
    assert default["energy_pj"].tolist() == tiny_layers["energy_pj"].iloc[:5].tolist()

    sixteen = layer_costs(TINY, [2, 5], *EYERISS, tmp_path / "sixteen", precision_bits=16)
    assert (sixteen["precision_bits"] == 16).all() and (sixteen["macs"] == tiny_layers["macs"]).all()
    assert sixteen["mac_energy_pj"].tolist() == pytest.approx(tiny_layers["mac_energy_pj"].tolist())
    assert (sixteen["energy_pj"] > tiny_layers["energy_pj"]).all()
    assert (sixteen["zigzag_over_lower_bound"] >= 1).all()  # the bound counts 16-bit words too
    eight, wide = all_tasks_energy(tiny_layers), all_tasks_energy(sixteen)
    assert (wide > 1.5 * eight).all()


def test_precision_bits_is_read_with_its_default():
    assert precision_bits({"energy": {"hardware": {}}}) == 8
    assert precision_bits({"energy": {"hardware": {}, "precision_bits": 16}}) == 16


def test_energy_below_the_bound_is_an_error(tiny_layers):
    hardware = {"operational_array": {"unit_energy": 0.5},
                "memories": {"dram": {"operands": ["I1", "I2", "O"], "r_cost": 1e9, "w_cost": 1e9,
                                      "ports": [{"bandwidth_max": 64}]}}}
    with pytest.raises(EnergyCheckError, match="conv1: ZigZag's .* pJ is below the compulsory-traffic bound"):
        add_bounds(tiny_layers, hardware)


def test_missing_and_malformed_hardware_files_are_clear_errors(tmp_path):
    with pytest.raises(HardwareError, match=r"nowhere.yaml: hardware file not found"):
        layer_costs(TINY, [2], tmp_path / "nowhere.yaml", EYERISS[1], tmp_path)
    broken = tmp_path / "broken.yaml"
    broken.write_text("memories: [unclosed\n")
    with pytest.raises(HardwareError, match=r"broken.yaml: not valid YAML"):
        layer_costs(TINY, [2], broken, EYERISS[1], tmp_path)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("name: x\ncores: 1\n")
    with pytest.raises(HardwareError, match=r"wrong.yaml: not a ZigZag hardware file"):
        layer_costs(TINY, [2], wrong, EYERISS[1], tmp_path)
    with pytest.raises(HardwareError, match=r"nomap.yaml: mapping file not found"):
        layer_costs(TINY, [2], EYERISS[0], tmp_path / "nomap.yaml", tmp_path)


def hand_layers():
    """A made-up layer table: energies chosen so every sum can be checked by hand."""
    return pd.DataFrame({
        "layer": ["conv1", "conv2", "fc1", "fc2", "out", "out"],
        "head_classes": [0, 0, 0, 0, 2, 5],
        "macs": [1000, 500, 100, 10, 2, 5],
        "energy_pj": [100.0, 50.0, 20.0, 4.0, 1.0, 2.0],
        "mac_energy_pj": [10.0, 5.0, 2.0, 0.4, 0.1, 0.2],
        "energy_dram_pj": [90.0, 45.0, 18.0, 3.6, 0.9, 1.8],
        "latency_cycles": [10, 5, 2, 1, 1, 1],
    })


def test_sharing_arithmetic_on_a_hand_built_table():
    tasks = {"gender": 2, "smile": 2, "glasses": 2, "pose": 5}
    prefixes = scenario_prefixes(TINY, ["conv1", "conv2+fc1"], ["none", "cae", "cnn", "cae_tuned"])
    table = multitask_inference(hand_layers(), TINY.classifier_names(), prefixes, tasks,
                                ceiling=sharing_ceiling(TINY)).set_index(["scenario", "depth"])
    # none: every task runs everything; 3 binary heads + 1 five-class head
    none = 4 * (100 + 50 + 20 + 4) + 3 * 1 + 2
    assert table.loc[("none", "none"), "energy_pj"] == pytest.approx(none)
    # conv1 shared once, the rest per task
    conv1 = 100 + 4 * (50 + 20 + 4) + 3 * 1 + 2
    assert table.loc[("cae", "conv1"), "energy_pj"] == pytest.approx(conv1)
    assert table.loc[("cae", "conv1"), "shared_energy_pj"] == pytest.approx(100)
    assert table.loc[("cae", "conv1"), "shared_layers"] == "conv1" and table.loc[("none", "none"), "shared_layers"] == "-"
    # conv2+fc1: all conv layers and fc1 shared
    deep = 170 + 4 * 4 + 3 * 1 + 2
    assert table.loc[("cae", "conv2+fc1"), "energy_pj"] == pytest.approx(deep)
    assert table.loc[("cae", "conv2+fc1"), "reduction_vs_none"] == pytest.approx(none / deep)
    # cae and cnn share the same prefix: equal cost; fine-tuned layers cannot be shared
    assert table.loc[("cnn", "conv2+fc1"), "energy_pj"] == table.loc[("cae", "conv2+fc1"), "energy_pj"]
    assert table.loc[("cae_tuned", "conv1"), "energy_pj"] == pytest.approx(none)
    # the split by level adds up, and MACs are summed the same way
    assert table.loc[("cae", "conv1"), "energy_dram_pj"] + table.loc[("cae", "conv1"), "mac_energy_pj"] == pytest.approx(conv1)
    assert table.loc[("none", "none"), "macs"] == 4 * 1610 + 3 * 2 + 5
    # the ceiling: everything but the output layers shared, the same for every row, below 4x
    ceiling = none / (174 + 3 * 1 + 2)
    assert table["ceiling_reduction"].tolist() == pytest.approx([ceiling] * len(table)) and ceiling < 4
    assert set(table["ceiling_layers"]) == {"conv1+conv2+fc1+fc2"}


def test_unknown_layer_types_are_not_counted():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    table = count_layers(model, (1, 8, 8))
    assert list(table["type"]) == ["conv", "linear"]
    assert table["macs"].tolist() == [8 * 8 * 2 * 9, 32 * 3]
    assert torch.is_grad_enabled()


def test_a_design_that_cannot_hold_wider_words_says_so_in_one_line(tmp_path):
    """The shipped TPU-like design's innermost memories hold 8-bit operands: at 16 bits ZigZag
    finds no mapping of conv1, and the error names the files and the width."""
    tpu = (resolve_hardware_path("zigzag:hardware/tpu_like.yaml"), resolve_hardware_path("zigzag:mapping/tpu_like.yaml"))
    with pytest.raises(HardwareError, match=r"tpu_like.yaml: ZigZag failed at 16-bit words \(energy.precision_bits") as caught:
        layer_costs(TINY, [2], *tpu, tmp_path, precision_bits=16)
    assert "\n" not in str(caught.value)
