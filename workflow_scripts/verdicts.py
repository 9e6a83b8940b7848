"""Whether the paper's claims hold in this run, in words: per task and metric of the
claim's setting, for the energy, and the one-sentence answer. Pure functions of the
analysis tables (``analysis.claim_test``, ``analysis.paired_gains``); the pages that
show them are ``summary_pages``'s.

Only the claim's metric, per task, is tested (the pre-declared, Holm-corrected test);
every other verdict is labelled exploratory and says where its 95 % interval lies. A task
whose classifiers both sit at chance at the claim's N is "no signal at this N", not "no".
"""

import math

import pandas as pd

from . import paper
from .analysis import FINETUNING_SEED, GAIN_METRICS, NO_SIGNAL, claim_gains
from .datasets import DATASETS
from .study_grid import ENERGY_WORD_BITS


def tested_verdict(holds: bool, p_holm: float, no_signal: bool = False) -> str:
    """The pre-declared test's verdict on one task's gain: yes, no, or no signal at this N
    (it does not hold and both arms sit at chance), with Holm's p."""
    return ("yes" if holds else NO_SIGNAL if no_signal else "no") + f" (Holm p = {p_holm:.3g})"


def silent_tasks(claim_table: pd.DataFrame) -> list[str]:
    """The tasks the claim test's ``verdict`` column calls no signal at this N (none for a
    table without it, e.g. one read back from a summary published before it had one)."""
    if "verdict" not in claim_table:
        return []
    return [task for task, verdict in zip(claim_table["task"], claim_table["verdict"]) if verdict == NO_SIGNAL]


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
    for task in [t for t in claim["classes"] if t in set(measured["task"])]:
        for metric in GAIN_METRICS:
            found = measured[(measured["task"] == task) & (measured["metric"] == metric)]
            if found.empty:
                continue
            row = found.iloc[0]
            if metric == claim["metric"] and task in tested.index:
                no_signal = tested.loc[task].get("verdict") == NO_SIGNAL
                verdict = tested_verdict(bool(tested.loc[task, "accuracy_half_holds"]), tested.loc[task, "p_holm"], no_signal)
            else:
                verdict = exploratory_verdict(row["ci_low"], row["ci_high"])
            rows.append({"task": task, "metric": metric, "gain": row["gain"], "ci_low": row["ci_low"],
                         "ci_high": row["ci_high"], "verdict": verdict})
    return pd.DataFrame(rows, columns=["task", "metric", "gain", "ci_low", "ci_high", "verdict"])


def energy_verdict(reduction: float, ceiling: float, quoted: float = paper.ENERGY_REDUCTION) -> str:
    """Whether the measured all-tasks reduction reaches the paper's, and whether layer
    sharing could reach it at all (``ceiling``: the most that sharing gives here)."""
    if reduction >= quoted:
        return "yes"
    if quoted > ceiling:
        return f"no, and cannot under this accounting: sharing layers gives at most {ceiling:.2f}x here"
    return "no"


def joined(words, conjunction: str = "and") -> str:
    """a; a and b; a, b and c."""
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
                9: "nine", 10: "ten"}


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


def no_signal_clause(silent) -> str:
    """'glasses shows no signal at this N (...)', 'glasses and pose show ...'."""
    verb = "shows" if len(silent) == 1 else "show"
    return f"{joined(silent)} {verb} {NO_SIGNAL} (no transfer and the CAE both at chance)"


def answer_sentence(claim_table: pd.DataFrame, dataset: str) -> str:
    """The study's answer in one plain sentence, from the claim test's table (columns task,
    n_train, depth, metric, accuracy_half_holds, energy_reduction, energy_half_holds,
    holds; n_tasks where known, else one per row; verdict where known): for which tasks
    the whole claim holds, which show no signal at this N, then why, half by half. Reads
    right for one, two or more tasks."""
    data = DATASETS[dataset].label if dataset in DATASETS else dataset
    if claim_table.empty:
        return f"On {data} the pre-declared claim was not tested: the study has no CAE block at the claim's setting."
    first = claim_table.iloc[0]
    tested = list(claim_table["task"])
    holding = [task for task, holds in zip(tested, claim_table["holds"]) if bool(holds)]
    passing = [task for task, half in zip(tested, claim_table["accuracy_half_holds"]) if bool(half)]
    silent = [task for task in silent_tasks(claim_table) if task not in holding]
    failing = [task for task in tested if task not in holding and task not in silent]
    metric = str(first["metric"]).replace("_", " ")
    accuracy = f"the CAE's frozen layers up to {first['depth']} {beaten_for(passing, tested, metric)}"
    n_tasks = int(first["n_tasks"]) if "n_tasks" in claim_table and int(first["n_tasks"]) > 0 else len(tested)
    reduction = float(first["energy_reduction"])
    if math.isnan(reduction):
        energy = f"the {tasks_inference(n_tasks)} energy was not measured"
    else:
        enough = "enough" if bool(first["energy_half_holds"]) else "not enough"
        energy = f"sharing them cuts the {tasks_inference(n_tasks)} energy {reduction:.2f}x ({enough} for the energy half)"
    if holding or failing:
        status = f"the claim {holders(holding, failing)}" + (f", and {no_signal_clause(silent)}" if silent else "")
    else:
        status = no_signal_clause(silent)
    return f"On {data} at N = {int(first['n_train'])} {status}: {accuracy} (Holm-corrected), and {energy}."


