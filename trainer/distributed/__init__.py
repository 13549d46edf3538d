"""Training past one machine: sharded next-event data and ``tf.distribute.MultiWorkerMirroredStrategy``.

``write_shards`` (one file per worker) → ``train_distributed`` on every worker (``TF_CONFIG`` says
who is who) → identical weights on all workers; ``BackupAndRestore`` checkpoints let a restarted
worker group resume from the last finished epoch.
"""

from momentsense.trainer.distributed.shards import read_shard, shard_paths, write_shards
from momentsense.trainer.distributed.train import DistributedOptions, train_distributed

__all__ = ["DistributedOptions", "read_shard", "shard_paths", "train_distributed", "write_shards"]
