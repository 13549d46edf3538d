"""Stay points from GPS fixes: where a person stayed within a radius for long enough (numpy only).

Stage ``detect_stay_points`` (batch) and its streaming form ``stay_point_init`` →
``stay_point_step`` (per chunk) → ``stay_point_finish`` (end of data). Batch is exactly one step
over all fixes from the initial state followed by the finish, so the two agree by construction
(and by test).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, NamedTuple

import numpy as np

from momentsense.sdk.timeline.geo import haversine_m, mean_position_deg
from momentsense.sdk.timeline.records import GpsFix, StayPoint

#: ``fix_to_stay`` code of a usable fix that belongs to no stay point (the person was moving).
MOVING = -1
#: ``fix_to_stay`` code of a fix dropped because its accuracy radius exceeds ``max_accuracy_m``.
DROPPED_INACCURATE = -2
#: ``fix_to_stay`` code of a fix dropped as a teleport (an isolated jump at impossible speed).
DROPPED_TELEPORT = -3


class FixArrays(NamedTuple):
    """GPS fixes as float64 arrays of one shape ``(n,)``: unix s, degrees, metres (NaN = unknown)."""

    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    accuracy_m: np.ndarray


def _column(fixes: Any, name: str, n: int | None) -> np.ndarray | None:
    v = fixes.get(name) if isinstance(fixes, dict) else getattr(fixes, name, None)
    if v is None:
        return None
    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = "(n,)" if n is None else f"({n},) like fixes.t"
        raise ValueError(f"fixes.{name} must have shape {want}, got shape {a.shape}")
    return a


def validate_fixes(fixes: Any, where: str = "fixes") -> FixArrays:
    """Check GPS fixes and return them as :class:`FixArrays`.

    Parameters
    ----------
    fixes : sequence of GpsFix, or an object / dict with arrays ``t``, ``lat``, ``lon`` and optional
        ``accuracy_m`` (e.g. :class:`sdk.records.GpsTrack`)
        One user's fixes: ``t`` unix seconds, strictly increasing; ``lat`` in [-90, 90] and ``lon``
        in [-180, 180] degrees; ``accuracy_m`` >= 0 or NaN (unknown).
    where : str
        Name used in error messages.

    Raises
    ------
    TypeError
        ``fixes`` is none of the accepted forms.
    ValueError
        A NaN or infinite time or coordinate, a coordinate out of range, a time that does not
        increase, a negative accuracy, or columns of different lengths; the message names the index.
    """
    if isinstance(fixes, (list, tuple)):
        bad = next((i for i, f in enumerate(fixes) if not isinstance(f, GpsFix)), None)
        if bad is not None:
            raise TypeError(f"{where}[{bad}] must be a GpsFix, got {type(fixes[bad]).__name__}")
        n = len(fixes)
        t = np.fromiter((f.t for f in fixes), np.float64, n)
        lat = np.fromiter((f.lat for f in fixes), np.float64, n)
        lon = np.fromiter((f.lon for f in fixes), np.float64, n)
        acc = np.fromiter((f.accuracy_m for f in fixes), np.float64, n)
    else:
        if not (isinstance(fixes, dict) or hasattr(fixes, "t")):
            raise TypeError(
                f"{where} must be a sequence of GpsFix or have arrays t, lat, lon (e.g. GpsTrack), "
                f"got {type(fixes).__name__}")
        t = _column(fixes, "t", None)
        if t is None:
            raise ValueError(f"{where} needs arrays t, lat, lon; t is missing")
        n = t.shape[0]
        lat, lon = _column(fixes, "lat", n), _column(fixes, "lon", n)
        if lat is None or lon is None:
            raise ValueError(f"{where} needs arrays t, lat, lon; {'lat' if lat is None else 'lon'} is missing")
        acc = _column(fixes, "accuracy_m", n)
        acc = np.full(n, np.nan) if acc is None else acc
    for name, a in (("t", t), ("lat", lat), ("lon", lon)):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise ValueError(f"{where}.{name} must be finite; got {a[bad[0]]!r} at index {bad[0]}")
    bad = np.flatnonzero(np.abs(lat) > 90.0)
    if bad.size:
        raise ValueError(f"{where}.lat must be in [-90, 90] degrees; got {lat[bad[0]]!r} at index {bad[0]}")
    bad = np.flatnonzero(np.abs(lon) > 180.0)
    if bad.size:
        raise ValueError(f"{where}.lon must be in [-180, 180] degrees; got {lon[bad[0]]!r} at index {bad[0]}")
    bad = np.flatnonzero(np.diff(t) <= 0.0)
    if bad.size:
        i = bad[0] + 1
        raise ValueError(f"{where}.t must be strictly increasing; got {t[i - 1]!r} then {t[i]!r} at index {i}")
    bad = np.flatnonzero(acc < 0.0)
    if bad.size:
        raise ValueError(f"{where}.accuracy_m must be >= 0 or NaN; got {acc[bad[0]]!r} at index {bad[0]}")
    return FixArrays(t, lat, lon, acc)


# ---------------------------------------------------------------------------------------------
# Streaming state


@dataclasses.dataclass(frozen=True)
class StayPointParams:
    """Parameters of :func:`detect_stay_points` (see there); validated on construction."""

    dist_threshold_m: float = 100.0
    time_threshold_s: float = 300.0
    gap_threshold_s: float = 900.0
    max_accuracy_m: float = 200.0
    max_speed_mps: float = 70.0
    min_exit_s: float = 30.0

    def __post_init__(self):
        for name in ("dist_threshold_m", "time_threshold_s", "gap_threshold_s", "max_accuracy_m", "min_exit_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v >= 0.0 and not math.isnan(v)):
                raise ValueError(f"{name} must be a number >= 0, got {v!r}")
        if not (isinstance(self.max_speed_mps, (int, float)) and self.max_speed_mps > 0.0):
            raise ValueError(f"max_speed_mps must be a number > 0, got {self.max_speed_mps!r}")


_EMPTY_F = np.zeros(0, np.float64)
_EMPTY_I = np.zeros(0, np.int64)


@dataclasses.dataclass(frozen=True, eq=False)
class StayPointState:
    """What :func:`stay_point_step` carries from one chunk to the next. Never modified in place.

    Attributes:
        params: The detection parameters.
        buf_t, buf_lat, buf_lon: Usable fixes from the current window's anchor on (unix s, degrees).
        buf_index: Their indices in the whole stream (int64).
        pending: ``(t, lat, lon, index)`` of the last accurate fix, not yet checked for a teleport
            (that needs the next fix), or None.
        prev: ``(t, lat, lon)`` of the accurate fix before ``pending``, or None.
        last_t: Time of the last fix seen, s (-inf before any).
        n_seen: Fixes seen so far.
        n_dropped_inaccurate, n_dropped_teleport: Fixes dropped so far, by reason.
        scan_from: Buffer index where the next scan of the undecided window resumes (0 = right after
            the anchor): the fixes before it are settled (no exit, no gap among them), so a long stay
            costs O(new fixes) per chunk instead of O(all its fixes).
    """

    params: StayPointParams
    buf_t: np.ndarray = dataclasses.field(default_factory=lambda: _EMPTY_F)
    buf_lat: np.ndarray = dataclasses.field(default_factory=lambda: _EMPTY_F)
    buf_lon: np.ndarray = dataclasses.field(default_factory=lambda: _EMPTY_F)
    buf_index: np.ndarray = dataclasses.field(default_factory=lambda: _EMPTY_I)
    pending: tuple | None = None
    prev: tuple | None = None
    last_t: float = -math.inf
    n_seen: int = 0
    n_dropped_inaccurate: int = 0
    n_dropped_teleport: int = 0
    scan_from: int = 0

    def to_dict(self) -> dict:
        """JSON-ready dict; :meth:`from_dict` rebuilds an equal state."""
        return {
            "params": dataclasses.asdict(self.params),
            "buf_t": self.buf_t.tolist(), "buf_lat": self.buf_lat.tolist(), "buf_lon": self.buf_lon.tolist(),
            "buf_index": self.buf_index.tolist(),
            "pending": None if self.pending is None else list(self.pending),
            "prev": None if self.prev is None else list(self.prev),
            "last_t": None if math.isinf(self.last_t) else self.last_t,
            "n_seen": self.n_seen, "n_dropped_inaccurate": self.n_dropped_inaccurate,
            "n_dropped_teleport": self.n_dropped_teleport, "scan_from": self.scan_from,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> "StayPointState":
        """Inverse of :meth:`to_dict`."""
        return cls(
            params=StayPointParams(**d["params"]),
            buf_t=np.asarray(d["buf_t"], np.float64), buf_lat=np.asarray(d["buf_lat"], np.float64),
            buf_lon=np.asarray(d["buf_lon"], np.float64), buf_index=np.asarray(d["buf_index"], np.int64),
            pending=None if d["pending"] is None else (float(d["pending"][0]), float(d["pending"][1]),
                                                       float(d["pending"][2]), int(d["pending"][3])),
            prev=None if d["prev"] is None else tuple(float(v) for v in d["prev"]),
            last_t=-math.inf if d["last_t"] is None else float(d["last_t"]),
            n_seen=int(d["n_seen"]), n_dropped_inaccurate=int(d["n_dropped_inaccurate"]),
            n_dropped_teleport=int(d["n_dropped_teleport"]), scan_from=int(d.get("scan_from", 0)),
        )  # fmt: skip

    def __eq__(self, other):
        if not isinstance(other, StayPointState):
            return NotImplemented
        a, b = self.to_dict(), other.to_dict()
        return a == b


def stay_point_init(
    dist_threshold_m: float = 100.0,
    time_threshold_s: float = 300.0,
    gap_threshold_s: float = 900.0,
    max_accuracy_m: float = 200.0,
    max_speed_mps: float = 70.0,
    min_exit_s: float = 30.0,
) -> StayPointState:
    """Initial state of the streaming stay-point detector (parameters as in :func:`detect_stay_points`)."""
    return StayPointState(StayPointParams(float(dist_threshold_m), float(time_threshold_s), float(gap_threshold_s),
                                          float(max_accuracy_m), float(max_speed_mps), float(min_exit_s)))


# ---------------------------------------------------------------------------------------------
# Core: one user's usable fixes, sliding window from an anchor


def _first_true(mask: np.ndarray) -> int:
    """Index of the first True, or len(mask)."""
    i = int(np.argmax(mask)) if mask.size else 0
    return i if mask.size and mask[i] else mask.size


def _window_end(t, lat, lon, a: int, p: StayPointParams, final: bool, start: int = 0):
    """Where the window anchored at ``a`` ends.

    Returns ``(end, open_)``: the window holds fixes ``a .. end-1`` and the next anchor is ``end``;
    ``open_`` is True when the data ended with the person still inside. When the data so far cannot
    decide (streaming: wait for more fixes), returns ``(None, resume)``: fixes before ``resume`` are
    settled (up to the last fix inside), so the next call may start scanning there (``start``).
    """
    n = t.shape[0]
    block = 64
    s = max(a + 1, start)  # fix s - 1 is inside (or the anchor), with no gap or exit before it
    while True:
        hi = min(n, s + block)
        j = np.arange(s, hi)
        tj = t[s:hi]
        gap = (tj - t[s - 1:hi - 1]) > p.gap_threshold_s
        out = haversine_m(lat[a], lon[a], lat[s:hi], lon[s:hi]) >= p.dist_threshold_m
        # Runs of consecutive outside fixes: the start of each fix's run (a gap also starts a run).
        starts = out & ~np.concatenate(([False], out[:-1] & ~gap[1:]))
        run_start = np.maximum.accumulate(np.where(starts, np.arange(out.size), 0))
        span_ok = out & ((tj - tj[run_start]) >= p.min_exit_s)
        k_exit = _first_true(span_ok)  # exit confirmed at this fix
        k_gap = _first_true(gap)       # the window cannot cross this gap
        if k_exit < out.size and k_exit < k_gap:
            return int(j[run_start[k_exit]]), False
        if k_gap < out.size:
            # An outside run cut by the gap counts as an exit; else the window ends at the gap.
            if k_gap > 0 and out[k_gap - 1]:
                return int(j[run_start[k_gap - 1]]), False
            return int(j[k_gap]), False
        if hi == n:
            if not final:
                inside = np.flatnonzero(~out)
                return None, (int(j[inside[-1]]) + 1 if inside.size else s)
            if out.size and out[-1]:  # data ends with the person outside: an exit
                return int(j[run_start[-1]]), False
            return n, True
        block *= 2


def _scan(t, lat, lon, p: StayPointParams, final: bool, include_open: bool, start: int = 0):
    """Run the sliding window over the buffer; returns ``(windows, new_anchor, resume)``.

    ``windows`` are ``(a, end)`` index pairs of stays found (``end`` exclusive); ``resume`` is where
    the undecided window's next scan may start (see :func:`_window_end`), 0 if none.
    """
    n = t.shape[0]
    a = 0
    stays = []
    resume = 0
    while a < n:
        end, open_ = _window_end(t, lat, lon, a, p, final, start if a == 0 else 0)
        if end is None:
            resume = open_
            break
        if t[end - 1] - t[a] >= p.time_threshold_s and (not open_ or include_open):
            stays.append((a, end))
        a = end
    return stays, a, resume


def _make_stay(t, lat, lon) -> StayPoint:
    clat, clon = mean_position_deg(lat, lon)
    r = float(haversine_m(clat, clon, lat, lon).max())
    return StayPoint(float(t[0]), float(t[-1]), clat, clon, int(t.shape[0]), r)


def _teleports(t, lat, lon, vmax: float) -> np.ndarray:
    """Isolated jumps: fix k with speed > vmax from k-1 and to k+1 while k-1 → k+1 is plausible.

    Judges fixes ``1 .. n-2``; returns a bool mask of length n-2 for them.
    """
    def speed(i, k):
        return haversine_m(lat[i], lon[i], lat[k], lon[k]) / np.maximum(t[k] - t[i], 1.0)

    n = t.shape[0]
    if n < 3:
        return np.zeros(max(n - 2, 0), bool)
    prev, mid, nxt = np.arange(n - 2), np.arange(1, n - 1), np.arange(2, n)
    return (speed(prev, mid) > vmax) & (speed(mid, nxt) > vmax) & (speed(prev, nxt) <= vmax)


def _step(fx: FixArrays, state: StayPointState, index0: int, final: bool, include_open: bool):
    """Shared body of step and finish. Returns ``(stays, stay_index_ranges, codes, state)``.

    ``codes`` are ``(indices, code)`` pairs for dropped fixes; ranges are global fix-index arrays.
    """
    p = state.params
    n = fx.t.shape[0]
    gidx = index0 + np.arange(n, dtype=np.int64)
    inacc = fx.accuracy_m > p.max_accuracy_m  # NaN (unknown) is kept
    ok = ~inacc
    # Teleport check over [prev, pending, accurate fixes of this chunk]; the last one waits for its successor.
    seq_t, seq_lat, seq_lon, seq_i = [], [], [], []
    if state.prev is not None:
        seq_t.append([state.prev[0]]); seq_lat.append([state.prev[1]]); seq_lon.append([state.prev[2]])
        seq_i.append([-1])
    if state.pending is not None:
        seq_t.append([state.pending[0]]); seq_lat.append([state.pending[1]]); seq_lon.append([state.pending[2]])
        seq_i.append([state.pending[3]])
    seq_t.append(fx.t[ok]); seq_lat.append(fx.lat[ok]); seq_lon.append(fx.lon[ok]); seq_i.append(gidx[ok])
    st, sla, slo = np.concatenate(seq_t), np.concatenate(seq_lat), np.concatenate(seq_lon)
    si = np.concatenate(seq_i).astype(np.int64)
    first = 1 if state.prev is not None else 0  # the first element is context only
    # Judge elements first .. m-2 (m-1 if final); the element with no predecessor is never a teleport.
    m = st.shape[0]
    last = m if final else m - 1
    judged = np.arange(first, max(last, first))
    tele = np.zeros(judged.size, bool)
    if judged.size:
        inner = _teleports(st, sla, slo, p.max_speed_mps)  # for elements 1 .. m-2
        has = (judged >= 1) & (judged <= m - 2)
        tele[has] = inner[judged[has] - 1]
    use = judged[~tele]
    dropped_tel = si[judged[tele]]
    new_pending = None
    new_prev = state.prev
    if m > 0:
        if not final and m - 1 >= first:
            new_pending = (float(st[m - 1]), float(sla[m - 1]), float(slo[m - 1]), int(si[m - 1]))
            new_prev = (float(st[m - 2]), float(sla[m - 2]), float(slo[m - 2])) if m >= 2 else None
        elif final:
            new_pending, new_prev = None, None
    bt = np.concatenate([state.buf_t, st[use]])
    bla = np.concatenate([state.buf_lat, sla[use]])
    blo = np.concatenate([state.buf_lon, slo[use]])
    bix = np.concatenate([state.buf_index, si[use]])
    windows, anchor, resume = _scan(bt, bla, blo, p, final, include_open, state.scan_from)
    stays = [_make_stay(bt[a:e], bla[a:e], blo[a:e]) for a, e in windows]
    ranges = [bix[a:e] for a, e in windows]
    if final:
        anchor = bt.shape[0]
    new_state = dataclasses.replace(
        state,
        buf_t=bt[anchor:].copy(), buf_lat=bla[anchor:].copy(), buf_lon=blo[anchor:].copy(),
        buf_index=bix[anchor:].copy(), pending=new_pending, prev=new_prev,
        last_t=float(fx.t[-1]) if n else state.last_t, n_seen=state.n_seen + n,
        n_dropped_inaccurate=state.n_dropped_inaccurate + int(inacc.sum()),
        n_dropped_teleport=state.n_dropped_teleport + int(dropped_tel.size),
        scan_from=0 if final or resume <= anchor else resume - anchor,
    )
    return stays, ranges, (gidx[inacc], dropped_tel), new_state


def stay_point_step(fixes_chunk: Any, state: StayPointState) -> tuple[list[StayPoint], StayPointState]:
    """Feed the next chunk of fixes; returns the stay points closed by it and the new state.

    Parameters
    ----------
    fixes_chunk : fixes as accepted by :func:`validate_fixes`
        Must start after the last fix of earlier chunks. May be empty.
    state : StayPointState
        From :func:`stay_point_init` or the previous call. Not modified.

    Returns
    -------
    stay_points : list of StayPoint
        Stays that ended (the person left, or a gap) and are decided; in time order.
    state : StayPointState
        Pass it to the next call, and to :func:`stay_point_finish` at the end.

    Notes
    -----
    Decisions wait for the data that settles them: the last accurate fix waits for the next one
    (teleport check), and a stay whose last fixes lie outside the radius waits until that has lasted
    ``min_exit_s`` or the person came back.
    """
    if not isinstance(state, StayPointState):
        raise TypeError(f"state must be a StayPointState from stay_point_init, got {type(state).__name__}")
    fx = validate_fixes(fixes_chunk, "fixes_chunk")
    if fx.t.size and fx.t[0] <= state.last_t:
        raise ValueError(f"fixes_chunk.t must continue after the previous chunk; got {fx.t[0]!r} at index 0 "
                         f"after {state.last_t!r}")
    stays, _, _, new_state = _step(fx, state, state.n_seen, final=False, include_open=False)
    return stays, new_state


def stay_point_finish(state: StayPointState, include_open: bool = False) -> list[StayPoint]:
    """End of data: the stay points still undecided in ``state`` (see :func:`detect_stay_points`)."""
    if not isinstance(state, StayPointState):
        raise TypeError(f"state must be a StayPointState from stay_point_init, got {type(state).__name__}")
    empty = FixArrays(_EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_F)
    stays, _, _, _ = _step(empty, state, state.n_seen, final=True, include_open=bool(include_open))
    return stays


def detect_stay_points(
    fixes: Any,
    dist_threshold_m: float = 100.0,
    time_threshold_s: float = 300.0,
    gap_threshold_s: float = 900.0,
    max_accuracy_m: float = 200.0,
    include_open: bool = False,
    *,
    max_speed_mps: float = 70.0,
    min_exit_s: float = 30.0,
) -> tuple[list[StayPoint], np.ndarray]:
    """Stay points of one user: stretches spent within ``dist_threshold_m`` of where they began.

    Parameters
    ----------
    fixes : sequence of GpsFix, or object / dict with arrays ``t``, ``lat``, ``lon`` [, ``accuracy_m``]
        One user's fixes, ``t`` unix seconds strictly increasing, WGS84 degrees (see
        :func:`validate_fixes`).
    dist_threshold_m : float
        Radius of a stay around its first fix, m. Default 100 m: a building and its entrance, and
        about twice the error of an indoor fix, while a walk leaves it in ~80 s (Li et al. 2008
        and trackintel use 100-200 m and 100 m).
    time_threshold_s : float
        Least duration (first to last fix) of a stay, s. Default 300 s: longer than a red light or
        a bus stop, shorter than a short errand (trackintel and most of the literature use 5 min).
    gap_threshold_s : float
        Consecutive fixes further apart than this end the window, s: unknown time is never counted
        as a stay. Default 900 s (trackintel's 15 min).
    max_accuracy_m : float
        Fixes with a larger accuracy radius, m, are dropped (code :data:`DROPPED_INACCURATE`); NaN
        accuracy is kept. Default 200 m: such a fix cannot tell inside from outside a 100 m stay
        (cell-tower and coarse Wi-Fi fixes).
    include_open : bool
        Also return the stay the data ends in (the person has not left yet).
    max_speed_mps : float, keyword-only
        Teleport speed, m/s: an accurate fix reached from the previous one and left for the next one
        both faster than this, while previous → next is slower, is an isolated jump and is dropped
        (code :data:`DROPPED_TELEPORT`). Speeds use ``max(dt, 1 s)``. Default 70 m/s (252 km/h):
        faster than any road vehicle; a real high-speed train is never dropped because previous →
        next is then fast too.
    min_exit_s : float, keyword-only
        A stay ends only when the person has been outside its radius this long, s (consecutive
        outside fixes spanning it). Shorter excursions (indoor GPS noise, a multipath burst) stay in
        the stay. Default 30 s; 0 gives the original algorithm (a stay ends at the first fix outside).

    Returns
    -------
    stay_points : list of StayPoint
        In time order. ``start``/``end`` are the first and last fix of the stay, ``lat``/``lon``
        the mean of its fixes, ``radius_m`` the largest distance of a fix from that mean.
    fix_to_stay : ndarray, int64, shape ``(n_fixes,)``
        For each input fix, the index of its stay point in ``stay_points``, or :data:`MOVING` (-1),
        :data:`DROPPED_INACCURATE` (-2), :data:`DROPPED_TELEPORT` (-3).

    Notes
    -----
    Sliding window of Li et al. (2008), as trackintel's ``generate_staypoints(method="sliding")``:
    the window starts at an anchor fix and takes the following fixes while they lie closer than
    ``dist_threshold_m`` (haversine) to the anchor. It ends at the first fix at distance ``>=
    dist_threshold_m`` that starts an outside run lasting ``min_exit_s`` (or cut by a gap, or by the
    end of the data), or before a gap longer than ``gap_threshold_s``; that fix is the next anchor.
    The window is a stay point if its first-to-last-fix duration is ``>= time_threshold_s``.

    Differences from trackintel 1.4: (1) the duration and ``end`` stop at the last fix inside,
    not at the first fix outside, so every stay satisfies ``end - start >= time_threshold_s``;
    (2) a gap closes the window as a stay when it was long enough, where trackintel drops it;
    (3) ``min_exit_s``, the accuracy filter and the teleport filter (0 / inf / inf reproduce it).

    Extremes: ``dist_threshold_m=0`` with ``time_threshold_s=0`` makes every usable fix its own stay
    point; a ``time_threshold_s`` longer than the data gives none (and a warning).

    References: Li, Q., Zheng, Y., Xie, X., Chen, Y., Liu, W., Ma, W.-Y. (2008). Mining user
    similarity based on location history. ACM SIGSPATIAL GIS '08, 34.

    Examples
    --------
    >>> from momentsense.sdk.timeline.records import GpsFix
    >>> fixes = [GpsFix(60.0 * i, 48.85, 2.35) for i in range(11)] + [GpsFix(700.0, 48.86, 2.35)]
    >>> stays, fix_to_stay = detect_stay_points(fixes, min_exit_s=0)
    >>> [(s.start, s.end, s.n_fixes) for s in stays], fix_to_stay.tolist()[-2:]
    ([(0.0, 600.0, 11)], [0, -1])
    """
    fx = validate_fixes(fixes)
    state = stay_point_init(dist_threshold_m, time_threshold_s, gap_threshold_s, max_accuracy_m, max_speed_mps,
                            min_exit_s)
    n = fx.t.shape[0]
    fix_to_stay = np.full(n, MOVING, np.int64)
    stays, ranges, (inacc, tele), state = _step(fx, state, 0, final=False, include_open=False)
    more, ranges2, (_, tele2), _ = _step(FixArrays(_EMPTY_F, _EMPTY_F, _EMPTY_F, _EMPTY_F), state, n, final=True,
                                         include_open=bool(include_open))
    stays = stays + more
    for k, idx in enumerate(ranges + ranges2):
        fix_to_stay[idx] = k
    fix_to_stay[inacc] = DROPPED_INACCURATE
    fix_to_stay[np.concatenate([tele, tele2])] = DROPPED_TELEPORT
    if not stays and n:
        warnings.warn(f"detect_stay_points: no stay point in {n} fixes "
                      f"(time_threshold_s={time_threshold_s}, dist_threshold_m={dist_threshold_m})", stacklevel=2)
    return stays, fix_to_stay
