"""The four questions asked of every face: task names, class counts and class names.

Class indices follow the MTFL annotation order (raw label minus one), so a label read
from MTFL and one drawn by the synthetic generator mean the same thing.
"""

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "gender": ("male", "female"),
    "smile": ("smiling", "not smiling"),
    "glasses": ("glasses", "no glasses"),
    "pose": ("left profile", "left", "frontal", "right", "right profile"),
}
TASKS: tuple[str, ...] = tuple(CLASS_NAMES)
N_CLASSES: dict[str, int] = {task: len(names) for task, names in CLASS_NAMES.items()}
