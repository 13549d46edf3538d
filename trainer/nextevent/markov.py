"""Per-user Markov chain baseline for next-event prediction, with back-off to the population.

The context of a prediction at the start of event ``i`` is the previous token ``a``, the current
token ``b``, the time-of-day bin ``h`` of event ``i``'s start, its day of week ``d`` and weekend flag
``w``. Probabilities are hierarchically smoothed (each level's counts plus ``alpha`` times the more
general level's distribution; MacKay & Peto 1995 style Dirichlet back-off):

* order 2: user ``(a,b,h,d)`` → user ``(a,b,h,w)`` → user ``(a,b,h)`` → user ``(a,b)`` → user ``(b)``
  → population ``(a,b,h,w)`` → population ``(b)`` → uniform;
* order 1: the same without ``a``.

The user's tables are fitted on their own history and updated online after each event, so the
baseline always knows exactly what the LSTM is given (the user's past events).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import numpy as np

from momentsense.sdk.moments.tokens import N_TOKENS, day_of_week, time_of_day_s


@dataclasses.dataclass(frozen=True)
class MarkovOptions:
    """Attributes:
    order: 1 or 2.
    bin_s: Width of the time-of-day bins, seconds.
    alpha: Strength of the back-off prior (pseudo-counts).
    """

    order: int = 2
    bin_s: float = 3600.0
    alpha: float = 1.0


def _contexts(tokens: np.ndarray, start: np.ndarray, bin_s: float, utc_offset_s: float = 0.0):
    b = tokens.astype(np.int64)
    a = np.concatenate([[-1], b[:-1]])
    h = (time_of_day_s(start, utc_offset_s) // bin_s).astype(np.int64)
    d = day_of_week(start, utc_offset_s)
    w = (d >= 5).astype(np.int64)
    return a, b, h, d, w


def _keys(order: int, a, b, h, d, w) -> list[tuple]:
    """Context keys from most general to most specific (user levels)."""
    if order == 2:
        return [(b,), (a, b), (a, b, h), (a, b, h, w), (a, b, h, w, d)]
    return [(b,), (b, h), (b, h, w), (b, h, w, d)]


class PopulationMarkov:
    """Population statistics (counts of next tokens per context) fitted on training users."""

    def __init__(self, options: MarkovOptions = MarkovOptions()):
        self.options = options
        self.fine: dict = defaultdict(lambda: np.zeros(N_TOKENS))
        self.coarse: dict = defaultdict(lambda: np.zeros(N_TOKENS))
        self.unigram = np.ones(N_TOKENS)

    def fit_user(self, tokens: np.ndarray, start: np.ndarray) -> None:
        """Add one user's transitions."""
        a, b, h, d, w = _contexts(tokens, start, self.options.bin_s)
        nxt = tokens[1:]
        for i in range(len(nxt)):
            key = (a[i], b[i], h[i], w[i]) if self.options.order == 2 else (b[i], h[i], w[i])
            self.fine[key][nxt[i]] += 1
            self.coarse[b[i]][nxt[i]] += 1
            self.unigram[nxt[i]] += 1

    def prior(self, a: int, b: int, h: int, w: int) -> np.ndarray:
        alpha = self.options.alpha
        p = self.unigram / self.unigram.sum()
        c = self.coarse.get(b)
        if c is not None:
            p = (c + alpha * p) / (c.sum() + alpha)
        c = self.fine.get((a, b, h, w) if self.options.order == 2 else (b, h, w))
        if c is not None:
            p = (c + alpha * p) / (c.sum() + alpha)
        return p


def predict_user(pop: PopulationMarkov, tokens: np.ndarray, start: np.ndarray, eval_mask: np.ndarray,
                 utc_offset_s: float = 0.0) -> np.ndarray:  # fmt: skip
    """Online per-user predictions: for each ``i`` with ``eval_mask[i]``, ``P(token[i+1] | past)``.

    The user's tables first learn every transition that completed before the first evaluated
    event, then learn each evaluated transition once its outcome is known (before the next one).

    Parameters
    ----------
    pop : PopulationMarkov
    tokens : ndarray of int, shape ``(n,)``
    start : ndarray, shape ``(n,)``
        Unix seconds.
    eval_mask : ndarray of bool, shape ``(n,)``
        Positions to predict (must have a next event).

    Returns
    -------
    ndarray, shape ``(eval_mask.sum(), N_TOKENS)``
    """
    o = pop.options
    a, b, h, d, w = _contexts(tokens, start, o.bin_s, utc_offset_s)
    user: dict = defaultdict(lambda: np.zeros(N_TOKENS))
    out = np.zeros((int(eval_mask.sum()), N_TOKENS))
    k = 0
    for i in range(len(tokens) - 1):
        ctx = _keys(o.order, a[i], b[i], h[i], d[i], w[i])
        if eval_mask[i]:
            p = pop.prior(a[i], b[i], h[i], w[i])
            for key in ctx:
                c = user.get(key)
                if c is not None:
                    p = (c + o.alpha * p) / (c.sum() + o.alpha)
            out[k] = p
            k += 1
        nxt = tokens[i + 1]
        for key in ctx:
            user[key][nxt] += 1
    return out
