"""``momentsense train segments`` / ``eval segments`` on a tiny simulated file, and bad input."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tensorflow")

from momentsense.sdk.io.timeline_file import Event, Timeline, write_timeline
from momentsense.trainer.cli import main
from momentsense.trainer.population import PopulationOptions, simulate_population


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("seg")
    write_timeline(d / "pop.h5", simulate_population(PopulationOptions(n_users=30, weeks=3, seed=7)))
    rc = main(["train", "segments", "--data", str(d / "pop.h5"), "--out", str(d / "out"), "--steps", "15",
               "--users-per-batch", "16", "--repeats", "1", "--label-counts", "4,8", "--finetune-epochs", "1",
               "--retrain-seed", "1", "--quiet"])  # fmt: skip
    assert rc == 0
    return d


def test_train_segments_writes_metrics_and_artifacts(trained_dir):
    """metrics.json has rules, retrieval, the few-label curve, fine-tuning and the mapping experiment."""
    out = trained_dir / "out"
    m = json.loads((out / "metrics.json").read_text())
    assert {"rules", "retrieval_test", "few_label_f1", "finetune", "stable", "tflite_max_abs_diff"} <= set(m)
    assert set(m["few_label_f1"]["embedding"]["mean"]) == {"4", "8"}
    assert m["rules"]["aggressive_driver"]["available"] is False
    warm = m["stable"]["warm"]
    assert {"a_new_unmapped", "b_new_mapped_orthogonal", "c_old"} <= set(warm)
    # Plain and compatibility-trained retrains (default weight 1); the one shipped has the best anchor agreement.
    runs = ("cold", "warm", "cold_compatible", "warm_compatible")
    assert [m["stable"][k]["compat_weight"] for k in runs] == [0.0, 0.0, 1.0, 1.0]
    agreement = {k: m["stable"][k][f"anchor_agreement_{m['stable'][k]['best_mapping']}"] for k in runs}
    assert m["stable"]["shipped_run"] == max(agreement, key=agreement.get)
    nxt = json.loads((out / "timeline_encoder_next.json").read_text())
    assert nxt["extra"]["retrain"] == m["stable"]["shipped_run"]
    # The shipped mapping is chosen on the anchors (label-pool users), not on the test users' F1.
    assert warm["best_mapping"] == max(("orthogonal", "ridge"), key=lambda k: warm[f"anchor_agreement_{k}"])
    assert all(0.0 <= warm[f"anchor_agreement_{k}"] <= 1.0 for k in ("orthogonal", "ridge"))
    for name in ("timeline_encoder.tflite", "timeline_encoder.json", "timeline_encoder_next.tflite", "segment_classifiers.json",
                 "few_label_f1.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    heads = json.loads((out / "segment_classifiers.json").read_text())
    assert "1.1.0" in heads["mappings"]


def test_eval_segments_json(trained_dir, capsys):
    """eval prints per-segment F1 for rules, embedding and the feature baseline, old and next encoder."""
    out = trained_dir / "out"
    for model in ("timeline_encoder.tflite", "timeline_encoder_next.tflite"):
        capsys.readouterr()
        assert main(["eval", "segments", "--data", str(trained_dir / "pop.h5"), "--model", str(out / model),
                     "--heads", str(out / "segment_classifiers.json"), "--json"]) == 0  # fmt: skip
        m = json.loads(capsys.readouterr().out)
        assert m["f1"]["sporty"]["rules"] is not None and m["f1"]["parent"]["rules"] is None
        assert m["f1"]["aggressive_driver"]["rules"] is None
        assert 0.0 <= m["f1"]["sporty"]["embedding"] <= 1.0 and 0.0 <= m["f1"]["sporty"]["features_baseline"] <= 1.0
        assert m["n_users"] == 30


def test_eval_segments_fails_without_personas(trained_dir, tmp_path, capsys):
    """A timeline without planted personas is refused with a clear message (exit code 2)."""
    day = 86400.0
    ev = [Event(0.0, 9 * day, "visit", "home", "h", "x")]
    write_timeline(tmp_path / "t.jsonl", Timeline.from_events(ev))
    out = trained_dir / "out"
    rc = main(["eval", "segments", "--data", str(tmp_path / "t.jsonl"), "--model", str(out / "timeline_encoder.tflite"), "--json"])
    assert rc == 2 and "no planted personas" in capsys.readouterr().err


def test_train_segments_fails_with_too_few_users(tmp_path, capsys):
    write_timeline(tmp_path / "p.h5", simulate_population(PopulationOptions(n_users=5, weeks=2, seed=1)))
    rc = main(["train", "segments", "--data", str(tmp_path / "p.h5"), "--out", str(tmp_path / "o"), "--steps", "2"])
    assert rc == 2 and "needs >= 20" in capsys.readouterr().err


@pytest.mark.parametrize("weight", ["-1", "nan", "inf"])
def test_train_segments_refuses_a_bad_compat_weight(tmp_path, capsys, weight):
    rc = main(["train", "segments", "--data", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "o"), "--compat-weight", weight])
    assert rc == 2 and "--compat-weight must be a finite number >= 0" in capsys.readouterr().err
