"""``momentsense convert``: public datasets and CSV files to ``momentsense-imu-v1``."""

from __future__ import annotations

import argparse


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["wisdm", "driver", "csv"], help="source format")
    p.add_argument("src", help="source file")
    p.add_argument("--out", required=True, help="output .h5 file")
    p.add_argument("--subject", default="user", help="csv: subject id")
    p.add_argument("--time-unit", default="s", choices=["s", "ms", "ns"], help="csv: unit of the time column")
    p.add_argument("--acc-unit", default="mps2", choices=["mps2", "g"], help="csv: unit of acceleration")
    p.add_argument("--gyro-unit", default="rad_s", choices=["rad_s", "deg_s"], help="csv: unit of angular rate")
    p.add_argument("--label-column", default="label", help="csv: label column name")


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from sdk.imu_file import write_imu

    events = None
    if args.kind == "wisdm":
        from trainer.loaders.wisdm import load_wisdm

        ds = load_wisdm(args.src)
    elif args.kind == "driver":
        from trainer.loaders.driver import load_driver

        trips = load_driver(args.src)
        ds, events = trips.dataset, trips.events
    else:
        from trainer.loaders.csv_import import CsvColumns, load_csv

        ds = load_csv(args.src, args.subject, time_unit=args.time_unit, acc_unit=args.acc_unit, gyro_unit=args.gyro_unit,
                      columns=CsvColumns(label=args.label_column))  # fmt: skip
    path = write_imu(args.out, ds, events=events)
    n = sum(len(r.t) for r in ds.recordings)
    dur = sum(r.duration_s for r in ds.recordings)
    counts = np.zeros(len(ds.label_names), int)
    for r in ds.recordings:
        if r.label is not None:
            counts += np.bincount(r.label[r.label >= 0], minlength=len(ds.label_names))
    print(f"wrote {path}: {len(ds.recordings)} recordings, {n:,} samples, {dur / 60:.1f} min, "
          f"{len({r.subject for r in ds.recordings})} subjects")  # fmt: skip
    for name, c in zip(ds.label_names, counts):
        print(f"  {name:<32} {c:>9,} samples")
    return 0


def register(cli) -> None:
    cli.command("convert", "convert WISDM, driver-behaviour or CSV recordings to momentsense-imu-v1", _args, _run)
