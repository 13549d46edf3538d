"""``eval places --data``: the SDK's GPS stages scored against /truth on a GPS + truth file."""

import json

import numpy as np
import pytest

from momentsense.sdk.records import GpsTrack
from momentsense.trainer.cli import main
from momentsense.trainer.eval_places_file import score_tracks
from momentsense.trainer.gps_truth_file import GpsTruth, write_gps_truth

T0 = 1_700_000_000.0
M_PER_DEG = 111_195.0


def _day(every_s: float = 10.0, leg=(600.0, 1200.0), seed: int = 0, rid: str = "d1") -> GpsTruth:
    """10 min at a place, a 10 min car ride east at 10 m/s, 10 min at another place (fixes every ``every_s``)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 1800.0 + 1e-9, every_s)
    x = np.clip(t - 600.0, 0.0, 600.0) * 10.0  # metres east
    lat = 60.0 + rng.normal(0, 5, len(t)) / M_PER_DEG
    lon = 24.0 + (x + rng.normal(0, 5, len(t))) / (M_PER_DEG * np.cos(np.radians(60.0)))
    gps = GpsTrack(T0 + t, lat, lon, np.full(len(t), 8.0, np.float32))
    return GpsTruth(rid, gps, T0 + np.array([0.0, 1200.0]), T0 + np.array([600.0, 1800.0]),
                    T0 + np.array([leg[0]]), T0 + np.array([leg[1]]), ["car"])  # fmt: skip


def test_a_ride_between_two_stays_is_found():
    r = score_tracks([_day()])
    assert r["stays"]["detected"] == 2 and r["stays"]["precision"] == 1.0 and r["stays"]["recall"] == 1.0
    assert r["stays"]["matched_share"] > 0.9 and r["stays"]["during_legs"] == 0
    assert r["legs"]["matched_share"] == 1.0 and r["legs"]["per_mode"]["car"]["time_covered"] > 0.95
    assert r["legs"]["boundary_error_s"]["median"] < 60
    assert r["motorised"]["per_mode"]["car"] > 0.9 and r["motorised"]["agreement"] > 0.9


def test_a_leg_logged_into_a_stay_is_not_inside_trips():
    """Truth that says the car left 5 min before the fixes moved: half the leg lies in the stay."""
    r = score_tracks([_day(leg=(300.0, 1200.0))])
    assert r["legs"]["matched_share"] == 0.0 and r["legs"]["time_covered"] < 0.75


def test_cli_data_json_and_bad_file(tmp_path, capsys):
    path = write_gps_truth(tmp_path / "day.h5", [_day(), _day(seed=1, rid="d2")], "test")
    assert main(["eval", "places", "--data", str(path), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["tracks"] == 2 and set(r) >= {"stays", "legs", "motorised"}
    assert set(r["stays"]) >= {"precision", "recall", "matched_share"}
    assert set(r["legs"]["boundary_error_s"]) == {"median", "p90", "n"} and "car" in r["legs"]["per_mode"]
    assert main(["eval", "places", "--data", str(path)]) == 0
    assert "legs inside detected trips: 1.000 of 2" in capsys.readouterr().out
    assert main(["eval", "places", "--data", str(tmp_path / "missing.h5")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_aalto_converted_file_is_scored(shared_data_dir, tmp_path, capsys):
    out = tmp_path / "aalto.h5"
    assert main(["convert", "aalto", str(shared_data_dir / "aalto_public_transport.h5"), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", "places", "--data", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["tracks"] == 8 and r["legs"]["n"] == 103
    assert set(r["legs"]["per_mode"]) == {"bus", "car", "subway", "train", "tram"}
    assert r["stays"]["precision"] is None and r["stays"]["recall"] is None  # Aalto logs no stays
    assert 0.0 <= r["legs"]["matched_share"] <= r["legs"]["matched_share_tolerant"] + 1e-9 <= 1.0 + 1e-9
