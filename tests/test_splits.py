import numpy as np
import pandas as pd
import pytest

from workflow_scripts.splits import assign_roles, faces_with_role, joint_label, labelled_subsets, stratified_order, subset_faces


def test_roles_are_disjoint_and_cover_every_face(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    assert list(roles["face"]) == list(range(len(small_faces.table)))
    test = faces_with_role(roles, "test")
    assert set(test) == set(np.flatnonzero(small_faces.table["split"] == "test"))
    validation, pool = faces_with_role(roles, "validation"), faces_with_role(roles, "pool")
    assert len(validation) == 120 and len(pool) == 480
    assert not set(validation) & set(pool)


def test_validation_is_stratified():
    table = pd.DataFrame({
        "split": ["train"] * 1000,
        "gender": [0] * 500 + [1] * 500,
        "smile": 0, "glasses": [0] * 100 + [1] * 900, "pose": 2,
    })
    roles = assign_roles(table, 0.1, seed=3)
    validation = table.iloc[faces_with_role(roles, "validation")]
    # strata (gender, glasses): 100 / 400 / 500 faces -> 10 / 40 / 50 in validation
    counts = validation.groupby(["gender", "glasses"]).size().to_dict()
    assert counts == {(0, 0): 10, (0, 1): 40, (1, 1): 50}


def test_every_prefix_of_a_stratified_order_is_proportional():
    strata = np.array([0] * 30 + [1] * 270 + [2] * 700)
    order = stratified_order(strata, np.random.default_rng(0))
    assert sorted(order) == list(range(1000))
    for n in (10, 50, 100, 333):
        counts = np.bincount(strata[order[:n]], minlength=3)
        assert np.all(np.abs(counts - n * np.array([0.03, 0.27, 0.7])) <= 1), (n, counts)


def test_subsets_are_nested_inside_the_pool_and_reproducible(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    subsets = labelled_subsets(small_faces.table, roles, [20, 50, 100], seeds=[0, 1])
    again = labelled_subsets(small_faces.table, roles, [100, 20, 50], seeds=[0, 1])
    pool = set(faces_with_role(roles, "pool"))
    for seed in (0, 1):
        small, middle, large = (set(subset_faces(subsets, seed, n)) for n in (20, 50, 100))
        assert (len(small), len(middle), len(large)) == (20, 50, 100)
        assert small < middle < large <= pool
        assert set(subset_faces(again, seed, 50)) == middle
    assert set(subset_faces(subsets, 0, 100)) != set(subset_faces(subsets, 1, 100))


def test_subsets_follow_the_label_mix(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    subsets = labelled_subsets(small_faces.table, roles, [200], seeds=[5])
    chosen = small_faces.table.iloc[subset_faces(subsets, 5, 200)]
    pool = small_faces.table.iloc[faces_with_role(roles, "pool")]
    assert abs(chosen["glasses"].mean() - pool["glasses"].mean()) < 0.03


def test_subset_larger_than_pool_is_a_clear_error(small_faces):
    roles = assign_roles(small_faces.table, 0.2, seed=0)
    with pytest.raises(ValueError, match=r"finetune.train_sizes \[5000\] exceed the training pool of 480 faces"):
        labelled_subsets(small_faces.table, roles, [50, 5000], seeds=[0])


def test_joint_label_distinguishes_every_combination():
    table = pd.DataFrame([(g, s, gl, p) for g in range(2) for s in range(2) for gl in range(2) for p in range(5)],
                         columns=["gender", "smile", "glasses", "pose"])
    assert len(set(joint_label(table))) == 40
