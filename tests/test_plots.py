"""The figures, drawn from hand-built tables: colours, legends that cover no data, the
pre-declared comparison's own figure, and the energy figure's marks."""

import math

import pandas as pd
import pytest

from workflow_scripts import plots
from workflow_scripts.plots import part_colors


def test_energy_parts_keep_their_colour_across_panels_and_differ_within_one():
    # two hardware panels of 8 parts with 5 in common: 11 parts, more than the palette's 10
    eyeriss = ["mac", "dram", "rf_16B", "rf_64B_A", "rf_64B_W", "sram_1M", "sram_64KB", "sram_8KB"]
    tpu = ["mac", "dram", "rf_16B", "rf_64B_A", "rf_64B_W", "rf_128B", "rf_2B", "sram_2MB"]
    colors = part_colors([eyeriss, tpu])
    assert set(colors) == set(eyeriss) | set(tpu)
    for panel in (eyeriss, tpu):
        assert len({colors[part] for part in panel}) == len(panel), panel


def test_pretraining_curves_draw_the_training_and_the_early_stopping_loss(tmp_path):
    from workflow_scripts.plots import training_curves

    curve = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.4], "stop_loss": [1.1, 0.7, 0.8],
                          "stop_criterion": [1.1, 0.7, 0.8]})
    png, pdf = tmp_path / "curves.png", tmp_path / "curves.pdf"
    training_curves({("cae", 0): curve, ("cnn_smile", 0): curve, ("cnn_smile", 1): curve}, png, pdf)
    assert png.stat().st_size > 0 and pdf.stat().st_size > 0


# ---- the study figures, drawn from hand-built tables and caught before they are saved ----

TASKS = {"gender": 2, "smile": 2, "glasses": 2, "pose": 5}  # task -> class count
CLAIM = {"depth": "conv2+fc1", "n_train": 50, "metric": "balanced_accuracy", "hardware": "hw", "classes": TASKS}
SIZES = (50, 200, 1000)


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions make, laid out as saved, instead of the files."""
    figures = []

    def keep(figure, png_path, vector_path):
        figure.canvas.draw()
        figures.append(figure)

    monkeypatch.setattr(plots, "save_figure_pair", keep)
    yield figures
    import matplotlib.pyplot as plt

    for figure in figures:
        plt.close(figure)


def hand_summary(tasks=("gender", "smile")):
    """Means that tell the scenarios apart: none 0.6, the CAE at the claim's depth 0.7, the
    CAE elsewhere 0.9 (never on the claim's figure), a CNN 0.8; each rising with N."""
    rows = []
    levels = [("none", "none", "none", 0.6), ("cae", "cae", "conv2+fc1", 0.7), ("cae", "cae", "conv1", 0.9),
              ("cnn", "pose", "conv2+fc1", 0.8)]
    for task in tasks:
        for scenario, source, depth, level in levels:
            for step, n_train in enumerate(SIZES):
                mean = level + 0.01 * step
                rows.append({"task": task, "scenario": scenario, "source": source, "depth": depth, "n_train": n_train,
                             "metric": "balanced_accuracy", "mean": mean, "std": 0.01, "ci_low": mean - 0.05,
                             "ci_high": mean + 0.05, "n_seeds": 3})
    return pd.DataFrame(rows)


def hand_inference(hardware=("hw", "tpu"), n_tasks=4):
    rows = []
    for name in hardware:
        for scenario, depth, reduction in (("none", "none", 1.0), ("cae", "conv1", 1.5), ("cae", "conv2+fc1", 3.5)):
            total = 107742818.0 / reduction
            rows.append({"hardware": name, "scenario": scenario, "source": scenario, "depth": depth, "energy_pj": total,
                         "mac_energy_pj": 0.1 * total, "energy_dram_pj": 0.6 * total, "energy_sram_pj": 0.3 * total,
                         "reduction_vs_none": reduction, "ceiling_reduction": 3.98, "n_tasks": n_tasks})
    return pd.DataFrame(rows)


def hand_tradeoff():
    rows = []
    for task in ("gender", "smile"):
        for n_train in SIZES:
            for scenario, depth, energy, accuracy, front in (("none", "none", 1e8, 0.6, False),
                                                             ("cae", "conv2+fc1", 3e7, 0.65, True),
                                                             ("cnn", "conv1", 7e7, 0.7, True)):
                rows.append({"hardware": "hw", "task": task, "n_train": n_train, "scenario": scenario,
                             "source": scenario, "depth": depth, "balanced_accuracy": accuracy, "energy_pj": energy,
                             "pareto": front})
    return pd.DataFrame(rows)


def legends_cover_no_axes(figure):
    """Every legend's box, against every axes' box with its tick labels, axis labels and title
    (as laid out when saved): a legend inside a plot covers data, one on its labels hides them."""
    legends = list(figure.legends) + [ax.get_legend() for ax in figure.axes if ax.get_legend()]
    assert legends, "the figure has no legend"
    renderer = figure.canvas.get_renderer()
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in figure.axes:
            inside = ax.get_tightbbox(renderer, for_layout_only=False)
            if ax.get_legend() is legend:  # the axes' own legend counts in its tight box
                inside = ax.get_window_extent(renderer)
            assert not box.overlaps(inside), f"a legend covers the axes '{ax.get_title()}' or its labels"


def draw_every_figure(tmp_path, tasks=("gender", "smile")):
    curve = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.4], "stop_loss": [1.1, 0.7, 0.8]})
    plots.claim_comparison(hand_summary(tasks), CLAIM, tmp_path / "c.png", tmp_path / "c.pdf")
    plots.accuracy_vs_labels(hand_summary(tasks), tmp_path / "a.png", tmp_path / "a.pdf", "balanced_accuracy",
                             "conv2+fc1", tasks=TASKS)
    plots.energy_bars(hand_inference(n_tasks=len(tasks)), tmp_path / "e.png", tmp_path / "e.pdf")
    plots.tradeoff_scatter(hand_tradeoff(), tmp_path / "t.png", tmp_path / "t.pdf", "hw", tasks=TASKS)
    plots.training_curves({("cae", 0): curve, ("cnn_smile", 0): curve}, tmp_path / "p.png", tmp_path / "p.pdf")


