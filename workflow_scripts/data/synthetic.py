"""The embedded default data set: procedurally rendered grey faces with MTFL's four labels.

Every face has a random identity (head shape, skin tone, hair, brows), lighting,
background, noise, blur, shift and scale. The labels are drawn with MTFL's training
balance and change what is drawn, each through a continuous attribute whose two classes
overlap, so that no classifier can be perfect and more labels help:

- gender: hair length, brow thickness and jaw width (men mostly short hair, heavy brows);
- smile: mouth-corner lift and width, sometimes teeth (neutral mouths vary too);
- glasses: frames of random darkness and thickness around both eyes, some sunglasses;
- pose: head yaw (class centre plus 10 degrees of jitter) moves and foreshortens eyes, nose
  and mouth, hides the far eye in profile, and turns the silhouette (face outline shifted
  and narrowed, the back of the head showing).

How far apart each task's two (or five) classes sit is set per task by ``signal``
(config ``synthetic.signal``; 1 = the spacing described above): it scales the gap between
the class means of that task's attributes (the teeth's frequency and the frames' opacity
with them; 0 = no signal) and, for pose, how far the silhouette turns with the yaw (the
eyes, nose and mouth follow the yaw at any signal). The defaults are calibrated so that
each task's from-scratch learning curve matches real MTFL's at 32 px (docs/synthetic.md).

Rendering is vectorised in torch on a normalised grid; the same seed gives the same
images on any CPU.
"""

import math

import pandas as pd
import torch

from workflow_scripts.data.faces import FaceSet
from workflow_scripts.study.datasets import MTFL_CLASSES

TASKS = tuple(MTFL_CLASSES)  # the synthetic set's entry shares MTFL's tasks (datasets.py)

# the label balance of MTFL's 10,000 training faces, counted from the archive's MTFL/training.txt
# (gender 5807 male / 4193 female, ...), in class-index order
LABEL_PROBABILITIES = {
    "gender": (0.5807, 0.4193),
    "smile": (0.5616, 0.4384),
    "glasses": (0.1408, 0.8592),
    "pose": (0.0136, 0.1113, 0.7445, 0.1111, 0.0195),
}
POSE_YAW_DEGREES = (-70.0, -35.0, 0.0, 35.0, 70.0)  # class centres
POSE_JITTER_DEGREES = 10.0  # around each class centre
NO_SCALING = {task: 1.0 for task in TASKS}
CHUNK = 1024  # faces rendered at once: bounds memory at 64x64


def draw_labels(n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        task: torch.multinomial(torch.tensor(LABEL_PROBABILITIES[task]), n, replacement=True, generator=generator)
        for task in TASKS
    }


def _soft(distance, softness):
    """1 inside (distance < 1), 0 outside, with an anti-aliased edge."""
    return torch.sigmoid((1 - distance) / softness)


