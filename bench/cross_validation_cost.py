"""What ``finetune.epoch_choice: cross_validated`` costs against ``from_labels``, measured.

    .venv/bin/python bench/cross_validation_cost.py --results results [--config config.yaml] [--task gender]

reads the faces, roles, subsets and the CAE's conv4+fc1 features (pretraining seed 0) of
a finished run of the config (``--results``), trains the task's ``none`` block and its
``cae`` conv4+fc1 block with ``from_labels``, then ``cross_validated`` with 5 and with 3
folds, on the CPU with one thread, and prints each training's seconds with the mean test
balanced accuracy and epochs per N (exploratory: three seeds of one block).
"""

import argparse
import dataclasses
import time
from pathlib import Path

import pandas as pd
import torch

from workflow_scripts.atomic import read_torch
from workflow_scripts.data.faces import load_face_set
from workflow_scripts.finetune.blocks import Block, FinetuneDesign, LabelledFaces, run_block
from workflow_scripts.study.config import load_config_file
from workflow_scripts.study.scenarios import CAE, NONE

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--task", default="gender")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = args.results / "data"
    config = load_config_file(args.config)
    faces = load_face_set(data / "faces.pt", data / "faces.csv")
    labelled = LabelledFaces(faces.table, pd.read_csv(data / "roles.csv"), pd.read_csv(data / "subsets.csv"))
    features = {0: read_torch(args.results / "features" / "cae" / "seed0" / "conv4+fc1.pt")}
    base = FinetuneDesign.from_config(config, dict.fromkeys(config["finetune"]["seeds"], 0))
    for scenario, depth, block_features in ((NONE, NONE, None), (CAE, "conv4+fc1", features)):
        for validation, folds in (("from_labels", base.protocol.folds), ("cross_validated", 5), ("cross_validated", 3)):
            design = dataclasses.replace(base, protocol=dataclasses.replace(base.protocol, epoch_choice=validation, folds=folds))
            started = time.perf_counter()
            metrics, *_ = run_block(Block(args.task, scenario, scenario if block_features else NONE, depth), design,
                                      labelled, torch.device("cpu"), images=faces.images, features=block_features)
            seconds = time.perf_counter() - started
            per_n = metrics.groupby("n_train").agg(ba=("balanced_accuracy", "mean"), epochs=("epochs_run", "mean"))
            folds_text = f" k={folds}" if validation == "cross_validated" else ""
            print(f"{args.task} {scenario} {depth} {validation}{folds_text}: {seconds:.1f} s;",
                  " ".join(f"N={n}: ba {r.ba:.3f}, {r.epochs:.1f} ep" for n, r in per_n.iterrows()), flush=True)


if __name__ == "__main__":
    main()
