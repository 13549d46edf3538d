"""Real-data gate: the shipped transport model streamed through the SDK over all WISDM subjects.

Every WISDM recording (21 subjects, walking / jogging / stairs / sitting / standing, no GPS) goes
through :func:`trainer.transport.stream_eval.evaluate_stream`, i.e. :class:`sdk.runtime.MomentSDK`
fed in 10 s chunks (heads, HMM, duty cycling), scored per second, on both paths: ``stream`` (the
timeline's events) and ``stream_live`` (``current_context()``). WISDM labels are pooled into model
classes by the default label map (stairs → walk, jogging → run, sitting/standing → still).

The targets are those of the product (``TARGETS``). A check listed in ``SHIPPED_MODEL_BELOW_TARGET``
is one the shipped model is known to miss: it is reported as XFAIL with the measured value, and
turns into a failure as soon as it passes (remove it from the set then). Any other check that
misses its target fails. Needs ``shared/data`` (``$MOMENTSENSE_SHARED_DATA``); about 10 s.

Reproduce the numbers: ``momentsense convert wisdm shared/data/wisdm2019_phone_subset.h5 --out
wisdm.h5`` then ``momentsense eval transport --model edge_models/artifacts/transport_cnn.tflite
--data wisdm.h5 --stream --no-gps``.
"""

import pytest

#: (model class, metric) → (comparison, threshold). ``recall``: share of the class's seconds read as
#: it; ``as_vehicle``: share read as bike/car/bus/train/subway.
TARGETS = {
    ("still", "recall"): (">=", 0.95),
    ("still", "as_vehicle"): ("<=", 0.02),
    ("walk", "recall"): (">=", 0.95),
    ("run", "recall"): (">=", 0.95),
}

#: (path, model class, metric) the shipped model misses (measured: stream still recall 0.713,
#: as_vehicle 0.242, walk 0.907; live still 0.693, as_vehicle 0.280, walk 0.897; run 1.000 on both).
SHIPPED_MODEL_BELOW_TARGET = {
    ("stream", "still", "recall"), ("stream", "still", "as_vehicle"), ("stream", "walk", "recall"),
    ("stream_live", "still", "recall"), ("stream_live", "still", "as_vehicle"), ("stream_live", "walk", "recall"),
}  # fmt: skip


@pytest.fixture(scope="module")
def wisdm_stream(shared_data_dir):
    from momentsense.trainer.loaders.wisdm import load_wisdm
    from momentsense.trainer.transport.stream_eval import evaluate_stream

    path = shared_data_dir / "wisdm2019_phone_subset.h5"
    if not path.is_file():
        pytest.skip(f"{path} not found (see shared/data/README.md)")
    return evaluate_stream(load_wisdm(path), gps=False)


def test_every_wisdm_recording_is_streamed(wisdm_stream):
    assert wisdm_stream["recordings"] == 104 and not wisdm_stream["skipped_recordings"]
    for key in ("stream", "stream_live"):
        s = wisdm_stream[key]
        assert s["label_map"] == {"walking": "walk", "jogging": "run", "stairs": "walk", "sitting": "still", "standing": "still"}
        unanswered = sum(s["unanswered_seconds"].values())
        assert s["seconds"] + unanswered > 104 * 170  # ~3 min per recording, every labelled second counted
        assert unanswered <= 104 * 20  # the first window (10 s) and, live, the first chunk


@pytest.mark.parametrize("path", ["stream", "stream_live"])
@pytest.mark.parametrize("cls, metric", sorted(TARGETS))
def test_shipped_model_meets_real_data_target(wisdm_stream, path, cls, metric):
    op, threshold = TARGETS[(cls, metric)]
    key = "recall_by_class" if metric == "recall" else "as_vehicle_by_class"
    value = wisdm_stream[path][key][cls]
    ok = value >= threshold if op == ">=" else value <= threshold
    known = (path, cls, metric) in SHIPPED_MODEL_BELOW_TARGET
    message = f"WISDM {path}: {cls} {metric} {value:.3f}, target {op} {threshold}"
    if known and not ok:
        pytest.xfail(f"shipped model below target: {message}")
    assert not known, f"{message}: passes now; remove it from SHIPPED_MODEL_BELOW_TARGET"
    assert ok, message
