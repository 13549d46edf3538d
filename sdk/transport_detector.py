"""Streaming transport-mode detection on the device: raw sensor chunks in, transport events out.

Chunks go through the shared pipeline (:mod:`sdk.dsp`, configured from the model's manifest),
complete windows are normalised and classified by the ``.tflite`` model (:mod:`sdk.models.interpreter`),
the context head (:mod:`sdk.transport.heads`, when the model ships one) turns the last minutes of
window outputs into class probabilities, the HMM forward filter (:mod:`sdk.transport.hmm`, transitions from
the manifest or the head) smooths them without look-ahead, and a :class:`~sdk.timeline.records.TransportEvent` is emitted
once a mode change has held for ``min_stable_windows`` windows.

Two time frames when the model also ships a *lagged* head (``extra["context_lagged"]``, which reads
3 minutes ahead): :meth:`TransportDetector.current` answers "what is the person doing now" from the
live path (window model → head → HMM, no look-ahead), while the events, which make the timeline, are
settled by the lagged head and its own HMM and so come out ``lag`` windows (3 min) later, more
accurate. Without a lagged head both come from the live path, as before.

GPS (``extra["context_lagged_gps"]``, ``extra["context_gps"]``): heads that also read each window's
GPS numbers (:mod:`sdk.transport.gps`: fix rate, speed, any fix) run beside the plain lagged and live
ones (:meth:`TransportDetector.set_location`, fixes passed to :meth:`~TransportDetector.process`). A
window's output comes from a GPS head only if location was on for all of that head's context (its
minutes back within the stream, and a lagged head's look-ahead); otherwise from the plain head, so a
phone whose location consent is withdrawn never reads the missing fixes as a tunnel.

Duty cycling: a window whose acceleration barely moves (std of ``|acc|`` below
``still_acc_std_mps2``) and that comes while the detector already reports ``still`` is not sent to
the model; the filter is fed a "still" observation instead. The first window with motion goes to the
model again, so motion resumes inference within one window. Skipped windows are counted.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import deque
from typing import Optional

import numpy as np

from momentsense.sdk.dsp import Normalizer, PreprocessConfig, make_windows, pipeline_init, preprocess, windower_init
from momentsense.sdk.errors import InputError
from momentsense.sdk.transport.hmm import TransitionModel, fit_transitions, forward_init, forward_step
from momentsense.sdk.models.interpreter import Model, load_model
from momentsense.sdk.models.manifest import Manifest, load_verified_model
from momentsense.sdk.records import VEHICLE_MODES  # damped while GPS says the person stays at a place
from momentsense.sdk.timeline.records import TransportEvent
from momentsense.sdk.transport.heads import ContextHead, context_flush, context_init, context_push, context_step, window_vector
from momentsense.sdk.transport.gps import GPS_FEATURES, GpsBuffer, buffer_features, gps_buffer_push
from momentsense.sdk.transport.options import ModelOptions, TransportDetectorOptions, default_model_path, load_context_head
from momentsense.sdk.transport.segmenter import Segmenter as _Segmenter

# Re-exported: they lived here before sdk/transport/options.py.
__all__ = ["DetectorStats", "ModelOptions", "TransportDetector", "TransportDetectorOptions", "default_model_path",
           "load_context_head"]


@dataclasses.dataclass
class DetectorStats:
    """Counters of a detector run."""

    windows: int = 0
    windows_skipped: int = 0
    events: int = 0
    inference_ms: list = dataclasses.field(default_factory=list)
    context_ms: list = dataclasses.field(default_factory=list)
    windows_gps: int = 0  # settled by the lagged GPS head
    windows_gps_live: int = 0  # answered on the live path by the live GPS head
    repairs: dict = dataclasses.field(default_factory=dict)
    gaps: int = 0


class TransportDetector:
    """Streaming transport-mode detection. Create with :meth:`create_from_options` or :meth:`create`."""

    def __init__(self, options: TransportDetectorOptions, model: Model, manifest: Manifest,
                 context: Optional[ContextHead] = None, lagged: Optional[ContextHead] = None,
                 lagged_gps: Optional[ContextHead] = None, context_gps: Optional[ContextHead] = None):
        self.options = options
        self.manifest = manifest
        self.labels = list(manifest.label_names)
        self.config = PreprocessConfig.from_dict(manifest.preprocess)
        self.normalizer = Normalizer.from_dict(manifest.normalisation)
        for head, lag_ok, gps_ok in ((context, False, False), (lagged, True, False), (lagged_gps, True, True), (context_gps, False, True)):
            if head is not None and (list(head.label_names) != self.labels or head.n_channels != len(self.config.channels)):
                raise InputError("the context head's labels or channels do not match the model's manifest")
            if head is not None and (bool(head.lag) != lag_ok or (head.gps is not None) != gps_ok):
                raise InputError(f"a head with lag {head.lag} and{'' if head.gps else ' no'} GPS passed as the "
                                 f"{'live' if not lag_ok else 'GPS' if gps_ok else 'lagged'} head")  # fmt: skip
        if lagged_gps is not None and (lagged is None or lagged_gps.lag != lagged.lag):
            raise InputError("the GPS head runs beside a lagged head of the same lag, and there is none")
        if context_gps is not None and context is None:
            raise InputError("the live GPS head runs beside a live head, and there is none")
        self.context = context
        self.lagged = lagged
        self.lagged_gps = lagged_gps
        self.context_gps = context_gps
        gps_heads = [h for h in (lagged_gps, context_gps) if h is not None]
        if len({json.dumps(h.gps, sort_keys=True) for h in gps_heads}) > 1:
            raise InputError("the GPS heads compute their GPS numbers differently")
        self._gps_cfg = gps_heads[0].gps_config if gps_heads else None
        self._n_win = 0  # windows stepped since creation (GPS eligibility counts in these)
        # First window of the current location-on run (None: location off); see _gps_eligible.
        self._gps_since: Optional[int] = None
        hmm = context.hmm if context is not None and context.hmm else manifest.extra.get("hmm")
        self.hmm = TransitionModel.from_dict(hmm) if hmm else fit_transitions([], len(self.labels), self_prior=100.0)
        self.hmm_timeline = TransitionModel.from_dict(lagged.hmm) if lagged is not None and lagged.hmm else self.hmm
        # Each filter steps with the transitions tuned for whichever head gave the window's output.
        self.hmm_gps = TransitionModel.from_dict(lagged_gps.hmm) if lagged_gps is not None and lagged_gps.hmm else self.hmm_timeline
        self.hmm_live_gps = TransitionModel.from_dict(context_gps.hmm) if context_gps is not None and context_gps.hmm else self.hmm
        self._model = model
        self._still = self.labels.index("still") if "still" in self.labels else None
        self._norm_col = self.config.channels.index("acc_norm") if "acc_norm" in self.config.channels else None
        w = np.array([options.at_place_vehicle_weight if m in VEHICLE_MODES else 1.0 for m in self.labels])
        self._place_weights = w if (w < 1.0).any() else None
        self._at_place = False
        self.stats = DetectorStats()
        self.reset()

    @classmethod
    def create_from_options(cls, options: TransportDetectorOptions) -> "TransportDetector":
        """Load the model named by ``options`` (verified against its manifest)."""
        path = options.model.path or default_model_path()
        data, manifest = load_verified_model(path)
        model = load_model(data, options.model.num_threads, options.model.backend, options.model.delegate)
        if tuple(model.input_spec.shape[1:]) != (PreprocessConfig.from_dict(manifest.preprocess).window_len, len(manifest.preprocess["channels"])):
            raise InputError(f"{path}: model input {model.input_spec.shape} does not match its manifest's preprocessing")
        context = load_context_head(path, manifest) if options.use_context else None
        lagged = load_context_head(path, manifest, "context_lagged") if options.use_context and options.use_lagged_context else None
        gps = load_context_head(path, manifest, "context_lagged_gps") if lagged is not None and options.use_gps else None
        live_gps = load_context_head(path, manifest, "context_gps") if context is not None and options.use_gps else None
        return cls(options, model, manifest, context, lagged, gps, live_gps)

    @classmethod
    def create(cls, model_path: Optional[str] = None, **kwargs) -> "TransportDetector":
        """One-liner: ``TransportDetector.create()`` runs the shipped model with default options."""
        return cls.create_from_options(TransportDetectorOptions(model=ModelOptions(path=model_path), **kwargs))

    @property
    def backend(self) -> str:
        """Which interpreter runs the model."""
        return self._model.backend

    @property
    def delegate(self) -> str:
        """Which delegate the interpreter uses (after any fallback)."""
        return getattr(self._model, "delegate", "xnnpack")

    def reset(self) -> None:
        """Forget the stream (new recording): pipeline, windows, filter and the open event."""
        self._pipe = pipeline_init(self.config)
        self._win = windower_init(self.config.window_len, self.config.hop_len, len(self.config.channels))
        self._fwd = forward_init(self.hmm)
        self._ctx = context_init(self.context) if self.context is not None else None
        # The lagged path: its head's state, its own filter, and the windows waiting for their output.
        self._lag_ctx = context_init(self.lagged) if self.lagged is not None else None
        self._gps_ctx = context_init(self.lagged_gps) if self.lagged_gps is not None else None
        self._live_gps_ctx = context_init(self.context_gps) if self.context_gps is not None else None
        self._gps_buf = GpsBuffer()
        self._stream_start = self._n_win
        if self._location:
            self._gps_since = self._n_win
        self._fwd_tl = forward_init(self.hmm_timeline)
        self._waiting: deque = deque()
        self._last_k: Optional[int] = None
        # Events of the timeline; with a lagged head the live path keeps its own (for current() and
        # the live drive's boundaries), which are not emitted.
        self._seg = _Segmenter(self.labels, self.options.min_stable_windows, self.config.window_s)
        self._live_seg = self._seg if self.lagged is None else _Segmenter(self.labels, self.options.min_stable_windows, self.config.window_s)
        self._live_closed: list = []
        #: Events the live path closed during the last :meth:`process` / :meth:`flush` (the same as
        #: the returned events without a lagged head; minutes earlier with one). Not stored anywhere.
        self.live_events: list[TransportEvent] = []
        self._posterior: Optional[np.ndarray] = None

    def set_at_place(self, at_place: bool) -> None:
        """Tell the detector whether GPS says the person is staying at a place now (see
        :attr:`TransportDetectorOptions.at_place_vehicle_weight`); applies to the windows that follow.
        :class:`~sdk.runtime.MomentSDK` calls it after every chunk from its GPS timeline."""
        self._at_place = bool(at_place)

    def set_location(self, on: bool) -> None:
        """Tell the detector whether location is on: consent given and the phone listening for fixes
        (missing fixes then mean no sky). Applies to the windows that follow; off → on starts a new
        run, and the GPS head settles windows again once its context lies inside it.
        :class:`~sdk.runtime.MomentSDK` calls it before every chunk."""
        on = bool(on)
        if on and not self._location:
            # Mid-stream, the next windows' GPS spans reach back into the time without fixes: the
            # run counts from the first window whose span surely lies after now (one spare window
            # for the windows still in the pipeline).
            late = 0
            if self._last_k is not None and self._gps_cfg is not None:
                late = int(np.ceil((self._gps_cfg.before_s + self.config.window_s) / self.config.hop_s)) + 1
            self._gps_since = self._n_win + late
        elif not on:
            self._gps_since = None

    @property
    def _location(self) -> bool:
        return self._gps_since is not None

    @property
    def uses_gps(self) -> bool:
        """Whether the detector has a GPS head and location is on now."""
        return self._gps_cfg is not None and self._location

    def open_event(self) -> Optional[tuple[str, float]]:
        """``(mode, start)`` of the timeline's event not closed yet (unix s), or None."""
        if self._seg.mode is None or self._seg.start is None:
            return None
        return self.labels[self._seg.mode], float(self._seg.start)

    def current(self) -> tuple[Optional[str], float]:
        """The mode reported now by the live path and its smoothed probability (None before the first
        window). With a lagged head the timeline's events trail by minutes; this does not."""
        live = self._live_seg.mode
        if self._posterior is None or live is None:
            return None, 0.0
        return self.labels[live], float(self._posterior[live])

    def process(self, acc_t, acc, gyro_t=None, gyro=None, gps=None) -> list[TransportEvent]:
        """Feed one chunk of raw samples (acc m/s² with gravity, gyro rad/s); return events closed by it.

        ``gps``: the GPS fixes of the same time span (a list of :class:`~sdk.timeline.records.GpsFix`,
        or arrays ``t``, ``accuracy_m``, ``speed_mps``), read by the GPS head while location is on
        (:meth:`set_location`); ignored otherwise. Pass them with the chunk they belong to: a window
        reads the fixes up to its end.
        """
        if gps is not None and self.uses_gps:
            keep = -np.inf if self._last_k is None else self._last_k / self.config.fs_hz - self._gps_cfg.before_s
            self._gps_buf = gps_buffer_push(self._gps_buf, gps, keep)
        chunk, self._pipe = preprocess(acc_t, acc, self._pipe, gyro_t=gyro_t, gyro=gyro)
        self.stats.gaps += len(chunk.gaps)
        for k, v in chunk.acc_report.to_dict().items():
            self.stats.repairs[k] = self.stats.repairs.get(k, 0) + v
        windows, self._win = make_windows(chunk.k, chunk.x, self._win)
        out = []
        self._live_closed = []
        hop = self.config.hop_len
        for i in range(len(windows)):
            k0 = int(windows.k_start[i])
            n_hops = 1
            reset = self._last_k is None
            if self._last_k is not None and k0 - self._last_k != hop:
                # A gap: restart the filter, close the open event at the last window's end.
                out += self._close(self._last_k / self.config.fs_hz + self.config.window_s)
                reset = True
            self._last_k = k0
            out += self._step(windows.x[i], k0 / self.config.fs_hz, reset, n_hops)
        return self._report(out)

    def flush(self) -> list[TransportEvent]:
        """Close the open event (end of stream)."""
        if self._last_k is None:
            return []
        self._live_closed = []
        return self._report(self._close(self._last_k / self.config.fs_hz + self.config.window_s))

    # -- internals -----------------------------------------------------------------------------

    def _report(self, out: list[TransportEvent]) -> list[TransportEvent]:
        """End of a :meth:`process` / :meth:`flush` call: the live path's closed events, counters, callbacks."""
        self.live_events = out if self.lagged is None else self._live_closed
        for e in out:
            self.stats.events += 1
            if self.options.on_event is not None:
                self.options.on_event(e)
        return out

    def _probs(self, x: np.ndarray) -> Optional[np.ndarray]:
        still_now = self._still is not None and self._live_seg.mode == self._still
        if self.options.duty_cycle and still_now and self._norm_col is not None:
            if float(np.std(x[:, self._norm_col])) < self.options.still_acc_std_mps2:
                self.stats.windows_skipped += 1
                return None
        t0 = time.perf_counter()
        p = self._model.run(self.normalizer.apply(x)[None])[0]
        self.stats.inference_ms.append((time.perf_counter() - t0) * 1e3)
        return np.clip(p, 0.0, None) + 1e-6

    def _step(self, x: np.ndarray, t_start: float, reset: bool, n_hops: int) -> list[TransportEvent]:
        self.stats.windows += 1
        p = self._probs(x)
        skipped = p is None
        if skipped:  # duty-cycled: the filter sees a confident still observation
            p = np.full(len(self.labels), 1e-3)
            p[self._still] = 1.0
        still_obs = p if skipped else None
        damp = self._place_weights if self._at_place else None
        # Damped before the heads too: they read minutes of window outputs, and a confident head built
        # on undamped windows would outvote the damping of its own output.
        q = p * damp if damp is not None else p
        vec = window_vector(q / q.sum(), x) if self.context is not None or self.lagged is not None else None
        index = self._n_win
        self._n_win += 1
        if reset:
            self._stream_start = index
        vec_gps = None
        if self._gps_cfg is not None:
            g = np.zeros(len(GPS_FEATURES))
            if self._location:
                g = buffer_features(self._gps_buf, t_start, t_start + self.config.window_s, self._gps_cfg)
            vec_gps = np.concatenate([vec, g])
        hmm = self.hmm
        if self.context is not None and skipped:
            # The head only remembers the window (its output would be "still" anyway): 5× cheaper.
            self._ctx = context_push(vec, self._ctx, self.context, reset=reset)
            if self.context_gps is not None:
                self._live_gps_ctx = context_push(vec_gps, self._live_gps_ctx, self.context_gps, reset=reset)
        elif self.context is not None:
            t0 = time.perf_counter()
            (p,), self._ctx = context_step(vec, self._ctx, self.context, reset=reset)
            if self.context_gps is not None:
                (pg,), self._live_gps_ctx = context_step(vec_gps, self._live_gps_ctx, self.context_gps, reset=reset)
                if self._gps_eligible(index, self._stream_start, self.context_gps):
                    p, hmm = pg, self.hmm_live_gps
                    self.stats.windows_gps_live += 1
            self.stats.context_ms.append((time.perf_counter() - t0) * 1e3)
        if damp is not None:
            p = p * damp
        self._posterior, self._fwd = forward_step(p / p.sum(), self._fwd, hmm, n_hops=n_hops, reset=reset)
        if self.lagged is None:
            return self._seg.advance(self._posterior, t_start)
        self._live_closed += self._live_seg.advance(self._posterior, t_start)
        # A duty-cycled window joins the lagged head's context but gets no output of its own: the
        # timeline's filter sees the same confident still observation as the live one.
        self._waiting.append((t_start, damp, reset, n_hops, still_obs, index, self._stream_start))
        t0 = time.perf_counter()
        rows, self._lag_ctx = context_step(vec, self._lag_ctx, self.lagged, reset=reset, quiet=skipped)
        rows_gps = None
        if self.lagged_gps is not None:
            rows_gps, self._gps_ctx = context_step(vec_gps, self._gps_ctx, self.lagged_gps, reset=reset, quiet=skipped)
        if not skipped:
            self.stats.context_ms.append((time.perf_counter() - t0) * 1e3)
        return self._settle(rows, rows_gps)

    def _gps_eligible(self, index: int, stream_start: int, head: ContextHead) -> bool:
        """Location was on for all of window ``index``'s context in ``head``: back to its oldest
        window within the stream, and up to the newest window (a lagged head's look-ahead)."""
        if self._gps_since is None:
            return False
        return self._gps_since <= max(stream_start, index - max(head.scales) + 1)

    def _settle(self, rows: np.ndarray, rows_gps: Optional[np.ndarray] = None) -> list[TransportEvent]:
        """The lagged heads' outputs, oldest first, through the timeline's filter into events (the
        GPS head's row where location covered its context, else the plain head's)."""
        out = []
        for i, p in enumerate(rows):
            t_start, damp, reset, n_hops, still, index, stream_start = self._waiting.popleft()
            hmm = self.hmm_timeline
            if rows_gps is not None and still is None and self._gps_eligible(index, stream_start, self.lagged_gps):
                p, hmm = rows_gps[i], self.hmm_gps
                self.stats.windows_gps += 1
            if still is not None:
                p = still
            if damp is not None:
                p = p * damp
            post, self._fwd_tl = forward_step(p / p.sum(), self._fwd_tl, hmm, n_hops=n_hops, reset=reset)
            out += self._seg.advance(post, t_start)
        return out

    def _close(self, t_end: float) -> list[TransportEvent]:
        settled = []
        if self.lagged is not None and self._lag_ctx.pending:
            rows, self._lag_ctx = context_flush(self._lag_ctx, self.lagged)
            rows_gps = None
            if self.lagged_gps is not None:
                rows_gps, self._gps_ctx = context_flush(self._gps_ctx, self.lagged_gps)
            settled = self._settle(rows, rows_gps)
        return settled + self._close_open(t_end)

    def _close_open(self, t_end: float) -> list[TransportEvent]:
        self._fwd = forward_init(self.hmm)
        self._fwd_tl = forward_init(self.hmm_timeline)
        if self._live_seg is not self._seg:
            self._live_closed += self._live_seg.close(t_end)
        return self._seg.close(t_end)
