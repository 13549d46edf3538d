"""The best top-1 any next-event predictor could reach on the simulator, beside the LSTM and the chain.

    python scripts/next_event_ceiling.py edge_models/artifacts/next_event.tflite \
        runs/next_event/markov_population.json.gz \
        [--users 300] [--seed 1] [--samples 1000] [--tol-min 30] [--match current|all] [--jobs 2]

Simulates ``--users`` users of population ``--seed`` (6 weeks; seed 1 = never seen in training),
scores every event after their first three weeks (the events of ``eval next-event``) with the
simulator oracle of :mod:`trainer.nextevent.ceiling`, the model and the order-2 Markov chain (with
the population tables ``train next-event`` saved from the model's training users), and prints JSON:
top-1/top-3 of each, by the kind of the next event.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from momentsense.sdk.models.interpreter import load_model
from momentsense.sdk.models.manifest import load_verified_model
from momentsense.sdk.moments.tokens import TOKENS, EncodingConfig
from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.trainer.nextevent.ceiling import CeilingOptions, population_ceiling
from momentsense.trainer.nextevent.data import eval_mask, user_sequences
from momentsense.trainer.nextevent.evaluate import markov_predictor, tflite_predictor, topk
from momentsense.trainer.nextevent.workflow import load_population
from momentsense.trainer.population.simulate import PopulationOptions, simulate_population


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("markov_population", help="markov_population.json.gz written by train next-event")
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--tol-min", type=float, default=30.0)
    ap.add_argument("--match", choices=("current", "all"), default="current")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    for path in (a.model, a.markov_population):
        if not Path(path).is_file():
            ap.error(f"{path}: no such file")
    t0 = time.time()
    weeks = 6
    opts = CeilingOptions(n_samples=a.samples, tol_s=a.tol_min * 60.0, match=a.match)
    model_bytes, manifest = load_verified_model(a.model)  # both read before the long oracle run
    config = EncodingConfig.from_dict(manifest.preprocess)
    lstm, markov = tflite_predictor(load_model(model_bytes), config), markov_predictor(load_population(Path(a.markov_population)))
    oracle = population_ceiling(list(range(a.users)), weeks, a.seed, opts, n_jobs=a.jobs)
    tl = simulate_population(PopulationOptions(a.users, weeks, seed=a.seed))
    ys, po, pl, pm, lev = [], [], [], [], []
    for seq, oc in zip(user_sequences(tl, None, config.utc_offset_s), oracle):
        m = eval_mask(seq, 3)
        if not np.array_equal(np.flatnonzero(m), oc.index) or seq.user != oc.user:
            raise SystemExit(f"{seq.user}: the oracle scored other events than eval next-event; simulator changed?")
        y = seq.tokens[1:][m[:-1]]
        if not np.array_equal(y, oc.y):
            raise SystemExit(f"{seq.user}: the oracle's replay differs from the simulated timeline")
        ys.append(y), po.append(oc.P), pl.append(lstm(seq, m)), pm.append(markov(seq, m)), lev.append(oc.level)
    y, po, pl, pm, lev = map(np.concatenate, (ys, po, pl, pm, lev))
    names = np.array(TOKENS)
    is_mode = np.isin(names[y], TRANSPORT_MODES)
    out = {"n_users": len(oracle), "n_events": int(len(y)), "oracle_options": {"samples": a.samples, "tol_min": a.tol_min,
           "match": a.match}, "oracle_level_share": {str(k): float(np.mean(lev == k)) for k in (2, 1, 0)}}  # fmt: skip
    for name, P in (("oracle", po), ("lstm", pl), ("markov", pm)):
        out[f"{name}_top1"], out[f"{name}_top3"] = topk(P, y)
        out[f"{name}_top1_next_mode"] = topk(P[is_mode], y[is_mode])[0]
        out[f"{name}_top1_next_place"] = topk(P[~is_mode], y[~is_mode])[0]
        out[f"{name}_top1_by_next"] = {str(names[t]): round(topk(P[y == t], y[y == t])[0], 3) for t in np.unique(y)}
    out["oracle_top1_level2"] = topk(po[lev == 2], y[lev == 2])[0]
    out["markov_plus_10"] = out["markov_top1"] + 0.10
    out["wall_s"] = round(time.time() - t0, 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
