"""momentsense quantize: pruning, quantization, TFLite export and compression reports."""
