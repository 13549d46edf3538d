"""The correction log the uploader sends as feedback (sdk.sync.corrections)."""

import math

import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.sync.corrections import CorrectionLog


@pytest.fixture
def log(tmp_path):
    return CorrectionLog(tmp_path / "corrections.sqlite", clock=lambda: 1000.0)


class TestAdd:
    def test_add_then_pending_then_mark_sent(self, log):
        a = log.add("visit", 10.0, 20.0, "other", "work")
        b = log.add("trip", 30.0, 40.0, "car", "bus")
        assert [c.correction_id for c in log.pending()] == [a.correction_id, b.correction_id]
        assert [c.item_kind for c in log.pending(["trip"])] == ["trip"]
        assert log.mark_sent([a.correction_id]) == 1 and log.mark_sent([a.correction_id]) == 0
        assert [c.correction_id for c in log.pending()] == [b.correction_id]
        assert [c.sent for c in log.all()] == [True, False]

    @pytest.mark.parametrize("args, what", [(("place", 1.0, 2.0, "a", "b"), "item_kind"),
                                            (("visit", 1.0, 2.0, "a", ""), "corrected_label"),
                                            (("visit", 2.0, 1.0, "a", "b"), "item_end >= item_start"),
                                            (("visit", math.nan, 1.0, "a", "b"), "finite")])  # fmt: skip
    def test_add_fails_with_bad_input(self, log, args, what):
        with pytest.raises(InputError, match=what):
            log.add(*args)
        assert log.all() == []

    def test_delete_all_erases_every_correction(self, log):
        log.add("event", 1.0, 2.0, "car", "bus")
        assert log.delete_all() == 1 and log.all() == []

    def test_the_log_survives_reopening(self, log, tmp_path):
        c = log.add("visit", 1.0, 2.0, "other", "gym")
        assert CorrectionLog(tmp_path / "corrections.sqlite").all() == [c]
