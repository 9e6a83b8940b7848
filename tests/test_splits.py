import numpy as np
import pandas as pd
import pytest

from workflow_scripts.data.splits import (
    SUBSET_COLUMNS, assign_roles, faces_with_role, labelled_subsets, stratified_order, subset_faces,
)
from workflow_scripts.study.datasets import MTFL_CLASSES

TASKS = tuple(MTFL_CLASSES)  # the synthetic set's tasks
N_CLASSES = {task: len(names) for task, names in MTFL_CLASSES.items()}



def test_roles_are_disjoint_and_cover_every_face(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    assert list(roles["face"]) == list(range(len(small_faces.table)))
    test = faces_with_role(roles, "test")
    assert set(test) == set(np.flatnonzero(small_faces.table["split"] == "test"))
    validation, pool = faces_with_role(roles, "validation"), faces_with_role(roles, "pool")
    assert len(validation) == 120 and len(pool) == 480
    assert not set(validation) & set(pool)


def test_the_validation_split_reads_no_label_and_follows_its_seed(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    unlabelled = small_faces.table[["split", "path"]]  # no label column at all
    pd.testing.assert_frame_equal(assign_roles(unlabelled, 0.2, seed=0), roles)
    other_seed = assign_roles(unlabelled, 0.2, seed=1)
    assert set(faces_with_role(other_seed, "validation")) != set(faces_with_role(roles, "validation"))


@pytest.mark.parametrize("sizes", [[30, 270, 700], [7, 41, 310, 38, 4], [1, 1, 1, 1, 96], [500, 499]])
def test_every_prefix_of_a_stratified_order_is_proportional_within_one_face(sizes):
    strata = np.repeat(np.arange(len(sizes)), sizes)
    share = np.array(sizes) / sum(sizes)
    for seed in range(5):
        order = stratified_order(strata, np.random.default_rng(seed))
        assert sorted(order) == list(range(len(strata)))
        counts = np.cumsum(np.eye(len(sizes))[strata[order]], axis=0)  # [prefix length - 1, stratum]
        expected = np.arange(1, len(strata) + 1)[:, None] * share
        assert np.abs(counts - expected).max() < 1, seed
    # the members within a stratum come in a seeded random order
    first, second = (stratified_order(strata, np.random.default_rng(seed)) for seed in (0, 1))
    assert not np.array_equal(first, second)


def test_subsets_are_nested_inside_the_pool_and_reproducible(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    subsets = labelled_subsets(small_faces.table, roles, [20, 50, 100], seeds=[0, 1])
    again = labelled_subsets(small_faces.table, roles, [100, 20, 50], seeds=[0, 1])
    assert list(subsets.columns) == SUBSET_COLUMNS and set(subsets["task"]) == set(TASKS)
    pool = set(faces_with_role(roles, "pool"))
    for task in TASKS:
        for seed in (0, 1):
            small, middle, large = (subset_faces(subsets, task, seed, n) for n in (20, 50, 100))
            assert (len(set(small)), len(set(middle)), len(set(large))) == (20, 50, 100)
            # the subset of n is the first n of the larger ones, in the same labelled order
            assert list(middle[:20]) == list(small) and list(large[:50]) == list(middle) and set(large) <= pool
            assert list(subset_faces(again, task, seed, 50)) == list(middle)
        assert set(subset_faces(subsets, task, 0, 100)) != set(subset_faces(subsets, task, 1, 100))
    assert set(subset_faces(subsets, "gender", 0, 100)) != set(subset_faces(subsets, "smile", 0, 100))


def test_a_subset_holds_its_tasks_classes_as_the_pool_does_within_one_face(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    pool = faces_with_role(roles, "pool")
    subsets = labelled_subsets(small_faces.table, roles, [7, 30, 101, 250], seeds=[5, 6])
    for task in TASKS:
        labels = small_faces.table[task].to_numpy()
        share = np.bincount(labels[pool], minlength=N_CLASSES[task]) / len(pool)
        for seed in (5, 6):
            for n in (7, 30, 101, 250):
                counts = np.bincount(labels[subset_faces(subsets, task, seed, n)], minlength=N_CLASSES[task])
                assert np.all(np.abs(counts - n * share) <= 1), (task, seed, n, counts, n * share)


@pytest.mark.parametrize("task", TASKS)
def test_no_other_label_decides_a_tasks_subsets(small_faces, task):
    """Scramble every other task's labels everywhere, and this task's outside the pool:
    the roles and this task's labelled subsets stay face for face the same."""
    table = small_faces.table
    roles = assign_roles(table, 0.2, seed=0)
    subsets = labelled_subsets(table, roles, [20, 60], seeds=[0, 3])
    rng = np.random.default_rng(11)
    scrambled = table.copy()
    for other in TASKS:
        if other != task:
            scrambled[other] = rng.integers(0, N_CLASSES[other], len(table))
    outside = faces_with_role(roles, "validation").tolist() + faces_with_role(roles, "test").tolist()
    scrambled.loc[outside, task] = rng.integers(0, N_CLASSES[task], len(outside))
    assert not scrambled.equals(table)
    scrambled_roles = assign_roles(scrambled, 0.2, seed=0)
    pd.testing.assert_frame_equal(scrambled_roles, roles)
    again = labelled_subsets(scrambled, scrambled_roles, [20, 60], seeds=[0, 3])
    pd.testing.assert_frame_equal(again[again["task"] == task], subsets[subsets["task"] == task])
    # and the scrambling does reach a task whose labels changed in the pool
    other = next(t for t in TASKS if t != task)
    assert not np.array_equal(subset_faces(again, other, 0, 60), subset_faces(subsets, other, 0, 60))


def test_subset_larger_than_pool_is_a_clear_error(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    with pytest.raises(ValueError, match=r"finetune.train_sizes \[5000\] exceed the training pool of 480 faces"):
        labelled_subsets(small_faces.table, roles, [50, 5000], seeds=[0])


def test_a_missing_subset_is_a_clear_error(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    subsets = labelled_subsets(small_faces.table, roles, [20], seeds=[0], tasks=["smile"])
    assert set(subsets["task"]) == {"smile"}
    with pytest.raises(KeyError, match="no labelled subset for task gender, seed 0, n_train 20"):
        subset_faces(subsets, "gender", 0, 20)
