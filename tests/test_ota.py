"""OTA model updates end to end against the registry server on loopback: verify, shadow, promote or roll back."""

import json
import os

import numpy as np
import pytest
import requests

pytest.importorskip("fastapi")

from momentsense.edge_models import artifact_dir
from momentsense.sdk.errors import ModelError
from momentsense.sdk.models.manifest import load_verified_model
from momentsense.sdk.models.ota import ModelUpdater, OtaOptions, sign_manifest, verify_signature, write_signature
from momentsense.trainer.server.testing import ServerProcess

KEY = "ota-key-0123456789abcdef"
HMAC_KEY = b"pinned-secret-0123456789abcdef!!"
NAME = "transport_cnn"


def _put(folder, src_stem, version, sign_key=HMAC_KEY):
    """Registry entry: the bytes of the shipped ``src_stem`` published as transport_cnn ``version``, signed."""
    folder.mkdir(parents=True)
    data, man = load_verified_model(artifact_dir() / f"{src_stem}.tflite")  # a consistent pair, even mid-reship
    (folder / f"{NAME}.tflite").write_bytes(data)
    d = man.to_dict()
    d.update(name=NAME, version=version)
    (folder / f"{NAME}.json").write_text(json.dumps(d))
    if sign_key:
        write_signature(folder / f"{NAME}.tflite", hmac_key=sign_key)
    return folder / f"{NAME}.tflite"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A server whose registry has transport_cnn 1.0.0 (the int8 model, also the app's bundled one),
    1.1.0 (the float32 model's bytes) and 1.2.0 signed with another key."""
    root = tmp_path_factory.mktemp("registry")
    bundled = _put(root / "v100", "transport_cnn", "1.0.0")
    _put(root / "v110", "transport_cnn_float32", "1.1.0")
    _put(root / "v120", "transport_cnn_float32", "1.2.0", sign_key=b"attacker-key-0123456789abcdef!!!")
    server = ServerProcess(root / "server.db", {"ota": KEY}, models_dir=root).start()
    server.bundled = bundled
    yield server
    server.stop()


def options(tmp_path, server, **kw):
    return OtaOptions(name=NAME, bundled_tflite=server.bundled, store_dir=tmp_path / "store",
                      base_url=server.url, api_key=KEY, hmac_key=HMAC_KEY, shadow_min_runs=100, shadow_period_s=0,
                      **kw)  # fmt: skip


def inputs(n=100, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1, (1, 250, 14)).astype(np.float32) for _ in range(n)]


class OnlyVersion(requests.Session):
    """Makes /latest answer a fixed version (the registry's latest is 1.2.0, the badly signed one)."""

    def __init__(self, version, corrupt=None):
        super().__init__()
        self.version, self.corrupt = version, corrupt

    def get(self, url, **kw):
        url = url.replace("/latest", "/" + self.version)
        r = super().get(url, **kw)
        if self.corrupt and url.endswith("/file"):
            r._content = self.corrupt(r.content)
        return r


class TestSignature:
    def test_hmac_signature_round_trip_and_tamper(self):
        """A signed manifest verifies; changing any field or the key breaks it."""
        man = json.loads((artifact_dir() / f"{NAME}.json").read_text())
        sig = sign_manifest(man, hmac_key=HMAC_KEY)
        verify_signature(man, sig, hmac_key=HMAC_KEY)
        with pytest.raises(ModelError):
            verify_signature({**man, "version": "9.9.9"}, sig, hmac_key=HMAC_KEY)
        with pytest.raises(ModelError):
            verify_signature(man, sig, hmac_key=b"x" * 32)
        with pytest.raises(ModelError, match="not signed"):
            verify_signature(man, None, hmac_key=HMAC_KEY)

    def test_ed25519_signature(self):
        """Ed25519: the public key pinned in the app verifies; a wrong public key does not."""
        pytest.importorskip("cryptography")
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        man = json.loads((artifact_dir() / f"{NAME}.json").read_text())
        priv = Ed25519PrivateKey.generate()
        raw = priv.private_bytes_raw()
        pub = priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        sig = sign_manifest(man, ed25519_private_key=raw)
        verify_signature(man, sig, ed25519_public_key=pub)
        other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        with pytest.raises(ModelError):
            verify_signature(man, sig, ed25519_public_key=other)


class TestUpdate:
    def test_download_shadow_promote(self, tmp_path, registry):
        """1.1.0 is downloaded, shadow-run on 100 inputs, promoted at min_agreement 0.8; survives restart."""
        up = ModelUpdater(options(tmp_path, registry, min_agreement=0.8, min_confidence=0.3), session=OnlyVersion("1.1.0"))
        assert up.active()[1].version == "1.0.0"
        rep = up.update()
        assert rep.action == "downloaded" and up.candidate() == "1.1.0"
        assert up.decide().action == "none"  # not enough shadow runs yet
        bundled = load_verified_model(registry.bundled)
        for x in inputs():
            out = up.shadow(x)
            assert out.shape == (1, len(bundled[1].label_names))
        rep = up.decide()
        assert rep.action == "promoted" and rep.runs == 100 and rep.agreement >= 0.8, rep
        again = ModelUpdater(options(tmp_path, registry), session=OnlyVersion("1.1.0"))
        path, man = again.active()
        assert man.version == "1.1.0" and man.sha256 == load_verified_model(registry.bundled.parents[1] / "v110" / f"{NAME}.tflite")[1].sha256
        assert again.update().action == "none"

    def test_rollback_when_thresholds_are_not_met(self, tmp_path, registry):
        """With min_confidence 1.0 (every answer certain) the same candidate is rolled back, its files
        deleted, 1.0.0 kept. (0.999 is not enough: on random inputs the float model's mean top
        probability is 0.9996.)"""
        up = ModelUpdater(options(tmp_path, registry, min_agreement=0.0, min_confidence=1.0), session=OnlyVersion("1.1.0"))
        up.update()
        for x in inputs():
            up.shadow(x)
        rep = up.decide()
        assert rep.action == "rolled_back" and "confidence" in rep.reason and rep.mean_confidence < 1.0
        assert up.active()[1].version == "1.0.0" and not (up.root / "versions" / "1.1.0").exists()
        assert json.loads((up.root / "state.json").read_text())["history"][-1]["action"] == "rolled_back"

    def test_rollback_when_candidate_disagrees(self, tmp_path, registry):
        """A candidate with shifted class scores (top class nearly always differs) is rolled back at min_agreement 0.9."""
        from momentsense.sdk.models.interpreter import load_model

        def factory(path, manifest):
            run = load_model(path).run
            if manifest.version == "1.1.0":
                return lambda x: np.roll(run(x), 1, axis=-1)
            return run

        up = ModelUpdater(options(tmp_path, registry, min_agreement=0.9), session=OnlyVersion("1.1.0"), predictor_factory=factory)
        up.update()
        for x in inputs():
            up.shadow(x)
        rep = up.decide()
        assert rep.action == "rolled_back" and rep.agreement < 0.1 and "agreement" in rep.reason

    def test_badly_signed_model_is_refused(self, tmp_path, registry):
        """1.2.0 (signed with another key) fails verification; nothing is staged."""
        up = ModelUpdater(options(tmp_path, registry))
        rep = up.update()
        assert rep.action == "failed" and rep.version == "1.2.0" and "signature" in rep.reason
        assert up.candidate() is None and not (up.root / "versions").exists()

    @pytest.mark.parametrize("corrupt", [lambda b: b[: len(b) // 2], lambda b: b[:-1] + bytes([b[-1] ^ 1])])
    def test_corrupt_or_truncated_download_leaves_current_model(self, tmp_path, registry, corrupt):
        """A truncated or bit-flipped download is refused; the active model still loads."""
        up = ModelUpdater(options(tmp_path, registry), session=OnlyVersion("1.1.0", corrupt))
        rep = up.update()
        assert rep.action == "failed" and "sha256" in rep.reason
        assert up.candidate() is None and up.active()[1].version == "1.0.0"
        assert list(up.root.glob(".staging-*")) == []

    def test_crash_mid_update_leaves_current_model(self, tmp_path, registry, monkeypatch):
        """A crash while moving the download into place: after restart the old model works, staging is gone."""
        up = ModelUpdater(options(tmp_path, registry), session=OnlyVersion("1.1.0"))

        def crash(*a, **k):
            raise SystemExit("power loss")

        monkeypatch.setattr(os, "replace", crash)
        with pytest.raises(SystemExit):
            up.update()
        monkeypatch.undo()
        assert list(up.root.glob(".staging-*"))  # the crash left a partial download
        up2 = ModelUpdater(options(tmp_path, registry), session=OnlyVersion("1.1.0"))
        assert list(up2.root.glob(".staging-*")) == [] and up2.candidate() is None
        path, man = up2.active()
        assert man.version == "1.0.0" and load_verified_model(path)

    def test_crashing_candidate_is_rolled_back_without_touching_output(self, tmp_path, registry):
        """A candidate that raises is rolled back at once; the app still gets the active output."""
        real = {}

        def factory(path, manifest):
            from momentsense.sdk.models.interpreter import load_model

            if manifest.version == "1.1.0":
                def boom(x):
                    raise RuntimeError("delegate crashed")
                return boom
            real["m"] = load_model(path)
            return real["m"].run

        up = ModelUpdater(options(tmp_path, registry), session=OnlyVersion("1.1.0"), predictor_factory=factory)
        up.update()
        x = inputs(1)[0]
        out = up.shadow(x)
        np.testing.assert_allclose(out, real["m"].run(x))
        assert up.candidate() is None and up.state["history"][-1]["action"] == "rolled_back"
