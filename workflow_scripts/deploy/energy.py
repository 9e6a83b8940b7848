"""Accelerator cost of the study's networks: ZigZag per layer, then the sums over all tasks.

``layer_costs`` exports a network to ONNX, runs ZigZag (Mei et al.; ``zigzag-dse``) on a
hardware and mapping file, and returns one row per conv/linear layer: MACs, weights,
activations, energy (total, MAC, and per memory level), cycles. MACs are also counted
from the PyTorch model with forward hooks and must match ZigZag's exactly.

``multitask_inference`` adds those layers up for one image and every task of the study:
the shared prefix (frozen, transferred) runs once, the task-specific rest once per task
with that task's output size. Beside each scenario stands the ceiling of layer sharing:
the reduction if everything but the output layers were shared, the most that the tasks'
classifiers of this architecture can gain by sharing layers at all (always below the
number of tasks). The compute of learning on the device is ``training_compute``'s.

Energies are in pJ, latencies in cycles, as ZigZag reports them. ReLU and max-pool cost
nothing here: ZigZag models the conv and linear layers.

Operand width: every conv and linear node of the exported workload carries ZigZag's
``weight_size`` and ``act_size`` attributes (its ONNX parser's way to set a node's
``operand_precision``; partial sums default to twice the activations' width), set to
``energy.precision_bits`` (``study.grid.precision_bits``: 8, ZigZag's own default, where
the config leaves it out). The width scales the memory traffic; the energy of one MAC is
the hardware file's ``unit_energy`` whatever the width (ZigZag does not rescale it).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

from workflow_scripts.study import scenarios
from workflow_scripts.study.grid import ENERGY_WORD_BITS

if TYPE_CHECKING:  # PyTorch is loaded by the functions that build or run a network, not by the table stages
    from torch import nn

log = logging.getLogger(__name__)

# Chen et al., ISCA 2016: access energy of each level, in units of one MAC
EYERISS_NORMALISED_COST = {"mac": 1, "register_file": 1, "array": 2, "global_buffer": 6, "dram": 200}
WORD_BITS = ENERGY_WORD_BITS  # ZigZag's ONNX parser's default: 8-bit weights, inputs and final outputs
# the attributes ZigZag's ONNX parser reads a node's operand widths from (ONNXOperatorParser)
WIDTH_ATTRIBUTES = ("weight_size", "act_size")


class HardwareError(ValueError):
    """A hardware or mapping file that cannot be used, with the file at fault."""


def read_hardware(path) -> dict:
    """The hardware YAML, checked for what the energy stage needs."""
    path = Path(path)
    if not path.is_file():
        raise HardwareError(f"{path}: hardware file not found")
    try:
        hardware = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise HardwareError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(hardware, dict) or "memories" not in hardware or "operational_array" not in hardware:
        raise HardwareError(f"{path}: not a ZigZag hardware file (needs 'memories' and 'operational_array')")
    return hardware


def dram_of(hardware: dict) -> tuple[str, dict]:
    """The outermost memory: the one that holds all three operands (I1, I2, O)."""
    for name, memory in hardware["memories"].items():
        if {"I1", "I2", "O"} <= set(memory.get("operands", [])):
            return name, memory
    raise HardwareError(f"hardware {hardware.get('name')!r} has no memory holding I1, I2 and O (DRAM)")


def count_layers(model: nn.Module, input_shape) -> pd.DataFrame:
    """Conv and linear layers of ``model`` counted by forward hooks on one input:
    layer (the name of the top-level module it sits in: conv1 … out), type, MACs, weights,
    input and output activations, output shape."""
    import torch
    from torch import nn

    rows = []

    def hook(module, inputs, output):
        x = inputs[0]
        if isinstance(module, nn.Conv2d):
            macs = output.numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)
            kind = "conv"
        else:
            macs = output.numel() * module.in_features
            kind = "linear"
        rows.append({
            "module": module, "type": kind, "macs": macs, "weights": module.weight.numel(),
            "input_activations": x[0].numel(), "output_activations": output[0].numel(),
            "output_shape": "x".join(map(str, output.shape[1:])),
        })

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    names = {module: name.split(".")[0] for name, module in model.named_modules()}
    table = pd.DataFrame(rows)
    table.insert(0, "layer", [names[m] for m in table.pop("module")])
    return table


def export_onnx(model: nn.Module, input_shape, path, precision_bits: int = WORD_BITS):
    """ONNX for ZigZag: TorchScript exporter, batch 1, shapes inferred, every conv and
    linear node's weights and activations ``precision_bits`` wide (``WIDTH_ATTRIBUTES``)."""
    import onnx
    import torch

    model = model.eval()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, and still the one ZigZag reads
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, torch.zeros(1, *input_shape), str(path), dynamo=False,
                          input_names=["image"], output_names=["logits"])
    exported = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    for node in exported.graph.node:
        if node.op_type in ("Conv", "Gemm", "MatMul"):
            node.attribute.extend(onnx.helper.make_attribute(name, int(precision_bits)) for name in WIDTH_ATTRIBUTES)
    onnx.save(exported, str(path))


