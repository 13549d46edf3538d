"""Shared fixtures."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real public datasets: $MOMENTSENSE_SHARED_DATA, else ``shared/data`` beside the repository.

    Skips the test with a clear message when the folder is absent (a fresh clone without the data).
    """
    env = os.environ.get("MOMENTSENSE_SHARED_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"real datasets not found at {path} (set MOMENTSENSE_SHARED_DATA or put shared/data "
                    "beside the repository; see shared/data/README.md)")  # fmt: skip
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def server_db_url(request, tmp_path):
    """A fresh, empty database for the server: SQLite in ``tmp_path``, and PostgreSQL when
    ``$MOMENTSENSE_TEST_POSTGRES`` names a server (``.ci/run`` starts one with
    ``scripts/start_test_postgres.sh``); the PostgreSQL run is skipped otherwise."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/server.db"
        return
    base = os.environ.get("MOMENTSENSE_TEST_POSTGRES")
    if not base:
        pytest.skip("no PostgreSQL server: set MOMENTSENSE_TEST_POSTGRES (see scripts/start_test_postgres.sh)")
    import uuid

    sqlalchemy = pytest.importorskip("sqlalchemy")
    name = f"ms_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# Tests marked ``slow`` (each over ~1 s on a quiet 2-core machine, most far more: training,
# whole simulated days, subprocess environments), so that ``pytest -m "not slow"`` stays a quick
# check. Kept in one place so that tests can be edited without touching the marks; measured with
# ``pytest --durations=0`` per file. An entry is a file, a class or a test (parametrized ids
# included); SLOW_FIXTURES marks every test of a file that uses an expensive shared fixture.
SLOW = (
    "tests/test_app_ui.py::test_ui_walkthrough_headless",
    "tests/test_app_android.py::test_staged_tree_runs_the_service_and_the_app_backend_without_the_repository",
    "tests/test_app_android.py::test_a_correction_reaches_the_training_export",
    "tests/test_hot_path.py::test_a_simulated_day_through_the_sdk_never_imports_scipy",
    "tests/test_hot_path.py::test_bench_runtime_replays_what_it_recorded",
    "tests/test_hot_path.py::test_bench_places_compares_with_trackintel",
    "tests/test_server_concurrency.py::test_overload_answers_503_quickly_and_health_stays_up",
    "tests/test_server_concurrency.py::test_kills_at_random_lose_nothing_acknowledged",
    "tests/test_quickstart.py::test_quickstart_senses_stores_uploads_reads_and_revokes",
    "tests/test_app.py::TestBridge::test_live_backend_runs_the_sdk_on_a_simulated_day_starting_today",
    "tests/test_base_install.py",
    "tests/test_bench_models.py::test_bench_all_runs_every_part_side_by_side",
    "tests/test_buildozer_spec.py::test_requirements_cover_the_runtime_imports",
    "tests/test_cli.py::test_demo_prints_a_summary",
    "tests/test_demo.py::test_ctrl_c_during_the_simulation_stops_cleanly",
    "tests/test_distributed.py",
    "tests/test_dsp_pipeline.py::test_stream_equals_batch_through_windows",
    "tests/test_interpreter_android.py::test_model_options_carry_the_delegate_to_the_detector",
    "tests/test_loaders.py::TestLoadWisdm::test_round_trips_through_the_file_format",
    "tests/test_model_files.py",
    "tests/test_next_event.py::test_recall_branch_is_causal_and_skips_padding",
    "tests/test_next_event.py::test_recall_model_saves_and_loads",
    "tests/test_next_event.py::test_train_export_and_tflite_match_keras",
    "tests/test_ota.py::TestUpdate",
    "tests/test_plyer_source.py::test_phone_chunks_feed_the_detector",
    "tests/test_quantize_prune.py",
    "tests/test_runtime.py::TestPlacesAndTrips",
    "tests/test_runtime.py::test_simulated_session_emits_events_through_callbacks",
    "tests/test_runtime_consent.py",
    "tests/test_runtime_driving.py::TestCarSegment",
    "tests/test_segments_encoder.py",
    "tests/test_server_fuzz.py",
    "tests/test_shipped_models.py::test_transport_spot_check_reproduces_the_stated_accuracy",
    "tests/test_sim_leaks.py::TestNoLabelLeaks",
    "tests/test_sim_leaks.py::TestSimulateDataset",
    "tests/test_sim_physics.py::TestVehicles::test_ordinary_drivers_are_calm_and_aggressive_ones_are_not",
    "tests/test_sync_e2e.py",
    "tests/test_sync_payload.py::TestBuildDayPayload",
    "tests/test_sync_payload.py::TestPayloadSize",
    "tests/test_timeline_places.py::TestPlantedTruth",
    "tests/test_timeline_places.py::test_li_exact_mode_agrees_with_trackintel",
    "tests/test_transport_ablation.py::TestAblationOnValidation",
    "tests/test_transport_baselines.py::TestBaselines",
    "tests/test_transport_context.py::test_fit_head_learns_what_only_minutes_of_context_show",
    "tests/test_transport_crossval.py::TestExplicitTestSubjects::test_only_the_named_subjects_are_tested",
    "tests/test_transport_crossval.py::test_tiny_cross_validation_tests_each_subject_once",
    "tests/test_transport_detector.py::TestTransportDetector::test_chunk_size_does_not_change_events",
    "tests/test_transport_detector.py::TestTransportDetector::test_duty_cycling_skips_still_windows_and_resumes_on_motion",
    "tests/test_transport_detector.py::TestTransportDetector::test_events_follow_the_day",
    "tests/test_transport_detector.py::test_streaming_context_equals_the_trainers_batch_path",
    "tests/test_transport_detector.py::test_streaming_lagged_head_equals_the_batch_path_across_a_gap",
    "tests/test_transport_features.py::TestWindowFeatures::test_fast_on_ten_thousand_windows",
    "tests/test_transport_gps.py::TestDetectorGps::test_the_gps_head_settles_windows_as_the_trainer_computes",
    "tests/test_transport_gps.py::TestLiveGpsHead::test_without_location_the_live_path_is_the_plain_heads",
    "tests/test_transport_gps.py::TestSimulatedGps::test_a_missing_fix_is_not_a_subway_of_its_own",
    "tests/test_transport_metrics.py::TestClassificationMetrics::test_agrees_with_sklearn_on_random_labels",
    "tests/test_transport_metrics.py::TestPlotConfusion::test_writes_a_png",
    "tests/test_transport_train.py::TestSplit",
    "tests/test_transport_train.py::test_end_to_end_tiny_run_writes_metrics",
)
SLOW_FIXTURES = (
    ("tests/test_demo.py", "day"),
    ("tests/test_run_replay.py", "replayed"),
    ("tests/test_segments_cli.py", "trained_dir"),
)


def pytest_collection_modifyitems(config, items):
    """Mark the tests listed in SLOW and SLOW_FIXTURES ``slow``; warn about entries whose file was
    collected but that match no test (a renamed test would otherwise lose its mark silently)."""
    import warnings

    files = {item.nodeid.split("::")[0] for item in items}
    used = set()
    for item in items:
        path = item.nodeid.split("::")[0]
        hit = [e for e in SLOW if item.nodeid == e or item.nodeid.startswith((e + "::", e + "["))]
        fixtures = [f for p, f in SLOW_FIXTURES if p == path and f in getattr(item, "fixturenames", ())]
        if hit or fixtures:
            item.add_marker(pytest.mark.slow)
            used.update(hit)
    for entry in SLOW:
        if "::" in entry and entry.split("::")[0] in files and entry not in used and config.option.keyword == "" \
                and not config.option.markexpr:  # fmt: skip
            warnings.warn(f"tests/conftest.py SLOW names {entry}, which matches no collected test")
