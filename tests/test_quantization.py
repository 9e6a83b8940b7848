"""int8 classifiers (post-training static quantisation, PyTorch FX, x86 backend): they answer
as their float models do on most test faces, the tasks share one quantised prefix,
calibration reads no label, and a damaged calibration input fails in one line naming it."""

import numpy as np
import pandas as pd
import pytest
import torch

from workflow_scripts.atomic import IntermediateError, read_torch, save_torch
from workflow_scripts.data.splits import assign_roles, faces_with_role
from workflow_scripts.deploy.quantization import (
    Int8Classifier, PrefixFeatures, calibration_faces, pack_quantized, prefix_record, quantize_head,
    quantize_prefix, quantize_whole, quantized_parameters, read_images, run_int8, same_parameters, score_block_int8,
    unpack_quantized,
)
from workflow_scripts.finetune.blocks import Block, extract_features, trained_part
from workflow_scripts.nn.architecture import Architecture, ConvSpec
from workflow_scripts.nn.networks import build_classifier, build_trunk, network_input
from workflow_scripts.nn.training import FitSettings, TrainingRows, fit, weighted_cross_entropy
from workflow_scripts.study.columns import INT8_COLUMNS
from workflow_scripts.study.datasets import MTFL_CLASSES

ARCH = Architecture((ConvSpec(4, 3, 2), ConvSpec(6, 3, 2)), fc1=16, fc2=8, image_size=16)


@pytest.fixture(scope="module")
def faces_and_roles(small_faces):
    return small_faces, assign_roles(small_faces.table, 0.2, seed=0)


def seeded(build, seed):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def test_int8_predictions_agree_with_the_float_model_on_most_test_faces(faces_and_roles):
    faces, roles = faces_and_roles
    inputs = network_input(faces.images)
    labels = torch.tensor(faces.table["gender"].to_numpy())
    pool, test = torch.as_tensor(faces_with_role(roles, "pool")), faces_with_role(roles, "test")
    model = seeded(lambda: build_classifier(ARCH, 2), 0)
    settings = FitSettings(max_epochs=10, patience=100, batch_size=32, learning_rate=3e-3)
    result = fit(model, inputs, labels, TrainingRows(pool, None, torch.ones(2), None, 0), weighted_cross_entropy, settings)
    model.load_state_dict(result.state)
    model.eval()
    quantized = quantize_whole(model, inputs[torch.as_tensor(calibration_faces(roles))])
    assert any(isinstance(m, torch.ao.nn.quantized.Conv2d) for m in quantized.modules())  # int8 kernels, not a copy
    with torch.no_grad():
        float_predicted = model(inputs[test]).argmax(-1)
    int8_predicted = run_int8(quantized, inputs[test]).argmax(-1)
    assert 0.1 < float_predicted.float().mean() < 0.9  # both classes answered: agreement is not a constant's
    # measured: 0.970 to 1.000 over 20 such models (gender and smile, seeds 0-9, 10 epochs on 16 px synthetic
    # faces; this one 0.980), so 0.95 leaves a margin; a quantiser that broke the model would sit near 0.5
    assert (int8_predicted == float_predicted).float().mean() >= 0.95


def test_the_tasks_share_one_quantised_prefix(faces_and_roles, tmp_path):
    """One quantisation of the CAE's conv2 prefix (its record, as rule quantize_prefixes
    writes it) serves every task's int8 classifier: the same scales, zero points and int
    weights; each head reads the prefix's int8 output as it is, so scoring a head on the
    recorded int8 features is scoring the whole int8 classifier on the images."""
    faces, roles = faces_and_roles
    trunk = seeded(lambda: build_trunk(ARCH), 7)
    calibration, test = calibration_faces(roles), faces_with_role(roles, "test")
    path = tmp_path / "conv2.pt"
    save_torch(prefix_record(trunk[:2], faces.images, calibration, np.union1d(calibration, test)), path)
    record = read_torch(path, expect=dict)
    prefix = quantize_prefix(trunk[:2], network_input(faces.images[torch.as_tensor(calibration)]))
    assert same_parameters(quantized_parameters(prefix), record["parameters"])  # quantisation is deterministic
    features = PrefixFeatures({"network": "cae", "seed": 0, "depth": "conv2", **record}, path)
    classifiers = {}
    for index, (task, names) in enumerate(MTFL_CLASSES.items()):
        head = seeded(lambda: trained_part(Block(task, "cae", "cae", "conv2"), ARCH, len(names)), index)
        classifiers[task] = Int8Classifier(prefix, quantize_head(head, features.calibration()))
        images = network_input(faces.images[torch.as_tensor(test)])
        assert torch.equal(run_int8(classifiers[task], images), run_int8(classifiers[task].head, features.of(test)))
    tables = [quantized_parameters(classifier.prefix) for classifier in classifiers.values()]
    assert all(same_parameters(table, record["parameters"]) for table in tables)
    assert any(key.endswith(".int") for key in tables[0]) and any(key.endswith(".scales") for key in tables[0])
    heads = [quantized_parameters(classifier.head) for classifier in classifiers.values()]
    assert not same_parameters(heads[0], heads[1])  # the heads are the tasks' own


