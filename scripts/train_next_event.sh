#!/usr/bin/env bash
# Reproduce the shipped next-event model and its held-out metrics (about 20 minutes on 2 cores).
set -euo pipefail
mkdir -p runs
# Trained on the phone view (what the SDK records: detected modes, place categories; docs/moments.md).
momentsense simulate population --users 3000 --weeks 6 --seed 0 --view phone --out runs/population_3000x6_phone.h5
momentsense train next-event --data runs/population_3000x6_phone.h5 --out runs/next_event --epochs 14 --seed 0 --split-seed 0 --recall-heads 4 \
  --eval-users 300 --tflite-eval-users 60 --ship edge_models/artifacts
momentsense simulate population --users 100 --weeks 6 --seed 1 --out runs/population_eval.h5  # users never seen in training
momentsense eval next-event --model runs/next_event/next_event.tflite --data runs/population_eval.h5 --json
momentsense eval next-event --model runs/next_event/next_event.tflite --data runs/population_eval.h5 --shift-hours 1 --json
# The cold start: each of 300 unseen users' first week (Markov tables beside the model: the training users').
momentsense simulate population --users 300 --weeks 6 --seed 1 --out runs/pop_eval300.h5
momentsense eval next-event --model runs/next_event/next_event.tflite --data runs/pop_eval300.h5 --first-week --json
# Where the errors are, and the best any model could do on these events (the simulator oracle, ~6 min).
python scripts/next_event_error_breakdown.py runs/next_event/next_event.tflite runs/pop_eval300.h5 runs/next_event/markov_population.json.gz
python scripts/next_event_ceiling.py runs/next_event/next_event.tflite runs/next_event/markov_population.json.gz --users 300 --seed 1 --samples 1000
