"""From timelines to next-event examples: user splits, evaluation positions, +1 h shifts, holidays.

Only the observable columns (start, end, label) become model inputs; ``moment`` and the per-user
``truth`` are used for evaluation masks (holiday weeks) and never enter a feature.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.moments.tokens import DAY_S, WEEK_S, _MONDAY, encode_events, previous_durations
from momentsense.sdk.io.timeline_file import Timeline


@dataclasses.dataclass
class UserSeq:
    """One user's events as model-ready arrays.

    Attributes:
        user: User id.
        start, end: float64 ``(n,)`` unix s.
        tokens: int64 ``(n,)``.
        features: float32 ``(n, N_FEATURES)``.
        wait: float32 ``(n,)`` target of the second head: ``log1p`` minutes until event ``i+1`` starts
            (0 for the last event).
        origin: Unix time of the Monday midnight on or before the first event.
    """

    user: str
    start: np.ndarray
    end: np.ndarray
    tokens: np.ndarray
    features: np.ndarray
    wait: np.ndarray
    origin: float


def week_origin(t: float) -> float:
    """The Monday 00:00 (UTC clock) on or before ``t``, unix s."""
    return _MONDAY + np.floor((t - _MONDAY) / WEEK_S) * WEEK_S


def user_sequences(tl: Timeline, users=None, utc_offset_s: float = 0.0) -> list[UserSeq]:
    """Build :class:`UserSeq` for the given user codes (default all)."""
    out = []
    for u in range(len(tl.users)) if users is None else users:
        s = tl.user_slice(u)
        start, end, tok = tl.start[s], tl.end[s], tl.label[s].astype(np.int64)
        if len(start) == 0:
            continue
        feats = encode_events(start, tok, previous_durations(start, end), utc_offset_s)
        wait = np.zeros(len(start), np.float32)
        wait[:-1] = np.log1p(np.maximum(np.diff(start), 0.0) / 60.0)
        out.append(UserSeq(tl.users[u], start, end, tok, feats, wait, float(week_origin(start[0]))))
    return out


def split_users(n_users: int, seed: int, test_fraction: float = 0.2, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint train/validation/test user codes (a seeded permutation)."""
    if n_users < 3:
        raise InputError(f"need at least 3 users to split into train/validation/test, got {n_users}")
    perm = np.random.default_rng(seed).permutation(n_users)
    n_test = max(1, int(round(test_fraction * n_users)))
    n_val = max(1, int(round(val_fraction * n_users)))
    return np.sort(perm[n_test + n_val :]), np.sort(perm[n_test : n_test + n_val]), np.sort(perm[:n_test])


def eval_mask(seq: UserSeq, history_weeks: int = 3, weeks=None) -> np.ndarray:
    """Positions predicted in evaluation: after ``history_weeks`` of history, with a next event.

    ``weeks`` (optional) restricts to events starting in those week indices (0 = first week).
    """
    week = np.floor((seq.start - seq.origin) / WEEK_S).astype(int)
    m = week >= history_weeks
    if weeks is not None:
        m &= np.isin(week, list(weeks))
    m[-1] = False
    return m


def shift_week(seq: UserSeq, week: int, shift_s: float = 3600.0, utc_offset_s: float = 0.0) -> UserSeq:
    """The user with week ``week`` shifted later by ``shift_s`` (they woke up late all week).

    Event starts inside the week move by ``shift_s``, and so do ends inside it; the event that
    crosses into the week gets longer, the one crossing out of it shorter (never negative).
    """
    ws = seq.origin + week * WEEK_S
    we = ws + WEEK_S
    start = np.where((seq.start >= ws) & (seq.start < we), seq.start + shift_s, seq.start)
    end = np.where((seq.end > ws) & (seq.end < we), seq.end + shift_s, seq.end)
    start = np.minimum(start, end)
    feats = encode_events(start, seq.tokens, previous_durations(start, end), utc_offset_s)
    wait = np.zeros(len(start), np.float32)
    wait[:-1] = np.log1p(np.maximum(np.diff(start), 0.0) / 60.0)
    return dataclasses.replace(seq, start=start, end=end, features=feats, wait=wait)


def holiday_weeks(truth: dict, origin: float) -> set[int]:
    """Week indices that contain a public holiday or a vacation day (simulator ground truth)."""
    days = list(truth.get("public_holidays", [])) + list(truth.get("vacation_days", []))
    return {int((d - origin) // WEEK_S) for d in days}


def day_index(t: np.ndarray, origin: float) -> np.ndarray:
    return np.floor((np.asarray(t) - origin) / DAY_S).astype(int)
