"""The phone view of a simulated timeline: what the SDK would have recorded for the same life.

The simulator writes *true* timelines (exact modes, eleven place types). The device sees less:

* modes as the transport model detects them: each transport leg's mode is drawn from the row of its
  true mode in a per-second confusion matrix (:class:`ModeConfusion`, read from JSON); a leg read
  as ``still`` merges into the trip's other legs, and a trip read wholly as ``still`` has no mode
  (the timeline has a gap there, as :func:`sdk.insights.timeline_events` leaves one);
* visit boundaries where the stay-point detector puts them: a stay begins at the first fix within
  its radius and ends at the last, so the detected visit starts up to ``arrival_early_s`` before
  the true arrival and ends up to ``departure_late_s`` after the true departure (uniform; measured
  end to end: ``scripts/validate_phone_view.py``), the time coming from the trips;
* visits shorter than the SDK's stay time threshold (:class:`sdk.timeline.stay_points.StayPointParams`
  ``time_threshold_s``) are not visits on the phone: the trips before and after become one trip;
  legs shorter than :data:`sdk.timeline.trips.MIN_MODE_S` join the leg before them, and bus/train/
  subway legs under :data:`sdk.insights.MIN_PUBLIC_LEG_S` and runs under ``MIN_RUN_S`` are dropped
  as the SDK drops them;
* places labelled home/work by :func:`sdk.timeline.places.label_home_work` and every other place by
  the device's place-category classifier (:mod:`sdk.timeline.place_categories`), written with the
  timeline vocabulary (eating out as ``restaurant``, leisure as ``park``).

Places keep the simulator's ids (the phone's place clustering is assumed to find the same places).
Each user's true place labels are kept in ``truth[user]["place_labels"]`` for evaluation; transport
events keep the ground-truth moment of the leg they mostly came from. Categories are decided from
the user's whole file (the device decides from its last four weeks).
"""

from __future__ import annotations

import dataclasses
import json
import random
import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.insights import MIN_PUBLIC_LEG_S, MIN_RUN_S
from momentsense.sdk.records import PUBLIC_MODES, TRANSPORT_MODES
from momentsense.sdk.timeline.place_categories import TIMELINE_LABEL, PlaceCategoryModel, categorise_places
from momentsense.sdk.timeline.places import label_home_work
from momentsense.sdk.timeline.records import Place, Visit
from momentsense.sdk.timeline.stay_points import StayPointParams
from momentsense.sdk.timeline.trips import MIN_MODE_S
from momentsense.sdk.io.timeline_file import KINDS, LABELS, MOMENTS, Event, Timeline

#: The default confusion: the shipped transport model's test windows (simulator test file), rows =
#: true mode, columns = detected mode, in TRANSPORT_MODES order (edge_models/artifacts/transport_cnn.metrics.json).
DEFAULT_CONFUSION_PATH = Path(__file__).with_name("transport_confusion_default.json")
PHONE_VIEW_VERSION = "phone-view 1.0"


