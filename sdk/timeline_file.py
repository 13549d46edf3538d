"""Read, write and validate ``momentsense-timeline-v1`` files (JSON Lines or HDF5, ``docs/formats.md``).

A timeline is one event per row: ``user``, ``start``, ``end`` (unix seconds), ``kind`` (``visit``
or ``transport``), ``label`` (a place category for visits, a transport mode for transport),
``place_id`` (visits: a stable per-user id) and optional simulator ground truth (``moment`` per
transport event, ``segments`` and other ``truth`` per user). Ground truth is never a model input.

In memory a :class:`Timeline` is columnar (numpy arrays, categorical columns as codes into small
vocabularies) and sorted by user, then start, so that 10,000 users × 6 weeks (about 3 million
events) fit in a few hundred MB and each user's events are one slice.

Layouts
-------
JSON Lines (``.jsonl``, ``.json``)
    First line: a header object ``{"format": "momentsense-timeline-v1", "source": str,
    "users": {user: {"segments": [...], ...}}}`` (``users`` optional). Each further line: one event
    ``{"user", "start", "end", "kind", "label", "place_id"?, "moment"?}``.
HDF5 (``.h5``, ``.hdf5``; h5py is imported lazily, the phone does not need it)
    Root attributes ``format``, ``source``, ``label_names``, ``place_names``, ``moment_names``,
    ``kind_names`` (JSON lists). ``/events/{user (int32, index into /users/id), start, end
    (float64, unix s), kind (int8), label (int16), place_id (int32, -1 = none), moment (int16,
    -1 = none)}``; ``/users/{id, truth}`` (strings; ``truth`` is JSON with ``segments`` and the
    simulator's other per-user ground truth).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from momentsense.sdk.errors import FormatError, InputError, MomentsenseError
from momentsense.sdk.records import TRANSPORT_MODES

FORMAT = "momentsense-timeline-v1"
KINDS: tuple[str, ...] = ("visit", "transport")
#: Place categories a visit label may take.
PLACE_CATEGORIES: tuple[str, ...] = (
    "home", "work", "school", "shop", "gym", "bar", "restaurant", "friend", "park", "travel", "other",
)  # fmt: skip
#: Transport modes a transport label may take (``still`` is not a transport event).
TRANSPORT_LABELS: tuple[str, ...] = tuple(m for m in TRANSPORT_MODES if m != "still")
#: Ground-truth moments of transport events.
MOMENTS: tuple[str, ...] = (
    "commute", "school_run", "shopping", "business_trip", "leisure_trip", "sport", "night_out", "errand",
)  # fmt: skip
#: Every label, visits first: the vocabulary of the ``label`` column.
LABELS: tuple[str, ...] = PLACE_CATEGORIES + TRANSPORT_LABELS
#: Overlap tolerated between consecutive events of a user (float rounding), seconds.
OVERLAP_TOLERANCE_S = 1e-3
MAX_PROBLEMS_IN_MESSAGE = 8


@dataclasses.dataclass(frozen=True)
class Event:
    """One timeline row (the record the SDK's predictor consumes).

    Attributes:
        start, end: Unix seconds, ``end >= start``.
        kind: ``visit`` or ``transport``.
        label: Place category (visit) or transport mode (transport).
        place_id: Stable per-user place id for visits, ``""`` otherwise.
        user: User id (``""`` on the device, where there is one user).
        moment: Ground-truth moment (simulator only), ``""`` when unknown.
    """

    start: float
    end: float
    kind: str
    label: str
    place_id: str = ""
    user: str = ""
    moment: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Event":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InputError(f"Event: unknown fields {sorted(unknown)}; known: {sorted(names)}")
        return cls(**d)


class Timeline:
    """Columnar events of many users, sorted by user then start.

    Attributes:
        users: User ids, in order; ``user`` codes index into it.
        user: int32 ``(N,)`` user code of each event.
        start, end: float64 ``(N,)`` unix seconds.
        kind: int8 ``(N,)`` index into :data:`KINDS`.
        label: int16 ``(N,)`` index into :data:`LABELS`.
        place_id: int32 ``(N,)`` index into ``place_names``, -1 for none.
        place_names: Vocabulary of ``place_id``.
        moment: int16 ``(N,)`` index into :data:`MOMENTS`, -1 for none/unknown.
        truth: ``{user: dict}`` per-user ground truth (``segments`` list and simulator extras).
        source: Provenance (simulator version and seed).
        offsets: int64 ``(len(users) + 1,)``: user ``u``'s events are ``offsets[u]:offsets[u+1]``.
    """

    def __init__(self, users, user, start, end, kind, label, place_id, place_names, moment=None,
                 truth=None, source: str = "", validate: bool = True):  # fmt: skip
        self.users = tuple(str(u) for u in users)
        self.user = np.asarray(user, np.int32)
        self.start = np.asarray(start, np.float64)
        self.end = np.asarray(end, np.float64)
        self.kind = np.asarray(kind, np.int8)
        self.label = np.asarray(label, np.int16)
        self.place_id = np.asarray(place_id, np.int32)
        self.place_names = tuple(str(p) for p in place_names)
        n = len(self.start)
        self.moment = np.full(n, -1, np.int16) if moment is None else np.asarray(moment, np.int16)
        self.truth = dict(truth or {})
        self.source = str(source)
        if validate:
            problems = validate_columns(self)
            if problems:
                raise InputError(_summarise("timeline", problems))
        counts = np.bincount(self.user, minlength=len(self.users)) if n else np.zeros(len(self.users), np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.start)

    def __repr__(self) -> str:
        return f"Timeline({len(self.users)} users, {len(self)} events, source={self.source!r})"

    def user_slice(self, u: int) -> slice:
        """Slice of user code ``u``'s events."""
        return slice(int(self.offsets[u]), int(self.offsets[u + 1]))

    def events(self, u: int) -> list[Event]:
        """User ``u``'s events as :class:`Event` records (slow path: apps, tests)."""
        s = self.user_slice(u)
        uid = self.users[u]
        out = []
        for i in range(s.start, s.stop):
            out.append(Event(float(self.start[i]), float(self.end[i]), KINDS[self.kind[i]], LABELS[self.label[i]],
                             self.place_names[self.place_id[i]] if self.place_id[i] >= 0 else "", uid,
                             MOMENTS[self.moment[i]] if self.moment[i] >= 0 else ""))  # fmt: skip
        return out

    def subset(self, user_codes: Sequence[int]) -> "Timeline":
        """A new timeline with only the given users (in the given order)."""
        idx = [np.arange(self.offsets[u], self.offsets[u + 1]) for u in user_codes]
        sel = np.concatenate(idx) if idx else np.zeros(0, np.int64)
        new_user = np.repeat(np.arange(len(user_codes), dtype=np.int32), [len(i) for i in idx])
        users = [self.users[u] for u in user_codes]
        return Timeline(users, new_user, self.start[sel], self.end[sel], self.kind[sel], self.label[sel],
                        self.place_id[sel], self.place_names, self.moment[sel],
                        {u: self.truth[u] for u in users if u in self.truth}, self.source, validate=False)  # fmt: skip

    def with_times(self, start: np.ndarray, end: np.ndarray) -> "Timeline":
        """A copy with new start/end columns (validated: order and end >= start still hold)."""
        return Timeline(self.users, self.user, start, end, self.kind, self.label, self.place_id, self.place_names,
                        self.moment, self.truth, self.source, validate=True)  # fmt: skip

    @classmethod
    def from_events(cls, events: Iterable[Event | dict], truth: Optional[dict] = None, source: str = "") -> "Timeline":
        """Build a timeline from records or dicts (any user order; each user's events must be in order).

        Raises
        ------
        InputError
            Unknown kind/label/moment, end < start, events out of order or overlapping, no events.
        """
        rows = [e if isinstance(e, Event) else Event.from_dict(dict(e)) for e in events]
        return _from_rows(rows, truth, source, where="events")


def _code(value: str, vocab: Sequence[str], field: str, where: str, index: int) -> int:
    try:
        return vocab.index(value)
    except ValueError:
        raise InputError(f"{where}: row {index}: unknown {field} {value!r}; expected one of {list(vocab)}") from None


def _from_rows(rows: list[Event], truth, source, where: str) -> Timeline:
    if not rows:
        raise InputError(f"{where}: the timeline is empty (no events)")
    users: list[str] = []
    user_index: dict[str, int] = {}
    places: list[str] = []
    place_index: dict[str, int] = {}
    cols = {k: [] for k in ("user", "start", "end", "kind", "label", "place_id", "moment")}
    label_index = {lab: i for i, lab in enumerate(LABELS)}
    for i, e in enumerate(rows):
        if e.user not in user_index:
            user_index[e.user] = len(users)
            users.append(e.user)
        kind = _code(e.kind, KINDS, "kind", where, i)
        if e.label not in label_index:
            raise InputError(f"{where}: row {i}: unknown label {e.label!r}; expected one of {list(LABELS)}")
        lab = label_index[e.label]
        allowed = PLACE_CATEGORIES if kind == 0 else TRANSPORT_LABELS
        if e.label not in allowed:
            raise InputError(f"{where}: row {i}: label {e.label!r} is not a {KINDS[kind]} label; expected one of {list(allowed)}")
        pid = -1
        if e.place_id:
            if e.place_id not in place_index:
                place_index[e.place_id] = len(places)
                places.append(e.place_id)
            pid = place_index[e.place_id]
        mom = _code(e.moment, MOMENTS, "moment", where, i) if e.moment else -1
        try:
            start, end = float(e.start), float(e.end)
        except (TypeError, ValueError):
            raise InputError(f"{where}: row {i}: start/end must be numbers (unix seconds), got {e.start!r}, {e.end!r}") from None
        for k, v in (("user", user_index[e.user]), ("start", start), ("end", end), ("kind", kind), ("label", lab),
                     ("place_id", pid), ("moment", mom)):  # fmt: skip
            cols[k].append(v)
    user = np.asarray(cols["user"], np.int32)
    start = np.asarray(cols["start"], np.float64)
    order = np.lexsort((np.arange(len(user)), user))  # stable by user; keep given order within a user
    c = {k: np.asarray(v)[order] for k, v in cols.items()}
    return Timeline(users, c["user"], c["start"], c["end"], c["kind"], c["label"], c["place_id"], places, c["moment"],
                    truth, source)  # fmt: skip


def validate_columns(tl: Timeline) -> list[str]:
    """Problems of a columnar timeline (empty list when valid): shapes, codes, times, order per user."""
    n = len(tl.start)
    problems = []
    if n == 0:
        return ["the timeline is empty (no events)"]
    for name in ("user", "end", "kind", "label", "place_id", "moment"):
        if len(getattr(tl, name)) != n:
            problems.append(f"column {name} has {len(getattr(tl, name))} rows, start has {n}")
    if problems:
        return problems
    for name in ("start", "end"):
        bad = np.flatnonzero(~np.isfinite(getattr(tl, name)))
        if len(bad):
            problems.append(f"{name}[{bad[0]}] is not finite ({len(bad)} rows)")
    for name, vocab in (("user", tl.users), ("kind", KINDS), ("label", LABELS), ("place_id", tl.place_names), ("moment", MOMENTS)):
        col = getattr(tl, name)
        low = 0 if name in ("user", "kind", "label") else -1
        bad = np.flatnonzero((col < low) | (col >= len(vocab)))
        if len(bad):
            problems.append(f"{name}[{bad[0]}] = {col[bad[0]]} is not a valid code (0..{len(vocab) - 1}; {len(bad)} rows)")
    if problems:
        return problems
    bad = np.flatnonzero(tl.end < tl.start)
    if len(bad):
        i = bad[0]
        problems.append(f"row {i} (user {tl.users[tl.user[i]]!r}): end {tl.end[i]!r} < start {tl.start[i]!r} ({len(bad)} rows)")
    if np.any(np.diff(tl.user) < 0):
        i = int(np.flatnonzero(np.diff(tl.user) < 0)[0]) + 1
        problems.append(f"rows must be grouped by user in order; row {i} goes back to user {tl.users[tl.user[i]]!r}")
    same = tl.user[1:] == tl.user[:-1]
    back = np.flatnonzero(same & (tl.start[1:] < tl.start[:-1]))
    if len(back):
        i = back[0] + 1
        problems.append(f"events out of order for user {tl.users[tl.user[i]]!r}: row {i} starts at {tl.start[i]!r}, "
                        f"before row {i - 1} ({tl.start[i - 1]!r}); {len(back)} rows")  # fmt: skip
    over = np.flatnonzero(same & (tl.start[1:] < tl.end[:-1] - OVERLAP_TOLERANCE_S))
    if len(over) and not len(back):
        i = over[0] + 1
        problems.append(f"events overlap for user {tl.users[tl.user[i]]!r}: row {i} starts at {tl.start[i]!r}, "
                        f"before row {i - 1} ends ({tl.end[i - 1]!r}); {len(over)} rows")  # fmt: skip
    lab_is_visit = tl.label < len(PLACE_CATEGORIES)
    bad = np.flatnonzero(lab_is_visit != (tl.kind == 0))
    if len(bad):
        i = bad[0]
        problems.append(f"row {i}: label {LABELS[tl.label[i]]!r} does not fit kind {KINDS[tl.kind[i]]!r} ({len(bad)} rows)")
    return problems


def _summarise(where: str, problems: list[str]) -> str:
    head = "; ".join(problems[:MAX_PROBLEMS_IN_MESSAGE])
    more = f" (and {len(problems) - MAX_PROBLEMS_IN_MESSAGE} more)" if len(problems) > MAX_PROBLEMS_IN_MESSAGE else ""
    return f"{where}: not a valid {FORMAT} timeline: {head}{more}"


class MissingDependencyError(MomentsenseError, ImportError):
    """h5py is needed to read or write HDF5 timelines (a desktop feature)."""


def _h5py():
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError("HDF5 timelines need h5py: pip install h5py (or use JSON Lines)") from None
    return h5py


def _is_hdf5(path: Path) -> bool:
    return path.suffix.lower() in (".h5", ".hdf5")


def write_timeline(path: str | Path, tl: Timeline) -> Path:
    """Write ``tl`` to ``path`` (HDF5 for ``.h5``/``.hdf5``, JSON Lines otherwise), atomically.

    Parameters
    ----------
    path : path
        Destination; its suffix picks the layout.
    tl : Timeline
        Validated on the way out.

    Returns
    -------
    Path
    """
    path = Path(path)
    problems = validate_columns(tl)
    if problems:
        raise InputError(_summarise(str(path), problems))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=path.suffix + ".part")
    os.close(fd)
    try:
        if _is_hdf5(path):
            _write_h5(tmp, tl)
        else:
            _write_jsonl(tmp, tl)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_h5(path: str, tl: Timeline) -> None:
    h5py = _h5py()
    s = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["source"] = tl.source
        for key, vocab in (("kind_names", KINDS), ("label_names", LABELS), ("place_names", tl.place_names), ("moment_names", MOMENTS)):
            f.attrs[key] = json.dumps(list(vocab))
        ev = f.create_group("events")
        for name in ("user", "start", "end", "kind", "label", "place_id", "moment"):
            ev.create_dataset(name, data=getattr(tl, name), compression="gzip", compression_opts=4, shuffle=True)
        us = f.create_group("users")
        us.create_dataset("id", data=np.array(tl.users, dtype=object), dtype=s)
        us.create_dataset("truth", data=np.array([json.dumps(tl.truth.get(u, {})) for u in tl.users], dtype=object), dtype=s)