def _memory_names(cme) -> dict:
    """Layer operand (W, I, O) -> names of its memory levels, innermost first."""
    names = {}
    for layer_operand in cme.mem_energy_breakdown:
        memory_operand = cme.layer.memory_operand_links.layer_to_mem_op(layer_operand)
        names[layer_operand] = [level.name for level in cme.mem_hierarchy_dict[memory_operand]]
    return names


def zigzag_stages():
    """ZigZag's default pipeline (as ``zigzag.api.get_hardware_performance_zigzag`` builds
    it, LOMA temporal mapping, minimal energy), without its result printing and dumping
    stages: their mapping printer fails on a one-layer workload, and we keep the results."""
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.onnx_model_parser import ONNXModelParserStage
    from zigzag.stages.results.reduce_stages import MinimalEnergyStage, SumStage
    from zigzag.stages.workload_iterator import WorkloadStage

    return [
        ONNXModelParserStage, AcceleratorParserStage, SumStage, WorkloadStage, MinimalEnergyStage,
        SpatialMappingGeneratorStage, MinimalEnergyStage, TemporalMappingGeneratorStage, CostModelStage,
    ]


def run_zigzag(onnx_path, hardware_path, mapping_path, dump_folder) -> pd.DataFrame:
    """ZigZag's best-energy mapping per layer: one row per conv/linear layer, in graph order."""
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.main import MainStage

    quiet = io.StringIO()
    root_log = logging.getLogger()
    level = root_log.level
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        try:
            results = MainStage(
                list_of_callables=zigzag_stages(), accelerator=str(hardware_path), workload=str(onnx_path),
                mapping=str(mapping_path), dump_folder=str(dump_folder), loma_lpf_limit=6,
                loma_show_progress_bar=False, nb_mappings_generated=3, enable_mix_spatial_mapping_generation=False,
                access_same_data_considered_as_no_access=True, temporal_mapping_type=TemporalMappingType("uneven"),
            ).run()
        finally:
            root_log.setLevel(level)
    for line in quiet.getvalue().splitlines():
        log.info("zigzag: %s", line)
    rows = []
    for cme, _ in results[0][1]:
        row = {
            "onnx_node": cme.layer.name,
            "zigzag_macs": int(cme.layer.total_mac_count),
            "energy_pj": float(cme.energy_total),
            "mac_energy_pj": float(cme.mac_energy),
            "latency_cycles": float(cme.latency_total2),
        }
        per_level: dict[str, float] = {}
        for operand, levels in _memory_names(cme).items():
            for name, energy in zip(levels, cme.mem_energy_breakdown[operand]):
                per_level[name] = per_level.get(name, 0.0) + float(energy)
        row.update({f"energy_{name}_pj": value for name, value in per_level.items()})
        rows.append(row)
    return pd.DataFrame(rows)


class EnergyCheckError(ValueError):
    """ZigZag's numbers contradict an independent count or bound."""


