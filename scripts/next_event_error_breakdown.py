"""Where the next-event models go wrong: top-1 of the LSTM and the Markov chain by the kind of the
true next event, how often each is right where the other is wrong, and a plain average of the two.

    python scripts/next_event_error_breakdown.py edge_models/artifacts/next_event.tflite \
        runs/pop_eval300.h5 runs/next_event/markov_population.json.gz

Same events as ``momentsense eval next-event``: every event after each user's first three weeks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from momentsense.sdk.models.interpreter import load_model
from momentsense.sdk.models.manifest import load_verified_model
from momentsense.sdk.moments.tokens import TOKENS, EncodingConfig
from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.sdk.io.timeline_file import read_timeline
from momentsense.trainer.nextevent.data import eval_mask, user_sequences
from momentsense.trainer.nextevent.evaluate import markov_predictor, tflite_predictor
from momentsense.trainer.nextevent.workflow import load_population


def main(model: str, data: str, population: str) -> None:
    model_bytes, manifest = load_verified_model(model)
    config = EncodingConfig.from_dict(manifest.preprocess)
    lstm, markov = tflite_predictor(load_model(model_bytes), config), markov_predictor(load_population(Path(population)))
    tl = read_timeline(data)
    ys, pl, pm = [], [], []
    for seq in user_sequences(tl, list(range(len(tl.users))), config.utc_offset_s):
        m = eval_mask(seq, 3)
        if m.any():
            ys.append(np.append(seq.tokens[1:], -1)[m])
            pl.append(lstm(seq, m))
            pm.append(markov(seq, m))
    y, pl, pm = np.concatenate(ys), np.concatenate(pl), np.concatenate(pm)
    ok = y >= 0
    y, pl, pm = y[ok], pl[ok], pm[ok]
    names = np.array(TOKENS)
    is_mode = np.isin(names[y], TRANSPORT_MODES)
    top = lambda p, sel: float(np.mean(p[sel].argmax(1) == y[sel]))
    for label, sel in (("all", np.ones(len(y), bool)), ("next is a mode", is_mode), ("next is a place", ~is_mode)):
        print(f"{label:<16} n={int(sel.sum()):6d}  lstm {top(pl, sel):.3f}  markov {top(pm, sel):.3f}")
    for t in np.unique(y[~is_mode]):
        sel = y == t
        print(f"  next = {names[t]:<10} n={int(sel.sum()):6d}  lstm {top(pl, sel):.3f}  markov {top(pm, sel):.3f}")
    rl, rm = pl.argmax(1) == y, pm.argmax(1) == y
    print(f"both wrong {np.mean(~rl & ~rm):.3f}, only the LSTM right {np.mean(rl & ~rm):.3f}, only the chain right {np.mean(~rl & rm):.3f}")
    for w in (0.3, 0.5, 0.7):
        print(f"average, LSTM weight {w}: top-1 {np.mean((w * pl + (1 - w) * pm).argmax(1) == y):.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
