"""Small 1D CNN over IMU windows for transport-mode detection.

Written with 2D convolutions of ``1 × k`` kernels over a ``(1, L, C)`` image instead of Conv1D:
TFLite lowers Conv1D to exactly this anyway, and tensorflow-model-optimization's quantization-aware
training (``quantize_model``) supports Conv2D but not Conv1D, so the same architecture serves float
training, pruning, QAT and int8 export. TensorFlow (tf_keras, Keras 2, which tfmot needs) is imported
when a model is built, never when this module is imported.
"""

from __future__ import annotations

from typing import Sequence


def keras():
    """The Keras 2 module (``tf_keras``) used by every momentsense model."""
    import tf_keras  # lazy: TensorFlow costs ~550 MB and ~5 s to import

    return tf_keras


def build_transport_cnn(
    window_len: int,
    n_channels: int,
    n_classes: int,
    widths: Sequence[int] = (16, 32, 48, 64),
    kernels: Sequence[int] = (7, 5, 5, 3),
    dropout: float = 0.3,
    seed: int = 0,
    l2: float = 1e-3,
    batch_norm: bool = False,
    pooling: str = "avgmax",
):
    """Build the transport CNN.

    Input shape: ``(batch, window_len, n_channels)`` float32: the normalised channels of
    :class:`sdk.dsp.PreprocessConfig` (e.g. 250 samples = 10 s at 25 Hz, 14 channels).
    Output shape: ``(batch, n_classes)`` softmax probabilities in manifest ``label_names`` order.

    Four stride-2 ``1 × k`` convolutions with ReLU, global average and max pooling, dropout and a
    dense softmax: ~22k parameters for 14 channels and 8 classes, well under the 50k budget.
    Defaults chosen on WISDM (one subject-wise split, macro-F1): batch norm 0.545 vs none 0.743
    (with few subjects its batch statistics fit the training people), average+max pooling 0.788.

    Parameters
    ----------
    window_len : int
        Samples per window (≥ 16).
    n_channels : int
        Input channels.
    n_classes : int
        Output classes (≥ 2).
    widths, kernels : sequence of int
        Filters and kernel length of each convolution block.
    dropout : float
        Dropout rate before the classifier, in [0, 1).
    seed : int
        Seed of the weight initialisers.
    l2 : float
        L2 weight decay on the convolution and dense kernels (0 = off).
    batch_norm : bool
        Batch normalisation after each convolution (else the convolutions get biases).
    pooling : str
        ``"avg"`` (global average) or ``"avgmax"`` (average and max, concatenated).
    """
    if pooling not in ("avg", "avgmax"):
        raise ValueError(f"pooling must be 'avg' or 'avgmax'. Received: pooling={pooling!r}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2. Received: n_classes={n_classes}")
    if window_len < 16 or n_channels < 1:
        raise ValueError(f"need window_len >= 16 and n_channels >= 1. Received: {window_len}, {n_channels}")
    if len(widths) != len(kernels):
        raise ValueError(f"widths and kernels must have the same length. Received: {len(widths)}, {len(kernels)}")
    k = keras()
    layers = k.layers
    inp = layers.Input(shape=(window_len, n_channels), name="window")
    x = layers.Reshape((1, window_len, n_channels))(inp)
    for i, (w, ks) in enumerate(zip(widths, kernels)):
        x = layers.Conv2D(
            w, (1, ks), strides=(1, 2), padding="same", use_bias=not batch_norm,
            kernel_initializer=k.initializers.HeNormal(seed=seed + i), name=f"conv{i}",
            kernel_regularizer=k.regularizers.l2(l2) if l2 else None,
        )(x)  # fmt: skip
        if batch_norm:
            x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
    if pooling == "avgmax":
        x = layers.Concatenate(name="pool")([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    else:
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, seed=seed)(x)
    out = layers.Dense(
        n_classes, activation="softmax", kernel_initializer=k.initializers.GlorotUniform(seed=seed + 99),
        kernel_regularizer=k.regularizers.l2(l2) if l2 else None, name="probs",
    )(x)  # fmt: skip
    return k.Model(inp, out, name="transport_cnn")
