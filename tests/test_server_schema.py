"""The shared payload rules (sdk/sync/schema.py): standard library only, same vocabularies as the SDK,
and the builder refuses what the server refuses."""

import subprocess
import sys

import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.sync import schema as V
from momentsense.sdk.sync.payload import SyncDay, build_day_payload
from momentsense.sdk.timeline.records import Visit


def test_imports_only_the_standard_library():
    """Importing the rules pulls in neither numpy nor pydantic (they run on the phone)."""
    code = "import sys, momentsense.sdk.sync.schema; print(sorted(m for m in ('numpy', 'pydantic', 'sqlalchemy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_vocabularies_match_the_sdk():
    from momentsense.sdk.records import TRANSPORT_MODES
    from momentsense.sdk.io.timeline_file import MOMENTS, PLACE_CATEGORIES

    assert V.TRANSPORT_MODES == TRANSPORT_MODES and V.PLACE_CATEGORIES == PLACE_CATEGORIES and V.MOMENTS == MOMENTS
    assert set(V.FEEDBACK_KINDS) >= {"mode", "category", "moment", "place_category", "did_not_happen", "start", "end"}


@pytest.mark.parametrize("day,reason", [("9999-99-99", "day_format"), ("2023-02-30", "day_format"),
                                        ("\u0662\u0660\u0662\u0663-11-13", "day_format"), ("2009-12-31", "day_window"),
                                        (20231113, "day_format")])  # fmt: skip
def test_days_that_are_not_dates(day, reason):
    with pytest.raises(V.SchemaError) as e:
        V.check_day(day)
    assert e.value.reason == reason and isinstance(e.value, InputError)


def test_receipt_window():
    now = 1_800_000_000.0  # 2027-01-15
    V.check_day("2027-01-15", now, 30)
    V.check_day("2027-01-16", now, 30)  # already that day east of UTC
    for day in ("2027-01-18", "2026-12-01"):
        with pytest.raises(V.SchemaError, match="future|old"):
            V.check_day(day, now, 30)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1", True, None, 1e300])
def test_numbers_are_finite_numbers(value):
    with pytest.raises(V.SchemaError):
        V.check_number(value, "x", 0, 1e6)


def test_counts_and_feedback():
    with pytest.raises(V.SchemaError, match="count"):
        V.check_counts({"speeding": -5}, ("speeding",))
    with pytest.raises(V.SchemaError):
        V.check_counts({"speeding": 10**30}, ("speeding",))
    V.check_feedback("did_not_happen", True)
    V.check_feedback("start", 1_700_000_040)
    for field, value in (("place_category", "Dr Smith's clinic"), ("did_not_happen", "yes"), ("start", "1700000040"),
                         ("end", 1_700_000_001), ("rename", "x")):  # fmt: skip
        with pytest.raises(V.SchemaError):
            V.check_feedback(field, value)


def test_builder_refuses_events_off_their_day():
    """The phone's builder applies the server's rules: a visit of another day is an InputError, not an upload."""
    with pytest.raises(InputError, match="not on its day"):
        build_day_payload(SyncDay("2023-11-13", visits=[Visit(0.0, 600.0, "a", 0, 0)]), bytes(32))
    with pytest.raises(InputError, match="ASCII"):
        build_day_payload(SyncDay("\u0662\u0660\u0662\u0663-11-13"), bytes(32))
