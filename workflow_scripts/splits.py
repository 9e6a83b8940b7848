"""Who is used for what: validation split, training pool, nested labelled subsets.

``testing`` faces are the test set. ``training`` faces are split, stratified by the joint
label and seeded, into a validation set (early stopping of the pretraining, and of the
classifiers only under the ``held_out`` protocol) and the training pool. The labelled subsets are prefixes of one stratified ordering of the pool
per seed, so for one seed the 100-sample subset holds the 50-sample one.
"""

import numpy as np
import pandas as pd

from .tasks import N_CLASSES, TASKS


def joint_label(table: pd.DataFrame) -> np.ndarray:
    """One integer per face naming its combination of the four labels."""
    code = np.zeros(len(table), dtype=np.int64)
    for task in TASKS:
        code = code * N_CLASSES[task] + table[task].to_numpy()
    return code


def stratified_order(strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation of ``range(len(strata))`` whose every prefix holds each stratum in
    proportion to its size (within one face).

    Each stratum's members are shuffled and given evenly spaced keys in [0, 1) with a
    random offset; sorting by key interleaves the strata.
    """
    keys = np.empty(len(strata))
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        members = members[rng.permutation(len(members))]
        keys[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.lexsort((rng.random(len(strata)), keys))


def assign_roles(table: pd.DataFrame, validation_fraction: float, seed: int) -> pd.DataFrame:
    """Table of (face, role): test faces are ``test``; training faces ``validation`` or ``pool``."""
    train_faces = np.flatnonzero(table["split"].to_numpy() == "train")
    order = stratified_order(joint_label(table.iloc[train_faces]), np.random.default_rng(seed))
    n_validation = round(validation_fraction * len(train_faces))
    roles = np.full(len(table), "test", dtype=object)
    roles[train_faces] = "pool"
    roles[train_faces[order[:n_validation]]] = "validation"
    return pd.DataFrame({"face": np.arange(len(table)), "role": roles})


def labelled_subsets(table: pd.DataFrame, roles: pd.DataFrame, train_sizes, seeds) -> pd.DataFrame:
    """Table of (seed, n_train, rank, face): the faces of each nested labelled subset, in
    their labelled order (rank 0 first); the subset of n is the first n of its seed's order."""
    pool = roles.loc[roles["role"] == "pool", "face"].to_numpy()
    too_large = [n for n in train_sizes if n > len(pool)]
    if too_large:
        raise ValueError(f"finetune.train_sizes {too_large} exceed the training pool of {len(pool)} faces")
    strata = joint_label(table.iloc[pool])
    rows = []
    for seed in seeds:
        order = pool[stratified_order(strata, np.random.default_rng([seed, 1]))]
        for n in sorted(train_sizes):
            rows.append(pd.DataFrame({"seed": seed, "n_train": n, "rank": np.arange(n), "face": order[:n]}))
    return pd.concat(rows, ignore_index=True)


def faces_with_role(roles: pd.DataFrame, role: str) -> np.ndarray:
    return roles.loc[roles["role"] == role, "face"].to_numpy(copy=True)


def subset_faces(subsets: pd.DataFrame, seed: int, n_train: int) -> np.ndarray:
    """The labelled faces of (seed, n_train), in their labelled order."""
    chosen = subsets[(subsets["seed"] == seed) & (subsets["n_train"] == n_train)]
    if chosen.empty:
        raise KeyError(f"no labelled subset for seed {seed}, n_train {n_train}")
    return chosen.sort_values("rank")["face"].to_numpy(copy=True)
