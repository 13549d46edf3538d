"""Train the global next-event LSTM on many users' timelines (no per-user training).

Training examples are random crops of ``max_events`` consecutive events of training users (some
left-padded prefixes, as a new user's short history looks); the loss covers every position after
a short warm-up, with the next token (cross-entropy) and the wait until it (Huber on ``log1p``
minutes). Augmentation (documented, on by default): a random run of days of a training crop is
moved by up to ±90 minutes, as a user who gets up late for a few days would be; labels are never
touched.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from momentsense.sdk.moments.tokens import N_FEATURES, N_TOKENS, EncodingConfig, encode_events, previous_durations
from momentsense.trainer.nextevent.data import UserSeq


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """Attributes:
    epochs: Passes over the crops.
    crops_per_user: Random crops per training user per epoch.
    batch_size: Crops per batch.
    units, embed: LSTM and per-event projection widths.
    warmup_events: Positions of a crop before this are not in the loss (too little context).
    shift_augment_p: Probability that a crop gets a random time shift of a run of days.
    wait_weight: Weight of the wait head's loss.
    seed: Seed of crops, augmentation and initialisation.
    threads: TensorFlow intra/inter-op threads.
    recall_heads: Heads of the model's recall branch (0: the plain LSTM of model 1.0; 4 as shipped;
        see :mod:`edge_models.next_event`).
    """

    epochs: int = 6
    crops_per_user: int = 4
    batch_size: int = 64
    units: int = 64
    embed: int = 32
    warmup_events: int = 24
    shift_augment_p: float = 0.5
    wait_weight: float = 0.2
    learning_rate: float = 3e-3
    seed: int = 0
    threads: Optional[int] = 2
    recall_heads: int = 4


def _crop(seq: UserSeq, L: int, rng: np.random.Generator, options: "TrainOptions", utc_offset_s: float):
    n = len(seq.tokens)
    if n <= L or rng.random() < 0.1:  # a prefix: a user with a short history, left-padded
        lo, hi = 0, min(n, int(rng.integers(max(2, L // 4), L + 1)))
    else:
        lo = int(rng.integers(0, n - L + 1))
        hi = lo + L
    k = hi - lo
    start, end, tok = seq.start[lo:hi], seq.end[lo:hi], seq.tokens[lo:hi]
    nxt_start = seq.start[hi] if hi < n else np.nan
    if rng.random() < options.shift_augment_p and k > 4:
        day = np.floor((start - start[0]) / 86400.0)
        d0 = int(rng.integers(0, int(day.max()) + 1))
        sel = (day >= d0) & (day < d0 + int(rng.integers(1, 8)))
        shift = float(rng.uniform(-5400.0, 5400.0))
        s2, e2 = np.where(sel, start + shift, start), np.where(sel, end + shift, end)
        if np.all(np.diff(s2) >= 0) and np.all(e2 >= s2) and (hi >= n or s2[-1] <= nxt_start):
            start, end = s2, e2
    prev = previous_durations(start, end)
    if lo > 0:
        prev[0] = seq.end[lo - 1] - seq.start[lo - 1]
    feats = encode_events(start, tok, prev, utc_offset_s)
    x = np.zeros((L, N_FEATURES), np.float32)
    y = np.zeros(L, np.int64)
    w = np.zeros(L, np.float32)
    wait = np.zeros((L, 1), np.float32)
    x[L - k :] = feats
    nxt = seq.tokens[lo + 1 : hi + 1] if hi < n else np.append(seq.tokens[lo + 1 : hi], -1)
    y[L - k :] = np.maximum(nxt, 0)
    ww = (nxt >= 0).astype(np.float32)
    if lo > 0:
        ww[: options.warmup_events] = 0.0  # too little context in the crop
    w[L - k :] = ww
    wt = np.diff(np.append(start, nxt_start if hi < n else start[-1]))
    wait[L - k :, 0] = np.log1p(np.maximum(wt, 0.0) / 60.0)
    return x, y, w, wait


def make_crops(seqs: list[UserSeq], config: EncodingConfig, options: TrainOptions, epoch: int):
    """Arrays ``x (N, L, F)``, ``y (N, L)``, ``w (N, L)``, ``wait (N, L, 1)`` for one epoch."""
    rng = np.random.default_rng([options.seed, epoch])
    L = int(config.max_events)
    xs, ys, ws, wts = [], [], [], []
    for seq in seqs:
        for _ in range(options.crops_per_user):
            x, y, w, wt = _crop(seq, L, rng, options, config.utc_offset_s)
            xs.append(x), ys.append(y), ws.append(w), wts.append(wt)
    return np.stack(xs), np.stack(ys), np.stack(ws), np.stack(wts)


def train_next_event(train: list[UserSeq], val: list[UserSeq], config: EncodingConfig, options: TrainOptions = TrainOptions(),
                     progress: bool = True):  # fmt: skip
    """Fit the LSTM; returns the trained tf_keras sequence model and the per-epoch history."""
    import tensorflow as tf
    import tf_keras as keras

    if options.threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(options.threads)
            tf.config.threading.set_inter_op_parallelism_threads(options.threads)
        except RuntimeError:
            pass
    tf.random.set_seed(options.seed)
    keras.utils.set_random_seed(options.seed)
    from momentsense.edge_models.next_event import build_next_event_model

    model = build_next_event_model(N_FEATURES, N_TOKENS, options.units, options.embed, seed=options.seed,
                                   seq_len=int(config.max_events) if options.recall_heads else None,
                                   recall_heads=options.recall_heads)  # fmt: skip
    model.compile(
        optimizer=keras.optimizers.Adam(options.learning_rate, clipnorm=1.0),
        loss={"next": keras.losses.SparseCategoricalCrossentropy(), "wait": keras.losses.Huber()},
        loss_weights={"next": 1.0, "wait": options.wait_weight},
        weighted_metrics={"next": ["sparse_categorical_accuracy"]},
    )
    xv, yv, wv, wtv = make_crops(val, config, dataclasses.replace(options, crops_per_user=1, shift_augment_p=0.0), 10_000)
    history = []
    best, best_weights = -1.0, None
    for epoch in range(options.epochs):
        lr = options.learning_rate * (0.5 ** max(0, epoch - options.epochs // 2))
        keras.backend.set_value(model.optimizer.learning_rate, lr)
        x, y, w, wt = make_crops(train, config, options, epoch)
        h = model.fit(x, {"next": y, "wait": wt}, sample_weight={"next": w, "wait": w}, batch_size=options.batch_size,
                      epochs=1, verbose=2 if progress else 0, shuffle=True,
                      validation_data=(xv, {"next": yv, "wait": wtv}, {"next": wv, "wait": wv}))  # fmt: skip
        rec = {k: float(v[-1]) for k, v in h.history.items()}
        rec["epoch"] = epoch
        history.append(rec)
        acc = rec.get("val_next_sparse_categorical_accuracy", 0.0)
        if acc > best:
            best, best_weights = acc, model.get_weights()
    if best_weights is not None:
        model.set_weights(best_weights)
    return model, history
