"""Which model class a file's label stands for, when a real dataset names its activities its own way.

A file label is matched to the model's classes in this order:

1. an override given by the user (``--label-map A=B,C=D``; ``*=B`` maps every label of the file to
   ``B``, e.g. ``*=car`` for driving trips whose labels name harsh events, not modes);
2. a model class of the same name;
3. :data:`DEFAULT_LABEL_MAP` (WISDM's, US-TM2017's and other public datasets' names);
4. otherwise unmapped: its seconds are still counted (confusion row, ``as_vehicle``) but it has no
   recall, since no model class is right for it (``tram`` by default: the model has no tram).
"""

from __future__ import annotations

from typing import Optional, Sequence

from momentsense.sdk.errors import InputError

#: Default table: file label (lower case) → model class. Stairs are walking, jogging is running,
#: every posture without locomotion is still.
DEFAULT_LABEL_MAP: dict[str, str] = {
    "walking": "walk", "walking_upstairs": "walk", "walking_downstairs": "walk", "upstairs": "walk",
    "downstairs": "walk", "stairs": "walk", "walking_stairs": "walk",
    "jogging": "run", "running": "run",
    "sitting": "still", "standing": "still", "lying": "still", "laying": "still", "sit": "still",
    "stand": "still", "lie": "still", "sleeping": "still",
    "bicycle": "bike", "biking": "bike", "cycling": "bike",
    "driving": "car", "metro": "subway", "underground": "subway",
}  # fmt: skip


def parse_label_map(text: Optional[str]) -> dict[str, str]:
    """``"A=B,C=D"`` → ``{"A": "B", "C": "D"}``; ``"*=car"`` → ``{"*": "car"}``. Empty/None → ``{}``."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        a, sep, b = item.partition("=")
        if not sep or not a.strip() or not b.strip():
            raise InputError(f"--label-map takes FILE_LABEL=MODEL_CLASS pairs separated by commas (or '*=CLASS'), got {item!r}")
        out[a.strip()] = b.strip()
    return out


def resolve_label_map(
    file_names: Sequence[str], model_names: Sequence[str], overrides: Optional[dict[str, str]] = None
) -> dict[str, Optional[str]]:
    """The model class (or None) for every label of the file.

    Raises
    ------
    InputError
        An override names a label the file does not have, or a class the model does not have.
    """
    overrides = dict(overrides or {})
    models = list(model_names)
    for a, b in overrides.items():
        if b not in models:
            raise InputError(f"--label-map {a}={b}: {b!r} is not a class of the model {models}")
        if a != "*" and a not in file_names:
            raise InputError(f"--label-map {a}={b}: the data has no label {a!r} (its labels: {list(file_names)})")
    star = overrides.pop("*", None)
    out: dict[str, Optional[str]] = {}
    for name in file_names:
        if name in overrides:
            out[name] = overrides[name]
        elif star is not None:
            out[name] = star
        elif name in models:
            out[name] = name
        else:
            target = DEFAULT_LABEL_MAP.get(name.lower())
            out[name] = target if target in models else None
    return out


def remap_dataset(ds, model_names: Sequence[str], mapping: dict):
    """``ds`` with its labels rewritten as model class indices (unmapped labels → -1, unknown).

    The recordings' ``events`` (indices into the file's labels) are dropped: they would no longer
    match ``label_names``.
    """
    import dataclasses

    import numpy as np

    from momentsense.sdk.records import ImuDataset

    models = list(model_names)
    lut = np.array([models.index(mapping[n]) if mapping.get(n) is not None else -1 for n in ds.label_names] + [-1], np.int16)
    recs = []
    for r in ds.recordings:
        lab = None if r.label is None else lut[np.where(np.asarray(r.label) < 0, -1, np.asarray(r.label))]
        recs.append(dataclasses.replace(r, label=lab, events=None))
    windows = None
    if ds.windows is not None:
        lab = np.asarray(ds.windows.label)
        windows = dataclasses.replace(ds.windows, label=lut[np.where(lab < 0, -1, lab)])
    return ImuDataset(models, ds.source, recs, windows, dict(ds.attrs))
