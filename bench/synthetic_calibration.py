"""How hard the synthetic faces are, against real MTFL: the from-scratch (scenario none)
learning curve of each task, side by side.

    .venv/bin/python bench/synthetic_calibration.py [--reference docs/mtfl_quick/metrics.csv]
        [--config config.yaml] [--signal smile=1.5 pose=2 ...] [--sizes 200 1000] [--jobs 2]

renders the config's synthetic faces (``synthetic.signal`` overridden by ``--signal``),
trains the ``none`` block of every task at the given sizes with the config's seeds,
protocol and training settings, exactly as the pipeline does, and prints per task and N
the test balanced accuracy beside the reference's ``none`` rows (a metrics.csv of an
MTFL run at the same image size, e.g. the published quick study). Only ``none`` is
compared: the generator is calibrated on learning from scratch, never on transfer.
"""

import argparse
import dataclasses
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import torch

from workflow_scripts.data.splits import assign_roles, labelled_subsets
from workflow_scripts.data.synthetic import make_synthetic_faces
from workflow_scripts.finetune.blocks import Block, FinetuneDesign, LabelledFaces, run_block
from workflow_scripts.study.config import load_config_file
from workflow_scripts.study.scenarios import NONE

ROOT = Path(__file__).resolve().parents[1]


def none_curve(task, config, signal, sizes):
    """Mean test balanced accuracy of the none block of ``task`` per size."""
    torch.set_num_threads(1)
    data, synthetic, finetune = config["data"], config["synthetic"], config["finetune"]
    faces = make_synthetic_faces(synthetic["n_train"], synthetic["n_test"], data["image_size"], synthetic["seed"], signal)
    roles = assign_roles(faces.table, data["validation_fraction"], data["split_seed"])
    subsets = labelled_subsets(faces.table, roles, sizes, finetune["seeds"])
    design = dataclasses.replace(FinetuneDesign.from_config(config), train_sizes=tuple(sizes))
    metrics, *_ = run_block(Block(task, NONE, NONE, NONE), design, LabelledFaces(faces.table, roles, subsets),
                              torch.device("cpu"), images=faces.images)
    return metrics.groupby("n_train")["balanced_accuracy"].mean().rename(task)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=ROOT / "docs" / "mtfl_quick" / "metrics.csv")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--signal", nargs="*", default=[], help="task=value, over the config's synthetic.signal")
    parser.add_argument("--tasks", nargs="*")
    parser.add_argument("--sizes", nargs="*", type=int, default=[200, 1000])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    config = load_config_file(args.config)
    signal = dict(config["synthetic"]["signal"])
    signal.update({k: float(v) for k, v in (item.split("=") for item in args.signal)})
    tasks = args.tasks or config["finetune"]["tasks"]
    reference = pd.read_csv(args.reference)
    reference = reference[(reference["scenario"] == NONE) & reference["n_train"].isin(args.sizes)]
    real = reference.groupby(["task", "n_train"])["balanced_accuracy"].mean()
    with ProcessPoolExecutor(args.jobs) as pool:
        curves = list(pool.map(none_curve, tasks, [config] * len(tasks), [signal] * len(tasks), [args.sizes] * len(tasks)))
    print(f"signal {signal}; image size {config['data']['image_size']} px; seeds {config['finetune']['seeds']}; "
          f"reference {args.reference}")
    print(f"{'task':>8} {'N':>5} {'MTFL none':>10} {'synthetic none':>15} {'difference':>11}")
    for task, curve in zip(tasks, curves):
        for n, value in curve.items():
            print(f"{task:>8} {n:>5} {real.get((task, n), float('nan')):>10.3f} {value:>15.3f} {value - real.get((task, n), float('nan')):>+11.3f}")


if __name__ == "__main__":
    main()
