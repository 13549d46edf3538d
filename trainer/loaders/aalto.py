"""Aalto TrafficSense public-transport dataset (``shared/data/aalto_public_transport.h5``) → GPS + truth.

Source: Aalto University TrafficSense project, *public-transport-dataset* (2016),
github.com/aalto-trafficsense/public-transport-dataset, CC BY 4.0 ("Contains data from the Aalto
University TrafficSense project public-transport-dataset, CC BY 4.0"). 8 people, one day in
Helsinki (2016-08-26, 09:00-16:00 local), 6,030 fused-location fixes (~0.03 Hz) and 103 manually
logged vehicle legs (subway, bus, tram, train, car). No IMU.

Conversion to the ``/gps/<id>`` + ``/truth/<id>`` layout (:mod:`trainer.gps_truth_file`):

* One track per device, id ``1``..``8``: ``t`` (unix s), ``lat``, ``lon``, ``accuracy_m`` as in the
  source (no speed exists). ``subject`` and ``device`` copied.
* ``legs``: the logged vehicle legs, ``start``/``end`` = vehicle departure/arrival (unix s),
  ``mode`` as logged (``tram`` is not an SDK mode; the places evaluation groups it with the other
  motorised modes). Walking and waiting between legs were **not** logged: that time is unlabelled.
* ``stays``: empty. The day was spent travelling and stays were not logged, so stay precision and
  recall cannot be measured on this file; the places evaluation reports stays detected *during* a
  logged leg instead.
* Repairs: fixes with a non-finite time or position are dropped; fixes are sorted by time and a
  fix with the same time as the previous one is dropped (none in the shared file); legs with a
  non-finite time or ending before they start are dropped. Each is counted in ``attrs["repairs"]``.
  Leg times were typed by hand and some are estimates (the source's ``comments``): boundary errors
  of a few minutes can be the log's, not the detector's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from momentsense.sdk.errors import FormatError
from momentsense.sdk.records import GpsTrack
from momentsense.trainer.gps_truth_file import GpsTruth
from momentsense.trainer.loaders.common import h5_text, open_source, require

SOURCE = "Aalto TrafficSense public-transport-dataset (2016), CC BY 4.0"


def load_aalto(path: str | Path) -> tuple[list[GpsTruth], dict]:
    """Read the Aalto dataset as GPS tracks with their logged legs.

    Parameters
    ----------
    path : str or Path
        ``aalto_public_transport.h5`` (layout in ``shared/data/README.md``).

    Returns
    -------
    tracks : list of GpsTruth
        One per device, in id order; ``stay_start``/``stay_end`` empty.
    attrs : dict
        Root attributes to write (licence, attribution, citation, time note, repairs as JSON).

    Raises
    ------
    FileNotFoundError, FormatError
        Missing file, not this dataset, or a missing dataset (the message names the file and group).
    """
    path = Path(path)
    counts = {"fixes_nonfinite_dropped": 0, "fixes_backward_sorted": 0, "fixes_duplicate_time_dropped": 0,
              "legs_invalid_dropped": 0}  # fmt: skip
    tracks = []
    with open_source(path, "gps", ("label_names",)) as f:
        if "legs" not in f:
            raise FormatError(f"{path}: group /legs missing; is this the Aalto public-transport file?")
        for rid in sorted(f["gps"].keys(), key=lambda s: (len(s), s)):
            g, where = f["gps"][rid], f"/gps/{rid}"
            require(g, ("t", "lat", "lon"), path, where)
            t, lat, lon = (g[k][()].astype(np.float64) for k in ("t", "lat", "lon"))
            acc = g["accuracy_m"][()].astype(np.float32) if "accuracy_m" in g else np.full(len(t), np.nan, np.float32)
            if not (len(t) == len(lat) == len(lon) == len(acc)):
                raise FormatError(f"{path}: {where}: t, lat, lon, accuracy_m have different lengths")
            ok = np.isfinite(t) & np.isfinite(lat) & np.isfinite(lon)
            counts["fixes_nonfinite_dropped"] += int((~ok).sum())
            t, lat, lon, acc = t[ok], lat[ok], lon[ok], acc[ok]
            counts["fixes_backward_sorted"] += int(np.sum(np.diff(t) < 0))
            order = np.argsort(t, kind="stable")
            t, lat, lon, acc = t[order], lat[order], lon[order], acc[order]
            dup = np.r_[False, np.diff(t) == 0]
            counts["fixes_duplicate_time_dropped"] += int(dup.sum())
            t, lat, lon, acc = t[~dup], lat[~dup], lon[~dup], acc[~dup]
            if rid not in f["legs"]:
                raise FormatError(f"{path}: /legs/{rid} missing (every device has a leg table)")
            legs = f["legs"][rid][()]
            for col in ("start", "end", "mode"):
                if col not in (legs.dtype.names or ()):
                    raise FormatError(f"{path}: /legs/{rid}: column {col!r} missing")
            s, e = legs["start"].astype(np.float64), legs["end"].astype(np.float64)
            modes = np.array([h5_text(m) for m in legs["mode"]], dtype=object)
            good = np.isfinite(s) & np.isfinite(e) & (e >= s)
            counts["legs_invalid_dropped"] += int((~good).sum())
            order = np.argsort(s[good], kind="stable")
            tracks.append(GpsTruth(
                rid, GpsTrack(t, lat, lon, acc, None), np.zeros(0), np.zeros(0),
                s[good][order], e[good][order], list(modes[good][order]),
                subject=h5_text(g.attrs.get("subject", rid)), device=h5_text(g.attrs.get("device", "")),
            ))  # fmt: skip
        attrs = {k: h5_text(f.attrs[k]) for k in ("license", "attribution", "citation", "time_note") if k in f.attrs}
        attrs["source_detail"] = h5_text(f.attrs.get("source", ""))
    attrs["repairs"] = json.dumps(counts)
    attrs["truth_note"] = ("legs: manually logged vehicle legs only (walking/waiting unlabelled); stays: not logged "
                           "(empty)")  # fmt: skip
    return tracks, attrs
