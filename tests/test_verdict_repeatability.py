"""bench/verdict_repeatability.py's float-order noise, on a table worked out by hand."""

import importlib.util
import math
import sys

import pandas as pd
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
spec = importlib.util.spec_from_file_location("verdict_repeatability", ROOT / "bench" / "verdict_repeatability.py")
verdict_repeatability = importlib.util.module_from_spec(spec)
spec.loader.exec_module(verdict_repeatability)


def members(scenario, scores, epochs):
    return pd.DataFrame({"task": "smile", "scenario": scenario, "source": scenario, "depth": "none", "n_train": 50,
                         "seed": range(len(scores)), "balanced_accuracy": scores, "best_epoch": epochs})


def test_sigma_f_splits_into_the_members_that_kept_their_epoch_count_and_those_that_moved():
    run = pd.concat([members("none", [0.60, 0.55, 0.50, 0.70], [3, 1, 10, 2]), members("cae", [0.6, 0.6], [4, 4])])
    # none: seeds 0 and 1 keep their count and move 1 and 0 points; seeds 2 and 3 choose another count and move 4 and 2
    rerun = pd.concat([members("none", [0.61, 0.55, 0.54, 0.68], [3, 1, 4, 5]), members("cae", [0.6, 0.6], [4, 4])])
    noise = verdict_repeatability.float_noise(run, rerun).set_index("scenario")
    none = noise.loc["none"]
    assert none["members"] == 4 and none["other_epoch"] == 2
    assert none["sigma_f"] == pytest.approx(math.sqrt((1 + 0 + 16 + 4) / 2 / 4))
    assert none["sigma_f_kept"] == pytest.approx(math.sqrt((1 + 0) / 2 / 2))
    assert none["sigma_f_moved"] == pytest.approx(math.sqrt((16 + 4) / 2 / 2))
    cae = noise.loc["cae"]
    assert cae["sigma_f"] == 0 and cae["other_epoch"] == 0 and cae["sigma_f_kept"] == 0 and math.isnan(cae["sigma_f_moved"])
