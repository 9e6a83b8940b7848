"""What the paper-scale study (workflow_scripts/config/mtfl_paper.yaml) costs, measured.

    .venv/bin/python bench/paper_scale.py blocks [--device auto] [--epochs 2] [--archive PATH]
    .venv/bin/python bench/paper_scale.py slice [--task gender] [--scenario cae] [--cores all] [-- SNAKEMAKE ARGS]

``blocks`` trains, for a fixed number of epochs (early stopping off, so both sides do
the same work), every member (7 sizes x 5 seeds) of three blocks of the paper config: one
from images (scenario none) and two on cached features (cae at conv1 and at conv4+fc1).
It times the pipeline's trainer (grouped as ``finetune.stack: auto`` groups them on
this device) and a plain PyTorch loop that trains one model at a time (the same network,
Adam, batch 32: what a user would write), prints seconds per member-epoch and their
ratio, and extrapolates the whole grid: every block of the config, with epochs per
training from ``--epochs-per-training`` (a measured mean, e.g. from a run's
metrics.csv) or, by default, ``patience + 1`` (the fewest early stopping allows).

``slice`` runs one (task, scenario) slice of the paper study through ``snakemake`` in a
fresh folder (data, the slice's pretraining and features, its blocks) and prints the
wall time. Faces come from MTFL when the archive is found, else from the synthetic
generator at the config's size.
"""

import argparse
import copy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

from workflow_scripts import scenarios
from workflow_scripts.finetuning import extract_features, stacking_groups, trains_convolutions
from workflow_scripts.metrics import balanced_class_weights
from workflow_scripts.networks import Architecture, build_classifier, build_trunk, network_input, prefix_length
from workflow_scripts.protocol import Protocol, early_stopping_mask
from workflow_scripts.splits import assign_roles, labelled_subsets, subset_faces
from workflow_scripts.study_config import load_config_file
from workflow_scripts.study_grid import finetune_blocks
from workflow_scripts.training import FitSettings, Members, choose_device, fit_stacked, weighted_cross_entropy

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "workflow_scripts" / "config" / "mtfl_paper.yaml"
ARCHIVE = ROOT.parent / "shared" / "datasets" / "MTFL.zip"
TASK = "gender"


def load_faces(config, archive):
    size = config["data"]["image_size"]
    if archive.exists():
        from workflow_scripts.mtfl import read_mtfl

        return read_mtfl(archive, size, config["mtfl"]["crop_margin"], threads=4)[0], f"MTFL ({archive})"
    from workflow_scripts.synthetic_faces import make_synthetic_faces

    return make_synthetic_faces(10000, 2995, size, 0), "synthetic (no MTFL archive found)"