def block_inputs(faces, roles, block, seeds=(0, 1), trunk_seed=5):
    """A block's members, classifier states, and (frozen) int8 prefix and float features of
    pretraining seed 0: what rule score_int8 reads."""
    members = pd.DataFrame({"n_train": [20, 20], "seed": list(seeds), "pretrain_seed": [0 if block.scenario != "none" else -1] * 2})
    states = {(20, s): seeded(lambda: trained_part(block, ARCH, len(MTFL_CLASSES[block.task])), s).state_dict() for s in seeds}
    test, calibration = faces_with_role(roles, "test"), calibration_faces(roles)
    if block.scenario == "none":
        return members, states, {"images": faces.images, "calibration": calibration}
    trunk = seeded(lambda: build_trunk(ARCH), trunk_seed)
    record = prefix_record(trunk[:2], faces.images, calibration, np.union1d(calibration, test))
    prefix = PrefixFeatures({"network": "cae", "seed": 0, "depth": block.depth, **record})
    cached = extract_features(trunk, 2, faces.images, test, torch.device("cpu"))
    return members, states, {"prefixes": {0: prefix}, "float_features": {0: cached}}


@pytest.mark.parametrize("block", [Block("pose", "none", "none", "none"), Block("pose", "cae", "cae", "conv2")])
def test_calibration_reads_no_label(faces_and_roles, block):
    """Every label scrambled, test faces' included: the scores move, the int8 models do not."""
    faces, roles = faces_and_roles
    labels = faces.table[block.task].to_numpy()
    scrambled = np.random.default_rng(0).permutation(labels)
    assert (scrambled != labels).mean() > 0.3
    members, states, inputs = block_inputs(faces, roles, block)
    test = faces_with_role(roles, "test")
    table, models = score_block_int8(block, ARCH, len(MTFL_CLASSES[block.task]), members, states, labels, test, **inputs)
    again, scrambled_models = score_block_int8(block, ARCH, len(MTFL_CLASSES[block.task]), members, states, scrambled, test, **inputs)
    assert list(table.columns) == INT8_COLUMNS and len(table) == 2
    assert table["agreement"].equals(again["agreement"])  # the float and int8 answers are the same ones
    for key in models:
        assert same_parameters(quantized_parameters(models[key]), quantized_parameters(scrambled_models[key]))
    # calibration draws pool faces only, whatever the labels say
    assert set(calibration_faces(roles)) <= set(faces_with_role(roles, "pool"))


def test_a_damaged_or_missing_calibration_input_fails_in_one_line_naming_it(faces_and_roles, tmp_path):
    faces, roles = faces_and_roles
    images = tmp_path / "faces.pt"
    save_torch(faces.images, images)
    assert read_images(images).shape == faces.images.shape
    images.write_bytes(images.read_bytes()[:500])
    with pytest.raises(IntermediateError, match=rf"^{images}: cannot be read") as caught:
        read_images(images)
    assert "\n" not in str(caught.value)
    save_torch(faces.images.float(), images)  # a tensor, but not the images
    with pytest.raises(IntermediateError, match=rf"^{images}: cannot be read \(holds torch.float32"):
        read_images(images)
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        read_images(tmp_path / "nowhere.pt")
    prefix = tmp_path / "prefix.pt"
    save_torch({"features": torch.zeros(3)}, prefix)
    with pytest.raises(IntermediateError, match=rf"^{prefix}: cannot be read \(no network, seed, depth, calibration_faces"):
        PrefixFeatures(read_torch(prefix), prefix)
    with pytest.raises(ValueError, match="no pool faces to calibrate"):
        calibration_faces(roles.assign(role="test"))


def test_quantised_features_round_trip_exactly(faces_and_roles):
    faces, _ = faces_and_roles
    trunk = seeded(lambda: build_trunk(ARCH), 3)
    inputs = network_input(faces.images[:64])
    output = run_int8(quantize_prefix(trunk[:3], inputs), inputs)
    assert output.is_quantized
    back = unpack_quantized(pack_quantized(output))
    assert torch.equal(back.int_repr(), output.int_repr()) and back.q_scale() == output.q_scale()
    assert back.q_zero_point() == output.q_zero_point()