@dataclasses.dataclass(frozen=True)
class ModeConfusion:
    """Detected-mode probabilities per true mode.

    Attributes:
        modes: Column (detected) and row (true) names, a subset of the SDK's transport modes.
        p: Row-normalised matrix ``(len(modes), len(modes))``.
        source: Where the counts come from.
    """

    modes: tuple
    p: np.ndarray
    source: str = ""

    @classmethod
    def from_json(cls, path: str | Path) -> "ModeConfusion":
        """Read ``{"labels": [...], "confusion": [[...]], "source": str}`` (counts or shares).

        ``labels`` may instead be ``label_names`` or ``classes`` (the model's mode names); a
        ``stream.confusion_seconds`` block of ``eval transport --stream --json`` output is read too.
        """
        p = Path(path)
        try:
            d = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"{p}: cannot read a confusion matrix ({e})") from None
        if isinstance(d, dict) and isinstance(d.get("stream"), dict) and "confusion_seconds" in d["stream"]:
            d = {**d["stream"], "confusion": d["stream"]["confusion_seconds"],
                 "labels": d["stream"].get("labels", d.get("labels", d.get("label_names", d.get("classes"))))}  # fmt: skip
        if not isinstance(d, dict):
            raise InputError(f"{p}: expected a JSON object with 'labels' and 'confusion'")
        labels = d.get("labels") or d.get("label_names") or d.get("classes")
        mat = d.get("confusion", d.get("confusion_matrix"))
        if not labels or mat is None:
            raise InputError(f"{p}: needs 'labels' (the model's mode names) and 'confusion' (rows true, columns detected)")
        unknown = [m for m in labels if m not in TRANSPORT_MODES]
        if unknown:
            raise InputError(f"{p}: unknown modes {unknown}; expected names from {list(TRANSPORT_MODES)}")
        a = np.asarray(mat, np.float64)
        if a.shape != (len(labels), len(labels)) or not np.all(np.isfinite(a)) or (a < 0).any():
            raise InputError(f"{p}: confusion must be a {len(labels)}x{len(labels)} matrix of finite counts >= 0")
        rows = a.sum(axis=1, keepdims=True)
        a = np.where(rows > 0, a / np.where(rows > 0, rows, 1.0), np.eye(len(labels)))
        return cls(tuple(labels), a, str(d.get("source", p.name)))

    def draw(self, mode: str, rng: random.Random) -> str:
        """A detected mode for a leg of true ``mode`` (a mode the matrix lacks is read correctly)."""
        if mode not in self.modes:
            return mode
        row = self.p[self.modes.index(mode)]
        u, acc = rng.random(), 0.0
        for m, q in zip(self.modes, row):
            acc += q
            if u < acc:
                return m
        return mode


@dataclasses.dataclass(frozen=True)
class PhoneViewOptions:
    """Options of :func:`phone_view` (seconds).

    Attributes:
        arrival_early_s: A visit's detected start is up to this before the true arrival (uniform).
        departure_late_s: A visit's detected end is up to this after the true departure (uniform).
        min_visit_s: Shorter detected visits are lost (default: the SDK's stay time threshold).
        min_leg_s: Shorter legs join the leg before (default: the trip builder's ``MIN_MODE_S``).
        seed: Seed of the draws (per user it is combined with the user id).
    """

    arrival_early_s: float = 100.0
    departure_late_s: float = 130.0
    min_visit_s: float = StayPointParams().time_threshold_s
    min_leg_s: float = MIN_MODE_S
    seed: int = 0


def user_phone_events(events: list, conf: ModeConfusion, opt: PhoneViewOptions, rng: random.Random) -> list:
    """One user's true events -> phone events (visits unlabelled: label ``other``)."""
    visits = [e for e in events if e.kind == "visit"]
    kept = []
    for k, v in enumerate(visits):
        a = v.start - (rng.uniform(0, opt.arrival_early_s) if k > 0 else 0.0)
        b = v.end + (rng.uniform(0, opt.departure_late_s) if k < len(visits) - 1 else 0.0)
        if kept:
            a = max(a, kept[-1].end)  # a short trip cannot make the visits overlap
        if b - a >= opt.min_visit_s or k in (0, len(visits) - 1):
            if kept and kept[-1].place_id == v.place_id and a - kept[-1].end < opt.min_visit_s:
                kept[-1] = dataclasses.replace(kept[-1], end=b)  # same place again, nothing in between seen
            else:
                kept.append(dataclasses.replace(v, start=a, end=max(a, b), label="other"))
    legs = [e for e in events if e.kind == "transport"]
    out, j = [], 0
    for k, v in enumerate(kept):
        out.append(v)
        if k + 1 == len(kept):
            break
        t0, t1 = v.end, kept[k + 1].start
        trip = []
        while j < len(legs) and legs[j].start < t1:
            if legs[j].end > t0:
                trip.append(legs[j])
            j += 1
        out.extend(_trip_legs(trip, t0, t1, conf, opt, rng))
    return out


