"""Text tables of ``eval transport --stream`` results (per file label, per second)."""

from __future__ import annotations


def _f(v) -> str:
    return "   —" if v is None else f"{v:.3f}"


def format_stream(m: dict) -> str:
    """Recall and ``as_vehicle`` per file label for the ``stream`` and ``stream_live`` scores in ``m``."""
    lines = [f"streamed through the SDK ({m['recordings']} recordings, {m['chunk_s']:g} s chunks, GPS "
             f"{'on' if m['gps'] else 'off'}; {m['windows_skipped']} of {m['windows']} windows duty-cycled), per second:"]  # fmt: skip
    if m.get("skipped_recordings"):
        lines.append(f"  not streamed: {m['skipped_recordings']}")
    s, live = m["stream"], m["stream_live"]
    lines.append(f"  {'file label':<28}{'model class':<13}{'seconds':>9}{'timeline':>10}{'live':>8}{'as vehicle':>12}{'(live)':>8}")
    for i, name in enumerate(s["file_label_names"]):
        n = sum(s["confusion_seconds"][i])
        lines.append(f"  {name:<28}{str(s['label_map'].get(name) or '—'):<13}{n:>9}{_f(s['recall'][name]):>10}"
                     f"{_f(live['recall'][name]):>8}{_f(s['as_vehicle'][name]):>12}{_f(live['as_vehicle'][name]):>8}")  # fmt: skip
    for cls, r in s["recall_by_class"].items():
        lines.append(f"  {'= ' + cls:<41}{'':>9}{_f(r):>10}{_f(live['recall_by_class'].get(cls)):>8}"
                     f"{_f(s['as_vehicle_by_class'][cls]):>12}{_f(live['as_vehicle_by_class'].get(cls)):>8}")  # fmt: skip
    return "\n".join(lines)
