"""``momentsense demo`` end to end on one simulated day: report, JSON summary, scores, sync, bad arguments."""

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("matplotlib")

from momentsense.trainer.cli import main
from momentsense.trainer.demo.personas import LEAD_IN_S

SCORE_KEYS = ("transport_accuracy", "transport_accuracy_moving", "moment_precision", "segment_precision",
              "segment_recall", "embedding_segment_precision")  # fmt: skip


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """One simulated commuter Monday (seed 0) through the whole demo, as JSON, and its report folder."""
    out = tmp_path_factory.mktemp("demo") / "report"
    capsys_out = tmp_path_factory.mktemp("demo_stdout") / "stdout.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["demo", "--days", "1", "--seed", "0", "--out", str(out), "--json", "--no-progress"])
    capsys_out.write_text(buf.getvalue())
    assert rc == 0
    return json.loads(buf.getvalue()), out


def test_report_is_written_with_its_images(day):
    summary, out = day
    assert Path(summary["report"]) == (out / "index.html").resolve()
    page = (out / "index.html").read_text()
    for img in ("day_timeline.png", "transport_confusion.png", "driving.png"):
        assert (out / img).stat().st_size > 5000 and (out / img).read_bytes()[:4] == b"\x89PNG"
        assert f"src='{img}'" in page
    assert "What was synced" in page and "Timeline per day" in page


def test_json_has_the_keys_and_scores_in_range(day):
    summary, _ = day
    for key in ("persona", "days", "seed", "simulated_hours", "wall_s", "imu_samples", "gps_fixes", "raw_sensor_bytes",
                "timeline", "places", "segments", "moments", "sync", "scores", "scores_flat", "report"):  # fmt: skip
        assert key in summary, key
    assert summary["persona"] == "commuter" and summary["days"] == 1 and summary["simulated_hours"] == pytest.approx(24 + LEAD_IN_S / 3600, abs=0.01)
    # a day (and the evening before) of 25 Hz IMU (jittered sampling) and ~1 Hz GPS with indoor dropouts
    hours = summary["simulated_hours"]
    assert 0.95 * hours * 3600 * 25 < summary["imu_samples"] < 1.05 * hours * 3600 * 25
    assert 5_000 < summary["gps_fixes"] <= hours * 3600
    flat = summary["scores_flat"]
    for k in SCORE_KEYS:
        assert k in flat and (flat[k] is None or 0.0 <= flat[k] <= 1.0), (k, flat[k])
    assert flat["transport_accuracy"] is not None and flat["moment_precision"] is not None
    conf = summary["scores"]["transport"]["confusion_s"]
    assert sum(map(sum, conf)) == summary["scores"]["transport"]["seconds_scored"] > 0.9 * 86400


def test_home_and_work_are_found_on_the_simulated_day(day):
    summary, _ = day
    assert summary["scores_flat"]["home_found"] is True and summary["scores"]["places"]["home_error_m"] <= 100
    assert summary["scores_flat"]["work_found"] is True
    assert {"home", "work"} <= {p["label"] for p in summary["places"]}


def test_the_day_is_synced_and_far_smaller_than_the_raw_data(day):
    summary, _ = day
    sync = summary["sync"]
    assert sync["days_held_by_server"] == ["2023-11-13"] and sync["remaining"] == 0
    assert 0 < sync["payload_gzip_bytes"] < summary["raw_sensor_bytes"] / 1000
    p = sync["first_payload"]
    assert p["format"] == "momentsense-sync-day-v1" and p["visits"] and p["trips"]
    assert "lat" not in json.dumps(p)  # no coordinates in the upload


def test_segments_need_a_week(day):
    summary, _ = day
    assert "7 days" in summary["segments"]["unavailable"] and summary["scores_flat"]["segment_precision"] is None


def test_the_timeline_has_trips_with_modes(day):
    summary, _ = day
    (d,) = summary["timeline"]
    assert d["date"] == "2023-11-13" and d["weekday"] == "Monday"
    assert any(t["from"] == "home" and t["to"] == "work" for t in d["trips"])
    assert all(t["modes"] for t in d["trips"])


@pytest.mark.parametrize("argv, message", [
    (["--days", "0"], "--days must be"),
    (["--days", "-3"], "--days must be"),
    (["--persona", "astronaut"], "unknown persona 'astronaut'"),
    (["--hours", "0"], "--hours must be"),
])  # fmt: skip
def test_bad_arguments_exit_2_with_a_clear_message(argv, message, tmp_path, capsys):
    assert main(["demo", *argv, "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_unknown_persona_names_the_known_ones(tmp_path, capsys):
    assert main(["demo", "--persona", "x", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    for name in ("commuter", "early_riser", "night_owl", "sporty", "parent", "shopaholic"):
        assert name in err


def test_transport_score_counts_seconds_and_the_confusion():
    from momentsense.sdk.timeline.records import TransportEvent
    from momentsense.trainer.demo.score import score_transport

    legs = [(0.0, 600.0, "still"), (600.0, 1200.0, "car")]
    perfect = score_transport(legs, [TransportEvent(0, 600, "still", 1), TransportEvent(600, 1200, "car", 1)], 0.0, 1200.0)
    assert perfect["accuracy"] == 1.0 and perfect["seconds_scored"] == 1200
    half = score_transport(legs, [TransportEvent(0, 600, "still", 1), TransportEvent(600, 1200, "bus", 1)], 0.0, 1200.0)
    assert half["accuracy"] == 0.5 and half["accuracy_moving"] == 0.0
    modes = half["modes"]
    assert half["confusion_s"][modes.index("car")][modes.index("bus")] == 600


def test_planted_trips_get_the_moments_of_their_places():
    from momentsense.sdk.sync.payload import MomentSpan
    from momentsense.trainer.demo.personas import get_persona
    from momentsense.trainer.demo.score import score_moments, truth_trips

    h = 3600.0
    stops = [(0, 8 * h, "home"), (9 * h, 17 * h, "work"), (17.5 * h, 18 * h, "shop"), (18.5 * h, 24 * h, "home")]
    legs = [(8 * h, 9 * h, "bus"), (17 * h, 17.5 * h, "car"), (18 * h, 18.5 * h, "walk")]
    trips = truth_trips(stops, legs, get_persona("commuter"))
    assert [(t[2], t[3], t[5]) for t in trips] == [("home", "work", "commute"), ("work", "shop", "shopping"),
                                                   ("shop", "home", "shopping")]  # fmt: skip
    got = score_moments([MomentSpan(8 * h, 9 * h, "commute"), MomentSpan(17 * h, 17.5 * h, "errand")], trips)
    assert got["precision"] == 0.5 and got["detected"] == 2 and got["planted"] == 3


def test_ctrl_c_during_the_simulation_stops_cleanly(tmp_path, monkeypatch, capsys):
    """Ctrl-C while legs are being fed: exit 130, no report, the SDK's temporary folder is removed."""
    import tempfile

    from momentsense.trainer.demo import stream

    made = []
    real_tmp = tempfile.TemporaryDirectory

    def tracked(*a, **k):
        t = real_tmp(*a, **k)
        made.append(Path(t.name))
        return t

    calls = {"n": 0}
    real_chunks = stream.chunk_recording

    def interrupted(rec, chunk_s, gps_on=None):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return real_chunks(rec, chunk_s, gps_on)

    monkeypatch.setattr(tempfile, "TemporaryDirectory", tracked)
    monkeypatch.setattr(stream, "chunk_recording", interrupted)
    assert main(["demo", "--days", "1", "--out", str(tmp_path / "r"), "--no-progress"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    assert made and not any(p.exists() for p in made)
