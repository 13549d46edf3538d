"""Evaluation metrics for transport-mode predictions (trainer.transport.metrics)."""

import json
import math

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.trainer.transport.metrics import classification_metrics, plot_confusion, segment_accuracy, switches_per_hour

NAMES = ["still", "walk", "bus"]


class TestClassificationMetrics:
    def test_hand_computed_example(self):
        """Six windows: accuracy, confusion, per-class precision/recall/F1 and macro-F1 match hand counts."""
        y_true = np.array([0, 0, 0, 1, 1, 2])
        y_pred = np.array([0, 0, 1, 1, 2, 2])
        m = classification_metrics(y_true, y_pred, NAMES)
        assert m["accuracy"] == pytest.approx(4 / 6)
        assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
        # still: P 2/2 R 2/3 F1 0.8; walk: P 1/2 R 1/2 F1 0.5; bus: P 1/2 R 1 F1 2/3
        assert m["per_class"]["still"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
        assert m["per_class"]["walk"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
        assert m["per_class"]["bus"]["f1"] == pytest.approx(2 / 3)
        assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
        assert m["label_names"] == NAMES and m["n_windows"] == 6 and m["absent_classes"] == []

    def test_agrees_with_sklearn_on_random_labels(self):
        """Accuracy, macro-F1 and confusion equal scikit-learn's when every class is present."""
        from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

        rng = np.random.default_rng(0)
        y_true, y_pred = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
        m = classification_metrics(y_true, y_pred, NAMES)
        assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
        assert m["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
        assert m["confusion_matrix"] == confusion_matrix(y_true, y_pred, labels=[0, 1, 2]).tolist()

    def test_class_absent_from_test_set(self):
        """An absent class has recall None, counts its false positives, and is left out of macro-F1."""
        m = classification_metrics(np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1]), NAMES)
        bus = m["per_class"]["bus"]
        assert bus["support"] == 0 and bus["recall"] is None and bus["precision"] == 0.0 and bus["f1"] == 0.0
        assert m["absent_classes"] == ["bus"]
        assert m["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2)  # still: P 1 R 1/2; walk perfect

    def test_class_never_seen_nor_predicted(self):
        """A class neither present nor predicted has precision, recall and F1 None; JSON works."""
        m = classification_metrics(np.array([0, 1]), np.array([0, 1]), NAMES)
        assert m["per_class"]["bus"] == {"precision": None, "recall": None, "f1": None, "support": 0}
        assert m["macro_f1"] == 1.0
        json.dumps(m)

    def test_empty_input(self):
        """No windows: accuracy and macro-F1 None, zero confusion matrix."""
        m = classification_metrics(np.array([], int), np.array([], int), NAMES)
        assert m["accuracy"] is None and m["macro_f1"] is None
        assert m["confusion_matrix"] == [[0] * 3] * 3

    @pytest.mark.parametrize(
        "y_true,y_pred",
        [([0, 1], [0]), ([0, 3], [0, 1]), ([-1, 0], [0, 0]), ([0.0, 1.0], [0, 1]), ([[0, 1]], [[0, 1]])],
    )
    def test_classification_metrics_fails_with_bad_labels(self, y_true, y_pred):
        """Length mismatch, out-of-range, unknown (-1), float or 2-D labels raise InputError."""
        with pytest.raises(InputError):
            classification_metrics(np.array(y_true), np.array(y_pred), NAMES)


class TestSwitchesPerHour:
    def test_hand_built_sequence(self):
        """0,0,1,1,1,2,2,0 has 3 switches in 8 windows × 5 s = 40 s → 270 per hour."""
        assert switches_per_hour(np.array([0, 0, 1, 1, 1, 2, 2, 0]), hop_s=5.0) == pytest.approx(3 / 40 * 3600)

    def test_no_switch_across_recordings(self):
        """Two constant recordings of different classes have no switch; durations add up."""
        assert switches_per_hour([np.zeros(10, int), np.ones(10, int)], hop_s=5.0) == 0.0
        rate = switches_per_hour([np.array([0, 1]), np.array([1, 1, 1, 1])], hop_s=[10.0, 5.0])
        assert rate == pytest.approx(1 / 40 * 3600)

    def test_empty_is_nan_and_bad_hop_fails(self):
        """No windows → nan; hop_s ≤ 0 or a hop list of the wrong length raise InputError."""
        assert math.isnan(switches_per_hour([], hop_s=5.0))
        with pytest.raises(InputError):
            switches_per_hour(np.array([0, 1]), hop_s=0.0)
        with pytest.raises(InputError):
            switches_per_hour([np.array([0, 1])], hop_s=[5.0, 5.0])


class TestSegmentAccuracy:
    def test_time_weighted_over_recordings(self):
        """3 of 4 windows right at 5 s, 1 of 2 right at 10 s: (15 + 10) / (20 + 20) of the time."""
        true = [np.array([0, 0, 1, 1]), np.array([2, 2])]
        pred = [np.array([0, 0, 1, 0]), np.array([2, 0])]
        assert segment_accuracy(true, pred, hop_s=[5.0, 10.0]) == pytest.approx(25 / 40)
        assert segment_accuracy(true, pred, hop_s=5.0) == pytest.approx(4 / 6)

    def test_unknown_time_is_left_out(self):
        """Windows with true label -1 count neither as right nor as labelled time; all unknown → nan."""
        assert segment_accuracy(np.array([0, -1, 1]), np.array([0, 0, 0]), hop_s=5.0) == pytest.approx(0.5)
        assert math.isnan(segment_accuracy(np.array([-1, -1]), np.array([0, 0]), hop_s=5.0))

    def test_segment_accuracy_fails_with_mismatched_lengths(self):
        """A recording whose true and predicted lengths differ raises InputError."""
        with pytest.raises(InputError):
            segment_accuracy([np.array([0, 1])], [np.array([0])], hop_s=5.0)


class TestPlotConfusion:
    def test_writes_a_png(self, tmp_path):
        """plot_confusion writes a PNG file (checked by its signature)."""
        m = classification_metrics(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), NAMES)
        path = plot_confusion(m, tmp_path / "cm.png", title="test")
        data = open(path, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000

    def test_fails_without_confusion_matrix(self, tmp_path):
        """A dict without confusion_matrix raises InputError."""
        with pytest.raises(InputError):
            plot_confusion({"label_names": NAMES}, tmp_path / "cm.png")
