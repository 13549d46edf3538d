"""``momentsense bench models``: every shipped model is timed, with its size and backend (no speed asserted)."""

import json

from momentsense.edge_models import artifact_dir
from momentsense.trainer.bench_models import bench_models
from momentsense.trainer.cli import main


def test_every_shipped_tflite_is_timed():
    res = bench_models(repeats=10, keras_too=False)
    shipped = {p.stem for p in artifact_dir().glob("*.tflite")}
    assert set(res["models"]) == shipped
    for name, row in res["models"].items():
        assert row["bytes"] == (artifact_dir() / f"{name}.tflite").stat().st_size
        assert 0 < row["median_ms"] <= row["p95_ms"]
    assert res["transport_ratios_vs_float32_tflite"]["transport_cnn_float32"] == {"latency": 1.0, "bytes": 1.0}


def test_cli_prints_json_and_refuses_too_few_repeats(capsys):
    assert main(["bench", "models", "--repeats", "10", "--no-keras"]) == 0
    assert "transport_cnn" in json.loads(capsys.readouterr().out)["models"]
    assert main(["bench", "models", "--repeats", "2"]) == 2


def test_bench_all_runs_every_part_side_by_side(capsys):
    assert main(["bench", "all", "--hours", "0.2", "--training-seconds", "0.2", "--repeats", "10",
                 "--payload-days", "1"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["runtime_duty_cycled"]["windows_skipped"] >= res["runtime_every_window"]["windows_skipped"] == 0
    assert res["runtime_duty_cycle_speedup"] > 0 and "transport_cnn" in res["models"]["models"]
    assert res["training"]["transport_cnn_windows"]["per_s_median"] > 0
    assert res["sync_payload"]["gzip_bytes_per_day_median"] < res["sync_payload"]["raw_bytes_per_day_median"]
