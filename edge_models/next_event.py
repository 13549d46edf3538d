"""Global next-event LSTM (tf_keras; TensorFlow is imported inside the functions).

Input shape: ``(batch, T, N_FEATURES)`` float32, one row per event of the user's last three weeks
(:mod:`sdk.moments.tokens`), oldest first, left-padded with zero rows.

Training model outputs, at every position (causal, so position ``i`` sees events ``<= i``):
``next`` ``(batch, T, N_TOKENS)`` softmax over the next event's token, and ``wait``
``(batch, T, 1)``: ``log1p`` of the minutes until the next event starts.

Export model (:func:`build_export_model`): fixed batch 1 and ``T = max_events``, only the last
position, one output ``(1, N_TOKENS + 1)`` = next-token probabilities then the ``wait`` value, so
that TFLite gets a single fused ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op and the SDK one output tensor.
"""

from __future__ import annotations


def build_next_event_model(n_features: int, n_tokens: int, units: int = 64, embed: int = 32, dropout: float = 0.1,
                           seq_len=None, batch_size=None, return_sequences: bool = True, seed: int = 0):  # fmt: skip
    """Build the LSTM.

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
    logits = keras.layers.Dense(n_tokens, kernel_initializer=init, name="next_logits")(x)
    nxt = keras.layers.Softmax(name="next")(logits)
    h = keras.layers.Dense(32, activation="relu", kernel_initializer=init, name="wait_hidden")(x)
    wait = keras.layers.Dense(1, kernel_initializer=init, name="wait")(h)
    if return_sequences:
        return keras.Model(inp, {"next": nxt, "wait": wait}, name="next_event_lstm")
    out = keras.layers.Concatenate(name="next_and_wait")([nxt, wait])
    return keras.Model(inp, out, name="next_event_lstm_export")


def build_export_model(trained, max_events: int):
    """Copy a trained sequence model into the fixed ``(1, max_events, F)`` last-step export model."""
    import tf_keras as keras  # noqa: F401

    cfg = trained.get_layer("lstm").get_config()
    n_features = int(trained.input_shape[-1])
    n_tokens = int(trained.get_layer("next_logits").get_config()["units"])
    embed = int(trained.get_layer("embed").get_config()["units"])
    export = build_next_event_model(n_features, n_tokens, units=int(cfg["units"]), embed=embed, seq_len=int(max_events),
                                    batch_size=1, return_sequences=False)  # fmt: skip
    for name in ("embed", "lstm", "next_logits", "wait_hidden", "wait"):
        export.get_layer(name).set_weights(trained.get_layer(name).get_weights())
    return export
