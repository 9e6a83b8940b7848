"""Training throughput of the default study's blocks, measured in one run.

1. A block from images (scenario none): its trainings stacked into one model (torch.func),
   the seeds of each size stacked, or one model at a time.
2. A frozen block (scenario cae): trained on features cached once versus with the
   frozen prefix run inside every batch; and, on cached features, the same three stackings.

Every side trains the same members (all sizes and seeds of the config) for a fixed number
of epochs (early stopping off), so both sides of a comparison do the same work. Usage:

    .venv/bin/python bench/training_speed.py [--config config.yaml] [--epochs 3] [--device auto] [--threads 1]
"""

import argparse
import copy
import time

import torch

from workflow_scripts.finetuning import extract_features
from workflow_scripts.metrics import balanced_class_weights
from workflow_scripts.networks import Architecture, build_classifier, build_trunk, network_input, prefix_length
from workflow_scripts.splits import assign_roles, faces_with_role, labelled_subsets, subset_faces
from workflow_scripts.study_config import load_config_file
from workflow_scripts.synthetic_faces import make_synthetic_faces
from workflow_scripts.training import FitSettings, Members, choose_device, fit_stacked, weighted_cross_entropy

TASK, N_CLASSES = "smile", 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (a finetune job gets 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config_file(args.config)
    device = choose_device(args.device)
    data, finetune, synthetic = config["data"], config["finetune"], config["synthetic"]
    faces = make_synthetic_faces(synthetic["n_train"], synthetic["n_test"], data["image_size"], synthetic["seed"], synthetic["signal"])
    architecture = Architecture.from_config(config["network"], data["image_size"])
    roles = assign_roles(faces.table, data["validation_fraction"], 0)
    seeds, sizes = finetune["seeds"], finetune["train_sizes"]
    subsets = labelled_subsets(faces.table, roles, sizes, seeds)
    settings = FitSettings.from_config({**finetune["training"], "max_epochs": args.epochs, "patience": args.epochs + 1})
    labels = torch.tensor(faces.table[TASK].to_numpy())
    images = network_input(faces.images)
    validation = torch.tensor(faces_with_role(roles, "validation"))
    plan = [(n, seed) for n in sizes for seed in seeds]
    print(f"device {device}, {args.threads} thread(s), {args.epochs} epochs, task {TASK}, sizes {sizes}, seeds {seeds}, "
          f"{len(validation)} validation faces, images {data['image_size']} px")

    def weights(rows):
        return torch.tensor(balanced_class_weights(labels[rows], N_CLASSES), dtype=torch.float32)

    def fit(inputs, members, length=0, prefix=None):
        """Seconds to train ``members`` ((n, seed) pairs) as one stack."""
        rows = [torch.tensor(subset_faces(subsets, seed, n)) for n, seed in members]
        modules = []
        for _, seed in members:
            torch.manual_seed(seed)
            modules.append(build_classifier(architecture, N_CLASSES)[length:])
        data_of = Members(inputs, labels, rows, torch.stack([weights(r) for r in rows]), [s for _, s in members],
                          [validation] * len(rows), torch.stack([weights(validation)] * len(rows)))
        started = time.perf_counter()
        fit_stacked(modules, data_of, weighted_cross_entropy, settings, device=device, frozen_prefix=prefix)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    def stackings(inputs, length=0):
        block = fit(inputs, plan, length)
        by_size = sum(fit(inputs, [m for m in plan if m[0] == n], length) for n in sizes)
        alone = sum(fit(inputs, [m], length) for m in plan)
        return block, by_size, alone

    header = f"{'':>14} {'block s':>9} {'seeds s':>9} {'one by one s':>13} {'block vs one':>13} {'seeds vs one':>13}"
    print(f"\n1. scenario none, from images: {len(plan)} trainings\n{header}")
    block, by_size, alone = stackings(images)
    print(f"{'images':>14} {block:>9.2f} {by_size:>9.2f} {alone:>13.2f} {alone / block:>12.2f}x {alone / by_size:>12.2f}x")

    print(f"\n2. scenario cae: cached features (three stackings) and the prefix run in every batch (block)\n"
          f"{header} {'full-network s':>15} {'cached speed-up':>16}")
    torch.manual_seed(0)
    trunk = build_trunk(architecture)
    for depth in finetune["depths"]:
        length = prefix_length(depth, architecture)
        features = extract_features(trunk, length, faces.images, list(range(len(labels))), device)["features"]
        block, by_size, alone = stackings(features, length)
        full = fit(images, plan, length, prefix=copy.deepcopy(trunk[:length]))
        print(f"{depth:>14} {block:>9.2f} {by_size:>9.2f} {alone:>13.2f} {alone / block:>12.2f}x {alone / by_size:>12.2f}x"
              f" {full:>15.2f} {full / block:>15.2f}x")


if __name__ == "__main__":
    main()