def _trip_legs(trip: list, t0: float, t1: float, conf: ModeConfusion, opt: PhoneViewOptions, rng: random.Random) -> list:
    """The detected legs of one trip filling ``[t0, t1]`` (dropped visits and delays go to the legs)."""
    if not trip or t1 <= t0:
        return []
    pieces = []  # [start, end, mode, moment]
    for e in trip:
        pieces.append([max(e.start, t0), min(e.end, t1), conf.draw(e.label, rng), e.moment])
    pieces[0][0], pieces[-1][1] = t0, t1
    for a, b in zip(pieces, pieces[1:]):
        a[1] = b[0]  # time between legs (a lost visit) goes to the leg before
    pieces = [q for q in pieces if q[2] != "still"]
    if not pieces:
        return []  # the whole trip read as still: no mode, a gap in the timeline
    pieces[0][0], pieces[-1][1] = t0, t1
    for a, b in zip(pieces, pieces[1:]):
        a[1] = b[0]
    merged = []
    for q in pieces:
        if merged and (merged[-1][2] == q[2] or q[1] - q[0] < opt.min_leg_s):
            keep_moment = merged[-1][3] if merged[-1][1] - merged[-1][0] >= q[1] - q[0] else q[3]
            merged[-1][1], merged[-1][3] = q[1], keep_moment
        else:
            merged.append(q)
    out = []
    for a, b, mode, moment in merged:
        if (mode in PUBLIC_MODES and b - a < MIN_PUBLIC_LEG_S) or (mode == "run" and b - a < MIN_RUN_S):
            continue  # the SDK drops these as misreads
        out.append(Event(a, b, "transport", mode, "", "", moment))
    return out


def label_user_places(events: list, model: PlaceCategoryModel, tz_offset_s: float = 0.0) -> dict:
    """``place_id -> timeline label`` as the device labels them: home/work by dwell, others by ``model``.

    The place the home/work rule calls work is categorised too: a school day looks like a work day,
    so a ``school`` answer there wins.
    """
    visits = [Visit(e.start, e.end, e.place_id, 0.0, 0.0) for e in events if e.kind == "visit"]
    ids = sorted({v.place_id for v in visits})
    if not ids:
        return {}
    places = [Place(pid, 0.0, 0.0, 0.0, 0, 0.0) for pid in ids]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hw = {p.place_id: p.label for p in label_home_work(places, visits, tz_offset_s)}
    home = next((pid for pid, lab in hw.items() if lab == "home"), "")
    work = next((pid for pid, lab in hw.items() if lab == "work"), "")
    cats = categorise_places(events, model, home, "", tz_offset_s)
    out = {}
    for pid in ids:
        if pid == home:
            out[pid] = "home"
        elif pid == work:
            out[pid] = "school" if cats[pid].category == "school" else "work"
        else:
            out[pid] = TIMELINE_LABEL[cats[pid].category]
    return out


def phone_view(tl: Timeline, model: Optional[PlaceCategoryModel], confusion: ModeConfusion,
               options: PhoneViewOptions = PhoneViewOptions(), where: str = "timeline") -> Timeline:  # fmt: skip
    """The phone view of every user of ``tl`` (see the module docstring).

    ``model=None`` leaves every non-home/work place ``other`` (the SDK without place categories).
    Raises :class:`InputError` naming ``where`` when a visit has no ``place_id``.
    """
    bad = (tl.kind == 0) & (tl.place_id < 0)
    if bad.any():
        raise InputError(f"{where}: {int(bad.sum())} visits have no place_id; the phone view needs the places of visits")
    rows, truth = [], {}
    for u, uid in enumerate(tl.users):
        ev = tl.events(u)
        rng = random.Random(f"{options.seed}:{uid}")
        phone = user_phone_events(ev, confusion, options, rng)
        if model is not None:
            labels = label_user_places(phone, model)
        else:
            labels = home_work_labels(phone)
        phone = [dataclasses.replace(e, label=labels[e.place_id]) if e.kind == "visit" else e for e in phone]
        rows.extend(dataclasses.replace(e, user=uid) for e in phone)
        t = dict(tl.truth.get(uid, {}))
        t["place_labels"] = {e.place_id: e.label for e in ev if e.kind == "visit"}
        truth[uid] = t
    src = f"{tl.source}; {PHONE_VIEW_VERSION} (modes: {confusion.source}; seed={options.seed}; arrival_early_s={options.arrival_early_s}; departure_late_s={options.departure_late_s})"
    return _to_timeline(rows, list(tl.users), truth, src)