def _ellipse(u, v, cx, cy, rx, ry):
    return torch.sqrt(((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2)


def _blend(canvas, mask, value):
    return canvas * (1 - mask) + value * mask


def _apart(centre, half_gap, signal, first_class):
    """A class mean ``signal`` half-gaps from the centre: above it for the first class."""
    return centre + (half_gap if first_class else -half_gap) * signal


def render_faces(labels: dict[str, torch.Tensor], size: int, generator: torch.Generator, signal=None) -> torch.Tensor:
    """Render one face per label set: uint8 [N, 1, size, size]; ``signal`` per task (default 1)."""
    signal = {**NO_SCALING, **(signal or {})}
    n = len(labels["gender"])

    def uniform(low, high):
        return low + (high - low) * torch.rand(n, 1, 1, generator=generator)

    def normal(mean, std):
        return mean + std * torch.randn(n, 1, 1, generator=generator)

    def bernoulli(p):
        return (torch.rand(n, 1, 1, generator=generator) < p).float()

    def per_face(t):
        return t.float().view(n, 1, 1)

    male = per_face(labels["gender"] == 0)
    smiling = per_face(labels["smile"] == 0)
    glasses = per_face(labels["glasses"] == 0)
    yaw_centre = torch.tensor(POSE_YAW_DEGREES)[labels["pose"]].view(n, 1, 1)
    yaw = torch.deg2rad(yaw_centre + normal(0.0, POSE_JITTER_DEGREES))
    turn = torch.sin(yaw) * signal["pose"]  # how far the silhouette turns with the head

    axis = torch.linspace(-1, 1, size)
    v, u = torch.meshgrid(axis, axis, indexing="ij")
    u, v = u.expand(n, size, size), v.expand(n, size, size)
    soft = 1.5 / size  # about one pixel of edge

    # background: grey level with a linear gradient
    background = uniform(0.05, 0.95) + uniform(-0.25, 0.25) * u + uniform(-0.25, 0.25) * v
    canvas = background.clone()

    # head: identity shape, shift and scale
    scale = uniform(0.82, 1.08)
    cx, cy = normal(0.0, 0.05), normal(0.04, 0.05)
    half_width = 0.52 * scale * uniform(0.88, 1.12)
    half_height = 0.68 * scale * uniform(0.92, 1.08)
    g = signal["gender"]
    jaw = torch.where(male > 0, normal(_apart(0.95, 0.05, g, True), 0.05), normal(_apart(0.95, 0.05, g, False), 0.05))  # lower-face width
    skin = uniform(0.35, 0.85)

    # hair behind the head: a cap for everyone, reaching down the sides with its length
    hair_length = torch.where(male > 0, normal(_apart(0.45, 0.4, g, False), 0.3), normal(_apart(0.45, 0.4, g, True), 0.3))  # head heights
    hair_tone = uniform(0.02, 0.55)
    reach = hair_length.clamp(0, 1.2)
    hair_x = cx - 0.2 * half_width * turn  # the back of the head shows as it turns away
    hair_outline = _ellipse(u, v, hair_x, cy + 0.3 * reach * half_height, (1.15 + 0.2 * reach) * half_width, (1.1 + 0.45 * reach) * half_height)
    hair_region = _soft(hair_outline, soft) * torch.sigmoid((cy - 0.35 * half_height + hair_length * half_height - v) / soft)
    canvas = _blend(canvas, hair_region, hair_tone)

    # face: narrower below the centre line by the jaw factor
    # and towards the side the head turns to, foreshortened
    face_rx = torch.where(v > cy, half_width * jaw, half_width) * (1 - 0.2 * turn.abs()).clamp(min=0.5)
    face = _soft(_ellipse(u, v, cx + 0.25 * half_width * turn, cy, face_rx, half_height), soft)
    light = 1 + uniform(0.0, 0.35) * (torch.cos(uniform(0, 2 * math.pi)) * (u - cx) + torch.sin(uniform(0, 2 * math.pi)) * (v - cy))
    canvas = _blend(canvas, face, skin * light)
    fringe = face * torch.sigmoid((cy - 0.62 * half_height - v) / soft)  # hairline on the forehead
    canvas = _blend(canvas, fringe, hair_tone)

    def feature_x(azimuth):
        """Screen x of a feature at an azimuth on the head, and how much of it faces us."""
        angle = azimuth + yaw
        return cx + half_width * torch.sin(angle), torch.cos(angle).clamp(min=0)

    eye_y = cy - 0.18 * half_height
    feature_tone = skin * uniform(0.15, 0.45)
    for side in (-1.0, 1.0):
        ex, facing = feature_x(side * 0.42)
        visible = (facing * 4).clamp(max=1)
        eye = _soft(_ellipse(u, v, ex, eye_y, 0.11 * half_width * facing + 1e-3, 0.055 * half_height), soft) * visible
        canvas = _blend(canvas, eye, feature_tone)
        brow_thickness = torch.where(male > 0, normal(_apart(0.039, 0.011, g, True), 0.012),
                                     normal(_apart(0.039, 0.011, g, False), 0.01)).clamp(min=0.008)
        brow = _soft(_ellipse(u, v, ex, eye_y - 0.15 * half_height, 0.16 * half_width * facing + 1e-3, brow_thickness * half_height), soft)
        canvas = _blend(canvas, brow * visible, hair_tone)
        # glasses: a ring round the eye, of random darkness, thickness and opacity
        ring_radius = 0.2 * half_width
        thickness = uniform(0.018, 0.045)
        ring = _ellipse(u, v, ex, eye_y, ring_radius * facing + 1e-3, 0.75 * ring_radius)
        frame = torch.sigmoid((thickness / ring_radius - (ring - 1).abs()) / (soft / ring_radius))
        lens = _soft(ring, soft) * bernoulli(0.2)  # sunglasses
        frame_tone = uniform(0.0, 0.45)
        opacity = (uniform(0.35, 1.0) * signal["glasses"]).clamp(max=1.0) * glasses * visible
        canvas = _blend(canvas, torch.maximum(frame, lens * 0.85) * opacity, frame_tone)
    bridge_x, _ = feature_x(torch.zeros(n, 1, 1))
    bridge = _soft(_ellipse(u, v, bridge_x, eye_y - 0.02, 0.1 * half_width, 0.02), soft) * glasses
    canvas = _blend(canvas, bridge * (uniform(0.35, 1.0) * signal["glasses"]).clamp(max=1.0), uniform(0.0, 0.45))

    # nose: protrudes, so it moves further than the eyes with yaw
    nose_x = cx + 1.15 * half_width * torch.sin(yaw)
    nose = _soft(_ellipse(u, v, nose_x, cy + 0.12 * half_height, 0.07 * half_width, 0.14 * half_height), soft)
    canvas = _blend(canvas, nose, skin * light * uniform(0.6, 0.85))

    # mouth: a curve whose corners lift with a smile
    mouth_x, mouth_facing = feature_x(torch.zeros(n, 1, 1))
    mouth_y = cy + 0.45 * half_height
    lift = torch.where(smiling > 0, normal(_apart(0.075, 0.075, signal["smile"], True), 0.06),
                       normal(_apart(0.075, 0.075, signal["smile"], False), 0.05)) * half_height
    mouth_half_width = 0.3 * half_width * (1 + 0.25 * signal["smile"] * smiling) * (0.35 + 0.65 * mouth_facing)
    along = ((u - mouth_x) / mouth_half_width).clamp(-1.5, 1.5)
    centre_line = mouth_y - lift * along**2
    lip = uniform(0.012, 0.03)
    mouth = torch.sigmoid((lip - (v - centre_line).abs()) / soft) * torch.sigmoid((1 - along.abs()) / 0.1)
    canvas = _blend(canvas, mouth, feature_tone)
    teeth = smiling * bernoulli(min(1.0, 0.4 * signal["smile"])) * torch.sigmoid((1 - along.abs()) / 0.1)
    teeth = teeth * torch.sigmoid((0.6 * lift.abs() - (v - centre_line - 0.03 * half_height).abs()) / soft)
    canvas = _blend(canvas, teeth, torch.full_like(skin, 0.9))

    # camera: noise, sometimes blur, 8-bit quantisation
    canvas = canvas + uniform(0.02, 0.08) * torch.randn(canvas.shape, generator=generator)
    blurred = torch.nn.functional.avg_pool2d(canvas.unsqueeze(1), 3, stride=1, padding=1, count_include_pad=False).squeeze(1)
    canvas = torch.where(bernoulli(0.3) > 0, blurred, canvas)
    return (canvas.clamp(0, 1) * 255).round().to(torch.uint8).unsqueeze(1)


def make_synthetic_faces(n_train: int, n_test: int, image_size: int, seed: int, signal=None) -> FaceSet:
    """A FaceSet of ``n_train`` training and ``n_test`` test faces, the same for the same
    seed and signal (per task; missing tasks: 1)."""
    generator = torch.Generator().manual_seed(seed)
    n = n_train + n_test
    labels = draw_labels(n, generator)
    images = torch.cat([
        render_faces({task: labels[task][start:start + CHUNK] for task in TASKS}, image_size, generator, signal)
        for start in range(0, n, CHUNK)
    ])
    split = ["train"] * n_train + ["test"] * n_test
    table = pd.DataFrame({
        "split": split,
        "path": [f"synthetic/{s}/{i:06d}" for i, s in enumerate(split)],
        **{task: labels[task].numpy() for task in TASKS},
    })
    return FaceSet(images, table)


def prepare_synthetic(data: dict, settings: dict, inputs, threads: int):
    """The synthetic entry's face set (``datasets.DATASETS``), and no record left out."""
    faces = make_synthetic_faces(settings["n_train"], settings["n_test"], data["image_size"], settings["seed"], settings["signal"])
    return faces, pd.DataFrame(columns=["where", "path", "reason"])
