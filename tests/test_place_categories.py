"""Place categories on the device and the phone view of simulated timelines."""

import json
import random

import numpy as np
import pytest

from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.timeline.place_categories import (
    CATEGORIES, FEATURE_NAMES, categorise_places, load_place_category_model, place_features,
)  # fmt: skip
from momentsense.sdk.io.timeline_file import Event, Timeline
from momentsense.trainer.population import PopulationOptions, simulate_population
from momentsense.trainer.population.phone_view import (
    DEFAULT_CONFUSION_PATH, ModeConfusion, PhoneViewOptions, load_view, phone_view, user_phone_events,
)  # fmt: skip
from momentsense.trainer.population.place_model import evaluate_places

H = 3600.0
T0 = 1767571200.0  # Monday 00:00 UTC


@pytest.fixture(scope="module")
def model():
    return load_place_category_model()


@pytest.fixture(scope="module")
def held_out():
    # Seed 7: neither the training (0) nor the reported evaluation (1) population.
    return simulate_population(PopulationOptions(n_users=40, weeks=4, seed=7))


def _identity() -> ModeConfusion:
    modes = ("still", "walk", "run", "bike", "car", "bus", "train", "subway")
    return ModeConfusion(modes, np.eye(len(modes)), "identity")


def test_shipped_model_macro_f1_on_unseen_users(model, held_out):
    rep = evaluate_places(held_out, model, ModeConfusion.from_json(DEFAULT_CONFUSION_PATH))
    assert rep["n_places"] > 200
    assert rep["macro_f1"] >= 0.75, rep["per_class"]
    for c in CATEGORIES:
        assert rep["per_class"][c]["support"] > 0


def test_model_file_that_does_not_match_its_sha256_is_refused(tmp_path):
    from momentsense.edge_models import artifact_dir

    d = json.loads((artifact_dir() / "place_categories.json").read_text())
    d["trees"][0]["threshold"][0] += 1.0
    bad = tmp_path / "edited.json"
    bad.write_text(json.dumps(d))
    with pytest.raises(ModelError, match="edited.json"):
        load_place_category_model(bad)
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ModelError, match="junk.json"):
        load_place_category_model(tmp_path / "junk.json")


class _Map:
    def __init__(self):
        self.calls = []

    def category(self, lat, lon):
        self.calls.append((lat, lon))
        return "gym"


def _week_with_place(pid: str, hour: float, stay_h: float, days=range(7)) -> list:
    ev, t = [], T0
    for d in days:
        a = T0 + d * 86400 + hour * H
        ev.append(Event(t, a - 900, "visit", "other", "home"))
        ev.append(Event(a - 900, a, "transport", "car"))
        ev.append(Event(a, a + stay_h * H, "visit", "other", pid))
        ev.append(Event(a + stay_h * H, a + stay_h * H + 900, "transport", "car"))
        t = a + stay_h * H + 900
    ev.append(Event(t, t + H, "visit", "other", "home"))
    return ev


def test_provider_asked_only_with_location_consent_and_with_a_coarse_location(model):
    ev = _week_with_place("p1", 20.0, 2.0)
    prov = _Map()
    cats = categorise_places(ev, model, "home", "", provider=prov, locations={"p1": (48.123456, 11.654321)}, location_consent=False)
    assert prov.calls == [] and cats["p1"].source == "classifier"
    cats = categorise_places(ev, model, "home", "", provider=prov, locations={"p1": (48.123456, 11.654321)}, location_consent=True)
    assert prov.calls == [(48.12, 11.65)]
    assert cats["p1"].category == "gym" and cats["p1"].source == "provider"


def test_features_follow_the_visits():
    f = place_features(_week_with_place("p1", 20.0, 2.0), 0.0, "home")
    x = dict(zip(FEATURE_NAMES, f["p1"]))
    assert x["arr_h20_24"] == 1.0 and x["arrive_car"] == 1.0 and x["from_home_share"] == 1.0
    assert abs(x["log_dwell_median_min"] - np.log1p(120)) < 1e-5
    assert abs(x["weekend_share"] - 2 / 7) < 1e-6
    with pytest.raises(InputError, match="place_id"):
        place_features([Event(T0, T0 + 10, "visit", "other", "")])


def test_phone_view_loses_short_visits_and_keeps_modes_under_identity():
    ev = [Event(T0, T0 + 8 * H, "visit", "home", "home"),
          Event(T0 + 8 * H, T0 + 8.2 * H, "transport", "car", moment="shopping"),
          Event(T0 + 8.2 * H, T0 + 8.2 * H + 100, "visit", "shop", "shop_1"),  # 100 s: under the stay threshold
          Event(T0 + 8.2 * H + 100, T0 + 8.5 * H, "transport", "car", moment="shopping"),
          Event(T0 + 8.5 * H, T0 + 10 * H, "visit", "shop", "shop_2"),
          Event(T0 + 10 * H, T0 + 10.3 * H, "transport", "walk", moment="shopping"),
          Event(T0 + 10.3 * H, T0 + 20 * H, "visit", "home", "home")]  # fmt: skip
    out = user_phone_events(ev, _identity(), PhoneViewOptions(arrival_early_s=60.0, departure_late_s=60.0), random.Random(0))
    assert [e.place_id for e in out if e.kind == "visit"] == ["home", "shop_2", "home"]
    legs = [e for e in out if e.kind == "transport"]
    assert [e.label for e in legs] == ["car", "walk"]  # the two car legs around the lost visit are one trip
    assert T0 + 8 * H <= legs[0].start <= T0 + 8 * H + 60 and T0 + 8.5 * H - 60 <= legs[0].end <= T0 + 8.5 * H
    for a, b in zip(out, out[1:]):
        assert b.start >= a.end - 1e-6


