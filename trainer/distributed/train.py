"""Multi-worker training of the next-event LSTM with ``tf.distribute.MultiWorkerMirroredStrategy``.

Every worker runs :func:`train_distributed` with the same arguments and its own ``TF_CONFIG``
(``{"cluster": {"worker": [host:port, ...]}, "task": {"type": "worker", "index": i}}``). Worker
``i`` reads shard ``i`` only (one shard per worker, no auto-sharding); a global batch is the
concatenation of one ``batch_per_worker`` slice from every shard, gradients are all-reduced, so all
workers hold identical weights after every step. Without ``TF_CONFIG`` (or with one worker) the
same function trains on one machine over all shards, zipped into the very same global batches: the
reference the multi-worker run must match.

Checkpoints: ``tf_keras.callbacks.BackupAndRestore`` in ``backup_dir`` at the end of every epoch. If
a worker dies, restart the whole group with the same command: training resumes at the epoch after
the last backup, with weights and optimizer state restored (the backup is removed once training
finishes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.moments.tokens import N_FEATURES, N_TOKENS
from momentsense.trainer.distributed.shards import read_shard, shard_paths


@dataclasses.dataclass(frozen=True)
class DistributedOptions:
    """Options of :func:`train_distributed`.

    Attributes:
        epochs: Passes over every shard.
        batch_per_worker: Crops each worker contributes to one global batch.
        learning_rate: Adam step size.
        units, embed: LSTM and projection widths (as :func:`edge_models.next_event.build_next_event_model`).
        recall_heads: Heads of the recall branch beside the LSTM (0: the plain LSTM); 4 as shipped.
        dropout: Dropout after the LSTM. 0 makes multi-worker and single-worker runs comparable step by
            step (dropout masks are drawn per replica).
        wait_weight: Weight of the wait head's loss.
        seed: Weight initialisation seed (the same on every worker: identical starting weights).
        backup_dir: Where BackupAndRestore keeps its checkpoint (default ``out_dir/backup``).
        threads: TensorFlow intra/inter-op threads per worker.
        fail_after_epoch: Testing only: raise after this epoch's backup, as a crashed worker would.
    """

    epochs: int = 2
    batch_per_worker: int = 32
    learning_rate: float = 3e-3
    units: int = 64
    embed: int = 32
    recall_heads: int = 4
    dropout: float = 0.0
    wait_weight: float = 0.2
    seed: int = 0
    backup_dir: Optional[str] = None
    threads: int = 1
    fail_after_epoch: Optional[int] = None

    def __post_init__(self):
        if self.recall_heads < 0:
            raise InputError(f"recall_heads must be >= 0, got {self.recall_heads}")
        if self.epochs < 1 or self.batch_per_worker < 1 or not self.learning_rate > 0:
            raise InputError(f"need epochs >= 1, batch_per_worker >= 1, learning_rate > 0; got {self.epochs}, "
                             f"{self.batch_per_worker}, {self.learning_rate}")


class SimulatedCrash(RuntimeError):
    """Raised by ``fail_after_epoch`` (tests of checkpoint/resume)."""


def cluster_from_env() -> tuple[int, int]:
    """``(n_workers, index)`` from ``TF_CONFIG``; ``(1, 0)`` without it. InputError when malformed."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 1, 0
    try:
        cfg = json.loads(raw)
        workers = cfg["cluster"]["worker"]
        task = cfg["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"TF_CONFIG must be JSON with cluster.worker and task.index: {exc}") from None
    if task.get("type", "worker") != "worker" or not 0 <= index < len(workers):
        raise InputError(f"TF_CONFIG task {task} is not one of the {len(workers)} workers")
    return len(workers), index


def train_distributed(shard_dir: str | Path, out_dir: str | Path, options: DistributedOptions = DistributedOptions()) -> dict:
    """Train the next-event LSTM on sharded crops; returns (and writes) the history and a weights digest.

    Writes ``out_dir/weights-worker{i}.npz`` (every worker: used to check they agree) and, on the
    chief (worker 0), ``out_dir/next_event_seq.keras`` and ``out_dir/history.json``.
    """
    n_workers, index = cluster_from_env()
    paths = shard_paths(shard_dir)
    if n_workers > 1 and len(paths) != n_workers:
        raise InputError(f"{shard_dir}: {len(paths)} shards for {n_workers} workers; write one shard per worker")
    import tensorflow as tf  # after TF_CONFIG is read: the strategy reads it at creation
    import tf_keras as keras

    tf.config.threading.set_intra_op_parallelism_threads(options.threads)
    tf.config.threading.set_inter_op_parallelism_threads(options.threads)
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(options.seed)
    metas, shards = zip(*(read_shard(p) for p in (paths if n_workers == 1 else [paths[index]])))
    n_ex = {m["examples"] for m in metas}
    if len(n_ex) != 1:
        raise InputError(f"{shard_dir}: shards hold different numbers of examples {sorted(n_ex)}")
    steps = next(iter(n_ex)) // options.batch_per_worker
    if steps < 1:
        raise InputError(f"{shard_dir}: {next(iter(n_ex))} examples per shard < batch_per_worker={options.batch_per_worker}")

    def dataset():
        per = [tf.data.Dataset.from_tensor_slices(s).batch(options.batch_per_worker, drop_remainder=True).take(steps)
               for s in shards]
        ds = per[0] if len(per) == 1 else tf.data.Dataset.zip(tuple(per)).map(
            lambda *b: tuple(tf.concat([bi[j] for bi in b], 0) for j in range(4)))
        ds = ds.map(lambda x, y, w, wait: (x, {"next": y, "wait": wait}, {"next": w, "wait": w}))
        opts = tf.data.Options()
        opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return ds.with_options(opts).repeat()

    strategy = tf.distribute.MultiWorkerMirroredStrategy() if n_workers > 1 else tf.distribute.get_strategy()
    with strategy.scope():
        from momentsense.edge_models.next_event import build_next_event_model

        seq_len = int(shards[0][0].shape[1]) if options.recall_heads else None
        model = build_next_event_model(N_FEATURES, N_TOKENS, options.units, options.embed, options.dropout, seed=options.seed,
                                       seq_len=seq_len, recall_heads=options.recall_heads)  # fmt: skip
        model.compile(optimizer=keras.optimizers.Adam(options.learning_rate, clipnorm=1.0),
                      loss={"next": keras.losses.SparseCategoricalCrossentropy(), "wait": keras.losses.Huber()},
                      loss_weights={"next": 1.0, "wait": options.wait_weight})
    if n_workers > 1:
        # Each worker feeds its own shard, already batched per replica (one replica per worker):
        # no re-batching and no auto-sharding by tf.distribute.
        data = strategy.distribute_datasets_from_function(lambda ctx: dataset())
    else:
        data = dataset()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    backup = options.backup_dir or str(out / "backup")
    callbacks = [keras.callbacks.BackupAndRestore(backup)]
    if options.fail_after_epoch is not None:
        crash_at = int(options.fail_after_epoch)

        class Crash(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == crash_at:
                    raise SimulatedCrash(f"simulated crash after epoch {epoch}")

        callbacks.append(Crash())
    h = model.fit(data, epochs=options.epochs, steps_per_epoch=steps, callbacks=callbacks, verbose=0)
    weights = model.get_weights()
    np.savez(out / f"weights-worker{index}.npz", *weights)
    result = {"n_workers": n_workers, "worker": index, "steps_per_epoch": steps, "epochs_run": h.epoch,
              "loss": [float(v) for v in h.history["loss"]],
              "global_batch": options.batch_per_worker * len(paths)}
    # Saving reads the mirrored variables with collective ops, so every worker must save (the
    # tf.distribute rule); only the chief's copy is kept.
    if index == 0:
        model.save(out / "next_event_seq.keras")
        (out / "history.json").write_text(json.dumps(result, indent=1))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp) / "next_event_seq.keras")
    return result
