"""How far a float-level change moves a block's classifiers: the same block trained twice
from the same inputs, once with oneDNN's CPU convolutions and once without
(``torch.backends.mkldnn.enabled = False``), which sums in another order.

    .venv/bin/python bench/float_sensitivity.py [--config workflow_scripts/config/mtfl_quick.yaml]
        [--results build/mtfl_quick/results] [--task gender] [--train-sizes 50] [--seeds 0 1 2]
        [--set finetune.cv_criterion=pooled_error] [--kept DIR]

reads the faces, roles and subsets of a finished run (``--results``; e.g. the working
folder ``workflow_scripts/report/publish.py`` leaves in ``build/``; only ``results/data`` is
read), trains that task's ``none`` block both ways on the CPU with one thread and prints,
per member, the test balanced accuracy and the chosen (kept) epoch of each, then

- σ_f, the float-order noise of a member's test score: the SD of its two scores (|a - b| / √2),
  as the root mean square over members, in points of balanced accuracy; and the same at
  each fixed budget of ``analysis.checkpoints`` where the protocol scores them (the floor
  that no epoch choice can go under: the refit's own trajectory moves);
- the mean test score at the chosen counts beside the mean at each fixed budget.

``--train-sizes`` and ``--seeds`` narrow the block (the config's by default); ``--set``
overrides one ``finetune`` key (e.g. the epoch choice's criterion). ``--kept`` keeps each
run's metrics and checkpoint scores as CSV and reads them back on a later call, so the
two float orders can run as two calls (``--only onednn`` / ``--only without``). A run on
another machine (other CPU kernels) differs from this one in the same way.
"""

import argparse
import math
from pathlib import Path

import pandas as pd
import torch
import yaml

from workflow_scripts.data.faces import load_face_set
from workflow_scripts.finetune.blocks import Block, FinetuneDesign, LabelledFaces, run_block
from workflow_scripts.study.config import load_config_file
from workflow_scripts.study.scenarios import NONE

ROOT = Path(__file__).resolve().parents[1]
ORDERS = {"onednn": True, "without": False}


def train_none_block(config, data: Path, faces, task: str, onednn: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics, checkpoint scores) of the task's ``none`` block under one float order."""
    torch.backends.mkldnn.enabled = onednn
    labelled = LabelledFaces(faces.table, pd.read_csv(data / "roles.csv"), pd.read_csv(data / "subsets.csv"))
    metrics, _, _, checkpoints = run_block(Block(task, NONE, NONE, NONE), FinetuneDesign.from_config(config), labelled,
                                           torch.device("cpu"), images=faces.images)
    return metrics, checkpoints


def float_noise(a: pd.Series, b: pd.Series) -> float:
    """σ_f in points: the root mean square over members of the SD of each member's two scores."""
    return 100 * math.sqrt((((a - b) ** 2) / 2).mean())


def report(task: str, runs: dict) -> str:
    key = ["n_train", "seed"]
    (on_metrics, on_checkpoints), (off_metrics, off_checkpoints) = runs["onednn"], runs["without"]
    columns = ["balanced_accuracy", "best_epoch", "train_seconds"]
    table = on_metrics.set_index(key)[columns].add_suffix("_onednn").join(
        off_metrics.set_index(key)[columns].add_suffix("_without"), how="inner")  # the members run both ways
    moved = table["best_epoch_onednn"] != table["best_epoch_without"]
    lines = [f"{task} / none, {len(table)} members", table.to_string(float_format="%.4f"),
             f"chosen count moved for {moved.sum()} of {len(table)} members; "
             f"sigma_f = {float_noise(table['balanced_accuracy_onednn'], table['balanced_accuracy_without']):.2f} points "
             f"(test balanced accuracy; mean |difference| "
             f"{100 * (table['balanced_accuracy_onednn'] - table['balanced_accuracy_without']).abs().mean():.2f}, "
             f"largest {100 * (table['balanced_accuracy_onednn'] - table['balanced_accuracy_without']).abs().max():.2f})",
             f"mean test balanced accuracy at the chosen count: {100 * table['balanced_accuracy_onednn'].mean():.2f} "
             f"(oneDNN on), {100 * table['balanced_accuracy_without'].mean():.2f} (off); "
             f"chosen count: median {table['best_epoch_onednn'].median():g}, "
             f"range {table['best_epoch_onednn'].min()}-{table['best_epoch_onednn'].max()} (on); "
             f"training {table['train_seconds_onednn'].mean():.1f} s a member (on), "
             f"{table['train_seconds_without'].mean():.1f} s (off)"]
    if len(on_checkpoints):
        fixed = on_checkpoints.set_index([*key, "epochs"])["balanced_accuracy"].rename("on").to_frame().join(
            off_checkpoints.set_index([*key, "epochs"])["balanced_accuracy"].rename("off"), how="inner")
        for epochs, scores in fixed.groupby(level="epochs"):
            lines.append(f"fixed budget of {epochs} epochs: sigma_f = {float_noise(scores['on'], scores['off']):.2f} points, "
                         f"mean test balanced accuracy {100 * scores['on'].mean():.2f} (on), {100 * scores['off'].mean():.2f} (off)")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "workflow_scripts" / "config" / "mtfl_quick.yaml")
    parser.add_argument("--results", type=Path, default=ROOT / "build" / "mtfl_quick" / "results")
    parser.add_argument("--task", default="gender")
    parser.add_argument("--train-sizes", type=int, nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a finetune key, e.g. finetune.cv_criterion=pooled_loss (YAML value)")
    parser.add_argument("--kept", type=Path, help="keep each run's tables here and read them back")
    parser.add_argument("--only", choices=list(ORDERS), help="run one float order only (with --kept)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    missing = [name for name in ("faces.pt", "faces.csv", "roles.csv", "subsets.csv") if not (args.results / "data" / name).exists()]
    if missing:
        raise SystemExit(f"{args.results / 'data'}: no {', '.join(missing)}; run the study first (e.g. workflow_scripts/report/publish.py)")
    config = load_config_file(args.config)
    if args.train_sizes:
        config["finetune"]["train_sizes"] = args.train_sizes
    if args.seeds:
        config["finetune"]["seeds"] = args.seeds
    for setting in args.set:
        key, _, value = setting.partition("=")
        section, _, name = key.partition(".")
        if section != "finetune" or not name:
            raise SystemExit(f"--set {setting}: only finetune.KEY=VALUE")
        config["finetune"][name] = yaml.safe_load(value)
    data = args.results / "data"
    faces = None
    runs = {}
    for order, onednn in ORDERS.items():
        kept = None if args.kept is None else (args.kept / f"{args.task}_{order}_metrics.csv",
                                                args.kept / f"{args.task}_{order}_checkpoints.csv")
        if kept and kept[0].exists():
            runs[order] = tuple(pd.read_csv(path) for path in kept)
            continue
        if args.only and order != args.only:
            continue
        faces = faces or load_face_set(data / "faces.pt", data / "faces.csv")
        runs[order] = train_none_block(config, data, faces, args.task, onednn)
        if kept:
            args.kept.mkdir(parents=True, exist_ok=True)
            for table, path in zip(runs[order], kept):
                table.to_csv(path, index=False)
    if len(runs) == len(ORDERS):
        print(report(args.task, runs))


if __name__ == "__main__":
    main()
