"""The paper's endpoint beside ours: the claim's comparison trained again the way the paper
most likely trained it, so that its accuracy gains stand beside gains measured under the
same objective. Torch-free; read by the Snakemake rules at DAG build and by the stages.

The study's own classifiers train under ``finetune.objective`` (by default ``balanced``: a
class-weighted loss, stopping on balanced error), and the pre-declared test stays on them.
The paper reports accuracy, most likely of classifiers trained with an unweighted loss; an
accuracy gain of class-weighted classifiers says nothing about that. So, when
``analysis.paper_endpoint`` is on, the claim's comparison alone (for every task: no
transfer, and the CAE's frozen layers at the claim's depth; at the claim's N; every seed)
is trained again under ``objective: plain`` with every other setting of the protocol
unchanged, from the same cached features. Beside each task's gain stands the test set's
majority-class rate: a classifier that always answers the commonest class scores it, so an
accuracy near it means nothing was learnt. Everything here is exploratory.
"""

from collections import Counter

import numpy as np
import pandas as pd

from workflow_scripts.study import grid as study_grid, paper, scenarios
from workflow_scripts.study.protocol import Protocol

PLAIN = "plain"
# endpoint_gains' columns: gains and accuracies on the accuracy scale (0..1, as in
# gains.csv: a gain of 0.0198 is +1.98 points), n the number of units (paired seeds, or
# their pretraining seeds where there are several), n_pairs the number of paired seeds
GAIN_COLUMNS = ["task", "paper_gain", "plain_gain", "ci_low", "ci_high", "n", "n_pairs", "none_accuracy",
                "cae_accuracy", "majority_accuracy"]
# what endpoint_gains reads of results/paper_endpoint.csv
ENDPOINT_COLUMNS = [*study_grid.BLOCK_KEY, "n_train", "seed", "pretrain_seed", "accuracy", "objective", "majority_accuracy"]


def endpoint_blocks(config: dict) -> list[dict]:
    """The blocks (``study.grid.BLOCK_KEY`` dicts) trained again under the plain objective:
    per task, ``none`` and ``cae`` at the claim's depth. None when analysis.paper_endpoint
    is off or the study lacks one of the two scenarios (then there is no claim to set
    beside the paper's)."""
    studied = study_grid.study_scenarios(config)
    if not config["analysis"]["paper_endpoint"] or scenarios.NONE not in studied or scenarios.CAE not in studied:
        return []
    depth = study_grid.claim(config)["depth"]
    blocks = []
    for task in config["finetune"]["tasks"]:
        blocks.append(dict(zip(study_grid.BLOCK_KEY, (task, scenarios.NONE, scenarios.NONE, scenarios.NONE))))
        blocks.append(dict(zip(study_grid.BLOCK_KEY, (task, scenarios.CAE, scenarios.CAE, depth))))
    return blocks


def endpoint_train_sizes(config: dict) -> list[int]:
    """The labelled-set sizes of the endpoint's members: the claim's N alone."""
    return [study_grid.claim(config)["n_train"]]


def endpoint_seeds(config: dict) -> list[int]:
    """The fine-tuning seeds of the endpoint's members, in finetune.seeds' order: the first
    analysis.paper_endpoint_per_unit of each pretraining unit (the pre-declared test's
    unit: shared_by consecutive seeds under pretrain.per_seed, else each seed alone), or
    every seed where the key is absent."""
    seeds = list(config["finetune"]["seeds"])
    per_unit = config["analysis"].get("paper_endpoint_per_unit")
    if per_unit is None:
        return seeds
    unit_of = study_grid.pretrain_seed_of(config) if config["pretrain"]["per_seed"] else {seed: seed for seed in seeds}
    taken = Counter()
    kept = []
    for seed in seeds:
        taken[unit_of[seed]] += 1
        if taken[unit_of[seed]] <= per_unit:
            kept.append(seed)
    return kept


