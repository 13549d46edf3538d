"""Export the timeline encoder to a builtin-ops ``.tflite`` with its manifest, checked against Keras."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from momentsense.sdk.moments.tokens import N_TOKENS
from momentsense.sdk.segments.encoding import WindowConfig, encode_user_windows
from momentsense.sdk.segments.events import UserEvents

ENCODER_NAME = "timeline_encoder"


def export_encoder(model, out_dir: Path, check_users: list[UserEvents], config: WindowConfig, options, source: str, metrics: dict,
                   name: str = ENCODER_NAME, version=None, parent_version=None, extra=None) -> dict:  # fmt: skip
    """Write ``out_dir/timeline_encoder.tflite`` + ``.json``; return the TFLite check metrics.

    The check runs the SDK's interpreter on the windows of ``check_users`` (held-out) and compares
    with the Keras model: max absolute difference and mean cosine of the embeddings, and ms per window.
    """
    from momentsense.edge_models.timeline_encoder import build_export_model
    from momentsense.quantize.export import export_tflite, write_model
    from momentsense.quantize.recurrent import check_builtin_only
    from momentsense.sdk.models.interpreter import load_model

    export = build_export_model(model, N_TOKENS)
    data = export_tflite(export, options.tflite_mode)
    ops = check_builtin_only(data)
    tm = load_model(data)
    x = np.concatenate([encode_user_windows(u, config) for u in check_users]) if check_users else np.zeros((0,) + tuple(model.input_shape[1:]), np.float32)
    ref = np.asarray(model(x, training=False)) if len(x) else np.zeros((0, int(model.output_shape[-1])))
    t = time.perf_counter()
    got = tm.run_batch(x)
    ms = (time.perf_counter() - t) * 1000.0 / max(len(x), 1)
    chk = {"tflite_mode": options.tflite_mode, "tflite_bytes": len(data), "tflite_ops": sorted(set(ops)), "interpreter": tm.backend,
           "tflite_check_windows": len(x), "tflite_max_abs_diff": float(np.max(np.abs(got - ref))) if len(x) else 0.0,
           "tflite_mean_cosine": float(np.mean(np.sum(got * ref, axis=1))) if len(x) else 1.0, "latency_ms_per_window": ms}  # fmt: skip
    keep = {k: metrics[k] for k in ("retrieval_test", "n_users", "n_encoder_users", "n_test_users", "encoder_train_s") if k in metrics}
    if "few_label_f1" in metrics:
        keep["few_label_mean_f1"] = {rep: metrics["few_label_f1"][rep]["mean"] for rep in metrics["few_label_f1"]}
    if "stable" in metrics:
        st = metrics["stable"]
        keep["retrain_mean_f1_old_heads"] = {"c_old": st["c_old_mean_f1"], **{f"{kind}_{case}": st[kind][case]["mean_f1"] for kind in ("cold", "warm")
                                             for case in ("a_new_unmapped", "b_new_mapped_orthogonal", "b_new_mapped_ridge")}}  # fmt: skip
    keep.update(chk)
    ex = {"embedding_dim": int(model.output_shape[-1]), "l2_normalised": True, "heads": "segment_classifiers.json",
          "user_embedding": "normalised mean over windows ending every stride_s back from the last event", "mapping_to": {}}
    ex.update(extra or {})
    write_model(data, out_dir, name, version or options.version, "timeline_encoder", preprocess=config.to_dict(), parent_version=parent_version,
                source=f"{source}; trained without segment labels (batch-hard triplet loss); split seed {options.split_seed}",
                metrics=keep, extra=ex)
    return chk
