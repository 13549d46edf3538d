"""Check the phone-view transform against the real thing: sensors simulated through ``MomentSDK``.

For each demo persona, a few days are simulated from sensors (25 Hz IMU + 1 Hz GPS) and fed to the
SDK; its timeline (:meth:`MomentSDK.timeline_events`) is the *end-to-end* phone view. The same
persona's true stops and legs go through :func:`trainer.population.phone_view.user_phone_events`
(the *transform*). Both are compared with the truth and with each other: how many visits and
transport events, their durations (quantiles), how late visit boundaries are, which share of the
moving seconds has the wrong mode. Prints JSON; ``--confusion-out`` also writes the SDK's
per-second mode confusion (rows true, columns detected) as a phone-view confusion file. Usage (about 2-4 min per persona-day on 2 cores)::

    python scripts/validate_phone_view.py --personas commuter,shopaholic,sporty --days 3
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import numpy as np

from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.sdk.io.timeline_file import Event
from momentsense.trainer.population.phone_view import DEFAULT_CONFUSION_PATH, ModeConfusion, PhoneViewOptions, user_phone_events


def _q(x) -> dict:
    x = np.asarray(x, float)
    if not len(x):
        return {"n": 0}
    return {"n": int(len(x)), "p10_min": round(float(np.percentile(x, 10)) / 60, 1),
            "median_min": round(float(np.median(x)) / 60, 1), "p90_min": round(float(np.percentile(x, 90)) / 60, 1)}  # fmt: skip


def _per_second(events, t0: float, n: int) -> np.ndarray:
    out = np.full(n, -1, np.int64)
    for e in events:
        if e.kind != "transport":
            continue
        a, b = max(int(e.start - t0), 0), min(int(e.end - t0), n)
        if b > a:
            out[a:b] = TRANSPORT_MODES.index(e.label)
    return out


def _boundary_delay(truth: list, got: list) -> dict:
    """Visit start (arrival) and end (departure) offsets of ``got`` from the true visit they overlap most, s."""
    tv = [e for e in truth if e.kind == "visit"]
    arr, dep = [], []
    for g in (e for e in got if e.kind == "visit"):
        best = max(tv, key=lambda t: min(t.end, g.end) - max(t.start, g.start))
        if min(best.end, g.end) - max(best.start, g.start) > 0:
            arr.append(g.start - best.start)
            dep.append(best.end - g.end)
    r = lambda x: round(float(np.median(x)), 1) if x else None  # noqa: E731
    return {"arrival_late_median_s": r(arr[1:]), "departure_early_median_s": r(dep[:-1])}


def summarise(name: str, events: list, truth: list, t0: float, t1: float) -> dict:
    n = int(t1 - t0)
    ts, gs = _per_second(truth, t0, n), _per_second(events, t0, n)
    moving = ts >= 0
    return {"view": name, "visits": _q([e.end - e.start for e in events if e.kind == "visit"]),
            "transport": _q([e.end - e.start for e in events if e.kind == "transport"]),
            "moving_s_wrong_mode": round(float(np.mean(gs[moving] != ts[moving])), 3) if moving.any() else None,
            "moving_s_without_mode": round(float(np.mean(gs[moving] < 0)), 3) if moving.any() else None,
            **_boundary_delay(truth, events)}  # fmt: skip


def run_persona(persona_name: str, days: int, seed: int, conf: ModeConfusion) -> dict:
    from momentsense.sdk.runtime import MomentSDK, SDKConfig
    from momentsense.trainer.demo.personas import get_persona
    from momentsense.trainer.demo.score import score_transport
    from momentsense.trainer.demo.stream import stream_persona

    with tempfile.TemporaryDirectory() as tmp:
        sdk = MomentSDK(SDKConfig(store_path=str(Path(tmp) / "t.db")))
        try:
            st = stream_persona(sdk, get_persona(persona_name), days, seed, progress=False)
            e2e = [e for e in sdk.timeline_events() if e.end > st.t0]
            seconds = score_transport(st.legs, sdk.events(), st.t0, st.t_end)
        finally:
            sdk.close()
    truth = [Event(a, b, "visit", "other", place) for a, b, place in st.stops]
    truth += [Event(a, b, "transport", m) for a, b, m in st.legs if m != "still" and b > a]
    truth.sort(key=lambda e: e.start)
    transform = user_phone_events(truth, conf, PhoneViewOptions(seed=seed), random.Random(f"{seed}:{persona_name}"))
    return {"persona": persona_name, "days": days, "confusion_seconds": seconds["confusion_s"],
            "summaries": [summarise(k, v, truth, st.t0, st.t_end) for k, v in
                          (("truth", truth), ("sdk_end_to_end", e2e), ("transform", transform))]}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--personas", default="commuter,shopaholic,sporty")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--confusion", default=str(DEFAULT_CONFUSION_PATH))
    ap.add_argument("--confusion-out", default=None,
                    help="also write the SDK's per-second confusion over all personas here (a --confusion file for the phone view)")
    args = ap.parse_args()
    conf = ModeConfusion.from_json(args.confusion)
    out = [run_persona(p, args.days, args.seed, conf) for p in args.personas.split(",")]
    if args.confusion_out:
        total = np.sum([r["confusion_seconds"] for r in out], axis=0).tolist()
        Path(args.confusion_out).write_text(json.dumps({
            "labels": list(TRANSPORT_MODES), "confusion": total,
            "source": f"MomentSDK end to end, per second, demo personas {args.personas} x {args.days} days (seed {args.seed})"}) + "\n")
    print(json.dumps({"confusion": conf.source, "results": out}, indent=1))


if __name__ == "__main__":
    main()
