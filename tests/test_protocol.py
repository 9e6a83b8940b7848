"""The label budget: with from_labels a member reads the labels of its N faces and no
other (test faces only to be scored), its early-stopping faces are a stratified part of
them, and nested subsets stay nested; which faces it gets reads no other task's label;
cross-validated members choose their epoch count on their folds' pooled score and refit
with a fold's optimiser steps per epoch; cross-validated and fixed-epoch members are also
scored at the checkpoint epochs, and those scores are what runs stopped there give."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from workflow_scripts.data.splits import assign_roles, faces_with_role, labelled_subsets, subset_faces
from workflow_scripts.finetune import blocks as finetuning
from workflow_scripts.finetune.blocks import (
    Block, FinetuneDesign, LabelledFaces, extract_features, member_faces, plan_members, run_block, stacking_groups,
)
from workflow_scripts.nn.architecture import Architecture, ConvSpec, prefix_length
from workflow_scripts.nn.networks import build_trunk
from workflow_scripts.nn.training import FitSettings, balanced_error, fit, weighted_cross_entropy
from workflow_scripts.study import scenarios
from workflow_scripts.study.columns import CHECKPOINT_SCORE_COLUMNS
from workflow_scripts.study.datasets import MTFL_CLASSES
from workflow_scripts.study.grid import BLOCK_KEY
from workflow_scripts.study.protocol import (
    Protocol, cross_validation_folds, early_stopping_mask, passes_per_epoch, refit_steps_per_epoch, steps_per_epoch,
)

TASKS = tuple(MTFL_CLASSES)  # the synthetic set's tasks
N_CLASSES = {task: len(names) for task, names in MTFL_CLASSES.items()}

ARCH = Architecture((ConvSpec(4, 3, 2), ConvSpec(6, 3, 2)), fc1=16, fc2=8, image_size=16)
SETTINGS = FitSettings(max_epochs=6, patience=3, batch_size=16, learning_rate=1e-2, min_epoch_samples=60)
TASK = "gender"


# Worked by hand: within each class the k-th face is a stop face when
# floor(1 + (k - 2) f) steps up from k - 1 to k.
# f = 0.2: 0, 1, 1, 1, 1, 1, 2, 2 for k = 1..8 -> the 2nd and 7th face of a class;
# f = 0.5: 0, 1, 1, 2, 2 -> the 2nd and 4th; f = 0.9: 0, 1, 1, 2, 3 -> the 2nd, 4th and 5th.
WORKED_MASKS = [
    # two classes interleaved: class 0 at 0, 2, 3, 5, 6, 7, 8, 10; class 1 at 1, 4, 9
    (0.2, [0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0]),
    # six faces of a class give one stop face (rounding 6 x 0.2 = 1.2 up would give two)
    (0.2, [3, 3, 3, 3, 3, 3], [0, 1, 0, 0, 0, 0]),
    # a single face of a class (label 1) trains; a pair gives one stop face
    (0.5, [0, 0, 0, 0, 0, 1, 2, 2], [0, 1, 0, 1, 0, 0, 0, 1]),
    # even at f = 0.9 the 1st and 3rd face of a class train
    (0.9, [1, 1, 1, 1, 1, 0, 0], [0, 1, 0, 1, 1, 0, 1]),
]


@pytest.mark.parametrize("fraction, labels, expected", WORKED_MASKS)
def test_early_stopping_mask_against_hand_worked_values(fraction, labels, expected):
    assert early_stopping_mask(labels, fraction).tolist() == [bool(e) for e in expected]


@pytest.mark.parametrize("fraction, labels, expected", WORKED_MASKS)
def test_the_stop_faces_of_a_nested_subset_are_the_first_part_of_the_larger_ones(fraction, labels, expected):
    for n in range(len(labels) + 1):
        assert early_stopping_mask(labels[:n], fraction).tolist() == [bool(e) for e in expected[:n]], n


@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.5, 0.95])
def test_a_class_keeps_faces_to_train_on_and_gives_a_stop_face_from_two_faces_on(fraction):
    labels = np.random.default_rng(0).choice(5, size=300, p=[0.02, 0.1, 0.7, 0.13, 0.05])
    for n in (1, 2, 7, 50, 300):
        held_out = early_stopping_mask(labels[:n], fraction)
        for label in np.unique(labels[:n]):
            in_class = labels[:n] == label
            taken = int(held_out[in_class].sum())
            assert taken < in_class.sum(), (n, label)  # never all of a class
            assert taken >= (1 if in_class.sum() >= 2 else 0), (n, label)


def test_early_stopping_share_is_about_the_fraction():
    # 500 faces per class: floor(1 + 498 x 0.2) = 100 stop faces each
    assert early_stopping_mask(np.tile([0, 1], 500), 0.2).sum() == 200


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
    protocol = Protocol(epoch_choice="from_labels", stop_fraction_of_n=0.2)
    for seed in (0, 1):
        parts = {}
        for n in (30, 60):
            labelled = subset_faces(subsets, TASK, seed, n)
            fit, stop = member_faces(labels, labelled, roles, protocol)
            assert sorted(np.concatenate([fit, stop])) == sorted(labelled) and not set(fit) & set(stop)
            assert 0 < len(stop) < n
            parts[n] = (set(fit), set(stop))
        assert parts[30][0] < parts[60][0] and parts[30][1] <= parts[60][1]
    held_out = member_faces(labels, subset_faces(subsets, TASK, 0, 30), roles, Protocol(epoch_choice="held_out"))
    assert set(held_out[1]) == set(faces_with_role(roles, "validation"))
    assert member_faces(labels, subset_faces(subsets, TASK, 0, 30), roles, Protocol(epoch_choice="fixed_epochs"))[1] is None


def _design(protocol, pretrain_seed_of=None, checkpoints=(), training=SETTINGS):
    return FinetuneDesign(ARCH, training, protocol, (30, 60), (0, 1), pretrain_seed_of or {}, checkpoints,
                          class_counts=N_CLASSES)


@pytest.fixture(scope="module")
def head_features(study):
    """A random trunk's conv2+fc1 features of every face: blocks that train only fc2 and
    the output layer, quick enough to run many times."""
    faces = study[0]
    torch.manual_seed(0)
    length = prefix_length(HEAD_DEPTH, ARCH)
    return {0: extract_features(build_trunk(ARCH), length, faces.images, list(range(len(faces.table))), torch.device("cpu"))}


HEAD_DEPTH = "conv2+fc1"


def _block_design(study, validation, checkpoints=(), training=SETTINGS, stack="none", features=None,
                  cv_criterion="pooled_error"):
    """(block, design, run_block's inputs) of the gender none block, or with ``features``
    its cae block at conv2+fc1."""
    faces = study[0]
    if features is None:
        block, pretrain_seed_of, inputs = Block(TASK, "none", "none", "none"), {}, {"images": faces.images}
    else:
        block, pretrain_seed_of, inputs = Block(TASK, "cae", "cae", HEAD_DEPTH), {0: 0, 1: 0}, {"features": features}
    protocol = Protocol(epoch_choice=validation, folds=3, objective="balanced", stack=stack, cv_criterion=cv_criterion)
    return block, _design(protocol, pretrain_seed_of, checkpoints=checkpoints, training=training), inputs


def _run(study, table, validation, checkpoints=(), training=SETTINGS, stack="none", features=None,
         cv_criterion="pooled_error"):
    """(metrics, curves, checkpoint scores) of the gender none block, or with ``features``
    its cae block at conv2+fc1."""
    _, roles, subsets = study
    block, design, inputs = _block_design(study, validation, checkpoints, training, stack, features, cv_criterion)
    metrics, curves, _, scores = run_block(block, design, LabelledFaces(table, roles, subsets), torch.device("cpu"), **inputs)
    return metrics, curves, scores


def _block(study, table, validation):
    return _run(study, table, validation)[0]


@pytest.mark.parametrize("validation", ["from_labels", "cross_validated"])
def test_the_n_label_protocols_read_no_label_but_their_own_and_the_test_faces(study, validation):
    """Every label outside the labelled subsets and the test set is scrambled: a member
    that read any of them (validation split, the rest of the pool) would change."""
    faces, roles, subsets = study
    used = set(subsets.loc[subsets["task"] == TASK, "face"]) | set(faces_with_role(roles, "test"))
    scrambled = faces.table.copy()
    others = np.array(sorted(set(range(len(scrambled))) - used))
    scrambled.loc[others, TASK] = 1 - scrambled.loc[others, TASK]
    columns = ["accuracy", "balanced_accuracy", "stop_balanced_accuracy", "epochs_run", "best_epoch", "n_fit"]
    honest = _block(study, faces.table, validation)
    pd.testing.assert_frame_equal(honest[columns], _block(study, scrambled, validation)[columns])
    # from_labels splits the N faces; cross-validation trains on all N after every one served as a stop face
    budget = honest["n_fit"] + honest["n_stop"] if validation == "from_labels" else honest["n_fit"]
    assert (budget == honest["n_train"]).all() and (honest["n_stop"] <= honest["n_train"]).all()
    # the same scrambling does reach a member that stops on the held-out validation split
    assert not _block(study, faces.table, "held_out")[columns].equals(_block(study, scrambled, "held_out")[columns])


@pytest.mark.parametrize("cv_criterion", ["pooled_error", "fold_mean_error"])
def test_cross_validated_members_train_on_all_n_for_the_count_their_folds_chose(study, monkeypatch, cv_criterion):
    """The folds run in step and choose on their score of each epoch (``choice_score``:
    under pooled_error the balanced error of all N faces' out-of-fold predictions, under
    fold_mean_error the mean of the folds' own); the refit trains on all N for as many
    optimiser steps as a fold took to reach the chosen count."""
    faces, _, _ = study
    optimisers = {}  # id -> (optimiser, its steps), in the order they step first; held, so no id is reused
    adam_step = torch.optim.Adam.step

    def counted(self, *args, **kwargs):
        optimisers[id(self)] = (self, optimisers.get(id(self), (self, 0))[1] + 1)
        return adam_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counted)
    metrics, curves, scores = _run(study, faces.table, "cross_validated", cv_criterion=cv_criterion)
    assert scores.empty and list(scores.columns) == CHECKPOINT_SCORE_COLUMNS  # no checkpoints declared
    assert (metrics["n_fit"] == metrics["n_train"]).all() and (metrics["n_stop"] == metrics["n_train"]).all()
    assert (metrics["folds"] == 3).all() and metrics["stop_balanced_accuracy_sd"].notna().all()
    steps = iter(count for _, count in optimisers.values())  # each member (in plan order: N, then seed): its 3 folds, then its refit
    for row in metrics.itertuples():
        member = curves[(curves["n_train"] == row.n_train) & (curves["seed"] == row.seed)]
        refit, folds = member[member["fold"] == -1], member[member["fold"] >= 0]
        assert row.epochs_run == row.best_epoch == len(refit) and refit["stop_criterion"].isna().all()
        choice = folds.groupby("epoch")["choice_score"]
        assert (choice.nunique() == 1).all()  # one score of all folds an epoch
        choice = choice.first()
        assert set(folds.groupby("fold")["epoch"].max()) == {choice.index.max()}  # the folds ran in step
        assert row.best_epoch == choice[choice == choice.min()].index.max()  # lowest score, ties to the later epoch
        if cv_criterion == "fold_mean_error":
            np.testing.assert_allclose(choice, folds.groupby("epoch")["stop_criterion"].mean())
        fold_size = row.n_train - row.n_train // 3  # each fold trains on two thirds of the N faces
        fold_steps = steps_per_epoch(fold_size, SETTINGS.min_epoch_samples, SETTINGS.batch_size)
        assert [next(steps) for _ in range(3)] == [choice.index.max() * fold_steps] * 3
        assert next(steps) == row.best_epoch * fold_steps  # the refit: the folds' steps at the chosen count
        assert fold_steps != steps_per_epoch(row.n_train, SETTINGS.min_epoch_samples, SETTINGS.batch_size)


def test_cross_validation_folds_deal_each_class_in_turn():
    # classes sorted stably: 0 at positions 0, 2, 3, 6; 1 at 1, 4, 5; 2 at 7 -> dealt to folds 0, 1, 2, 0, 1, ...
    assert cross_validation_folds([0, 1, 0, 0, 1, 1, 0, 2], 3).tolist() == [0, 1, 1, 2, 2, 0, 0, 1]
    assert cross_validation_folds([1, 0, 1, 0], 2).tolist() == [0, 0, 1, 1]
    labels = np.repeat([0, 1], [37, 13])
    fold_of = cross_validation_folds(labels, 5)
    assert sorted(np.bincount(fold_of)) == [10] * 5
    assert all(abs(np.sum((fold_of == f) & (labels == 1)) - 13 / 5) < 1 for f in range(5))
    with pytest.raises(ValueError, match="finetune.folds: 6 folds of 5 labelled faces"):
        cross_validation_folds([0, 1, 0, 1, 0], 6)


@pytest.mark.parametrize("validation", ["from_labels", "cross_validated"])
def test_no_other_tasks_label_changes_the_faces_a_member_reads(study, validation):
    """The whole chain from the face table to a member's faces (roles, its labelled subset,
    its training, early-stopping and fold faces), after every other task's labels and this
    task's labels outside the pool are scrambled: face for face the same."""
    faces, roles, _ = study
    rng = np.random.default_rng(7)
    scrambled = faces.table.copy()
    for other in TASKS:
        if other != TASK:
            scrambled[other] = rng.integers(0, N_CLASSES[other], len(scrambled))
    outside = np.setdiff1d(np.arange(len(scrambled)), faces_with_role(roles, "pool"))
    scrambled.loc[outside, TASK] = rng.integers(0, N_CLASSES[TASK], len(outside))

    def planned(table):
        table_roles = assign_roles(table, 0.2, seed=0)
        subsets = labelled_subsets(table, table_roles, [30, 60], seeds=[0, 1])
        design = _design(Protocol(epoch_choice=validation, folds=3))
        members = plan_members(Block(TASK, "none", "none", "none"), design, LabelledFaces(table, table_roles, subsets))
        return [[m.fit_faces, m.stop_faces, *[f for fold in m.folds for f in (fold.fit_faces, fold.stop_faces)]]
                for m in members]

    for honest, after in zip(planned(faces.table), planned(scrambled), strict=True):
        for a, b in zip(honest, after, strict=True):
            assert (a is None and b is None) or np.array_equal(a, b)


def _one_member(table, n_train, seed):
    return table[(table["n_train"] == n_train) & (table["seed"] == seed)]


@pytest.mark.parametrize("stack", ["none", "block"])
def test_a_refit_is_scored_at_each_checkpoint_and_keeps_its_chosen_epoch(study, head_features, stack):
    """Checkpoints 2 and 4 (9 lies beyond max_epochs 6): the refit trains on to epoch 4
    where its folds chose fewer, its main score is the one a refit without checkpoints
    gets, and its score at each checkpoint is what a refit stopped there gets."""
    faces, _, _ = study
    plain, _, _ = _run(study, faces.table, "cross_validated", stack=stack, features=head_features)
    metrics, curves, scores = _run(study, faces.table, "cross_validated", checkpoints=(4, 2, 9), stack=stack,
                                   features=head_features)
    main = ["accuracy", "balanced_accuracy", "macro_f1", "confusion", "best_epoch", "stop_balanced_accuracy"]
    pd.testing.assert_frame_equal(metrics[main], plain[main])
    assert list(scores.columns) == CHECKPOINT_SCORE_COLUMNS and len(scores) == 2 * len(metrics)
    for row in metrics.itertuples():
        refit = _one_member(curves, row.n_train, row.seed).query("fold == -1")
        assert row.epochs_run == max(row.best_epoch, 4) == len(refit)
        assert list(_one_member(scores, row.n_train, row.seed)["epochs"]) == [2, 4]
    assert (metrics["best_epoch"] < 4).any(), "a refit that trained on past its count"
    # a checkpoint's score is that of a refit trained alone for that many epochs, of a
    # fold's optimiser steps each (the same trajectory: one start, one batch order)
    _, roles, subsets = study
    block, design, inputs = _block_design(study, "cross_validated", features=head_features)
    labelled = LabelledFaces(faces.table, roles, subsets)
    block_inputs = finetuning.BlockInputs(faces.table[TASK].to_numpy(), features=head_features)
    test = faces_with_role(roles, "test")
    for member in plan_members(block, design, labelled):
        fold_steps = refit_steps_per_epoch([len(f.fit_faces) for f in member.folds], SETTINGS.min_epoch_samples,
                                           SETTINGS.batch_size)
        for epochs in (2, 4):
            stopped = fit(finetuning.initial_model(block, design, member, None), block_inputs.tensor, block_inputs.targets,
                          block_inputs.training_rows(member, epochs, (), fold_steps), weighted_cross_entropy, SETTINGS,
                          criterion=balanced_error)
            alone = finetuning.member_scores(block, design, member, stopped.state, block_inputs, labelled, test)
            at = _one_member(scores, member.n_train, member.seed).query("epochs == @epochs").iloc[0]
            for metric in ("accuracy", "balanced_accuracy", "macro_f1"):
                assert at[metric] == pytest.approx(alone[metric], abs=1e-3), (metric, epochs)


@pytest.mark.parametrize("stack", ["none", "block"])
def test_fixed_epochs_members_are_scored_at_the_checkpoints_up_to_max_epochs(study, head_features, stack):
    faces, _, _ = study
    metrics, _, scores = _run(study, faces.table, "fixed_epochs", checkpoints=(SETTINGS.max_epochs, 3, 50), stack=stack,
                              features=head_features)
    assert (metrics["epochs_run"] == SETTINGS.max_epochs).all()
    assert sorted(set(scores["epochs"])) == [3, SETTINGS.max_epochs] and len(scores) == 2 * len(metrics)
    assert (scores[list(BLOCK_KEY)] == [TASK, "cae", "cae", HEAD_DEPTH]).all().all() and (scores["pretrain_seed"] == 0).all()
    # the last checkpoint is the kept state: its score is the member's
    last = scores[scores["epochs"] == SETTINGS.max_epochs].reset_index(drop=True)
    np.testing.assert_allclose(last["balanced_accuracy"], metrics["balanced_accuracy"], atol=1e-12)


@pytest.mark.parametrize("validation", ["from_labels", "held_out"])
def test_members_that_stop_early_are_not_scored_at_checkpoints(study, head_features, validation):
    faces, _, _ = study
    _, _, scores = _run(study, faces.table, validation, checkpoints=(2, 4), features=head_features)
    assert scores.empty and list(scores.columns) == CHECKPOINT_SCORE_COLUMNS


def test_fixed_epochs_trains_on_all_n_and_records_no_early_stopping_score(study):
    faces, _, _ = study
    metrics = _block(study, faces.table, "fixed_epochs")
    assert (metrics["n_fit"] == metrics["n_train"]).all() and (metrics["n_stop"] == 0).all()
    assert (metrics["epochs_run"] == SETTINGS.max_epochs).all() and metrics["stop_balanced_accuracy"].isna().all()


def test_an_unknown_protocol_is_a_clear_error():
    with pytest.raises(ValueError, match="finetune.epoch_choice: 'test_set' is not one of"):
        Protocol(epoch_choice="test_set")


def test_a_block_is_the_grid_key():
    assert tuple(field.name for field in dataclasses.fields(Block)) == BLOCK_KEY


def test_stacking_groups_follow_the_setting(study):
    faces, roles, subsets = study
    members = plan_members(Block(TASK, "none", "none", "none"), _design(Protocol()), LabelledFaces(faces.table, roles, subsets))
    assert [(m.n_train, m.seed) for m in members] == [(30, 0), (30, 1), (60, 0), (60, 1)]
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    one_by_one = [[m] for m in members]
    assert stacking_groups(members, "block", cpu) == [members]
    assert stacking_groups(members, "seeds", cpu) == [members[:2], members[2:]]
    assert stacking_groups(members, "none", cuda) == one_by_one
    assert stacking_groups(members, "auto", cuda) == [members]
    assert stacking_groups(members, "auto", cpu) == one_by_one


@pytest.mark.parametrize("scenario, depth, stack, validation, trainings", [
    ("none", "none", "auto", "from_labels", [("fit", 1)] * 4),
    ("cae", "conv2+fc1", "auto", "from_labels", [("fit", 1)] * 4),
    ("cae_tuned", "conv2", "auto", "from_labels", [("fit", 1)] * 4),
    ("cae", "conv2", "block", "from_labels", [("stacked", 4)]),
    ("none", "none", "auto", "cross_validated", [("folds in step", 3), ("fit", 1)] * 4),
    ("cae", "conv2", "block", "cross_validated", [("stacked", 12), ("stacked", 4)]),
])
def test_a_block_trains_as_its_stacking_says(study, monkeypatch, scenario, depth, stack, validation, trainings):
    """On the CPU ``stack: auto`` trains every block one model at a time (stacking measured
    slower, or at most 1.6x faster on blocks of a second: bench/training_speed.py); a forced stack
    trains the block, and cross-validated all its members' folds, as one model."""
    faces, roles, subsets = study
    calls = []

    def recording(name, real):
        def record(models, *args, **kwargs):
            calls.append((name, len(models) if isinstance(models, list) else 1))
            return real(models, *args, **kwargs)
        return record

    for name, attribute in (("fit", "fit"), ("folds in step", "cross_validate"), ("stacked", "fit_stacked")):
        monkeypatch.setattr(finetuning, attribute, recording(name, getattr(finetuning, attribute)))
    torch.manual_seed(0)
    trunk = build_trunk(ARCH)
    length = prefix_length(depth, ARCH) if scenarios.transfers(scenario) else 0
    frozen = scenarios.is_frozen(scenario)
    metrics, *_ = run_block(
        Block(TASK, scenario, scenarios.base_scenario(scenario), depth),
        _design(Protocol(stack=stack, epoch_choice=validation, folds=3), {0: 0, 1: 0}),
        LabelledFaces(faces.table, roles, subsets), torch.device("cpu"), images=faces.images,
        features={0: extract_features(trunk, length, faces.images, list(range(len(faces.table))), torch.device("cpu"))}
        if frozen else None, trunks={0: trunk},
    )
    assert calls == trainings
    assert len(metrics) == 4 and metrics["balanced_accuracy"].between(0, 1).all()
