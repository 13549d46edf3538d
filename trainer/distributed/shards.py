"""Shard a timeline file into per-worker files of next-event training crops (numpy ``.npz``).

Users, not events, are split across shards (user ``i`` of the shuffled list goes to shard
``i % n``), so no worker sees another's users and a user is never split. Each shard holds one pass
of random crops (:func:`trainer.nextevent.train.make_crops`, augmentation included), shuffled once
with the seed; every epoch reads the whole pass in the same order, so a worker group that resumes
from a checkpoint sees exactly the batches it would have seen. All shards hold the same number of
examples, because collective training needs every worker to take the same number of steps: the
larger shards are cut to the smallest (the count is in the metadata).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.moments.tokens import EncodingConfig
from momentsense.sdk.io.timeline_file import read_timeline
from momentsense.trainer.nextevent.data import user_sequences
from momentsense.trainer.nextevent.train import TrainOptions, make_crops

SHARD_PATTERN = "shard-{:05d}-of-{:05d}.npz"


def shard_paths(directory: str | Path) -> list[Path]:
    """The shard files in ``directory``, in worker order; InputError when there are none or gaps."""
    d = Path(directory)
    paths = sorted(d.glob("shard-*-of-*.npz"))
    if not paths:
        raise InputError(f"{d}: no shard files (shard-NNNNN-of-NNNNN.npz); write them with `momentsense shard next-event`")
    n = int(paths[0].stem.split("-of-")[1])
    want = [d / SHARD_PATTERN.format(i, n) for i in range(n)]
    if paths != want:
        raise InputError(f"{d}: expected the {n} shards {want[0].name} .. {want[-1].name}, found {[p.name for p in paths]}")
    return paths


def write_shards(data: str | Path, out_dir: str | Path, n_shards: int,
                 options: TrainOptions = TrainOptions(), config: EncodingConfig = EncodingConfig(),
                 seed: int = 0) -> list[Path]:
    """Write ``n_shards`` shard files of crops from the users of a ``momentsense-timeline-v1`` file.

    Parameters
    ----------
    data : path
        Timeline file (only start, end and label are used).
    out_dir : path
        Created if missing; existing shards there are replaced.
    n_shards : int
        One per worker (>= 1, <= number of users).
    options, config : TrainOptions, EncodingConfig
        Crops per user, augmentation, sequence length (``config.max_events``).
    seed : int
        User shuffle and crop seed.

    Returns
    -------
    list of Path
        The shard files, in worker order.
    """
    if int(n_shards) < 1:
        raise InputError(f"n_shards must be >= 1, got {n_shards!r}")
    tl = read_timeline(data)
    n_users = len(tl.users)
    if n_users < n_shards:
        raise InputError(f"{data}: {n_users} users cannot fill {n_shards} shards (one user per shard at least)")
    order = np.random.default_rng(seed).permutation(n_users)
    groups = [order[i::n_shards] for i in range(n_shards)]
    opts = dataclasses.replace(options, seed=seed)
    per_shard = []
    for k, users in enumerate(groups):
        seqs = user_sequences(tl, sorted(users.tolist()), config.utc_offset_s)
        x, y, w, wait = make_crops(seqs, config, dataclasses.replace(opts, seed=seed * 1000 + k), 0)
        perm = np.random.default_rng([seed, k]).permutation(len(x))
        per_shard.append((x[perm], y[perm], w[perm], wait[perm]))
    n_min = min(p[0].shape[0] for p in per_shard)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("shard-*-of-*.npz"):
        old.unlink()
    paths = []
    for k, (x, y, w, wait) in enumerate(per_shard):
        arrays = {"x": x[:n_min], "y": y[:n_min], "w": w[:n_min], "wait": wait[:n_min]}
        meta = {"format": "momentsense-shard-v1", "shard": k, "n_shards": n_shards, "examples": int(n_min), "users": [tl.users[u] for u in sorted(groups[k].tolist())],
                "source": str(data), "config": config.to_dict()}
        path = out / SHARD_PATTERN.format(k, n_shards)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
        tmp.replace(path)  # a crash leaves no half-written shard under the final name
        paths.append(path)
    return paths


def read_shard(path: str | Path) -> tuple[dict, tuple[np.ndarray, ...]]:
    """``(meta, (x, y, w, wait))`` of a shard (crops as in :func:`trainer.nextevent.train.make_crops`)."""
    p = Path(path)
    try:
        z = np.load(p, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        arrays = tuple(z[k] for k in ("x", "y", "w", "wait"))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{p}: not a readable momentsense shard ({exc})") from None
    if meta.get("format") != "momentsense-shard-v1":
        raise InputError(f"{p}: format {meta.get('format')!r}, expected 'momentsense-shard-v1'")
    return meta, arrays