def synchronise(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_loop(model, inputs, labels, fit_rows, stop_rows, settings, seed, device):
    """One model, the obvious way: shuffle, batch, Adam; score the early-stopping rows each epoch."""
    model = model.to(device)
    inputs, labels = inputs.to(device), labels.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    generator = torch.Generator().manual_seed(seed)
    weights = torch.tensor(balanced_class_weights(labels[fit_rows].cpu(), int(labels.max()) + 1), dtype=torch.float32, device=device)
    loss_of = torch.nn.CrossEntropyLoss(weight=weights)
    for _ in range(settings.max_epochs):
        for _ in range(settings.passes_per_epoch(len(fit_rows))):
            order = fit_rows[torch.randperm(len(fit_rows), generator=generator)].to(device)
            for start in range(0, len(order), settings.batch_size):
                rows = order[start:start + settings.batch_size]
                loss = loss_of(model(inputs[rows]), labels[rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        with torch.no_grad():
            (model(inputs[stop_rows.to(device)]).argmax(-1) == labels[stop_rows.to(device)]).float().mean().item()


def blocks(args):
    config = load_config_file(args.config)
    device = choose_device(args.device)
    faces, source = load_faces(config, args.archive)
    finetune = config["finetune"]
    architecture = Architecture.from_config(config["network"], config["data"]["image_size"])
    roles = assign_roles(faces.table, config["data"]["validation_fraction"], 0)
    subsets = labelled_subsets(faces.table, roles, finetune["train_sizes"], finetune["seeds"])
    protocol = Protocol.from_config(finetune)
    settings = FitSettings.from_config({**finetune["training"], "max_epochs": args.epochs, "patience": args.epochs + 1})
    labels = torch.tensor(faces.table[TASK].to_numpy())
    plan = [(n, seed) for n in finetune["train_sizes"] for seed in finetune["seeds"]]
    split = {}
    for n, seed in plan:
        labelled = subset_faces(subsets, seed, n)
        held_out = early_stopping_mask(labels[labelled].numpy(), protocol.validation_fraction_of_n)
        split[(n, seed)] = (torch.as_tensor(labelled[~held_out]), torch.as_tensor(labelled[held_out]))
    images = network_input(faces.images)
    torch.manual_seed(0)
    trunk = build_trunk(architecture)
    print(f"{source}; device {device}; {len(plan)} members per block (sizes {finetune['train_sizes']}, seeds "
          f"{finetune['seeds']}); {args.epochs} epochs each; task {TASK}")
    print(f"{'block':>22} {'pipeline runs':>14} {'pipeline s':>11} {'plain loop s':>13} {'speed-up':>9} {'pipeline s/member-epoch':>24}")
    per_member_epoch = {}
    for kind, depth in (("none", None), ("cae", "conv1"), ("cae", "conv4+fc1")):
        length = prefix_length(depth, architecture) if depth else 0
        inputs = images if not length else extract_features(trunk, length, faces.images, list(range(len(labels))), device)["features"]
        groups = stacking_groups(plan, "auto", device, trains_convolutions(kind, length, architecture))

        def modules():
            built = []
            for _, seed in plan:
                torch.manual_seed(seed)
                built.append(build_classifier(architecture, 2)[length:])
            return built

        def weights(rows):
            return torch.tensor(balanced_class_weights(labels[rows], 2), dtype=torch.float32)

        def members(group):
            return Members(inputs, labels, [split[m][0] for m in group], torch.stack([weights(split[m][0]) for m in group]),
                           [s for _, s in group], [split[m][1] for m in group], torch.stack([weights(split[m][1]) for m in group]))

        built = dict(zip(plan, modules()))
        started = time.perf_counter()
        for group in groups:  # as the pipeline groups them (finetune.stack: auto)
            fit_stacked([built[m] for m in group], members(group), weighted_cross_entropy, settings, device=device)
        synchronise(device)
        pipeline = time.perf_counter() - started
        plain = float("nan")
        if not args.skip_plain:
            started = time.perf_counter()
            for module, (n, seed) in zip(modules(), plan):
                plain_loop(copy.deepcopy(module), inputs, labels, split[(n, seed)][0], split[(n, seed)][1], settings, seed, device)
            synchronise(device)
            plain = time.perf_counter() - started
        name = "none" if not depth else f"{kind} {depth}"
        per_member_epoch[name] = pipeline / (len(plan) * args.epochs)
        stacking = "one at a time" if len(groups) == len(plan) else f"{len(plan) // len(groups)} stacked"
        print(f"{name:>22} {stacking:>14} {pipeline:>11.1f} {plain:>13.1f} {plain / pipeline:>8.2f}x {per_member_epoch[name]:>24.3f}")

    # the whole grid: blocks from images (none, *_tuned) cost like "none"; frozen blocks
    # like their depth (conv1 the dearest, conv<K>+fc1 the cheapest: bounds in between)
    grid = finetune_blocks(config)
    epochs = args.epochs_per_training or (finetune["training"]["patience"] + 1)
    from_images = sum(not scenarios.is_frozen(b["scenario"]) for b in grid)
    frozen = len(grid) - from_images
    low = (from_images * per_member_epoch["none"] + frozen * per_member_epoch["cae conv4+fc1"]) * len(plan) * epochs
    high = (from_images * per_member_epoch["none"] + frozen * per_member_epoch["cae conv1"]) * len(plan) * epochs
    print(f"\nwhole grid: {len(grid)} blocks ({from_images} from images, {frozen} on features) x {len(plan)} members x "
          f"{epochs:g} epochs per training ({'given' if args.epochs_per_training else 'patience + 1, the fewest possible'}):"
          f" {low / 3600:.2f} to {high / 3600:.2f} h of fine-tuning on this device, one job at a time"
          " (pretraining and ZigZag not included)")


def run_slice(args, extra):
    config = load_config_file(args.config)
    chosen = [b for b in finetune_blocks(config) if b["task"] == args.task and b["scenario"] == args.scenario]
    targets = [f"results/finetune/{b['task']}/{b['scenario']}/{b['source']}/{b['depth']}/metrics.csv" for b in chosen]
    work = ROOT / "build" / f"slice_{args.task}_{args.scenario}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
               "--configfile", str(args.config), "--cores", str(args.cores),
               "--config", f"mtfl={{path: {args.archive.resolve()}}}", *extra, *targets]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    print(f"slice {args.task}/{args.scenario}: {len(chosen)} blocks, {len(chosen) * len(config['finetune']['train_sizes']) * len(config['finetune']['seeds'])}"
          f" trainings, with its data, pretraining and features: {wall:.0f} s wall")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--archive", type=Path, default=ARCHIVE)
    commands = parser.add_subparsers(dest="command", required=True)
    timed = commands.add_parser("blocks")
    timed.add_argument("--device", default="auto")
    timed.add_argument("--epochs", type=int, default=2)
    timed.add_argument("--epochs-per-training", type=float)
    timed.add_argument("--threads", type=int, default=1, help="torch CPU threads (a finetune job gets 1)")
    timed.add_argument("--skip-plain", action="store_true", help="time the pipeline's trainer only")
    sliced = commands.add_parser("slice")
    sliced.add_argument("--task", default=TASK)
    sliced.add_argument("--scenario", default="cae")
    sliced.add_argument("--cores", default="all")
    args, extra = parser.parse_known_args()
    if args.command == "blocks":
        torch.set_num_threads(args.threads)
        blocks(args)
    else:
        run_slice(args, [e for e in extra if e != "--"])


if __name__ == "__main__":
    main()
