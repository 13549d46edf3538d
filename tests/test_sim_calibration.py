"""The simulator's still phones move like real still phones (WISDM; skipped without shared data)."""

import numpy as np
import pytest

from momentsense.sdk.sim import Leg, draw_device, draw_person, simulate_itinerary

WINDOW_S = 10.0


def window_stds(t: np.ndarray, acc: np.ndarray) -> list[float]:
    """Std of |acc| (m/s²) in consecutive 10 s windows with at least 10 samples."""
    a = np.linalg.norm(np.asarray(acc, float), axis=1)
    idx = np.floor((np.asarray(t) - t[0]) / WINDOW_S).astype(int)
    return [float(np.std(a[idx == k])) for k in np.unique(idx) if np.sum(idx == k) >= 10]


@pytest.fixture(scope="module")
def real_still(shared_data_dir):
    from momentsense.trainer.loaders.wisdm import load_wisdm

    path = shared_data_dir / "wisdm2019_phone_subset.h5"
    if not path.is_file():
        pytest.skip(f"{path} not found (see shared/data/README.md)")
    ds = load_wisdm(path)
    still = [ds.label_names.index(n) for n in ("sitting", "standing")]
    vals = []
    for r in ds.recordings:
        if int(r.label[0]) in still:
            vals += window_stds(r.t, r.acc)
    return np.array(vals)


@pytest.fixture(scope="module")
def sim_pocket_still():
    """Still legs with the phone in a pocket (as in WISDM), 12 people on 12 phones, 4 min each."""
    vals = []
    for i in range(12):
        rec = simulate_itinerary([Leg("still", 240.0, placement="pocket")], draw_person(f"c{i}", 7),
                                 draw_device(f"C{i}", 7), seed=100 + i)
        vals += window_stds(rec.t, rec.acc)
    return np.array(vals)


def test_simulated_still_overlaps_real_still(real_still, sim_pocket_still):
    """Std of |acc| per 10 s window, phone in the pocket: simulated and WISDM medians within a factor
    1.5, interquartile ranges overlapping, and at most 20 % of real still windows beyond the
    simulated 90th percentile (a simulator whose still is too quiet teaches a model that real
    stillness is a vehicle)."""
    r25, r50, r75 = np.percentile(real_still, [25, 50, 75])
    s25, s50, s75, s90 = np.percentile(sim_pocket_still, [25, 50, 75, 90])
    assert 1 / 1.5 <= s50 / r50 <= 1.5, (s50, r50)
    assert s25 <= r75 and r25 <= s75, ((s25, s75), (r25, r75))
    assert np.mean(real_still > s90) <= 0.2, (s90, np.mean(real_still > s90))