def _write_jsonl(path: str, tl: Timeline) -> None:
    with open(path, "w", encoding="utf-8") as f:
        header = {"format": FORMAT, "source": tl.source, "users": {u: tl.truth[u] for u in tl.users if u in tl.truth}}
        f.write(json.dumps(header) + "\n")
        kinds, labels, places = KINDS, LABELS, tl.place_names
        for i in range(len(tl)):
            row = {"user": tl.users[tl.user[i]], "start": float(tl.start[i]), "end": float(tl.end[i]),
                   "kind": kinds[tl.kind[i]], "label": labels[tl.label[i]]}  # fmt: skip
            if tl.place_id[i] >= 0:
                row["place_id"] = places[tl.place_id[i]]
            if tl.moment[i] >= 0:
                row["moment"] = MOMENTS[tl.moment[i]]
            f.write(json.dumps(row) + "\n")


def read_timeline(path: str | Path) -> Timeline:
    """Read and validate a timeline file.

    Parameters
    ----------
    path : path
        ``.h5``/``.hdf5`` (needs h5py) or JSON Lines.

    Returns
    -------
    Timeline

    Raises
    ------
    FormatError
        Not a ``momentsense-timeline-v1`` file, malformed rows or columns; the message names the
        file, the line or column, and what was expected.
    FileNotFoundError
        No such file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such timeline file")
    try:
        return _read_h5(path) if _is_hdf5(path) else _read_jsonl(path)
    except InputError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _read_jsonl(path: Path) -> Timeline:
    rows = []
    with open(path, encoding="utf-8") as f:
        first = f.readline()
        try:
            header = json.loads(first) if first.strip() else None
        except json.JSONDecodeError as exc:
            raise FormatError(f"{path}: line 1: the header is not valid JSON ({exc})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            got = header.get("format") if isinstance(header, dict) else header
            raise FormatError(f"{path}: line 1 must be a header with \"format\": \"{FORMAT}\", got {got!r}")
        for n, line in enumerate(f, start=2):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"{path}: line {n}: not valid JSON ({exc})") from None
            if not isinstance(d, dict):
                raise FormatError(f"{path}: line {n}: an event must be a JSON object, got {type(d).__name__}")
            missing = [k for k in ("user", "start", "end", "kind", "label") if k not in d]
            if missing:
                raise FormatError(f"{path}: line {n}: event lacks the required fields {missing}")
            try:
                rows.append(Event.from_dict(d))
            except (InputError, TypeError) as exc:
                raise FormatError(f"{path}: line {n}: {exc}") from None
    users = header.get("users") or {}
    if not isinstance(users, dict):
        raise FormatError(f"{path}: line 1: header 'users' must be an object {{user: truth}}")
    return _from_rows(rows, users, str(header.get("source", "")), where=str(path))


def _read_h5(path: Path) -> Timeline:
    h5py = _h5py()
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != FORMAT:
            raise FormatError(f"{path}: root attribute 'format' must be {FORMAT!r}, got {fmt!r}")
        vocab = {}
        for key in ("kind_names", "label_names", "place_names", "moment_names"):
            try:
                vocab[key] = json.loads(f.attrs[key])
            except KeyError:
                raise FormatError(f"{path}: root attribute {key!r} is missing") from None
            except (TypeError, json.JSONDecodeError):
                raise FormatError(f"{path}: root attribute {key!r} must be a JSON list of names") from None
        cols = {}
        for name in ("user", "start", "end", "kind", "label", "place_id", "moment"):
            if f"events/{name}" not in f:
                raise FormatError(f"{path}: /events/{name} is missing")
            cols[name] = f[f"events/{name}"][()]
        for name in ("users/id", "users/truth"):
            if name not in f:
                raise FormatError(f"{path}: /{name} is missing")
        users = [u.decode() if isinstance(u, bytes) else str(u) for u in f["users/id"][()]]
        truth_raw = [t.decode() if isinstance(t, bytes) else str(t) for t in f["users/truth"][()]]
        source = f.attrs.get("source", "")
        source = source.decode() if isinstance(source, bytes) else str(source)
    # Remap stored codes onto this version's vocabularies (a file may order them differently).
    for key, name, ours in (("kind_names", "kind", KINDS), ("label_names", "label", LABELS), ("moment_names", "moment", MOMENTS)):
        theirs = vocab[key]
        unknown = [v for v in theirs if v not in ours]
        if unknown:
            raise FormatError(f"{path}: root attribute {key!r} has unknown names {unknown}; expected a subset of {list(ours)}")
        lut = np.array([ours.index(v) for v in theirs] + [-1], np.int64)
        col = np.asarray(cols[name], np.int64)
        bad = (col < (-1 if name == "moment" else 0)) | (col >= len(theirs))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FormatError(f"{path}: /events/{name}[{i}] = {col[i]} is not a valid code")
        cols[name] = lut[col]
    truth = {}
    for u, t in zip(users, truth_raw):
        try:
            truth[u] = json.loads(t) if t else {}
        except json.JSONDecodeError:
            raise FormatError(f"{path}: /users/truth of user {u!r} is not valid JSON") from None
    n = len(cols["start"])
    lens = {k: len(v) for k, v in cols.items()}
    if any(v != n for v in lens.values()):
        raise FormatError(f"{path}: /events columns differ in length: {lens}")
    return Timeline(users, cols["user"], cols["start"], cols["end"], cols["kind"], cols["label"], cols["place_id"],
                    vocab["place_names"], cols["moment"], truth, source)  # fmt: skip


def iter_user_events(tl: Timeline) -> Iterator[tuple[str, list[Event]]]:
    """Yield ``(user, events)`` for each user (slow path for apps and tests)."""
    for u, uid in enumerate(tl.users):
        yield uid, tl.events(u)
