"""Model benchmarks printed as JSON: inference per window and training throughput.

Everything is measured side by side in one process run, on the same random inputs, batch 1 and one
interpreter thread for inference; medians and p95 over many repetitions (machines are noisy).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np


def _timed(fn: Callable[[], object], repeats: int, warmup: int = 20) -> dict:
    for _ in range(warmup):
        fn()
    t = np.empty(repeats)
    for i in range(repeats):
        t0 = time.perf_counter()
        fn()
        t[i] = time.perf_counter() - t0
    return {"median_ms": round(float(np.median(t)) * 1e3, 4), "p95_ms": round(float(np.percentile(t, 95)) * 1e3, 4),
            "repeats": repeats}


def bench_models(repeats: int = 500, artifacts: Optional[str] = None, keras_too: bool = True) -> dict:
    """Inference per window of every shipped ``.tflite`` (and its Keras original when shipped).

    For each model: bytes on disk, median and p95 ms per call, batch 1, 1 thread, in
    ``ai_edge_litert`` (or whichever backend :func:`sdk.models.interpreter.load_model` picks; named in the
    output). The Keras float32 model, when shipped (``transport_cnn.keras``), is timed with
    ``model(x, training=False)`` in TensorFlow, 1 intra-op thread.
    """
    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.models.interpreter import load_model

    d = Path(artifacts) if artifacts else artifact_dir()
    rng = np.random.default_rng(0)
    out: dict = {"repeats": repeats, "models": {}}
    for path in sorted(d.glob("*.tflite")):
        m = load_model(path, num_threads=1)
        x = rng.normal(0, 1, m.input_spec.shape).astype(np.float32)
        row = {"bytes": path.stat().st_size, "input_dtype": m.input_spec.dtype, "backend": m.backend}
        row.update(_timed(lambda: m.run(x), repeats))
        out["models"][path.stem] = row
        out["interpreter"] = m.backend
    if keras_too:
        for path in sorted(d.glob("*.keras")):
            import tensorflow as tf
            import tf_keras as keras

            try:
                tf.config.threading.set_intra_op_parallelism_threads(1)
            except RuntimeError:  # TensorFlow already initialised in this process: keep its setting
                pass
            model = keras.models.load_model(path, compile=False)
            shape = (1,) + tuple(int(s) for s in model.input_shape[1:])
            x = tf.constant(rng.normal(0, 1, shape).astype(np.float32))
            row = {"bytes": path.stat().st_size, "input_dtype": "float32", "backend": f"tensorflow {tf.__version__}"}
            row.update(_timed(lambda: model(x, training=False), max(50, repeats // 5)))
            out["models"][path.stem + "_keras"] = row
    base = out["models"].get("transport_cnn_float32")
    if base:
        out["transport_ratios_vs_float32_tflite"] = {
            k: {"latency": round(v["median_ms"] / base["median_ms"], 3), "bytes": round(v["bytes"] / base["bytes"], 3)}
            for k, v in out["models"].items() if k.startswith("transport_cnn")}
    return out


def bench_training(seconds: float = 10.0, batch_size: int = 64, threads: int = 2) -> dict:
    """Training throughput of the transport CNN (windows/s) and the next-event LSTM (timelines/s).

    Random inputs of the shipped shapes (250 × 14 windows; 192-event timelines); each model is fitted
    for about ``seconds`` after one warm-up epoch, ``threads`` TensorFlow threads. A "timeline" is
    one training crop of a user's history (192 events), the LSTM's unit of work.
    """
    import tensorflow as tf
    import tf_keras as keras

    from momentsense.edge_models.next_event import build_next_event_model
    from momentsense.edge_models.transport_cnn import build_transport_cnn
    from momentsense.sdk.moments.tokens import N_FEATURES, N_TOKENS

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already initialised in this process (bench all): report what it uses
        pass
    rng = np.random.default_rng(0)
    res = {"threads": tf.config.threading.get_intra_op_parallelism_threads() or "default (all cores)",
           "batch_size": batch_size}

    def throughput(model, x, y, loss):
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)  # warm-up: graph building
        rates = []
        t_end = time.perf_counter() + seconds
        while time.perf_counter() < t_end or len(rates) < 3:
            t0 = time.perf_counter()
            model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
            rates.append(len(x) / (time.perf_counter() - t0))
        return {"per_s_median": round(float(np.median(rates)), 1), "epochs_timed": len(rates), "examples": len(x)}

    cnn = build_transport_cnn(250, 14, 8)
    x = rng.normal(0, 1, (1024, 250, 14)).astype(np.float32)
    y = rng.integers(0, 8, 1024)
    res["transport_cnn_windows"] = throughput(cnn, x, y, "sparse_categorical_crossentropy")
    lstm = build_next_event_model(N_FEATURES, N_TOKENS, seq_len=192, recall_heads=4)  # the shipped architecture
    xs = rng.normal(0, 1, (256, 192, N_FEATURES)).astype(np.float32)
    xs[:, :, :N_TOKENS] = np.eye(N_TOKENS, dtype=np.float32)[rng.integers(0, N_TOKENS, (256, 192))]  # one-hot tokens
    ys = {"next": rng.integers(0, N_TOKENS, (256, 192)), "wait": rng.normal(0, 1, (256, 192, 1)).astype(np.float32)}
    res["next_event_lstm_timelines"] = throughput(lstm, xs, ys, {"next": "sparse_categorical_crossentropy", "wait": "huber"})
    return res
