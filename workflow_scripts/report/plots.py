"""Figures of the study (matplotlib/seaborn): PNG for the report, and a vector copy.

Every figure names tasks in words, labels its axes with units, gives each scenario the
same colour-blind-safe colour (``SCENARIO_COLORS``) throughout, and keeps its legends
outside the axes, where they cover no data; no text runs into another, a test metric's
interval stays inside [0, 1], an axis of N has a tick at every N of the grid, and no number
reads as a negative zero (tests/test_plots.py checks each, on the tiny study's figures too)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import LogFormatter  # noqa: E402
from matplotlib.transforms import ScaledTranslation  # noqa: E402

from workflow_scripts.atomic import atomic_path  # noqa: E402
from workflow_scripts.report.claim import claim_against  # noqa: E402
from workflow_scripts.report.exploratory import figure_settings  # noqa: E402
from workflow_scripts.report.formatting import energy_unit  # noqa: E402
from workflow_scripts.report.verdicts import tasks_inference  # noqa: E402
from workflow_scripts.study import paper, scenarios  # noqa: E402
from workflow_scripts.study.depths import layers_covered  # noqa: E402
from workflow_scripts.study.grid import BLOCK_KEY  # noqa: E402

SHORT = {"male": "M", "female": "F", "smiling": "smile", "not smiling": "-", "glasses": "glasses", "no glasses": "-"}


def face_caption(row, classes: dict) -> str:
    words = [SHORT.get(names[row[t]], names[row[t]]) for t, names in classes.items()]
    return " ".join(w for w in words if w != "-")


def save_figure(figure, path, dpi=110):
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=dpi, bbox_inches="tight", format=str(path).rsplit(".", 1)[-1])
    plt.close(figure)


def face_preview(images, table, roles, classes: dict, path, per_role: int = 8):
    """A row of faces per role, each titled with its labels (``classes``: task -> class names)."""
    role_names = [r for r in ("pool", "validation", "test") if (roles["role"] == r).any()]
    figure, axes = plt.subplots(len(role_names), per_role, figsize=(1.6 * per_role, 1.9 * len(role_names)), squeeze=False)
    for row_axes, role in zip(axes, role_names):
        faces = roles.loc[roles["role"] == role, "face"].to_numpy()[:per_role]
        for ax, face in zip(row_axes, faces):
            ax.imshow(images[face, 0].numpy(), cmap="gray", vmin=0, vmax=255)
            ax.set_title(face_caption(table.iloc[face], classes), fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in row_axes[len(faces):]:
            ax.axis("off")
        row_axes[0].set_ylabel(role, fontsize=10)
    figure.suptitle(f"Prepared faces with their labels ({', '.join(classes)})", fontsize=10)
    save_figure(figure, path)


# ---- study figures -------------------------------------------------------------------



def task_titles(tasks: dict) -> dict:
    """Each task of the study (``tasks``: task -> class count, in the study's order) -> its
    panel title: the name, and the class count where there are more than two."""
    return {task: task.replace("_", " ").capitalize() + (f" ({k} classes)" if k > 2 else "") for task, k in tasks.items()}


METRIC_LABELS = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "macro_f1": "macro-F1"}
SCENARIO_LABELS = {s.name: s.label for s in scenarios.SCENARIO_TABLE}
_PALETTE = sns.color_palette("colorblind")
SCENARIO_COLORS = {s.name: _PALETTE[s.color] for s in scenarios.SCENARIO_TABLE}


def save_figure_pair(figure, png_path, vector_path):
    """The same figure as PNG (for the report) and as a vector file."""
    with atomic_path(vector_path) as temporary:
        figure.savefig(temporary, bbox_inches="tight", format=str(vector_path).rsplit(".", 1)[-1])
    save_figure(figure, png_path)


def number_text(value, digits=1) -> str:
    """``value`` to ``digits`` decimals, never a negative zero ("-0.0" is "0.0"); "" for NaN."""
    if value != value:
        return ""
    text = f"{value:.{digits}f}"
    return text.removeprefix("-") if float(text) == 0 else text


def metric_band(ax, group, color, **style):
    """The 95 % interval of a test metric, clipped to [0, 1], the metric's range: the
    t-interval over few units can reach past it, and clipping keeps its coverage (the true
    mean lies inside [0, 1], so it lies inside the clipped interval exactly when inside
    the t-interval), where a logit or bootstrap interval would change it."""
    ax.fill_between(group["n_train"], group["ci_low"].clip(0, 1), group["ci_high"].clip(0, 1), color=color, alpha=0.2,
                    linewidth=0, **style)


SINGLE_N_SPREAD = 1.12  # on a grid of one N, side-by-side error bars stand this factor apart on the log axis


def mean_with_interval(ax, group, color, label, place=0, places=1, band_label=None):
    """One arm's test metric against N with its 95 % interval (clipped to [0, 1], as
    ``metric_band``): a line and a band over two or more N; over one N a point with an
    error bar, the ``place``-th of ``places`` set side by side around that N."""
    if len(group) > 1:
        ax.plot(group["n_train"], group["mean"], marker="o", color=color, label=label)
        metric_band(ax, group, color, **({"label": band_label} if band_label else {}))
        return
    low, high = group["ci_low"].clip(0, 1), group["ci_high"].clip(0, 1)
    ax.errorbar(group["n_train"] * SINGLE_N_SPREAD ** (place - (places - 1) / 2), group["mean"],
                yerr=[group["mean"] - low, high - group["mean"]], fmt="o", color=color, capsize=4,
                label=f"{label} (bar: 95 % CI)")


def room_for_side_by_side(ax, sizes, places):
    """On a grid of one N, an x range that holds ``places`` error bars set side by side."""
    if len(sizes) == 1:
        n = next(iter(sizes))
        ax.set_xlim(n / SINGLE_N_SPREAD ** places, n * SINGLE_N_SPREAD ** places)


def label_every_n(ax, sizes):
    """A log axis of labelled samples N with a tick, labelled in plain digits, at every N of the grid."""
    ax.set_xscale("log")
    sizes = sorted(int(n) for n in sizes)
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("labelled training samples N (log scale)")


class PlainLogFormatter(LogFormatter):
    """Labels of a log axis as plain numbers (0.8, 30, 200, not 8e-01 or 3x10^1), on the
    ticks matplotlib's LogFormatter chooses to label."""

    def _num_to_string(self, x, vmin, vmax):
        return f"{x:g}"


