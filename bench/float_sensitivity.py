"""How far a float-level change moves a block's classifiers: the same block trained twice
from the same inputs, once with oneDNN's CPU convolutions and once without
(``torch.backends.mkldnn.enabled = False``), which sums in another order.

    .venv/bin/python bench/float_sensitivity.py [--config workflow_scripts/config/mtfl_quick.yaml]
        [--results build/mtfl_quick/results] [--task gender]

reads the faces, roles and subsets of a finished run (``--results``; e.g. the working
folder ``workflow_scripts/publish.py`` leaves in ``build/``), trains that task's ``none``
block both ways on the CPU with one thread and prints, per member, the test balanced
accuracy and the stopping epoch of each, with the largest and mean difference. A run on
another machine (other CPU kernels) differs from this one in the same way.
"""

import argparse
from pathlib import Path

import pandas as pd
import torch

from workflow_scripts.faces import load_face_set
from workflow_scripts.finetuning import Block, FinetuneDesign, LabelledFaces, run_block
from workflow_scripts.study_config import load_config_file
from workflow_scripts.scenarios import NONE

ROOT = Path(__file__).resolve().parents[1]


def train_none_block(config, data: Path, faces, task: str, onednn: bool) -> pd.DataFrame:
    torch.backends.mkldnn.enabled = onednn
    labelled = LabelledFaces(faces.table, pd.read_csv(data / "roles.csv"), pd.read_csv(data / "subsets.csv"))
    metrics, *_ = run_block(Block(task, NONE, NONE, NONE), FinetuneDesign.from_config(config), labelled,
                              torch.device("cpu"), images=faces.images)
    return metrics.set_index(["n_train", "seed"])[["balanced_accuracy", "epochs_run"]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "workflow_scripts" / "config" / "mtfl_quick.yaml")
    parser.add_argument("--results", type=Path, default=ROOT / "build" / "mtfl_quick" / "results")
    parser.add_argument("--task", default="gender")
    args = parser.parse_args()
    torch.set_num_threads(1)
    missing = [name for name in ("faces.pt", "faces.csv", "roles.csv", "subsets.csv") if not (args.results / "data" / name).exists()]
    if missing:
        raise SystemExit(f"{args.results / 'data'}: no {', '.join(missing)}; run the study first (e.g. workflow_scripts/publish.py)")
    config = load_config_file(args.config)
    data = args.results / "data"
    faces = load_face_set(data / "faces.pt", data / "faces.csv")
    with_onednn = train_none_block(config, data, faces, args.task, onednn=True)
    without = train_none_block(config, data, faces, args.task, onednn=False)
    table = with_onednn.add_suffix("_onednn").join(without.add_suffix("_without"))
    print(f"{args.task} / none, {len(table)} members, faces of {args.results}\n{table.to_string(float_format='%.4f')}")
    difference = (table["balanced_accuracy_onednn"] - table["balanced_accuracy_without"]).abs()
    epochs = (table["epochs_run_onednn"] - table["epochs_run_without"]).abs()
    print(f"test balanced accuracy moved by {difference.mean():.4f} on average, {difference.max():.4f} at most; "
          f"stopping epoch by up to {epochs.max()} ({(epochs > 0).mean():.0%} of members)")


if __name__ == "__main__":
    main()