def study_workloads(architecture, class_counts) -> list[tuple[str, nn.Module, tuple, int]]:
    """What to run through ZigZag: one classifier (trunk, fc2 and an output layer), and a
    lone output layer for every other class count (the rest of a head is the same).
    Each entry: name, model, input shape, classes of its output layer."""
    from torch import nn

    from workflow_scripts.nn.networks import build_classifier

    counts = sorted(set(class_counts))
    side = architecture.image_size
    workloads = [(f"classifier_{counts[0]}", build_classifier(architecture, counts[0]), (1, side, side), counts[0])]
    for n_classes in counts[1:]:
        lone = nn.Sequential(nn.Linear(architecture.fc2, n_classes))
        workloads.append((f"{scenarios.OUTPUT_LAYER}_{n_classes}", lone, (architecture.fc2,), n_classes))
    return workloads


def layer_costs(architecture, class_counts, hardware_path, mapping_path, work_folder,
                precision_bits: int = WORD_BITS) -> pd.DataFrame:
    """One row per layer of the study's networks on one hardware, weights and activations
    ``precision_bits`` wide: layer (conv1 … out), head_classes (classes of an ``out`` row,
    else 0), the hook counts, ZigZag's costs, the bound checks and precision_bits."""
    hardware = read_hardware(hardware_path)
    if not Path(mapping_path).is_file():
        raise HardwareError(f"{mapping_path}: mapping file not found")
    work_folder = Path(work_folder)
    work_folder.mkdir(parents=True, exist_ok=True)
    tables = []
    for name, model, input_shape, n_classes in study_workloads(architecture, class_counts):
        counted = count_layers(model, input_shape)
        if name.startswith(f"{scenarios.OUTPUT_LAYER}_"):
            counted["layer"] = scenarios.OUTPUT_LAYER
        counted["head_classes"] = [n_classes if layer == scenarios.OUTPUT_LAYER else 0 for layer in counted["layer"]]
        onnx_path = work_folder / f"{name}.onnx"
        export_onnx(model, input_shape, onnx_path, precision_bits)
        try:
            costs = run_zigzag(onnx_path, hardware_path, mapping_path, work_folder / name)
        except Exception as error:  # ZigZag's own errors are bare asserts and KeyErrors
            width = (f" at {precision_bits}-bit words (energy.precision_bits; a design whose memories hold "
                     f"{WORD_BITS}-bit operands may not fit wider ones)" if precision_bits != WORD_BITS else "")
            reason = " ".join(str(error).split())
            raise HardwareError(f"{hardware_path} with {mapping_path}: ZigZag failed{width} "
                                f"({type(error).__name__}: {reason})") from error
        if len(costs) != len(counted):
            raise EnergyCheckError(f"{name}: ZigZag saw {len(costs)} layers, PyTorch has {len(counted)}")
        tables.append(pd.concat([counted.reset_index(drop=True), costs], axis=1))
    layers = pd.concat(tables, ignore_index=True)
    layers = layers.fillna({c: 0.0 for c in layers.columns if c.startswith("energy_")})
    mismatched = layers[layers["macs"] != layers["zigzag_macs"]]
    if len(mismatched):
        row = mismatched.iloc[0]
        raise EnergyCheckError(f"{row['layer']}: PyTorch counts {row['macs']} MACs, ZigZag {row['zigzag_macs']}")
    return add_bounds(layers, hardware, precision_bits).assign(precision_bits=int(precision_bits))


def add_bounds(layers: pd.DataFrame, hardware: dict, precision_bits: int = WORD_BITS) -> pd.DataFrame:
    """Two closed-form estimates beside ZigZag's energy.

    ``lower_bound_pj``: the layer's MACs at the hardware's MAC energy plus its compulsory
    DRAM traffic at the hardware's DRAM costs (every weight and input read once, every
    output written once, words of ``precision_bits``). No mapping can do better: ZigZag
    below it is an error. ``eyeriss_estimate_mac_units``: the same traffic at Eyeriss's normalised costs
    (Chen et al., ISCA 2016: DRAM 200x one MAC), to compare layers across hardware.
    """
    mac_pj = float(hardware["operational_array"]["unit_energy"])
    dram_name, dram = dram_of(hardware)
    port_bits = max(port.get("bandwidth_max", 0) for port in dram["ports"])
    reads = (layers["weights"] + layers["input_activations"]) * precision_bits / port_bits
    writes = layers["output_activations"] * precision_bits / port_bits
    layers = layers.copy()
    layers["lower_bound_pj"] = layers["macs"] * mac_pj + reads * dram["r_cost"] + writes * dram["w_cost"]
    layers["zigzag_over_lower_bound"] = layers["energy_pj"] / layers["lower_bound_pj"]
    traffic = layers["weights"] + layers["input_activations"] + layers["output_activations"]
    layers["eyeriss_estimate_mac_units"] = layers["macs"] * EYERISS_NORMALISED_COST["mac"] + traffic * EYERISS_NORMALISED_COST["dram"]
    layers["zigzag_mac_units"] = layers["energy_pj"] / mac_pj
    below = layers[layers["zigzag_over_lower_bound"] < 1 - 1e-9]
    if len(below):
        row = below.iloc[0]
        raise EnergyCheckError(
            f"{row['layer']}: ZigZag's {row['energy_pj']:.0f} pJ is below the compulsory-traffic bound {row['lower_bound_pj']:.0f} pJ"
        )
    return layers


