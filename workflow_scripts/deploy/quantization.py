"""Post-training static int8 quantisation of the study's classifiers, and their int8 test
scores beside the float model's predictions.

The energy stage prices every layer at 8-bit words; every accuracy of the study is
measured in float32. This module scores the same classifiers at 8 bits, with PyTorch's own
tooling: FX graph mode quantisation (``torch.ao.quantization.quantize_fx.prepare_fx`` and
``convert_fx``) with the ``x86`` backend's default qconfig mapping: int8 weights
(symmetric, per output channel), uint8 activations (affine, per tensor, set by histogram
observers during calibration, within 0-127: the backend's ``reduce_range``, which keeps
its kernels from overflowing on CPUs without VNNI), run by the int8 kernels (FBGEMM /
oneDNN) of an ordinary x86 CPU. Why FX: torch 2.14 no longer ships the PT2E flow (it moved to ``torchao``, which
this project does not install, and its int8 kernels need ``torch.compile``), and eager
mode would need ``QuantStub`` / ``DeQuantStub`` and fused modules inside the study's
networks; FX quantises the ``nn.Sequential`` classifiers as they are. ``torch.ao.quantization``
is marked deprecated in favour of ``torchao``, and still ships and runs in the pinned torch;
its deprecation warnings are silenced here, where it is used.

Calibration reads unlabelled faces only: ``CALIBRATION_FACES`` pool faces drawn at random
(seeded; the faces the CAE trains on, no label read), so a classifier of N labels still
used N labels.

A frozen prefix (``cae``, ``cnn``) is quantised once per source network, pretraining seed
and depth (``quantize_prefix``), with one set of parameters; its output stays an int8
tensor with its own scale and zero point, and every task's head is quantised to read that
tensor as it is (``quantize_head``: a quantised input, neither observed again nor
requantised), calibrated on the prefix's int8 output of the calibration faces. So the
four tasks' int8 classifiers (``Int8Classifier``) share one quantised prefix, as the
energy's accounting assumes. A classifier without a frozen prefix (``none``, and the
fine-tuned scenarios, whose prefix is their own) is quantised whole, on its own.
"""

import contextlib
import copy
import warnings

import numpy as np
import pandas as pd
import torch
from torch import nn

from workflow_scripts.atomic import IntermediateError, read_torch
from workflow_scripts.data.splits import faces_with_role
from workflow_scripts.finetune.blocks import Block, trained_part
from workflow_scripts.nn.metrics import classification_metrics
from workflow_scripts.nn.networks import network_input
from workflow_scripts.study import scenarios
from workflow_scripts.study.columns import INT8_COLUMNS
from workflow_scripts.study.grid import BLOCK_KEY

BACKEND = "x86"  # PyTorch's backend for server and desktop x86 CPUs (FBGEMM or oneDNN kernels)
# PyTorch's post-training quantisation recipes calibrate on a few hundred to a thousand
# samples; more moves the histogram observers' ranges little and costs time in every job
CALIBRATION_FACES = 1024
CALIBRATION_SEED = 0
CHUNK = 512  # faces per forward pass
PREFIX_KEYS = ("network", "seed", "depth", "calibration_faces", "faces", "features", "parameters")


@contextlib.contextmanager
def int8_backend():
    """The x86 quantised engine, torch.ao's deprecation notices silenced (see the module's
    docstring), and FX's tracer told not to record a stack trace per graph node: that debug
    record costs a job 1.3 s on its first trace (it imports torch._inductor) and changes
    nothing that is computed."""
    import torch.fx.config

    previous = torch.backends.quantized.engine, torch.fx.config.do_not_emit_stack_traces
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r".*reduce_range will be deprecated")
        warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions")
        torch.backends.quantized.engine, torch.fx.config.do_not_emit_stack_traces = BACKEND, True
        try:
            yield
        finally:
            torch.backends.quantized.engine, torch.fx.config.do_not_emit_stack_traces = previous


def calibration_faces(roles: pd.DataFrame, count: int = CALIBRATION_FACES, seed: int = CALIBRATION_SEED) -> np.ndarray:
    """Up to ``count`` pool faces, drawn at random with ``seed`` and sorted; reads no label.
    ValueError where the roles name no pool face."""
    pool = faces_with_role(roles, "pool")
    if len(pool) == 0:
        raise ValueError("no pool faces to calibrate the int8 classifiers on")
    chosen = np.random.default_rng(seed).permutation(len(pool))[:count]
    return np.sort(pool[chosen])


def read_images(path) -> torch.Tensor:
    """The face images alone (no table, so no label): uint8 [N, 1, H, W]; IntermediateError
    naming the file otherwise."""
    images = read_torch(path, expect=torch.Tensor)
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 1:
        raise IntermediateError(path, f"holds {images.dtype} {tuple(images.shape)}, not uint8 images [N, 1, H, W]")
    return images


