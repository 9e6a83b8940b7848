"""The figures, drawn from hand-built tables: colours, legends that cover no data, the
pre-declared comparison's own figure, and the energy figure's marks; and the checks every
figure must pass (``check_figure``: no text runs into another, intervals inside [0, 1], a
tick at every N, no negative zero), which test_workflow.py also runs on the figures the
tiny study draws."""

import itertools
import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.text import Text

from workflow_scripts.report import plots
from workflow_scripts.report.plots import part_colors


def test_energy_parts_keep_their_colour_across_panels_and_differ_within_one():
    # two hardware panels of 8 parts with 5 in common: 11 parts, more than the palette's 10
    eyeriss = ["mac", "dram", "rf_16B", "rf_64B_A", "rf_64B_W", "sram_1M", "sram_64KB", "sram_8KB"]
    tpu = ["mac", "dram", "rf_16B", "rf_64B_A", "rf_64B_W", "rf_128B", "rf_2B", "sram_2MB"]
    colors = part_colors([eyeriss, tpu])
    assert set(colors) == set(eyeriss) | set(tpu)
    for panel in (eyeriss, tpu):
        assert len({colors[part] for part in panel}) == len(panel), panel


def test_pretraining_curves_draw_the_training_and_the_early_stopping_loss(tmp_path):
    from workflow_scripts.report.plots import training_curves

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


def hand_summary(tasks=("gender", "smile"), sizes=SIZES, half_width=0.05):
    """Means that tell the scenarios apart: none 0.6, the CAE at the claim's depth 0.7, the
    CAE elsewhere 0.9 (never on the claim's figure), a CNN 0.8; each rising with N; intervals
    of ``half_width`` either side (a t-interval over two seeds reaches past 1)."""
    rows = []
    levels = [("none", "none", "none", 0.6), ("cae", "cae", "conv2+fc1", 0.7), ("cae", "cae", "conv1", 0.9),
              ("cnn", "pose", "conv2+fc1", 0.8)]
    for task in tasks:
        for scenario, source, depth, level in levels:
            for step, n_train in enumerate(sizes):
                mean = level + 0.01 * step
                rows.append({"task": task, "scenario": scenario, "source": source, "depth": depth, "n_train": n_train,
                             "metric": "balanced_accuracy", "mean": mean, "std": 0.01, "ci_low": mean - half_width,
                             "ci_high": mean + half_width, "n_seeds": 3})
    return pd.DataFrame(rows)


def hand_gains(tasks=("gender", "smile"), sizes=SIZES):
    """Gains of the frozen CAE and CNN at two depths, among them -0.0004 (-0.04 points: '-0.0'
    at one decimal) and +0.0004."""
    rows = []
    for task in tasks:
        for scenario, depth, gain in (("cae", "conv1", -0.0004), ("cae", "conv2+fc1", 0.0004), ("cnn", "conv1", -0.05),
                                      ("cnn", "conv2+fc1", 0.031)):
            rows += [{"task": task, "scenario": scenario, "source": scenario, "depth": depth, "n_train": n_train,
                      "metric": "balanced_accuracy", "gain": gain} for n_train in sizes]
    return pd.DataFrame(rows)


def hand_inference(hardware=("hw", "tpu"), n_tasks=4, depths=("conv1", "conv2+fc1")):
    rows = []
    for name in hardware:
        for scenario, depth, reduction in (("none", "none", 1.0), *(("cae", depth, 1.5 + 2 * step / max(len(depths) - 1, 1))
                                                                    for step, depth in enumerate(depths))):
            total = 107742818.0 / reduction
            rows.append({"hardware": name, "scenario": scenario, "source": scenario, "depth": depth, "energy_pj": total,
                         "mac_energy_pj": 0.1 * total, "energy_dram_pj": 0.6 * total, "energy_sram_pj": 0.3 * total,
                         "reduction_vs_none": reduction, "ceiling_reduction": 3.98, "n_tasks": n_tasks})
    return pd.DataFrame(rows)


