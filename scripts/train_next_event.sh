#!/usr/bin/env bash
# Reproduce the shipped next-event LSTM and its held-out metrics (about 10 minutes on 2 cores).
set -euo pipefail
mkdir -p runs
momentsense simulate population --users 3000 --weeks 6 --seed 0 --out runs/population_3000x6.h5
momentsense train next-event --data runs/population_3000x6.h5 --out runs/next_event --epochs 14 --seed 0 --split-seed 0 \
  --eval-users 300 --tflite-eval-users 60 --ship edge_models/artifacts
momentsense simulate population --users 100 --weeks 6 --seed 1 --out runs/population_eval.h5  # users never seen in training
momentsense eval next-event --model runs/next_event/next_event.tflite --data runs/population_eval.h5 --json
momentsense eval next-event --model runs/next_event/next_event.tflite --data runs/population_eval.h5 --shift-hours 1 --json
# The cold start: each of 300 unseen users' first week (Markov tables beside the model: the training users').
momentsense simulate population --users 300 --weeks 6 --seed 1 --out runs/pop_eval300.h5
momentsense eval next-event --model runs/next_event/next_event.tflite --data runs/pop_eval300.h5 --first-week --json
