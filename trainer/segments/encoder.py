"""Train the timeline encoder without segment labels (triplet loss) and embed users.

Each step samples ``users_per_batch`` training users and, for each, two windows ending at random
times at least ``min_gap_s`` apart (anchor and positive: two periods of the same user); the other
users' windows in the batch are the negatives, and the batch-hard rule picks the closest one
(:func:`edge_models.timeline_encoder.batch_hard_triplet_loss`). No segment label is read.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from momentsense.sdk.moments.tokens import N_TOKENS
from momentsense.sdk.segments.encoding import (
    N_FEATURES,
    WindowConfig,
    encode_user_windows,
    encode_window,
    l2_normalise,
)
from momentsense.sdk.segments.events import DAY_S, UserEvents


@dataclasses.dataclass(frozen=True)
class EncoderTrainOptions:
    """Attributes:
    steps: Optimiser steps.
    users_per_batch: Users per batch (two windows each).
    margin: Triplet margin (squared distance of unit vectors).
    learning_rate: Adam learning rate (halved for the last third of the steps).
    min_gap_s: Anchor and positive windows end at least this far apart, seconds.
    dim, width: Embedding size, convolution channels.
    tod_jitter_s: Augmentation: each window's times of day move by a random shift of up to this, seconds.
    duration_noise: Augmentation: std of the noise added to each event's duration feature
        (``log1p(minutes) / 6`` units; 0.05 is about ±35 %), so that exact trip lengths (a fingerprint
        of the user's addresses) are not the easiest way to tell users apart.
    compat_weight: Weight of the compatibility loss when training against a reference (older) encoder
        (:func:`train_encoder`'s ``reference``): the mean squared distance between each window's
        old embedding and its new one under a linear map learned alongside (unit vectors, 0..4).
        0 = off. The new space stays its own; it is only pushed to be linearly mappable to the old.
    seed: Seed of sampling and initialisation.
    threads: TensorFlow intra/inter-op threads.
    """

    steps: int = 600
    users_per_batch: int = 64
    margin: float = 0.3
    learning_rate: float = 2e-3
    min_gap_s: float = 7 * DAY_S
    dim: int = 50
    width: int = 64
    tod_jitter_s: float = 1800.0
    duration_noise: float = 0.05
    compat_weight: float = 0.0
    seed: int = 0
    threads: int | None = 2


def _set_threads(threads: int | None) -> None:
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass


def augment_window(x: np.ndarray, rng: np.random.Generator, tod_jitter_s: float, duration_noise: float) -> np.ndarray:
    """A copy of an encoded window with its times of day rotated and its duration feature jittered (real rows only)."""
    x = x.copy()
    real = x[:, :N_TOKENS].sum(axis=1) > 0
    if tod_jitter_s > 0:
        a = 2 * np.pi * rng.uniform(-tod_jitter_s, tod_jitter_s) / DAY_S
        k = N_TOKENS
        for h, (si, ci) in ((1, (k, k + 1)), (2, (k + 2, k + 3))):
            s, c = x[:, si].copy(), x[:, ci].copy()
            x[:, si], x[:, ci] = s * np.cos(h * a) + c * np.sin(h * a), c * np.cos(h * a) - s * np.sin(h * a)
    if duration_noise > 0:
        x[real, -1] = np.maximum(x[real, -1] + rng.normal(0.0, duration_noise, int(real.sum())), 0.0)
    x[~real] = 0.0
    return x


def sample_pair_batch(users: list[UserEvents], config: WindowConfig, n_users: int, min_gap_s: float,
                      rng: np.random.Generator, tod_jitter_s: float = 0.0, duration_noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``x (2 * n_users, max_events, N_FEATURES)`` and ``user (2 * n_users,)`` for one step (augmented when asked)."""
    pick = rng.choice(len(users), size=min(n_users, len(users)), replace=False)
    xs, ids = [], []
    for k, u in enumerate(pick):
        ev = users[u]
        lo, hi = float(ev.start[0]) + config.window_s, float(ev.end[-1])
        if hi - lo > min_gap_s:
            t1 = rng.uniform(lo, hi - min_gap_s)
            t2 = rng.uniform(t1 + min_gap_s, hi)
        else:
            t1, t2 = rng.uniform(lo - config.window_s / 2, hi, size=2)
        if rng.random() < 0.5:
            t1, t2 = t2, t1
        xs += [augment_window(encode_window(ev, t, config), rng, tod_jitter_s, duration_noise) for t in (t1, t2)]
        ids += [k, k]
    return np.stack(xs), np.asarray(ids, np.int32)


def train_encoder(users: list[UserEvents], config: WindowConfig, options: EncoderTrainOptions = EncoderTrainOptions(),
                  log_every: int = 50, verbose: bool = True, init_weights=None, reference=None):  # fmt: skip
    """Fit the encoder on unlabelled users; returns ``(model, history)``.

    ``init_weights`` (a model's ``get_weights()``) warm-starts from an earlier encoder (retraining).
    ``reference`` (an earlier encoder, Keras) with ``options.compat_weight > 0`` adds a compatibility
    loss (backward-compatible training, after Shen et al. 2020): every training window is also embedded
    by the reference, and ``compat_weight · mean ||normalise(new · W) − old||²`` with ``W`` a
    ``dim × dim`` matrix learned alongside (initialised random orthogonal, so the new space does not
    start as the old one) joins the triplet loss. The map that ships is still fitted afterwards on anchor
    users (:func:`trainer.segments.fewlabel.ridge_map`); the loss only makes a good linear map exist.

    ``history`` is a list of ``{"step", "loss", "active"}`` (plus ``"compat"``) averaged over ``log_every`` steps.
    """
    import tensorflow as tf
    import tf_keras as keras

    from momentsense.edge_models.timeline_encoder import (
        batch_hard_triplet_loss,
        build_timeline_encoder,
    )

    if len(users) < 4:
        raise ValueError(f"training the encoder needs at least 4 users, got {len(users)}")
    _set_threads(options.threads)
    keras.utils.set_random_seed(options.seed)
    model = build_timeline_encoder(int(config.max_events), N_FEATURES, N_TOKENS, options.dim, options.width, seed=options.seed)
    if init_weights is not None:
        model.set_weights(init_weights)
    lr = keras.optimizers.schedules.PiecewiseConstantDecay([int(options.steps * 2 / 3)], [options.learning_rate, options.learning_rate / 2])
    opt = keras.optimizers.Adam(lr)
    margin = float(options.margin)
    lam = float(options.compat_weight)
    if lam < 0 or not np.isfinite(lam):
        raise ValueError(f"compat_weight must be a finite number >= 0, got {options.compat_weight!r}")
    if lam > 0 and reference is None:
        raise ValueError("compat_weight > 0 needs a reference encoder to be compatible with")
    use_ref = lam > 0
    if use_ref:
        if tuple(reference.input_shape[1:]) != tuple(model.input_shape[1:]) or reference.output_shape[-1] != options.dim:
            raise ValueError(f"the reference encoder takes {reference.input_shape[1:]} → {reference.output_shape[-1]}; "
                             f"this one {model.input_shape[1:]} → {options.dim}")  # fmt: skip
        q, _ = np.linalg.qr(np.random.default_rng([options.seed, 7]).normal(size=(options.dim, options.dim)))
        w_map = tf.Variable(q.astype(np.float32), name="compat_map")
        variables = model.trainable_variables + [w_map]
    else:
        variables = model.trainable_variables

    @tf.function
    def step(x, u):
        with tf.GradientTape() as tape:
            e = model(x, training=True)
            loss, active = batch_hard_triplet_loss(e, u, margin)
            if use_ref:
                old = tf.stop_gradient(reference(x, training=False))
                compat = tf.reduce_mean(tf.reduce_sum(tf.square(tf.math.l2_normalize(e @ w_map, axis=-1) - old), axis=-1))
            else:
                compat = tf.constant(0.0)
            total = loss + lam * compat
        grads = tape.gradient(total, variables)
        opt.apply_gradients(zip(grads, variables))
        return loss, active, compat

    rng = np.random.default_rng(options.seed)
    history, acc, t0 = [], [], time.time()
    for i in range(int(options.steps)):
        x, u = sample_pair_batch(users, config, options.users_per_batch, options.min_gap_s, rng,
                                 options.tod_jitter_s, options.duration_noise)  # fmt: skip
        loss, active, compat = step(tf.constant(x), tf.constant(u))
        acc.append((float(loss), float(active), float(compat)))
        if (i + 1) % log_every == 0 or i + 1 == options.steps:
            a = np.mean(acc, axis=0)
            rec = {"step": i + 1, "loss": float(a[0]), "active": float(a[1]), "elapsed_s": round(time.time() - t0, 1)}
            if use_ref:
                rec["compat"] = float(a[2])
            history.append(rec)
            acc = []
            if verbose:
                extra = f", compat {a[2]:.4f}" if use_ref else ""
                print(f"encoder step {i + 1}/{options.steps}: triplet loss {a[0]:.4f}, active {a[1]:.2f}{extra} ({time.time() - t0:.0f} s)", flush=True)
    return model, history


def embed_windows(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Embeddings of windows ``(N, max_events, F)`` → ``(N, dim)`` (Keras model or an ``embed`` callable)."""
    if len(x) == 0:
        return np.zeros((0, int(model.output_shape[-1])), np.float32)
    return np.concatenate([np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)])


def embed_users(model, users: list[UserEvents], config: WindowConfig) -> np.ndarray:
    """User embeddings ``(n_users, dim)``: the normalised mean of each user's window embeddings."""
    wins = [encode_user_windows(ev, config) for ev in users]
    return users_from_windows(embed_windows(model, np.concatenate(wins)), [len(w) for w in wins])


def users_from_windows(window_embeddings: np.ndarray, counts: list[int]) -> np.ndarray:
    """User embeddings from window embeddings stacked user by user (``counts[i]`` windows of user ``i``):
    the normalised mean of each user's rows, as :func:`embed_users`."""
    bounds = np.cumsum([0, *counts])
    return l2_normalise(np.stack([window_embeddings[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])]))


def retrieval_metrics(model, users: list[UserEvents], config: WindowConfig) -> dict:
    """Same-user retrieval on (held-out) users: the first two weeks vs the last two weeks.

    Returns ``retrieval_top1`` (the closest late window is the user's own), ``same_closer_frac``
    (fraction of other users' late windows farther than the user's own) and mean distances.
    """
    a = np.stack([encode_window(ev, float(ev.start[0]) + config.window_s, config) for ev in users])
    b = np.stack([encode_window(ev, float(ev.end[-1]), config) for ev in users])
    ea, eb = embed_windows(model, a), embed_windows(model, b)
    d = np.maximum(2.0 - 2.0 * ea @ eb.T, 0.0)
    own = np.diag(d)
    n = len(users)
    other = d[~np.eye(n, dtype=bool)].reshape(n, n - 1)
    return {"retrieval_top1": float(np.mean(np.argmin(d, axis=1) == np.arange(n))),
            "same_closer_frac": float(np.mean(other > own[:, None])),
            "mean_dist_same": float(own.mean()), "mean_dist_other": float(other.mean()), "n_users": n}  # fmt: skip
