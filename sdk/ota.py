"""Over-the-air model updates: check the registry, download, verify, shadow-run, promote or roll back.

Flow (:class:`ModelUpdater`):

1. :meth:`~ModelUpdater.check` asks the server's registry for the latest version of the model.
2. :meth:`~ModelUpdater.download` fetches the manifest and its signature, verifies the signature with
   the key pinned in the app (HMAC-SHA256, or Ed25519 when ``cryptography`` is installed), downloads
   the bytes into a staging folder, checks the TFLite identifier and the manifest's sha256, then moves
   the folder into place and only then records it as the *candidate* (atomic ``state.json`` rewrite).
   A crash or a corrupt download at any step leaves the active model untouched and loadable; stale
   staging folders are removed the next time the updater starts.
3. :meth:`~ModelUpdater.shadow` runs the candidate beside the active model on the same inputs and
   returns the active model's output (the app keeps using it); it counts top-1 agreement and the
   candidate's mean top-1 confidence.
4. After ``shadow_min_runs`` runs and ``shadow_period_s`` seconds, :meth:`~ModelUpdater.decide`
   promotes the candidate if agreement >= ``min_agreement`` and confidence >= ``min_confidence``,
   otherwise rolls back (deletes it) and reports why. A candidate that raises is rolled back at once.

What is signed: the canonical JSON of the manifest (sorted keys, no spaces), which holds the sha256 of
the model bytes, so the signature covers bytes, version and preprocessing alike. Signature text:
``hmac-sha256:<hex>`` or ``ed25519:<hex>``. HMAC needs the same secret in app and signer (anyone who
extracts it from the app can sign); prefer Ed25519 (public key in the app) where ``cryptography`` is
available.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import requests

from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.models.manifest import Manifest, check_tflite_bytes, load_verified_model, sha256_bytes

log = logging.getLogger(__name__)
#: ``factory(tflite_path, manifest) -> predict(x) -> output`` (default: :func:`sdk.models.interpreter.load_model`).
PredictorFactory = Callable[[Path, Manifest], Callable[[np.ndarray], np.ndarray]]


def canonical_manifest(manifest: dict) -> bytes:
    """The signed bytes: the manifest normalised through :class:`Manifest`, as compact sorted JSON."""
    d = Manifest.from_dict(manifest).to_dict()
    return json.dumps(d, sort_keys=True, separators=(",", ":"), default=lambda o: o.tolist()).encode("utf-8")


def sign_manifest(manifest: dict, hmac_key: Optional[bytes] = None, ed25519_private_key: Optional[bytes] = None) -> str:
    """Signature text for ``manifest`` (give exactly one key; Ed25519 keys are 32 raw bytes)."""
    msg = canonical_manifest(manifest)
    if (hmac_key is None) == (ed25519_private_key is None):
        raise InputError("give exactly one of hmac_key and ed25519_private_key")
    if hmac_key is not None:
        return "hmac-sha256:" + hmac.new(hmac_key, msg, hashlib.sha256).hexdigest()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return "ed25519:" + Ed25519PrivateKey.from_private_bytes(ed25519_private_key).sign(msg).hex()


def write_signature(tflite_path: str | Path, **keys) -> Path:
    """Sign the manifest beside ``tflite_path`` and write ``<stem>.sig`` (what the registry serves)."""
    tflite_path = Path(tflite_path)
    _, man = load_verified_model(tflite_path)
    sig = tflite_path.with_suffix(".sig")
    sig.write_text(sign_manifest(man.to_dict(), **keys) + "\n")
    return sig


def verify_signature(manifest: dict, signature: Optional[str], hmac_key: Optional[bytes] = None,
                     ed25519_public_key: Optional[bytes] = None) -> None:  # fmt: skip
    """Raise :class:`ModelError` unless ``signature`` is valid for ``manifest`` under a pinned key."""
    if not signature:
        raise ModelError("model is not signed; refusing it")
    scheme, _, value = signature.strip().partition(":")
    msg = canonical_manifest(manifest)
    if scheme == "hmac-sha256" and hmac_key is not None:
        if hmac.compare_digest(hmac.new(hmac_key, msg, hashlib.sha256).hexdigest(), value):
            return
        raise ModelError("model signature does not verify with the pinned HMAC key")
    if scheme == "ed25519" and ed25519_public_key is not None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(ed25519_public_key).verify(bytes.fromhex(value), msg)
            return
        except (InvalidSignature, ValueError):
            raise ModelError("model signature does not verify with the pinned Ed25519 key") from None
    raise ModelError(f"no pinned key for signature scheme {scheme!r}")


def _version_key(v: str) -> tuple:
    return tuple(int(x) for x in v.split("-")[0].split("+")[0].split("."))


@dataclasses.dataclass(frozen=True)
class OtaOptions:
    """Options of :class:`ModelUpdater`.

    Attributes:
        name: Model name in the registry (``transport_cnn``...).
        bundled_tflite: The model shipped in the app: used until an update is promoted, and again if
            the promoted files are ever unreadable.
        store_dir: Where downloaded versions and ``state.json`` live (one subfolder per model name).
        base_url, api_key: The registry server and the app's key.
        hmac_key, ed25519_public_key: Pinned verification key (at least one).
        shadow_min_runs: Shadow runs needed before deciding.
        shadow_period_s: Seconds the shadow phase lasts at least.
        min_agreement: Fraction of runs where candidate and active agree on the top class, 0..1.
        min_confidence: Mean top-class probability of the candidate, 0..1.
        timeout_s: HTTP timeout, s.
    """

    name: str
    bundled_tflite: Path
    store_dir: Path
    base_url: str
    api_key: str
    hmac_key: Optional[bytes] = None
    ed25519_public_key: Optional[bytes] = None
    shadow_min_runs: int = 200
    shadow_period_s: float = 86400.0
    min_agreement: float = 0.9
    min_confidence: float = 0.5
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.hmac_key is None and self.ed25519_public_key is None:
            raise InputError("OtaOptions needs a pinned key: hmac_key or ed25519_public_key")
        if not (0 <= self.min_agreement <= 1 and 0 <= self.min_confidence <= 1) or self.shadow_min_runs < 1:
            raise InputError("need 0 <= min_agreement, min_confidence <= 1 and shadow_min_runs >= 1")


@dataclasses.dataclass(frozen=True)
class UpdateReport:
    """What an update step did: ``action`` in ``none``, ``downloaded``, ``promoted``, ``rolled_back``,
    ``failed``; the version concerned; the reason; shadow statistics when there are any."""

    action: str
    version: Optional[str] = None
    reason: str = ""
    runs: int = 0
    agreement: Optional[float] = None
    mean_confidence: Optional[float] = None


def _default_factory(path: Path, manifest: Manifest) -> Callable[[np.ndarray], np.ndarray]:
    from momentsense.sdk.models.interpreter import load_model

    return load_model(path).run


class ModelUpdater:
    """OTA updates of one model; see the module docstring. State persists in ``store_dir/<name>/state.json``."""

    def __init__(self, options: OtaOptions, session: Optional[requests.Session] = None,
                 clock: Callable[[], float] = time.time, predictor_factory: PredictorFactory = _default_factory):  # fmt: skip
        self.o = options
        self.session = session or requests.Session()
        self.clock = clock
        self.factory = predictor_factory
        self.root = Path(options.store_dir) / options.name
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(".staging-*"):  # a crash mid-download
            shutil.rmtree(stale, ignore_errors=True)
        self.state = self._load_state()
        self._active_cache: Optional[tuple[Path, Manifest]] = None
        self._active_fn = None
        self._candidate_fn = None

    # -- state ---------------------------------------------------------------------------------
    def _load_state(self) -> dict:
        p = self.root / "state.json"
        try:
            return json.loads(p.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {"active": None, "candidate": None, "history": []}

    def _save_state(self) -> None:
        p = self.root / "state.json"
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".state-")
        with os.fdopen(fd, "w") as f:
            json.dump(self.state, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)

    def active(self) -> tuple[Path, Manifest]:
        """Path and manifest of the model to use now (verified; the bundled one if none was promoted
        or the promoted files fail verification). Verified once, then cached until a promotion."""
        if self._active_cache is None:
            self._active_cache = self._verify_active()
        return self._active_cache

    def _verify_active(self) -> tuple[Path, Manifest]:
        a = self.state.get("active")
        if a:
            path = self.root / "versions" / a / f"{self.o.name}.tflite"
            try:
                _, man = load_verified_model(path)
                return path, man
            except ModelError as exc:
                log.error("promoted model %s unusable (%s); using the bundled one", a, exc)
        _, man = load_verified_model(self.o.bundled_tflite)
        return Path(self.o.bundled_tflite), man

    def candidate(self) -> Optional[str]:
        c = self.state.get("candidate")
        return c["version"] if c else None

    # -- registry ------------------------------------------------------------------------------
    def _get(self, path: str, **kw) -> requests.Response:
        r = self.session.get(self.o.base_url.rstrip("/") + path, headers={"X-Api-Key": self.o.api_key},
                             timeout=self.o.timeout_s, **kw)  # fmt: skip
        if r.status_code != 200:
            raise ModelError(f"registry answered HTTP {r.status_code} for {path}")
        return r

    def check(self) -> Optional[str]:
        """The registry's latest version if it is newer than the active one (and not the candidate)."""
        latest = self._get(f"/v1/models/{self.o.name}/latest").json()["manifest"]["version"]
        current = self.active()[1].version
        if _version_key(latest) > _version_key(current) and latest != self.candidate():
            return latest
        return None

    def download(self, version: str) -> UpdateReport:
        """Fetch, verify and stage ``version`` as the shadow candidate; failures leave everything as it was."""
        staging = self.root / f".staging-{uuid.uuid4().hex}"
        try:
            meta = self._get(f"/v1/models/{self.o.name}/{version}").json()
            manifest = meta["manifest"]
            verify_signature(manifest, meta.get("signature"), self.o.hmac_key, self.o.ed25519_public_key)
            man = Manifest.from_dict(manifest)
            if man.name != self.o.name or man.version != version:
                raise ModelError(f"registry sent {man.name} {man.version} for {self.o.name} {version}")
            data = self._get(meta["download"]).content
            check_tflite_bytes(data, f"downloaded {self.o.name} {version}")
            if sha256_bytes(data) != man.sha256:
                raise ModelError(f"downloaded {self.o.name} {version}: sha256 does not match the signed manifest")
            staging.mkdir()
            (staging / f"{self.o.name}.tflite").write_bytes(data)
            (staging / f"{self.o.name}.json").write_text(json.dumps(manifest, sort_keys=True))
            load_verified_model(staging / f"{self.o.name}.tflite")
            final = self.root / "versions" / version
            final.parent.mkdir(exist_ok=True)
            if final.exists():
                shutil.rmtree(final)
            os.replace(staging, final)
        except (ModelError, requests.RequestException, KeyError, ValueError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            return self._report(UpdateReport("failed", version, str(exc)))
        self.state["candidate"] = {"version": version, "started_t": self.clock(), "runs": 0, "agree": 0, "conf_sum": 0.0}
        self._candidate_fn = None
        return self._report(UpdateReport("downloaded", version))

    def update(self) -> UpdateReport:
        """check() and download() the newer version, if any (not while a candidate is shadowing)."""
        if self.candidate():
            return UpdateReport("none", self.candidate(), "a candidate is already shadowing")
        try:
            v = self.check()
        except (ModelError, requests.RequestException, KeyError, ValueError) as exc:
            return UpdateReport("failed", None, str(exc))
        return self.download(v) if v else UpdateReport("none", None, "up to date")

    # -- shadow --------------------------------------------------------------------------------
    def _fn(self, which: str):
        if which == "active":
            if self._active_fn is None:
                self._active_fn = self.factory(*self.active())
            return self._active_fn
        if self._candidate_fn is None:
            path = self.root / "versions" / self.candidate() / f"{self.o.name}.tflite"
            _, man = load_verified_model(path)
            self._candidate_fn = self.factory(path, man)
        return self._candidate_fn

    def shadow(self, x: np.ndarray) -> np.ndarray:
        """Run the active model on ``x`` (returned) and, while a candidate exists, the candidate too."""
        out = np.asarray(self._fn("active")(x))
        c = self.state.get("candidate")
        if c:
            n_labels = len(self.active()[1].label_names) or out.shape[-1]
            try:
                cand = np.asarray(self._fn("candidate")(x))
            except Exception as exc:  # a crashing candidate never touches the app's result
                self._rollback(f"candidate raised {exc!r}")
                return out
            a, b = out.reshape(-1)[:n_labels], cand.reshape(-1)[:n_labels]
            c["runs"] += 1
            c["agree"] += int(np.argmax(a) == np.argmax(b))
            c["conf_sum"] += float(np.max(b))
            if c["runs"] % 50 == 0:
                self._save_state()
        return out

    def decide(self) -> UpdateReport:
        """Promote or roll back once the shadow phase is long enough; otherwise ``none``."""
        c = self.state.get("candidate")
        if not c:
            return UpdateReport("none", None, "no candidate")
        runs = c["runs"]
        if runs < self.o.shadow_min_runs or self.clock() - c["started_t"] < self.o.shadow_period_s:
            return UpdateReport("none", c["version"], "shadow phase not finished", runs)
        agreement, conf = c["agree"] / runs, c["conf_sum"] / runs
        if agreement >= self.o.min_agreement and conf >= self.o.min_confidence:
            old = self.state.get("active")
            self.state["active"], self.state["candidate"] = c["version"], None
            self._active_fn = self._candidate_fn = self._active_cache = None
            rep = self._report(UpdateReport("promoted", c["version"], "thresholds passed", runs, agreement, conf))
            if old and old != c["version"]:
                shutil.rmtree(self.root / "versions" / old, ignore_errors=True)
            return rep
        return self._rollback(f"agreement {agreement:.3f} (need {self.o.min_agreement}), confidence {conf:.3f} "
                              f"(need {self.o.min_confidence})", runs, agreement, conf)  # fmt: skip

    def _rollback(self, reason: str, runs: int = 0, agreement=None, conf=None) -> UpdateReport:
        c = self.state["candidate"]
        self.state["candidate"] = None
        self._candidate_fn = None
        shutil.rmtree(self.root / "versions" / c["version"], ignore_errors=True)
        return self._report(UpdateReport("rolled_back", c["version"], reason, runs or c["runs"], agreement, conf))

    def _report(self, rep: UpdateReport) -> UpdateReport:
        self.state.setdefault("history", []).append({"t": self.clock(), **dataclasses.asdict(rep)})
        self.state["history"] = self.state["history"][-50:]
        self._save_state()
        if rep.action in ("failed", "rolled_back"):
            log.warning("OTA %s %s: %s", rep.action, rep.version, rep.reason)
        return rep
