"""Median std of |acc| per 10 s window: simulated still and vehicles next to real recordings.

    PYTHONPATH=$PWD python scripts/still_vibration_stats.py --shared ../shared/data [--subjects 6 --minutes 30]

Prints JSON: per source and label, the number of windows and the 10/25/50/75/90th percentiles of the
std of |acc| (m/s²) in 10 s windows. Real sources: WISDM (pocket, ~20 Hz; sitting and standing =
still) and US-TM2017 (``us_tm2017_raw.h5``, logged on change at ~1-5 Hz: windows need ≥ 10 samples;
its std is over fewer, irregular samples, so compare its *ratios* vehicle/still, not its levels, to
25 Hz data). Simulated: :func:`sdk.sim.simulate_dataset` (per placement for still).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

WINDOW_S = 10.0
MIN_SAMPLES = 10
PCTS = (10, 25, 50, 75, 90)


def window_stds(t: np.ndarray, acc: np.ndarray, window_s: float = WINDOW_S, min_samples: int = MIN_SAMPLES) -> list[float]:
    """Std of |acc| (m/s²) in consecutive ``window_s`` windows of one recording with ≥ ``min_samples``."""
    if len(t) < min_samples:
        return []
    a = np.linalg.norm(np.asarray(acc, float), axis=1)
    t = np.asarray(t, float)
    idx = np.floor((t - t[0]) / window_s).astype(np.int64)
    out = []
    for k in np.unique(idx):
        w = a[idx == k]
        if len(w) >= min_samples:
            out.append(float(np.std(w)))
    return out


def summary(values: list[float]) -> dict:
    v = np.asarray(values, float)
    if len(v) == 0:
        return {"n": 0}
    return {"n": int(len(v)), **{f"p{p}": round(float(np.percentile(v, p)), 4) for p in PCTS}}


def simulated(subjects: int, minutes: float, seed: int) -> dict:
    from momentsense.sdk.records import TRANSPORT_MODES
    from momentsense.sdk.sim import simulate_dataset

    ds = simulate_dataset(n_subjects=subjects, minutes_per_subject=minutes, seed=seed)
    groups: dict[str, list[float]] = {}
    for r in ds.recordings:
        lab = np.asarray(r.label)
        edges = np.r_[0, np.flatnonzero(np.diff(lab)) + 1, len(lab)]
        for a, b in zip(edges[:-1], edges[1:]):
            mode = TRANSPORT_MODES[int(lab[a])]
            groups.setdefault(mode, []).extend(window_stds(r.t[a:b], r.acc[a:b]))
    return {k: summary(v) for k, v in sorted(groups.items())}


def simulated_legs(n_legs: int, seed: int, modes=("still", "car", "bus", "train", "subway")) -> dict:
    """``n_legs`` single 5 min legs per mode, each a new person and phone, placement as the simulator draws it."""
    from momentsense.sdk.sim import Leg, draw_device, draw_person, simulate_itinerary

    out = {}
    for mode in modes:
        vals = []
        for s in range(n_legs):
            r = simulate_itinerary([Leg(mode, 300.0)], draw_person(f"p{s}", seed), draw_device(f"D{s}", seed), seed=s)
            vals += window_stds(r.t, r.acc)
        out[mode] = summary(vals)
    return out


def simulated_still_by_placement(subjects: int, minutes: float, seed: int) -> dict:
    """Still legs simulated one placement at a time (sdk.sim.simulate_leg)."""
    from momentsense.sdk.sim import Leg, draw_device, draw_person, simulate_itinerary

    out = {}
    for placement in ("table", "hand", "pocket", "bag"):
        vals = []
        for s in range(subjects):
            r = simulate_itinerary([Leg("still", minutes * 60.0, placement=placement)], draw_person(f"p{s}", seed),
                                   draw_device(f"D{s}", seed), seed=seed + s)
            vals += window_stds(r.t, r.acc)
        out[placement] = summary(vals)
    return out


def wisdm(path: Path) -> dict:
    from momentsense.trainer.loaders.wisdm import load_wisdm

    ds = load_wisdm(path)
    groups: dict[str, list[float]] = {}
    per_subject: dict[str, list[float]] = {}
    for r in ds.recordings:
        name = ds.label_names[int(r.label[0])]
        vals = window_stds(r.t, r.acc)
        groups.setdefault(name, []).extend(vals)
        if name in ("sitting", "standing"):
            per_subject.setdefault(name, []).append(float(np.median(vals)) if vals else float("nan"))
    res = {k: summary(v) for k, v in sorted(groups.items())}
    res["subject_medians"] = {k: summary(v) for k, v in per_subject.items()}
    return res


def us_tm(path: Path) -> dict:
    import h5py

    names = None
    groups: dict[str, list[float]] = {}
    rates: dict[str, list[float]] = {}
    with h5py.File(path, "r") as f:
        raw = f.attrs["label_names"]
        names = json.loads(raw) if isinstance(raw, (str, bytes)) else [n.decode() if isinstance(n, bytes) else str(n) for n in raw]
        for rid, g in f["recordings"].items():
            t = g["t"][()]
            if len(t) < MIN_SAMPLES:
                continue
            name = names[int(g["label"][0])]
            groups.setdefault(name, []).extend(window_stds(t, g["acc"][()]))
            rates.setdefault(name, []).append(len(t) / max(t[-1] - t[0], 1e-9))
    res = {k: summary(v) for k, v in sorted(groups.items())}
    still = res.get("still", {}).get("p50")
    res["ratio_p50_to_still"] = {k: round(v["p50"] / still, 2) for k, v in res.items() if still and "p50" in v}
    res["median_rate_hz"] = {k: round(float(np.median(v)), 2) for k, v in rates.items()}
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default="../shared/data", help="folder with the real datasets")
    ap.add_argument("--subjects", type=int, default=6, help="simulated subjects")
    ap.add_argument("--minutes", type=float, default=30.0, help="simulated minutes per subject")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--legs", type=int, default=12, help="single simulated legs per mode (robust per-mode figures)")
    ap.add_argument("--no-sim", action="store_true")
    a = ap.parse_args(argv)
    shared = Path(a.shared)
    out: dict = {}
    if not a.no_sim:
        from momentsense.sdk.sim import SIMULATOR_VERSION

        out["simulator"] = SIMULATOR_VERSION
        out["sim"] = simulated(a.subjects, a.minutes, a.seed)
        out["sim_legs"] = simulated_legs(a.legs, 3)
        out["sim_still_by_placement"] = simulated_still_by_placement(3, 5.0, a.seed)
    if (shared / "wisdm2019_phone_subset.h5").is_file():
        out["wisdm"] = wisdm(shared / "wisdm2019_phone_subset.h5")
    if (shared / "us_tm2017_raw.h5").is_file():
        out["us_tm2017"] = us_tm(shared / "us_tm2017_raw.h5")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
