"""bench/pca_probe.py: the PCA control is fitted on the unlabelled pool only, keeps the
leading directions, and hands its head features at the CAE's scale."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import ROOT

spec = importlib.util.spec_from_file_location("pca_probe", ROOT / "bench" / "pca_probe.py")
pca_probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pca_probe)


def test_the_components_are_the_leading_directions():
    rng = np.random.default_rng(0)
    axes = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    spreads = np.array([5.0, 3.0, 1.0, 0.1, 0.1, 0.1])
    pixels = torch.as_tensor(rng.normal(size=(4000, 6)) * spreads @ axes.T + 2.0)
    mean, directions, share = pca_probe.fit_pca(pixels, 2)
    assert mean.numpy() == pytest.approx(np.full(6, 2.0), abs=0.3)
    for k in range(2):  # each found direction is the k-th axis, up to sign
        assert abs(float(directions[:, k] @ torch.as_tensor(axes[:, k]))) == pytest.approx(1.0, abs=1e-3)
    assert share == pytest.approx((25 + 9) / (25 + 9 + 1 + 0.03), abs=0.01)


def test_the_features_read_the_pool_only_and_take_the_cae_s_scale():
    rng = np.random.default_rng(1)
    images = torch.as_tensor(rng.integers(0, 256, size=(60, 1, 4, 4)), dtype=torch.uint8)
    roles = pd.DataFrame({"face": np.arange(60), "role": ["pool"] * 40 + ["validation"] * 10 + ["test"] * 10})
    features, _ = pca_probe.pca_features(images, roles, 3, target_sd=0.7)
    assert features["faces"].tolist() == list(range(60))
    assert features["features"].shape == (60, 3)
    assert float(features["features"][:40].double().std(unbiased=False)) == pytest.approx(0.7, rel=1e-5)
    # other validation and test faces: the pool's features do not move, theirs do
    changed = images.clone()
    changed[40:] = 255 - changed[40:]
    again, _ = pca_probe.pca_features(changed, roles, 3, target_sd=0.7)
    assert torch.equal(again["features"][:40], features["features"][:40])
    assert not torch.equal(again["features"][40:], features["features"][40:])
