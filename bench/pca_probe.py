"""An exploratory control for the claim: a head on PCA of the pixels (the linear
autoencoder) beside the frozen CAE, the frozen random trunk and no transfer. Checked on a
finished run.

    .venv/bin/python bench/pca_probe.py --results RESULTS --config CONFIG [--output CSV]

reads a finished run of CONFIG (``RESULTS``: its faces, roles, subsets, the CAE's features
at the claim's depth, ``metrics.csv`` and each random trunk's ``scaling.csv``) and fits PCA
on the unlabelled pool's faces only (as the network reads them, ``network_input``,
flattened; no label, validation or test face takes part). The probe's features are a face's
first k component scores, k the width of the CAE's features at the claim's depth (fc1: 128),
times one scalar that gives them the CAE's overall SD on the pool (the random trunk is
scaled to the CAE likewise, layer by layer). On them the head the frozen scenarios train
(fc2 + out at conv4+fc1) trains exactly as the CAE's does: ``run_block`` with the same
design, subsets, seeds, folds and epoch choice, at the claim's N, on the CPU with one
thread. PCA has no pretraining seed: every member reads the same features.

It prints per task each arm's mean test balanced accuracy at the claim's N (none, cae and
random from ``metrics.csv``, pca trained here), the CAE's gain over the probe paired by
fine-tuning seed in the claim's unit (the CAE's pretraining seed) with its 95 % interval and
the decision ``report.claim.decide`` would give it with uncorrected p-values (exploratory:
not part of the pre-declared family, not Holm-corrected with it), the share of the pool's
pixel variance the k components keep, and the CAE's dead units at that depth (units that
output zero on every pool face, from the random trunks' ``scaling.csv``): a CAE with many
dead units hands its head fewer features than the probe's k. Each task's probe members
are kept under ``--kept`` (default ``build/pca_probe``) and read back by a later call;
``--tasks`` trains some tasks only (two calls on disjoint tasks use two cores).
"""

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from workflow_scripts.atomic import read_csv, read_torch, write_csv
from workflow_scripts.data.faces import load_face_set
from workflow_scripts.data.splits import faces_with_role
from workflow_scripts.finetune.blocks import Block, FinetuneDesign, LabelledFaces, needed_faces, run_block
from workflow_scripts.nn.architecture import Architecture, prefix_layers
from workflow_scripts.nn.networks import network_input
from workflow_scripts.report.claim import claim_margin, comparison_test, decide
from workflow_scripts.study import scenarios
from workflow_scripts.study.config import load_config_file
from workflow_scripts.study.grid import claim as claim_of, distinct_pretrain_seeds, pretrain_seed_of

ROOT = Path(__file__).resolve().parents[1]
PROBE = "pca"  # the scenario name its members get in the table this script writes
ARMS = [scenarios.NONE, "random", scenarios.CAE, PROBE]


def fit_pca(pixels: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(mean, the first k principal directions as columns, the share of the variance they
    keep) of ``pixels`` (faces x pixels), in float64."""
    x = pixels.double()
    mean = x.mean(0)
    covariance = (x - mean).T @ (x - mean) / (len(x) - 1)
    values, vectors = torch.linalg.eigh(covariance)  # ascending
    order = torch.argsort(values, descending=True)
    values, vectors = values[order], vectors[:, order]
    return mean, vectors[:, :k], float(values[:k].sum() / values.sum())


def pca_features(images: torch.Tensor, roles: pd.DataFrame, k: int, target_sd: float) -> tuple[dict, float]:
    """The probe's features of every face a fine-tuning job may read ({faces, features}, as
    ``extract_features`` writes them), PCA fitted on the pool and scaled to ``target_sd``
    over the pool; and the variance share of the k components."""
    pool = torch.as_tensor(faces_with_role(roles, "pool"))
    flat = network_input(images).flatten(1)
    mean, directions, kept = fit_pca(flat[pool], k)
    scale = target_sd / float(((flat[pool].double() - mean) @ directions).std(unbiased=False))
    wanted = torch.as_tensor(needed_faces(roles))
    features = (((flat[wanted].double() - mean) @ directions) * scale).float()
    return {"faces": wanted, "features": features}, kept


def cae_feature_sd(results: Path, depth: str, seeds, roles: pd.DataFrame) -> tuple[float, int]:
    """The CAE features' SD over the pool's faces (the mean over pretraining seeds) and their width."""
    pool = set(faces_with_role(roles, "pool").tolist())
    sds, width = [], 0
    for seed in seeds:
        saved = read_torch(results / "features" / scenarios.CAE / f"seed{seed}" / f"{depth}.pt")
        rows = torch.as_tensor([int(face) in pool for face in saved["faces"]])
        sds.append(float(saved["features"][rows].double().std(unbiased=False)))
        width = saved["features"].flatten(1).shape[1]
    return float(np.mean(sds)), width


def dead_units(results: Path, depth_layer: str, seeds) -> pd.DataFrame:
    """Per pretraining seed, the CAE's dead units at ``depth_layer`` and the layer's width,
    from each random trunk's scaling.csv (empty without a random trunk)."""
    rows = []
    for seed in seeds:
        path = results / "pretrain" / "random" / f"seed{seed}" / "scaling.csv"
        if path.exists():
            scaling = read_csv(path)
            layer = scaling[scaling["layer"] == depth_layer].iloc[0]
            rows.append({"pretrain_seed": seed, "dead": int(layer["target_dead_units"]), "units": int(layer["units"])})
    return pd.DataFrame(rows, columns=["pretrain_seed", "dead", "units"])


