"""The models shipped in edge_models/artifacts: manifests match their bytes, stated accuracy is not stale."""

import json

import numpy as np
import pytest

from momentsense.edge_models import artifact_dir
from momentsense.sdk.models.manifest import load_verified_model, sha256_file
from momentsense.sdk.sim import iter_dataset
from momentsense.trainer.transport.data import dataset_windows

MANIFESTS = sorted(p for p in artifact_dir().glob("*.json") if '"format": "momentsense-model-manifest-v1"' in p.read_text())


def test_there_is_a_shipped_transport_model():
    assert (artifact_dir() / "transport_cnn.tflite").exists() and (artifact_dir() / "transport_cnn.json").exists()


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_sha256_matches_the_model_bytes(manifest_path):
    """Each shipped manifest's sha256 is the sha256 of its .tflite, and the model loads verified."""
    m = json.loads(manifest_path.read_text())
    tflite = manifest_path.with_suffix(".tflite")
    assert sha256_file(tflite) == m["sha256"]
    load_verified_model(tflite)


@pytest.mark.parametrize("name", ["transport_cnn", "transport_cnn_float32"])
def test_transport_spot_check_reproduces_the_stated_accuracy(name):
    """Rerun the held-out recordings named in the manifest (regenerated from the simulator seed) through the
    shipped .tflite exactly as the SDK would, and get the accuracy the manifest states."""
    from ai_edge_litert.interpreter import Interpreter  # noqa: F401  (the SDK's interpreter must be present)

    from momentsense.sdk.dsp import PreprocessConfig
    from momentsense.sdk.records import ImuDataset
    from momentsense.trainer.transport.tflite_eval import tflite_predictor

    predict, config, labels = tflite_predictor(artifact_dir() / f"{name}.tflite")
    manifest = json.loads((artifact_dir() / f"{name}.json").read_text())
    spot = manifest["metrics"]["spot_check"]
    # The recordings are regenerated, so only by the simulator version that made them.
    from momentsense.sdk.sim import SIMULATOR_VERSION

    made_by = spot.get("source", "")
    if SIMULATOR_VERSION not in made_by:
        pytest.skip(f"{name}: spot check measured on {made_by!r}; this checkout simulates {SIMULATOR_VERSION!r} "
                    "(re-ship the model with scripts/train_transport.sh to check it again)")
    # The held-out file is `momentsense simulate sensors --subjects 12 --minutes 60 --seed 12`.
    wanted = spot["recordings"]
    recs = []
    for rec in iter_dataset(12, 60, seed=12):
        if rec.id in wanted:
            recs.append(rec)
        if len(recs) == len(wanted):
            break
    assert [r.id for r in recs] == wanted
    w = dataset_windows(ImuDataset(labels, "spot", recs), PreprocessConfig.from_dict(manifest["preprocess"]))
    clean = w.purity >= spot["min_purity"]
    pred = predict(w.x[clean]).argmax(1)
    assert int(clean.sum()) == spot["n_windows"]
    assert np.mean(pred == w.y[clean]) == pytest.approx(spot["accuracy"], abs=1e-9)


@pytest.mark.parametrize("name", ["transport_wisdm.cv.json", "transport_wisdm.nested_cv.json"])
def test_wisdm_cross_validation_report_is_consistent(name):
    """The committed 5-fold WISDM reports: 21 subjects each tested once; means are the folds' means;
    a nested choice is the inner winner of its fold."""
    cv = json.loads((artifact_dir() / name).read_text())
    tested = [s for f in cv["folds"] for s in f["test_subjects"]]
    assert len(tested) == len(set(tested)) == 21 and cv["n_folds"] == len(cv["folds"]) == 5
    for name, summary in cv["models"].items():
        f1s = [f["models"][name]["macro_f1"] for f in cv["folds"]]
        assert summary["mean_macro_f1"] == pytest.approx(np.mean(f1s))
        assert summary["min_macro_f1"] == pytest.approx(min(f1s))
    assert {"cnn", "features+forest", "features+boosting"} <= set(cv["models"])
    assert np.sum(cv["models"]["cnn"]["pooled"]["confusion_matrix"]) > 3000
    for f in cv["folds"]:
        if "chosen" in f:
            assert f["chosen"] == max(f["inner_macro_f1"], key=f["inner_macro_f1"].get)
