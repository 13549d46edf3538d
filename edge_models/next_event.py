"""Global next-event LSTM (tf_keras; TensorFlow is imported inside the functions).

Input shape: ``(batch, T, N_FEATURES)`` float32, one row per event of the user's last three weeks
(:mod:`sdk.moments.tokens`), oldest first, left-padded with zero rows.

Training model outputs, at every position (causal, so position ``i`` sees events ``<= i``):
``next`` ``(batch, T, N_TOKENS)`` softmax over the next event's token, and ``wait``
``(batch, T, 1)``: ``log1p`` of the minutes until the next event starts.

Export model (:func:`build_export_model`): fixed batch 1 and ``T = max_events``, only the last
position, one output ``(1, N_TOKENS + 1)`` = next-token probabilities then the ``wait`` value, so
that TFLite gets a single fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op and the SDK one output tensor.

Optional *recall* branch (``recall_heads > 0``, :func:`recall_layer_class`): a causal soft lookup of
"what came next the other times I was in a situation like this one" (same event, similar time of
day, same weekday: learned projections of the event features), the mixture of the tokens that
followed those earlier events, beside the LSTM's state. A weekly routine 100 events back is one
lookup for it, where an LSTM has to carry it in its state.
"""

from __future__ import annotations

import functools

_RECALL_MASK = -1.0e4  # not -1e9: float16 exports would turn it into -inf and 0 * inf into NaN


@functools.lru_cache(maxsize=None)
def recall_layer_class():
    """The recall branch's layer class, registered for ``.keras`` loading (built on first call, so
    that importing this module does not import TensorFlow)."""
    import numpy as np
    import tensorflow as tf
    import tf_keras as keras

    @keras.saving.register_keras_serializable(package="momentsense")
    class NextTokenRecall(keras.layers.Layer):
        """Causal attention whose values are the tokens that *followed* each earlier event.

        Input ``(batch, T, F)`` event features whose first ``n_tokens`` columns are the token
        one-hot, as :func:`sdk.moments.tokens.encode_events` writes them (zero rows = padding). Position ``i`` attends to positions ``j < i`` (the token of
        ``j + 1`` is then already in the input), per head by the scaled dot product of learned
        projections; output ``(batch, T, heads * n_tokens)``, or ``(batch, heads * n_tokens)`` for
        the last position only (``last_only``). Rows with nothing to attend to are zeros.
        """

        def __init__(self, n_tokens: int, heads: int = 2, dim: int = 8, last_only: bool = False, seed: int = 0, **kw):
            super().__init__(**kw)
            self.n_tokens, self.heads, self.dim, self.last_only, self.seed = int(n_tokens), int(heads), int(dim), bool(last_only), int(seed)

        def build(self, input_shape):
            f = int(input_shape[-1])
            init = keras.initializers.GlorotUniform(seed=self.seed + 1)
            self.wq = self.add_weight(name="wq", shape=(f, self.heads * self.dim), initializer=init)
            self.wk = self.add_weight(name="wk", shape=(f, self.heads * self.dim), initializer=init)
            super().build(input_shape)

        def call(self, x):
            K, H, D = self.n_tokens, self.heads, self.dim
            T = x.shape[1]
            tok = x[:, :, :K]
            valid = tf.reduce_sum(tok, axis=-1)  # 1 for events, 0 for padding
            v = tok[:, 1:, :]  # value of key j: the token of event j + 1
            kvalid = valid[:, :-1] * valid[:, 1:]
            k = tf.reshape(tf.matmul(x[:, :-1, :], self.wk), (-1, T - 1, H, D))
            xq = x[:, -1:, :] if self.last_only else x
            Tq = 1 if self.last_only else T
            q = tf.reshape(tf.matmul(xq, self.wq), (-1, Tq, H, D))
            s = tf.einsum("bqhd,bkhd->bhqk", q, k) / float(D) ** 0.5
            if self.last_only:
                allowed = kvalid[:, None, None, :]
            else:  # query i may read key j < i
                causal = tf.constant(np.tri(T, T - 1, k=-1, dtype=np.float32))
                allowed = causal[None, None] * kvalid[:, None, None, :]
            s = s + (1.0 - allowed) * _RECALL_MASK
            a = tf.nn.softmax(s, axis=-1) * allowed  # all-masked rows become zeros, never a peek ahead
            out = tf.einsum("bhqk,bkt->bqht", a, v)
            out = tf.reshape(out, (-1, Tq, H * K))
            return out[:, 0, :] if self.last_only else out

        def get_config(self):
            return {**super().get_config(), "n_tokens": self.n_tokens, "heads": self.heads, "dim": self.dim,
                    "last_only": self.last_only, "seed": self.seed}  # fmt: skip

    return NextTokenRecall