@pytest.mark.parametrize("tasks", [("pose",), ("gender", "smile"), ("gender", "smile", "glasses", "pose")])
def test_no_legend_covers_data(drawn, tmp_path, tasks):
    draw_every_figure(tmp_path, tasks)
    assert len(drawn) == 5
    for figure in drawn:
        legends_cover_no_axes(figure)


def test_the_claim_figure_draws_none_against_the_cae_at_the_claims_depth_with_intervals(drawn, tmp_path):
    plots.claim_comparison(hand_summary(), CLAIM, tmp_path / "c.png", tmp_path / "c.pdf")
    (figure,) = drawn
    assert [ax.get_title() for ax in figure.axes] == ["Gender", "Smile"]
    for ax in figure.axes:
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert list(lines["no transfer"].get_xdata()) == list(SIZES)
        assert list(lines["no transfer"].get_ydata()) == pytest.approx([0.6, 0.61, 0.62])
        # the CAE at the claim's depth (0.7...), not the better CAE elsewhere (0.9...) nor the CNN (0.8...)
        assert list(lines["CAE up to conv2+fc1, frozen"].get_ydata()) == pytest.approx([0.7, 0.71, 0.72])
        assert len(lines) == 4 and list(lines["the claim's N = 50"].get_xdata()) == [50, 50]
        assert list(lines["chance (1/k, k classes)"].get_ydata()) == [0.5, 0.5]  # two classes each
        bands = ax.collections
        assert len(bands) == 2  # a 95 % interval per line
        lows = sorted(min(path.vertices[:, 1]) for band in bands for path in band.get_paths())
        assert lows == pytest.approx([0.55, 0.65])
    assert "balanced accuracy" in figure.axes[0].get_ylabel()


