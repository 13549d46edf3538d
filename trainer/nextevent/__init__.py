"""Next-event prediction: tokens, Markov baseline, LSTM training, evaluation and robustness."""