def hand_tradeoff(tasks=("gender", "smile"), sizes=SIZES, hardware="hw"):
    rows = []
    for task in tasks:
        for n_train in sizes:
            for scenario, depth, energy, accuracy, front in (("none", "none", 1e8, 0.6, False),
                                                             ("cae", "conv2+fc1", 3e7, 0.65, True),
                                                             ("cnn", "conv1", 7e7, 0.7, True)):
                rows.append({"hardware": hardware, "task": task, "n_train": n_train, "scenario": scenario,
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


def shown_tick_labels(axis):
    """The tick labels an axis draws: those of the ticks inside its view (an axis keeps the
    ticks of earlier limits, stale and undrawn, among its ticks)."""
    ticks = axis._update_ticks()  # matplotlib's own list of the ticks it will draw
    return [label for tick in ticks for label in (tick.label1, tick.label2)
            if label.get_visible() and label.get_text().strip()]


def corners(box):
    return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])


def footprint(text, renderer):
    """The four corners (pixels) of a text as drawn: its unrotated box turned by its
    rotation about the centre of its drawn (axis-aligned) box, which is that box's centre."""
    box = text.get_window_extent(renderer)
    if text.get_rotation() % 180 == 0:
        return corners(box)
    level = Text(0, 0, text.get_text(), fontproperties=text.get_fontproperties(), linespacing=text.get_linespacing())
    level.set_figure(text.get_figure(root=True))
    size = level.get_window_extent(renderer)
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [size.width / 2, size.height / 2]
    angle = np.radians(text.get_rotation())
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return half @ turn.T + [(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2]


def written_texts(figure):
    """(name, corners) of everything written on the figure as it is drawn: titles, axis
    labels, the tick labels shown, texts placed in axes, and each legend as one box."""
    renderer = figure.canvas.get_renderer()
    named = [("the figure's title", figure._suptitle), ("the figure's x label", figure._supxlabel), *(
        ("a figure text", text) for text in figure.texts)]
    for index, ax in enumerate(figure.axes):
        where = f"axes {index} ('{ax.get_title()}')"
        named += [(f"{where} title", title) for title in (ax.title, ax._left_title, ax._right_title)]
        named += [(f"{where} x label", ax.xaxis.label), (f"{where} y label", ax.yaxis.label)]
        named += [(f"{where} x tick label", text) for text in shown_tick_labels(ax.xaxis)]
        named += [(f"{where} y tick label", text) for text in shown_tick_labels(ax.yaxis)]
        named += [(f"{where} text", text) for text in ax.texts]
    named = {id(text): (name, text) for name, text in reversed(named) if text is not None}  # the title is a text too
    boxes = [(f"{name} '{text.get_text()}'", footprint(text, renderer)) for name, text in reversed(named.values())
             if text.get_visible() and text.get_text().strip()]
    legends = list(figure.legends) + [ax.get_legend() for ax in figure.axes if ax.get_legend()]
    return boxes + [(f"legend {index}", corners(legend.get_window_extent(renderer))) for index, legend in enumerate(legends)]


def overlap(shape, other, tolerance=1.0):
    """Whether two convex quadrilaterals (corners in pixels, in order) overlap by more than
    ``tolerance`` pixels along every separating direction (the separating axis theorem)."""
    for quad in (shape, other):
        for start, end in zip(quad, np.roll(quad, -1, axis=0)):
            normal = np.array([start[1] - end[1], end[0] - start[0]])
            normal = normal / np.hypot(*normal)
            a, b = shape @ normal, other @ normal
            if min(a.max(), b.max()) - max(a.min(), b.min()) <= tolerance:
                return False
    return True


def no_text_runs_into_another(figure):
    """No two written things (ticks labels, axis labels, titles, texts, legends) overlap, and
    no axes' own labels and ticks run into another axes' plot area."""
    texts = written_texts(figure)
    for (name, box), (other_name, other) in itertools.combinations(texts, 2):
        assert not overlap(box, other), f"{name} runs into {other_name}"
    renderer = figure.canvas.get_renderer()
    for index, ax in enumerate(figure.axes):
        area = corners(ax.get_window_extent(renderer))
        for name, box in texts:
            if not name.startswith(f"axes {index} ") and not name.startswith(("legend", "the figure")):
                assert not overlap(box, area), f"{name} runs into the plot area of axes {index} ('{ax.get_title()}')"


def interval_bands(figure):
    """(axes, band) for every interval band on an axes of a test metric (accuracy,
    balanced accuracy, macro-F1: all inside [0, 1])."""
    return [(ax, band) for ax in figure.axes if ax.get_ylabel().startswith("test ")
            for band in ax.collections if isinstance(band, PolyCollection)]


def bands_inside_unit_range(figure) -> int:
    """Every interval band of a test metric lies inside [0, 1]; returns the number of bands."""
    bands = interval_bands(figure)
    for ax, band in bands:
        heights = np.concatenate([path.vertices[:, 1] for path in band.get_paths()] or [np.zeros(0)])
        heights = heights[np.isfinite(heights)]
        assert heights.size == 0 or (heights.min() >= 0 and heights.max() <= 1), \
            f"an interval on '{ax.get_title()}' reaches {heights.min():.3f} to {heights.max():.3f}"
    return len(bands)


def a_tick_at_every_n(figure, sizes) -> int:
    """Every axes of labelled samples N has a tick labelled with each N of the grid (at N,
    on a log axis); returns the number of such axes."""
    axes = 0
    for ax in figure.axes:
        if "samples N" not in ax.get_xlabel():
            continue
        ticks = {text.get_text(): text.get_position()[0] for text in shown_tick_labels(ax.xaxis)}
        for n in sizes:
            assert str(n) in ticks, f"'{ax.get_title()}' has no tick labelled N = {n}: {sorted(ticks)}"
            if ax.get_xscale() == "log":
                assert ticks[str(n)] == pytest.approx(n), f"'{ax.get_title()}': the tick '{n}' is at {ticks[str(n)]}"
        axes += 1
    return axes


NEGATIVE_ZERO = re.compile(r"(?<![\d.])[-\u2212]0(?:\.0+)?(?![\d.])")


def no_negative_zero(figure):
    """No text on the figure, legends' included, writes a zero with a minus sign."""
    ticks = {id(tick) for ax in figure.axes for axis in (ax.xaxis, ax.yaxis) for tick in axis.get_ticklabels(which="both")}
    texts = [text for text in figure.findobj(Text) if text.get_visible() and id(text) not in ticks]
    texts += [text for ax in figure.axes for axis in (ax.xaxis, ax.yaxis) for text in shown_tick_labels(axis)]
    for text in texts:
        found = NEGATIVE_ZERO.search(text.get_text())
        assert not found, f"'{text.get_text()}' writes a negative zero"


def check_figure(figure, sizes):
    """The checks every study figure must pass, on the figure as laid out when saved; one
    failure lists what every check found."""
    figure.canvas.draw()
    checks = [no_text_runs_into_another, no_negative_zero, lambda f: a_tick_at_every_n(f, sizes), bands_inside_unit_range]
    if figure.legends or any(ax.get_legend() for ax in figure.axes):
        checks.append(legends_cover_no_axes)
    found = []
    for check in checks:
        try:
            check(figure)
        except AssertionError as error:
            found.append(str(error).splitlines()[0])
    assert not found, "; ".join(found)


def draw_every_figure(tmp_path, tasks=("gender", "smile"), sizes=SIZES, half_width=0.05):
    curve = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.4], "stop_loss": [1.1, 0.7, 0.8]})
    summary = hand_summary(tasks, sizes, half_width)
    plots.claim_comparison(summary, {**CLAIM, "n_train": sizes[0]}, tmp_path / "c.png", tmp_path / "c.pdf")
    classes = {task: TASKS[task] for task in tasks}
    plots.accuracy_vs_labels(summary, tmp_path / "a.png", tmp_path / "a.pdf", "balanced_accuracy", "conv2+fc1",
                             tasks=classes)
    plots.gain_heatmaps(hand_gains(tasks, sizes), tmp_path / "g.png", tmp_path / "g.pdf", tasks=classes)
    paper_depths = ("conv1", "conv2", "conv3", "conv4", "conv4+fc1")
    plots.energy_bars(hand_inference(("eyeriss_like", "tpu_like"), len(tasks), paper_depths), tmp_path / "e.png",
                      tmp_path / "e.pdf")
    plots.tradeoff_scatter(hand_tradeoff(tasks, sizes, "eyeriss_like"), tmp_path / "t.png", tmp_path / "t.pdf",
                           "eyeriss_like", tasks=classes)
    plots.training_curves({("cae", 0): curve, ("cnn_smile", 0): curve}, tmp_path / "p.png", tmp_path / "p.pdf")


