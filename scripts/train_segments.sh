#!/usr/bin/env bash
# Reproduce the shipped timeline encoder, segment heads and held-out segment metrics (~6 minutes on 2 cores; measured 5 min 56 s).
set -euo pipefail
mkdir -p runs
momentsense simulate population --users 3000 --weeks 6 --seed 0 --out runs/population_3000x6.h5 --no-progress
momentsense train segments --data runs/population_3000x6.h5 --out runs/segments --steps 1500 --seed 0 --split-seed 0 \
  --repeats 5 --label-counts 10,30,100 --finetune-epochs 30 --retrain-seed 1 --ship edge_models/artifacts --quiet
momentsense simulate population --users 500 --weeks 6 --seed 1 --out runs/population_eval.h5 --no-progress  # users never seen in training
momentsense eval segments --data runs/population_eval.h5 --json > runs/segments/eval_seed1.json
momentsense eval segments --data runs/population_eval.h5 --model edge_models/artifacts/timeline_encoder_next.tflite \
  --heads edge_models/artifacts/segment_classifiers.json --json > runs/segments/eval_seed1_next_encoder.json
