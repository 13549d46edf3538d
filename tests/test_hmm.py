"""HMM smoothing of window-level class probabilities (sdk.transport.hmm)."""

import dataclasses
import json
import math

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.transport.hmm import (
    ForwardState,
    TransitionModel,
    fit_transitions,
    forward_filter,
    forward_init,
    forward_step,
    scaled_likelihoods,
    viterbi,
)

C = 4


def label_runs(rng, n_windows, mean_run=40, n_classes=C):
    """True labels as runs of geometric length (mean `mean_run` windows), each run a new class."""
    out, cur = [], int(rng.integers(n_classes))
    while len(out) < n_windows:
        out += [cur] * int(rng.geometric(1.0 / mean_run))
        cur = int((cur + rng.integers(1, n_classes)) % n_classes)
    return np.array(out[:n_windows], np.int64)


def noisy_classifier(rng, labels, error_rate=0.2, confidence=0.7, n_classes=C):
    """Posteriors whose argmax is the truth with probability 1 - error_rate, else a random other class."""
    wrong = rng.random(len(labels)) < error_rate
    shown = np.where(wrong, (labels + rng.integers(1, n_classes, len(labels))) % n_classes, labels)
    p = np.full((len(labels), n_classes), (1 - confidence) / (n_classes - 1))
    p[np.arange(len(labels)), shown] = confidence
    p = p + rng.uniform(0, 0.05, p.shape)
    return p / p.sum(axis=1, keepdims=True), shown


def n_switches(path):
    return int(np.count_nonzero(np.diff(path)))


@pytest.fixture(scope="module")
def trained_model():
    rng = np.random.default_rng(1)
    return fit_transitions([label_runs(rng, 2000) for _ in range(5)], C)


class TestFitTransitions:
    def test_rows_are_stochastic_and_reflect_the_data(self):
        """Transitions are row-stochastic and match hand counts: 0→0 twice, 0→1 once, 1→1 once."""
        m = fit_transitions([np.array([0, 0, 0, 1, 1])], 3, smoothing=0.0)
        np.testing.assert_allclose(m.transitions.sum(axis=1), 1.0)
        np.testing.assert_allclose(m.transitions[0], [2 / 3, 1 / 3, 0])
        np.testing.assert_allclose(m.transitions[1], [0, 1, 0])
        np.testing.assert_allclose(m.transitions[2], [1 / 3] * 3)  # never left: uniform
        np.testing.assert_allclose(m.class_prior, [3 / 5, 2 / 5, 0])

    def test_long_runs_give_sticky_transitions(self, trained_model):
        """Runs of mean 40 windows give a self-transition near 1 - 1/40 for every class."""
        np.testing.assert_allclose(np.diag(trained_model.transitions), 1 - 1 / 40, atol=0.01)
        np.testing.assert_allclose(trained_model.class_prior, 1 / C, atol=0.06)

    def test_unknown_labels_break_the_chain(self):
        """Pairs touching -1 are not counted; sequences never join across the list."""
        m = fit_transitions([np.array([0, -1, 1]), np.array([1]), np.array([0])], 2, smoothing=0.0)
        np.testing.assert_allclose(m.transitions, [[0.5, 0.5], [0.5, 0.5]])  # no counts: uniform rows
        np.testing.assert_allclose(m.class_prior, [0.5, 0.5])

    def test_self_prior_adds_to_the_diagonal(self):
        """self_prior pseudo-counts go on the diagonal only; inf gives the identity."""
        seqs = [np.array([0, 1, 0, 1, 0])]
        m = fit_transitions(seqs, 2, self_prior=2.0, smoothing=0.0)
        np.testing.assert_allclose(m.transitions, [[2 / 4, 2 / 4], [2 / 4, 2 / 4]])
        m = fit_transitions(seqs, 2, self_prior=6.0, smoothing=0.0)
        np.testing.assert_allclose(m.transitions, [[6 / 8, 2 / 8], [2 / 8, 6 / 8]])
        np.testing.assert_array_equal(fit_transitions(seqs, 2, self_prior=math.inf).transitions, np.eye(2))

    @pytest.mark.parametrize(
        "seqs,kwargs",
        [
            ([np.array([0, 3])], {}),
            ([np.array([0, -2])], {}),
            ([np.array([[0, 1]])], {}),
            ([np.array([0.0, 1.0])], {}),
            ([np.array([0, 1])], {"self_prior": -1.0}),
            ([np.array([0, 1])], {"smoothing": math.nan}),
        ],
    )
    def test_fit_transitions_fails_with_bad_input(self, seqs, kwargs):
        """Labels out of range, 2-D or float sequences and negative/NaN pseudo-counts are InputErrors."""
        with pytest.raises(InputError):
            fit_transitions(seqs, 3, **kwargs)


