"""momentsense trainer: data, simulation, training, evaluation and the server side.

Depends on :mod:`sdk` (the shared signal pipeline) and :mod:`edge_models`; TensorFlow is imported
lazily by the modules that train.
"""
