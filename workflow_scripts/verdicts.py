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


def claim_answer(claim_table: pd.DataFrame) -> str:
    """One sentence: for which tested tasks the whole pre-declared claim (accuracy and
    energy halves) holds, and for which it does not."""
    if claim_table.empty:
        return "The pre-declared claim was not tested: the study has no CAE block at the claim's setting."
    holding = [task for task, holds in zip(claim_table["task"], claim_table["holds"]) if holds]
    failing = [task for task in claim_table["task"] if task not in holding]
    if not failing:
        return f"The pre-declared claim holds for {joined(holding)}."
    if holding:
        return f"The pre-declared claim holds for {joined(holding)}, not for {joined(failing, 'or')}."
    if len(failing) == 1:
        return f"The pre-declared claim does not hold for {failing[0]}."
    if len(failing) == 2:
        return f"The pre-declared claim holds for neither {failing[0]} nor {failing[1]}."
    return f"The pre-declared claim holds for none of {joined(failing)}."