def test_phone_view_modes_follow_the_confusion(tmp_path):
    p = tmp_path / "c.json"
    modes = ["still", "walk", "car", "bus"]
    p.write_text(json.dumps({"stream": {"labels": modes, "confusion_seconds": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]]}}))
    conf = ModeConfusion.from_json(p)
    tl = simulate_population(PopulationOptions(n_users=3, weeks=1, seed=3))
    out = phone_view(tl, None, conf)
    true_modes = {lab for lab in tl.label[tl.kind == 1]}
    from momentsense.sdk.io.timeline_file import LABELS

    out_modes = {LABELS[x] for x in out.label[out.kind == 1]}
    assert "car" in {LABELS[x] for x in true_modes} and "car" not in out_modes
    assert out.truth[tl.users[0]]["place_labels"]["home"] == "home"


def test_bad_inputs_name_the_file(tmp_path):
    p = tmp_path / "conf.json"
    p.write_text(json.dumps({"labels": ["walk", "hover"], "confusion": [[1, 0], [0, 1]]}))
    with pytest.raises(InputError, match="conf.json.*hover"):
        ModeConfusion.from_json(p)
    p.write_text(json.dumps({"labels": ["walk", "car"], "confusion": [[1, 0]]}))
    with pytest.raises(InputError, match="conf.json"):
        ModeConfusion.from_json(p)
    tl = Timeline(["u"], [0], [T0], [T0 + 10], [0], [0], [-1], [], None, {}, "x")
    with pytest.raises(InputError, match="mine.h5.*place_id"):
        phone_view(tl, None, _identity(), where="mine.h5")


def test_phone_view_file_cannot_be_read_as_truth(tmp_path):
    from momentsense.sdk.io.timeline_file import write_timeline

    tl = simulate_population(PopulationOptions(n_users=2, weeks=1, seed=4))
    path = tmp_path / "true.jsonl"
    write_timeline(path, tl)
    ph = load_view(str(path), "phone")
    assert "phone-view" in ph.source and len(ph.users) == 2
    write_timeline(tmp_path / "phone.jsonl", ph)
    with pytest.raises(InputError, match="phone.jsonl"):
        load_view(str(tmp_path / "phone.jsonl"), "truth")
    assert load_view(str(tmp_path / "phone.jsonl"), "phone").source == ph.source


def test_eval_commands_print_the_same_keys_on_both_views(tmp_path, capsys):
    from momentsense.sdk.io.timeline_file import write_timeline
    from momentsense.trainer.cli import main

    path = tmp_path / "pop.h5"
    write_timeline(path, simulate_population(PopulationOptions(n_users=3, weeks=4, seed=11)))
    keys = {}
    for view in ("truth", "phone"):
        assert main(["eval", "moments", "--data", str(path), "--users", "3", "--view", view, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["view"] == view
        keys[view] = set(out)
    assert keys["truth"] == keys["phone"]
    with pytest.raises(SystemExit) as e:
        main(["eval", "moments", "--data", str(path), "--view", "sideways"])
    assert e.value.code == 2


def test_simulate_population_writes_the_phone_view(tmp_path):
    from momentsense.sdk.io.timeline_file import LABELS, read_timeline
    from momentsense.trainer.cli import main

    out = tmp_path / "phone.jsonl"
    assert main(["simulate", "population", "--users", "4", "--weeks", "2", "--seed", "2", "--out", str(out),
                 "--view", "phone", "--no-progress", "--jobs", "1"]) == 0  # fmt: skip
    tl = read_timeline(out)
    assert "phone-view" in tl.source
    visit_labels = {LABELS[x] for x in tl.label[tl.kind == 0]}
    assert visit_labels <= {"home", "work", "school", "shop", "gym", "restaurant", "park", "other"}


def test_wide_personas_keep_the_planted_flags_and_widen_the_intensities():
    from momentsense.trainer.population.profile import HOUR, sample_profile

    wakes, no_run = [], 0
    for i in range(400):
        base = sample_profile(f"u{i}", random.Random(f"5:{i}"))
        wide = sample_profile(f"u{i}", random.Random(f"5:{i}"), wide=True)
        assert wide.segments == base.segments and wide.occupation == base.occupation
        if "early_riser" in wide.segments:
            wakes.append(wide.wake_s / HOUR)
        no_run += "parent" in wide.segments and not wide.school_run_days
    assert wakes and min(wakes) >= 4.75 and max(wakes) <= 6.5 and max(wakes) > 6.0  # borderline early risers
    assert no_run > 0  # parents without a school run
    a = simulate_population(PopulationOptions(n_users=2, weeks=1, seed=5))
    b = simulate_population(PopulationOptions(n_users=2, weeks=1, seed=5, wide_personas=True))
    assert "wide personas" in b.source and "wide personas" not in a.source