def _forward(model, inputs) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(inputs[start:start + CHUNK]) for start in range(0, len(inputs), CHUNK)])


def quantize_static(model: nn.Module, calibration_inputs: torch.Tensor, *, input_quantized: bool = False,
                    output_quantized: bool = False) -> torch.fx.GraphModule:
    """``model`` (float, left untouched) quantised by prepare_fx, calibration on
    ``calibration_inputs`` and convert_fx. ``input_quantized``: the model reads a quantised
    tensor (calibrate with its dequantised values; the input keeps its own scale and zero
    point); ``output_quantized``: it returns its last activation as a quantised tensor."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.fx.custom_config import PrepareCustomConfig
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    custom = PrepareCustomConfig()
    if input_quantized:
        custom.set_input_quantized_indexes([0])
    if output_quantized:
        custom.set_output_quantized_indexes([0])
    with int8_backend():
        prepared = prepare_fx(copy.deepcopy(model).cpu().eval(), get_default_qconfig_mapping(BACKEND),
                              example_inputs=(calibration_inputs[:1],), prepare_custom_config=custom)
        _forward(prepared, calibration_inputs)
        return convert_fx(prepared)


def quantize_whole(model: nn.Module, calibration_inputs: torch.Tensor) -> torch.fx.GraphModule:
    """A classifier quantised on its own: float images in, float logits out."""
    return quantize_static(model, calibration_inputs)


def quantize_prefix(prefix: nn.Module, calibration_inputs: torch.Tensor) -> torch.fx.GraphModule:
    """A frozen prefix quantised once: float images in, its int8 output (a quantised tensor) out."""
    return quantize_static(prefix, calibration_inputs, output_quantized=True)


def quantize_head(head: nn.Module, calibration_features: torch.Tensor) -> torch.fx.GraphModule:
    """The layers after a shared int8 prefix, quantised to read the prefix's int8 output
    (``calibration_features``: that output on the calibration faces, a quantised tensor)."""
    return quantize_static(head, calibration_features.dequantize(), input_quantized=True)


def run_int8(model: torch.fx.GraphModule, inputs: torch.Tensor) -> torch.Tensor:
    """``model``'s outputs for ``inputs`` (float or quantised), in chunks, on the int8 backend."""
    with int8_backend():
        return _forward(model, inputs)


class Int8Classifier(nn.Module):
    """One task's int8 classifier: a shared quantised prefix, then the task's quantised head."""

    def __init__(self, prefix: torch.fx.GraphModule, head: torch.fx.GraphModule):
        super().__init__()
        self.prefix, self.head = prefix, head

    def forward(self, images):
        return self.head(self.prefix(images))


def pack_quantized(tensor: torch.Tensor) -> dict:
    """A per-tensor quantised tensor as plain values (what ``read_torch`` loads): its
    integers, scale and zero point."""
    return {"values": tensor.int_repr(), "scale": float(tensor.q_scale()), "zero_point": int(tensor.q_zero_point())}


def unpack_quantized(packed: dict) -> torch.Tensor:
    """``pack_quantized``'s inverse: the same quantised tensor (its values lie on the grid)."""
    dtype = torch.quint8 if packed["values"].dtype == torch.uint8 else torch.qint8
    values = (packed["values"].to(torch.float32) - packed["zero_point"]) * packed["scale"]
    with int8_backend():
        return torch.quantize_per_tensor(values, packed["scale"], packed["zero_point"], dtype)


