"""momentsense SDK: the on-device runtime.

Depends on numpy, plyer, requests and a TFLite
interpreter, and never on TensorFlow. The signal pipeline in :mod:`sdk.dsp` is the one the trainer
uses too, so training and device cannot drift apart.
"""

__version__ = "0.1.0"
