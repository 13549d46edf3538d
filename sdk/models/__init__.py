"""Running models on the phone: interpreter backends (LiteRT, tflite-runtime, Android's Java
TFLite), manifests, the shipped models and over-the-air updates."""
