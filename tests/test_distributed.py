"""Training past one machine: shards and MultiWorkerMirroredStrategy with two workers on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.moments.tokens import EncodingConfig
from momentsense.trainer.distributed import read_shard, shard_paths, write_shards
from momentsense.trainer.nextevent.train import TrainOptions

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--epochs", "2", "--batch-per-worker", "8", "--units", "16"]


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    out = tmp_path_factory.mktemp("pop") / "pop.h5"
    from momentsense.trainer.cli import main

    assert main(["simulate", "population", "--users", "12", "--weeks", "4", "--seed", "3", "--out", str(out),
                 "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def shards(population, tmp_path_factory):
    d = tmp_path_factory.mktemp("shards")
    write_shards(population, d, 2, TrainOptions(crops_per_user=4), EncodingConfig(max_events=48), seed=0)
    return d


def test_shards_split_users_and_hold_equal_counts(shards):
    """Every user is in exactly one shard, and every shard has the same number of crops."""
    (m0, a0), (m1, a1) = (read_shard(p) for p in shard_paths(shards))
    assert set(m0["users"]).isdisjoint(m1["users"]) and len(m0["users"]) + len(m1["users"]) == 12
    assert m0["examples"] == m1["examples"] == len(a0[0]) == len(a1[0]) > 0
    assert a0[0].shape[1:] == (48, a0[0].shape[2]) and a0[1].shape == a0[2].shape == (len(a0[0]), 48)


def test_bad_shard_input_is_refused(population, shards, tmp_path):
    with pytest.raises(InputError, match="cannot fill"):
        write_shards(population, tmp_path / "x", 13)
    with pytest.raises(InputError, match="no shard files"):
        shard_paths(tmp_path)
    (tmp_path / "shard-00000-of-00002.npz").write_bytes(b"not a shard")
    with pytest.raises(InputError, match="expected the 2 shards"):
        shard_paths(tmp_path)
    (tmp_path / "shard-00001-of-00002.npz").write_bytes(b"not a shard")
    with pytest.raises(InputError, match="not a readable"):
        read_shard(tmp_path / "shard-00001-of-00002.npz")


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _worker(shards, out, extra=(), tf_config=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="-1")
    env.pop("TF_CONFIG", None)
    if tf_config:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return subprocess.Popen([sys.executable, "-m", "momentsense.trainer.distributed", str(shards), str(out), *ARGS, *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(p, timeout=240):
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def _weights(path):
    z = np.load(path)
    return [z[k] for k in sorted(z.files, key=lambda k: int(k.split("_")[1]))]


def test_two_workers_match_each_other_and_a_resumed_single_worker(shards, tmp_path):
    """Two workers on loopback end with identical weights; a single worker that crashed after epoch 0
    and was restarted resumes from its checkpoint and ends with the same weights and losses."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workers = [_worker(shards, tmp_path / "multi", tf_config={"cluster": cluster, "task": {"type": "worker", "index": i}})
               for i in range(2)]
    rc, _, err = _finish(_worker(shards, tmp_path / "single", ["--fail-after-epoch", "0"]))
    assert rc == 3, err[-2000:]  # the simulated crash, after epoch 0's checkpoint
    rc, out, err = _finish(_worker(shards, tmp_path / "single"))
    assert rc == 0, err[-2000:]
    single = json.loads(out.strip().splitlines()[-1])
    assert single["epochs_run"] == [1]  # resumed: epoch 0 was not run again
    results = []
    for w in workers:
        rc, out, err = _finish(w)
        assert rc == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["n_workers"] for r in results] == [2, 2] and results[0]["loss"] == results[1]["loss"]
    assert results[0]["global_batch"] == single["global_batch"] == 16
    np.testing.assert_allclose(results[0]["loss"][1], single["loss"][0], rtol=1e-5)
    w0, w1 = _weights(tmp_path / "multi" / "weights-worker0.npz"), _weights(tmp_path / "multi" / "weights-worker1.npz")
    ws = _weights(tmp_path / "single" / "weights-worker0.npz")
    for a, b, c in zip(w0, w1, ws):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, atol=1e-5)
    assert (tmp_path / "multi" / "next_event_seq.keras").exists()


def test_malformed_tf_config_is_a_clear_error(monkeypatch):
    from momentsense.trainer.distributed.train import cluster_from_env

    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(InputError, match="TF_CONFIG"):
        cluster_from_env()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}))
    with pytest.raises(InputError, match="not one of"):
        cluster_from_env()