def figure_legend(figure, ax, columns=4):
    """One legend for the whole figure, under its axes (bbox_inches='tight' keeps it)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(columns, len(labels)),
                      fontsize=8, frameon=False)


def claim_arms(claim) -> list[str]:
    """The arms of the pre-declared family in the order the claim's figure draws them: no
    transfer, every other baseline of ``analysis.claim.against``, then the CAE."""
    others = [b for b in claim_against(claim) if b not in (scenarios.NONE, scenarios.CAE)]
    return [scenarios.NONE, *others, scenarios.CAE]


def claim_comparison(summary, claim, png_path, vector_path):
    """The pre-declared comparison on its own: per task, the claim's metric against N for
    every arm of the family (no transfer, the other baselines such as the frozen random
    trunk, and the frozen CAE, each at the claim's depth; mean and 95 % interval in the
    test's unit), with the claim's N marked and, for balanced accuracy, chance (1/k): where
    both intervals hold it at the claim's N the verdict is "no signal at this N". A grid of
    one N draws each arm as a point with its interval as an error bar, side by side. Nothing
    here is chosen after the run."""
    metric, depth = claim["metric"], claim["depth"]
    arms = claim_arms(claim)
    data = summary[(summary["metric"] == metric) & ((summary["scenario"] == scenarios.NONE)
                                                  | (summary["scenario"].isin(arms) & (summary["depth"] == depth)))]
    titles = task_titles(claim["classes"])
    tasks = [t for t in titles if t in set(data["task"])]
    if not tasks:
        raise ValueError(f"no {metric} of no transfer or the CAE at {depth} to plot")
    sizes = sorted(set(data["n_train"]))
    figure, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), 3.4), squeeze=False)
    labels = {scenario: SCENARIO_LABELS[scenario].replace(", frozen", f" up to {depth}, frozen") for scenario in arms}
    for ax, task in zip(axes[0], tasks):
        for place, scenario in enumerate(arms):
            group = data[(data["task"] == task) & (data["scenario"] == scenario)].sort_values("n_train")
            if group.empty:
                continue
            mean_with_interval(ax, group, SCENARIO_COLORS[scenario], labels[scenario], place, len(arms),
                               band_label=f"{labels[scenario]}: 95 % CI")
        ax.axvline(claim["n_train"], color="black", linestyle=":", linewidth=1, label=f"the claim's N = {claim['n_train']}")
        if metric == "balanced_accuracy":
            ax.axhline(1 / claim["classes"][task], color="grey", linestyle="--", linewidth=1, label="chance (1/k, k classes)")
        label_every_n(ax, sizes)
        room_for_side_by_side(ax, sizes, len(arms))
        ax.set_title(titles[task], fontsize=10)
        ax.set_ylabel(f"test {METRIC_LABELS[metric]}")
        ax.grid(alpha=0.3)
    drawn = [arm for arm in arms if arm != scenarios.CAE and arm in set(data["scenario"])]
    against = " and ".join(scenarios.BY_NAME[arm].words for arm in drawn)
    figure.suptitle(f"The pre-declared comparison: CAE up to {depth} (frozen) against {against}\n"
                    f"test {METRIC_LABELS[metric]}, mean and 95 % CI over seeds (clipped to [0, 1])", fontsize=11)
    figure.tight_layout()
    figure_legend(figure, axes[0][0], columns=5 if len(tasks) > 2 else 2)
    save_figure_pair(figure, png_path, vector_path)


def accuracy_vs_labels(summary, png_path, vector_path, metric, claim_depth, *, tasks: dict):
    """One panel per task (``tasks``: task -> class count): the test metric against labelled
    samples, a line per scenario at the setting with the best mean early-stopping score
    (``exploratory.figure_settings``)."""
    shown = figure_settings(summary, metric, claim_depth)
    data = summary[summary["metric"] == metric].merge(shown, on=list(BLOCK_KEY))
    titles = task_titles(tasks)
    tasks = [t for t in titles if t in set(data["task"])]
    figure, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.6), squeeze=False, layout="constrained")
    for ax, task in zip(axes[0], tasks):
        lines = list(data[data["task"] == task].groupby(["scenario", "source", "depth"]))
        for place, ((scenario, source, depth), group) in enumerate(lines):
            setting = "" if not scenarios.transfers(scenario) else f" ({scenarios.source_label(scenario, source)}, {depth})"
            mean_with_interval(ax, group.sort_values("n_train"), SCENARIO_COLORS[scenario],
                               SCENARIO_LABELS[scenario] + setting, place, len(lines))
        label_every_n(ax, set(data["n_train"]))
        room_for_side_by_side(ax, set(data["n_train"]), len(lines))
        ax.set_title(titles[task])
        ax.set_ylabel(f"test {METRIC_LABELS[metric]}")
        ax.grid(alpha=0.3)
        # below the axes, a fixed 0.6 inch under them (past the tick labels and the axis label, whatever
        # the axes' height): each panel names its own chosen settings, and covers no line
        under_labels = ax.transAxes + ScaledTranslation(0, -0.6, figure.dpi_scale_trans)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=under_labels, frameon=False)
    figure.suptitle(f"Test {METRIC_LABELS[metric]} against labelled samples (mean and 95 % CI over seeds, clipped to "
                    "[0, 1]; settings chosen by early-stopping score)", fontsize=11)
    save_figure_pair(figure, png_path, vector_path)


def gain_heatmaps(gains, png_path, vector_path, metric="balanced_accuracy", *, tasks: dict):
    """Gain over no transfer, depth x N, per task (``tasks``: task -> class count); cnn
    averaged over its source tasks."""
    data = gains[(gains["metric"] == metric) & gains["scenario"].isin(scenarios.FROZEN)]
    titles = task_titles(tasks)
    tasks = [t for t in titles if t in set(data["task"])]
    rows_shown = [s for s in scenarios.FROZEN if s in set(data["scenario"])]
    figure, axes = plt.subplots(len(rows_shown), len(tasks), figsize=(3.4 * len(tasks), 2.8 * len(rows_shown)), squeeze=False)
    limit = max(float(data["gain"].abs().max()), 1e-3) if len(data) else 1.0
    for row, scenario in enumerate(rows_shown):
        for col, task in enumerate(tasks):
            ax = axes[row][col]
            cells = data[(data["task"] == task) & (data["scenario"] == scenario)]
            table = cells.groupby(["depth", "n_train"])["gain"].mean().unstack("n_train").sort_index(key=lambda d: d.map(layers_covered))
            sns.heatmap(table * 100, ax=ax, cmap="vlag_r", vmin=-limit * 100, vmax=limit * 100, center=0,
                        annot=(table * 100).map(number_text), fmt="", cbar=col == len(tasks) - 1,
                        cbar_kws={"label": "gain, percentage points"} if col == len(tasks) - 1 else None)
            ax.set_title(f"{titles[task]}: {SCENARIO_LABELS[scenario]}", fontsize=9)
            ax.set_xlabel("labelled samples N")
            ax.set_ylabel("transfer depth")
    figure.suptitle(f"Exploratory: gain in test {METRIC_LABELS[metric]} over no transfer (mean over seeds; "
                    "cnn: mean over sources; uncorrected)", fontsize=11)
    figure.tight_layout()
    save_figure_pair(figure, png_path, vector_path)


def part_colors(panels):
    """A colour-blind-safe colour per energy part: the same part (MAC, dram) keeps its colour
    in every panel, and no two parts of one panel share one while the palette lasts."""
    palette = sns.color_palette("colorblind")
    chosen = {}
    for part in dict.fromkeys(part for panel in panels for part in panel):
        taken = {chosen[other] for panel in panels if part in panel for other in panel if other in chosen}
        free = [i for i in range(len(palette)) if i not in taken]
        chosen[part] = free[0] if free else len(chosen) % len(palette)
    return {part: palette[i] for part, i in chosen.items()}


def energy_bars(inference, png_path, vector_path, quoted=paper.ENERGY_REDUCTION):
    """Energy of one inference answering every task, stacked by memory level and MAC, per
    hardware, for no transfer and each frozen-transfer depth (cae and cnn cost the same),
    with two marks: the energy the ceiling of layer sharing allows, and the energy the
    paper's reduction (``quoted``) would need."""
    shown = inference[inference["scenario"].isin(scenarios.CONFIGURABLE)].drop_duplicates(["hardware", "depth"])
    hardware = list(dict.fromkeys(shown["hardware"]))
    parts = ["mac_energy_pj"] + sorted(c for c in shown.columns if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj")
    unit, scale = energy_unit(shown["energy_pj"])
    inference_words = tasks_inference(shown["n_tasks"].iloc[0]) if "n_tasks" in shown else "inference"
    figure, axes = plt.subplots(1, len(hardware), figsize=(5.5 * len(hardware), 4.2), squeeze=False)
    panels = [[part for part in parts if shown.loc[shown["hardware"] == name, part].fillna(0).any()] for name in hardware]
    colors = part_colors(panels)
    for ax, name, panel in zip(axes[0], hardware, panels):
        rows = shown[shown["hardware"] == name].reset_index(drop=True)
        labels = [f"shared {d}" if scenarios.transfers(s) else "no transfer" for s, d in zip(rows["scenario"], rows["depth"])]
        bottom = np.zeros(len(rows))
        for part in panel:
            values = rows[part].fillna(0).to_numpy() / scale
            name_of_part = "MAC" if part == "mac_energy_pj" else part.removeprefix("energy_").removesuffix("_pj")
            ax.bar(labels, values, bottom=bottom, color=colors[part], label=name_of_part)
            bottom += values
        for x, (total, factor) in enumerate(zip(bottom, rows["reduction_vs_none"])):
            ax.text(x, total, f"{factor:.2f}x", ha="center", va="bottom", fontsize=8)
        no_transfer = float((rows["energy_pj"] / rows["reduction_vs_none"]).iloc[0]) / scale
        ceiling = float(rows["ceiling_reduction"].iloc[0])
        ax.axhline(no_transfer / ceiling, color="black", linestyle="--", linewidth=1,
                   label=f"ceiling of layer sharing: {ceiling:.2f}x")
        ax.axhline(no_transfer / quoted, color="firebrick", linestyle=":", linewidth=1.5,
                   label=f"the paper's {quoted:.2f}x")
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(f"energy of one {inference_words} ({unit})")
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")  # each ends under its bar
        ax.margins(y=0.08)  # room above the tallest bar for its reduction
        ax.legend(fontsize=7, title="memory level and marks", title_fontsize=7, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False)
    figure.suptitle(f"Energy of one {inference_words} by transfer depth (ZigZag), reduction against no transfer on "
                    "the bars", fontsize=11)
    figure.tight_layout()
    save_figure_pair(figure, png_path, vector_path)


def tradeoff_scatter(points, png_path, vector_path, hardware, metric="balanced_accuracy", *, tasks: dict):
    """Accuracy against the energy of all tasks (``tasks``: task -> class count) on ``hardware`` per task, at the smallest and
    largest N, with the Pareto front over every setting (descriptive). Where the table
    holds int8 scores (``int8_<metric>``), each setting is drawn twice: float32 hollow,
    int8 filled, joined by a thin line, with the int8 points' front dashed."""
    points = points[points["hardware"] == hardware]
    if points.empty:
        raise ValueError(f"no accuracy-energy points to plot on {hardware}")
    name = hardware
    int8 = f"int8_{metric}"
    with_int8 = int8 in points and points[int8].notna().any()
    unit, scale = energy_unit(points["energy_pj"])
    sizes = sorted(points["n_train"].unique())
    sizes = [sizes[0], sizes[-1]] if len(sizes) > 1 else sizes
    titles = task_titles(tasks)
    tasks = [t for t in titles if t in set(points["task"])]
    figure, axes = plt.subplots(len(sizes), len(tasks), figsize=(3.6 * len(tasks), 3.2 * len(sizes)), squeeze=False)
    for row, n_train in enumerate(sizes):
        for col, task in enumerate(tasks):
            ax = axes[row][col]
            group = points[(points["task"] == task) & (points["n_train"] == n_train)]
            for scenario, part in group.groupby("scenario"):
                color, label = SCENARIO_COLORS[scenario], SCENARIO_LABELS[scenario]
                energy = part["energy_pj"] / scale
                if with_int8:
                    ax.vlines(energy, part[metric], part[int8], color=color, linewidth=0.8, alpha=0.6)
                    ax.scatter(energy, part[metric], facecolors="none", edgecolors=color, s=22)
                    ax.scatter(energy, part[int8], color=color, s=16, label=label)
                else:
                    ax.scatter(energy, part[metric], color=color, label=label, s=22)
            front = group[group["pareto"]].sort_values("energy_pj")
            ax.step(front["energy_pj"] / scale, front[metric], where="post", color="black", linewidth=1,
                    label="Pareto front, float32" if with_int8 else "Pareto front")
            if with_int8:
                if row == col == 0:  # the legend's key to the two precisions
                    ax.scatter([], [], facecolors="none", edgecolors="black", s=22, label="float32 (hollow)")
                    ax.scatter([], [], color="black", s=16, label="int8 (filled)")
                front = group[group["int8_pareto"].astype(bool)].sort_values("energy_pj")
                ax.step(front["energy_pj"] / scale, front[int8], where="post", color="black", linewidth=1,
                        linestyle="--", label="Pareto front, int8")
            ax.set_xscale("log")
            ax.tick_params(axis="x", which="both", labelsize=8)
            ax.xaxis.set_major_formatter(PlainLogFormatter())
            ax.xaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))
            ax.set_title(f"{titles[task]}, N = {n_train}", fontsize=9)
            ax.set_xlabel(f"energy per inference ({unit})")
            ax.set_ylabel(f"test {METRIC_LABELS[metric]}")
            ax.grid(alpha=0.3)
    figure_legend(figure, axes[0][0])
    precision = "; float32 hollow, int8 filled" if with_int8 else ""
    figure.suptitle(f"Descriptive: accuracy against the energy of one inference answering every task, on {name}\n"
                    f"every scenario, source and depth (mean over seeds{precision})", fontsize=11)
    figure.tight_layout()
    save_figure_pair(figure, png_path, vector_path)


