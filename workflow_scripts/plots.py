"""Figures of the study (matplotlib/seaborn), written as PNG for the report."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .atomic import atomic_path  # noqa: E402
from .tasks import CLASS_NAMES, TASKS  # noqa: E402

SHORT = {"male": "M", "female": "F", "smiling": "smile", "not smiling": "-", "glasses": "glasses", "no glasses": "-"}


def face_caption(row) -> str:
    words = [SHORT.get(CLASS_NAMES[t][row[t]], CLASS_NAMES[t][row[t]]) for t in TASKS]
    return " ".join(w for w in words if w != "-")


def save_figure(figure, path, dpi=110):
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=dpi, bbox_inches="tight", format=str(path).rsplit(".", 1)[-1])
    plt.close(figure)


def face_preview(images, table, roles, path, per_role: int = 8):
    """A row of faces per role, each titled with its four labels."""
    role_names = [r for r in ("pool", "validation", "test") if (roles["role"] == r).any()]
    figure, axes = plt.subplots(len(role_names), per_role, figsize=(1.6 * per_role, 1.9 * len(role_names)), squeeze=False)
    for row_axes, role in zip(axes, role_names):
        faces = roles.loc[roles["role"] == role, "face"].to_numpy()[:per_role]
        for ax, face in zip(row_axes, faces):
            ax.imshow(images[face, 0].numpy(), cmap="gray", vmin=0, vmax=255)
            ax.set_title(face_caption(table.iloc[face]), fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in row_axes[len(faces):]:
            ax.axis("off")
        row_axes[0].set_ylabel(role, fontsize=10)
    figure.suptitle("Prepared faces with their labels (gender, smile, glasses, pose)", fontsize=10)
    save_figure(figure, path)
