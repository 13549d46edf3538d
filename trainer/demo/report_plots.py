"""The report's figures (matplotlib, Agg backend, no network): a map of places and trips, zoomed
truth-vs-detected strips per trip, the transport confusion, driving events on a speed trace."""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Optional

import numpy as np

from momentsense.sdk.modes import MODES
from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.trainer.demo.score import main_mode

#: Colour of each mode (the mode registry's).
COLORS = {m.name: m.colour for m in MODES.values()}
PLACE_COLORS = {"home": "#1b7837", "work": "#2166ac", "other": "#777777"}
#: Trips shown per day in the strips figure (the rest are listed in the report).
MAX_STRIPS = 10


def plt_agg():
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _xy_km(lat, lon, lat0: float, lon0: float):
    """Equirectangular projection around (lat0, lon0): east and north in km (fine over a city)."""
    k = 6371.0088 * math.pi / 180.0
    return (np.asarray(lon) - lon0) * k * math.cos(math.radians(lat0)), (np.asarray(lat) - lat0) * k


def plot_map(path: Path, places: list, days: list, track: Optional[tuple] = None) -> None:
    """Places (circles sized by hours spent, labelled) and detected trips (lines between their
    places, coloured by main mode, wider when repeated); ``track`` = ``(lat, lon)`` arrays of GPS
    fixes drawn underneath. Axes in km from home (or the first place)."""
    plt = plt_agg()
    fig, ax = plt.subplots(figsize=(7.5, 6.2))
    if not places and (track is None or not len(track[0])):
        ax.text(0.5, 0.5, "no places found (no GPS fixes?)", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return
    ref = next((p for p in places if p["label"] == "home"), places[0] if places else None)
    lat0, lon0 = (ref["lat"], ref["lon"]) if ref else (float(np.mean(track[0])), float(np.mean(track[1])))
    if track is not None and len(track[0]):
        x, y = _xy_km(track[0], track[1], lat0, lon0)
        ax.plot(x, y, ".", ms=0.6, color="#bbbbbb", zorder=1, label="GPS fixes")
    where = {p["place"]: _xy_km(p["lat"], p["lon"], lat0, lon0) for p in places}
    pairs: dict = {}
    for d in days:
        for t in d["trips"]:
            a, b = t.get("from_place"), t.get("to_place")
            if a in where and b in where and a != b:
                key = (min(a, b), max(a, b), t.get("main_mode") or main_mode(t["modes"]))
                pairs[key] = pairs.get(key, 0) + 1
    xs = [float(v[0]) for v in where.values()] + [0.0]
    ys = [float(v[1]) for v in where.values()] + [0.0]
    gap = 0.012 * max(max(xs) - min(xs), max(ys) - min(ys), 0.1)  # km between parallel lines of one pair
    for (a, b, mode), n in sorted(pairs.items(), key=lambda kv: kv[1]):
        (x0, y0), (x1, y1) = where[a], where[b]
        # Trips between the same two places by different modes are drawn side by side, not on top.
        modes = sorted(m for (p, q, m) in pairs if (p, q) == (a, b))
        shift = (modes.index(mode) - (len(modes) - 1) / 2) * gap
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        dx, dy = -(y1 - y0) / length * shift, (x1 - x0) / length * shift
        ax.plot([x0 + dx, x1 + dx], [y0 + dy, y1 + dy], color=COLORS.get(mode, "#333333"), lw=1.2 + 1.2 * math.log2(n),
                alpha=0.85, zorder=2, solid_capstyle="butt")  # fmt: skip
    for p in places:
        x, y = where[p["place"]]
        ax.scatter([x], [y], s=40 + 8 * min(60.0, p["dwell_h"]), color=PLACE_COLORS.get(p["label"], "#777777"),
                   edgecolor="white", zorder=3)  # fmt: skip
        name = p["label"] if p["label"] != "other" else f"place {p['place']}"
        text = f"{name}\n{p['visits']} visit{'s' if p['visits'] != 1 else ''}, {p['dwell_h']:g} h"
        ax.annotate(text, (x, y), xytext=(6, 6), textcoords="offset points",
                    fontsize=8, zorder=4)  # fmt: skip
    used = sorted({m for _, _, m in pairs}, key=TRANSPORT_MODES.index)
    if used:
        ax.legend(handles=[plt.Line2D([], [], color=COLORS[m], lw=3) for m in used], labels=[f"trips by {m}" if m != "still" else "trips, mode unknown" for m in used],
                  fontsize=8, loc="best")  # fmt: skip
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.2)
    ax.set_xlabel("km east of " + ("home" if ref and ref["label"] == "home" else "the first place"))
    ax.set_ylabel("km north")
    ax.set_title("places and trips the SDK found (line width: how often)", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_trip_strips(path: Path, trips: list, events: list, legs: Optional[list], tz_offset_s: float = 0.0,
                     margin_s: float = 300.0) -> None:  # fmt: skip
    """One zoomed panel per trip (at most :data:`MAX_STRIPS`): the planted legs (``legs``; omitted
    when None) above the detected transport events, from 5 minutes before to 5 after the trip."""
    plt = plt_agg()
    trips = trips[:MAX_STRIPS]
    rows = 2 if legs is not None else 1
    fig, axes = plt.subplots(len(trips), 1, figsize=(10, 0.45 * rows * len(trips) + 0.9 + 0.35 * len(trips)), squeeze=False)
    for ax, t in zip(axes[:, 0], trips):
        a, b = t["start_s"] - margin_s, t["end_s"] + margin_s
        lines = [("detected", [(e.start, e.end, e.mode) for e in events])]
        if legs is not None:
            lines.insert(0, ("truth", legs))
        for y, (_, items) in enumerate(reversed(lines)):
            for s, e, m in items:
                s, e = max(s, a), min(e, b)
                if e > s:
                    ax.broken_barh([((s - a) / 60.0, (e - s) / 60.0)], (y + 0.1, 0.8), color=COLORS.get(m, "#333333"), lw=0)
        ax.axvline(margin_s / 60.0, color="#333333", lw=0.6, ls=":")
        ax.axvline((t["end_s"] - a) / 60.0, color="#333333", lw=0.6, ls=":")
        ax.set_yticks([y + 0.5 for y in range(len(lines))], [name for name, _ in reversed(lines)], fontsize=7)
        ax.set_xlim(0, (b - a) / 60.0)
        ax.set_ylim(0, len(lines))
        local = datetime.datetime.fromtimestamp(t["start_s"] + tz_offset_s, datetime.timezone.utc)
        ax.set_title(f"{local:%H:%M}  {t['from']} → {t['to']}  ({t['minutes']} min)", fontsize=8, loc="left", pad=2)
        ax.tick_params(axis="x", labelsize=7)
    axes[-1, 0].set_xlabel("minutes from 5 min before the trip (dotted: the trip's start and end)", fontsize=8)
    used = [m for m in TRANSPORT_MODES if m != "still"]
    fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=COLORS[m]) for m in ["still"] + used], labels=["still"] + used,
               ncol=8, fontsize=7, loc="upper center", frameon=False)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(path: Path, confusion_s: list) -> None:
    """Row-normalised confusion (truth rows, detected columns) with the hours per truth mode."""
    plt = plt_agg()
    c = np.asarray(confusion_s, float)
    keep = c.sum(axis=1) > 0
    rows = c[keep] / c[keep].sum(axis=1, keepdims=True)
    names = [m for m, k in zip(TRANSPORT_MODES, keep) if k]
    fig, ax = plt.subplots(figsize=(6.5, 0.55 * len(names) + 1.8))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i in range(rows.shape[0]):
        for j in range(rows.shape[1]):
            if rows[i, j] >= 0.005:
                ax.text(j, i, f"{rows[i, j]:.0%}", ha="center", va="center", fontsize=7,
                        color="white" if rows[i, j] > 0.6 else "black")  # fmt: skip
    ax.set_xticks(range(len(TRANSPORT_MODES)), TRANSPORT_MODES, rotation=45, fontsize=8)
    ax.set_yticks(range(len(names)), [f"{n} ({c[TRANSPORT_MODES.index(n)].sum() / 3600:.1f} h)" for n in names], fontsize=8)
    ax.set_xlabel("detected")
    ax.set_ylabel("truth (simulated hours)")
    ax.set_title("what each true mode was detected as (share of its seconds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_driving(path: Path, speed_t: np.ndarray, speed_mps: np.ndarray, scores: list, events: list,
                 truth_car: tuple = (), tz_offset_s: float = 0.0) -> None:  # fmt: skip
    """GPS speed (km/h) over a scored drive, with its driving events marked and the planted car legs."""
    plt = plt_agg()
    fig, ax = plt.subplots(figsize=(10, 3.0))
    if scores:
        a, b = min(s.trip_start for s in scores) - 300, max(s.trip_end for s in scores) + 300
        sel = (speed_t >= a) & (speed_t <= b)
        ax.plot((speed_t[sel] - a) / 60.0, speed_mps[sel] * 3.6, lw=0.7, color="#333333", label="GPS speed")
        for s in scores:
            ax.axvspan((s.trip_start - a) / 60.0, (s.trip_end - a) / 60.0, color="#e41a1c", alpha=0.08)
        for c0, c1 in truth_car:
            if c1 > a and c0 < b:
                ax.axvspan((max(c0, a) - a) / 60.0, (min(c1, b) - a) / 60.0, ymin=0, ymax=0.03, color="#377eb8")
        kinds = sorted({e.kind for e in events})
        for k, mark in zip(kinds, "ov^sDx*P"):
            ts = np.array([e.t for e in events if e.kind == k and a <= e.t <= b])
            if len(ts):
                v = np.interp(ts, speed_t[sel], speed_mps[sel]) * 3.6 if sel.any() else np.zeros(len(ts))
                ax.plot((ts - a) / 60.0, v, mark, ms=6, label=k.replace("_", " "))
        local = datetime.datetime.fromtimestamp(a + tz_offset_s, datetime.timezone.utc)
        ax.set_xlabel(f"minutes since {local:%A %H:%M}")
        ax.legend(fontsize=7, ncol=4, loc="upper right")
    else:
        ax.text(0.5, 0.5, "no drive detected on a trip", ha="center", transform=ax.transAxes)
    ax.set_ylabel("km/h")
    ax.set_title("driving events on the GPS speed trace (red shade: the scored drive; blue bar: planted car legs)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