def count_words(values) -> str:
    """A count shared by every row in words ('three'), or its range where rows differ ('3 to 4')."""
    values = [int(v) for v in values]
    low, high = min(values), max(values)
    return number_word(low) if low == high else f"{low} to {high}"


def unit_sentence(claim_table: pd.DataFrame) -> str:
    """Which unit the pre-declared test used and how many, and whether it covers the
    pretraining's randomness (empty for a table without the columns unit, n_units, n_pairs)."""
    if claim_table.empty or not {"unit", "n_units", "n_pairs"} <= set(claim_table):
        return ""
    units, pairs = count_words(claim_table["n_units"]), count_words(claim_table["n_pairs"])
    if set(claim_table["unit"]) == {FINETUNING_SEED}:
        return (f"Every fine-tuning seed transfers from one and the same pretraining seed, so this test cannot cover "
                f"the pretraining's randomness: it runs across the {units} fine-tuning seeds, and says whether this "
                "one pretrained CAE helps, not whether another pretraining would.")
    if list(claim_table["n_units"]) == list(claim_table["n_pairs"]):
        return (f"The test's unit is the seed: each of the {units} fine-tuning seeds transfers from a CAE of its own "
                "pretraining seed, so the interval covers the pretraining's randomness.")
    return (f"The test's unit is the pretraining seed: each task's gains, paired by fine-tuning seed ({pairs} seeds), "
            f"are averaged within each of the {units} pretraining seeds, and the t-test and interval run across "
            f"those {units} means, so they cover the pretraining's randomness.")


def checkpoint_finding(changes: pd.DataFrame) -> str:
    """Whether the claim's gain changes sign, and the test's decision, with the epoch count
    (``analysis.checkpoint_changes``), in one sentence."""
    sign = [task for task, changed in zip(changes["task"], changes["sign_changes"]) if changed]
    decision = [task for task, changed in zip(changes["task"], changes["decision_changes"]) if changed]
    if not sign and not decision:
        return "Neither the gain's sign nor the test's decision changes with the epoch count, for any task."
    parts = []
    if sign:
        parts.append(f"the gain's sign changes with the epoch count for {joined(sign)}")
    if decision:
        parts.append(f"the test's decision changes with it for {joined(decision)}")
    depends = "the verdict" if decision else "the direction of the gain"
    sentence = ", and ".join(parts)
    return f"{sentence[0].upper()}{sentence[1:]}: {depends} depends on the training budget."


def yes_no(value) -> bool | None:
    """A table's boolean cell read back from a CSV (True, 'true', 1); None where unknown."""
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in ("true", "1", "yes") else False if word in ("false", "0", "no") else None
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else bool(value)


def pretraining_cap_sentence(sources: pd.DataFrame) -> str:
    """One sentence on the source networks (results/pretrain/sources.csv: network, seed,
    stopped_early, max_epochs) whose pretraining ran to its epoch cap instead of stopping
    early; empty where the table does not record it."""
    if "stopped_early" not in sources or sources.empty:
        return ""
    stopped = sources["stopped_early"].map(yes_no)
    capped = sources[stopped == False]  # noqa: E712 (unknown stays out)
    if capped.empty:
        return "Every source network's pretraining stopped early, before its epoch cap." if stopped.notna().all() else ""
    named = []
    for network, rows in capped.groupby("network", sort=False):
        seeds = [str(int(seed)) for seed in rows["seed"]]
        where = f"{'seed' if len(seeds) == 1 else 'seeds'} {joined(seeds)}"
        if "max_epochs" in rows and rows["max_epochs"].notna().all():
            where += f", at {joined([str(int(e)) for e in dict.fromkeys(rows['max_epochs'])], 'or')} epochs"
        named.append(f"{network} ({where})")
    return (f"Pretraining ran to its epoch cap instead of stopping early for {joined(named)}: its validation loss was "
            "still improving when the cap stopped it, so longer pretraining could change what these networks transfer.")


def precision_finding(precision_table: pd.DataFrame, energy_bits: int = ENERGY_WORD_BITS) -> str:
    """Whether the pre-declared test's verdict, task by task, is the same on the int8 scores
    as on the float32 ones (``analysis.precision_claim``), in plain words; ``energy_bits``:
    the word width the energy was priced at (``energy.precision_bits``)."""
    if precision_table.empty or set(precision_table["precision"]) != {"float32", "int8"}:
        return "The claim's test could not be repeated on int8 scores: the study has no CAE block at the claim's setting."
    verdicts = precision_table.pivot_table(index="task", columns="precision", values="verdict", aggfunc="first")
    verdicts = verdicts.loc[list(dict.fromkeys(precision_table["task"]))]  # the claim test's task order
    at = ("at int8, the precision the energy assumes (8-bit words)" if energy_bits == 8 else
          f"at int8 (the energy here is priced at {energy_bits}-bit words, energy.precision_bits, not at int8's 8)")
    changed = verdicts[verdicts["float32"] != verdicts["int8"]]
    holding = [task for task, verdict in verdicts["int8"].items() if verdict == "yes"]
    if changed.empty:
        where = f"holds for {joined(holding)} at both precisions" if holding else "holds for no task at either precision"
        return (f"The verdict is the same {at}: task by task the pre-declared test decides as on the float32 scores "
                f"(its accuracy half {where}).")
    moves = [f"{task} ({row['float32']} at float32, {row['int8']} at int8)" for task, row in changed.iterrows()]
    return f"The verdict changes {at}: the pre-declared test decides otherwise for {joined(moves)}."
