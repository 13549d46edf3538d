"""The HTML report of ``momentsense demo`` and ``momentsense run --replay``.

Order: a summary of the days (where, how, how long, what the SDK concluded), a map, the headline
scores against the simulator's truth (demo only: accuracy while moving first, recall per mode),
each day as a list in local time with a zoomed truth-vs-detected strip per trip, places, segments,
driving, what was synced. Values are written in words (``walk, car``, ``2 harsh accelerations``,
``–``), never as Python objects; results that disagree with the truth are marked "wrong".
The figures are drawn by :mod:`trainer.demo.report_plots`.
"""

from __future__ import annotations

import datetime
import html
import json
from pathlib import Path

from momentsense.trainer.demo.score import main_mode
from momentsense.trainer.demo.report_plots import plot_confusion, plot_driving, plot_map, plot_trip_strips  # noqa: F401 (re-exported)

WRONG = "<span class='wrong'>wrong</span>"
STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;color:#222}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px;"
         "text-align:left}img{max-width:100%}pre{background:#f5f5f5;padding:.5em;overflow:auto;font-size:12px}"
         ".wrong{color:#b2182b;font-weight:bold}.ok{color:#1b7837}.big{font-size:1.4em}.note{color:#666;font-size:13px}"
         "ul.day{list-style:none;padding-left:0}ul.day li{margin:.2em 0}.t{font-family:monospace;color:#555}"
         ".summary{background:#f7f7f7;padding:.5em 1em;border-radius:6px}")  # fmt: skip


class Html(str):
    """Text that is already HTML (a table cell that must not be escaped)."""


def plain(v) -> str:
    """A value in words: None → "–", True → "yes", lists joined with commas, count dicts as
    "2 harsh accelerations", floats without trailing noise."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(plain(x) for x in v) or "–"
    if isinstance(v, dict):
        if all(isinstance(x, int) and not isinstance(x, bool) for x in v.values()):
            return ", ".join(f"{n} {k.replace('_', ' ')}{'s' if n != 1 else ''}" for k, n in v.items() if n) or "none"
        return "; ".join(f"{k.replace('_', ' ')} {plain(x)}" for k, x in v.items()) or "–"
    return str(v)


def table(rows: list, cols: list, heads: list | None = None) -> str:
    """An HTML table; cells are :func:`plain` text unless they are :class:`Html`."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in heads or cols)
    cell = lambda v: v if isinstance(v, Html) else html.escape(plain(v))  # noqa: E731
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def duration(minutes: float) -> str:
    """``95`` → ``"1 h 35 min"``."""
    m = round(minutes)
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def local(t: float, tz_offset_s: float, fmt: str = "%H:%M") -> str:
    """Unix s as local time (UTC + ``tz_offset_s``)."""
    return datetime.datetime.fromtimestamp(t + tz_offset_s, datetime.timezone.utc).strftime(fmt)


def place_name(label: str, place: str | None) -> str:
    return label if label not in ("other", "?") else (f"place {place}" if place else "an unknown place")