def probe_members(config: dict, claim: dict, results: Path, kept: Path, tasks) -> tuple[pd.DataFrame, float]:
    """The probe's members of ``tasks`` at the claim's N (kept, or trained and kept) and the
    share of pixel variance its components keep."""
    data = results / "data"
    faces = load_face_set(data / "faces.pt", data / "faces.csv")
    roles = read_csv(data / "roles.csv")
    labelled = LabelledFaces(faces.table, roles, read_csv(data / "subsets.csv"))
    design = dataclasses.replace(FinetuneDesign.from_config(config, pretrain_seed_of(config)),
                                 train_sizes=(claim["n_train"],))
    seeds = distinct_pretrain_seeds(design.pretrain_seed_of)
    target_sd, width = cae_feature_sd(results, claim["depth"], seeds, roles)
    features, share = pca_features(faces.images, roles, width, target_sd)
    members = []
    for task in tasks:
        path = kept / f"{task}.csv"
        if not path.exists():
            # read as the CAE's block: the head the frozen scenarios train, on the probe's features
            block = Block(task, scenarios.CAE, scenarios.CAE, claim["depth"])
            metrics = run_block(block, design, labelled, torch.device("cpu"),
                                features={seed: features for seed in seeds})[0]
            write_csv(metrics.assign(scenario=PROBE, source=PROBE, pretrain_seed=-1), path)
        members.append(read_csv(path))
        print(f"  {task}: probe's mean test balanced accuracy {members[-1]['balanced_accuracy'].mean():.4f}", flush=True)
    return pd.concat(members, ignore_index=True), share


def compare(metrics: pd.DataFrame, probe: pd.DataFrame, claim: dict) -> pd.DataFrame:
    """Per task: every arm's mean test metric at the claim's N, and the CAE against the probe."""
    metric, n, depth = claim["metric"], claim["n_train"], claim["depth"]
    at_n = metrics[(metrics["n_train"] == n) & ((metrics["scenario"] == scenarios.NONE) | (metrics["depth"] == depth))]
    rows = []
    for task, found in probe.groupby("task", sort=False):
        arms = pd.concat([at_n[at_n["task"] == task], found])
        row = {"task": task, **{arm: arms.loc[arms["scenario"] == arm, metric].mean() for arm in ARMS}}
        pairs = (arms[arms["scenario"] == scenarios.CAE]
                 .merge(found[["seed", metric]], on="seed", suffixes=("", "_probe")))
        test = comparison_test(pairs[metric] - pairs[f"{metric}_probe"], pairs["pretrain_seed"], claim_margin(claim),
                               claim["alpha"])
        decision = decide(test["gain"], test["p_value"], test["p_equivalence"], claim["alpha"])
        rows.append({**row, **{k: test[k] for k in ("gain", "ci_low", "ci_high", "p_value", "p_equivalence",
                                                     "n_units")}, "exploratory_decision": decision})
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--output", type=Path, help="write the comparison as CSV")
    parser.add_argument("--kept", type=Path, default=ROOT / "build" / "pca_probe",
                        help="where each task's probe members are kept (and read back by a later call)")
    parser.add_argument("--tasks", nargs="+", help="train these tasks' probes only (and compare nothing)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the finetune jobs run
    config = load_config_file(args.config)
    claim = claim_of(config)
    args.kept.mkdir(parents=True, exist_ok=True)
    print(f"PCA probe at N = {claim['n_train']}, {claim['depth']}'s width", flush=True)
    probe, share = probe_members(config, claim, args.results, args.kept, args.tasks or config["finetune"]["tasks"])
    if args.tasks:
        return
    table = compare(read_csv(args.results / "metrics.csv"), probe, claim)
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"the probe's components keep {100 * share:.1f} % of the pool's pixel variance")
    layer = prefix_layers(claim["depth"], Architecture.from_config(config["network"], config["data"]["image_size"]))[-1]
    dead = dead_units(args.results, layer, distinct_pretrain_seeds(pretrain_seed_of(config)))
    if len(dead):
        print(f"the CAE's dead units at {layer}: {dead['dead'].min()}-{dead['dead'].max()} of {dead['units'].iloc[0]} "
              f"(mean {dead['dead'].mean():.1f} over {len(dead)} pretraining seeds)")
    if args.output:
        write_csv(table, args.output)


if __name__ == "__main__":
    main()
