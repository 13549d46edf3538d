"""The product's earlier transport classifiers, as baselines on the same split as the CNN.

Both are :func:`trainer.transport.features.window_features` followed by a tree ensemble from
scikit-learn: :class:`RandomForestBaseline` and :class:`GradientBoostingBaseline`. They take the same
``(W, L, C)`` windows and int labels as the CNN and give ``(W, n_classes)`` probabilities in label
order, so every metric and the HMM smoother apply unchanged.

Size is reported two ways, so the CNN comparison is fair:

* ``n_params``: values an inference-only implementation must store. Per split node 4 (feature index,
  threshold, left and right child index); per leaf the values it outputs (the forest: ``n_classes``
  class probabilities; boosting: 1 raw score per tree, plus one baseline score per class).
  scikit-learn itself stores more per node (impurity, sample counts, ...), which the next number shows.
* ``bytes_on_disk``: the length of the bytes :meth:`save` writes (a pickle), measured by pickling.

Pickles run code when loaded: :meth:`load` only files you made.
"""

from __future__ import annotations

import os
import pickle
from typing import Any, Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError, ModelError
from momentsense.trainer.transport.features import window_features

_FORMAT = "momentsense-transport-baseline-v1"


class _FeatureBaseline:
    """Features → scikit-learn classifier; subclasses choose the classifier and count its parameters."""

    kind = ""

    def __init__(self, fs_hz: float, channel_names: Sequence[str], seed: int = 0, **params: Any):
        if not (np.isfinite(fs_hz) and fs_hz > 0):
            raise InputError(f"fs_hz must be > 0, got {fs_hz!r}")
        self.fs_hz = float(fs_hz)
        self.channel_names = tuple(channel_names)
        self.seed = int(seed)
        self.params = dict(params)
        self.n_classes: Optional[int] = None
        self.classifier: Any = None
        self._classes: Optional[np.ndarray] = None

    def _make_classifier(self) -> Any:
        raise NotImplementedError

    def features(self, windows_x: np.ndarray) -> np.ndarray:
        """Feature matrix ``(W, F)`` float32 of windows ``(W, L, C)``."""
        return window_features(windows_x, self.fs_hz, self.channel_names)[0]

    def fit(self, windows_x: np.ndarray, y: np.ndarray, n_classes: Optional[int] = None) -> "_FeatureBaseline":
        """Train on windows.

        Parameters
        ----------
        windows_x : ndarray ``(W, L, C)``
            Windows at ``fs_hz``, channels in ``channel_names`` order (unnormalised is fine: trees
            do not care about scale).
        y : ndarray int ``(W,)``
            Class index per window, in ``[0, n_classes)``.
        n_classes : int, optional
            Number of classes of the label set (default ``max(y) + 1``); classes missing from `y`
            get probability 0.

        Returns
        -------
        self
        """
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(windows_x):
            raise InputError(f"y must have shape ({len(windows_x)},), got {y.shape}")
        if len(y) == 0:
            raise InputError("cannot fit a baseline on 0 windows")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise InputError(f"y must hold class indices ≥ 0, got dtype {y.dtype}, min {y.min()}")
        n = int(y.max()) + 1 if n_classes is None else int(n_classes)
        if y.max() >= n:
            raise InputError(f"y holds class {y.max()} but n_classes={n}")
        feats = self.features(windows_x)
        self.classifier = self._make_classifier()
        self.classifier.fit(feats, y)
        self._classes = np.asarray(self.classifier.classes_, np.int64)
        self.n_classes = n
        return self

    def _check_fitted(self) -> None:
        if self.classifier is None:
            raise ModelError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    def predict_proba(self, windows_x: np.ndarray) -> np.ndarray:
        """Class probabilities, float32 ``(W, n_classes)``, columns in label order."""
        self._check_fitted()
        feats = self.features(windows_x)
        out = np.zeros((len(feats), self.n_classes), np.float32)
        if len(feats):
            out[:, self._classes] = self.classifier.predict_proba(feats)
        return out

    def predict(self, windows_x: np.ndarray) -> np.ndarray:
        """Most probable class per window, int64 ``(W,)``."""
        return np.argmax(self.predict_proba(windows_x), axis=1).astype(np.int64)

    @property
    def n_params(self) -> int:
        """Stored values an inference-only implementation needs (see the module docstring)."""
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The exact bytes :meth:`save` writes."""
        self._check_fitted()
        state = {
            "format": _FORMAT,
            "kind": self.kind,
            "fs_hz": self.fs_hz,
            "channel_names": list(self.channel_names),
            "seed": self.seed,
            "params": self.params,
            "n_classes": self.n_classes,
            "classes": self._classes,
            "classifier": self.classifier,
        }
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @property
    def bytes_on_disk(self) -> int:
        """Size in bytes of the saved file (measured by pickling, not estimated)."""
        return len(self.to_bytes())

    def save(self, path: str | os.PathLike) -> int:
        """Write the fitted model to `path`; returns the number of bytes written."""
        data = self.to_bytes()
        with open(path, "wb") as fh:
            fh.write(data)
        return len(data)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "_FeatureBaseline":
        """Read a file written by :meth:`save`. Trusted files only (pickle).

        Called on a subclass the file must hold that kind; :func:`load_baseline` takes either.
        """
        with open(path, "rb") as fh:
            try:
                state = pickle.load(fh)
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
                raise ModelError(f"{path}: not a readable baseline pickle ({exc})") from exc
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ModelError(f"{path}: not a {_FORMAT} file")
        kinds = {k.kind: k for k in (RandomForestBaseline, GradientBoostingBaseline)}
        if state.get("kind") not in kinds or (cls.kind and state["kind"] != cls.kind):
            raise ModelError(f"{path}: holds a {state.get('kind')!r} baseline, not {cls.kind or 'a known kind'!r}")
        obj = kinds[state["kind"]](state["fs_hz"], state["channel_names"], seed=state["seed"], **state["params"])
        obj.n_classes = state["n_classes"]
        obj._classes = np.asarray(state["classes"], np.int64)
        obj.classifier = state["classifier"]
        return obj


class RandomForestBaseline(_FeatureBaseline):
    """Window features + ``RandomForestClassifier``.

    Parameters
    ----------
    fs_hz : float
        Sampling rate of the windows (Hz).
    channel_names : sequence of str
        Channel names of the windows' last axis.
    n_estimators : int, optional
        Number of trees.
    seed : int, optional
        ``random_state`` of the forest: same data and seed, same model.
    n_jobs : int, optional
        Worker processes for fit and predict.
    **params
        Further ``RandomForestClassifier`` arguments (e.g. ``min_samples_leaf``).
    """

    kind = "random_forest"

    def __init__(
        self, fs_hz: float, channel_names: Sequence[str], n_estimators: int = 200, seed: int = 0, n_jobs: int = 1, **params: Any
    ):
        super().__init__(fs_hz, channel_names, seed=seed, n_estimators=n_estimators, n_jobs=n_jobs, **params)

    def _make_classifier(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(random_state=self.seed, **self.params)

    @property
    def n_params(self) -> int:
        """4 per split node + ``n_classes`` (probabilities) per leaf, summed over the trees."""
        self._check_fitted()
        n_out = len(self._classes)
        total = 0
        for est in self.classifier.estimators_:
            tree = est.tree_
            n_leaves = int(np.count_nonzero(tree.children_left == -1))
            total += 4 * (tree.node_count - n_leaves) + n_out * n_leaves
        return total


class GradientBoostingBaseline(_FeatureBaseline):
    """Window features + ``HistGradientBoostingClassifier``.

    Parameters
    ----------
    fs_hz : float
        Sampling rate of the windows (Hz).
    channel_names : sequence of str
        Channel names of the windows' last axis.
    max_iter : int, optional
        Boosting rounds (one tree per class per round for more than two classes).
    learning_rate : float, optional
    seed : int, optional
        ``random_state``.
    **params
        Further ``HistGradientBoostingClassifier`` arguments. Early stopping is off by default:
        its random validation split would mix windows of one recording into both halves.
    """

    kind = "hist_gradient_boosting"

    def __init__(
        self,
        fs_hz: float,
        channel_names: Sequence[str],
        max_iter: int = 200,
        learning_rate: float = 0.1,
        seed: int = 0,
        **params: Any,
    ):
        params.setdefault("early_stopping", False)
        super().__init__(fs_hz, channel_names, seed=seed, max_iter=max_iter, learning_rate=learning_rate, **params)

    def _make_classifier(self) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(random_state=self.seed, **self.params)

    @property
    def n_params(self) -> int:
        """4 per split node + 1 (raw score) per leaf over every tree, + one baseline score per output."""
        self._check_fitted()
        # `_predictors` (list per round of one TreePredictor per output) is private in scikit-learn;
        # it has held the trees since HistGradientBoosting appeared (0.21).
        total = int(np.size(self.classifier._baseline_prediction))
        for round_trees in self.classifier._predictors:
            for predictor in round_trees:
                is_leaf = predictor.nodes["is_leaf"].astype(bool)
                total += 4 * int(np.count_nonzero(~is_leaf)) + int(np.count_nonzero(is_leaf))
        return total


def load_baseline(path: str | os.PathLike) -> _FeatureBaseline:
    """Load a :class:`RandomForestBaseline` or :class:`GradientBoostingBaseline`, whichever `path` holds."""
    return _FeatureBaseline.load(path)