def quantized_parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every number a quantised model computes with, as plain tensors by name: int weights
    (``<name>.int``) with their scales and zero points, biases, and each activation's scale
    and zero point. Two models with equal tables compute the same."""
    table = {}

    def add(name, value):
        if isinstance(value, torch.Tensor) and value.is_quantized:
            table[f"{name}.int"] = value.int_repr()
            if value.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
                table[f"{name}.scales"] = value.q_per_channel_scales()
                table[f"{name}.zero_points"] = value.q_per_channel_zero_points()
            else:
                table[f"{name}.scales"] = torch.tensor(value.q_scale())
                table[f"{name}.zero_points"] = torch.tensor(value.q_zero_point())
        elif isinstance(value, torch.Tensor):
            table[name] = value.detach().clone()
        elif isinstance(value, (tuple, list)):
            for index, part in enumerate(value):
                add(f"{name}.{index}", part)

    for name, value in model.state_dict().items():
        add(name, value)
    return table


def same_parameters(first: dict, second: dict) -> bool:
    """Whether two ``quantized_parameters`` tables hold the same names and bit-identical values."""
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


# ---- the quantised prefix of one source network, pretraining seed and depth ------------

def prefix_record(prefix: nn.Module, images: torch.Tensor, calibration: np.ndarray, faces: np.ndarray) -> dict:
    """Quantise a frozen prefix once on the ``calibration`` faces and run it over ``faces``
    (the calibration faces and every face a block scores): {calibration_faces, faces,
    features (``pack_quantized``), parameters (``quantized_parameters``)}."""
    quantized = quantize_prefix(prefix, network_input(images[torch.as_tensor(calibration)]))
    features = run_int8(quantized, network_input(images[torch.as_tensor(faces)]))
    return {"calibration_faces": torch.as_tensor(calibration), "faces": torch.as_tensor(faces),
            "features": pack_quantized(features), "parameters": quantized_parameters(quantized)}


class PrefixFeatures:
    """A quantised prefix's int8 output, read back: rows by face."""

    def __init__(self, record: dict, path="prefix"):
        missing = [key for key in PREFIX_KEYS if key not in record]
        if missing:
            raise IntermediateError(path, f"no {', '.join(missing)}: not a quantised prefix of this workflow")
        self.path = path
        self.features = unpack_quantized(record["features"])
        self.calibration_faces = record["calibration_faces"].numpy()
        self.row_of = {int(face): row for row, face in enumerate(record["faces"].tolist())}

    def of(self, faces) -> torch.Tensor:
        """The int8 features of ``faces``; IntermediateError where the file lacks one."""
        missing = [int(f) for f in faces if int(f) not in self.row_of]
        if missing:
            raise IntermediateError(self.path, f"no int8 features of face {missing[0]}: it was quantised for other faces")
        return self.features[torch.as_tensor([self.row_of[int(f)] for f in faces])]

    def calibration(self) -> torch.Tensor:
        return self.of(self.calibration_faces)


# ---- a block's members at int8 --------------------------------------------------------

def member_row(block: Block, n_classes: int, member, labels: np.ndarray, int8_predicted, float_predicted) -> dict:
    """One row of ``INT8_COLUMNS``: the int8 classifier's test scores and how often it
    answers as the float classifier does."""
    scores = classification_metrics(labels, int8_predicted, n_classes)
    return {**dict(zip(BLOCK_KEY, (block.task, block.scenario, block.source, block.depth))),
            "n_train": int(member["n_train"]), "seed": int(member["seed"]), "pretrain_seed": int(member["pretrain_seed"]),
            "accuracy": scores["accuracy"], "balanced_accuracy": scores["balanced_accuracy"],
            "macro_f1": scores["macro_f1"], "agreement": float(np.mean(int8_predicted == float_predicted))}


def float_model(block: Block, architecture, n_classes: int, state: dict) -> nn.Module:
    """The member's trained float layers (after the frozen prefix where there is one)."""
    model = trained_part(block, architecture, n_classes)
    model.load_state_dict(state)
    return model.eval()


def score_block_int8(block: Block, architecture, n_classes: int, members: pd.DataFrame, states: dict, labels: np.ndarray,
                     test_faces: np.ndarray, *, images=None, calibration=None, prefixes=None, float_features=None):
    """Every member of a block quantised and scored on the test faces: a table of
    ``INT8_COLUMNS``, one row per member (``members``: n_train, seed, pretrain_seed, as in
    metrics.csv), and the members' int8 models by (n_train, seed) (the heads, where a
    prefix is shared).

    Frozen blocks read ``prefixes`` ({pretraining seed: ``PrefixFeatures``}: the shared
    int8 prefix's output) and ``float_features`` ({pretraining seed: extract_features'
    {faces, features}}: the float prefix's, for the float predictions); the others read
    ``images`` and are calibrated on the ``calibration`` faces."""
    rows, models = [], {}
    test_labels = labels[test_faces]
    for member in members.to_dict("records"):
        key = (int(member["n_train"]), int(member["seed"]))
        if key not in states:
            raise ValueError(f"models.pt has no classifier of n_train {key[0]}, seed {key[1]}")
        model = float_model(block, architecture, n_classes, states[key])
        if scenarios.is_frozen(block.scenario):
            seed = int(member["pretrain_seed"])
            prefix, cached = prefixes[seed], float_features[seed]
            lookup = {int(face): row for row, face in enumerate(cached["faces"].tolist())}
            float_inputs = cached["features"][torch.as_tensor([lookup[int(f)] for f in test_faces])]
            quantized = quantize_head(model, prefix.calibration())
            int8_inputs = prefix.of(test_faces)
        else:
            quantized = quantize_whole(model, network_input(images[torch.as_tensor(calibration)]))
            float_inputs = int8_inputs = network_input(images[torch.as_tensor(test_faces)])
        rows.append(member_row(block, n_classes, member, test_labels, run_int8(quantized, int8_inputs).argmax(-1).numpy(),
                               _forward(model, float_inputs).argmax(-1).numpy()))
        models[key] = quantized
    table = pd.DataFrame(rows, columns=INT8_COLUMNS).sort_values(["n_train", "seed"], ignore_index=True)
    return table, models