def endpoint_protocol(finetune: dict) -> dict:
    """The study's protocol settings (``Protocol.config_keys`` of config finetune) with the
    objective set to plain: the same epoch choice, folds and stacking, another loss and
    stopping score."""
    settings = {key: finetune[key] for key in Protocol.config_keys() if key in finetune}
    return {**settings, "objective": PLAIN}


def majority_rate(labels) -> float:
    """The share of the commonest class among ``labels``: the accuracy of always answering it."""
    labels = np.asarray(labels)
    if labels.size == 0:
        raise ValueError("majority rate of no labels")
    return float(np.unique(labels, return_counts=True)[1].max() / labels.size)


def majority_accuracies(table: pd.DataFrame, test_faces, task_names) -> dict[str, float]:
    """Per task, the majority-class rate of the test faces (rows ``test_faces`` of the face table)."""
    return {task: majority_rate(table[task].to_numpy()[np.asarray(test_faces)]) for task in task_names}


def endpoint_table(metrics: pd.DataFrame, majority: dict[str, float]) -> pd.DataFrame:
    """The endpoint blocks' metrics rows with ``objective`` (plain) and each task's
    ``majority_accuracy`` beside them, sorted like results/metrics.csv."""
    missing = sorted(set(metrics["task"]) - set(majority))
    if missing:
        raise ValueError(f"no majority-class rate for task(s) {', '.join(missing)}")
    table = metrics.assign(objective=PLAIN, majority_accuracy=metrics["task"].map(majority))
    return table.sort_values([*study_grid.BLOCK_KEY, "n_train", "seed"], ignore_index=True)


def endpoint_gains(endpoint: pd.DataFrame) -> pd.DataFrame:
    """Per task (in the table's order of first appearance): the accuracy gain of ``cae``
    over ``none`` paired by seed (mean, 95 % t-interval and the number of units, in the
    pre-declared test's unit: the pretraining seed where there are several) beside the
    paper's accuracy gain, the two arms' mean accuracy over the paired seeds, and the test
    set's majority-class rate. Every value is on the accuracy scale (0..1); a task the
    paper does not quote has a NaN ``paper_gain``. ``endpoint`` is results/paper_endpoint.csv:
    one N and one CAE depth per task."""
    from workflow_scripts.report.statistics import paired_test  # not at the top: the rules read this module at DAG build, which needs no scipy

    rows = []
    for task, rows_of_task in endpoint.groupby("task", sort=False):
        none = rows_of_task[rows_of_task["scenario"] == scenarios.NONE]
        cae = rows_of_task[rows_of_task["scenario"] == scenarios.CAE]
        for arm, name in ((none, "none"), (cae, "cae")):
            if arm["n_train"].nunique() > 1 or arm["depth"].nunique() > 1:
                raise ValueError(f"paper endpoint of {task}: the {name} arm holds several N or depths; expected one each")
        paired = cae.merge(none, on=["n_train", "seed"], suffixes=("_cae", "_none"))
        # in the unit of the pre-declared test: the pretraining seed where there are several
        test = paired_test(paired["accuracy_cae"] - paired["accuracy_none"],
                           paired["pretrain_seed_cae"] if "pretrain_seed_cae" in paired else None)
        n = test["n_pairs"]
        rows.append({
            "task": task,
            "paper_gain": paper.ACCURACY_GAIN_POINTS.get(task, np.nan) / 100,
            "plain_gain": test["gain"], "ci_low": test["ci_low"], "ci_high": test["ci_high"], "n": test["n_units"],
            "n_pairs": n,
            "none_accuracy": float(paired["accuracy_none"].mean()) if n else np.nan,
            "cae_accuracy": float(paired["accuracy_cae"].mean()) if n else np.nan,
            "majority_accuracy": float(rows_of_task["majority_accuracy"].iloc[0]),
        })
    return pd.DataFrame(rows, columns=GAIN_COLUMNS)
