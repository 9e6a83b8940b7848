"""The label budget: with from_labels a member reads the labels of its N faces and no
other (test faces only to be scored), its early-stopping faces are a stratified part of
them, and nested subsets stay nested."""

import numpy as np
import pandas as pd
import pytest
import torch

from workflow_scripts import finetuning, scenarios
from workflow_scripts.finetuning import Block, extract_features, member_faces, run_block, stacking_groups
from workflow_scripts.networks import Architecture, ConvSpec, build_trunk, prefix_length
from workflow_scripts.protocol import Protocol, early_stopping_mask, passes_per_epoch
from workflow_scripts.splits import assign_roles, faces_with_role, labelled_subsets, subset_faces
from workflow_scripts.training import FitSettings

ARCH = Architecture((ConvSpec(4, 3, 2), ConvSpec(6, 3, 2)), fc1=16, fc2=8, image_size=16)
SETTINGS = FitSettings(max_epochs=6, patience=3, batch_size=16, learning_rate=1e-2, min_epoch_samples=60)
TASK = "gender"


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5, 0.9])
def test_early_stopping_mask_is_stratified_and_leaves_every_class_something_to_train_on(fraction):
    rng = np.random.default_rng(0)
    labels = rng.choice(5, size=300, p=[0.02, 0.1, 0.7, 0.13, 0.05])
    for n in (1, 7, 50, 300):
        held_out = early_stopping_mask(labels[:n], fraction)
        for label in np.unique(labels[:n]):
            count = int((labels[:n] == label).sum())
            taken = int(held_out[labels[:n] == label].sum())
            assert taken == (0 if count == 1 else max(1, int(np.floor(count * fraction + 1 - 2 * fraction)))), (n, label)
            assert taken < count or count == 0  # a class never loses all its training faces
        # nested: the split of the first n faces is the first n faces' part of the whole split
        assert np.array_equal(held_out, early_stopping_mask(labels, fraction)[:n])


def test_early_stopping_share_is_about_the_fraction():
    labels = np.tile([0, 1], 500)
    assert early_stopping_mask(labels, 0.2).sum() == 2 * np.floor(500 * 0.2 + 0.6)


def test_passes_per_epoch():
    assert passes_per_epoch(50, 1024) == 21 and passes_per_epoch(2000, 1024) == 1 and passes_per_epoch(10, 0) == 1


