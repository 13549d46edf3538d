"""``docs/results.md``: every measured figure, generated from the committed metrics and result files.

Two kinds of source:

* the manifests and metrics files beside the shipped models (``edge_models/artifacts/``), written by
  the training and compression commands;
* result files under ``docs/results/`` (``momentsense-result-v1``): one JSON object per measurement
  with ``title``, ``data`` (``real`` or ``simulated``), ``command`` (what reproduces it), ``measured``
  (ISO date), optional ``version`` and ``note``, and a table as ``columns`` + ``rows``.

:func:`render` is deterministic (no clock, no environment), so ``momentsense report --check`` can
compare the committed page with what the committed files generate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from momentsense.sdk.errors import InputError

RESULT_FORMAT = "momentsense-result-v1"
REPO = Path(__file__).resolve().parents[1]


@dataclass
class Table:
    """One block of the page: a titled table with the command that reproduces it."""

    title: str
    data: str  # "real" or "simulated"
    command: str
    source: str  # the file it was generated from, relative to the repository
    columns: list[str]
    rows: list[list]
    version: str = ""
    measured: str = ""
    note: str = ""
    order: int = 50


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _rel(path: Path) -> str:
    """``edge_models/artifacts/x.json`` or ``docs/results/x.json``: the path below the repository."""
    return "/".join(path.parts[-3:])


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read a JSON result ({exc})") from exc


def _transport_sim(art: Path) -> Optional[Table]:
    path = art / "transport_cnn.metrics.json"
    if not path.is_file():
        return None
    m, manifest = _load(path), _load(art / "transport_cnn.json")
    rows = [[c["model"], c.get("macro_f1"), c.get("window_accuracy"), c.get("segment_accuracy_hmm"),
             c.get("segment_accuracy_viterbi"), c.get("switches_per_hour_hmm")] for c in m.get("compare", [])]  # fmt: skip
    return Table(
        title="Transport modes per window, simulator test file (12 unseen subjects, other phones)",
        data="simulated", source=_rel(path), version=manifest.get("version", ""),
        command="bash scripts/train_transport.sh  # then: momentsense eval transport --model "
                "edge_models/artifacts/transport_cnn.tflite --data data/sim_test.h5",
        columns=["model", "macro-F1", "window acc.", "segment acc. (forward filter)", "segment acc. (Viterbi)",
                 "switches per hour"],
        rows=rows, order=20,
        note="Macro-F1 over the classes of the file; true switches per hour "
             f"{_fmt((m.get('compare') or [{}])[0].get('true_switches_per_hour'))}. Measured when the model "
             "shipped, on the test file of the simulator of that time (1.1); simulator 1.2, calibrated on real "
             "still and vehicle recordings, is harder: docs/transport-model.md has both models on it.")


def _transport_wisdm_cv(art: Path) -> Optional[Table]:
    path = art / "transport_wisdm.cv.json"
    if not path.is_file():
        return None
    cv = _load(path)
    rows = [[name, r.get("mean_macro_f1"), r.get("std_macro_f1"), r.get("min_macro_f1"), r.get("max_macro_f1")]
            for name, r in sorted(cv.get("models", {}).items())]  # fmt: skip
    return Table(
        title=f"WISDM phone data, {cv.get('n_folds', '?')}-fold cross-validation by subject (window classifier)",
        data="real", source=_rel(path),
        command="momentsense convert wisdm ../shared/data/wisdm2019_phone_subset.h5 --out data/wisdm.h5 && "
                "momentsense train transport --data data/wisdm.h5 --out runs/transport_wisdm_cv --folds 5 "
                "--baselines --epochs 40 --seed 0",
        columns=["model", "mean macro-F1", "std", "worst fold", "best fold"], rows=rows, order=10)


def _compression(art: Path) -> Optional[Table]:
    path = art / "transport_cnn.quantize_report.json"
    if not path.is_file():
        return None
    q = _load(path)
    rows = []
    for v in q.get("variants", []):
        lat = v.get("latency_ms") or {}
        rows.append([v.get("variant"), v.get("tflite_bytes"), v.get("gzip_bytes"), v.get("macro_f1"),
                     v.get("agreement_with_keras"), lat.get("run_median")])
    return Table(
        title="Compression of the transport CNN (same held-out simulated windows)",
        data="simulated", source=_rel(path), version=_load(art / "transport_cnn.json").get("version", ""),
        command="momentsense quantize runs/transport/transport_cnn.keras --out runs/transport_quant --train-data "
                "data/sim_train.h5 --test-data data/sim_test.h5 --sweep --seed 0",
        columns=["variant", ".tflite bytes", "gzip bytes", "macro-F1", "agreement with Keras", "ms per window (median)"],
        rows=rows, order=40, note=f"Shipped: {q.get('shipped')}.")


def _next_event(art: Path) -> Optional[Table]:
    path = art / "next_event.json"
    if not path.is_file():
        return None
    man = _load(path)
    m = man.get("metrics", {})
    rows = [["all held-out events", m.get("n_events"), m.get("lstm_top1"), m.get("markov_top1"), m.get("lstm_top3"), m.get("markov_top3")],
            ["holiday weeks", m.get("n_events_holiday"), m.get("lstm_top1_holiday"), m.get("markov_top1_holiday"),
             m.get("lstm_top3_holiday"), m.get("markov_top3_holiday")],
            ["week 4", m.get("n_events_shift_base"), m.get("lstm_top1_shift_base"), m.get("markov_top1_shift_base"),
             m.get("lstm_top3_shift_base"), m.get("markov_top3_shift_base")],
            ["week 4, routines shifted +1 h", m.get("n_events_shift"), m.get("lstm_top1_shift"), m.get("markov_top1_shift"),
             m.get("lstm_top3_shift"), m.get("markov_top3_shift")]]  # fmt: skip
    return Table(
        title="Next-event prediction on the " + ("phone view of the" if "phone-view" in str(m.get("data_source", "")) else "true")
              + " simulated timeline (held-out users)",
        data="simulated", source=_rel(path), version=man.get("version", ""),
        command="bash scripts/train_next_event.sh",
        columns=["events", "n", "model top-1", "Markov top-1", "model top-3", "Markov top-3"], rows=rows, order=60,
        note=f"{m.get('data_source', '')}. TFLite top-1 {_fmt(m.get('tflite_top1'))} vs Keras "
             f"{_fmt(m.get('keras_top1_same_events'))} on the same {_fmt(m.get('tflite_n_events'))} events; "
             f"{_fmt(m.get('latency_ms_mean'))} ms per prediction.")


def _segments(art: Path) -> Optional[Table]:
    path = art / "segment_metrics.json"
    if not path.is_file():
        return None
    s = _load(path)
    heads, rules = s.get("heads_test_f1", {}), s.get("rules_f1", {})
    rows = [[name, (heads.get(name) or {}).get("embedding"), (heads.get(name) or {}).get("features_baseline"), rules.get(name)]
            for name in sorted(set(heads) | set(rules))]  # fmt: skip
    return Table(
        title="Segments: F1 on held-out simulated users (embedding heads, feature baseline, business rules)",
        data="simulated", source=_rel(path), command="bash scripts/train_segments.sh",
        columns=["segment", "embedding head F1", "features baseline F1", "rule F1"], rows=rows, order=70,
        note=f"{s.get('data_source', '')}; {_fmt(s.get('n_test_users'))} test users.")


BUILTIN: list[Callable[[Path], Optional[Table]]] = [_transport_wisdm_cv, _transport_sim, _compression, _next_event, _segments]


def _result_file(path: Path) -> Table:
    d = _load(path)
    if d.get("format") != RESULT_FORMAT:
        raise InputError(f"{path}: not a {RESULT_FORMAT} result file (format={d.get('format')!r})")
    missing = [k for k in ("title", "data", "command", "columns", "rows") if k not in d]
    if missing:
        raise InputError(f"{path}: missing {', '.join(missing)}")
    if d["data"] not in ("real", "simulated"):
        raise InputError(f"{path}: data must be 'real' or 'simulated', got {d['data']!r}")
    if any(len(r) != len(d["columns"]) for r in d["rows"]):
        raise InputError(f"{path}: every row needs {len(d['columns'])} values")
    return Table(title=d["title"], data=d["data"], command=d["command"], source=_rel(path),
                 columns=list(d["columns"]), rows=[list(r) for r in d["rows"]], version=str(d.get("version", "")),
                 measured=str(d.get("measured", "")), note=str(d.get("note", "")), order=int(d.get("order", 50)))  # fmt: skip


def collect(repo: Path = REPO) -> list[Table]:
    """Every table, real data first, then by ``order`` and title."""
    art = repo / "edge_models" / "artifacts"
    tables = [t for t in (f(art) for f in BUILTIN) if t is not None]
    results = repo / "docs" / "results"
    if results.is_dir():
        tables += [_result_file(p) for p in sorted(results.glob("*.json"))]
    return sorted(tables, key=lambda t: (t.data != "real", t.order, t.title))


def render(repo: Path = REPO) -> str:
    """The whole ``docs/results.md`` page as text."""
    out = ["# Results", "",
           "Generated by `momentsense report` from the committed metrics files; do not edit by hand. Each table",
           "names the file it comes from and the command that measures it again. Real recordings come first;",
           "simulator figures after them. Accuracy is always on subjects or users held out from training.", ""]  # fmt: skip
    for label in ("real", "simulated"):
        group = [t for t in collect(repo) if t.data == label]
        if not group:
            continue
        out += [f"## On {'real recordings' if label == 'real' else 'the simulator'}", ""]
        for t in group:
            out += [f"### {t.title}", ""]
            meta = [f"source `{t.source}`"] + ([f"version {t.version}"] if t.version else []) + ([f"measured {t.measured}"] if t.measured else [])
            out += ["; ".join(meta) + ".", "", "```bash", t.command, "```", ""]
            out += ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
            out += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in t.rows]
            if t.note:
                out += ["", t.note]
            out.append("")
    return "\n".join(out).rstrip() + "\n"
