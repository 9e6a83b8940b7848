"""Who is used for what: validation split, training pool, nested labelled subsets.

``testing`` faces are the test set. ``training`` faces are split at random (seeded, no
label read) into a validation set (early stopping of the pretraining, and of the
classifiers only under the ``held_out`` protocol) and the training pool. The labelled
subsets are drawn per task and seed: prefixes of one ordering of the pool stratified on
that task's label alone, so for one task and seed the 100-sample subset holds the
50-sample one, and no other task's label decides which faces a classifier sees.
"""

import numpy as np
import pandas as pd

from workflow_scripts.study.datasets import task_columns

SUBSET_COLUMNS = ["task", "seed", "n_train", "rank", "face"]


def stratified_order(strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation of ``range(len(strata))`` whose every prefix holds each stratum in
    proportion to its size, within one face (less than 1 - 1/(2(k - 1)) for k strata).

    Each stratum's members are shuffled; then the strata take the positions in turn by
    Tijdeman's rule for the chairman assignment problem (Tijdeman 1980): at position n,
    among the strata that would not run more than 1 - 1/(2(k - 1)) faces ahead of their
    share of n, the one whose next face is due soonest takes it (due: where its share
    would fall that far behind); ties go to a random rank per stratum.
    """
    values, inverse, sizes = np.unique(strata, return_inverse=True, return_counts=True)
    k, total, sizes = len(values), len(strata), sizes.tolist()
    members = [np.flatnonzero(inverse == s)[rng.permutation(sizes[s])] for s in range(k)]
    tie_rank = rng.permutation(k).tolist()
    scale = max(1, 2 * (k - 1))  # the slack is 1 / scale
    taken = [0] * k
    order = np.empty(total, dtype=np.int64)
    for n in range(1, total + 1):
        # integer form of: n * share - taken >= slack (placing it keeps it within 1 - slack ahead)
        eligible = [s for s in range(k) if taken[s] < sizes[s] and scale * (n * sizes[s] - taken[s] * total) >= total]
        chosen = min(eligible, key=lambda s: ((scale * (taken[s] + 1) - 1) / sizes[s], tie_rank[s]))
        order[n - 1] = members[chosen][taken[chosen]]
        taken[chosen] += 1
    return order


def assign_roles(table: pd.DataFrame, validation_fraction: float, seed: int) -> pd.DataFrame:
    """Table of (face, role): test faces are ``test``; training faces ``validation`` or
    ``pool``, drawn at random with ``seed``. No label is read: the CAE's validation faces
    are unlabelled, and the pool a labelled subset is stratified in is the same whatever
    the labels."""
    train_faces = np.flatnonzero(table["split"].to_numpy() == "train")
    order = np.random.default_rng(seed).permutation(len(train_faces))
    n_validation = round(validation_fraction * len(train_faces))
    roles = np.full(len(table), "test", dtype=object)
    roles[train_faces] = "pool"
    roles[train_faces[order[:n_validation]]] = "validation"
    return pd.DataFrame({"face": np.arange(len(table)), "role": roles})


def labelled_subsets(table: pd.DataFrame, roles: pd.DataFrame, train_sizes, seeds, tasks=None) -> pd.DataFrame:
    """Table of ``SUBSET_COLUMNS``: the faces of each nested labelled subset, in their
    labelled order (rank 0 first). The subset of n is the first n of its (task, seed)
    order, an ordering of the pool stratified on that task's label alone (every task
    of the face table by default, so a study's subsets do not change with the tasks it
    runs; a task's seed takes its column's position in the table)."""
    columns = task_columns(table)
    pool = roles.loc[roles["role"] == "pool", "face"].to_numpy()
    too_large = [n for n in train_sizes if n > len(pool)]
    if too_large:
        raise ValueError(f"finetune.train_sizes {too_large} exceed the training pool of {len(pool)} faces")
    rows = []
    for task in columns if tasks is None else tasks:
        strata = table[task].to_numpy()[pool]
        for seed in seeds:
            order = pool[stratified_order(strata, np.random.default_rng([seed, 1, columns.index(task)]))]
            for n in sorted(train_sizes):
                rows.append(pd.DataFrame({"task": task, "seed": seed, "n_train": n, "rank": np.arange(n),
                                          "face": order[:n]}))
    return pd.concat(rows, ignore_index=True)[SUBSET_COLUMNS]


def faces_with_role(roles: pd.DataFrame, role: str) -> np.ndarray:
    return roles.loc[roles["role"] == role, "face"].to_numpy(copy=True)


def subset_faces(subsets: pd.DataFrame, task: str, seed: int, n_train: int) -> np.ndarray:
    """The labelled faces of (task, seed, n_train), in their labelled order."""
    chosen = subsets[(subsets["task"] == task) & (subsets["seed"] == seed) & (subsets["n_train"] == n_train)]
    if chosen.empty:
        raise KeyError(f"no labelled subset for task {task}, seed {seed}, n_train {n_train}")
    return chosen.sort_values("rank")["face"].to_numpy(copy=True)