class TestTransitionModel:
    def test_to_dict_from_dict_round_trip(self, trained_model):
        """from_dict(to_dict(m)) == m, also through JSON."""
        m = dataclasses.replace(trained_model, emission_floor=0.1, temperature=2.0)
        assert TransitionModel.from_dict(json.loads(json.dumps(m.to_dict()))) == m
        assert TransitionModel.from_dict(m.to_dict()) != trained_model

    @pytest.mark.parametrize(
        "trans,prior,kwargs",
        [
            ([[0.5, 0.5], [0.2, 0.7]], [0.5, 0.5], {}),  # row does not sum to 1
            ([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.6], {}),  # prior does not sum to 1
            ([[1.0]], [0.5, 0.5], {}),  # shape mismatch
            ([[1.2, -0.2], [0.0, 1.0]], [0.5, 0.5], {}),  # negative
            ([[np.nan, 1.0], [0.0, 1.0]], [0.5, 0.5], {}),  # NaN
            ([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5], {"emission_floor": 1.0}),
            ([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5], {"temperature": 0.0}),
        ],
    )
    def test_construction_fails_with_invalid_parameters(self, trans, prior, kwargs):
        """Invalid matrices, priors or emission settings raise InputError."""
        with pytest.raises(InputError):
            TransitionModel(np.array(trans), np.array(prior), **kwargs)


class TestScaledLikelihoods:
    def test_flat_prior_keeps_the_posterior_order_and_floor_bounds_the_ratio(self):
        """With a uniform prior the likelihood ratio of a one-hot window is (1 - f + f/C) / (f/C)."""
        m = fit_transitions([], C, emission_floor=0.1)
        e = scaled_likelihoods(np.eye(C)[1], m)
        assert np.argmax(e) == 1
        assert e.max() / e.min() == pytest.approx((0.9 + 0.1 / C) / (0.1 / C))

    def test_zero_prior_class_gives_finite_likelihoods(self):
        """A class with prior 0 is divided by MIN_PRIOR, not by 0."""
        m = TransitionModel(np.eye(3), np.array([0.5, 0.5, 0.0]))
        e = scaled_likelihoods(np.array([[0.2, 0.3, 0.5]]), m)
        assert np.all(np.isfinite(e)) and np.all(e > 0)
        post = forward_filter(np.tile([0.2, 0.3, 0.5], (5, 1)), m)
        np.testing.assert_allclose(post[:, 2], 0.0)  # unreachable: prior 0, no transition into it
        np.testing.assert_allclose(post.sum(axis=1), 1.0)

    def test_temperature_flattens(self):
        """Temperature 2 takes the square root of the scaled likelihoods."""
        m = fit_transitions([], 2, emission_floor=0.0)
        e1 = scaled_likelihoods(np.array([0.8, 0.2]), m)
        e2 = scaled_likelihoods(np.array([0.8, 0.2]), dataclasses.replace(m, temperature=2.0))
        np.testing.assert_allclose(e2, np.sqrt(e1))


