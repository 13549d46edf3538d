"""Measuring compressed models as shipped: latency side by side, sizes, the report table and plot.

Latency is measured for every variant in one run, interleaved round by round (so a noisy neighbour
on a shared machine slows every variant alike), batch 1, one interpreter thread, two ways:

* ``invoke``: the interpreter alone (``Interpreter.invoke()`` on a window already set), what a phone
  app calling the TFLite runtime directly pays;
* ``run``: :meth:`sdk.models.interpreter.TfliteModel.run`, which adds the Python-side float → int8
  quantization of the input and the dequantization of the output (numpy, a few µs for 250 × 14).
"""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Mapping

import numpy as np

from momentsense.sdk.models.interpreter import load_model


def gzip_bytes(data: bytes) -> int:
    """Size in bytes after ``gzip -9`` (what an app store download or an OTA update pays)."""
    return len(gzip.compress(data, 9, mtime=0))


def _as_input(x: np.ndarray, detail: dict) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    if dtype in (np.int8, np.uint8):
        scale, zero = detail["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def latency_side_by_side(models: Mapping[str, bytes], windows: np.ndarray, rounds: int = 40, per_round: int = 50) -> dict:
    """Median and p95 latency in milliseconds per window of each model, measured interleaved.

    Parameters
    ----------
    models : mapping name → ``.tflite`` bytes
    windows : ndarray
        Normalised float32 windows ``(N, ...)``; window ``i % N`` is used at step ``i``.
    rounds, per_round : int
        Each round times ``per_round`` calls of every model in turn (after 3 warm-up calls).
    """
    from momentsense.sdk.models.interpreter import interpreter_class

    backend, cls = interpreter_class(None)
    loaded = {}
    for name, data in models.items():
        sdk_model = load_model(data, num_threads=1, backend=backend)
        it = cls(model_content=bytes(data), num_threads=1)
        it.allocate_tensors()
        inp = it.get_input_details()[0]
        it.set_tensor(inp["index"], _as_input(np.asarray(windows[:1], np.float32), inp))
        loaded[name] = (it, sdk_model)
    t_inv = {n: [] for n in models}
    t_run = {n: [] for n in models}
    x = np.asarray(windows, np.float32)
    for r in range(rounds):
        for name, (it, sdk_model) in loaded.items():
            for _ in range(3):
                it.invoke()
            for _ in range(per_round):
                t0 = time.perf_counter()
                it.invoke()
                t_inv[name].append(time.perf_counter() - t0)
            for j in range(per_round // 5):
                w = x[(r * per_round + j) % len(x)][None]
                t0 = time.perf_counter()
                sdk_model.run(w)
                t_run[name].append(time.perf_counter() - t0)
    out = {}
    for name in models:
        a, b = np.asarray(t_inv[name]) * 1e3, np.asarray(t_run[name]) * 1e3
        out[name] = {
            "invoke_median": float(np.median(a)), "invoke_p95": float(np.percentile(a, 95)),
            "run_median": float(np.median(b)), "run_p95": float(np.percentile(b, 95)), "n": int(len(a)),
        }  # fmt: skip
    return {"backend": backend, "threads": 1, "batch": 1, "unit": "ms", "variants": out}


def format_report(report: dict) -> str:
    """The sweep report as a fixed-width table (one row per variant)."""
    head = f"{'variant':<16}{'params':>8}{'nonzero':>9}{'tflite B':>10}{'gzip B':>9}{'acc':>7}{'F1':>7}{'invoke ms':>10}{'run ms':>8}  targets"
    lines = [head]
    for r in report["variants"]:
        t = r.get("targets", {})
        ok = "all met" if t and all(t.values()) else ",".join(k for k, v in t.items() if not v) + " missed" if t else ""
        lines.append(
            f"{r['variant']:<16}{r['params']:>8,}{r['nonzero_params']:>9,}{r['tflite_bytes']:>10,}{r['gzip_bytes']:>9,}"
            f"{r['accuracy']:>7.3f}{r['macro_f1']:>7.3f}{r['latency_ms']['invoke_median']:>10.4f}{r['latency_ms']['run_median']:>8.4f}  {ok}"
        )
    k = report["keras"]
    lines.append(f"keras float32 on the same {report['test_windows']} held-out windows: accuracy {k['accuracy']:.3f}, "
                 f"macro-F1 {k['macro_f1']:.3f}; latency: {report['latency']['backend']}, 1 thread, batch 1")  # fmt: skip
    lines.append(f"recommended for phones: {report.get('recommended')} ({report.get('recommended_why', '')})")
    if report.get("shipped"):
        lines.append(f"shipped: {report['shipped']}")
    return "\n".join(lines)


def plot_report(report: dict, path: str | Path) -> Path:
    """``report.png``: macro-F1 against ``.tflite`` size (KB, log scale), one point per variant."""
    from matplotlib.backends.backend_agg import (
        FigureCanvasAgg,  # lazy: only the report needs it
    )
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    colors = {"float32": "tab:blue", "float16": "tab:orange", "dynamic": "tab:green", "int8": "tab:red"}
    for r in report["variants"]:
        kb = r["tflite_bytes"] / 1024
        ax.scatter(kb, r["macro_f1"], c=colors.get(r["mode"], "k"), marker="*" if r["variant"] == report.get("recommended") else "o", s=60)
        ax.annotate(r["variant"], (kb, r["macro_f1"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    f1 = report["keras"]["macro_f1"]
    ax.axhline(f1 - 0.01, color="grey", ls="--", lw=0.8, label="float macro-F1 − 1 point")
    ref = report.get("float32_reference_bytes")
    if ref:
        ax.axvline(ref / 4 / 1024, color="grey", ls=":", lw=0.8, label="¼ of float32 .tflite")
    ax.axvline(64, color="k", ls=":", lw=0.8, label="64 KB")
    for mode, c in colors.items():
        ax.scatter([], [], c=c, label=mode)
    ax.set_xscale("log")
    ax.set_xlabel(".tflite size (KB, log scale)")
    ax.set_ylabel(f"macro-F1 on {report['test_windows']} held-out windows")
    ax.set_title("transport CNN: accuracy against size (★ = recommended)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
