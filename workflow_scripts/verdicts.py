"""Whether the paper's claims hold in this run, in words: per task and metric of the
claim's setting, for the energy, and the one-sentence answer. Pure functions of the
analysis tables (``analysis.claim_test``, ``analysis.paired_gains``); the pages that
show them are ``summary_pages``'s.

Only the claim's metric, per task, is tested (the pre-declared, Holm-corrected test);
every other verdict is labelled exploratory and says where its 95 % interval lies.
"""

import math

import pandas as pd

from . import paper
from .analysis import GAIN_METRICS, claim_gains
from .tasks import TASKS


def tested_verdict(holds: bool, p_holm: float) -> str:
    """The pre-declared test's verdict on one task's gain: yes or no, with Holm's p."""
    return ("yes" if holds else "no") + f" (Holm p = {p_holm:.3g})"


def exploratory_verdict(ci_low: float, ci_high: float) -> str:
    """Where an untested gain's 95 % interval lies."""
    if math.isnan(ci_low):
        return "exploratory: no CI"
    side = "above 0" if ci_low > 0 else "below 0" if ci_high < 0 else "includes 0"
    return f"exploratory: 95 % CI {side}"


def accuracy_verdicts(claim_table: pd.DataFrame, gains: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """Per task (in the study's order) and gain metric of the claim's setting: gain,
    ci_low, ci_high and verdict, the tested verdict for the claim's metric where the
    claim test has the task, else the exploratory one."""
    measured = claim_gains(gains, claim)
    tested = claim_table.set_index("task") if len(claim_table) else pd.DataFrame()
    rows = []
    for task in [t for t in TASKS if t in set(measured["task"])]:
        for metric in GAIN_METRICS:
            found = measured[(measured["task"] == task) & (measured["metric"] == metric)]
            if found.empty:
                continue
            row = found.iloc[0]
            if metric == claim["metric"] and task in tested.index:
                verdict = tested_verdict(bool(tested.loc[task, "accuracy_half_holds"]), tested.loc[task, "p_holm"])
            else:
                verdict = exploratory_verdict(row["ci_low"], row["ci_high"])
            rows.append({"task": task, "metric": metric, "gain": row["gain"], "ci_low": row["ci_low"],
                         "ci_high": row["ci_high"], "verdict": verdict})
    return pd.DataFrame(rows, columns=["task", "metric", "gain", "ci_low", "ci_high", "verdict"])


def energy_verdict(reduction: float, ceiling: float, quoted: float = paper.ENERGY_REDUCTION) -> str:
    """Whether the measured four-task reduction reaches the paper's, and whether layer
    sharing could reach it at all (``ceiling``: the most that sharing gives here)."""
    if reduction >= quoted:
        return "yes"
    if quoted > ceiling:
        return f"no, and cannot: sharing layers gives at most {ceiling:.2f}x here"
    return "no"


def joined(words, conjunction: str = "and") -> str:
    """a; a and b; a, b and c."""
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten"}
DATASET_NAMES = {"mtfl": "MTFL", "synthetic": "synthetic faces"}


def number_word(count: int) -> str:
    """one ... ten in words, larger counts in digits."""
    return NUMBER_WORDS.get(int(count), str(int(count)))


def tasks_inference(count: int) -> str:
    """'one-task inference', 'four-task inference': one image answered for every task."""
    return f"{number_word(count)}-task inference"


def holders(holding, failing) -> str:
    """'holds for a and b', 'holds for a, not for b', 'does not hold for a', 'holds for
    neither a nor b', 'holds for no task'."""
    if not failing:
        return f"holds for {joined(holding)}"
    if holding:
        return f"holds for {joined(holding)}, not for {joined(failing, 'or')}"
    if len(failing) == 1:
        return f"does not hold for {failing[0]}"
    if len(failing) == 2:
        return f"holds for neither {failing[0]} nor {failing[1]}"
    return "holds for no task"


def beaten_for(passing, tested, metric: str) -> str:
    """What the accuracy half found, with the CAE's layers as the subject: 'significantly
    beat no transfer in <metric> for a only', '... for no task', 'do not ... for a'."""
    beat = f"significantly beat no transfer in {metric}"
    if len(passing) == len(tested):
        return f"{beat} for {joined(passing)}"
    if passing:
        return f"{beat} for {joined(passing)} only"
    if len(tested) == 1:
        return f"do not {beat} for {tested[0]}"
    if len(tested) == 2:
        return f"{beat} for neither {tested[0]} nor {tested[1]}"
    return f"{beat} for no task"


def answer_sentence(claim_table: pd.DataFrame, dataset: str) -> str:
    """The study's answer in one plain sentence, from the claim test's table (columns task,
    n_train, depth, metric, accuracy_half_holds, energy_reduction, energy_half_holds,
    holds; n_tasks where known, else one per row): for which tasks the whole claim holds,
    then why, half by half. Reads right for one, two or more tasks."""
    data = DATASET_NAMES.get(dataset, dataset)
    if claim_table.empty:
        return f"On {data} the pre-declared claim was not tested: the study has no CAE block at the claim's setting."
    first = claim_table.iloc[0]
    tested = list(claim_table["task"])
    holding = [task for task, holds in zip(tested, claim_table["holds"]) if bool(holds)]
    passing = [task for task, half in zip(tested, claim_table["accuracy_half_holds"]) if bool(half)]
    metric = str(first["metric"]).replace("_", " ")
    accuracy = f"the CAE's frozen layers up to {first['depth']} {beaten_for(passing, tested, metric)}"
    n_tasks = int(first["n_tasks"]) if "n_tasks" in claim_table and int(first["n_tasks"]) > 0 else len(tested)
    reduction = float(first["energy_reduction"])
    if math.isnan(reduction):
        energy = f"the {tasks_inference(n_tasks)} energy was not measured"
    else:
        enough = "enough" if bool(first["energy_half_holds"]) else "not enough"
        energy = f"sharing them cuts the {tasks_inference(n_tasks)} energy {reduction:.2f}x ({enough} for the energy half)"
    return (f"On {data} at N = {int(first['n_train'])} the claim {holders(holding, [t for t in tested if t not in holding])}: "
            f"{accuracy} (Holm-corrected), and {energy}.")