def test_the_claims_metric_and_depth_come_from_the_claim(drawn, tmp_path):
    summary = hand_summary()
    summary = pd.concat([summary, summary.assign(metric="accuracy", mean=summary["mean"] - 0.3)], ignore_index=True)
    plots.claim_comparison(summary, {**CLAIM, "depth": "conv1", "metric": "accuracy", "n_train": 200},
                           tmp_path / "c.png", tmp_path / "c.pdf")
    lines = {line.get_label(): line for line in drawn[0].axes[0].get_lines()}
    assert list(lines["CAE up to conv1, frozen"].get_ydata()) == pytest.approx([0.6, 0.61, 0.62])
    assert list(lines["the claim's N = 200"].get_xdata()) == [200, 200]
    assert drawn[0].axes[0].get_ylabel() == "test accuracy"
    assert "chance (1/k, k classes)" not in lines  # accuracy's chance is the majority rate, not 1/k


def test_the_claim_figure_marks_chance_per_task(drawn, tmp_path):
    plots.claim_comparison(hand_summary(("gender", "pose")), CLAIM, tmp_path / "c.png", tmp_path / "c.pdf")
    chance = [{line.get_label(): line for line in ax.get_lines()}["chance (1/k, k classes)"].get_ydata()[0]
              for ax in drawn[0].axes]
    assert chance == pytest.approx([0.5, 0.2])


@pytest.mark.parametrize("hardware, n_tasks", [(("hw",), 1), (("hw", "tpu"), 4)])
def test_the_energy_figure_marks_the_papers_reduction_and_the_ceiling(drawn, tmp_path, hardware, n_tasks):
    plots.energy_bars(hand_inference(hardware, n_tasks), tmp_path / "e.png", tmp_path / "e.pdf")
    (figure,) = drawn
    assert len(figure.axes) == len(hardware)
    no_transfer_uj = 107742818.0 / 1e6
    for ax in figure.axes:
        assert ax.get_ylabel() == f"energy of one {['one', 'four'][n_tasks == 4]}-task inference (µJ)"
        marks = {line.get_label(): line.get_ydata()[0] for line in ax.get_lines()}
        assert marks["ceiling of layer sharing: 3.98x"] == pytest.approx(no_transfer_uj / 3.98)
        assert marks["the paper's 6.58x"] == pytest.approx(no_transfer_uj / 6.58)
        tallest = max(patch.get_y() + patch.get_height() for patch in ax.patches)
        assert math.isclose(tallest, no_transfer_uj, rel_tol=1e-9)  # bars in µJ, not pJ
    legends_cover_no_axes(figure)


def test_the_tradeoff_draws_float32_hollow_and_int8_filled(drawn, tmp_path):
    from matplotlib.collections import PathCollection

    points = hand_tradeoff()
    points = points.assign(int8_balanced_accuracy=points["balanced_accuracy"] - 0.05, int8_pareto=points["pareto"])
    plots.tradeoff_scatter(points, tmp_path / "t.png", tmp_path / "t.pdf", "hw", tasks=TASKS)
    (figure,) = drawn
    legends_cover_no_axes(figure)
    ax = figure.axes[0]
    points = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    cae = [c for c in points if tuple(c.get_edgecolors()[0][:3]) == pytest.approx(plots.SCENARIO_COLORS["cae"])]
    hollow, filled = sorted(cae, key=lambda c: -c.get_offsets()[0, 1])  # float32 0.65 above int8 0.60
    assert list(hollow.get_offsets()[:, 1]) == pytest.approx([0.65]) and list(filled.get_offsets()[:, 1]) == pytest.approx([0.60])
    assert hollow.get_facecolors().size == 0 or hollow.get_facecolors()[0][3] == 0  # no fill
    assert filled.get_facecolors()[0][3] == 1 and filled.get_label() == "CAE, frozen"
    labels = [handle.get_text() for handle in figure.legends[0].get_texts()]
    assert "float32 (hollow)" in labels and "int8 (filled)" in labels and "CAE, frozen" in labels
    assert {line.get_label() for line in ax.get_lines()} >= {"Pareto front, float32", "Pareto front, int8"}
    assert "int8 filled" in figure._suptitle.get_text()
