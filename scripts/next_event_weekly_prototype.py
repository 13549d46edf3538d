"""Prototype, not the product: the next-event LSTM with two extra inputs per event, the token of what
came next at the same time 1 and 2 weeks earlier (one-hot each), trained and scored like the shipped
one against the Markov chain.

    python scripts/next_event_weekly_prototype.py runs/population_3000x6.h5 runs/pop_eval300.h5 \
        runs/next_event/markov_population.json.gz [EPOCHS]

It swaps the encoder of the trainer's modules in this process only (the SDK's encoding is unchanged).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import momentsense.sdk.moments.tokens as tokens
import momentsense.trainer.nextevent.data as data
import momentsense.trainer.nextevent.train as train

_encode = tokens.encode_events
K = tokens.N_TOKENS
LAGS_S = (7 * 86400.0, 14 * 86400.0)


def weekly(start: np.ndarray, token: np.ndarray) -> np.ndarray:
    """One-hot of the first event that started after ``t - lag`` (and before ``t``), per lag."""
    start, token = np.asarray(start, np.float64), np.asarray(token, np.int64)
    out = np.zeros((len(start), len(LAGS_S) * K), np.float32)
    for j, lag in enumerate(LAGS_S):
        idx = np.searchsorted(start, start - lag, side="right")
        ok = (idx < np.arange(len(start))) & (start[0] <= start - lag)
        out[np.flatnonzero(ok), j * K + token[idx[ok]]] = 1.0
    return out


def encode(start, token, prev, utc_offset_s=0.0):
    return np.hstack([_encode(start, token, prev, utc_offset_s), weekly(start, token)])


def main(train_file: str, eval_file: str, population: str, epochs: int = 14) -> None:
    data.encode_events = train.encode_events = encode
    train.N_FEATURES = tokens.N_FEATURES + len(LAGS_S) * K
    from momentsense.sdk.moments.tokens import EncodingConfig
    from momentsense.sdk.io.timeline_file import read_timeline
    from momentsense.trainer.nextevent.evaluate import evaluate, keras_predictor, markov_predictor
    from momentsense.trainer.nextevent.workflow import load_population

    cfg = EncodingConfig()
    tl = read_timeline(train_file)
    tr, va, _ = data.split_users(len(tl.users), 0)
    model, _ = train.train_next_event(data.user_sequences(tl, tr), data.user_sequences(tl, va), cfg,
                                      train.TrainOptions(epochs=epochs, threads=2), progress=False)  # fmt: skip
    ev = read_timeline(eval_file)
    seqs = data.user_sequences(ev, list(range(len(ev.users))))
    preds = {"lstm_weekly": keras_predictor(model, cfg), "markov": markov_predictor(load_population(Path(population)))}
    m = evaluate(seqs, ev.truth, preds, progress=False, scenarios=("all", "shift"))
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in m.items()}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    main(*sys.argv[1:4], *(int(a) for a in sys.argv[4:]))
