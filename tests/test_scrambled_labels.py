"""bench/scrambled_labels.py: the scrambled table keeps each role's class counts, moves
labels within a role only, and is the same for the same seed."""

import importlib.util

import numpy as np
import pandas as pd

from conftest import ROOT

spec = importlib.util.spec_from_file_location("scrambled_labels", ROOT / "bench" / "scrambled_labels.py")
scrambled_labels = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scrambled_labels)


def test_labels_move_within_each_role_and_keep_its_counts():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"smile": rng.integers(0, 2, 300), "pose": rng.integers(0, 5, 300), "name": np.arange(300)})
    roles = pd.DataFrame({"face": rng.permutation(300)[:280],
                          "role": ["pool"] * 200 + ["validation"] * 30 + ["test"] * 50})
    relabel = scrambled_labels.scrambler(["smile", "pose"], seed=3)
    scrambled = relabel(table, roles)
    for task in ("smile", "pose"):
        moved = 0
        for _, faces in roles.groupby("role")["face"]:
            assert sorted(scrambled.loc[faces, task]) == sorted(table.loc[faces, task])
            moved += int((scrambled.loc[faces, task] != table.loc[faces, task]).sum())
        assert moved > 0.3 * len(roles)
    no_role = np.setdiff1d(np.arange(300), roles["face"])
    pd.testing.assert_frame_equal(scrambled.loc[no_role], table.loc[no_role])
    assert scrambled["name"].equals(table["name"])
    pd.testing.assert_frame_equal(relabel(table, roles), scrambled)
    assert not scrambled_labels.scrambler(["smile", "pose"], seed=4)(table, roles).equals(scrambled)
