"""``momentsense convert``: real datasets and CSV files to ``momentsense-imu-v1`` HDF5.

::

    momentsense convert wisdm  SRC --out FILE.h5
    momentsense convert driver SRC --out FILE.h5
    momentsense convert us-tm2017 SRC --out FILE.h5
    momentsense convert aalto  SRC --out FILE.h5     (GPS + truth: /gps/<id>, /truth/<id>; no IMU)
    momentsense convert csv    SRC --out FILE.h5 --subject S [--time-unit s|ms|ns]
                                   [--acc-unit mps2|g] [--gyro-unit rad_s|deg_s] [--label-column NAME]
"""

from __future__ import annotations

import argparse
import sys


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["wisdm", "driver", "us-tm2017", "aalto", "csv"], help="source format")
    p.add_argument("src", help="source file (wisdm2019_phone_subset.h5, driver_behavior_trips.h5, us_tm2017_raw.h5, "
                               "aalto_public_transport.h5 or a .csv)")
    p.add_argument("--out", required=True, help="output .h5 file (written atomically)")
    csv = p.add_argument_group("csv options")
    csv.add_argument("--subject", help="subject id: who carried the phone (default: the file name)")
    csv.add_argument("--time-unit", default="s", choices=["s", "ms", "ns"], help="unit of the time column (default s)")
    csv.add_argument("--acc-unit", default="mps2", choices=["mps2", "g"],
                     help="unit of ax, ay, az: m/s² or standard gravities, gravity included (default mps2)")  # fmt: skip
    csv.add_argument("--gyro-unit", default="rad_s", choices=["rad_s", "deg_s"],
                     help="unit of gx, gy, gz (default rad_s)")  # fmt: skip
    csv.add_argument("--time-column", default="time", help="time column (default time)")
    csv.add_argument("--acc-columns", default="ax,ay,az", help="accelerometer columns x,y,z (default ax,ay,az)")
    csv.add_argument("--gyro-columns", default="gx,gy,gz", help="gyroscope columns x,y,z, optional in the file (default gx,gy,gz)")
    csv.add_argument("--label-column", default=None,
                     help="label column, required in the file when given (default: 'label' if present)")  # fmt: skip
    csv.add_argument("--label-names", default=None, help="comma-separated class names (default: built from the labels)")


def _three(text: str, flag: str) -> tuple[str, str, str]:
    names = [c.strip() for c in text.split(",")]
    if len(names) != 3 or not all(names):
        raise argparse.ArgumentTypeError(f"{flag} needs three comma-separated column names, got {text!r}")
    return tuple(names)  # type: ignore[return-value]


def _load(args: argparse.Namespace):
    if args.kind == "wisdm":
        from momentsense.trainer.loaders.wisdm import load_wisdm

        return load_wisdm(args.src)
    if args.kind == "driver":
        from momentsense.trainer.loaders.driver import load_driver

        return load_driver(args.src)
    if args.kind == "us-tm2017":
        from momentsense.trainer.loaders.us_tm2017 import load_us_tm2017

        return load_us_tm2017(args.src)
    from momentsense.trainer.loaders.csv_import import CsvColumns, load_csv

    columns = CsvColumns(
        time=args.time_column, acc=_three(args.acc_columns, "--acc-columns"),
        gyro=_three(args.gyro_columns, "--gyro-columns"), label=args.label_column or "label",
        label_required=args.label_column is not None,
    )  # fmt: skip
    names = [n.strip() for n in args.label_names.split(",")] if args.label_names else None
    return load_csv(args.src, args.subject, time_unit=args.time_unit, acc_unit=args.acc_unit,
                    gyro_unit=args.gyro_unit, columns=columns, label_names=names)  # fmt: skip


def summary(ds) -> list[str]:
    """Lines describing a dataset: recordings, subjects, samples, duration, label and event counts."""
    import numpy as np

    n = sum(len(r.t) for r in ds.recordings)
    dur_s = sum(r.duration_s for r in ds.recordings)
    lines = [f"{len(ds.recordings)} recordings, {len({r.subject for r in ds.recordings})} subjects, "
             f"{n:,} samples, {dur_s / 60:.1f} min"]  # fmt: skip
    k = len(ds.label_names)
    counts, unknown, events = np.zeros(k, np.int64), 0, np.zeros(k, np.int64)
    for r in ds.recordings:
        if r.label is not None:
            lab = np.asarray(r.label)
            counts += np.bincount(lab[lab >= 0], minlength=k)
            unknown += int(np.sum(lab < 0))
        if r.events is not None:
            events += np.bincount(np.asarray(r.events["label"]), minlength=k)
    has_events = any(r.events is not None for r in ds.recordings)
    for name, c, e in zip(ds.label_names, counts, events):
        lines.append(f"  {name:<30} {c:>10,} samples" + (f"  {e:>4} events" if has_events else ""))
    if unknown:
        lines.append(f"  {'(unlabelled)':<30} {unknown:>10,} samples")
    return lines


def _run(args: argparse.Namespace) -> int:
    from momentsense.sdk.io.imu_file import write_imu

    if args.kind == "csv" and not args.subject:
        from pathlib import Path

        args.subject = Path(args.src).stem
        print(f"momentsense convert: note: no --subject given; using the file name {args.subject!r} "
              "(give --subject for subject-wise splits)", file=sys.stderr)  # fmt: skip
    if args.kind == "aalto":
        return _convert_aalto(args)
    try:
        ds = _load(args)
    except argparse.ArgumentTypeError as exc:
        print(f"momentsense convert: error: {exc}", file=sys.stderr)
        return 2
    path = write_imu(args.out, ds)
    print(f"wrote {path} ({ds.source})")
    print("\n".join(summary(ds)))
    return 0


def _convert_aalto(args: argparse.Namespace) -> int:
    """The Aalto GPS dataset has no IMU: it becomes a GPS + truth file for ``eval places --data``."""
    from momentsense.trainer.gps_truth_file import write_gps_truth
    from momentsense.trainer.loaders.aalto import SOURCE, load_aalto

    tracks, attrs = load_aalto(args.src)
    path = write_gps_truth(args.out, tracks, SOURCE, attrs)
    n_fix = sum(len(t.gps.t) for t in tracks)
    print(f"wrote {path} ({SOURCE})")
    print(f"{len(tracks)} GPS tracks, {n_fix:,} fixes, {sum(len(t.leg_mode) for t in tracks)} logged legs; repairs {attrs['repairs']}")
    for mode in sorted({m for t in tracks for m in t.leg_mode}):
        n = sum(m == mode for t in tracks for m in t.leg_mode)
        minutes = sum(e - s for t in tracks for s, e, m in zip(t.leg_start, t.leg_end, t.leg_mode) if m == mode) / 60
        print(f"  {mode:<10} {n:>4} legs {minutes:>8.1f} min")
    return 0


def register(cli) -> None:
    """Declare ``momentsense convert``."""
    cli.command("convert", "Convert WISDM, driver-behaviour, US-TM2017, Aalto GPS or CSV recordings to momentsense-imu-v1 HDF5.", _args, _run)
