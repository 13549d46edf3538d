"""Segments: rules evaluation, timeline encoder training, few-label classifiers, stable embeddings."""
