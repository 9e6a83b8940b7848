"""What the prepared data looks like: label balance per role (pool, validation, test)."""

import pandas as pd

from .tasks import CLASS_NAMES, TASKS


def label_balance(table: pd.DataFrame, roles: pd.DataFrame) -> pd.DataFrame:
    """Tidy table: role, task, class, count, fraction (within the role)."""
    merged = table.join(roles.set_index("face")["role"])
    rows = []
    for role, group in merged.groupby("role", sort=False):
        for task in TASKS:
            counts = group[task].value_counts()
            for index, name in enumerate(CLASS_NAMES[task]):
                count = int(counts.get(index, 0))
                rows.append({"role": role, "task": task, "class": name, "count": count, "fraction": count / len(group)})
    return pd.DataFrame(rows)
