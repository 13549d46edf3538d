"""``momentsense simulate sensors``: write a simulated labelled IMU + GPS dataset to HDF5."""

from __future__ import annotations

import argparse


def _add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--minutes", type=float, required=True, help="simulated minutes per subject")
    p.add_argument("--out", required=True, help="output file (.h5, format momentsense-imu-v1)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same file (default 0)")
    p.add_argument("--subjects", type=int, default=4, help="number of subjects (default 4)")
    p.add_argument("--devices", type=int, default=None, help="size of the device pool (default: half the subjects, at least 2)")
    p.add_argument("--recordings-per-subject", type=int, default=2, help="recordings per subject (default 2)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _run(args: argparse.Namespace) -> int:
    from momentsense.sdk.errors import InputError
    from momentsense.sdk.io.imu_file import write_imu
    from momentsense.sdk.records import TRANSPORT_MODES
    from momentsense.sdk.sim import SimulatorOptions, simulate_dataset

    if args.minutes <= 0 or args.subjects < 1:
        raise InputError(f"--minutes must be > 0 and --subjects >= 1, got {args.minutes} and {args.subjects}")
    total_s = args.minutes * 60.0 * args.subjects
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=round(total_s), unit="sim-s", desc="simulating", disable=total_s < 1800)
    try:
        ds = simulate_dataset(args.subjects, args.minutes, args.seed, args.devices, TRANSPORT_MODES,
                              args.recordings_per_subject, SimulatorOptions(),
                              progress=(lambda s: bar.update(round(s))) if bar else None)
    finally:
        if bar is not None:
            bar.close()
    recs = ds.recordings
    path = write_imu(args.out, ds)
    n = sum(len(r.t) for r in recs)
    print(f"wrote {path}: {len(recs)} recordings, {n} samples, {args.subjects} subjects")
    return 0


def register(cli) -> None:
    """Declare ``momentsense simulate sensors``."""
    cli.command(
        "simulate sensors",
        help="Simulate labelled 25 Hz accelerometer/gyroscope + 1 Hz GPS data for the eight transport modes.",
        add_args=_add_args,
        run=_run,
    )
