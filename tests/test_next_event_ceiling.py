"""The simulator oracle (``trainer.nextevent.ceiling``): it replays the simulator's days faithfully,
scores the events ``eval next-event`` scores, and does not see the dice of the day it predicts."""

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.trainer.nextevent.ceiling import CeilingOptions, population_ceiling, user_ceiling
from momentsense.trainer.nextevent.data import eval_mask, user_sequences
from momentsense.trainer.population.simulate import PopulationOptions, simulate_population, simulate_user

WEEKS, SEED = 4, 5


def test_day_hook_leaves_the_simulation_unchanged():
    seen = []
    _, rows, _ = simulate_user(2, WEEKS, SEED, on_day=lambda d, ctx, w, rng: seen.append((d, ctx.dow, len(w.rows))))
    _, plain, _ = simulate_user(2, WEEKS, SEED)
    assert rows == plain
    assert [d for d, _, _ in seen] == list(range(WEEKS * 7))
    assert [dow for _, dow, _ in seen] == [d % 7 for d in range(WEEKS * 7)]
    assert all(a <= b for (_, _, a), (_, _, b) in zip(seen, seen[1:]))


def test_oracle_scores_the_events_eval_next_event_scores():
    tl = simulate_population(PopulationOptions(3, WEEKS, seed=SEED))
    res = population_ceiling([0, 1, 2], WEEKS, SEED, CeilingOptions(n_samples=20), progress=False)
    for seq, oc in zip(user_sequences(tl), res):
        m = eval_mask(seq, 3)
        assert seq.user == oc.user
        assert np.array_equal(np.flatnonzero(m), oc.index) and len(oc.index) > 20
        assert np.array_equal(seq.tokens[1:][m[:-1]], oc.y)
        assert oc.P.shape == (len(oc.y), oc.P.shape[1]) and np.all((oc.level >= 0) & (oc.level <= 2))
        has = oc.level > 0
        assert np.allclose(oc.P[has].sum(1), 1.0) and np.all(oc.P[~has] == 0)


def test_replay_from_the_days_true_draws_reproduces_every_event():
    # With the user's own draws among the samples and no tolerance, that sample matches every
    # prefix: the true next label always has probability > 0 (a wrong day snapshot breaks this).
    for u in (0, 1):
        oc = user_ceiling(u, WEEKS, SEED, CeilingOptions(n_samples=5, tol_s=0.0, match="all", include_truth=True))
        assert np.all(oc.level == 2)
        assert np.all(oc.P[np.arange(len(oc.y)), oc.y] > 0)


def test_oracle_does_not_see_the_days_dice():
    opts = CeilingOptions(n_samples=50, tol_s=0.0, match="all")
    ocs = [user_ceiling(u, WEEKS, SEED, opts) for u in (0, 1, 3)]
    # Without the true draws, exact times are met again only by a day's first event (its start is
    # the last arrival, known before the day): most events fall back.
    assert np.mean(np.concatenate([oc.level == 2 for oc in ocs])) < 0.3
    opts = CeilingOptions(n_samples=100)
    ocs = [user_ceiling(u, WEEKS, SEED, opts) for u in (0, 1, 3)]
    top1 = np.mean(np.concatenate([oc.P.argmax(1) == oc.y for oc in ocs]))
    assert 0.6 < top1 < 0.995
    again = user_ceiling(0, WEEKS, SEED, opts)
    assert np.array_equal(again.P, ocs[0].P)  # seeded


@pytest.mark.parametrize("kw", [{"n_samples": 0}, {"tol_s": -1.0}, {"tol_s": float("nan")}, {"match": "some"}])
def test_bad_options_are_refused(kw):
    with pytest.raises(InputError):
        CeilingOptions(**kw)
