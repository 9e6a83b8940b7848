"""``results/summary.md``: the study's answer for a reader without a browser."""

import math

import pandas as pd

from .analysis import deepest_depth
from .atomic import atomic_path


def markdown_table(table: pd.DataFrame, digits: int = 3) -> str:
    def cell(value):
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def claim_verdicts(headline: pd.DataFrame, hardware: str) -> pd.DataFrame:
    """Per task at the smallest N: does the CAE at the deepest depth gain balanced accuracy
    with a 95 % CI above zero, and save energy? (the paper's claim)"""
    if headline.empty or "cae_balanced_accuracy_gain" not in headline:
        return pd.DataFrame()
    smallest = headline[headline["n_train"] == headline["n_train"].min()]
    rows = []
    for row in smallest.itertuples(index=False):
        low = row.cae_balanced_accuracy_ci_low
        reduction = getattr(row, f"cae_energy_reduction_{hardware}", float("nan"))
        rows.append({
            "task": row.task, "N": row.n_train, "CAE depth": row.cae_depth,
            "balanced-accuracy gain": row.cae_balanced_accuracy_gain, "CI low": low,
            f"energy reduction ({hardware})": reduction,
            "claim holds": bool(low > 0 and reduction > 1),
        })
    return pd.DataFrame(rows)


def write_summary(path, *, headline, summary, inference, sources, config_hash, data_source):
    hardware = sorted(inference["hardware"].unique())
    lines = [
        "# Study summary",
        "",
        f"Data: {data_source}. Config hash: `{config_hash}`. Metrics are test-set means over seeds;",
        "gains are paired by seed against no transfer, with 95 % t-intervals and paired t-test p-values.",
        "",
        "## The claim: CAE transfer of all conv layers + fc1 with few labels",
        "",
    ]
    verdicts = claim_verdicts(headline, hardware[0]) if hardware else pd.DataFrame()
    lines += [markdown_table(verdicts) if len(verdicts) else "(no cae scenario in this study)", ""]
    lines += ["## Headline: gains over no transfer and four-task inference energy reduction", ""]
    lines += [markdown_table(headline) if len(headline) else "(no transfer scenario in this study)", ""]
    bacc = summary[summary["metric"] == "balanced_accuracy"]
    if len(bacc):
        depths = [d for d in bacc["depth"].unique() if d != "none"]
        deep = deepest_depth(depths) if depths else None
        focus = bacc[(bacc["scenario"] == "none") | (bacc["depth"] == deep)]
        table = focus.pivot_table(index=["task", "n_train"], columns=["scenario", "source"], values="mean")
        table.columns = [f"{s} ({src})" if s.startswith("cnn") else s for s, src in table.columns]
        lines += [f"## Balanced accuracy: no transfer and depth {deep}", "", markdown_table(table.reset_index()), ""]
    energy = inference[["hardware", "scenario", "depth", "energy_pj", "latency_cycles", "reduction_vs_none"]]
    energy = energy[energy["scenario"].isin(["none", "cae"])]
    lines += ["## Energy of one four-task inference (ZigZag)", "", markdown_table(energy, digits=2), ""]
    lines += ["## Source networks", "", markdown_table(sources, digits=4), ""]
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines))
