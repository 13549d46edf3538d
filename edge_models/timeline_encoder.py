"""Timeline encoder: a window of events → 50-d L2-normalised embedding (tf_keras, imported lazily).

Input shape: ``(batch, max_events, N_FEATURES)`` float32 rows of :mod:`sdk.segments.encoding`
(token one-hot first, so a padded row is all zeros).
Output shape: ``(batch, dim)`` float32, unit L2 norm.

Architecture (no recurrent layers, so TFLite gets plain builtins): a per-event dense projection,
two 1-D convolutions over the event sequence (the *lower* layers), masked mean and max pooling over
real events, then two dense layers (the *upper* layers, the ones fine-tuning may update) and L2
normalisation. The log of the number of events is pooled too (mean pooling alone loses how busy a
window is). A skip of the masked mean of the raw input rows was tried and not kept: +9 points of mean
F1 at 10 labels on a small development run, but -3 points at 30 and 100 labels on the shipped run.

Loss: :func:`batch_hard_triplet_loss` (Hermans et al. 2017, "In Defense of the Triplet Loss"): in a
batch of ``P`` users × 2 windows, each window's positive is the other window of its user and its
negative the *closest* window of another user; ``mean(relu(d(a, p) − d(a, n) + margin))`` with
squared Euclidean distances of unit vectors (0..4).
"""

from __future__ import annotations

LOWER_LAYERS = ("embed", "conv1", "conv2")
UPPER_LAYERS = ("dense1", "proj")


def build_timeline_encoder(max_events: int, n_features: int, n_tokens: int, dim: int = 50, width: int = 64,
                           batch_size=None, seed: int = 0):  # fmt: skip
    """Build the encoder.

    Parameters
    ----------
    max_events, n_features : int
        Window rows and features per row.
    n_tokens : int
        The first ``n_tokens`` features are the token one-hot (used as the padding mask).
    dim : int
        Embedding size.
    width : int
        Channels of the convolutions.
    batch_size : int, optional
        Fixed batch (1 for TFLite export).
    seed : int
        Initialiser seed.

    Returns
    -------
    tf_keras.Model
    """
    if dim < 2 or width < 1 or n_tokens < 1 or n_features <= n_tokens or max_events < 2:
        raise ValueError(f"invalid encoder sizes. Received: {dim=}, {width=}, {n_tokens=}, {n_features=}, {max_events=}")
    import tensorflow as tf
    import tf_keras as keras

    init = keras.initializers.GlorotUniform(seed=seed)
    L = keras.layers
    inp = keras.Input((max_events, n_features), batch_size=batch_size, name="events")
    mask = L.Lambda(lambda x: tf.reduce_sum(x[..., :n_tokens], axis=-1, keepdims=True), name="mask")(inp)
    x = L.Dense(32, activation="relu", kernel_initializer=init, name="embed")(inp)
    x = L.Conv1D(width, 5, padding="same", activation="relu", kernel_initializer=init, name="conv1")(x)
    x = L.Conv1D(width, 5, padding="same", dilation_rate=2, activation="relu", kernel_initializer=init, name="conv2")(x)
    xm = L.Multiply(name="masked")([x, mask])
    total = L.Lambda(lambda m: tf.maximum(tf.reduce_sum(m, axis=1), 1.0), name="n_events")(mask)
    mean = L.Lambda(lambda t: tf.reduce_sum(t[0], axis=1) / t[1], name="mean_pool")([xm, total])
    mx = L.Lambda(lambda t: tf.reduce_max(t, axis=1), name="max_pool")(xm)
    count = L.Lambda(lambda t: tf.math.log(t) / 5.0, name="log_count")(total)
    h = L.Concatenate(name="pooled")([mean, mx, count])
    h = L.Dense(128, activation="relu", kernel_initializer=init, name="dense1")(h)
    h = L.Dense(dim, kernel_initializer=init, name="proj")(h)
    out = L.Lambda(lambda t: tf.math.l2_normalize(t, axis=-1), name="embedding")(h)
    return keras.Model(inp, out, name="timeline_encoder")


def encoder_spec(model) -> dict:
    """The constructor arguments of a built encoder (to rebuild it, e.g. for export)."""
    return {"max_events": int(model.input_shape[1]), "n_features": int(model.input_shape[2]),
            "dim": int(model.get_layer("proj").get_config()["units"]), "width": int(model.get_layer("conv1").get_config()["filters"])}  # fmt: skip


def build_export_model(trained, n_tokens: int):
    """Copy a trained encoder into a fixed batch-1 model (the SDK's interpreter runs batch 1)."""
    spec = encoder_spec(trained)
    export = build_timeline_encoder(spec["max_events"], spec["n_features"], n_tokens, spec["dim"], spec["width"], batch_size=1)
    export.set_weights(trained.get_weights())
    return export


def batch_hard_triplet_loss(emb, user, margin: float = 0.3):
    """Batch-hard triplet loss (see the module docstring).

    Parameters
    ----------
    emb : tf.Tensor, shape ``(B, dim)``
        Unit-norm embeddings.
    user : tf.Tensor, shape ``(B,)``
        User index of each row; every user must have at least two rows in the batch.
    margin : float

    Returns
    -------
    loss : tf.Tensor (scalar)
    active : tf.Tensor (scalar)
        Fraction of anchors whose triplet still violates the margin.
    """
    import tensorflow as tf

    d = tf.maximum(2.0 - 2.0 * tf.matmul(emb, emb, transpose_b=True), 0.0)
    same = tf.equal(user[:, None], user[None, :])
    eye = tf.eye(tf.shape(emb)[0], dtype=tf.bool)
    pos = tf.logical_and(same, tf.logical_not(eye))
    hardest_pos = tf.reduce_max(tf.where(pos, d, tf.zeros_like(d)), axis=1)
    hardest_neg = tf.reduce_min(tf.where(same, tf.fill(tf.shape(d), 10.0), d), axis=1)
    t = tf.nn.relu(hardest_pos - hardest_neg + margin)
    return tf.reduce_mean(t), tf.reduce_mean(tf.cast(t > 0, tf.float32))
