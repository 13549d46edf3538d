"""The demo's HTML report and its plots (matplotlib, Agg backend): a day's timeline (truth vs
detected), the transport confusion against the truth, driving events on a speed trace."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from momentsense.sdk.records import TRANSPORT_MODES

DAY_S = 86400.0
COLORS = {"still": "#d9d9d9", "walk": "#4daf4a", "run": "#a65628", "bike": "#984ea3", "car": "#e41a1c",
          "bus": "#ff7f00", "train": "#377eb8", "subway": "#17becf"}  # fmt: skip


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_day(path: Path, day_index: int, t0: float, legs: list, stops: list, events: list, visits: list,
             place_labels: dict) -> None:  # fmt: skip
    """Two rows of a day, truth (planted legs and stops) and detected (transport events, visits)."""
    plt = _plt()
    a = t0 + day_index * DAY_S
    fig, ax = plt.subplots(figsize=(12, 3.2))

    def bars(y, items, label_of, color_of):
        for s, e, x in items:
            s, e = max(s, a), min(e, a + DAY_S)
            if e > s:
                ax.broken_barh([((s - a) / 3600.0, (e - s) / 3600.0)], (y - 0.35, 0.3), color=color_of(x), lw=0)

    bars(2, legs, None, lambda m: COLORS[m])
    bars(1, [(e.start, e.end, e.mode) for e in events], None, lambda m: COLORS[m])
    for y, items in ((2, [(s, e, p) for s, e, p, *_ in stops]), (1, [(v.start, v.end, place_labels.get(v.place_id, "other")) for v in visits])):
        for s, e, name in items:
            s, e = max(s, a), min(e, a + DAY_S)
            if e - s >= 1200:
                ax.broken_barh([((s - a) / 3600.0, (e - s) / 3600.0)], (y + 0.02, 0.25), color="#555555", alpha=0.35, lw=0)
                ax.text((s + e - 2 * a) / 7200.0, y + 0.145, name, ha="center", va="center", fontsize=7)
    ax.set_yticks([1, 2], ["detected", "truth"])
    ax.set_xlim(0, 24)
    ax.set_ylim(0.4, 2.5)
    ax.set_xticks(range(0, 25, 2))
    ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=c) for c in COLORS.values()], labels=list(COLORS), ncol=8,
              fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 1.25), frameon=False)  # fmt: skip
    ax.set_xlabel("hour of day (UTC); lower bars: transport modes, upper grey bars: places")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(path: Path, confusion_s: list) -> None:
    """Row-normalised confusion (truth rows, detected columns) with the seconds per truth mode."""
    plt = _plt()
    c = np.asarray(confusion_s, float)
    keep = c.sum(axis=1) > 0
    rows = c[keep] / c[keep].sum(axis=1, keepdims=True)
    names = [m for m, k in zip(TRANSPORT_MODES, keep) if k]
    fig, ax = plt.subplots(figsize=(6.5, 0.55 * len(names) + 1.8))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(rows.shape[0]):
        for j in range(rows.shape[1]):
            if rows[i, j] >= 0.005:
                ax.text(j, i, f"{rows[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if rows[i, j] > 0.6 else "black")  # fmt: skip
    ax.set_xticks(range(len(TRANSPORT_MODES)), TRANSPORT_MODES, rotation=45, fontsize=8)
    ax.set_yticks(range(len(names)), [f"{n} ({c[TRANSPORT_MODES.index(n)].sum() / 3600:.1f} h)" for n in names], fontsize=8)
    ax.set_xlabel("detected")
    ax.set_ylabel("truth (simulated hours)")
    ax.set_title("transport confusion, fraction of each true mode's seconds", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_driving(path: Path, speed_t: np.ndarray, speed_mps: np.ndarray, scores: list, events: list,
                 truth_car: tuple = ()) -> None:  # fmt: skip
    """GPS speed (km/h) over a scored drive, with its driving events marked and the planted car legs."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(12, 3.2))
    if scores:
        a, b = min(s.trip_start for s in scores) - 300, max(s.trip_end for s in scores) + 300
        sel = (speed_t >= a) & (speed_t <= b)
        t = (speed_t[sel] - a) / 60.0
        ax.plot(t, speed_mps[sel] * 3.6, lw=0.7, color="#333333", label="GPS speed")
        for s in scores:
            ax.axvspan((s.trip_start - a) / 60.0, (s.trip_end - a) / 60.0, color="#e41a1c", alpha=0.08)
        for c0, c1 in truth_car:
            if c1 > a and c0 < b:
                ax.axvspan((max(c0, a) - a) / 60.0, (min(c1, b) - a) / 60.0, ymin=0, ymax=0.03, color="#377eb8")
        kinds = sorted({e.kind for e in events})
        marks = dict(zip(kinds, "ov^sDx*P"))
        for k in kinds:
            ts = np.array([e.t for e in events if e.kind == k and a <= e.t <= b])
            if len(ts):
                v = np.interp(ts, speed_t[sel], speed_mps[sel]) * 3.6 if sel.any() else np.zeros(len(ts))
                ax.plot((ts - a) / 60.0, v, marks[k], ms=6, label=k.replace("_", " "))
        ax.set_xlabel("minutes since " + __import__("datetime").datetime.fromtimestamp(a, __import__("datetime").timezone.utc).strftime("%a %H:%M UTC"))
        ax.legend(fontsize=7, ncol=4, loc="upper right")
    else:
        ax.text(0.5, 0.5, "no drive detected on a trip", ha="center", transform=ax.transAxes)
    ax.set_ylabel("km/h")
    ax.set_title("driving events on the GPS speed trace (red shade: the scored drive; blue bar: planted car legs)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(rows: list, cols: list) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_html(path: Path, summary: dict, images: dict) -> None:
    """The report: scores, images, per-day timelines, places, segments, driving, the synced payload."""
    s = summary
    parts = [
        ("<!doctype html><html><head><meta charset='utf-8'><title>momentsense demo</title><style>"
         "body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}table{border-collapse:collapse;margin:.5em 0}"
         "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left}img{max-width:100%}"
         "pre{background:#f5f5f5;padding:.5em;overflow:auto;font-size:12px}</style></head><body>"),
        f"<h1>momentsense demo: {html.escape(s['persona'])}, {s['days']} day(s), seed {s['seed']}</h1>",
        (f"<p>{html.escape(s['persona_description'])}. Simulated {s['simulated_hours']:.1f} h of 25 Hz IMU and 1 Hz GPS "
         f"in {s['wall_s']:.1f} s wall time (simulator {s['simulate_s']:.1f} s, SDK {s['sdk_s']:.1f} s).</p>"),
        "<h2>Scores against the simulator's truth</h2>",
        _table([{"score": k, "value": v} for k, v in s["scores_flat"].items()], ["score", "value"]),
        "<h2>A day: truth vs detected</h2>", f"<img src='{images['day']}' alt='timeline'>",
        "<h2>Transport confusion</h2>", f"<img src='{images['confusion']}' alt='confusion'>",
        "<h2>Driving</h2>", f"<img src='{images['driving']}' alt='driving'>",
        "<h2>Home and work</h2>", _table(s["places"], ["place", "label", "confidence", "visits", "dwell_h", "lat", "lon"]),
        "<h2>Segments</h2>",
    ]  # fmt: skip
    seg = s["segments"]
    if seg.get("unavailable"):
        parts.append(f"<p>{html.escape(seg['unavailable'])}</p>")
    else:
        parts.append(_table([{**r, "evidence": json.dumps(r["evidence"])} for r in seg["rules"]],
                            ["segment", "active", "available", "sentence", "evidence"]))  # fmt: skip
        if seg.get("embedding"):
            parts.append("<p>Embedding segments (timeline encoder + linear heads):</p>")
            parts.append(_table(seg["embedding"], ["segment", "probability", "active"]))
    parts.append("<h2>Timeline per day</h2>")
    for d in s["timeline"]:
        parts.append(f"<h3>{d['weekday']} {d['date']}</h3><p>minutes per detected mode: "
                     + html.escape(", ".join(f"{k} {v:g}" for k, v in d["minutes_per_mode"].items()))
                     + "; outside visits (on trips): "
                     + html.escape(", ".join(f"{k} {v:g}" for k, v in d["minutes_per_mode_on_trips"].items())) + "</p>")
        parts.append(_table(d["visits"], ["label", "place", "start", "end", "minutes"]))
        parts.append(_table(d["trips"], ["start", "from", "to", "modes", "km", "minutes", "moment", "moment_live"]))
        if d["driving_scores"]:
            parts.append(_table(d["driving_scores"], ["start", "minutes", "km", "score", "events", "during_visit"]))
    sy = s["sync"]
    parts.append(f"<h2>What was synced</h2><p>{sy['days_built']} day payloads, {sy['payload_gzip_bytes']:,} bytes gzipped "
                 f"vs {s['raw_sensor_bytes']:,} bytes of raw sensor data (ratio 1:{s['raw_to_payload_ratio']:,.0f}); "
                 f"the server holds days {html.escape(', '.join(sy['days_held_by_server']))}.</p>")
    if sy.get("first_payload"):
        parts.append("<pre>" + html.escape(json.dumps(sy["first_payload"], indent=1)) + "</pre>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
