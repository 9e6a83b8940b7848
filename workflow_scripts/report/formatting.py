"""How the pages write a number: fixed digits with no "-0.00" (a value that rounds to zero
loses its sign), points, percentages, p-values, intervals, energies in a readable unit, and
tables as Markdown or reStructuredText."""

import math

import pandas as pd

from workflow_scripts.report.verdicts import number_word

METRIC_WORDS = {"accuracy": "accuracy", "balanced_accuracy": "balanced-accuracy"}


def fixed(value: float, digits: int, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals (and a sign where ``sign``), never a negative zero:
    what rounds to zero reads 0.00, without sign."""
    text = f"{value:{'+' if sign else ''}.{digits}f}"
    return text.lstrip("+-") if float(text) == 0 else text


def markdown_table(table: pd.DataFrame, digits: int = 3) -> str:
    def cell(value):
        if isinstance(value, float):
            return "" if math.isnan(value) else fixed(value, digits)
        return str(value)

    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def rst_table(table: pd.DataFrame) -> str:
    """A reStructuredText list-table of string cells (for the report's first page)."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [list(table.columns), *table.astype(str).values.tolist()]:
        lines.append("   * - " + str(row[0]))
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines)


def energy_unit(values_pj) -> tuple[str, float]:
    """A readable unit for energies given in pJ: (name, pJ per unit), chosen so the
    largest value reads between 1 and 1000."""
    largest = max((abs(float(v)) for v in values_pj if not pd.isna(v)), default=0.0)
    for name, scale in (("J", 1e12), ("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3)):
        if largest >= scale:
            return name, scale
    return "pJ", 1.0


def n_tasks_of(table: pd.DataFrame) -> int:
    """The number of tasks one inference answers (the energy tables' n_tasks column)."""
    return int(table["n_tasks"].iloc[0]) if "n_tasks" in table and len(table) else 0


def every_task(count: int) -> str:
    """'the one task', 'both tasks', 'all four tasks'."""
    return "the one task" if count == 1 else "both tasks" if count == 2 else f"all {number_word(count)} tasks"


def points(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else fixed(100 * value, 2, sign=True)


def p_text(value) -> str:
    """An uncorrected p-value, or 'n/a' where there is none (one seed, no spread)."""
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.3g}"


def interval(mean, low, high) -> str:
    if math.isnan(mean):
        return "not measured"
    if math.isnan(low):
        return f"{points(mean)} (one seed: no CI)"
    return f"{points(mean)} [{points(low)}, {points(high)}]"


def percent(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{fixed(100 * value, 1)} %"


def levels(none, cae, chance, chance_name) -> str:
    """'59.5 % / 55.3 % / 50.0 % (1/2)': the two arms' mean score beside chance."""
    if pd.isna(none) and pd.isna(cae):
        return ""
    return f"{percent(none)} / {percent(cae)} / {percent(chance)} ({chance_name})"