def training_curves(curve_tables: dict, png_path, vector_path):
    """Loss curves of the pretrained networks, {(network, seed): curve}: the training loss
    and the early-stopping loss (``stop_loss``: on the validation split, for pretraining)
    per epoch, one panel per network, one line pair per seed."""
    networks = list(dict.fromkeys(network for network, _ in curve_tables))
    figure, axes = plt.subplots(1, len(networks), figsize=(3.2 * len(networks), 3), squeeze=False)
    for ax, network in zip(axes[0], networks):
        for index, ((name, seed), curve) in enumerate((k, v) for k, v in curve_tables.items() if k[0] == network):
            first = index == 0
            ax.plot(curve["epoch"], curve["train_loss"], label="training" if first else None, color=_PALETTE[0], alpha=0.8)
            ax.plot(curve["epoch"], curve["stop_loss"], label="validation split (early stopping)" if first else None,
                    color=_PALETTE[1], alpha=0.8)
        ax.set_title(scenarios.network_label(network), fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel(scenarios.network_trunk(network).curve_loss)
        ax.grid(alpha=0.3)
    figure_legend(figure, axes[0][0])
    figure.suptitle("Pretraining curves (a line pair per pretraining seed)", fontsize=11)
    figure.tight_layout()
    save_figure_pair(figure, png_path, vector_path)
