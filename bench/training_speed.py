"""How fast the pipeline's trainer trains a study's blocks, against one model at a time.

    .venv/bin/python bench/training_speed.py [--config config.yaml] [--epochs 3] [--device auto]
        [--threads 1] [--archive PATH] [--task smile] [--blocks none cae:conv4+fc1 ...]

For one block from images (scenario ``none``) and one ``cae`` block at each of the
config's depths, every member (all sizes and seeds of the config) trains for a fixed
number of epochs (early stopping never ends one, so every side does the same work), on
the early-stopping protocol of the config, four ways, all through the library:

- pipeline: ``finetuning.fit_members`` as ``finetune.stack: auto`` groups the members on
  this device (one at a time on the CPU, the whole block stacked on a GPU);
- plain loop: ``training.fit``, one model at a time (``finetune.stack: none``);
- stacked one at a time: ``stacked_training.fit_stacked`` called with one member;
- stacked block: every member of the block in one stack (``finetune.stack: block``).

It prints the seconds of each and the ratio of the pipeline and of the whole-block stack
to the plain loop. The cae blocks read features of a randomly initialised trunk: the
time of a training does not depend on what the features hold. Faces come from MTFL when
the config reads it and the archive is found, else from the synthetic generator at the
config's image size.
"""

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from workflow_scripts.data.splits import assign_roles, labelled_subsets
from workflow_scripts.finetune.blocks import (
    Block, BlockInputs, FinetuneDesign, LabelledFaces, extract_features, fit_members, initial_model, plan_members,
)
from workflow_scripts.nn.architecture import prefix_length
from workflow_scripts.nn.networks import build_trunk
from workflow_scripts.nn.stacked_training import fit_stacked
from workflow_scripts.nn.training import choose_device, criterion_for, weighted_cross_entropy
from workflow_scripts.study.config import load_config_file
from workflow_scripts.study.scenarios import CAE, NONE

ROOT = Path(__file__).resolve().parents[1]


def load_faces(config, archive: Path | None):
    """The config's faces: MTFL from ``archive`` (or mtfl.path) when it reads MTFL and the
    archive exists, else synthetic faces of the config's size."""
    size = config["data"]["image_size"]
    archive = Path(archive or config["mtfl"]["path"])
    if config["data"]["dataset"] == "mtfl" and archive.exists():
        from workflow_scripts.data.mtfl import read_mtfl

        return read_mtfl(archive, size, config["mtfl"]["crop_margin"], threads=4)[0], f"MTFL ({archive})"
    from workflow_scripts.data.synthetic import make_synthetic_faces

    synthetic = config["synthetic"]
    return (make_synthetic_faces(synthetic["n_train"], synthetic["n_test"], size, synthetic["seed"], synthetic["signal"]),
            "synthetic faces")


def timed_design(config, epochs: int, stack: str) -> FinetuneDesign:
    """The config's design, trained ``epochs`` epochs with no early end, grouped by ``stack``."""
    design = FinetuneDesign.from_config(config)
    return dataclasses.replace(design, training=dataclasses.replace(design.training, max_epochs=epochs, patience=epochs + 1),
                               protocol=dataclasses.replace(design.protocol, stack=stack))


def synchronise(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds_of(train, device) -> float:
    started = time.perf_counter()
    train()
    synchronise(device)
    return time.perf_counter() - started


def measure(config, faces, task: str, epochs: int, device, kinds) -> list[dict]:
    """Seconds of every way of training each block kind ((scenario, depth) pairs)."""
    roles = assign_roles(faces.table, config["data"]["validation_fraction"], config["data"]["split_seed"])
    subsets = labelled_subsets(faces.table, roles, config["finetune"]["train_sizes"], config["finetune"]["seeds"])
    labelled = LabelledFaces(faces.table, roles, subsets)
    labels = faces.table[task].to_numpy()
    designs = {stack: timed_design(config, epochs, stack) for stack in ("auto", "none", "block")}
    architecture = designs["auto"].architecture
    torch.manual_seed(0)
    trunk = build_trunk(architecture)
    criterion = criterion_for(designs["auto"].protocol.objective)
    rows = []
    for scenario, depth in kinds:
        block = Block(task, scenario, CAE if scenario == CAE else NONE, depth)
        if scenario == CAE:
            every_face = list(range(len(faces.table)))
            features = {None: extract_features(trunk, prefix_length(depth, architecture), faces.images, every_face, device)}
            inputs = BlockInputs(labels, features=features).to(device)
        else:
            inputs = BlockInputs(labels, faces.images).to(device)
        members = plan_members(block, designs["auto"], labelled)

        def one_stack_each():
            for member in members:
                fit_stacked([initial_model(block, designs["none"], member, None)], inputs.tensor, inputs.targets,
                            [inputs.training_rows(member)], weighted_cross_entropy, designs["none"].training,
                            criterion=criterion, device=device)

        fit_members(block, designs["none"], members[:1], inputs, device)  # warm-up: first-call allocations and kernels
        timed = {name: seconds_of(lambda: fit_members(block, designs[stack], members, inputs, device), device)
                 for name, stack in (("pipeline", "auto"), ("plain loop", "none"), ("stacked block", "block"))}
        timed["stacked one at a time"] = seconds_of(one_stack_each, device)
        rows.append({"block": f"{scenario} {depth}", "members": len(members), **timed})
    return rows


def print_table(rows, epochs: int):
    columns = ["pipeline", "plain loop", "stacked one at a time", "stacked block"]
    print(f"{'block':>16} {'members':>8} " + " ".join(f"{c + ' s':>22}" for c in columns)
          + f" {'pipeline / plain':>17} {'block / plain':>14}")
    for row in rows:
        print(f"{row['block']:>16} {row['members']:>8} " + " ".join(f"{row[c]:>22.1f}" for c in columns)
              + f" {row['plain loop'] / row['pipeline']:>16.2f}x {row['plain loop'] / row['stacked block']:>13.2f}x")
    print(f"(speed-ups are plain-loop seconds over the column's seconds; {epochs} epochs per member)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--archive", type=Path, help="the MTFL archive (default: the config's mtfl.path)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (a finetune job gets 1)")
    parser.add_argument("--task", default="smile")
    parser.add_argument("--blocks", nargs="*", metavar="SCENARIO[:DEPTH]",
                        help="blocks to time, e.g. none cae:conv4+fc1 (default: none and cae at each of the config's depths)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config_file(args.config)
    device = choose_device(args.device)
    faces, source = load_faces(config, args.archive)
    kinds = [(NONE, NONE)] + [(CAE, depth) for depth in config["finetune"]["depths"]]
    if args.blocks:
        kinds = [(name.split(":")[0], name.split(":")[1] if ":" in name else NONE) for name in args.blocks]
    print(f"{source}, {config['data']['image_size']} px; device {device}, {args.threads} thread(s); task {args.task}; "
          f"sizes {config['finetune']['train_sizes']} x seeds {config['finetune']['seeds']}")
    print_table(measure(config, faces, args.task, args.epochs, device, kinds), args.epochs)


if __name__ == "__main__":
    main()
