"""``momentsense train next-event`` / ``eval next-event``: the reproducible end-to-end runs."""

from __future__ import annotations

import dataclasses
import gzip
import json
import time
from pathlib import Path
from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.moments.tokens import TOKENS, EncodingConfig
from momentsense.sdk.io.timeline_file import Timeline, read_timeline
from momentsense.trainer.nextevent.data import split_users, user_sequences
from momentsense.trainer.nextevent.evaluate import (evaluate, fit_population_markov, keras_predictor, markov_predictor,
                                        tflite_predictor)  # fmt: skip
from momentsense.trainer.nextevent.markov import MarkovOptions, PopulationMarkov
from momentsense.trainer.nextevent.train import TrainOptions, train_next_event

MODEL_NAME = "next_event"
MODEL_VERSION = "1.1.0"  # 1.1: the recall branch beside the LSTM (--recall-heads 4)


def save_population(pop: PopulationMarkov, path: Path) -> None:
    """The population back-off tables as gzipped JSON (needed to evaluate the baseline later)."""
    d = {"options": dataclasses.asdict(pop.options), "unigram": pop.unigram.tolist(),
         "fine": [[list(map(int, k)), v.tolist()] for k, v in pop.fine.items()],
         "coarse": [[int(k), v.tolist()] for k, v in pop.coarse.items()]}  # fmt: skip
    with gzip.open(path, "wt") as f:
        json.dump(d, f)


def load_population(path: Path) -> PopulationMarkov:
    with gzip.open(path, "rt") as f:
        d = json.load(f)
    pop = PopulationMarkov(MarkovOptions(**d["options"]))
    pop.unigram = np.array(d["unigram"])
    for k, v in d["fine"]:
        pop.fine[tuple(k)] = np.array(v)
    for k, v in d["coarse"]:
        pop.coarse[int(k)] = np.array(v)
    return pop


def measure_latency_ms(model_path: Path, seqs, config: EncodingConfig, n: int = 200) -> dict:
    """Mean and p95 milliseconds per prediction of the SDK predictor (history update + window + invoke)."""
    from momentsense.sdk.moments.predictor import NextEventPredictor

    times = []
    pred = NextEventPredictor.create_from_path(model_path)
    seq = max(seqs, key=lambda s: len(s.tokens))
    events = list(zip(seq.start, seq.end, seq.tokens))
    for k, (s, e, tok) in enumerate(events[: n + 50]):
        t = time.perf_counter()
        pred.push(s, TOKENS[tok])
        pred.predict()
        if k >= 50:  # after the history has filled
            times.append((time.perf_counter() - t) * 1000.0)
    return {"latency_ms_mean": float(np.mean(times)), "latency_ms_p95": float(np.percentile(times, 95)),
            "latency_n": len(times), "interpreter": pred.backend}  # fmt: skip


def run_train(data: str, out: str, options: TrainOptions, config: EncodingConfig = EncodingConfig(), split_seed: int = 0,
              max_train_users: Optional[int] = None, eval_users: Optional[int] = 400, tflite_eval_users: int = 60,
              markov: MarkovOptions = MarkovOptions(), ship: Optional[str] = None, progress: bool = True,
              tflite_mode: str = "float16") -> dict:  # fmt: skip
    """Train on training users, evaluate on held-out users, export the TFLite model; return metrics.

    Writes ``out/metrics.json``, ``out/next_event_seq.keras`` (the trained sequence model),
    ``out/next_event.tflite`` + ``out/next_event.json`` (manifest with the held-out metrics) and
    ``out/markov_population.json.gz``; with ``ship`` also the ``.tflite`` and manifest there.
    """
    from tqdm import tqdm

    from momentsense.edge_models.next_event import build_export_model
    from momentsense.quantize.recurrent import export_lstm_tflite, write_lstm_model
    from momentsense.sdk.models.interpreter import load_model

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tl = read_timeline(data)
    train_u, val_u, test_u = split_users(len(tl.users), split_seed)
    if max_train_users:
        train_u = train_u[: int(max_train_users)]
    if eval_users:
        test_u = test_u[: int(eval_users)]
    seqs_train = user_sequences(tl, train_u, config.utc_offset_s)
    seqs_val = user_sequences(tl, val_u, config.utc_offset_s)
    seqs_test = user_sequences(tl, test_u, config.utc_offset_s)
    assert not ({s.user for s in seqs_train} & {s.user for s in seqs_test})  # invariant, not input validation
    print(f"users: {len(seqs_train)} train, {len(seqs_val)} validation, {len(seqs_test)} held-out test")
    t0 = time.time()
    model, history = train_next_event(seqs_train, seqs_val, config, options, progress=progress)
    train_s = time.time() - t0
    model.save(out_dir / "next_event_seq.keras")
    pop = fit_population_markov(seqs_train, markov)
    save_population(pop, out_dir / "markov_population.json.gz")
    pop1 = fit_population_markov(seqs_train, dataclasses.replace(markov, order=1))
    metrics = evaluate(seqs_test, tl.truth, {"lstm": keras_predictor(model, config), "markov": markov_predictor(pop),
                                            "markov1": markov_predictor(pop1)}, progress=progress)  # fmt: skip
    # TFLite (dynamic range) against Keras on the same events of the first held-out users.
    export = build_export_model(model, config.max_events)
    # float16, not dynamic range: the dynamic-range LSTM uses FULLY_CONNECTED v12, which
    # tflite-runtime 2.14 (and older phone runtimes) refuse (measured, scripts/check_old_runtime.py).
    tfl_bytes = export_lstm_tflite(export, tflite_mode)
    tfl = load_model(tfl_bytes)
    sub = seqs_test[:tflite_eval_users]
    cmp = evaluate(sub, tl.truth, {"keras": keras_predictor(model, config), "tflite": tflite_predictor(tfl, config)},
                   progress=progress, scenarios=("all",))  # fmt: skip
    metrics.update({"tflite_top1": cmp["tflite_top1"], "tflite_top3": cmp["tflite_top3"], "keras_top1_same_events": cmp["keras_top1"],
                    "keras_top3_same_events": cmp["keras_top3"], "tflite_n_users": cmp["n_users"], "tflite_n_events": cmp["n_events"],
                    "tflite_mode": tflite_mode, "tflite_bytes": len(tfl_bytes), "train_s": train_s,
                    "n_train_users": len(seqs_train), "n_val_users": len(seqs_val), "history": history,
                    "markov_options": dataclasses.asdict(markov), "train_options": dataclasses.asdict(options),
                    "split_seed": split_seed, "data": str(data), "data_source": tl.source})  # fmt: skip
    manifest_metrics = {k: v for k, v in metrics.items() if k not in ("history", "train_options", "markov_options")}
    extra = {"output_layout": f"first {len(TOKENS)} values: next-token probabilities in label_names order; last: "
                              "log1p(minutes until the next event starts)", "history_weeks_before_eval": 3,
             "lstm_units": options.units, "recall_heads": options.recall_heads}  # fmt: skip
    source = f"{tl.source}; held-out users never seen in training (split seed {split_seed})"
    path, manifest = write_lstm_model(tfl_bytes, out_dir, MODEL_NAME, MODEL_VERSION, TOKENS, config.to_dict(), source,
                                      manifest_metrics, extra)  # fmt: skip
    metrics.update(measure_latency_ms(path, seqs_test, config))
    manifest_metrics.update({k: metrics[k] for k in ("latency_ms_mean", "latency_ms_p95", "interpreter")})
    path, manifest = write_lstm_model(tfl_bytes, out_dir, MODEL_NAME, MODEL_VERSION, TOKENS, config.to_dict(), source,
                                      manifest_metrics, extra)  # fmt: skip
    if ship:
        write_lstm_model(tfl_bytes, ship, MODEL_NAME, MODEL_VERSION, TOKENS, config.to_dict(), source, manifest_metrics, extra)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True, default=float) + "\n")
    _ = tqdm
    return metrics


