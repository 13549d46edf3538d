"""How well could *any* next-event predictor do on the population simulator? A simulator oracle.

The simulator decides some next events with dice that nothing observable foretells: which of a
user's bars a night out goes to, whether today is a gym day after all (85 %), the second commute
mode, a shopping spree, an errand. No model can be right on those more often than the dice allow,
so a target such as "LSTM top-1 ≥ Markov top-1 + 10 points" is only reachable if the best possible
top-1 is that high.

The oracle knows everything the simulator knows about a user *except the draws of the day being
predicted*: the profile (places, routines, drift weeks), each day's type (holiday, sick, away)
and the state the day starts in. For every day it re-simulates that day (and the following ones,
as far as the events to predict need) ``n_samples`` times with fresh draws. For an event, the
samples whose labels so far in that day's run equal the user's, and whose event starts lie within
``tol_s`` of the user's (only the current event's, or every one so far: ``match``), are its
posterior; the oracle predicts their most frequent next label.

It knows more than a model can (the profile, upcoming holidays and sick days) and, through the
finite tolerance and sample count, a little less (exact times): its top-1 estimates the best
achievable, and :func:`population_ceiling` reports how it moves with ``tol_s`` and ``match``.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.moments.tokens import N_TOKENS, WEEK_S
from momentsense.trainer.population.days import plan_day
from momentsense.trainer.population.simulate import DAY, DEFAULT_START, _Writer, execute_outings, simulate_user


@dataclasses.dataclass(frozen=True)
class CeilingOptions:
    """Options of the simulator oracle.

    Attributes:
        n_samples: Re-simulations per day (≥ 1).
        tol_s: Largest difference between a sample's event start and the user's, seconds.
        match: ``"current"`` (only the event being predicted from must start within ``tol_s``) or
            ``"all"`` (every event of the day's run so far).
        history_weeks: Events before this many weeks are not scored (as in ``eval next-event``).
        seed: Seed of the oracle's own draws.
        include_truth: Add the user's real draws as one more sample (for tests only: it makes the
            oracle see the future).
    """

    n_samples: int = 200
    tol_s: float = 1800.0
    match: str = "current"
    history_weeks: int = 3
    seed: int = 0
    include_truth: bool = False

    def __post_init__(self):
        if int(self.n_samples) < 1:
            raise InputError(f"n_samples must be >= 1, got {self.n_samples!r}")
        if not float(self.tol_s) >= 0:
            raise InputError(f"tol_s must be >= 0 seconds, got {self.tol_s!r}")
        if self.match not in ("current", "all"):
            raise InputError(f"match must be 'current' or 'all', got {self.match!r}")


@dataclasses.dataclass
class UserCeiling:
    """The oracle on one user's scored events.

    Attributes:
        user: User id.
        index: int ``(n,)`` event indices scored (each has a next event).
        y: int ``(n,)`` the true next label.
        P: float ``(n, N_TOKENS)`` the oracle's next-label distribution (rows of zeros where no
            sample matched at all).
        level: int ``(n,)`` 2 = samples matched the day's labels and times so far; 1 = none did (a
            rare day), so the back-off counted samples' events with the same last two labels
            starting within ``tol_s``; 0 = not even that.
    """

    user: str
    index: np.ndarray
    y: np.ndarray
    P: np.ndarray
    level: np.ndarray


def _run_from(p, days: dict, d: int, n_days: int, end: float, rng: random.Random, need: int) -> tuple[np.ndarray, np.ndarray]:
    """Simulate from the start of day ``d`` until ``need`` events exist (or the data ends)."""
    ctx, snap, _, _ = days[d]
    w = _Writer(p, rng, 0.0)
    w.place, w.arrived, w.outing_mode = snap
    late = ctx.late_prev
    for dd in range(d, n_days):
        c = days[dd][0] if dd == d else dataclasses.replace(days[dd][0], late_prev=late)
        outings, late = plan_day(p, c, rng)
        execute_outings(w, outings)
        if len(w.rows) >= need:
            break
    else:
        w.close(end)
    return np.array([r[0] for r in w.rows], float), np.array([r[3] for r in w.rows], int)


def user_ceiling(index: int, weeks: int, seed: int, options: CeilingOptions = CeilingOptions(),
                 start: float = DEFAULT_START) -> UserCeiling:  # fmt: skip
    """The oracle on the events of simulated user ``index`` (population ``seed``, ``weeks`` long).

    Scores the same events as ``momentsense eval next-event``: every event starting after the first
    ``options.history_weeks`` weeks that has a next event.
    """
    days: dict = {}

    def on_day(d, ctx, w, rng):
        days[d] = (ctx, (w.place, w.arrived, w.outing_mode), rng.getstate(), len(w.rows))

    p, rows, _ = simulate_user(index, weeks, seed, start, on_day=on_day)
    t = np.array([r[0] for r in rows], float)
    lab = np.array([r[3] for r in rows], int)
    n_days, end = weeks * 7, start + weeks * 7 * DAY
    first = np.array([days[d][3] for d in range(n_days)] + [len(rows)])
    scored = np.flatnonzero(t >= start + options.history_weeks * WEEK_S)
    scored = scored[scored < len(rows) - 1]
    idx, ys, Ps, levels = [], [], [], []
    for d in range(n_days):
        a, b = int(first[d]), int(first[d + 1])
        pos = scored[(scored >= a) & (scored < b)]
        if not len(pos):
            continue
        need = b - a + 2
        samples = []
        for k in range(int(options.n_samples)):
            rng = random.Random(f"ceiling:{options.seed}:{seed}:{index}:{d}:{k}")
            samples.append(_run_from(p, days, d, n_days, end, rng, need))
        if options.include_truth:
            rng = random.Random()
            rng.setstate(days[d][2])
            samples.append(_run_from(p, days, d, n_days, end, rng, need))
        for i in pos:
            j = int(i - a)
            counts, local = np.zeros(N_TOKENS), np.zeros(N_TOKENS)
            for st, lb in samples:
                if len(lb) >= j + 2 and np.array_equal(lb[: j + 1], lab[a : i + 1]):
                    dt = np.abs(st[: j + 1] - t[a : i + 1]) if options.match == "all" else abs(st[j] - t[i])
                    if np.all(dt <= options.tol_s):
                        counts[lb[j + 1]] += 1
            if not counts.sum():  # a rare day: back off to the same last two labels near the same time
                for st, lb in samples:
                    q = np.flatnonzero((lb[1:-1] == lab[i]) & (lb[:-2] == lab[i - 1]) & (np.abs(st[1:-1] - t[i]) <= options.tol_s)) + 1
                    np.add.at(local, lb[q + 1], 1.0)
            level = 2 if counts.sum() else 1 if local.sum() else 0
            c = counts if level == 2 else local
            idx.append(i)
            ys.append(lab[i + 1])
            Ps.append(c / max(c.sum(), 1.0))
            levels.append(level)
    return UserCeiling(f"u{index:06d}", np.array(idx, int), np.array(ys, int),
                       np.array(Ps).reshape(-1, N_TOKENS), np.array(levels, int))  # fmt: skip


def _one(args):
    return user_ceiling(*args)


def population_ceiling(users: list[int], weeks: int, seed: int, options: CeilingOptions = CeilingOptions(),
                       n_jobs: int = 1, progress: bool = True) -> list[UserCeiling]:  # fmt: skip
    """:func:`user_ceiling` for each user index (``n_jobs`` worker processes; results do not depend on it)."""
    from tqdm import tqdm

    jobs = [(int(u), int(weeks), int(seed), options) for u in users]
    bar = tqdm(total=len(jobs), desc="oracle", unit="user", disable=not progress)
    out: list[Optional[UserCeiling]] = []
    if n_jobs > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(int(n_jobs)) as pool:
            for res in pool.imap(_one, jobs, chunksize=2):
                out.append(res)
                bar.update()
    else:
        for job in jobs:
            out.append(_one(job))
            bar.update()
    bar.close()
    return out


__all__ = ["CeilingOptions", "UserCeiling", "user_ceiling", "population_ceiling"]
