import pytest
import torch

from workflow_scripts.data.faces import load_face_set, save_face_set
from workflow_scripts.data.synthetic import LABEL_PROBABILITIES, make_synthetic_faces
from workflow_scripts.study.datasets import MTFL_CLASSES

TASKS = tuple(MTFL_CLASSES)  # the synthetic set's tasks


def test_same_seed_same_faces_other_seed_other_faces():
    a = make_synthetic_faces(150, 50, 16, seed=7)
    b = make_synthetic_faces(150, 50, 16, seed=7)
    c = make_synthetic_faces(150, 50, 16, seed=8)
    assert torch.equal(a.images, b.images) and a.table.equals(b.table)
    assert not torch.equal(a.images, c.images)


def test_format_matches_the_prepared_face_set(tmp_path):
    faces = make_synthetic_faces(30, 10, 24, seed=0)
    assert faces.images.shape == (40, 1, 24, 24) and faces.images.dtype == torch.uint8
    assert faces.table["split"].value_counts().to_dict() == {"train": 30, "test": 10}
    save_face_set(faces, tmp_path / "f.pt", tmp_path / "f.csv")
    loaded = load_face_set(tmp_path / "f.pt", tmp_path / "f.csv")
    assert torch.equal(loaded.images, faces.images) and loaded.table.equals(faces.table)


def test_label_balance_is_close_to_mtfl():
    faces = make_synthetic_faces(6000, 0, 8, seed=1)
    for task in TASKS:
        shares = faces.table[task].value_counts(normalize=True).sort_index()
        expected = LABEL_PROBABILITIES[task]
        assert len(shares) == len(expected), f"{task}: a class never drawn"
        for share, target in zip(shares, expected):
            assert abs(share - target) < 0.02, (task, shares.tolist())


def test_images_use_the_grey_range_and_vary():
    faces = make_synthetic_faces(200, 0, 32, seed=2)
    images = faces.images.float()
    assert images.min() < 40 and images.max() > 215
    assert images.std(dim=(1, 2, 3)).min() > 5  # no blank image


def test_labels_change_the_picture():
    """Faces with glasses are darker round the eyes, on average, than faces without."""
    faces = make_synthetic_faces(3000, 0, 32, seed=4)
    frontal = faces.table["pose"] == 2
    images = faces.images.float()[torch.tensor(frontal.to_numpy())]
    table = faces.table[frontal]
    eye_band = images[:, 0, 11:16, 6:26].mean(dim=(1, 2)) - images[:, 0, 18:24, 10:22].mean(dim=(1, 2))
    wearing = torch.tensor((table["glasses"] == 0).to_numpy())
    assert eye_band[wearing].mean() < eye_band[~wearing].mean() - 3


def _glasses_contrast(signal):
    faces = make_synthetic_faces(3000, 0, 32, seed=4, signal={"glasses": signal})
    frontal = torch.tensor((faces.table["pose"] == 2).to_numpy())
    images = faces.images.float()[frontal]
    wearing = torch.tensor((faces.table["glasses"] == 0).to_numpy())[frontal]
    eye_band = images[:, 0, 11:16, 6:26].mean(dim=(1, 2)) - images[:, 0, 18:24, 10:22].mean(dim=(1, 2))
    return float(eye_band[~wearing].mean() - eye_band[wearing].mean())


def test_signal_sets_how_far_apart_a_tasks_classes_are_drawn():
    assert _glasses_contrast(0.0) == pytest.approx(0.0, abs=0.5)  # no signal: glasses draw nothing
    assert 0.5 < _glasses_contrast(0.5) < _glasses_contrast(1.0) < _glasses_contrast(1.5)
    # the labels and everything else are drawn the same: only the task's own attribute moves
    a, b = make_synthetic_faces(200, 0, 32, seed=1), make_synthetic_faces(200, 0, 32, seed=1, signal={"glasses": 1.5})
    assert a.table.equals(b.table)
    no_glasses = torch.tensor((a.table["glasses"] == 1).to_numpy())
    assert torch.equal(a.images[no_glasses], b.images[no_glasses])


def _left_right_gap(pose_signal):
    """How much brighter the left half is for heads turned one way (pose 1) than the other (pose 3)."""
    faces = make_synthetic_faces(3000, 0, 32, seed=4, signal={"pose": pose_signal})
    images = faces.images.float()[:, 0]
    left_minus_right = images[:, :, :16].mean(dim=(1, 2)) - images[:, :, 16:].mean(dim=(1, 2))
    pose = torch.tensor(faces.table["pose"].to_numpy())
    return float(left_minus_right[pose == 1].mean() - left_minus_right[pose == 3].mean())


def test_pose_signal_turns_the_silhouette_with_the_head():
    gaps = [_left_right_gap(signal) for signal in (0.0, 1.0, 2.0)]
    assert gaps[0] + 5 < gaps[1] and gaps[1] + 5 < gaps[2], gaps
