"""Score what the SDK learned against the simulator's planted truth.

* transport: per-second agreement of the detected transport events with the planted legs, and the
  confusion matrix (seconds, rows = truth, columns = detected, :data:`sdk.records.TRANSPORT_MODES`);
* home/work: a place labelled ``home`` (``work``) within 100 m of the planted one;
* moments: each detected trip's moment against the planted trip it overlaps most, whose moment is
  :func:`sdk.moments.assign_moment` applied to the *true* origin, destination and mode (the moment the
  SDK's own definition gives with perfect knowledge);
* segments: fired rule segments against the persona's planted traits (precision; recall over the
  traits a rule exists for).
"""

from __future__ import annotations

import itertools

import numpy as np

from momentsense.sdk.moments import assign_moment
from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.sdk.segments import RULE_SEGMENTS
from momentsense.sdk.timeline.geo import haversine_m
from momentsense.trainer.demo.personas import CATEGORY, Persona

FOUND_WITHIN_M = 100.0


def _overlap(a0, a1, b0, b1) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def per_second(intervals, t0: float, n: int) -> np.ndarray:
    """int8 ``(n,)`` mode index per second from ``(start, end, mode)`` intervals; -1 where none."""
    out = np.full(n, -1, np.int8)
    for a, b, m in intervals:
        i, j = max(0, round(a - t0)), min(n, round(b - t0))
        if j > i:
            out[i:j] = TRANSPORT_MODES.index(m)
    return out


def score_transport(legs: list, events: list, t0: float, t1: float) -> dict:
    """Accuracy (seconds where truth and detection agree / seconds covered by both) and confusion."""
    n = int(t1 - t0)
    truth = per_second(legs, t0, n)
    det = per_second([(e.start, e.end, e.mode) for e in events], t0, n)
    ok = (truth >= 0) & (det >= 0)
    k = len(TRANSPORT_MODES)
    conf = np.bincount(truth[ok].astype(np.int64) * k + det[ok], minlength=k * k).reshape(k, k)
    moving = ok & (truth > 0)
    return {
        "accuracy": float(np.mean(truth[ok] == det[ok])) if ok.any() else None,
        "accuracy_moving": float(np.mean(truth[moving] == det[moving])) if moving.any() else None,
        "seconds_scored": int(ok.sum()), "coverage": float(ok.sum() / max(1, (truth >= 0).sum())),
        "modes": list(TRANSPORT_MODES), "confusion_s": conf.tolist(),
    }  # fmt: skip


def score_places(places: list, planted: dict, stops: list) -> dict:
    """home/work found: a place with that label within 100 m of the planted coordinates."""
    out = {}
    for lab in ("home", "work"):
        if not any(s[2] == lab for s in stops):
            out[f"{lab}_found"] = None
            continue
        lat, lon = planted[lab]
        d = [float(haversine_m(lat, lon, p.lat, p.lon)) for p in places if p.label == lab]
        out[f"{lab}_found"] = bool(d and min(d) <= FOUND_WITHIN_M)
        out[f"{lab}_error_m"] = round(min(d), 1) if d else None
    return out


def truth_trips(stops: list, legs: list, persona: Persona) -> list:
    """Planted trips between consecutive stops: ``(start, end, origin, destination, modes, moment)``."""
    out = []
    for (_, a, origin, *_), (b, _, dest, *_) in itertools.pairwise(stops):
        modes = [m for s, e, m in legs if _overlap(s, e, a, b) > 0 and m != "still"]
        if not modes:
            continue
        lead = next((m for m in modes if m != "walk"), modes[0])
        moment = assign_moment(lead, a, CATEGORY[origin], [CATEGORY[dest]], persona.short_school)
        out.append((a, b, origin, dest, tuple(dict.fromkeys(modes)), moment))
    return out


def score_moments(moments: list, planted: list) -> dict:
    """Precision: detected trip moments equal to the moment of the planted trip they overlap most."""
    hits, pairs = 0, []
    for m in moments:
        best = max(planted, key=lambda t: _overlap(m.start, m.end, t[0], t[1]), default=None)
        if best is None or _overlap(m.start, m.end, best[0], best[1]) <= 0:
            pairs.append((m.moment, None))
            continue
        hits += m.moment == best[5]
        pairs.append((m.moment, best[5]))
    return {"precision": hits / len(moments) if moments else None, "detected": len(moments), "planted": len(planted),
            "planted_moments": sorted({t[5] for t in planted}),
            "pairs_detected_vs_planted": [list(p) for p in pairs]}  # fmt: skip


def score_segments(segments: dict, persona: Persona) -> dict:
    """Precision of fired rule segments vs planted traits; recall over traits a rule exists for."""
    if segments.get("unavailable"):
        return {"precision": None, "recall": None, "why": segments["unavailable"]}
    fired = [s["segment"] for s in segments["rules"] if s["active"]]
    ruled = [t for t in persona.traits if t in RULE_SEGMENTS]
    emb = [s["segment"] for s in segments.get("embedding", []) if s["active"]]
    return {
        "fired": fired, "planted": list(persona.traits),
        "precision": sum(f in persona.traits for f in fired) / len(fired) if fired else None,
        "recall": sum(t in fired for t in ruled) / len(ruled) if ruled else None,
        "embedding_fired": emb,
        "embedding_precision": sum(f in persona.traits for f in emb) / len(emb) if emb else None,
        "embedding_recall": sum(t in emb for t in persona.traits) / len(persona.traits) if persona.traits else None,
    }  # fmt: skip
