"""Population simulator and the momentsense-timeline-v1 format."""

import json

import numpy as np
import pytest

from momentsense.sdk.errors import FormatError, InputError
from momentsense.sdk.io.timeline_file import LABELS, MOMENTS, Event, Timeline, read_timeline, write_timeline
from momentsense.trainer.cli import main
from momentsense.trainer.population import PERSONAS, PopulationOptions, simulate_population


@pytest.fixture(scope="module")
def pop():
    return simulate_population(PopulationOptions(40, 3, seed=3))


class TestSimulatePopulation:
    def test_contiguous_ordered_events(self, pop):
        """Each user's events are ordered, non-overlapping and cover the period without gaps."""
        for u in range(len(pop.users)):
            s = pop.user_slice(u)
            st, en = pop.start[s], pop.end[s]
            assert np.all(en >= st) and np.allclose(st[1:], en[:-1])
            assert st[0] == 1767571200.0 and en[-1] == 1767571200.0 + 3 * 7 * 86400

    def test_every_transport_event_has_a_moment_and_visits_none(self, pop):
        assert np.all(pop.moment[pop.kind == 1] >= 0) and np.all(pop.moment[pop.kind == 0] == -1)

    def test_personas_are_planted(self, pop):
        segs = {s for u in pop.users for s in pop.truth[u]["segments"]}
        assert segs <= set(PERSONAS) and len(segs) >= 6

    def test_same_seed_same_population_any_jobs(self, pop):
        """Users do not depend on the number of processes; another seed changes them."""
        again = simulate_population(PopulationOptions(40, 3, seed=3, n_jobs=2))
        np.testing.assert_array_equal(again.start, pop.start)
        other = simulate_population(PopulationOptions(40, 3, seed=4))
        assert len(other) != len(pop) or not np.array_equal(other.start, pop.start)

    def test_weekday_work_commutes(self, pop):
        """Workers visit work on weekdays more than on weekends."""
        work = pop.label == LABELS.index("work")
        dow = ((pop.start - 1767571200.0) // 86400).astype(int) % 7
        assert np.sum(work & (dow < 5)) > 4 * np.sum(work & (dow >= 5))

    def test_fails_with_zero_users(self):
        with pytest.raises(InputError):
            PopulationOptions(0, 1)


class TestTimelineFile:
    @pytest.mark.parametrize("suffix", [".h5", ".jsonl"])
    def test_round_trip(self, pop, tmp_path, suffix):
        small = pop.subset([0, 1, 2])
        back = read_timeline(write_timeline(tmp_path / f"t{suffix}", small))
        assert back.users == small.users and back.truth == small.truth
        np.testing.assert_array_equal(back.start, small.start)
        np.testing.assert_array_equal(back.label, small.label)
        np.testing.assert_array_equal(back.moment, small.moment)
        assert [e.place_id for e in back.events(0)] == [e.place_id for e in small.events(0)]

    def test_from_events_fails_with_end_before_start(self):
        with pytest.raises(InputError, match="end"):
            Timeline.from_events([Event(10.0, 5.0, "visit", "home", "home", "a")])

    def test_from_events_fails_out_of_order(self):
        with pytest.raises(InputError, match="out of order"):
            Timeline.from_events([Event(10.0, 20.0, "visit", "home", "home", "a"), Event(5.0, 8.0, "transport", "car", "", "a")])

    def test_from_events_fails_with_unknown_label(self):
        with pytest.raises(InputError, match="unknown label"):
            Timeline.from_events([Event(0.0, 1.0, "visit", "castle", "", "a")])

    def test_from_events_fails_with_visit_label_on_transport(self):
        with pytest.raises(InputError, match="not a transport label"):
            Timeline.from_events([Event(0.0, 1.0, "transport", "home", "", "a")])

    def test_from_events_fails_when_empty(self):
        with pytest.raises(InputError, match="empty"):
            Timeline.from_events([])

    def test_read_fails_on_malformed_jsonl(self, tmp_path):
        p = tmp_path / "bad.jsonl"
        p.write_text(json.dumps({"format": "momentsense-timeline-v1"}) + "\n{not json\n")
        with pytest.raises(FormatError, match="line 2"):
            read_timeline(p)
        p.write_text(json.dumps({"format": "other"}) + "\n")
        with pytest.raises(FormatError, match="format"):
            read_timeline(p)

    def test_read_fails_on_unknown_moment(self, tmp_path):
        p = tmp_path / "bad.jsonl"
        row = {"user": "a", "start": 0, "end": 1, "kind": "transport", "label": "car", "moment": "picnic"}
        p.write_text(json.dumps({"format": "momentsense-timeline-v1"}) + "\n" + json.dumps(row) + "\n")
        with pytest.raises(FormatError, match="moment"):
            read_timeline(p)


def test_cli_simulate_population(tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    assert main(["simulate", "population", "--users", "5", "--weeks", "1", "--out", str(out), "--no-progress", "--jobs", "1"]) == 0
    tl = read_timeline(out)
    assert len(tl.users) == 5 and set(MOMENTS[m] for m in tl.moment if m >= 0) <= set(MOMENTS)