def count(n: int, noun: str) -> str:
    """``count(1, "trip")`` → ``"1 trip"``, ``count(3, "trip")`` → ``"3 trips"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def trip_ends(t: dict) -> str:
    """``"home → work"``, with unlabelled places named by their id."""
    return f"{place_name(t['from'], t.get('from_place'))} → {place_name(t['to'], t.get('to_place'))}"


def summary_html(s: dict) -> str:
    """The days in a few sentences: where, how, how long, what the SDK concluded."""
    days = s["timeline"]
    places = sorted(s["places"], key=lambda p: -p["dwell_h"])
    named = [f"<b>{html.escape(place_name(p['label'], p['place']))}</b> ({count(p['visits'], 'visit')}, {p['dwell_h']:g} h)"
             for p in places[:5]]
    more = f" and {len(places) - 5} more places" if len(places) > 5 else ""
    modes: dict = {}
    for d in days:
        for k, v in d["minutes_per_mode_on_trips"].items():
            modes[k] = modes.get(k, 0.0) + v
    trips = [t for d in days for t in d["trips"]]
    travel = sum(t["minutes"] for t in trips)
    longest = max(trips, key=lambda t: t["minutes"], default=None)
    how = ", ".join(f"{k} {duration(v)}" for k, v in sorted(modes.items(), key=lambda kv: -kv[1]) if v >= 1) or "no travel detected"
    items = [f"<li><b>Where</b>: {', '.join(named) or 'no place found'}{more}.</li>",
             f"<li><b>How</b>: {html.escape(how)} (detected on trips).</li>",
             f"<li><b>How long</b>: {count(len(trips), 'trip')} in {count(len(days), 'day')}, {duration(travel)} travelling"
             + (f"; the longest {html.escape(longest['start'])}, {html.escape(trip_ends(longest))}, "
                f"{duration(longest['minutes'])}" if longest else "") + ".</li>"]  # fmt: skip
    concl = []
    labels = {p["label"] for p in s["places"]}
    concl.append(("home found" if "home" in labels else "no home yet") + ", " + ("work found" if "work" in labels else "no work place yet"))
    seg = s["segments"]
    if seg.get("unavailable"):
        concl.append("no segments yet (they need a week of data)")
    else:
        planted = set(s.get("planted_traits") or [])
        for r in seg["rules"]:
            if r["active"]:
                flag = f" ({WRONG}: not a planted trait)" if "scores" in s and r["segment"] not in planted else ""
                concl.append(f"<i>{html.escape(r['segment'].replace('_', ' '))}</i>{flag}")
    drives = [x for d in days for x in d["driving_scores"] if not x["during_visit"]]
    if drives:
        scores = sorted(x["score"] for x in drives)
        wrong = sum(1 for x in drives if x.get("real_drive") is False)
        concl.append(f"{count(len(drives), 'drive')} scored (median score {scores[len(scores) // 2]:.0f})"
                     + (f", {wrong} of them {WRONG}: not in a car" if wrong else ""))  # fmt: skip
    items.append("<li><b>What the SDK concluded</b>: " + "; ".join(concl) + ".</li>")
    return "<div class='summary'><h2>Summary</h2><ul>" + "".join(items) + "</ul></div>"


def scores_html(s: dict) -> str:
    """Headline scores against the truth: accuracy while moving first, recall per mode."""
    tr = s["scores"]["transport"]
    flat = s["scores_flat"]
    pct = lambda x: "–" if x is None else f"{x:.0%}"  # noqa: E731
    conf = tr["confusion_s"]
    rows = []
    for i, m in enumerate(tr["modes"]):
        if m not in tr.get("recall", {}):
            continue
        others = sorted(((v, tr["modes"][j]) for j, v in enumerate(conf[i]) if j != i and v > 0), reverse=True)
        total = sum(conf[i]) or 1
        rows.append({"mode": m, "hours": tr["truth_hours"][m], "recall": pct(tr["recall"][m]),
                     "mistaken for": ", ".join(f"{n} {v / total:.0%}" for v, n in others[:2] if v / total >= 0.05) or "–"})  # fmt: skip
    still_h = tr.get("truth_hours", {}).get("still", 0.0)
    parts = [
        "<h2>How right was it? (against the simulator's truth)</h2>",
        f"<p class='big'>Transport mode while moving: <b>{pct(flat['transport_accuracy_moving'])}</b> of the seconds right.</p>",
        "<p>Recall per true mode (share of its seconds detected as that mode):</p>",
        table(rows, ["mode", "hours", "recall", "mistaken for"], ["true mode", "hours", "detected right", "mostly mistaken for"]),
        f"<p class='note'>Over all seconds, still included, {pct(flat['transport_accuracy'])} agree; {still_h:.1f} of those hours are "
        "the phone lying still, which is easy, so that number says little about trips.</p>",
        table([{"score": "home found within 100 m", "value": flat["home_found"]}, {"score": "work found within 100 m", "value": flat["work_found"]},
               {"score": "trip moments right (after the trip)", "value": pct(flat["moment_precision"])},
               {"score": "trip moments right (live, during the trip)", "value": pct(flat["moment_precision_live"])},
               {"score": "segments fired that were planted", "value": pct(flat["segment_precision"])},
               {"score": "planted segments that fired", "value": pct(flat["segment_recall"])}], ["score", "value"]),
    ]  # fmt: skip
    return "\n".join(parts)


def day_html(d: dict, tz_offset_s: float, tz_name: str, strip: str | None, truth: bool) -> str:
    """One day: a heading with the day's name, its visits and trips as a list, then the strips."""
    items = ([(v["start_s"], "visit", v) for v in d["visits"]] + [(t["start_s"], "trip", t) for t in d["trips"]]
             + [(x["start_s"], "drive", x) for x in d["driving_scores"] if not x["during_visit"]])
    day0 = datetime.datetime.fromisoformat(d["date"]).replace(tzinfo=datetime.timezone.utc).timestamp() - tz_offset_s
    # A stay that began on an earlier day (or ends on a later one) shows that day's name too.
    clock = lambda t: local(t, tz_offset_s, "%H:%M" if day0 <= t < day0 + 86400.0 else "%a %H:%M")  # noqa: E731
    lines = []
    for t0, kind, x in sorted(items, key=lambda i: i[0]):
        when = f"<span class='t'>{clock(x['start_s'])}–{clock(x['end_s'])}</span>"
        if kind == "visit":
            lines.append(f"<li>{when} at <b>{html.escape(place_name(x['label'], x['place']))}</b> ({duration(x['minutes'])})</li>")
            continue
        if kind == "drive":
            text = (f"{when} drive scored {x['score']:.0f}/100 over {x['km']:.1f} km: "
                    f"{html.escape(plain(x['events']) if any(x['events'].values()) else 'no harsh events')}")  # fmt: skip
            if truth and x.get("real_drive") is False:
                text += f" — {WRONG}: not in a car (was {html.escape(', '.join(x['truth_modes']) or 'still')})"
            lines.append(f"<li>&nbsp;&nbsp;↳ {text}</li>")
            continue
        text = (f"{when} {html.escape(trip_ends(x))} by <b>{html.escape(x.get('main_mode') or 'unknown')}</b> "
                f"({html.escape(', '.join(x['modes']) or 'no mode detected')}), "
                f"{x['km']:.1f} km, {duration(x['minutes'])}")  # fmt: skip
        if x.get("moment"):
            text += f" · moment: {html.escape(x['moment'].replace('_', ' '))}"
        if truth and "mode_ok" in x:
            text += (" <span class='ok'>✓</span>" if x["mode_ok"] else
                     f" — {WRONG}: was {html.escape(main_mode(x['truth_modes']) if x['truth_modes'] else 'no movement')} "
                     f"({html.escape(', '.join(x['truth_modes']))})")  # fmt: skip
        lines.append(f"<li>{text}</li>")
    date = datetime.date.fromisoformat(d["date"])
    out = [f"<h3>{html.escape(d['weekday'])} {date.day} {date:%B %Y} <span class='note'>({tz_name})</span></h3>",
           "<ul class='day'>" + ("".join(lines) or "<li>nothing detected</li>") + "</ul>"]  # fmt: skip
    if strip:
        out.append(f"<img src='{strip}' alt='trips of {html.escape(d['weekday'])}'>")
    return "\n".join(out)


