"""Transport modes on the phone: the window model's detector, its options, the context heads, GPS
features per window, the HMM that smooths them and the segmenter that cuts events."""
