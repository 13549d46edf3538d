"""The shipped timeline encoders and segment heads: load in the SDK without TensorFlow, agree with their manifests."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib

import numpy as np
import pytest

from momentsense.edge_models import artifact_dir

ART = artifact_dir()
pytestmark = pytest.mark.skipif(not (ART / "timeline_encoder.tflite").exists(), reason="timeline encoder not shipped yet")


def test_sdk_computes_segments_without_tensorflow():
    """A fresh interpreter embeds a simulated user with the shipped encoder and heads; no tensorflow is imported."""
    code = (
        "import sys, json\n"
        "from momentsense.sdk.segments import UserEvents, TimelineEncoder, SegmentHeads, compute_segments\n"
        "from momentsense.trainer.population.simulate import simulate_user\n"
        "from momentsense.sdk.io.timeline_file import LABELS\n"
        f"enc = TimelineEncoder.create_from_path({str(ART / 'timeline_encoder.tflite')!r})\n"
        f"heads = SegmentHeads.create_from_path({str(ART / 'segment_classifiers.json')!r})\n"
        "p, rows, truth = simulate_user(123456, 4, 99)\n"
        "ev = UserEvents.create([r[0] for r in rows], [r[1] for r in rows], [r[3] for r in rows])\n"
        "res = compute_segments(ev, enc, heads)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))\n"
        "print(json.dumps({'bad': bad, 'norm': float((res.embedding ** 2).sum()), 'n_heads': len(res.embedding_segments)}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["bad"] == [] and out["norm"] == pytest.approx(1.0, abs=1e-3) and out["n_heads"] == 10


def test_manifests_record_versions_and_mapping():
    """The next encoder names its parent and carries the mapping the heads file uses for it."""
    from momentsense.sdk.models.manifest import load_verified_model

    _, old = load_verified_model(ART / "timeline_encoder.tflite")
    assert old.task == "timeline_encoder" and old.input.shape == (1, 256, 30) and old.output.shape == (1, 50)
    assert old.metrics["tflite_max_abs_diff"] < 1e-2
    heads = json.loads((ART / "segment_classifiers.json").read_text())
    assert heads["encoder_version"] == old.version
    nxt_path = ART / "timeline_encoder_next.tflite"
    if nxt_path.exists():
        _, nxt = load_verified_model(nxt_path)
        assert nxt.parent_version == old.version
        np.testing.assert_allclose(np.asarray(nxt.extra["mapping_to"][old.version]), np.asarray(heads["mappings"][nxt.version]))


def test_weekly_job_runs_once_a_week_and_uploads_labels_only():
    """Due at first, not again within a week, due after; too-short history skips with a reason."""
    from momentsense.sdk.segments import UserEvents, WeeklySegments, upload_payload
    from momentsense.trainer.population.simulate import simulate_user

    _, rows, _ = simulate_user(7, 3, 99)
    ev = UserEvents.create([r[0] for r in rows], [r[1] for r in rows], [r[3] for r in rows], [zlib.crc32(r[4].encode()) % 997 if r[4] else -1 for r in rows])
    job = WeeklySegments.create_shipped()
    t0 = float(ev.start[0])
    assert job.maybe_update(ev, t0 + 3 * 86400.0) is None and "at least 7 days" in job.last_skip_reason
    now = float(ev.end[-1])
    res = job.maybe_update(ev, now)
    assert res is not None and job.maybe_update(ev, now + 86400.0) is None
    assert job.maybe_update(ev, now + 7 * 86400.0) is not None
    p = upload_payload(res)
    assert set(p) == {"segments", "encoder_version"} and len(upload_payload(res, include_embedding=True)["embedding"]) == 50
