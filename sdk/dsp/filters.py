"""Butterworth filters as second-order sections with explicit state (stream == batch), numpy only.

Design is separate from application: design once (:func:`design_lowpass`, :func:`design_bandpass`,
closed-form Butterworth, the same transfer function as ``scipy.signal.butter(..., output="sos")``),
or read the coefficients a model's manifest stores (:class:`sdk.dsp.config.PreprocessConfig`), then
apply chunk by chunk with :func:`filter_chunk`, passing the state along. A phone feeding one second
at a time and the trainer filtering a whole day call the same function and get the same output (to
float rounding, ~1e-12 relative).

The state has scipy's layout (``zi`` of ``sosfilt``: direct form II transposed per section, shape
``(n_sections, 2, C)``) and the output matches ``scipy.signal.sosfilt`` within float tolerance
(tested against scipy, which the SDK never imports: ``import scipy.signal`` costs ~100 MB, and its
python-for-android recipe is the riskiest of the build, platform-notes.md).

How it is fast in numpy: the cascade is linear and time-invariant (state-space ``A, B, C, D``), so
a block of up to :data:`BLOCK` samples is cut into sub-blocks of :data:`SUB`; the state at each
sub-block's start is one small matrix product of the initial state and the earlier inputs, each
sub-block's output is ``T x + Z s`` (``T`` the Toeplitz matrix of the impulse response), and the
state after the block ``A^N s + G x``. All matrices are precomputed once per filter
(:class:`SosFilter`); a chunk costs a handful of small matrix products instead of a Python loop
per sample.
"""

from __future__ import annotations

import math

import numpy as np

from momentsense.sdk.errors import InputError

#: Samples per block of :class:`SosFilter` (longer chunks are filtered block by block; 256 holds a
#: 10 s chunk at 25 Hz in one block).
BLOCK = 256
#: Sub-block length: a block is filtered as BLOCK / SUB sub-blocks whose start states come from one
#: small matrix product, so every product stays tiny (no BLOCK × BLOCK matrix is read per chunk).
SUB = 16


def _check_cutoff(name: str, f_hz: float, fs_hz: float) -> None:
    if not (np.isfinite(f_hz) and 0 < f_hz < fs_hz / 2):
        raise InputError(f"{name} must be in (0, {fs_hz / 2:g}) Hz (below Nyquist at fs={fs_hz:g} Hz), got {f_hz!r}")


def _analog_poles(order: int) -> np.ndarray:
    """Poles of the analog Butterworth prototype (cut-off 1 rad/s), left half plane."""
    m = np.arange(-order + 1, order, 2)
    return -np.exp(1j * np.pi * m / (2 * order))


