"""Real recordings in the transport model's classes, so they can join its training and CV.

``python -m momentsense.trainer.transport.realdata wisdm SRC.h5 --out FILE.h5`` converts the WISDM phone subset
(:func:`trainer.loaders.wisdm.load_wisdm`) to a ``momentsense-imu-v1`` file whose ``label_names``
are :data:`sdk.records.TRANSPORT_MODES`, by :data:`WISDM_TO_MODES`: sitting and standing are still,
walking and stairs are walk, jogging is run. Such a file can be passed to ``momentsense train
transport --data`` beside a simulated file (same label names), or as the cross-validated set with
``--train-also SIM.h5`` (simulated subjects in every fold's training set, never tested).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Mapping

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import TRANSPORT_MODES, ImuDataset

#: WISDM activity → transport mode.
WISDM_TO_MODES: dict[str, str] = {
    "walking": "walk", "stairs": "walk", "jogging": "run", "sitting": "still", "standing": "still",
}  # fmt: skip


def relabel(ds: ImuDataset, mapping: Mapping[str, str], label_names: tuple[str, ...] = TRANSPORT_MODES) -> ImuDataset:
    """The same recordings with per-sample labels mapped by name (``mapping``: file label → class).

    Raises
    ------
    InputError
        A label of the file has no entry in ``mapping``, or maps to a name not in ``label_names``.
    """
    missing = [n for n in ds.label_names if n not in mapping]
    bad = sorted({v for v in mapping.values() if v not in label_names})
    if missing or bad:
        raise InputError(f"relabel: no class for file labels {missing}" if missing else
                         f"relabel: {bad} are not among the classes {list(label_names)}")
    lut = np.array([label_names.index(mapping[n]) for n in ds.label_names] + [-1], np.int16)
    recs = []
    for r in ds.recordings:
        lab = None
        if r.label is not None:
            src = np.asarray(r.label, np.int64)
            lab = lut[np.where(src < 0, len(ds.label_names), src)]
        recs.append(dataclasses.replace(r, label=lab))
    attrs = dict(ds.attrs or {})
    attrs["relabelled"] = {str(k): str(v) for k, v in mapping.items()}
    return ImuDataset(list(label_names), f"{ds.source} (labels mapped to transport modes)", recs, None, attrs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m momentsense.trainer.transport.realdata", description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["wisdm"], help="source dataset")
    ap.add_argument("src", help="wisdm2019_phone_subset.h5")
    ap.add_argument("--out", required=True, help="momentsense-imu-v1 file to write")
    a = ap.parse_args(argv)
    from momentsense.sdk.io.imu_file import write_imu
    from momentsense.trainer.loaders.wisdm import load_wisdm

    ds = relabel(load_wisdm(a.src), WISDM_TO_MODES)
    write_imu(a.out, ds)
    print(f"wrote {a.out}: {len(ds.recordings)} recordings, labels {ds.label_names}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
