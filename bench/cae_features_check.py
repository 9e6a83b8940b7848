"""Is the CAE's representation what the classifiers think they read? Checks on a finished run.

    .venv/bin/python bench/cae_features_check.py --results results [--config config.yaml]

For every pretrained CAE of the run (``results/pretrain/cae/seed*/model.pt``) and every
cached feature file of it (``results/features/cae/seed*/<depth>.pt``), prints:

- the largest difference between the cached features and a direct forward pass of the
  CAE's encoder over the same faces (the cache must equal the frozen network);
- dead units: features that are zero for every pool face (a ReLU that never fires
  carries nothing to the classifier), and the fraction of zeros overall;
- the input the networks read (``networks.network_input``) over the pool: mean and spread;
- the CAE's training: epochs run, the best epoch, the last epochs' validation losses,
  and its test reconstruction error beside two baselines (a blank image at the pool's
  mean grey, and the pool's mean face), so "how good is the CAE" has a yardstick.
"""

import argparse
from pathlib import Path

import pandas as pd
import torch

from workflow_scripts.atomic import read_csv, read_torch
from workflow_scripts.data.faces import load_face_set
from workflow_scripts.data.splits import faces_with_role
from workflow_scripts.nn.architecture import Architecture, prefix_length
from workflow_scripts.nn.networks import network_input, source_trunk
from workflow_scripts.study.config import load_config_file

ROOT = Path(__file__).resolve().parents[1]


@torch.no_grad()
def direct_features(trunk, depth: str, architecture: Architecture, images, faces) -> torch.Tensor:
    prefix = trunk[:prefix_length(depth, architecture)].eval()
    return prefix(network_input(images[faces]))


def feature_report(cached: dict, direct: torch.Tensor, pool_rows: torch.Tensor) -> dict:
    features = cached["features"].flatten(1)
    pool_features = features[pool_rows]
    dead = (pool_features == 0).all(dim=0)
    return {
        "max_abs_diff_cache_vs_forward": float((features - direct.flatten(1)).abs().max()),
        "units": features.shape[1],
        "dead_units": int(dead.sum()),
        "zero_fraction": float((pool_features == 0).float().mean()),
        "feature_mean": float(pool_features.mean()),
        "feature_sd": float(pool_features.std()),
    }


def reconstruction_baselines(images, pool, test) -> dict:
    targets = images.float() / 255
    mean_face = targets[pool].mean(dim=0, keepdim=True)
    return {
        "blank_grey_mse": float(((targets[test] - targets[pool].mean()) ** 2).mean()),
        "mean_face_mse": float(((targets[test] - mean_face) ** 2).mean()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    args = parser.parse_args()
    config = load_config_file(args.config)
    architecture = Architecture.from_config(config["network"], config["data"]["image_size"])
    data = args.results / "data"
    faces = load_face_set(data / "faces.pt", data / "faces.csv")
    roles = read_csv(data / "roles.csv")
    pool, test = torch.as_tensor(faces_with_role(roles, "pool")), torch.as_tensor(faces_with_role(roles, "test"))
    inputs = network_input(faces.images[pool])
    print(f"network input over the pool: mean {inputs.mean():.3f}, sd {inputs.std():.3f} "
          f"(min {inputs.min():.2f}, max {inputs.max():.2f})")
    baselines = reconstruction_baselines(faces.images, pool, test)
    print(f"test reconstruction MSE baselines: blank grey {baselines['blank_grey_mse']:.4f}, "
          f"mean face {baselines['mean_face_mse']:.4f}")
    rows = []
    for model_path in sorted((args.results / "pretrain" / "cae").glob("seed*/model.pt")):
        seed = model_path.parent.name
        saved_network = read_torch(model_path)
        curve = read_csv(model_path.parent / "curve.csv")
        best = curve.loc[curve["stop_criterion"].idxmin()]
        print(f"CAE {seed}: {saved_network['epochs_run']} epochs (cap {config['pretrain']['cae']['max_epochs']}), "
              f"best epoch {int(best['epoch'])}, last validation losses "
              f"{', '.join(f'{v:.5f}' for v in curve['stop_criterion'].tail(4))}; "
              f"test reconstruction MSE {saved_network['test_reconstruction_mse']:.4f}")
        trunk = source_trunk(saved_network, architecture)
        for feature_path in sorted((args.results / "features" / "cae" / seed).glob("*.pt")):
            depth = feature_path.stem
            cached = read_torch(feature_path)
            position = {int(face): row for row, face in enumerate(cached["faces"])}
            pool_rows = torch.tensor([position[int(face)] for face in pool if int(face) in position])
            direct = direct_features(trunk, depth, architecture, faces.images, cached["faces"])
            rows.append({"cae": seed, "depth": depth, **feature_report(cached, direct, pool_rows)})
    if rows:
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    else:
        print(f"no cached CAE features under {args.results / 'features' / 'cae'}")


if __name__ == "__main__":
    main()