def write_html(path: Path, s: dict, images: dict) -> None:
    """The report page. ``s`` is the demo's (or a replay's) summary; truth sections appear when it
    has ``scores``; ``images`` maps ``map``, ``confusion``, ``driving`` and ``strip:<date>`` to files."""
    truth = "scores" in s
    tz = s.get("tz_offset_s", 0.0)
    tz_name = s.get("tz_name") or ("local time = UTC in this simulation" if truth else "UTC")
    title = s.get("title") or f"momentsense demo: {s['persona']}, {s['days']} day(s), seed {s['seed']}"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(s.get('intro', ''))}</p>", summary_html(s)]  # fmt: skip
    if images.get("map"):
        parts.append(f"<h2>Map</h2><img src='{images['map']}' alt='map of places and trips'>")
    if truth:
        parts.append(scores_html(s))
        if images.get("confusion"):
            parts.append(f"<img src='{images['confusion']}' alt='transport confusion'>")
    parts.append("<h2>Day by day</h2>")
    for d in s["timeline"]:
        parts.append(day_html(d, tz, tz_name, images.get(f"strip:{d['date']}"), truth))
    rows = [{**p, "lat": f"{p['lat']:.5f}", "lon": f"{p['lon']:.5f}"}
            for p in s["places"]]
    parts.append("<h2>Places</h2>" + table(rows, ["label", "place", "visits", "dwell_h", "confidence", "lat", "lon"],
                                          ["label", "place", "visits", "hours there", "label confidence", "latitude", "longitude"]))  # fmt: skip
    parts.append("<h2>Segments</h2>")
    seg = s["segments"]
    if seg.get("unavailable"):
        parts.append(f"<p>Not yet: {html.escape(seg['unavailable'])}</p>")
    else:
        planted = set(s.get("planted_traits") or [])
        rows = []
        for r in seg["rules"]:
            fired = "yes" + (f" ({WRONG}: not planted)" if truth and r["segment"] not in planted else "") if r["active"] else "no"
            rows.append({**r, "segment": r["segment"].replace("_", " "), "active": Html(fired)})
        parts.append(table(rows, ["segment", "active", "sentence", "evidence"], ["segment", "fired", "why", "evidence"]))
        if seg.get("embedding"):
            parts.append("<p>From the timeline encoder (learned, not rules):</p>")
            parts.append(table(seg["embedding"], ["segment", "probability", "active"], ["segment", "probability", "fired"]))
    if images.get("driving"):
        parts.append(f"<h2>Driving</h2><img src='{images['driving']}' alt='driving'>")
        if images.get("driving_note"):
            parts.append(f"<p>{WRONG}: {html.escape(images['driving_note'])}</p>")
    sy = s.get("sync")
    if sy:
        parts.append(f"<h2>What was synced</h2><p>{count(sy['days_built'], 'day payload')}, {sy['payload_gzip_bytes']:,} bytes gzipped "
                     f"vs {s['raw_sensor_bytes']:,} bytes of raw sensor data (1 : {s['raw_to_payload_ratio'] or 0:,.0f}); "
                     f"the server holds {html.escape(', '.join(sy['days_held_by_server']) or 'nothing')}. No coordinates leave the phone.</p>")  # fmt: skip
        planted = set(s.get("planted_traits") or [])
        wrong = [r["segment"] for r in seg.get("rules", []) if truth and r["active"] and r["segment"] not in planted]
        if wrong:
            parts.append(f"<p>{WRONG}: the upload carries the segment(s) {html.escape(', '.join(wrong))}, "
                         "which the persona does not have.</p>")
        if sy.get("sample_payload"):
            payload = html.escape(json.dumps(sy["sample_payload"], indent=1))
            parts.append(f"<p>The first day's payload as uploaded:</p><pre>{payload}</pre>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
