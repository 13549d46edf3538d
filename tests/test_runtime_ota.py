"""``MomentSDK.update_models()``: the OTA flow of sdk.models.ota wired into the runtime (shadow on live windows)."""

import numpy as np
import pytest

pytest.importorskip("fastapi")

from momentsense.sdk.errors import InputError  # noqa: E402
from momentsense.sdk.runtime import MomentSDK, SDKConfig  # noqa: E402
from momentsense.sdk.sources import SensorChunk  # noqa: E402
from tests.test_ota import NAME, OnlyVersion, options, registry  # noqa: E402,F401  (the registry fixture)


def chunks(n: int, t0: float = 1_700_000_000.0):
    """``n`` chunks of 10 s of walking-like motion (windows the model must run on)."""
    rng = np.random.default_rng(0)
    for i in range(n):
        t = t0 + 10.0 * i + np.arange(250) / 25.0
        acc = np.tile([0.0, 0.0, 9.81], (250, 1)) + np.sin(2 * np.pi * 1.8 * t)[:, None] * 2.0 + rng.normal(0, 0.3, (250, 3))
        yield SensorChunk(t, acc, None, rng.normal(0, 0.2, (250, 3)), [])


def config(tmp_path, registry, **kw):
    """Heads off: the registry's copies of the model carry no context heads beside them."""
    import dataclasses

    ota = dataclasses.replace(options(tmp_path, registry), **{"shadow_min_runs": 20, "min_agreement": 0.5,
                                                              "min_confidence": 0.3, **kw})  # fmt: skip
    return SDKConfig(ota=ota, transport_context=False, transport_gps=False, duty_cycle=False, weekly_segments=False)


def test_update_models_downloads_shadows_on_live_windows_and_promotes(tmp_path, registry, monkeypatch):
    """1.1.0 is downloaded, runs beside the bundled model on the windows fed, is promoted, and the
    next SDK starts with it."""
    import requests

    monkeypatch.setattr(requests, "Session", lambda: OnlyVersion("1.1.0"))
    with MomentSDK(config(tmp_path, registry)) as sdk:
        first, decision = sdk.update_models()
        assert first.action == "downloaded" and first.version == "1.1.0" and decision.action == "none"
        for c in chunks(40):
            sdk.feed(c)
        assert sdk.stats()["windows"] >= 20
        _, decision = sdk.update_models()
        assert decision.action == "promoted" and decision.runs >= 20, decision
    with MomentSDK(config(tmp_path, registry)) as sdk:  # restart: the promoted model is the active one
        from momentsense.sdk.models.ota import ModelUpdater

        assert ModelUpdater(options(tmp_path, registry)).active()[1].version == "1.1.0"
        sdk.feed(next(chunks(1)))


def test_a_candidate_below_the_thresholds_is_rolled_back(tmp_path, registry, monkeypatch):
    """Thresholds no model meets (agreement and confidence 1.0): rolled back after the shadow runs."""
    import requests

    monkeypatch.setattr(requests, "Session", lambda: OnlyVersion("1.1.0"))
    with MomentSDK(config(tmp_path, registry, min_agreement=1.0, min_confidence=1.0)) as sdk:
        assert sdk.update_models()[0].action == "downloaded"
        for c in chunks(40):
            sdk.feed(c)
        _, decision = sdk.update_models()
        assert decision.action == "rolled_back" and "confidence" in decision.reason, decision


def test_update_models_fails_without_ota_options():
    with MomentSDK(SDKConfig()) as sdk, pytest.raises(InputError, match="SDKConfig\\(ota="):
        sdk.update_models()


def test_a_promoted_model_without_the_heads_it_needs_falls_back_to_the_bundled_one(tmp_path, caplog):
    """A promoted window model published without context heads: with heads on, the SDK starts with
    the bundled model (and says so); with heads off it runs the promoted one."""
    import json
    import logging
    import shutil

    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.models.ota import OtaOptions

    shipped = artifact_dir() / "transport_cnn.tflite"
    version_dir = tmp_path / "store" / NAME / "versions" / "9.9.9"
    version_dir.mkdir(parents=True)
    shutil.copy(shipped, version_dir / f"{NAME}.tflite")
    man = json.loads((artifact_dir() / "transport_cnn.json").read_text())
    man["version"] = "9.9.9"
    (version_dir / f"{NAME}.json").write_text(json.dumps(man))
    (tmp_path / "store" / NAME / "state.json").write_text(json.dumps({"active": "9.9.9", "candidate": None, "history": []}))
    ota = OtaOptions(name=NAME, bundled_tflite=shipped, store_dir=tmp_path / "store", base_url="http://127.0.0.1:9",
                     api_key="k", hmac_key=b"k" * 32)  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="momentsense.sdk.runtime_ota"), MomentSDK(SDKConfig(ota=ota)) as sdk:
        sdk.feed(next(chunks(1)))
    assert "cannot run here" in caplog.text and "context" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="momentsense.sdk.runtime_ota"):
        with MomentSDK(SDKConfig(ota=ota, transport_context=False, transport_gps=False)) as sdk:
            sdk.feed(next(chunks(1)))
    assert "cannot run here" not in caplog.text
