"""Training throughput of the default study, measured in one run.

1. Seeds batched into one stacked model (torch.func) versus trained one model at a time.
2. A frozen prefix: trained on features cached once versus run inside every batch.

Both use the default config's architecture and training settings on the synthetic data,
with early stopping switched off (a fixed number of epochs) so that both sides of a
comparison do the same work. Usage:

    .venv/bin/python bench/training_speed.py [--config config.yaml] [--epochs 4] [--device auto]
"""

import argparse
import copy
import sys
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflow_scripts.finetuning import extract_features  # noqa: E402
from workflow_scripts.metrics import balanced_class_weights  # noqa: E402
from workflow_scripts.networks import Architecture, build_classifier, build_trunk, network_input, prefix_length  # noqa: E402
from workflow_scripts.splits import assign_roles, faces_with_role, labelled_subsets, subset_faces  # noqa: E402
from workflow_scripts.synthetic_faces import make_synthetic_faces  # noqa: E402
from workflow_scripts.training import FitSettings, choose_device, fit_stacked, weighted_cross_entropy  # noqa: E402

TASK, N_CLASSES = "smile", 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (a finetune job gets 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(Path(args.config).read_text())
    device = choose_device(args.device)
    data, finetune = config["data"], config["finetune"]
    faces = make_synthetic_faces(config["synthetic"]["n_train"], config["synthetic"]["n_test"], data["image_size"], 0)
    architecture = Architecture.from_config(config["network"], data["image_size"])
    roles = assign_roles(faces.table, data["validation_fraction"], 0)
    seeds = finetune["seeds"]
    sizes = finetune["train_sizes"]
    subsets = labelled_subsets(faces.table, roles, sizes, seeds)
    settings = FitSettings.from_config({**finetune["training"], "max_epochs": args.epochs, "patience": args.epochs + 1,
                                        "weight_decay": finetune["training"].get("weight_decay", 0.0),
                                        "min_epoch_samples": finetune["training"].get("min_epoch_samples", 0)})
    labels = torch.tensor(faces.table[TASK].to_numpy())
    images = network_input(faces.images)
    validation = torch.tensor(faces_with_role(roles, "validation"))
    val_weights = torch.tensor(balanced_class_weights(labels[validation], N_CLASSES), dtype=torch.float32)
    print(f"device {device}, {args.threads} thread(s), {args.epochs} epochs, task {TASK}, seeds {seeds}, "
          f"{len(validation)} validation faces, images {data['image_size']} px")

    def fit(modules, inputs, rows, member_seeds, prefix=None):
        weights = torch.stack([torch.tensor(balanced_class_weights(labels[r], N_CLASSES), dtype=torch.float32) for r in rows])
        started = time.perf_counter()
        fit_stacked(modules, inputs, labels, rows, weights, validation, val_weights, weighted_cross_entropy,
                    settings, member_seeds, device, frozen_prefix=prefix)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    def models(length=0):
        built = []
        for seed in seeds:
            torch.manual_seed(seed)
            built.append(build_classifier(architecture, N_CLASSES)[length:])
        return built

    print("\n1. full classifier (scenario none): seeds batched vs one at a time")
    print(f"{'n_train':>8} {'batched s':>10} {'one-by-one s':>13} {'speed-up':>9} {'models/min batched':>19}")
    for n in sizes:
        rows = torch.stack([torch.tensor(subset_faces(subsets, s, n)) for s in seeds])
        batched = fit(models(), images, rows, seeds)
        single = sum(fit([m], images, rows[i:i + 1], [seeds[i]]) for i, m in enumerate(models()))
        print(f"{n:>8} {batched:>10.2f} {single:>13.2f} {single / batched:>8.2f}x {60 * len(seeds) / batched:>19.1f}")

    print("\n2. frozen prefix (scenario cae): cached features vs prefix in every batch (seeds batched),")
    print("   and on cached features, seeds batched vs one at a time")
    print(f"{'depth':>10} {'n_train':>8} {'cached s':>9} {'(extract s)':>12} {'full-network s':>15} {'speed-up':>9}"
          f" {'cached one-by-one s':>20} {'batching speed-up':>18}")
    torch.manual_seed(0)
    trunk = build_trunk(architecture)
    for depth in finetune["depths"]:
        length = prefix_length(depth, architecture)
        started = time.perf_counter()
        features = extract_features(trunk, length, faces.images, list(range(len(labels))), device)["features"]
        extract = time.perf_counter() - started
        for n in sizes:
            rows = torch.stack([torch.tensor(subset_faces(subsets, s, n)) for s in seeds])
            cached = fit(models(length), features, rows, seeds)
            full = fit(models(length), images, rows, seeds, prefix=copy.deepcopy(trunk[:length]))
            single = sum(fit([m], features, rows[i:i + 1], [seeds[i]]) for i, m in enumerate(models(length)))
            print(f"{depth:>10} {n:>8} {cached:>9.2f} {extract:>12.2f} {full:>15.2f} {full / cached:>8.2f}x"
                  f" {single:>20.2f} {single / cached:>17.2f}x")


if __name__ == "__main__":
    main()
