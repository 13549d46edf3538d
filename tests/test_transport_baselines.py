"""Feature + tree-ensemble baselines (trainer.transport.baselines)."""

import pickle

import numpy as np
import pytest

from momentsense.sdk.errors import InputError, ModelError
from momentsense.trainer.transport.baselines import GradientBoostingBaseline, RandomForestBaseline, load_baseline

FS_HZ = 25.0
CHANNELS = ["lin_vert", "lin_horiz"]
N_CLASSES = 4  # class 3 never appears in training


def make_windows(rng, n_per_class, length=100):
    """Class 0: 1 Hz sine, class 1: 2.5 Hz sine, class 2: 6 Hz sine, random phase/amplitude, plus noise."""
    t = np.arange(length) / FS_HZ
    xs, ys = [], []
    for label, f_hz in enumerate((1.0, 2.5, 6.0)):
        amp = rng.uniform(0.5, 2.0, (n_per_class, 1, 1))
        phase = rng.uniform(0, 2 * np.pi, (n_per_class, 1, 2))
        x = amp * np.sin(2 * np.pi * f_hz * t[None, :, None] + phase) + rng.normal(0, 0.5, (n_per_class, length, 2))
        xs.append(x.astype(np.float32))
        ys.append(np.full(n_per_class, label, np.int64))
    perm = rng.permutation(3 * n_per_class)
    return np.concatenate(xs)[perm], np.concatenate(ys)[perm]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return make_windows(rng, 40), make_windows(rng, 30)


def make(kind):
    if kind == "forest":
        return RandomForestBaseline(FS_HZ, CHANNELS, n_estimators=40, seed=3)
    return GradientBoostingBaseline(FS_HZ, CHANNELS, max_iter=20, seed=3)


@pytest.fixture(scope="module", params=["forest", "boosting"])
def fitted(request, data):
    (x, y), _ = data
    return make(request.param).fit(x, y, n_classes=N_CLASSES)


class TestBaselines:
    def test_beats_chance_by_far(self, fitted, data):
        """On held-out windows of a separable 3-class problem accuracy is ≥ 0.9 (chance 1/3)."""
        _, (x_test, y_test) = data
        assert np.mean(fitted.predict(x_test) == y_test) >= 0.9

    def test_predict_proba_is_in_label_order(self, fitted, data):
        """Probabilities are (W, n_classes), rows sum to 1, and the unseen class 3 gets 0."""
        _, (x_test, _) = data
        p = fitted.predict_proba(x_test)
        assert p.shape == (len(x_test), N_CLASSES) and p.dtype == np.float32
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
        assert np.all(p[:, 3] == 0)
        assert fitted.predict_proba(x_test[:0]).shape == (0, N_CLASSES)

    def test_size_is_positive_and_bytes_match_the_saved_file(self, fitted, tmp_path):
        """n_params > 0; bytes_on_disk equals both the pickled bytes and the saved file's size."""
        assert fitted.n_params > 0
        path = tmp_path / "model.pkl"
        written = fitted.save(path)
        assert fitted.bytes_on_disk == written == path.stat().st_size == len(fitted.to_bytes()) > 0

    def test_save_load_round_trip_gives_identical_predictions(self, fitted, data, tmp_path):
        """A loaded model, through its own class or load_baseline, predicts the very same probabilities."""
        _, (x_test, _) = data
        path = tmp_path / "model.pkl"
        fitted.save(path)
        for loaded in (type(fitted).load(path), load_baseline(path)):
            assert type(loaded) is type(fitted)
            np.testing.assert_array_equal(loaded.predict_proba(x_test), fitted.predict_proba(x_test))
            assert loaded.n_params == fitted.n_params

    def test_same_seed_same_model(self, data):
        """Two forests with the same seed and data give the same probabilities."""
        (x, y), (x_test, _) = data
        a = make("forest").fit(x, y).predict_proba(x_test)
        b = make("forest").fit(x, y).predict_proba(x_test)
        np.testing.assert_array_equal(a, b)


class TestParameterCounts:
    def test_forest_n_params_counts_nodes(self, data):
        """Forest n_params = 4 per split node + n_classes per leaf, summed by hand over the trees."""
        (x, y), _ = data
        m = make("forest").fit(x, y)
        expected = 0
        for est in m.classifier.estimators_:
            leaves = int(np.sum(est.tree_.children_left == -1))
            expected += 4 * (est.tree_.node_count - leaves) + 3 * leaves
        assert m.n_params == expected

    def test_more_trees_more_params_and_bytes(self, data):
        """Doubling the number of trees about doubles n_params and grows the pickle."""
        (x, y), _ = data
        small = RandomForestBaseline(FS_HZ, CHANNELS, n_estimators=10, seed=1).fit(x, y)
        large = RandomForestBaseline(FS_HZ, CHANNELS, n_estimators=20, seed=1).fit(x, y)
        assert 1.6 < large.n_params / small.n_params < 2.4
        assert large.bytes_on_disk > small.bytes_on_disk


class TestErrors:
    def test_predict_fails_before_fit(self, data):
        """An unfitted baseline raises ModelError."""
        _, (x_test, _) = data
        with pytest.raises(ModelError):
            make("forest").predict_proba(x_test)

    def test_fit_fails_with_bad_labels(self, data):
        """Labels of the wrong length, negative, or ≥ n_classes raise InputError."""
        (x, y), _ = data
        with pytest.raises(InputError):
            make("forest").fit(x, y[:-1])
        with pytest.raises(InputError):
            make("forest").fit(x, y - 1)
        with pytest.raises(InputError):
            make("forest").fit(x, y, n_classes=2)

    def test_load_fails_with_wrong_kind_or_foreign_pickle(self, data, tmp_path):
        """Loading a boosting file as a forest, or any other pickle, raises ModelError."""
        (x, y), _ = data
        path = tmp_path / "gb.pkl"
        GradientBoostingBaseline(FS_HZ, CHANNELS, max_iter=3).fit(x, y).save(path)
        with pytest.raises(ModelError):
            RandomForestBaseline.load(path)
        other = tmp_path / "other.pkl"
        other.write_bytes(pickle.dumps({"a": 1}))
        with pytest.raises(ModelError):
            load_baseline(other)
