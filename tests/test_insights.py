"""Moments, segments and driving insights read back from the local store (``MomentSDK.moments()``...)."""

import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.runtime import MomentSDK, SDKConfig
from momentsense.sdk.timeline.records import DrivingScore, Place, TransportEvent, Visit

DAY = 86400.0
MONDAY = 1_699_833_600.0  # 2023-11-13 00:00 UTC


def early_riser_weeks(sdk, days=14, leave_h=6.0):
    """Home → car → work → car → home every weekday, leaving at ``leave_h``; home all weekend."""
    home, work = Place("p0", 48.85, 2.35, 20, days, 1e5, "home", 1.0), Place("p1", 48.87, 2.39, 20, 10, 1e5, "work", 0.9)
    recs = [home, work]
    start = MONDAY - 6 * 3600.0
    for d in range(days):
        day = MONDAY + d * DAY
        if d % 7 >= 5:
            continue
        leave, back = day + leave_h * 3600.0, day + 16.5 * 3600.0
        recs += [Visit(start, leave, "p0", home.lat, home.lon), TransportEvent(leave, leave + 1800, "car", 0.9),
                 Visit(leave + 1800, back, "p1", work.lat, work.lon), TransportEvent(back, back + 1800, "car", 0.9)]
        recs.append(DrivingScore(leave, leave + 1800, 85.0, 8.3, 12_000.0, {"harsh_braking": 1}))
        start = back + 1800
    recs.append(Visit(start, MONDAY + days * DAY, "p0", home.lat, home.lon))
    sdk.store.write(recs)
    return MONDAY + days * DAY - 3600.0


def test_segments_say_early_riser_with_the_evidence():
    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk)
        segs = sdk.segments(now)
        early = [s for s in segs if s.data["segment"] == "early_riser" and s.data["source"] == "rule"]
        assert len(early) == 1 and "06:" in early[0].text and early[0].data["evidence"]
        events = sdk.timeline_events()
        assert [e.label for e in events[:3]] == ["home", "car", "work"]


def test_late_risers_are_not_early_risers():
    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk, leave_h=9.0)
        assert not [s for s in sdk.segments(now) if s.data["segment"] == "early_riser" and s.data["source"] == "rule"]


def test_segments_need_a_week():
    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk, days=3)
        with pytest.raises(InputError):
            sdk.segments(now)


def test_moments_predict_and_plan_a_notification():
    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk)
        kinds = {i.kind: i for i in sdk.moments(now)}
        assert {"next", "notify"} <= set(kinds) and kinds["next"].data["labels"]
        assert kinds["notify"].data["at"] is None or now <= kinds["notify"].data["at"] <= now + 3 * 3600


def test_driving_lists_each_scored_drive():
    with MomentSDK(SDKConfig()) as sdk:
        early_riser_weeks(sdk)
        drives = sdk.driving()
        assert len(drives) == 10 and "score 85" in drives[0].text and "1 harsh braking" in drives[0].text


def _aggressive(segs):
    return [s for s in segs if s.data["segment"] == "aggressive_driver" and s.data["source"] == "rule"]


def test_harsh_drives_between_places_make_an_aggressive_driver():
    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk)
        harsh = [DrivingScore(MONDAY + d * DAY + 6 * 3600.0, MONDAY + d * DAY + 6.5 * 3600.0, 20.0, 80.0, 12_000.0,
                              {"harsh_braking": 6}) for d in range(5)]  # fmt: skip
        sdk.store.write(harsh)  # newer versions of the commute scores: median 20 < 60
        assert len(_aggressive(sdk.segments(now))) == 1


def test_harsh_drives_inside_a_stay_do_not_make_an_aggressive_driver():
    """A phone lying at work misread as a car scores badly; GPS says the person stayed: ignored."""
    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk)
        phantom = [DrivingScore(MONDAY + d * DAY + h * 3600.0, MONDAY + d * DAY + (h + 0.2) * 3600.0, 5.0, 150.0, 400.0,
                                {"harsh_braking": 3}) for d in range(14) if d % 7 < 5 for h in (10, 11)]  # fmt: skip
        sdk.store.write(phantom)  # 20 phantom drives at work against 10 real ones: they would set the median
        assert not _aggressive(sdk.segments(now))
        assert len(sdk.driving()) == 30  # still listed as drives; only the segment rule leaves them out


def test_short_public_transport_blips_do_not_enter_the_timeline():
    """A 20 s 'bus' inside a bike ride is a misread (no bus ride is that short); a 10 min one is a ride."""
    from momentsense.sdk.insights import MIN_PUBLIC_LEG_S, timeline_events

    t = MONDAY + 8 * 3600.0
    events = [TransportEvent(t, t + 600, "bike", 0.9), TransportEvent(t + 600, t + 620, "bus", 0.6),
              TransportEvent(t + 620, t + 1200, "bike", 0.9), TransportEvent(t + 1200, t + 1800, "bus", 0.9),
              TransportEvent(t + 1800, t + 1830, "walk", 0.9)]  # fmt: skip
    out, dropped = timeline_events([], [], events)
    assert [(e.label, round(e.end - e.start)) for e in out] == [("bike", 600), ("bike", 580), ("bus", 600), ("walk", 30)]
    assert dropped == 1 and MIN_PUBLIC_LEG_S > 20


def test_a_dash_is_not_a_sport_session():
    """A 30 s 'run' inside a bike ride is dropped from the timeline the rules read; a 20 min run stays."""
    from momentsense.sdk.insights import MIN_RUN_S, timeline_events

    t = MONDAY + 8 * 3600.0
    events = [TransportEvent(t, t + 600, "bike", 0.9), TransportEvent(t + 600, t + 630, "run", 0.6),
              TransportEvent(t + 630, t + 1200, "bike", 0.9), TransportEvent(t + 3600, t + 4800, "run", 0.9)]  # fmt: skip
    out, dropped = timeline_events([], [], events)
    assert [(e.label, round(e.end - e.start)) for e in out] == [("bike", 600), ("bike", 570), ("run", 1200)]
    assert dropped == 1 and 30 < MIN_RUN_S < 1200
