"""The weekly segment job inside ``MomentSDK``: once a week from the local timeline, labels-only upload."""

import logging

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.runtime import MomentSDK, SDKConfig
from momentsense.sdk.segments import segment_scores
from momentsense.sdk.sources import SensorChunk
from tests.test_insights import DAY, early_riser_weeks


def _still_chunk(t0: float, seconds: float = 10.0) -> SensorChunk:
    t = t0 + np.arange(int(seconds * 25)) / 25.0
    acc = np.tile([0.0, 0.0, 9.81], (len(t), 1)) + np.random.default_rng(0).normal(0, 0.02, (len(t), 3))
    return SensorChunk(t, acc, None, np.zeros((len(t), 3)), [])


def test_runs_once_a_week_and_keeps_its_result():
    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk)
        assert sdk.weekly_segments() is None and sdk.segment_upload() is None
        res = sdk.update_weekly_segments(now)
        assert res is not None and "early_riser" in res.labels
        assert sdk.weekly_segments() is res
        assert sdk.update_weekly_segments(now + 3 * DAY) is None  # not due: the result stays
        assert sdk.weekly_segments() is res and sdk.segment_job.last_run == now
        again = sdk.update_weekly_segments(now + 7 * DAY)
        assert again is not None and again is not res and sdk.segment_job.last_run == now + 7 * DAY


def test_too_little_history_is_skipped_with_a_reason():
    with MomentSDK(SDKConfig()) as sdk:
        assert sdk.update_weekly_segments(1_700_000_000.0) is None
        assert "7 days" in sdk.segment_job.last_skip_reason
        now = early_riser_weeks(sdk, days=3)
        assert sdk.update_weekly_segments(now) is None and sdk.segment_job.last_skip_reason
        assert sdk.weekly_segments() is None and sdk.segment_upload() is None


def test_upload_carries_labels_and_the_embedding_only_when_allowed():
    for allow in (False, True):
        with MomentSDK(SDKConfig(upload_embedding=allow)) as sdk:
            res = sdk.update_weekly_segments(early_riser_weeks(sdk))
            up = sdk.segment_upload()
            assert up["segments"] == list(res.labels) and "early_riser" in up["segments"]
            assert set(up) == ({"segments", "encoder_version", "embedding"} if allow else {"segments", "encoder_version"})
            if allow:  # the shipped encoder loaded: 50 numbers, no events, places or times
                assert sdk.segment_job_note == "" and len(up["embedding"]) == 50


def test_segment_scores_for_the_day_payloads():
    with MomentSDK(SDKConfig()) as sdk:
        res = sdk.update_weekly_segments(early_riser_weeks(sdk))
        scores = segment_scores(res)
        assert scores["early_riser"] == 1.0 and set(scores) == set(res.labels)
        assert all(0.5 <= v <= 1.0 for v in scores.values())  # heads fire at p >= 0.5
    assert segment_scores(None) == {}


def test_the_pipeline_runs_the_job_once_per_day_of_data():
    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk)
        sdk.feed(_still_chunk(now))
        first = sdk.weekly_segments()
        assert first is not None and sdk.segment_job.last_run == pytest.approx(now + 10.0, abs=0.1)
        sdk.feed(_still_chunk(now + 10.0))
        assert sdk.weekly_segments() is first  # checked again only a day of data later


def test_the_pipeline_can_leave_it_off():
    with MomentSDK(SDKConfig(weekly_segments=False)) as sdk:
        sdk.feed(_still_chunk(early_riser_weeks(sdk)))
        assert sdk.segment_job is None and sdk.weekly_segments() is None


def test_a_failing_job_does_not_stop_sensing(monkeypatch, caplog):
    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk)

        def broken(now=None):
            raise RuntimeError("boom")

        monkeypatch.setattr(sdk, "update_weekly_segments", broken)
        with caplog.at_level(logging.ERROR, logger="momentsense.sdk.runtime"):
            sdk.feed(_still_chunk(now))
        assert "weekly segment job failed" in caplog.text
        sdk.feed(_still_chunk(now + 10.0))  # still sensing


def test_without_the_shipped_encoder_rules_still_run(monkeypatch):
    from momentsense.sdk.errors import ModelError
    from momentsense.sdk.segments.weekly import WeeklySegments

    def missing(cls, **kw):
        raise ModelError("timeline_encoder.tflite: no such file")

    monkeypatch.setattr(WeeklySegments, "create_shipped", classmethod(missing))
    with MomentSDK(SDKConfig(upload_embedding=True)) as sdk:
        res = sdk.update_weekly_segments(early_riser_weeks(sdk))
        assert "early_riser" in res.labels and res.embedding is None
        assert "rule segments only" in sdk.segment_job_note and "embedding" not in sdk.segment_upload()


@pytest.mark.parametrize("field", ["weekly_segments", "upload_embedding"])
def test_bad_flags_are_refused(field):
    with pytest.raises(InputError, match=f"{field} must be True or False"):
        SDKConfig(**{field: "yes"})


def test_segments_reuse_the_weekly_jobs_encoder(monkeypatch):
    """Once the weekly job has loaded the encoder and heads, ``segments()`` does not load them again
    (and gives the same embedding answers as a fresh load)."""
    from momentsense.sdk.segments import SegmentHeads, TimelineEncoder

    with MomentSDK(SDKConfig()) as sdk:
        now = early_riser_weeks(sdk)
        fresh = sdk.segments(now)  # no job yet: loads the shipped files
        sdk.update_weekly_segments(now)
        assert sdk.segment_job.encoder is not None

        def refuse(*a, **k):
            raise AssertionError("loaded again")

        monkeypatch.setattr(TimelineEncoder, "create_from_path", refuse)
        monkeypatch.setattr(SegmentHeads, "create_from_path", refuse)
        again = sdk.segments(now)
        assert [i.text for i in again] == [i.text for i in fresh]