def home_work_labels(events: list) -> dict:
    """``place_id -> home/work/other`` by the SDK's dwell rule alone (no place categories)."""
    visits = [Visit(e.start, e.end, e.place_id, 0.0, 0.0) for e in events if e.kind == "visit"]
    ids = sorted({v.place_id for v in visits})
    places = [Place(pid, 0.0, 0.0, 0.0, 0, 0.0) for pid in ids]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {p.place_id: p.label for p in label_home_work(places, visits)} if ids else {}


def _to_timeline(rows: list, users: list, truth: dict, source: str) -> Timeline:
    uidx = {u: i for i, u in enumerate(users)}
    names = sorted({e.place_id for e in rows if e.place_id})
    pidx = {p: i for i, p in enumerate(names)}
    kidx, lidx, midx = ({k: i for i, k in enumerate(v)} for v in (KINDS, LABELS, MOMENTS))
    n = len(rows)
    col = lambda f, dt: np.fromiter((f(e) for e in rows), dt, n)  # noqa: E731
    return Timeline(users, col(lambda e: uidx[e.user], np.int32), col(lambda e: e.start, np.float64),
                    col(lambda e: e.end, np.float64), col(lambda e: kidx[e.kind], np.int8),
                    col(lambda e: lidx[e.label], np.int16), col(lambda e: pidx.get(e.place_id, -1), np.int32), names,
                    col(lambda e: midx.get(e.moment, -1), np.int16), truth, source)  # fmt: skip


def write_default_confusion(metrics_path: str | Path, out: str | Path = DEFAULT_CONFUSION_PATH) -> Path:
    """Write the default confusion JSON from a transport model's metrics file (its test windows)."""
    d = json.loads(Path(metrics_path).read_text())
    doc = {"labels": d["label_names"], "confusion": d["confusion_matrix"],
           "source": f"{Path(metrics_path).name}: confusion_matrix of the test windows ({d.get('test_data', '?')}), "
                     "10 s windows before smoothing, counts"}  # fmt: skip
    Path(out).write_text(json.dumps(doc, indent=1) + "\n")
    return Path(out)


def load_view(path: str, view: str = "phone", confusion: Optional[str] = None, place_model: Optional[str] = None,
              seed: int = 0, max_users: Optional[int] = None) -> Timeline:  # fmt: skip
    """Read a timeline file as ``view`` ``phone`` (transformed unless it already is a phone view) or ``truth``.

    ``confusion``: a confusion JSON (default :data:`DEFAULT_CONFUSION_PATH`); ``place_model``: a
    place-category model file (default: the shipped one). ``max_users``: only the first N users.
    Raises :class:`InputError` naming the file for an unknown view, or for ``truth`` asked of a
    phone-view file (the truth is no longer in it).
    """
    from momentsense.sdk.timeline.place_categories import load_place_category_model
    from momentsense.sdk.io.timeline_file import read_timeline

    if view not in ("phone", "truth"):
        raise InputError(f"--view must be 'phone' or 'truth', got {view!r}")
    tl = read_timeline(path)
    if max_users is not None:
        tl = tl.subset(list(range(min(int(max_users), len(tl.users)))))
    is_phone = PHONE_VIEW_VERSION in tl.source
    if view == "truth":
        if is_phone:
            raise InputError(f"{path}: is a phone view already; the true view needs the simulator's file")
        return tl
    if is_phone:
        return tl
    conf = ModeConfusion.from_json(confusion or DEFAULT_CONFUSION_PATH)
    return phone_view(tl, load_place_category_model(place_model), conf, PhoneViewOptions(seed=seed), where=str(path))