@pytest.mark.parametrize("sizes", [(20, 40), (50, 200), (50, 100, 200, 500, 1000, 2000, 5000)])
@pytest.mark.parametrize("tasks", [("pose",), ("gender", "smile"), ("gender", "smile", "glasses", "pose")])
def test_every_figure_passes_the_figure_checks(drawn, tmp_path, tasks, sizes):
    """The tiny study's, the quick study's and the paper's grids of N; intervals of a
    t-interval over two seeds, reaching past 1 and below 0; gains that round to zero."""
    draw_every_figure(tmp_path, tasks, sizes, half_width=0.65)
    assert len(drawn) == 6
    failed = []
    for figure in drawn:
        try:
            check_figure(figure, sizes)
        except AssertionError as error:
            failed.append(f"'{figure._suptitle.get_text()[:50]}...': {error}")
    assert not failed, "\n".join(failed)
    claim, accuracy, heatmaps = drawn[:3]
    # the checks looked at what they check: the bands, the axes of N, the heatmaps' numbers
    assert bands_inside_unit_range(claim) == 2 * len(tasks) and bands_inside_unit_range(accuracy) == 3 * len(tasks)
    assert a_tick_at_every_n(claim, sizes) == a_tick_at_every_n(accuracy, sizes) == len(tasks)
    assert a_tick_at_every_n(heatmaps, sizes) == 2 * len(tasks)
    assert {text.get_text() for ax in heatmaps.axes for text in ax.texts} == {"0.0", "-5.0", "3.1"}


