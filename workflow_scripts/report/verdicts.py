"""Whether the paper's claims hold in this run, in words: per task and metric of the
claim's setting, for the energy, and the answer. Pure functions of the analysis tables
(``claim.claim_test``, ``statistics.paired_gains``); the pages that show them are
``summary_page`` and ``front_page``.

Only the claim's metric is tested, per task and baseline of the pre-declared family
(Holm-corrected together), and each comparison is decided better, equivalent, worse or
inconclusive (``claim.decide``); every other verdict is labelled exploratory and says
where its 95 % interval lies. A comparison whose classifiers both sit at chance at the
claim's N is "no signal at this N".
"""

import math

import pandas as pd

from workflow_scripts.report.claim import BETTER, EQUIVALENT, INCONCLUSIVE, NO_SIGNAL, WORSE, claim_gains, paper_rows
from workflow_scripts.report.statistics import FINETUNING_SEED, GAIN_METRICS
from workflow_scripts.study import paper, scenarios
from workflow_scripts.study.datasets import DATASETS
from workflow_scripts.study.grid import ENERGY_WORD_BITS


ONE_SEED = "no test: one seed cannot be tested (a t-test needs two or more)"
NO_SPREAD = "no test: the gain is the same for every seed, so it has no spread to test"


def holm_words(p_holm: float, n_units=None) -> str:
    """'Holm p = 0.0328', or in words why there is no p-value: one seed (``n_units`` below
    two), or gains without spread."""
    if not (p_holm is None or (isinstance(p_holm, float) and math.isnan(p_holm))):
        return f"Holm p = {float(p_holm):.3g}"
    return ONE_SEED if n_units is not None and not pd.isna(n_units) and int(n_units) < 2 else NO_SPREAD


def tested_verdict(verdict: str, p_holm: float, n_units=None) -> str:
    """The pre-declared family's verdict on one comparison (better, equivalent, worse,
    inconclusive or no signal at this N) with Holm's p, or why there is none."""
    return f"{verdict} ({holm_words(p_holm, n_units)})"


def silent_tasks(claim_table: pd.DataFrame) -> list[str]:
    """The tasks the claim test's ``verdict`` column calls no signal at this N against no
    transfer (none for a table without it, e.g. one read back from a summary published
    before it had one)."""
    table = paper_rows(claim_table)
    if "verdict" not in table:
        return []
    return [task for task, verdict in zip(table["task"], table["verdict"]) if verdict == NO_SIGNAL]


def exploratory_verdict(ci_low: float, ci_high: float) -> str:
    """Where an untested gain's 95 % interval lies."""
    if math.isnan(ci_low):
        return "exploratory: no CI"
    side = "above 0" if ci_low > 0 else "below 0" if ci_high < 0 else "includes 0"
    return f"exploratory: 95 % CI {side}"


