"""Where one epoch of the pipeline's trainer spends its time on a GPU: per optimiser step,
the wall time, the kernels launched and the GPU's busy time (``torch.profiler``).

    python bench/gpu_profile.py [--config workflow_scripts/config/mtfl_paper.yaml] [--device cuda] [--archive PATH]

For two blocks of the config, task gender (``none``, from images; ``cae conv4+fc1``, on
the features of a randomly initialised trunk), one short epoch two ways: a stack as large
as the config's blocks (sizes x seeds members, each here of the smallest N, with
``min_epoch_samples`` cut to 10 batches, so that an epoch is ~16 steps: the profiler's
bookkeeping of a whole paper-scale epoch, ~100 steps of hundreds of kernels, outlasted a
40 s limit on an H200) and the plain loop training one such member. Each is timed once
unprofiled, then profiled. A step that launches
hundreds of kernels, each far shorter than its launch, leaves the GPU idle between them:
busy % (the kernels' summed time over the wall time) says how much. The top kernels by
time follow. On the CPU the same table counts operators instead of kernels.
"""

import argparse
import dataclasses
import math
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from training_speed import load_faces, synchronise, timed_design
from workflow_scripts.data.splits import assign_roles, labelled_subsets
from workflow_scripts.finetune.blocks import Block, BlockInputs, LabelledFaces, extract_features, fit_members, plan_members
from workflow_scripts.nn.architecture import prefix_length
from workflow_scripts.nn.networks import build_trunk
from workflow_scripts.nn.training import choose_device
from workflow_scripts.study.config import load_config_file
from workflow_scripts.study.scenarios import CAE, NONE

ROOT = Path(__file__).resolve().parents[1]
TASK = "gender"


def steps_of(members, design, stacked: bool) -> int:
    """Optimiser steps of one epoch: a stack steps as often as its longest member; the
    plain loop steps for every member's every batch."""
    settings = design.training
    counts = [settings.passes_per_epoch(len(m.fit_faces)) * math.ceil(len(m.fit_faces) / settings.batch_size)
              for m in members]
    return max(counts) if stacked else sum(counts)


def profiled(train, device) -> tuple[float, int, float, list]:
    """(wall s unprofiled, kernels or operators, their summed device time s, top 6 rows)."""
    train()  # warm-up: kernels chosen, memory allocated
    synchronise(device)
    started = time.perf_counter()
    train()
    synchronise(device)
    wall = time.perf_counter() - started
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        train()
        synchronise(device)
    if device.type == "cuda":
        kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
        busy = sum(e.device_time for e in kernels) / 1e6
        averages = prof.key_averages()
        top = sorted((a for a in averages if a.device_type == torch.autograd.DeviceType.CUDA),
                     key=lambda a: a.device_time_total, reverse=True)[:6]
        return wall, len(kernels), busy, [(a.key[:70], a.count, a.device_time_total / 1e3) for a in top]
    operators = [e for e in prof.events() if e.name.startswith("aten::") and e.cpu_parent is None]
    return wall, len(operators), math.nan, []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "workflow_scripts" / "config" / "mtfl_paper.yaml")
    parser.add_argument("--archive", type=Path)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config_file(args.config)
    device = choose_device(args.device)
    faces, source = load_faces(config, args.archive)
    roles = assign_roles(faces.table, config["data"]["validation_fraction"], config["data"]["split_seed"])
    labels = faces.table[TASK].to_numpy()
    # as many members as a block of the config, each of the smallest N, with short epochs
    n_members = len(config["finetune"]["train_sizes"]) * len(config["finetune"]["seeds"])
    smallest, seeds = min(config["finetune"]["train_sizes"]), tuple(range(n_members))
    subsets = labelled_subsets(faces.table, roles, [smallest], list(seeds))
    labelled = LabelledFaces(faces.table, roles, subsets)
    design = {}
    for stack in ("block", "none"):
        timed = timed_design(config, 1, stack)
        short = dataclasses.replace(timed.training, min_epoch_samples=10 * timed.training.batch_size)
        design[stack] = dataclasses.replace(timed, training=short, train_sizes=(smallest,), seeds=seeds)
    torch.manual_seed(0)
    trunk = build_trunk(design["block"].architecture)
    print(f"{source}, {config['data']['image_size']} px; device {device}"
          + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else "") + f"; task {TASK}; one epoch")
    print(f"{'block':>14} {'way':>22} {'steps':>6} {'wall s':>7} {'ms/step':>8} {'launches/step':>14} "
          f"{'GPU busy ms/step':>17} {'busy %':>7}")
    tops = []
    for scenario, depth in ((NONE, NONE), (CAE, "conv4+fc1")):
        block = Block(TASK, scenario, CAE if scenario == CAE else NONE, depth)
        if scenario == CAE:
            every_face = list(range(len(faces.table)))
            features = {None: extract_features(trunk, prefix_length(depth, design["block"].architecture), faces.images,
                                               every_face, device)}
            inputs = BlockInputs(labels, features=features).to(device)
        else:
            inputs = BlockInputs(labels, faces.images).to(device)
        members = plan_members(block, design["block"], labelled)
        for way, stack, group in ((f"stack of {len(members)}", "block", members), ("plain loop, one", "none", members[:1])):
            wall, launches, busy, top = profiled(lambda: fit_members(block, design[stack], group, inputs, device), device)
            steps = steps_of(group, design[stack], stack == "block")
            print(f"{scenario + ' ' + depth:>14} {way:>22} {steps:>6} {wall:>7.2f} {1e3 * wall / steps:>8.2f} "
                  f"{launches / steps:>14.0f} {1e3 * busy / steps:>17.2f} {100 * busy / wall:>7.0f}")
            tops.append((f"{scenario} {depth}, {way}", top))
    for name, top in tops:
        if top:
            print(f"\ntop kernels, {name}: name, launches, total ms")
            for kernel, count, milliseconds in top:
                print(f"  {kernel:<70} {count:>6} {milliseconds:>9.1f}")


if __name__ == "__main__":
    main()