def _zpk_to_sos(z: np.ndarray, p: np.ndarray, k: float) -> np.ndarray:
    """Digital zeros, poles (conjugate pairs and reals) and gain → second-order sections ``(n, 6)``.

    Conjugate poles go together; sections are ordered from the pole farthest from the unit circle
    to the closest (the numerically quiet order); the gain sits in the first section. Zeros are
    real here (±1 for Butterworth), two per section.
    """
    p = np.asarray(p, complex)
    upper = sorted((q for q in p if q.imag > 1e-12), key=lambda q: abs(q))
    reals = sorted((q.real for q in p if abs(q.imag) <= 1e-12), key=abs)
    pairs: list[tuple[complex, complex]] = [(q, np.conj(q)) for q in upper]
    for i in range(0, len(reals), 2):
        pairs.append((reals[i], reals[i + 1]) if i + 1 < len(reals) else (reals[i], 0.0))
    pairs.sort(key=lambda pq: max(abs(pq[0]), abs(pq[1])))
    zr = sorted(np.asarray(z, complex).real.tolist())
    # Interleave +1 and -1 zeros so each band-pass section gets one of each (1 - z^-2).
    zeros = [v for pair in zip(zr[: len(zr) // 2], zr[len(zr) // 2:][::-1]) for v in pair] + (zr[len(zr) // 2:][:1] if len(zr) % 2 else [])
    sos = np.zeros((len(pairs), 6))
    for i, (p1, p2) in enumerate(pairs):
        zz = zeros[2 * i:2 * i + 2]
        zz = zz + [0.0] * (2 - len(zz))
        sos[i, :3] = [1.0, -(zz[0] + zz[1]), zz[0] * zz[1]]
        sos[i, 3:] = [1.0, -(p1 + p2).real, (p1 * p2).real]
    sos[0, :3] *= k
    return sos


def _butter_sos(order: int, edges_hz: tuple, fs_hz: float, btype: str) -> np.ndarray:
    """Closed-form digital Butterworth (bilinear transform with pre-warping), as SOS."""
    fs2 = 2.0 * fs_hz
    warped = [fs2 * math.tan(math.pi * f / fs_hz) for f in edges_hz]
    p = _analog_poles(order)
    if btype == "lowpass":
        wo = warped[0]
        za, pa, ka = np.zeros(0, complex), p * wo, wo**order
    else:
        bw, wo = warped[1] - warped[0], math.sqrt(warped[0] * warped[1])
        half = p * bw / 2
        root = np.sqrt(half**2 - wo**2)
        za, pa, ka = np.zeros(order, complex), np.concatenate([half + root, half - root]), bw**order
    zd = (fs2 + za) / (fs2 - za)
    pd = (fs2 + pa) / (fs2 - pa)
    zd = np.concatenate([zd, -np.ones(len(pa) - len(za))])
    kd = float((ka * np.prod(fs2 - za) / np.prod(fs2 - pa)).real)
    return _zpk_to_sos(zd, pd, kd)


def design_lowpass(cutoff_hz: float, fs_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth low-pass, second-order sections of shape ``(n_sections, 6)``.

    Parameters
    ----------
    cutoff_hz : float
        -3 dB frequency in Hz.
    fs_hz : float
        Sampling rate in Hz.
    order : int
        Filter order (≥ 1).
    """
    _check_cutoff("cutoff_hz", cutoff_hz, fs_hz)
    if int(order) < 1:
        raise InputError(f"order must be >= 1, got {order!r}")
    return _butter_sos(int(order), (float(cutoff_hz),), float(fs_hz), "lowpass")


def design_bandpass(low_hz: float, high_hz: float, fs_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth band-pass, second-order sections of shape ``(n_sections, 6)``.

    Parameters
    ----------
    low_hz, high_hz : float
        -3 dB edges in Hz, ``0 < low_hz < high_hz < fs_hz / 2``.
    fs_hz : float
        Sampling rate in Hz.
    order : int
        Order of each edge (the band-pass has ``2 * order`` poles).
    """
    _check_cutoff("low_hz", low_hz, fs_hz)
    _check_cutoff("high_hz", high_hz, fs_hz)
    if not low_hz < high_hz:
        raise InputError(f"low_hz must be below high_hz, got {low_hz!r} >= {high_hz!r}")
    if int(order) < 1:
        raise InputError(f"order must be >= 1, got {order!r}")
    return _butter_sos(int(order), (float(low_hz), float(high_hz)), float(fs_hz), "bandpass")


def check_sos(sos, name: str = "sos") -> np.ndarray:
    """Validate second-order sections read from a file: shape ``(n, 6)``, finite, ``a0 == 1``, stable
    (every pole inside the unit circle). Returns them as float64; :class:`InputError` otherwise."""
    try:
        a = np.asarray(sos, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: second-order sections must be numbers ({exc})") from None
    if a.ndim != 2 or a.shape[1] != 6 or len(a) < 1:
        raise InputError(f"{name}: second-order sections must have shape (n_sections, 6), got {a.shape}")
    if not np.all(np.isfinite(a)) or not np.allclose(a[:, 3], 1.0):
        raise InputError(f"{name}: second-order sections must be finite with a0 = 1")
    for sec in a:
        if np.any(np.abs(np.roots(sec[3:])) >= 1.0):
            raise InputError(f"{name}: a section has a pole on or outside the unit circle (unstable filter)")
    return a


class SosFilter:
    """A cascade of second-order sections with its block matrices precomputed (see the module doc).

    Attributes:
        sos: ``(n_sections, 6)`` coefficients.
        n_state: ``2 * n_sections`` state values per channel.
    """

    def __init__(self, sos: np.ndarray):
        self.sos = np.array(sos, dtype=np.float64)
        n_sec = len(self.sos)
        self.n_state = S = 2 * n_sec
        # The cascade as a state-space system, by stepping the DF2T recursion on unit inputs.
        cols = [self._step(np.eye(S)[:, j], 0.0) for j in range(S)]
        self.A = np.stack([c[1] for c in cols], axis=1)
        self.C = np.array([c[0] for c in cols])
        self.D, self.Bv = self._step(np.zeros(S), 1.0)
        pw = np.empty((BLOCK + 1, S, S))
        pw[0] = np.eye(S)
        for i in range(1, BLOCK + 1):
            pw[i] = self.A @ pw[i - 1]
        self.A_pow = pw
        self.Z = np.einsum("j,njk->nk", self.C, pw[:BLOCK])  # (BLOCK, S): output n of the state alone
        self.G = G = pw[:BLOCK] @ self.Bv  # (BLOCK, S): A^j B
        h = np.concatenate([[self.D], G[:BLOCK - 1] @ self.C])  # impulse response
        b = SUB
        idx = np.arange(b)
        lag = idx[:, None] - idx[None, :]
        self.Tb = np.where(lag >= 0, h[np.clip(lag, 0, None)], 0.0)  # (b, b) lower-triangular Toeplitz
        self.Zb = self.Z[:b]  # (b, S)
        self.Gb = np.ascontiguousarray(G[b - 1::-1].T)  # (S, b): a sub-block's inputs → the state after it
        nk = BLOCK // b
        self.K = np.zeros((nk * S, nk * S))  # state at each sub-block start from the earlier sub-blocks' inputs
        for k in range(nk):
            for j in range(k):
                self.K[k * S:(k + 1) * S, j * S:(j + 1) * S] = pw[(k - 1 - j) * b]
        self.P = np.concatenate([pw[k * b] for k in range(nk)])  # (nk * S, S): ... and from the initial state
        self._per_channels: dict = {}

    def _channel_matrices(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """The sub-block matrices acting on rows of ``SUB * c`` interleaved channel values (cached per ``c``)."""
        m = self._per_channels.get(c)
        if m is None:
            eye = np.eye(c)
            w_in = np.concatenate([np.kron(self.Tb.T, eye), np.kron(self.Gb.T, eye)], axis=1)
            m = self._per_channels[c] = (w_in, np.kron(self.Zb.T, eye))
        return m

    def _step(self, s: np.ndarray, u: float) -> tuple[float, np.ndarray]:
        s = s.copy()
        for i, (b0, b1, b2, _, a1, a2) in enumerate(self.sos):
            z0, z1 = s[2 * i], s[2 * i + 1]
            y = b0 * u + z0
            s[2 * i] = b1 * u - a1 * y + z1
            s[2 * i + 1] = b2 * u - a2 * y
            u = y
        return float(u), s

    def steady_state(self, x0: np.ndarray) -> np.ndarray:
        """State ``(S, C)`` of a signal that has been at ``x0`` ``(C,)`` forever."""
        unit = np.linalg.solve(np.eye(self.n_state) - self.A, self.Bv)
        return unit[:, None] * np.asarray(x0, np.float64)[None, :]

    def run(self, x: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Filter ``x`` ``(N, C)`` float64 from state ``s`` ``(S, C)``; returns ``(y, new state)``.
        Trusts its inputs (shapes, dtype): the public, checked entry is :func:`filter_chunk`."""
        n = len(x)
        if n == 0:
            return x.copy(), s.copy()
        if n <= BLOCK:
            b, S, C = SUB, self.n_state, x.shape[1]
            nb = -(-n // b)
            if nb * b != n:
                xp = np.zeros((nb * b, C))
                xp[:n] = x
            else:
                xp = x
            w_in, w_state = self._channel_matrices(C)
            # Row k holds sub-block k: [x[kb], ..., x[kb + b - 1]] (C values each).
            yu = xp.reshape(nb, b * C) @ w_in  # (nb, b*C + S*C): outputs from the inputs | state contributions
            starts = self.K[:nb * S, :nb * S] @ yu[:, b * C:].reshape(nb * S, C) + self.P[:nb * S] @ s
            y = (yu[:, :b * C] + starts.reshape(nb, S * C) @ w_state).reshape(nb * b, C)[:n]
            return y, self.A_pow[n] @ s + self.G[n - 1::-1].T @ x
        y = np.empty_like(x)
        for a in range(0, n, BLOCK):
            y[a:a + BLOCK], s = self.run(x[a:a + BLOCK], s)
        return y, s


_CACHE: dict = {}


def sos_filter(sos: np.ndarray) -> SosFilter:
    """The :class:`SosFilter` of ``sos`` (built once per distinct coefficient set, then cached)."""
    sos = np.asarray(sos, dtype=np.float64)
    key = sos.tobytes()
    f = _CACHE.get(key)
    if f is None:
        if len(_CACHE) > 64:  # a process designs a handful; bound it anyway
            _CACHE.clear()
        f = _CACHE[key] = SosFilter(sos)
    return f


def filter_init(sos: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Steady-state filter state for a signal that has been at ``x0`` forever.

    Starting from this state, a constant input passes without a transient (no fake ramp of gravity
    from 0 to 9.8 m/s² at the start of every recording). Same as ``scipy.signal.sosfilt_zi(sos)``
    scaled by ``x0``.

    Parameters
    ----------
    sos : ndarray ``(n_sections, 6)``
    x0 : ndarray ``(C,)``
        First sample of each channel.

    Returns
    -------
    state : ndarray ``(n_sections, 2, C)``
    """
    x0 = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    if x0.ndim != 1:
        raise InputError(f"x0 must have shape (channels,), got {x0.shape}")
    f = sos_filter(sos)
    return f.steady_state(x0).reshape(len(f.sos), 2, len(x0))


def filter_chunk(sos: np.ndarray, x: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filter one chunk along axis 0 (``scipy.signal.sosfilt(sos, x, axis=0, zi=state)``, in numpy).

    Parameters
    ----------
    sos : ndarray, shape ``(n_sections, 6)``
    x : ndarray, shape ``(n_samples, n_channels)``
        Samples on the regular grid (m/s² or rad/s).
    state : ndarray, shape ``(n_sections, 2, n_channels)``
        From :func:`filter_init` or the previous call. Not modified.

    Returns
    -------
    y : ndarray, same shape as ``x``
    state : ndarray
        Pass it to the next call.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"x must have shape (n_samples, n_channels), got {x.shape}")
    expected = (len(sos), 2, x.shape[1])
    if np.shape(state) != expected:
        raise InputError(f"state must have shape {expected} for {x.shape[1]} channels, got {np.shape(state)}")
    if len(x) == 0:
        return x.copy(), np.array(state, dtype=np.float64, copy=True)
    f = sos_filter(sos)
    y, s = f.run(x, np.asarray(state, np.float64).reshape(f.n_state, x.shape[1]))
    return y, s.reshape(expected)


def exp_average(x: np.ndarray, lam: float, y_prev: complex | float = 0.0) -> np.ndarray:
    """The recursion ``y[n] = lam * y[n-1] + x[n]`` along axis 0 from ``y[-1] = y_prev`` (real or
    complex ``x``); the same as ``scipy.signal.lfilter([1], [1, -lam], x, zi=[lam * y_prev])[0]``.

    Computed in blocks as a rescaled cumulative sum; each block is short enough that ``lam**-n``
    stays below e (no loss of precision, no overflow), ``0 < lam < 1``.
    """
    x = np.asarray(x)
    if not 0.0 < lam < 1.0:
        raise InputError(f"lam must be in (0, 1), got {lam!r}")
    n = len(x)
    y = np.empty(x.shape, dtype=np.result_type(x.dtype, type(y_prev), np.float64))
    blk = max(1, min(n, int(-1.0 / math.log(lam))))
    powers = lam ** np.arange(1, blk + 1, dtype=np.float64)  # lam^(i+1)
    prev = y_prev
    for a in range(0, n, blk):
        m = min(blk, n - a)
        p = powers[:m].reshape((m,) + (1,) * (x.ndim - 1))
        seg = np.cumsum(x[a:a + m] / (p / lam), axis=0) * (p / lam) + prev * p
        y[a:a + m] = seg
        prev = seg[-1]
    return y


def frequency_response(sos: np.ndarray, f_hz: np.ndarray, fs_hz: float) -> np.ndarray:
    """Magnitude of the filter's frequency response at ``f_hz`` (linear gain, not dB)."""
    sos = np.asarray(sos, dtype=np.float64)
    zinv = np.exp(-2j * np.pi * np.asarray(f_hz, dtype=np.float64) / fs_hz)
    h = np.ones_like(zinv)
    for b0, b1, b2, a0, a1, a2 in sos:
        h = h * (b0 + b1 * zinv + b2 * zinv**2) / (a0 + a1 * zinv + a2 * zinv**2)
    return np.abs(h)
