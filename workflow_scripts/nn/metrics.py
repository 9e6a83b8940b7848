"""Classification metrics that stay honest under class imbalance."""

import numpy as np


def confusion_matrix(true, predicted, n_classes: int) -> np.ndarray:
    """Counts ``[true class, predicted class]``."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true), np.asarray(predicted)), 1)
    return matrix


def classification_metrics(true, predicted, n_classes: int) -> dict:
    """Accuracy, balanced accuracy (mean recall over the classes present in ``true``),
    macro-F1 (over the classes present in ``true`` or ``predicted``) and the confusion matrix."""
    matrix = confusion_matrix(true, predicted, n_classes)
    hits = np.diag(matrix)
    support = matrix.sum(axis=1)
    predicted_count = matrix.sum(axis=0)
    present = support > 0
    seen = present | (predicted_count > 0)
    f1 = 2 * hits[seen] / (support[seen] + predicted_count[seen])
    return {
        "accuracy": float(hits.sum() / matrix.sum()),
        "balanced_accuracy": float(np.mean(hits[present] / support[present])),
        "macro_f1": float(np.mean(f1)),
        "confusion": matrix.tolist(),
    }


def balanced_class_weights(labels, n_classes: int) -> np.ndarray:
    """Loss weight per class, ``n / (classes present * count)``: every present class
    weighs the same in total; absent classes get weight 0 (they never occur)."""
    counts = np.bincount(np.asarray(labels), minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights
