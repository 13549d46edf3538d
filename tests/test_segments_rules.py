"""Business-rule segments and hand-crafted features on hand-built timelines (numpy only, fast)."""

from __future__ import annotations

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.segments import (
    FEATURE_NAMES,
    RULE_SEGMENTS,
    RuleOptions,
    UserEvents,
    evaluate_rules,
    timeline_features,
)
from momentsense.sdk.segments.encoding import N_FEATURES, WindowConfig, encode_window, window_ends
from momentsense.sdk.segments.features import summarise_days
from momentsense.sdk.io.timeline_file import Event

MONDAY = 1767571200.0  # 2026-01-05 00:00 UTC
H = 3600.0
D = 86400.0


def make_user(days=14, dep_h=8.0, work_h=8.0, mode="car", commute_h=0.5, gym_days=(), shop_days=(), late_days=(),
              home_days=(), saturday_work_h=0.0):  # fmt: skip
    """Contiguous events of one user: weekday commutes, optional gym/shop/late nights, homes in between."""
    rows, t = [], MONDAY

    def go(label, until, place=""):
        nonlocal t
        rows.append(Event(t, until, "visit" if place else "transport", label, place))
        t = until

    def trip(legs_mode):
        legs = [("walk", 0.1), (legs_mode, commute_h - 0.2), ("walk", 0.1)] if legs_mode in ("bus", "train", "subway") else [(legs_mode, commute_h)]
        for lab, dur in legs:
            go(lab, t + dur * H)

    def stay(label, place, until):
        go(label, until, place)

    for d in range(days):
        t0 = MONDAY + d * D
        wd = d % 7
        if wd < 5 and d not in home_days:
            stay("home", "home", t0 + dep_h * H)
            trip(mode)
            stay("work", "work", t + work_h * H)
            trip(mode)
        elif wd == 5 and saturday_work_h:
            stay("home", "home", t0 + 10 * H)
            trip(mode)
            stay("work", "work", t + saturday_work_h * H)
            trip(mode)
        if d in home_days:
            stay("home", "home", t0 + 12 * H)
            go("walk", t + 0.2 * H)
            stay("shop", "shop_1", t + 0.3 * H)
            go("walk", t + 0.2 * H)
        if wd in gym_days:
            stay("home", "home", max(t, t0 + 19 * H))
            go("car", t + 0.3 * H)
            stay("gym", "gym", t + 1.0 * H)
            go("car", t + 0.3 * H)
        if wd in shop_days:
            stay("home", "home", max(t, t0 + 17.5 * H) if t < t0 + 17.5 * H else t + 0.2 * H)
            go("walk", t + 0.1 * H)
            stay("shop", "shop_2", t + 0.5 * H)
            go("walk", t + 0.1 * H)
        if wd in late_days:
            stay("home", "home", max(t, t0 + 21 * H))
            go("car", t + 0.3 * H)
            stay("bar", "bar_1", t0 + 24.5 * H)
            go("car", t + 0.3 * H)
        stay("home", "home", max(t + 60.0, t0 + D))
    return UserEvents.from_events(rows)


class TestEvaluateRules:
    def test_workaholic_and_early_riser_fire_with_evidence(self):
        """11 h at work from 07:00 (left 06:30) on 10 weekdays: 55 h/week, 10 of 10 early departures."""
        r = evaluate_rules(make_user(dep_h=6.5, work_h=11.0))
        w, e = r.get("workaholic"), r.get("early_riser")
        assert w.active and w.evidence["site_h_per_week"] == pytest.approx(55.0, abs=0.01)
        assert e.active and e.evidence["weekdays_early"] == 10 and e.evidence["weekdays_out"] == 10
        assert e.evidence["weekday_median_departure_h"] == pytest.approx(6.5)
        assert "on 10 of the last 10 weekdays" in e.sentence and "06:45" in e.sentence
        assert "55.0 h per week" in w.sentence

    def test_nine_to_five_fires_neither(self):
        """8 h days leaving at 08:00 are not workaholic nor early; no late nights, no gym."""
        r = evaluate_rules(make_user())
        assert r.active == ()
        for name in ("workaholic", "early_riser", "night_owl", "sporty", "shopaholic", "public_transport"):
            assert not r.get(name).active, name

    def test_night_owl_counts_returns_after_midnight(self):
        """Bars on Friday and Saturday until 00:30: 4 late returns in 2 weeks."""
        r = evaluate_rules(make_user(late_days=(4, 5)))
        o = r.get("night_owl")
        assert o.active and o.evidence["late_returns"] == 4 and o.evidence["late_returns_per_week"] == pytest.approx(2.0)

    def test_sporty_and_shopaholic(self):
        """Gym on 3 days and shops on 4 days a week."""
        r = evaluate_rules(make_user(gym_days=(0, 2, 6), shop_days=(1, 3, 5, 6)))
        assert r.get("sporty").active and r.get("sporty").evidence["sport"] == 6
        assert r.get("shopaholic").active and r.get("shopaholic").evidence["shop_visits_per_week"] == pytest.approx(4.0)

    def test_public_transport_commuter(self):
        """Bus commutes (walk, bus, walk): every commute trip is public."""
        p = evaluate_rules(make_user(mode="bus")).get("public_transport")
        assert p.active and p.evidence["commute_trips"] == 10 and p.evidence["public_commute_frac"] == 1.0
        assert not evaluate_rules(make_user(mode="car")).get("public_transport").active

    def test_home_worker(self):
        """At home on every weekday (a short shop walk at noon)."""
        h = evaluate_rules(make_user(home_days=tuple(d for d in range(14) if d % 7 < 5))).get("home_worker")
        assert h.active and h.evidence["weekdays_home"] == 10 and h.evidence["weekdays"] == 10

    def test_aggressive_driver_unavailable_without_scores(self):
        """A timeline has no driving scores: the rule is unavailable and never fires."""
        a = evaluate_rules(make_user()).get("aggressive_driver")
        assert not a.available and not a.active

    def test_aggressive_driver_with_scores(self):
        """Median score 40 < 60 over 6 trips fires; 90s do not."""
        ev = make_user()
        assert evaluate_rules(ev, driving_scores=[40, 35, 50, 45, 30, 70]).get("aggressive_driver").active
        assert not evaluate_rules(ev, driving_scores=[90] * 6).get("aggressive_driver").active

    def test_evaluate_rules_fails_with_bad_scores(self):
        with pytest.raises(InputError):
            evaluate_rules(make_user(), driving_scores=[120.0] * 6)

    def test_evaluate_rules_fails_with_empty_timeline(self):
        with pytest.raises(InputError, match="empty"):
            evaluate_rules(UserEvents.create([], [], []))

    def test_evaluate_rules_fails_with_short_history(self):
        """3 days of history: too short for weekly rates."""
        with pytest.raises(InputError, match="at least 7 days"):
            evaluate_rules(make_user(days=3))

    def test_threshold_extremes(self):
        """A 0 h threshold makes every worker a workaholic; an unreachable one makes none."""
        ev = make_user()
        assert evaluate_rules(ev, RuleOptions(workaholic_site_h_per_week=0.0)).get("workaholic").active
        assert not evaluate_rules(make_user(work_h=11.0), RuleOptions(workaholic_site_h_per_week=1e9)).get("workaholic").active

    def test_report_has_every_rule_in_order(self):
        assert tuple(s.segment for s in evaluate_rules(make_user()).segments) == RULE_SEGMENTS

    def test_options_round_trip(self):
        o = RuleOptions(sporty_per_week=2.5)
        assert RuleOptions.from_dict(o.to_dict()) == o


class TestUserEvents:
    def test_create_fails_with_unknown_label(self):
        with pytest.raises(InputError, match="unknown event label 'teleport'"):
            UserEvents.create([0.0], [1.0], ["teleport"])

    def test_create_fails_with_unsorted_events(self):
        with pytest.raises(InputError, match="sorted"):
            UserEvents.create([10.0, 0.0], [11.0, 1.0], ["home", "home"])


class TestTimelineFeatures:
    def test_features_shape_and_values(self):
        """Names and vector agree; the 55 h worker and a bus commuter read as such."""
        x = timeline_features(make_user(dep_h=6.5, work_h=11.0, mode="bus"))
        f = dict(zip(FEATURE_NAMES, x))
        assert x.shape == (len(FEATURE_NAMES),) and np.all(np.isfinite(x))
        assert f["site_h_per_week"] == pytest.approx(55.0, abs=0.01)
        assert f["public_commute_frac"] == 1.0 and f["weekday_site_frac"] == 1.0

    def test_summary_days_cover_history(self):
        d = summarise_days(make_user(days=14))
        assert d.n_days == 14 and d.main_site_label == "work"


class TestEncoding:
    def test_window_is_padded_and_truncated(self):
        """Fewer events than rows: zero rows first; more: only the most recent are kept."""
        ev = make_user(days=14)
        cfg = WindowConfig(max_events=512)
        x = encode_window(ev, float(ev.end[-1]), cfg)
        n = int((x[:, :18].sum(axis=1) > 0).sum())
        assert x.shape == (512, N_FEATURES) and np.all(x[: 512 - n] == 0) and n > 50
        small = encode_window(ev, float(ev.end[-1]), WindowConfig(max_events=16))
        np.testing.assert_array_equal(small, x[-16:])

    def test_window_ends_of_six_weeks(self):
        """42 days: windows end at the end and 1..3 weeks earlier, as long as 2 weeks fit."""
        ends = window_ends(make_user(days=42), WindowConfig())
        assert len(ends) == 5 and np.allclose(np.diff(ends), -7 * D)

    def test_window_ends_fails_with_empty_timeline(self):
        with pytest.raises(InputError, match="empty"):
            window_ends(UserEvents.create([], [], []), WindowConfig())

    def test_window_config_round_trip(self):
        c = WindowConfig(max_events=128)
        assert WindowConfig.from_dict(c.to_dict()) == c

    def test_window_config_fails_with_other_tokens(self):
        d = WindowConfig().to_dict()
        d["tokens"] = ["home", "car"]
        with pytest.raises(InputError, match="other features or tokens"):
            WindowConfig.from_dict(d)

    def test_window_ends_fails_with_short_history(self):
        with pytest.raises(InputError, match="at least 7 days"):
            window_ends(make_user(days=3), WindowConfig())


class TestRulesOnPlantedPersonas:
    def test_precision_recall_on_simulated_population(self):
        """Rules vs planted personas on 200 simulated users (seed 11, never used to set thresholds)."""
        from momentsense.sdk.segments.events import users_of
        from momentsense.trainer.population import PopulationOptions, simulate_population
        from momentsense.trainer.segments.workflow import evaluate_rule_segments, segment_truth

        tl = simulate_population(PopulationOptions(n_users=200, weeks=4, seed=11))
        m = evaluate_rule_segments(users_of(tl), segment_truth(tl, list(range(200))))
        assert m["aggressive_driver"]["available"] is False
        for name in ("sporty", "shopaholic", "public_transport", "home_worker"):
            assert m[name]["precision"] > 0.8 and m[name]["recall"] > 0.8, (name, m[name])
        for name in ("workaholic", "early_riser", "night_owl"):
            assert m[name]["f1"] > 0.5, (name, m[name])
