"""What kind of place a place is (school, shop, gym, eating out, leisure, other), on the device.

Home and work come from :func:`~sdk.timeline.places.label_home_work` (night and working-hours
dwell). Every other place is categorised here from its *visit statistics* in the person's own
timeline: when they arrive (hour of day, weekday), how long they stay and how regularly, how often
they come, how far the trip that reaches it is and by which modes. No map data is needed; an app
that has map data can answer instead through a :class:`PlaceCategoryProvider`.

The classifier is a small random forest shipped as JSON (``edge_models/artifacts/
place_categories.json``): trees as flat arrays, evaluated with numpy. The file carries the sha256 of
its trees, its version and its held-out metrics; :func:`load_place_category_model` refuses a file
whose trees do not match their sha256.

Features are computed from timeline events (:class:`~sdk.io.timeline_file.Event`: visits with a
``place_id``, transport events with a mode), so the same code runs on the phone's timeline and on a
simulated one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path
from typing import Optional, Protocol, Sequence, runtime_checkable

import numpy as np

from momentsense.sdk.errors import InputError, ModelError

#: Categories the classifier says, besides home and work (decided by night/working-hours dwell).
CATEGORIES: tuple[str, ...] = ("school", "shop", "gym", "eating_out", "leisure", "other")
#: The classifier's classes: the categories and ``work`` (a second workplace, or the work-rule
#: place of someone who works there rather than studies).
MODEL_CLASSES: tuple[str, ...] = CATEGORIES + ("work",)
#: Timeline vocabulary (:data:`sdk.io.timeline_file.PLACE_CATEGORIES`) label of each category, so
#: next-event and segment models keep their inputs: eating out is ``restaurant``, leisure ``park``.
TIMELINE_LABEL = {"school": "school", "shop": "shop", "gym": "gym", "eating_out": "restaurant", "leisure": "park",
                  "other": "other", "home": "home", "work": "work"}  # fmt: skip
#: True simulator place labels -> the category the device is asked to find.
TRUE_CATEGORY = {"school": "school", "shop": "shop", "gym": "gym", "bar": "eating_out", "restaurant": "eating_out",
                 "park": "leisure", "friend": "leisure", "travel": "other", "other": "other",
                 "home": "home", "work": "work"}  # fmt: skip
#: Nominal speed per mode to estimate a trip's length from its legs, km/h (the phone has GPS trip
#: distances; a timeline file has only durations).
MODE_SPEED_KMH = {"walk": 4.8, "run": 10.0, "bike": 15.0, "car": 32.0, "bus": 17.0, "train": 45.0, "subway": 28.0}
PUBLIC = ("bus", "train", "subway")
FORMAT = "momentsense-place-categories-v1"
DAY_S = 86400.0
WEEK_S = 7 * DAY_S
_MONDAY_S = 1767571200.0  # any Monday midnight UTC: weekday = floor((t - it) / day) mod 7

FEATURE_NAMES: tuple[str, ...] = (
    "visits_per_week", "log_n_visits", "log_dwell_median_min", "log_dwell_mean_min", "log_dwell_max_min",
    "dwell_cv", "arr_h0_4", "arr_h4_8", "arr_h8_12", "arr_h12_16", "arr_h16_20", "arr_h20_24",
    "arrival_hour_std_h", "arrival_hour_mean_sin", "arrival_hour_mean_cos", "weekend_share", "top_weekday_share",
    "weeks_present_share", "log_trip_km", "arrive_walk", "arrive_run", "arrive_bike", "arrive_car", "arrive_public",
    "from_home_share", "from_work_share", "night_dwell_share", "leave_hour_mean_sin", "leave_hour_mean_cos",
)  # fmt: skip


@runtime_checkable
class PlaceCategoryProvider(Protocol):
    """An app's map lookup: a category for a place from its coarse location.

    ``category(lat, lon)`` gets the place centre rounded to ``coarse_decimals`` decimals (about 1 km
    at 2) and returns one of :data:`MODEL_CLASSES` or ``None`` (unknown: the classifier decides). It is
    only called while location consent is given, and its answer is stored as the place's category
    only: the coordinates it saw are never sent upstream by the SDK.
    """

    def category(self, lat: float, lon: float) -> Optional[str]: ...


@dataclasses.dataclass(frozen=True)
class PlaceCategory:
    """A place's category and where it came from.

    Attributes:
        place_id: The place.
        category: One of :data:`MODEL_CLASSES`.
        confidence: Share of the forest's trees (or 1.0 for a provider answer), 0..1.
        source: ``"classifier"`` or ``"provider"``.
    """

    place_id: str
    category: str
    confidence: float
    source: str


def _circ(hours: np.ndarray) -> tuple[float, float, float]:
    """Mean direction (sin, cos) and circular std (hours) of clock hours."""
    a = 2 * np.pi * hours / 24.0
    s, c = float(np.mean(np.sin(a))), float(np.mean(np.cos(a)))
    r = min(max(math.hypot(s, c), 1e-9), 1.0)
    return s, c, float(math.sqrt(-2 * math.log(r)) * 24.0 / (2 * np.pi))


def place_features(events: Sequence, tz_offset_s: float = 0.0, home_id: str = "", work_id: str = "") -> dict:
    """Feature vector of every visited place of one person, in :data:`FEATURE_NAMES` order.

    Parameters
    ----------
    events : sequence of Event
        One person's timeline in time order (``kind`` ``visit`` with ``place_id``, or ``transport``
        with the mode as ``label``); other attributes are ignored.
    tz_offset_s : float
        Local time minus UTC, s.
    home_id, work_id : str
        The places labelled home and work (``""`` if none), for the from-home/from-work shares.

    Returns
    -------
    dict
        ``place_id -> ndarray (len(FEATURE_NAMES),) float32``.
    """
    visits: dict = {}
    legs: list = []  # transport legs since the last visit
    prev_place = ""
    t_first = t_last = None
    for i, e in enumerate(events):
        if e.end < e.start:
            raise InputError(f"events[{i}] ends before it starts ({e.start!r} > {e.end!r})")
        t_first = e.start if t_first is None else t_first
        t_last = e.end
        if e.kind == "transport":
            legs.append((e.label, e.end - e.start))
        elif e.kind == "visit":
            if not e.place_id:
                raise InputError(f"events[{i}] is a visit without a place_id")
            km = sum(MODE_SPEED_KMH.get(m, 20.0) * d / 3600.0 for m, d in legs)
            modes = {m for m, _ in legs}
            visits.setdefault(e.place_id, []).append((e.start, e.end, km, modes, prev_place, bool(legs)))
            prev_place, legs = e.place_id, []
        else:
            raise InputError(f"events[{i}].kind must be 'visit' or 'transport', got {e.kind!r}")
    out = {}
    if t_first is None:
        return out
    weeks = max((t_last - t_first) / WEEK_S, 1.0)
    for pid, vs in visits.items():
        st = np.array([v[0] for v in vs]) + tz_offset_s
        en = np.array([v[1] for v in vs]) + tz_offset_s
        dwell_min = np.maximum(en - st, 0.0) / 60.0
        hours = np.mod(st, DAY_S) / 3600.0
        leave_h = np.mod(en, DAY_S) / 3600.0
        dow = np.floor((st - _MONDAY_S) / DAY_S).astype(np.int64) % 7
        week = np.floor((st - _MONDAY_S) / WEEK_S).astype(np.int64)
        arrived = [v for v in vs if v[5]]
        n_arr = max(len(arrived), 1)
        s, c, sd = _circ(hours)
        ls, lc, _ = _circ(leave_h)
        night = 0.0
        for a, b in zip(st, en):  # dwell inside 22:00-06:00 local
            d0 = math.floor(a / DAY_S) - 1
            for d in range(d0, int(math.floor(b / DAY_S)) + 1):
                w0, w1 = d * DAY_S + 22 * 3600.0, d * DAY_S + 30 * 3600.0
                night += max(0.0, min(b, w1) - max(a, w0))
        total = float(np.sum(en - st))
        hist = np.bincount(np.minimum((hours // 4).astype(np.int64), 5), minlength=6) / len(vs)
        km = [v[2] for v in arrived]
        f = [
            len(vs) / weeks, math.log1p(len(vs)), math.log1p(float(np.median(dwell_min))), math.log1p(float(np.mean(dwell_min))),
            math.log1p(float(np.max(dwell_min))), float(np.std(dwell_min) / max(np.mean(dwell_min), 1e-6)), *hist.tolist(),
            sd, s, c, float(np.mean(dow >= 5)), float(np.bincount(dow, minlength=7).max() / len(vs)),
            min(len(set(week.tolist())) / weeks, 1.0), math.log1p(float(np.median(km)) if km else 0.0),
            *[sum(m in v[3] for v in arrived) / n_arr for m in ("walk", "run", "bike", "car")],
            sum(any(m in PUBLIC for m in v[3]) for v in arrived) / n_arr,
            float(np.mean([v[4] == home_id and home_id != "" for v in vs])),
            float(np.mean([v[4] == work_id and work_id != "" for v in vs])),
            night / total if total > 0 else 0.0, ls, lc,
        ]  # fmt: skip
        out[pid] = np.asarray(f, np.float32)
    return out


@dataclasses.dataclass(frozen=True)
class PlaceCategoryModel:
    """A random forest over :data:`FEATURE_NAMES` (flat tree arrays, numpy inference).

    Attributes:
        version: Semantic version of the shipped model.
        classes: Output classes, :data:`MODEL_CLASSES` order.
        trees: Per tree ``(feature, threshold, left, right, value)`` arrays; a leaf has
            ``feature == -1`` and ``value`` (n_classes) class shares.
        metrics: Held-out metrics recorded at training.
        source: What it was trained on.
    """

    version: str
    classes: tuple
    trees: tuple
    metrics: dict
    source: str = ""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class shares, shape ``(n, len(classes))``, for feature rows ``x`` ``(n, len(FEATURE_NAMES))``."""
        x = np.atleast_2d(np.asarray(x, np.float64))
        if x.shape[1] != len(FEATURE_NAMES):
            raise InputError(f"place features need {len(FEATURE_NAMES)} columns, got {x.shape[1]}")
        rows = np.arange(len(x))
        p = np.zeros((len(x), len(self.classes)))
        for feat, thr, left, right, value in self.trees:
            node = np.zeros(len(x), np.int64)
            for _ in range(64):  # deeper than any shipped tree
                f = feat[node]
                inner = f >= 0
                if not inner.any():
                    break
                go_left = x[rows, np.maximum(f, 0)] <= thr[node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            p += value[node]
        return p / max(len(self.trees), 1)


def trees_payload(trees: Sequence) -> list:
    """JSON-ready trees (lists), the bytes whose sha256 the model file records."""
    return [{"feature": np.asarray(f).astype(int).tolist(), "threshold": np.asarray(t, float).round(6).tolist(),
             "left": np.asarray(l_).astype(int).tolist(), "right": np.asarray(r).astype(int).tolist(),
             "value": np.asarray(v, float).round(5).tolist()} for f, t, l_, r, v in trees]  # fmt: skip


def trees_sha256(payload: list) -> str:
    """sha256 of the canonical JSON of the trees (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def load_place_category_model(path: str | Path | None = None) -> PlaceCategoryModel:
    """Read and verify a place-category model file (default: the shipped one).

    Raises :class:`ModelError` naming the file when it is missing, not this format, or its trees
    do not match the recorded sha256 or feature list.
    """
    if path is None:
        from momentsense.sdk.models.shipped import artifact_dir

        path = artifact_dir() / "place_categories.json"
    p = Path(path)
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"{p}: cannot read the place-category model ({e})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ModelError(f"{p}: not a {FORMAT} file")
    if list(d.get("feature_names", [])) != list(FEATURE_NAMES) or tuple(d.get("classes", ())) != MODEL_CLASSES:
        raise ModelError(f"{p}: trained on other features or categories than this SDK computes")
    payload = d.get("trees", [])
    if trees_sha256(payload) != d.get("sha256"):
        raise ModelError(f"{p}: the trees do not match the sha256 in the file (corrupt or edited)")
    trees = tuple((np.array(t["feature"], np.int64), np.array(t["threshold"], np.float64), np.array(t["left"], np.int64),
                   np.array(t["right"], np.int64), np.array(t["value"], np.float64)) for t in payload)  # fmt: skip
    return PlaceCategoryModel(str(d.get("version", "")), MODEL_CLASSES, trees, dict(d.get("metrics", {})), str(d.get("source", "")))


def categorise_places(
    events: Sequence,
    model: PlaceCategoryModel,
    home_id: str = "",
    work_id: str = "",
    tz_offset_s: float = 0.0,
    provider: Optional[PlaceCategoryProvider] = None,
    locations: Optional[dict] = None,
    location_consent: bool = False,
    coarse_decimals: int = 2,
) -> dict:
    """Category of every visited place except home and work.

    Parameters
    ----------
    events : sequence of Event
        One person's timeline (see :func:`place_features`).
    model : PlaceCategoryModel
    home_id, work_id : str
        Places already labelled home / work (not categorised).
    tz_offset_s : float
        Local time minus UTC, s.
    provider : PlaceCategoryProvider, optional
        Asked first, with the coarse location from ``locations`` (``place_id -> (lat, lon)``), only
        when ``location_consent`` is true; its ``None`` or an unknown category falls back to the model.
    coarse_decimals : int
        Decimals the location is rounded to before the provider sees it.

    Returns
    -------
    dict
        ``place_id -> PlaceCategory``.
    """
    feats = place_features(events, tz_offset_s, home_id, work_id)
    ids = [pid for pid in feats if pid not in (home_id, work_id)]
    out = {}
    if provider is not None and location_consent and locations:
        for pid in ids:
            if pid in locations:
                lat, lon = locations[pid]
                cat = provider.category(round(float(lat), coarse_decimals), round(float(lon), coarse_decimals))
                if cat in MODEL_CLASSES:
                    out[pid] = PlaceCategory(pid, cat, 1.0, "provider")
    rest = [pid for pid in ids if pid not in out]
    if rest:
        proba = model.predict_proba(np.stack([feats[pid] for pid in rest]))
        for pid, p in zip(rest, proba):
            k = int(np.argmax(p))
            out[pid] = PlaceCategory(pid, MODEL_CLASSES[k], float(p[k]), "classifier")
    return out