def build_next_event_model(n_features: int, n_tokens: int, units: int = 64, embed: int = 32, dropout: float = 0.1,
                           seq_len=None, batch_size=None, return_sequences: bool = True, seed: int = 0,
                           recall_heads: int = 0):  # fmt: skip
    """Build the next-event model: the LSTM and, with ``recall_heads``, the recall branch beside it.

    Parameters
    ----------
    n_features : int
        Features per event (``sdk.moments.tokens.N_FEATURES``).
    n_tokens : int
        Number of event tokens (>= 2).
    units : int
        LSTM width.
    embed : int
        Width of the per-event dense projection before the LSTM.
    dropout : float
        Dropout after the LSTM (training only).
    seq_len, batch_size : int, optional
        Fixed sizes (``batch_size=1`` and ``seq_len=max_events`` for export).
    return_sequences : bool
        True: outputs at every position (training); False: the last position, concatenated into one
        ``(batch, n_tokens + 1)`` tensor (export).
    seed : int
        Initialiser seed.
    recall_heads : int
        Heads of the recall branch (0: none, the plain LSTM). Needs a fixed ``seq_len``.

    Returns
    -------
    tf_keras.Model
    """
    if n_tokens < 2 or n_features < 1 or units < 1:
        raise ValueError(f"n_tokens must be >= 2, n_features and units >= 1. Received: {n_tokens=}, {n_features=}, {units=}")
    import tf_keras as keras

    init = keras.initializers.GlorotUniform(seed=seed)
    inp = keras.Input((seq_len, n_features), batch_size=batch_size, name="events")
    x = keras.layers.Dense(embed, activation="relu", kernel_initializer=init, name="embed")(inp)
    x = keras.layers.LSTM(units, return_sequences=return_sequences, kernel_initializer=init, name="lstm")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    h_lstm = x
    if recall_heads:
        if seq_len is None:
            raise ValueError("the recall branch needs a fixed seq_len")
        recall = recall_layer_class()(n_tokens, heads=recall_heads, last_only=not return_sequences, seed=seed, name="recall")(inp)
        x = keras.layers.Concatenate(name="lstm_and_recall")([x, recall])
    logits = keras.layers.Dense(n_tokens, kernel_initializer=init, name="next_logits")(x)
    nxt = keras.layers.Softmax(name="next")(logits)
    h = keras.layers.Dense(32, activation="relu", kernel_initializer=init, name="wait_hidden")(h_lstm)
    wait = keras.layers.Dense(1, kernel_initializer=init, name="wait")(h)
    if return_sequences:
        return keras.Model(inp, {"next": nxt, "wait": wait}, name="next_event_lstm")
    out = keras.layers.Concatenate(name="next_and_wait")([nxt, wait])
    return keras.Model(inp, out, name="next_event_lstm_export")


def build_export_model(trained, max_events: int, batch_size=1):
    """Copy a trained sequence model into the fixed ``(batch_size, max_events, F)`` last-step model:
    the TFLite export (batch 1) or, with ``batch_size=None``, the trainer's batched evaluation model."""
    import tf_keras as keras  # noqa: F401

    cfg = trained.get_layer("lstm").get_config()
    n_features = int(trained.input_shape[-1])
    n_tokens = int(trained.get_layer("next_logits").get_config()["units"])
    embed = int(trained.get_layer("embed").get_config()["units"])
    export = build_next_event_model(n_features, n_tokens, units=int(cfg["units"]), embed=embed, seq_len=int(max_events),
                                    batch_size=batch_size, return_sequences=False, recall_heads=recall_heads(trained))  # fmt: skip
    copy_weights(trained, export)
    return export


def load_keras_model(path):
    """Load a trained ``next_event_seq.keras`` (with or without the recall branch)."""
    import tf_keras as keras

    recall_layer_class()  # registers the recall layer for deserialisation
    return keras.models.load_model(path)


def recall_heads(model) -> int:
    """Heads of a built model's recall branch (0 when it has none)."""
    return int(model.get_layer("recall").heads) if any(layer.name == "recall" for layer in model.layers) else 0


def copy_weights(src, dst) -> None:
    """Copy the trained layers (embedding, LSTM, recall branch, heads) from ``src`` into ``dst``."""
    for name in ("embed", "lstm", "next_logits", "wait_hidden", "wait") + (("recall",) if recall_heads(src) else ()):
        dst.get_layer(name).set_weights(src.get_layer(name).get_weights())
