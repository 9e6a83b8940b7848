import numpy as np
import pytest

from workflow_scripts.nn.metrics import balanced_class_weights, classification_metrics, confusion_matrix


def test_confusion_matrix_rows_are_true_classes():
    assert confusion_matrix([0, 0, 1, 2], [0, 1, 1, 0], 3).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]


def test_metrics_on_a_hand_counted_example():
    # a classifier that never says the rare class 1: accuracy looks fine, balanced accuracy does not
    true = [0] * 8 + [1] * 2
    predicted = [0] * 10
    m = classification_metrics(true, predicted, 2)
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    # F1 class 0: 2*8/(8+10) = 0.888..; class 1: 0 -> macro 0.444..
    assert m["macro_f1"] == pytest.approx((16 / 18) / 2)
    assert m["confusion"] == [[8, 0], [2, 0]]


def test_balanced_accuracy_ignores_classes_absent_from_the_truth():
    m = classification_metrics([0, 0, 2], [0, 1, 2], 5)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)


def test_balanced_class_weights():
    weights = balanced_class_weights([0, 0, 0, 1], 3)
    assert weights.tolist() == pytest.approx([4 / 6, 2.0, 0.0])
    # every present class carries the same total weight
    counts = np.bincount([0, 0, 0, 1], minlength=3)
    assert (weights * counts)[:2].tolist() == pytest.approx([2.0, 2.0])