@pytest.fixture(scope="module")
def study(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    subsets = labelled_subsets(small_faces.table, roles, [30, 60], seeds=[0, 1])
    return small_faces, roles, subsets


def test_from_labels_uses_exactly_the_n_labelled_faces_and_nested_subsets_stay_nested(study):
    faces, roles, subsets = study
    labels = faces.table[TASK].to_numpy()
    protocol = Protocol(validation="from_labels", validation_fraction_of_n=0.2)
    for seed in (0, 1):
        parts = {}
        for n in (30, 60):
            labelled = subset_faces(subsets, seed, n)
            fit, stop = member_faces(labels, labelled, roles, protocol)
            assert sorted(np.concatenate([fit, stop])) == sorted(labelled) and not set(fit) & set(stop)
            assert 0 < len(stop) < n
            parts[n] = (set(fit), set(stop))
        assert parts[30][0] < parts[60][0] and parts[30][1] <= parts[60][1]
    held_out = member_faces(labels, subset_faces(subsets, 0, 30), roles, Protocol(validation="held_out"))
    assert set(held_out[1]) == set(faces_with_role(roles, "validation"))
    assert member_faces(labels, subset_faces(subsets, 0, 30), roles, Protocol(validation="fixed_epochs"))[1] is None


def _block(study, table, validation):
    faces, roles, subsets = study
    metrics, _, _ = run_block(
        block=Block(TASK, "none", "none", "none"), architecture=ARCH, table=table, roles=roles, subsets=subsets,
        settings=SETTINGS, protocol=Protocol(validation=validation, objective="balanced", stack="none"),
        train_sizes=[30, 60], seeds=[0, 1], device=torch.device("cpu"), images=faces.images,
    )
    return metrics


def test_from_labels_reads_no_label_but_its_own_and_the_test_faces(study):
    """Every label outside the labelled subsets and the test set is scrambled: a member
    that read any of them (validation split, the rest of the pool) would change."""
    faces, roles, subsets = study
    used = set(subsets["face"]) | set(faces_with_role(roles, "test"))
    scrambled = faces.table.copy()
    others = np.array(sorted(set(range(len(scrambled))) - used))
    scrambled.loc[others, TASK] = 1 - scrambled.loc[others, TASK]
    columns = ["accuracy", "balanced_accuracy", "validation_balanced_accuracy", "epochs_run", "best_epoch", "n_fit"]
    honest = _block(study, faces.table, "from_labels")
    pd.testing.assert_frame_equal(honest[columns], _block(study, scrambled, "from_labels")[columns])
    assert (honest["n_fit"] + honest["n_early_stopping"] == honest["n_train"]).all()
    # the same scrambling does reach a member that stops on the held-out validation split
    assert not _block(study, faces.table, "held_out")[columns].equals(_block(study, scrambled, "held_out")[columns])


def test_fixed_epochs_trains_on_all_n_and_records_no_validation_score(study):
    faces, _, _ = study
    metrics = _block(study, faces.table, "fixed_epochs")
    assert (metrics["n_fit"] == metrics["n_train"]).all() and (metrics["n_early_stopping"] == 0).all()
    assert (metrics["epochs_run"] == SETTINGS.max_epochs).all() and metrics["validation_balanced_accuracy"].isna().all()


def test_an_unknown_protocol_is_a_clear_error():
    with pytest.raises(ValueError, match="finetune.validation: 'test_set' is not one of"):
        Protocol(validation="test_set")


def test_stacking_groups_follow_the_setting():
    members = [(30, 0), (30, 1), (60, 0), (60, 1)]
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    one_by_one = [[m] for m in members]
    assert stacking_groups(members, "block", cpu, trains_convolutions=True) == [members]
    assert stacking_groups(members, "seeds", cpu, trains_convolutions=True) == [members[:2], members[2:]]
    assert stacking_groups(members, "none", cuda, trains_convolutions=False) == one_by_one
    assert stacking_groups(members, "auto", cuda, trains_convolutions=True) == [members]
    assert stacking_groups(members, "auto", cpu, trains_convolutions=False) == [members]
    assert stacking_groups(members, "auto", cpu, trains_convolutions=True) == one_by_one


@pytest.mark.parametrize("scenario, depth, stacked", [
    ("none", "none", False), ("cae", "conv1", False), ("cae", "conv2", True), ("cae", "conv2+fc1", True),
    ("cae_tuned", "conv2", False),
])
def test_auto_stacks_a_cpu_block_only_where_no_convolution_trains(study, monkeypatch, scenario, depth, stacked):
    """On CPU, stacked convolutions train slower than one model at a time
    (bench/paper_scale.py), so ``stack: auto`` stacks only blocks whose trainable part is
    fully connected: frozen at the last convolution or deeper."""
    faces, roles, subsets = study
    group_sizes = []
    real_fit = finetuning.fit_stacked

    def recording_fit(modules, *args, **kwargs):
        group_sizes.append(len(modules))
        return real_fit(modules, *args, **kwargs)

    monkeypatch.setattr(finetuning, "fit_stacked", recording_fit)
    torch.manual_seed(0)
    trunk = build_trunk(ARCH)
    length = prefix_length(depth, ARCH) if scenarios.transfers(scenario) else 0
    frozen = scenarios.is_frozen(scenario)
    run_block(
        block=Block(TASK, scenario, scenarios.base_scenario(scenario), depth), architecture=ARCH, table=faces.table,
        roles=roles, subsets=subsets, settings=SETTINGS, protocol=Protocol(stack="auto"), train_sizes=[30, 60],
        seeds=[0, 1], device=torch.device("cpu"), pretrain_seed_of={0: 0, 1: 0}, images=faces.images,
        features={0: extract_features(trunk, length, faces.images, list(range(len(faces.table))), torch.device("cpu"))}
        if frozen else None, trunks={0: trunk},
    )
    assert group_sizes == ([4] if stacked else [1, 1, 1, 1])
