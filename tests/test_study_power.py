"""The power analysis: its variance components are the one-way ANOVA's, its assurance is
what the analysis's own interval achieves on simulated studies of the design, and it picks
the cheapest design that reaches the wanted assurance."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import ROOT
from workflow_scripts.report import power as study_power
from workflow_scripts.report.statistics import mean_interval, unit_values


def nested(rng, units, per_unit, unit_sd, within_sd, gain=0.0):
    """Gains of ``units`` x ``per_unit`` fine-tuning seeds: unit effect plus within-unit noise."""
    unit = np.repeat(np.arange(units), per_unit)
    return gain + rng.normal(0, unit_sd, units)[unit] + rng.normal(0, within_sd, units * per_unit), unit


def test_the_components_are_the_one_way_anovas():
    gains = [0.01, 0.03, 0.02, -0.02, 0.00, -0.01, 0.05, 0.04, 0.07]
    units = [0, 0, 0, 3, 3, 3, 6, 6, 6]
    found = study_power.components(study_power.anova_sums(gains, units))
    groups = [gains[0:3], gains[3:6], gains[6:9]]
    assert found["F"] == pytest.approx(stats.f_oneway(*groups).statistic)
    assert found["p_value"] == pytest.approx(stats.f_oneway(*groups).pvalue)
    within = np.mean([np.var(g, ddof=1) for g in groups])  # balanced: the mean of the groups' variances
    assert found["within_var"] == pytest.approx(within)
    assert found["unit_var"] == pytest.approx((3 * np.var([np.mean(g) for g in groups], ddof=1) - within) / 3)
    assert found["within_var_low"] < found["within_var"] < found["within_var_upper"] < found["within_var_high"]
    # unbalanced units: n0 below the mean group size
    assert study_power.anova_sums([1, 2, 3, 4, 5], [0, 0, 0, 0, 1])["n0"] == pytest.approx((5 - 17 / 5) / 1)


def test_the_components_recover_known_variances():
    rng = np.random.default_rng(3)
    gains, units = nested(rng, 300, 6, unit_sd=0.02, within_sd=0.03)
    table = pd.DataFrame({"task": "smile", "unit": units, "gain": gains})
    found = study_power.variance_components(table).iloc[0]
    assert found["unit_var"] ** 0.5 == pytest.approx(0.02, rel=0.1)
    assert found["within_var"] ** 0.5 == pytest.approx(0.03, rel=0.05)
    assert found["unit_var_upper"] > found["unit_var"]


@pytest.mark.parametrize("units, per_unit, unit_sd, within_sd", [(4, 3, 0.01, 0.03), (10, 2, 0.005, 0.03)])
def test_the_assurance_is_what_the_analysiss_interval_achieves(units, per_unit, unit_sd, within_sd):
    """Simulated studies of the design, through the analysis's own unit means and t-interval:
    the share whose 95 % half-width is at most 2 points matches the computed assurance."""
    rng = np.random.default_rng(4)
    n = 3000
    narrow = 0
    for _ in range(n):
        gains, unit = nested(rng, units, per_unit, unit_sd, within_sd)
        mean, low, high, _ = mean_interval(unit_values(gains, unit)[0])
        narrow += (high - mean) <= 0.02
    expected = study_power.assurance(units, per_unit, unit_sd ** 2, within_sd ** 2, 0.02)
    assert 0.05 < expected < 0.95  # a design where the check can fail either way
    assert narrow / n == pytest.approx(expected, abs=3.5 * np.sqrt(expected * (1 - expected) / n))


def test_the_cheapest_design_that_reaches_the_assurance():
    values = {"smile": (0.0, 0.03 ** 2), "pose": (0.0, 0.04 ** 2)}
    options = study_power.designs(values, unit_seconds=1000.0, member_seconds=100.0, target=0.02, max_units=30,
                                  max_per_unit=20)
    best = study_power.cheapest(options, 0.9)
    assert best["assurance"] >= 0.9 and best["weakest_task"] == "pose"
    good = options[options["assurance"] >= 0.9]
    assert best["cpu_seconds"] == good["cpu_seconds"].min()
    # a unit's variance makes seeds within a unit worth less: more units
    shared = study_power.cheapest(study_power.designs({"pose": (0.02 ** 2, 0.04 ** 2)}, 1000.0, 100.0, 0.02, max_units=30, max_per_unit=20), 0.9)
    assert shared["units"] > best["units"]
    # cheap units, dear seeds: more units, fewer seeds each
    cheap_units = study_power.cheapest(study_power.designs(values, 10.0, 100.0, 0.02, max_units=30, max_per_unit=20), 0.9)
    assert cheap_units["per_unit"] < best["per_unit"]
    assert study_power.cheapest(options, 1.1) is None


def test_the_bench_prints_the_design_of_the_published_run():
    """bench/power_analysis.py on docs/mtfl_quick: the pooled components of the published run
    (against none, within-unit SD 3.0 points [2.6, 3.7] and no unit component, F = 0.66;
    against random, 2.4 [2.1, 2.9] and 1.0, F = 1.48) and the design docs/protocol.md quotes."""
    done = subprocess.run([sys.executable, "bench/power_analysis.py", "--metrics", "docs/mtfl_quick/metrics.csv",
                           "--config", "workflow_scripts/config/mtfl_quick.yaml", "--run-json", "docs/mtfl_quick/run.json"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert "none   pooled  unit 0.00 (80 % upper 0.00)  within 3.03 [95 % CI 2.58, 3.66;" in done.stdout
    assert "random   pooled  unit 0.97 (80 % upper 1.39)  within 2.43 [95 % CI 2.07, 2.93;" in done.stdout
    assert "F = 0.66 on 28 and 64 df" in done.stdout and "F = 1.48 on 28 and 64 df" in done.stdout
    design = next(line for line in done.stdout.splitlines() if line.startswith("Design on the 80 % upper limits"))
    assert design in (ROOT / "docs" / "protocol.md").read_text(), design