def test_the_overlap_check_reads_rotated_labels_as_drawn():
    """Two parallel labels turned 30 degrees, 40 px apart: their upright boxes overlap, their
    letters do not; a label turned the other way across one of them does overlap it."""
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(4, 2), dpi=100)
    first = figure.text(0.3, 0.5, "shared conv2+fc1", rotation=30)
    beside = figure.text(0.4, 0.5, "shared conv2+fc1", rotation=30)
    across = figure.text(0.3, 0.5, "shared conv1", rotation=-30)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    assert overlap(corners(first.get_window_extent(renderer)), corners(beside.get_window_extent(renderer)))
    assert not overlap(footprint(first, renderer), footprint(beside, renderer))
    assert overlap(footprint(first, renderer), footprint(across, renderer))
    with pytest.raises(AssertionError, match="runs into a figure text 'shared conv1'"):
        no_text_runs_into_another(figure)
    across.remove()
    no_text_runs_into_another(figure)
    plt.close(figure)


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


def test_a_grid_of_one_n_draws_each_arm_as_a_point_with_its_interval(drawn, tmp_path):
    """The quick study's grid (N = 50 only): a line through one point shows no interval, so
    each arm is a point with an error bar, side by side around N, the family's random trunk
    between no transfer and the CAE, its interval clipped to [0, 1]."""
    summary = hand_summary(sizes=(50,), half_width=0.65)
    at_depth = (summary["scenario"] == "cae") & (summary["depth"] == "conv2+fc1")
    random = summary[at_depth].assign(scenario="random", source="random", mean=0.65, ci_low=0.6, ci_high=0.7)
    summary = pd.concat([summary, random], ignore_index=True)
    plots.claim_comparison(summary, CLAIM, tmp_path / "c.png", tmp_path / "c.pdf")
    plots.accuracy_vs_labels(summary, tmp_path / "a.png", tmp_path / "a.pdf", "balanced_accuracy", "conv2+fc1",
                             tasks={"gender": 2, "smile": 2})
    claim, accuracy = drawn
    for figure in drawn:
        check_figure(figure, (50,))
    assert "against no transfer and the frozen random trunk" in claim._suptitle.get_text()
    for ax in claim.axes:
        bars = ax.containers
        assert [bar.get_label() for bar in bars] == [
            "no transfer (bar: 95 % CI)", "random trunk up to conv2+fc1, frozen (bar: 95 % CI)",
            "CAE up to conv2+fc1, frozen (bar: 95 % CI)"]
        places = [bar.lines[0].get_xdata()[0] for bar in bars]
        low, high = ax.get_xlim()
        assert low < places[0] < 50 < places[2] < high and places == sorted(places)
        # N in the middle of its log axis, with room for the three bars and their caps
        assert (low * high) ** 0.5 == pytest.approx(50) and high / low == pytest.approx(plots.SINGLE_N_SPREAD ** 6)
        assert [bar.lines[0].get_ydata()[0] for bar in bars] == pytest.approx([0.6, 0.65, 0.7])
        ends = [sorted(bar.lines[2][0].get_segments()[0][:, 1]) for bar in bars]
        assert ends == [pytest.approx([0, 1]), pytest.approx([0.6, 0.7]), pytest.approx([0.05, 1])]
    assert len(accuracy.axes[0].containers) == 4  # none, the CAE, the CNN and the random trunk, each with its bar


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
