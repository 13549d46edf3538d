"""``momentsense demo``: the main job end to end on embedded defaults.

Simulate a persona (25 Hz IMU + 1 Hz GPS toward planted places) → :class:`sdk.runtime.MomentSDK`
in push mode with a local SQLite timeline → per-day timelines, home/work, moments, segments,
driving scores → day payloads synced to an in-process server on loopback → scores against the
simulator's truth → an HTML report with plots in ``out``.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from pathlib import Path

from momentsense.sdk.errors import InputError
from momentsense.trainer.demo.personas import PERSONAS, get_persona

MAX_DAYS = 28


@dataclasses.dataclass(frozen=True)
class DemoOptions:
    """Options of :func:`run_demo`.

    Attributes:
        days: Simulated days from Monday 00:00 UTC (1..28).
        persona: One of :data:`trainer.demo.personas.PERSONAS`.
        seed: Simulation seed (same seed, same week).
        hours: Simulate only the first ``hours`` hours (None: all days), for quick checks.
        out: Folder for the report (created); None = no report, work in a temporary folder.
        progress: Show a progress bar over simulated hours.
        transport_context: Run the transport context heads (False: window model + HMM only, to
            compare).
        transport_lagged_context: Settle the timeline's events with the lagged head (False: the
            live head's events, to compare).
        transport_gps: Settle them with the GPS head where location is on (False: the lagged head
            without GPS, to compare).
    """

    days: int = 7
    persona: str = "commuter"
    seed: int = 0
    hours: float | None = None
    out: str | None = "momentsense-demo"
    progress: bool = True
    transport_context: bool = True
    transport_lagged_context: bool = True
    transport_gps: bool = True

    def __post_init__(self):
        if not (isinstance(self.days, int) and 1 <= self.days <= MAX_DAYS):
            raise InputError(f"--days must be a whole number of days in 1..{MAX_DAYS}, got {self.days!r}")
        get_persona(self.persona)
        if self.hours is not None and not (0 < self.hours <= 24 * self.days):
            raise InputError(f"--hours must be in (0, {24 * self.days}] (the --days span), got {self.hours!r}")


@dataclasses.dataclass
class DemoSummary:
    """The demo's JSON-ready summary (see :meth:`to_dict`) and where the report is."""

    data: dict
    report: str | None

    def to_dict(self) -> dict:
        return {**self.data, "report": self.report}


def run_demo(options: DemoOptions = DemoOptions()) -> DemoSummary:
    """Run the demo; see the module docstring. Returns the summary (the report is in ``options.out``)."""
    from momentsense.sdk.runtime import MomentSDK, SDKConfig
    from momentsense.trainer.demo.learned import learn
    from momentsense.trainer.demo.score import (
        score_moments,
        score_places,
        score_segments,
        score_transport,
        truth_trips,
    )
    from momentsense.trainer.demo.stream import stream_persona
    from momentsense.trainer.demo.sync import sync_days

    persona = get_persona(options.persona)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="momentsense-demo-") as tmp:
        work = Path(tmp)
        # push mode: the demo feeds it
        sdk = MomentSDK(SDKConfig(store_path=str(work / "timeline.db"), transport_context=options.transport_context,
                                  transport_lagged_context=options.transport_lagged_context,
                                  transport_gps=options.transport_gps))
        try:
            st = stream_persona(sdk, persona, options.days, options.seed, options.hours, progress=options.progress)
            t_learn = time.perf_counter()
            learned = learn(sdk, st.t0, st.t_end, st.day0)
            places = sdk.places()
            sync = sync_days(learned, places, work)
            events = sdk.events()
            driving_events = {i: sdk.driving_events(tl.day) for i, tl in enumerate(learned.day_timelines)}
            stats = sdk.stats()
        finally:
            sdk.close()
        analyse_s = time.perf_counter() - t_learn
        planted = truth_trips(st.stops, st.legs, persona)
        transport = score_transport(st.legs, events, st.t0, st.t_end)
        scores = {
            "transport": transport, "places": score_places(places, st.place_latlon, st.stops),
            "moments": score_moments(learned.moments, planted),
            "moments_live": score_moments(learned.live_moments, planted), "segments": score_segments(learned.segments, persona),
        }  # fmt: skip
        wall = time.perf_counter() - t_start
        payload_bytes = sync["payload_gzip_bytes"]
        data = {
            "persona": persona.name, "persona_description": persona.description, "planted_traits": list(persona.traits),
            "days": options.days, "seed": options.seed, "simulated_hours": round((st.t_end - st.t0) / 3600.0, 3),
            "wall_s": round(wall, 1), "simulate_s": round(st.sim_s, 1), "sdk_s": round(st.sdk_s, 1),
            "analyse_and_sync_s": round(analyse_s, 1),
            "realtime_factor": round((st.t_end - st.t0) / wall, 1) if wall > 0 else None,
            "imu_samples": st.samples, "gps_fixes": st.gps_fixes, "raw_sensor_bytes": st.raw_bytes,
            "windows": stats["windows"], "windows_skipped": stats["windows_skipped"], "windows_gps": stats["windows_gps"],
            "timeline": learned.days, "places": learned.places, "segments": learned.segments,
            "moments": [dataclasses.asdict(m) for m in learned.moments],
            "sync": {**{k: v for k, v in sync.items() if k != "payloads"},
                     "first_payload": sync["payloads"][0] if sync["payloads"] else None},
            "raw_to_payload_ratio": round(st.raw_bytes / payload_bytes, 1) if payload_bytes else None,
            "scores": scores,
        }  # fmt: skip
        data["scores_flat"] = flat_scores(data)
        report = None
        if options.out is not None:
            report = str(write_report(Path(options.out), data, st, learned, events, driving_events))
    return DemoSummary(data, report)


