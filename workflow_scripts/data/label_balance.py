"""What the prepared data looks like: label balance per role (pool, validation, test)."""

import pandas as pd



def label_balance(table: pd.DataFrame, roles: pd.DataFrame, classes: dict) -> pd.DataFrame:
    """Tidy table: role, task, class, count, fraction (within the role); ``classes``: each
    task of the dataset -> its class names."""
    merged = table.join(roles.set_index("face")["role"])
    rows = []
    for role, group in merged.groupby("role", sort=False):
        for task, names in classes.items():
            counts = group[task].value_counts()
            for index, name in enumerate(names):
                count = int(counts.get(index, 0))
                rows.append({"role": role, "task": task, "class": name, "count": count, "fraction": count / len(group)})
    return pd.DataFrame(rows)