def accuracy_verdicts(claim_table: pd.DataFrame, gains: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """Per task (in the study's order) and gain metric of the claim's setting: gain,
    ci_low, ci_high and verdict, the tested verdict for the claim's metric where the
    claim test has the task (against no transfer), else the exploratory one."""
    measured = claim_gains(gains, claim)
    tested = paper_rows(claim_table).set_index("task") if len(claim_table) else pd.DataFrame()
    rows = []
    for task in [t for t in claim["classes"] if t in set(measured["task"])]:
        for metric in GAIN_METRICS:
            found = measured[(measured["task"] == task) & (measured["metric"] == metric)]
            if found.empty:
                continue
            row = found.iloc[0]
            if metric == claim["metric"] and task in tested.index:
                found = tested.loc[task]
                verdict = tested_verdict(found["verdict"], found["p_holm"], found.get("n_units"))
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


def dataset_label(dataset: str) -> str:
    """How the summary calls a dataset: its registry entry's label (MTFL, synthetic faces, ...)."""
    return DATASETS[dataset].label if dataset in DATASETS else dataset


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


def energy_clause(claim_table: pd.DataFrame, n_tested: int) -> str:
    """The energy half in words, from the claim table's first row: 'sharing them cuts the
    four-task inference energy 3.54x (enough for the energy half)', or that it was not
    measured. The tasks are the row's ``n_tasks`` where known, else ``n_tested``."""
    first = claim_table.iloc[0]
    n_tasks = int(first["n_tasks"]) if "n_tasks" in claim_table and int(first["n_tasks"]) > 0 else n_tested
    reduction = float(first["energy_reduction"])
    if math.isnan(reduction):
        return f"the {tasks_inference(n_tasks)} energy was not measured"
    enough = "enough" if bool(first["energy_half_holds"]) else "not enough"
    return f"sharing them cuts the {tasks_inference(n_tasks)} energy {reduction:.2f}x ({enough} for the energy half)"


def yes_no_answer(claim_table: pd.DataFrame, dataset: str) -> str:
    """The answer as summaries published before the decision rule gave it (one test per
    task against no transfer, yes or no), from their claim table (columns task,
    n_train, depth, metric, accuracy_half_holds, energy_reduction, energy_half_holds,
    holds; n_tasks where known, else one per row; verdict where known): for which tasks
    the whole claim holds, which show no signal at this N, then why, half by half. Reads
    right for one, two or more tasks."""
    data = dataset_label(dataset)
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
    energy = energy_clause(claim_table, len(tested))
    if holding or failing:
        status = f"the claim {holders(holding, failing)}" + (f", and {no_signal_clause(silent)}" if silent else "")
    else:
        status = no_signal_clause(silent)
    return f"On {data} at N = {int(first['n_train'])} {status}: {accuracy} (Holm-corrected), and {energy}."


def arm_words(name: str) -> str:
    """How a sentence names an arm of the claim's family: the scenario table's ``words``
    ('no transfer', 'the CAE', 'the frozen random trunk'), else its label, else the name."""
    entry = scenarios.BY_NAME.get(name)
    return (entry.words or entry.label) if entry else name


def baseline_words(against: str) -> str:
    """How a sentence names a baseline: ``arm_words`` with an indefinite article ('no
    transfer', 'a frozen random trunk')."""
    words = arm_words(against)
    if not words.startswith("the "):
        return words
    noun = words.removeprefix("the ")
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def decision_clause(rows: pd.DataFrame, margin_points: float) -> str:
    """One baseline's decisions task by task, grouped: 'better for smile, equivalent (within
    +-2 points) for pose and inconclusive for gender and glasses'."""
    words = {BETTER: "better", EQUIVALENT: f"equivalent (within ±{margin_points:g} points)", WORSE: "worse",
             INCONCLUSIVE: "inconclusive", NO_SIGNAL: f"at chance like it ({NO_SIGNAL})"}
    parts = []
    for verdict, said in words.items():
        tasks = [task for task, found in zip(rows["task"], rows["verdict"]) if found == verdict]
        if tasks:
            parts.append(f"{said} for {joined(tasks)}")
    return joined(parts)


def answer_sentence(claim_table: pd.DataFrame, dataset: str, against=None) -> str:
    """The study's answer in plain words, from the claim test's table: for which tasks the
    paper's claim (the CAE better than no transfer, and the energy half) holds and which
    show no signal at this N; then the family's decisions, baseline by baseline; then the
    energy. ``against``: the baselines analysis.claim.against lists, so that one the run
    lacks is said to be left out. A table without the ``decision`` column (a summary
    published before the decision rule) reads as it did then (``yes_no_answer``)."""
    if "decision" not in claim_table:
        return yes_no_answer(claim_table, dataset)
    data = dataset_label(dataset)
    first = claim_table.iloc[0]
    paper = paper_rows(claim_table)
    tested = list(paper["task"])
    holding = [task for task, holds in zip(tested, paper["holds"]) if bool(holds)]
    silent = [task for task in silent_tasks(claim_table) if task not in holding]
    failing = [task for task in tested if task not in holding and task not in silent]
    if holding or failing:
        status = f"the claim {holders(holding, failing)}" + (f", and {no_signal_clause(silent)}" if silent else "")
    elif silent:
        status = no_signal_clause(silent)
    else:
        status = "the claim was not tested: the family has no comparison with no transfer"
    margin = 100 * float(first["margin"])
    baselines = list(dict.fromkeys(claim_table["against"]))
    clauses = [f"against {baseline_words(name)}, "
               + decision_clause(claim_table[claim_table["against"] == name], margin) for name in baselines]
    missing = [baseline_words(name) for name in (against or []) if name not in baselines]
    metric = str(first["metric"]).replace("_", " ")
    decisions = (f"In {metric} (Holm-corrected over the {number_word(len(claim_table))} comparisons), the CAE's "
                 f"frozen layers up to {first['depth']} are, {'; '.join(clauses)}")
    if missing:
        decisions += (f"; {joined(missing)} {'was' if len(missing) == 1 else 'were'} not compared (this run has "
                      "none, so the family leaves it out)")
    energy = energy_clause(claim_table, len(set(claim_table["task"])))
    return f"On {data} at N = {int(first['n_train'])} {status}. {decisions}. {energy[:1].upper()}{energy[1:]}."


def dataset_caveat(dataset: str) -> str:
    """For any faces but MTFL's: a line that they are no evidence about the paper (empty for MTFL)."""
    if dataset == "mtfl":
        return ""
    if dataset == "synthetic":
        return ("Synthetic faces are no evidence about the paper: this run checks the pipeline, and whatever it finds "
                "holds for the rendered faces only; the paper's claims are about real faces (data.dataset: mtfl).")
    return (f"These faces ({dataset_label(dataset)}) are not the paper's: what this run finds holds for "
            "them, and is no evidence for or against the paper's claims, which are about MTFL.")


def control_finding(controls: pd.DataFrame) -> str:
    """Which arms' heads learn at the claim's N (``claim.control_levels``: the test
    interval above chance), and where the random trunk stays at chance while no transfer
    learns (there it is no fair control), in words."""
    parts = []
    for arm in dict.fromkeys(controls["arm"]):
        rows = controls[controls["arm"] == arm]
        above = [task for task, found in zip(rows["task"], rows["test_above_chance"]) if bool(found)]
        parts.append(f"{arm_words(arm)} for {joined(above) if above else 'no task'}")
    text = f"Above chance on the test faces (95 % interval above 1/k): {'; '.join(parts)}."
    learning = controls.pivot_table(index="task", columns="arm", values="test_above_chance", aggfunc="first")
    if {"none", "random"} <= set(learning.columns):
        weak = [task for task in dict.fromkeys(controls["task"])
                if bool(learning.loc[task, "none"]) and not bool(learning.loc[task, "random"])]
        if weak:
            text += (f" The frozen random trunk's head stays at chance where no transfer's learns for {joined(weak)}: "
                     "there it is no fair control, and the CAE against it says little.")
        else:
            text += " Wherever no transfer's head learns, the frozen random trunk's does too."
    return text


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
    (``sensitivity.checkpoint_changes``), in one sentence."""
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
    """Whether the pre-declared family's verdicts, comparison by comparison, are the same on
    the int8 scores as on the float32 ones (``sensitivity.precision_claim``), in plain words;
    ``energy_bits``: the word width the energy was priced at (``energy.precision_bits``)."""
    if precision_table.empty or set(precision_table["precision"]) != {"float32", "int8"}:
        return "The claim's test could not be repeated on int8 scores: the study has no CAE block at the claim's setting."
    table = precision_table if "against" in precision_table else precision_table.assign(against="none")
    verdicts = table.pivot_table(index=["against", "task"], columns="precision", values="verdict", aggfunc="first")
    order = list(dict.fromkeys(table["against"]))
    tasks = dict.fromkeys(table["task"])  # the claim test's task order
    verdicts = verdicts.loc[[(a, t) for a in order for t in tasks if (a, t) in verdicts.index]]
    at = ("at int8, the precision the energy assumes (8-bit words)" if energy_bits == 8 else
          f"at int8 (the energy here is priced at {energy_bits}-bit words, energy.precision_bits, not at int8's 8)")
    changed = verdicts[verdicts["float32"] != verdicts["int8"]]
    holding = [task for (against, task), verdict in verdicts["int8"].items()
               if against == "none" and verdict in ("yes", BETTER)]
    if changed.empty:
        where = f"holds for {joined(holding)} at both precisions" if holding else "holds for no task at either precision"
        return (f"The verdict is the same {at}: task by task the pre-declared test decides as on the float32 scores "
                f"(its accuracy half {where}).")
    several = len(order) > 1
    moves = [f"{task}{f' against {baseline_words(against)}' if several else ''} ({row['float32']} at float32, "
             f"{row['int8']} at int8)" for (against, task), row in changed.iterrows()]
    return f"The verdict changes {at}: the pre-declared test decides otherwise for {joined(moves)}."
