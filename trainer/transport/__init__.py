"""Transport-mode detection: data, augmentation, features, baselines, metrics and training."""