def flat_scores(d: dict) -> dict:
    """The headline scores (None where a score does not apply)."""
    s = d["scores"]

    def r(x):
        return None if x is None or math.isnan(x) else round(float(x), 3)

    return {
        "transport_accuracy": r(s["transport"]["accuracy"]), "transport_accuracy_moving": r(s["transport"]["accuracy_moving"]),
        "home_found": s["places"].get("home_found"), "work_found": s["places"].get("work_found"),
        "moment_precision": r(s["moments"]["precision"]), "moment_precision_live": r(s["moments_live"]["precision"]),
        "segment_precision": r(s["segments"].get("precision")),
        "segment_recall": r(s["segments"].get("recall")),
        "embedding_segment_precision": r(s["segments"].get("embedding_precision")),
    }  # fmt: skip


def pick_drive(learned, legs: list):
    """``(day index, DrivingScore)`` of the scored drive on a trip (not inside a visit) overlapping the
    planted car legs most (then the longest distance), or None without such drives."""
    from momentsense.trainer.demo.learned import in_visits

    best, key = None, None
    for i, tl in enumerate(learned.day_timelines):
        for s in tl.driving_scores:
            if in_visits(s.trip_start, s.trip_end, tl.visits) > 0.5:
                continue
            ov = sum(max(0.0, min(b, s.trip_end) - max(a, s.trip_start)) for a, b, m in legs if m == "car")
            k = (ov, s.distance_m)
            if key is None or k > key:
                best, key = (i, s), k
    return best


def write_report(out: Path, data: dict, st, learned, events, driving_events: dict) -> Path:
    """Plots and ``index.html`` in ``out``; returns the HTML path."""
    from momentsense.trainer.demo.report import plot_confusion, plot_day, plot_driving, write_html

    out.mkdir(parents=True, exist_ok=True)
    labels = {p["place"]: p["label"] for p in data["places"]}
    day = 0
    tl = learned.day_timelines[day]
    plot_day(out / "day_timeline.png", day, st.day0, st.legs, st.stops, [e for e in events if e.end > tl.start_s and e.start < tl.end_s],
             list(tl.visits), labels)  # fmt: skip
    plot_confusion(out / "transport_confusion.png", data["scores"]["transport"]["confusion_s"])
    drive = pick_drive(learned, st.legs)
    if drive is None:
        plot_driving(out / "driving.png", st.speed_t, st.speed_mps, [], [])
    else:
        i, score = drive
        plot_driving(out / "driving.png", st.speed_t, st.speed_mps, [score],
                     [e for e in driving_events[i] if score.trip_start - 60 <= e.t <= score.trip_end + 60],
                     tuple((a, b) for a, b, m in st.legs if m == "car"))  # fmt: skip
    images = {"day": "day_timeline.png", "confusion": "transport_confusion.png", "driving": "driving.png"}
    path = out / "index.html"
    write_html(path, data, images)
    import json

    (out / "summary.json").write_text(json.dumps(data, indent=1, default=str))
    return path.resolve()


