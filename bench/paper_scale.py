"""What the paper-scale study (workflow_scripts/config/mtfl_paper.yaml) costs, measured.

    .venv/bin/python bench/paper_scale.py [--config FILE] [--archive PATH] blocks [--device auto] [--epochs 2]
    .venv/bin/python bench/paper_scale.py [--config FILE] [--archive PATH] slice [--task gender] [--scenario cae] [--cores all] [-- SNAKEMAKE ARGS]

``blocks`` times three blocks of the paper config the ways ``bench/training_speed.py``
does (the pipeline's grouping, the plain loop one model at a time, the stacked trainer
one at a time and a whole-block stack): one from images (scenario none) and two on
cached features (cae at conv1 and at conv4+fc1), every member (7 sizes x 5 seeds) for a
fixed number of epochs. It then extrapolates the whole grid: every block of the config,
with epochs per training from ``--epochs-per-training`` (a measured mean, e.g. from a
run's metrics.csv) or, by default, ``patience + 1`` (the fewest early stopping allows).

``slice`` runs one (task, scenario) slice of the paper study through ``snakemake`` in a
fresh folder (data, the slice's pretraining and features, its blocks) and prints the
wall time. Faces come from MTFL when the archive is found (``--archive``, default the
config's ``mtfl.path``), else from the synthetic generator at the config's size.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

from training_speed import load_faces, measure, print_table
from workflow_scripts.nn.training import choose_device
from workflow_scripts.study import scenarios
from workflow_scripts.study.config import load_config_file
from workflow_scripts.study.grid import finetune_blocks
from workflow_scripts.study.scenarios import CAE, NONE

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "workflow_scripts" / "config" / "mtfl_paper.yaml"
TASK = "gender"


def blocks(args):
    config = load_config_file(args.config)
    device = choose_device(args.device)
    faces, source = load_faces(config, args.archive)
    finetune = config["finetune"]
    n_members = len(finetune["train_sizes"]) * len(finetune["seeds"])
    print(f"{source}; device {device}; {n_members} members per block (sizes {finetune['train_sizes']}, seeds "
          f"{finetune['seeds']}); {args.epochs} epochs each; task {TASK}")
    rows = measure(config, faces, TASK, args.epochs, device, [(NONE, NONE), (CAE, "conv1"), (CAE, "conv4+fc1")])
    print_table(rows, args.epochs)
    per_member_epoch = {row["block"]: row["pipeline"] / (row["members"] * args.epochs) for row in rows}

    # the whole grid: blocks from images (none, *_tuned) cost like "none"; frozen blocks
    # like their depth (conv1 the dearest, conv<K>+fc1 the cheapest: bounds in between)
    grid = finetune_blocks(config)
    epochs = args.epochs_per_training or (finetune["training"]["patience"] + 1)
    from_images = sum(not scenarios.is_frozen(b["scenario"]) for b in grid)
    frozen = len(grid) - from_images
    low = (from_images * per_member_epoch["none none"] + frozen * per_member_epoch["cae conv4+fc1"]) * n_members * epochs
    high = (from_images * per_member_epoch["none none"] + frozen * per_member_epoch["cae conv1"]) * n_members * epochs
    print(f"\nwhole grid: {len(grid)} blocks ({from_images} from images, {frozen} on features) x {n_members} members x "
          f"{epochs:g} epochs per training ({'given' if args.epochs_per_training else 'patience + 1, the fewest possible'}):"
          f" {low / 3600:.2f} to {high / 3600:.2f} h of fine-tuning on this device, one job at a time"
          " (pretraining and ZigZag not included)")


def with_archive(extra: list[str], archive) -> list[str]:
    """Snakemake's extra arguments with mtfl.path set to ``archive``: one --config (a second
    would replace the first), and the targets kept out of its values by going first."""
    if archive is None:
        return list(extra)
    item = f"mtfl={{path: {Path(archive).resolve()}}}"
    if "--config" not in extra:
        return [*extra, "--config", item]
    at = extra.index("--config") + 1
    return [*extra[:at], item, *extra[at:]]


def run_slice(args, extra):
    config = load_config_file(args.config)
    chosen = [b for b in finetune_blocks(config) if b["task"] == args.task and b["scenario"] == args.scenario]
    targets = [f"results/finetune/{b['task']}/{b['scenario']}/{b['source']}/{b['depth']}/metrics.csv" for b in chosen]
    work = ROOT / "build" / f"slice_{args.task}_{args.scenario}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    command = [sys.executable, "-m", "snakemake", *targets, "--snakefile", str(ROOT / "Snakefile"), "--directory",
               str(work), "--configfile", str(args.config), "--cores", str(args.cores), *with_archive(extra, args.archive)]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    print(f"slice {args.task}/{args.scenario}: {len(chosen)} blocks, {len(chosen) * len(config['finetune']['train_sizes']) * len(config['finetune']['seeds'])}"
          f" trainings, with its data, pretraining and features: {wall:.0f} s wall")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--archive", type=Path, help="the MTFL archive (default: the config's mtfl.path)")
    commands = parser.add_subparsers(dest="command", required=True)
    timed = commands.add_parser("blocks")
    timed.add_argument("--device", default="auto")
    timed.add_argument("--epochs", type=int, default=2)
    timed.add_argument("--epochs-per-training", type=float)
    timed.add_argument("--threads", type=int, default=1, help="torch CPU threads (a finetune job gets 1)")
    sliced = commands.add_parser("slice")
    sliced.add_argument("--task", default=TASK)
    sliced.add_argument("--scenario", default=CAE)
    sliced.add_argument("--cores", default="all")
    args, extra = parser.parse_known_args()
    if args.command == "blocks":
        torch.set_num_threads(args.threads)
        blocks(args)
    else:
        run_slice(args, [e for e in extra if e != "--"])


if __name__ == "__main__":
    main()
