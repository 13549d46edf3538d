"""Two simulated test files with the same people and phones whose rides differ only in the legs around them.

    PYTHONPATH=$PWD python scripts/grammar_swap_files.py --subjects 8 --seed 14 --out data/swap
    momentsense eval transport --model edge_models/artifacts/transport_cnn.tflite --data data/swap_usual.h5 --json
    momentsense eval transport --model edge_models/artifacts/transport_cnn.tflite --data data/swap_swapped.h5 --json

``swap_usual.h5``: every car ride follows a walk and every bus/train/subway ride follows a wait at
the stop (the order a simple trip grammar produces). ``swap_swapped.h5``: a wait before every car
ride (a lift), a walk straight onto every bus/train/subway. The difference in a head's macro-F1
between the two is its sensitivity to leg order: a head that reads the motion of the ride itself
scores the same on both.
"""

from __future__ import annotations

import argparse

import numpy as np

from momentsense.sdk.io.imu_file import write_imu
from momentsense.sdk.records import TRANSPORT_MODES, ImuDataset
from momentsense.sdk.sim import SIMULATOR_VERSION, Leg, concat_recordings, draw_device, draw_person, iter_itinerary
from momentsense.sdk.sim.signals import child_rng

RIDES = ("car", "bus", "train", "subway")


def legs_for(rng: np.random.Generator, swapped: bool) -> list[Leg]:
    """Still, then each ride once in a random order with its access legs, then a walk (about 2 h)."""
    u = rng.uniform
    legs = [Leg("still", u(300, 600))]
    for ride in rng.permutation(RIDES):
        wait_first = (ride == "car") == swapped  # usual: wait before public transport only
        access = [Leg("walk", u(120, 300))] + ([Leg("still", u(120, 400))] if wait_first else [])
        legs += access + [Leg(str(ride), u(900, 1500)), Leg("walk", u(120, 300)), Leg("still", u(300, 600))]
    return legs


def build(n_subjects: int, seed: int, swapped: bool) -> ImuDataset:
    recs = []
    for i in range(n_subjects):
        person, device = draw_person(f"w{i}", seed), draw_device(f"W{i}", seed)
        legs = legs_for(child_rng(seed, "swap-legs", i), swapped)
        recs.append(concat_recordings(list(iter_itinerary(legs, person, device, seed + i, recording_id=f"w{i}")), f"w{i}"))
    name = "swapped" if swapped else "usual"
    return ImuDataset(list(TRANSPORT_MODES), f"{SIMULATOR_VERSION} seed={seed} grammar={name}", recs, None,
                      {"simulator": SIMULATOR_VERSION, "seed": int(seed), "grammar": name})


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=8)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--out", default="data/swap", help="prefix: PREFIX_usual.h5 and PREFIX_swapped.h5")
    a = ap.parse_args(argv)
    for swapped in (False, True):
        path = f"{a.out}_{'swapped' if swapped else 'usual'}.h5"
        write_imu(path, build(a.subjects, a.seed, swapped))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