def format_summary(s: DemoSummary) -> str:
    """Human-readable summary of a demo run."""
    d = s.data
    sc = d["scores_flat"]
    lines = [
        f"momentsense demo: persona {d['persona']} ({d['persona_description']}), seed {d['seed']}",
        (f"  {d['simulated_hours']:g} simulated hours in {d['wall_s']:.1f} s wall time (simulator {d['simulate_s']:.1f} s, "
         f"SDK {d['sdk_s']:.1f} s, analysis and sync {d['analyse_and_sync_s']:.1f} s)"),
        (f"  sensors: {d['imu_samples']:,} IMU samples at 25 Hz, {d['gps_fixes']:,} GPS fixes "
         f"({d['raw_sensor_bytes'] / 1e6:.1f} MB raw); {d['windows']:,} windows of 10 s ({d['windows_skipped']:,} skipped while still)"),
        "  timeline:",
    ]  # fmt: skip
    for day in d["timeline"]:
        modes = ", ".join(f"{k} {v:.0f}m" for k, v in day["minutes_per_mode_on_trips"].items() if v >= 1)
        at_place = sum(v for k, v in day["minutes_per_mode"].items() if k != "still") - sum(day["minutes_per_mode_on_trips"].values())
        lines.append(f"    {day['weekday'][:3]} {day['date']}: {len(day['visits'])} visits, {len(day['trips'])} trips; "
                     f"moving: {modes or '-'} (+{at_place:.0f}m detected while GPS says at a place)")  # fmt: skip
        for t in day["trips"][:8]:
            lines.append(f"      {t['start'][4:]} {t['from']:>5} → {t['to']:<5} {'+'.join(t['modes']):<18} {t['km']:5.1f} km"
                         + (f"  [{t['moment']}" + (f", live: {t['moment_live']}" if t["moment_live"] else "") + "]"
                            if t["moment"] else ""))  # fmt: skip
        if len(day["trips"]) > 8:
            lines.append(f"      ... {len(day['trips']) - 8} more trips")
    named = [f"{p['label']} ({p['place']}, {p['visits']} visits, {p['dwell_h']} h)" for p in d["places"] if p["label"] != "other"]
    lines.append("  places: " + "; ".join(named + [f"{sum(p['label'] == 'other' for p in d['places'])} other"]))
    seg = d["segments"]
    if seg.get("unavailable"):
        lines.append(f"  segments: unavailable ({seg['unavailable']})")
    else:
        fired = [r for r in seg["rules"] if r["active"]]
        lines.append("  segments (rules): " + (", ".join(r["segment"] for r in fired) or "none fired")
                     + f" ({seg['transport_events_inside_visits_dropped']} transport events inside visits ignored)")
        for r in fired:
            lines.append(f"    {r['segment']}: {r['sentence']}")
        emb = [e for e in seg.get("embedding", []) if e["active"]]
        if seg.get("embedding"):
            lines.append("  segments (embedding): " + (", ".join(f"{e['segment']} {e['probability']:.2f}" for e in emb) or "none"))
    every = [x for day in d["timeline"] for x in day["driving_scores"]]
    drives = [x for x in every if not x["during_visit"]]
    if drives:
        lines.append(f"  driving: {len(drives)} scored drives on trips ({sum(x['km'] for x in drives):.1f} km), median score "
                     f"{sorted(x['score'] for x in drives)[len(drives) // 2]:.0f}; {len(every) - len(drives)} more "
                     "while GPS says the phone stayed at a place (ignored)")  # fmt: skip
    elif every:
        lines.append(f"  driving: no drive on a trip; {len(every)} scored while GPS says the phone stayed at a place (ignored)")
    sy = d["sync"]
    lines.append(f"  synced: {sy['days_built']} day payloads, {sy['payload_gzip_bytes']:,} B gzipped vs {d['raw_sensor_bytes']:,} B raw "
                 f"(1:{d['raw_to_payload_ratio'] or 0:,.0f}); server on {sy['server']} holds {len(sy['days_held_by_server'])} day(s)")
    lines.append("  scores vs simulator truth: " + ", ".join(f"{k}={v}" for k, v in sc.items()))
    if s.report:
        lines.append(f"  report: {s.report}")
    return "\n".join(lines)


__all__ = ["PERSONAS", "DemoOptions", "DemoSummary", "format_summary", "run_demo"]