def head_layers(layers: pd.DataFrame, names, n_classes: int) -> pd.DataFrame:
    """The rows of the layers ``names`` for a task with ``n_classes`` outputs."""
    chosen = layers[layers["layer"].isin(names)]
    return chosen[(chosen["layer"] != scenarios.OUTPUT_LAYER) | (chosen["head_classes"] == n_classes)]


SUMMED = ("macs", "energy_pj", "mac_energy_pj", "latency_cycles")


def scenario_prefixes(architecture, depths, study_scenarios) -> list[tuple[dict, list[str]]]:
    """(scenario, depth) -> the layers its tasks' classifiers share. Frozen transfers
    (scenarios.is_frozen: cae, cnn, random; for cnn, one source network's prefix serves
    every task) share their prefix; none and the fine-tuned variants share nothing."""
    from workflow_scripts.nn.architecture import prefix_layers

    rows = [({"scenario": scenarios.NONE, "depth": scenarios.NONE}, [])]
    for scenario in study_scenarios:
        if not scenarios.transfers(scenario):
            continue
        for depth in depths:
            shared = prefix_layers(depth, architecture) if scenarios.is_frozen(scenario) else []
            rows.append(({"scenario": scenario, "depth": depth}, shared))
    return rows


def sharing_ceiling(architecture) -> list[str]:
    """The most the tasks' classifiers can share: every layer but the output layer."""
    return [name for name in architecture.classifier_names() if name != scenarios.OUTPUT_LAYER]


def multitask_inference(layers: pd.DataFrame, layer_names, prefixes, task_classes: dict, ceiling=None) -> pd.DataFrame:
    """Energy and cycles of one image through every task's classifier.

    layer_names: a classifier's layers, input to output. prefixes: (label, shared layers)
    pairs; shared layers run once; the rest of each classifier runs once per task with its
    own output size. A scenario that shares nothing runs every layer once per task.
    Columns: shared_layers, the SUMMED costs and every energy_* level of the layers, split
    into shared_* and total; reduction_vs_none; and, given ``ceiling`` (the most that can
    be shared), ceiling_layers and ceiling_reduction: the reduction that sharing those
    layers would give.
    """
    level_columns = [c for c in layers.columns if c.startswith("energy_") and c not in SUMMED]
    columns = list(SUMMED) + level_columns

    def cost(shared):
        shared_cost = layers[layers["layer"].isin(shared)][columns].sum()  # never an output layer
        total = shared_cost.copy()
        rest = [name for name in layer_names if name not in shared]
        for n_classes in task_classes.values():
            total += head_layers(layers, rest, n_classes)[columns].sum()
        return shared_cost, total

    rows = []
    for label, shared in prefixes:
        shared_cost, total = cost(shared)
        row = {**label, "shared_layers": "+".join(shared) or "-"}
        row.update({f"shared_{c}": shared_cost[c] for c in ("energy_pj", "latency_cycles")})
        row.update({c: total[c] for c in columns})
        rows.append(row)
    table = pd.DataFrame(rows)
    no_sharing = cost([])[1]["energy_pj"]
    table["reduction_vs_none"] = no_sharing / table["energy_pj"]
    if ceiling is not None:
        table["ceiling_layers"] = "+".join(ceiling)
        table["ceiling_reduction"] = no_sharing / cost(ceiling)[1]["energy_pj"]
    return table