class TestForward:
    def test_forward_filter_equals_repeated_forward_step(self, trained_model):
        """The batch filter equals one forward_step per window from forward_init, resets included."""
        rng = np.random.default_rng(2)
        p, _ = noisy_classifier(rng, label_runs(rng, 300))
        reset = np.zeros(300, bool)
        reset[[0, 120, 121]] = True
        whole = forward_filter(p, trained_model, reset=reset)
        state, steps = forward_init(trained_model), []
        for t in range(len(p)):
            post, state = forward_step(p[t], state, trained_model, reset=bool(reset[t]))
            steps.append(post)
        np.testing.assert_allclose(np.array(steps), whole, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(whole.sum(axis=1), 1.0)

    def test_reset_restarts_from_the_prior(self, trained_model):
        """After a reset a window's posterior equals that of the very first window given the same input."""
        p = np.array([[0.1, 0.6, 0.2, 0.1]] * 30 + [[0.7, 0.1, 0.1, 0.1]])
        post_first = forward_filter(p[-1:], trained_model)[0]
        state = forward_init(trained_model)
        for row in p[:-1]:
            _, state = forward_step(row, state, trained_model)
        post_reset, _ = forward_step(p[-1], state, trained_model, reset=True)
        post_cont, _ = forward_step(p[-1], state, trained_model)
        np.testing.assert_allclose(post_reset, post_first)
        assert np.argmax(post_cont) == 1 and np.argmax(post_reset) == 0

    def test_first_window_with_training_prior_returns_floored_posterior(self):
        """From the prior, prior × (posterior / prior) is the floored classifier posterior itself."""
        m = TransitionModel(np.full((3, 3), 1 / 3), np.array([0.2, 0.3, 0.5]), emission_floor=0.0)
        post, _ = forward_step(np.array([0.1, 0.3, 0.6]), forward_init(m), m)
        np.testing.assert_allclose(post, [0.1, 0.3, 0.6])

    def test_n_hops_applies_the_transitions_repeatedly(self):
        """Skipping windows (n_hops=3) equals three steps with an uninformative window in between."""
        m = TransitionModel(np.array([[0.9, 0.1], [0.3, 0.7]]), np.array([0.5, 0.5]))
        _, s = forward_step(np.array([0.9, 0.1]), forward_init(m), m)
        skip, _ = forward_step(np.array([0.4, 0.6]), s, m, n_hops=3)
        s2 = s
        for _ in range(2):
            _, s2 = forward_step(np.array([0.5, 0.5]), s2, m)
        step, _ = forward_step(np.array([0.4, 0.6]), s2, m)
        np.testing.assert_allclose(skip, step)

    def test_long_sequence_does_not_underflow(self, trained_model):
        """100,000 windows give finite posteriors summing to 1."""
        rng = np.random.default_rng(3)
        p = rng.dirichlet(np.ones(C) * 0.2, size=100_000)
        post = forward_filter(p, trained_model)
        assert np.all(np.isfinite(post))
        np.testing.assert_allclose(post.sum(axis=1), 1.0)

    def test_state_round_trips(self, trained_model):
        """ForwardState.from_dict(to_dict(s)) == s, and continuing from it gives the same posterior."""
        _, s = forward_step(np.array([0.1, 0.2, 0.3, 0.4]), forward_init(trained_model), trained_model)
        s2 = ForwardState.from_dict(json.loads(json.dumps(s.to_dict())))
        assert s2 == s
        row = np.array([0.4, 0.3, 0.2, 0.1])
        np.testing.assert_array_equal(forward_step(row, s, trained_model)[0], forward_step(row, s2, trained_model)[0])

    def test_empty_sequence_gives_empty_output(self, trained_model):
        """Zero windows → (0, C) posteriors and a (0,) path."""
        assert forward_filter(np.zeros((0, C)), trained_model).shape == (0, C)
        assert viterbi(np.zeros((0, C)), trained_model).shape == (0,)


@pytest.fixture(scope="module")
def noisy():
    rng = np.random.default_rng(4)
    labels = label_runs(rng, 3000)
    p, shown = noisy_classifier(rng, labels)
    return labels, p, shown


class TestSmoothingQuality:
    def test_smoothing_raises_accuracy_and_cuts_switches(self, trained_model, noisy):
        """With 20 % wrong windows, forward filtering and Viterbi beat the raw argmax clearly."""
        labels, p, shown = noisy
        raw_acc = np.mean(shown == labels)
        assert 0.75 < raw_acc < 0.85
        fwd = np.argmax(forward_filter(p, trained_model), axis=1)
        vit = viterbi(p, trained_model)
        assert np.mean(fwd == labels) > raw_acc + 0.06
        assert np.mean(vit == labels) > raw_acc + 0.12
        assert n_switches(fwd) < n_switches(shown) / 4
        assert n_switches(vit) < 2 * n_switches(labels)

    def test_huge_self_prior_never_switches(self, noisy):
        """self_prior=inf or 1e100 (identity transitions in effect): the Viterbi path is one class."""
        labels, p, _ = noisy
        m = fit_transitions([labels], C, self_prior=math.inf)
        assert n_switches(viterbi(p, m)) == 0
        m = fit_transitions([labels], C, self_prior=1e100)  # a switch costs 230 nats
        assert n_switches(viterbi(p, m)) == 0
        m = fit_transitions([labels], C, self_prior=1e3)  # sticky, yet still switching
        assert 0 < n_switches(viterbi(p, m)) <= n_switches(labels)

    def test_zero_self_prior_follows_sharp_emissions(self, noisy):
        """self_prior=0, no floor, near one-hot posteriors: forward and Viterbi follow the classifier's argmax."""
        labels, _, shown = noisy
        m = fit_transitions([labels], C, self_prior=0.0, emission_floor=0.0)
        sharp = np.full((len(shown), C), 1e-6)
        sharp[np.arange(len(shown)), shown] = 1.0
        np.testing.assert_array_equal(np.argmax(forward_filter(sharp, m), axis=1), shown)
        np.testing.assert_array_equal(viterbi(sharp, m), shown)

    def test_floor_stops_one_overconfident_window_forcing_a_switch(self, trained_model):
        """One one-hot wrong window in a long run: flips the filter without a floor, not with one."""
        p = np.tile([0.85, 0.05, 0.05, 0.05], (40, 1))
        p[30] = [0.0, 1.0, 0.0, 0.0]
        floored = np.argmax(forward_filter(p, dataclasses.replace(trained_model, emission_floor=0.05)), axis=1)
        bare = np.argmax(forward_filter(p, dataclasses.replace(trained_model, emission_floor=0.0)), axis=1)
        assert np.all(floored == 0)
        assert bare[30] == 1


class TestViterbi:
    def test_clean_path_is_returned(self, trained_model):
        """Confident, correct posteriors decode to the true path exactly."""
        rng = np.random.default_rng(5)
        labels = label_runs(rng, 500)
        p, _ = noisy_classifier(rng, labels, error_rate=0.0, confidence=0.95)
        np.testing.assert_array_equal(viterbi(p, trained_model), labels)

    def test_reset_decodes_recordings_independently(self, trained_model):
        """Decoding two concatenated recordings with reset equals decoding each alone."""
        rng = np.random.default_rng(6)
        p1, _ = noisy_classifier(rng, label_runs(rng, 80))
        p2, _ = noisy_classifier(rng, label_runs(rng, 50))
        reset = np.zeros(130, bool)
        reset[80] = True
        joint = viterbi(np.vstack([p1, p2]), trained_model, reset=reset)
        np.testing.assert_array_equal(joint, np.concatenate([viterbi(p1, trained_model), viterbi(p2, trained_model)]))


class TestBadInput:
    @pytest.mark.parametrize(
        "probs",
        [
            np.full((5, 3), 0.25),  # wrong number of classes
            np.full(5 * C, 0.25),  # 1-D
            np.array([[0.5, np.nan, 0.25, 0.25]]),
            np.array([[0.5, -0.1, 0.3, 0.3]]),
            np.zeros((2, C)),  # no mass
            np.array([[0.5, np.inf, 0.25, 0.25]]),
        ],
    )
    def test_forward_filter_and_viterbi_fail_with_bad_probs(self, trained_model, probs):
        """Wrong shapes, NaN, inf, negative or all-zero rows raise InputError."""
        with pytest.raises(InputError):
            forward_filter(probs, trained_model)
        with pytest.raises(InputError):
            viterbi(probs, trained_model)

    def test_forward_step_fails_with_bad_input(self, trained_model):
        """A 2-D window, NaN, a bad n_hops or a state for another model raise InputError."""
        s = forward_init(trained_model)
        for bad in (np.full((1, C), 0.25), np.array([np.nan, 0.5, 0.25, 0.25]), np.array([0.5, 0.5])):
            with pytest.raises(InputError):
                forward_step(bad, s, trained_model)
        with pytest.raises(InputError):
            forward_step(np.full(C, 0.25), s, trained_model, n_hops=0)
        other = fit_transitions([], 2)
        with pytest.raises(InputError):
            forward_step(np.full(2, 0.5), s, other)

    def test_bad_reset_mask_fails(self, trained_model):
        """A reset mask of the wrong length or dtype raises InputError."""
        p = np.full((4, C), 0.25)
        with pytest.raises(InputError):
            forward_filter(p, trained_model, reset=np.zeros(3, bool))
        with pytest.raises(InputError):
            viterbi(p, trained_model, reset=np.zeros(4, int))
