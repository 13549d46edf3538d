#!/usr/bin/env bash
# Trains a transport model on simulated and real (WISDM) phones, compresses it, fits its context heads
# and evaluates it, real data first (see docs/transport-model.md):
#   bash scripts/train_transport.sh                              (≈ 60 min on 2 quiet cores; needs ../shared/data)
#   ART=edge_models/artifacts bash scripts/train_transport.sh    (to replace the shipped model)
# The files go to $ART (default runs/candidate): shipping is a decision made on the real-data figures
# (the candidate of this recipe lost the real car trips, so 1.1.0 stays shipped).
# Train: 100 simulated subjects × 40 min (simulator 1.2, seed 11; the CV folds use 40) + all 21 WISDM subjects in the model's
# classes. Test: 12 other simulated subjects on other phones (seed 12); real data by subject-wise CV.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared/data
ART=${ART:-runs/candidate}
mkdir -p data runs
momentsense simulate sensors --subjects 100 --minutes 40 --seed 11 --out data/sim_train100.h5
momentsense simulate sensors --subjects 40 --minutes 40 --seed 11 --out data/sim_train.h5
momentsense simulate sensors --subjects 12 --minutes 60 --seed 12 --out data/sim_test12.h5
python -m momentsense.trainer.transport.realdata wisdm $SHARED/wisdm2019_phone_subset.h5 --out data/wisdm_modes.h5
# The recipe on real data: 5-fold CV by WISDM subject, the simulated subjects in every fold's training
# set (never tested), then each fold's model through the SDK's streaming path on its held-out subjects.
# 25 epochs, keeping the last: early stopping on the mixed validation subjects kept the first epoch.
momentsense train transport --data data/wisdm_modes.h5 --train-also data/sim_train.h5 --folds 5 --no-context \
  --epochs 25 --patience 30 --keep last --seed 0 --out runs/cv_joint
python scripts/cv_stream.py --cv runs/cv_joint --real data/wisdm_modes.h5 --sim data/sim_train.h5 > runs/cv_joint/stream.json
# The shipped model: the same recipe on everything.
momentsense train transport --data data/sim_train100.h5,data/wisdm_modes.h5 --test-data data/sim_test12.h5 --no-context \
  --epochs 25 --patience 30 --keep last --seed 0 --out runs/transport
# Compress: the shipped recipe (50 % of the filters, quantization-aware fine-tuning, full int8), no sweep.
momentsense quantize runs/transport/transport_cnn.keras --out runs/transport_quant \
  --train-data data/sim_train100.h5,data/wisdm_modes.h5 --test-data data/sim_test12.h5 --channels 0.5 --qat \
  --ship ch0.5-qat-int8 --version 2.0.0 --parent-version 1.1.0 --seed 0
mkdir -p $ART
cp runs/transport/transport_cnn.keras runs/transport/transport_cnn.config.json runs/transport/transport_hmm.json $ART/
cp runs/transport/metrics.json $ART/transport_cnn.metrics.json
cp runs/transport/confusion.png $ART/transport_cnn.confusion.png
cp runs/transport_quant/transport_cnn.tflite runs/transport_quant/transport_cnn.json \
   runs/transport_quant/transport_cnn_float32.tflite runs/transport_quant/transport_cnn_float32.json $ART/
cp runs/transport_quant/report.json $ART/transport_cnn.quantize_report.json
cp runs/transport_quant/report.png $ART/transport_cnn.quantize_report.png
# Context heads (live, and lagged for the timeline) behind each shipped .tflite, fitted on the CNN's
# training data (simulated + WISDM), HMM tuned on its validation subjects, scored on the test file.
for m in transport_cnn transport_cnn_float32; do
  momentsense train transport-context --model $ART/$m.tflite --data data/sim_train100.h5,data/wisdm_modes.h5 \
    --test-data data/sim_test12.h5 --out runs/context_$m --ship --add-to-metrics $ART/transport_cnn.metrics.json
done
# The GPS heads behind the int8 model, fitted on the simulated file (WISDM has no GPS).
# Then the real car trips, streamed (never in training).
momentsense train transport-context --model $ART/transport_cnn.tflite --data data/sim_train100.h5 \
  --test-data data/sim_test12.h5 --out runs/context_gps --heads live_gps,lagged_gps --ship --add-to-metrics $ART/transport_cnn.metrics.json
momentsense convert driver $SHARED/driver_behavior_trips.h5 --out data/driver.h5
momentsense eval transport --model $ART/transport_cnn.tflite --data data/driver.h5 --stream --no-gps --label-map '*=car' --json > runs/driver_stream.json
# Simulator figures through eval transport, and the grammar-swap sensitivity of every head.
momentsense eval transport --model $ART/transport_cnn.tflite --data data/sim_test12.h5 --json > runs/int8_eval.json
python scripts/grammar_swap_files.py --subjects 8 --seed 14 --out data/swap
for g in usual swapped; do
  momentsense eval transport --model $ART/transport_cnn.tflite --data data/swap_$g.h5 --json > runs/swap_$g.json
done
# WISDM alone, its own five activities (sitting and standing apart): the CNN recipe against the feature
# baselines on identical subject folds (≈ 5 min), and with the rotation range chosen per fold (≈ 10 min).
momentsense convert wisdm $SHARED/wisdm2019_phone_subset.h5 --out data/wisdm.h5
momentsense train transport --data data/wisdm.h5 --out runs/transport_wisdm_cv --folds 5 --baselines --epochs 40 --seed 0
cp runs/transport_wisdm_cv/cv.json $ART/transport_wisdm.cv.json
momentsense train transport --data data/wisdm.h5 --out runs/transport_wisdm_nested --folds 5 --baselines --epochs 40 --seed 0 \
  --choose-augment rotation_deg=45,180
cp runs/transport_wisdm_nested/cv.json $ART/transport_wisdm.nested_cv.json