def run_eval(model_path: str, data: str, shift_hours: float = 0.0, markov_population: Optional[str] = None,
             max_users: Optional[int] = None, progress: bool = False, first_week: bool = False) -> dict:  # fmt: skip
    """Evaluate a trained LSTM (``.tflite`` with its manifest, or ``.keras``) against the Markov baseline.

    Every user of ``data`` is evaluated after three weeks of history. Without ``shift_hours`` the
    keys ``lstm_top1``... are on all such events; with it, on the events of the fourth week after
    moving that week by ``shift_hours`` (``*_unshifted`` are the same events as recorded). With
    ``first_week``, on each user's first week instead (the cold start: no per-user history yet).
    """
    from momentsense.sdk.models.manifest import read_manifest

    mp = Path(model_path)
    if not mp.exists():
        raise FileNotFoundError(f"{mp}: no such model")
    tl: Timeline = read_timeline(data)
    users = list(range(len(tl.users)))[: max_users or None]
    if mp.suffix == ".tflite":
        from momentsense.sdk.models.interpreter import load_model
        from momentsense.sdk.models.manifest import load_verified_model

        model_bytes, manifest = load_verified_model(mp)
        config = EncodingConfig.from_dict(manifest.preprocess)
        lstm = tflite_predictor(load_model(model_bytes), config)
    elif mp.suffix == ".keras":
        from momentsense.edge_models.next_event import load_keras_model

        side = mp.with_name("next_event.json")
        config = EncodingConfig.from_dict(read_manifest(side).preprocess) if side.exists() else EncodingConfig()
        lstm = keras_predictor(load_keras_model(mp), config)
    else:
        raise InputError(f"--model must be a .tflite (with its .json manifest) or a .keras file, got {mp.name}")
    seqs = user_sequences(tl, users, config.utc_offset_s)
    pop_path = Path(markov_population) if markov_population else mp.with_name("markov_population.json.gz")
    if pop_path.exists():
        pop, pop_src = load_population(pop_path), str(pop_path)
    else:
        pop, pop_src = fit_population_markov(seqs), "fitted on the evaluated file (no training population found)"
    preds = {"lstm": lstm, "markov": markov_predictor(pop)}
    if first_week:
        m = evaluate(seqs, tl.truth, preds, progress=progress, scenarios=("first_week",))
        res = {"n_users": m["n_users"], "n_events": m["n_events_first_week"], "scenario": "first week of each user"}
        for name in preds:
            for k in ("top1", "top3"):
                res[f"{name}_{k}"] = m[f"{name}_{k}_first_week"]
    elif shift_hours:
        m = evaluate(seqs, tl.truth, preds, shift_s=shift_hours * 3600.0, progress=progress, scenarios=("shift",))
        res = {"n_users": m["n_users"], "n_events": m["n_events_shift"], "shift_hours": shift_hours}
        for name in preds:
            for k in ("top1", "top3"):
                res[f"{name}_{k}"] = m[f"{name}_{k}_shift"]
                res[f"{name}_{k}_unshifted"] = m[f"{name}_{k}_shift_base"]
    else:
        m = evaluate(seqs, tl.truth, preds, progress=progress, scenarios=("all", "holiday"))
        res = dict(m)
    res["markov_population"] = pop_src
    res["model"] = str(mp)
    return res
