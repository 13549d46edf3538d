"""``momentsense shard next-event`` and ``momentsense train distributed``: training past one machine."""

from __future__ import annotations

import argparse

from momentsense.sdk.errors import InputError


def _shard_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="momentsense-timeline-v1 file")
    p.add_argument("--shards", type=int, required=True, help="number of shards = number of workers")
    p.add_argument("--out", required=True, help="directory for shard-NNNNN-of-NNNNN.npz")
    p.add_argument("--crops-per-user", type=int, default=4)
    p.add_argument("--max-events", type=int, default=192, help="events per crop (the LSTM's history length)")
    p.add_argument("--seed", type=int, default=0)


def _shard_run(args: argparse.Namespace) -> int:
    from momentsense.sdk.moments.tokens import EncodingConfig
    from momentsense.trainer.distributed import write_shards
    from momentsense.trainer.nextevent.train import TrainOptions

    if args.crops_per_user < 1:
        raise InputError(f"--crops-per-user must be >= 1, got {args.crops_per_user}")
    paths = write_shards(args.data, args.out, args.shards, TrainOptions(crops_per_user=args.crops_per_user),
                         EncodingConfig(max_events=args.max_events), seed=args.seed)
    print(f"wrote {len(paths)} shards to {args.out}")
    return 0


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shards", required=True, help="directory written by `momentsense shard next-event`")
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-per-worker", type=int, default=32)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--recall-heads", type=int, default=4, help="heads of the recall branch (0 = the plain LSTM)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backup-dir", default=None, help="BackupAndRestore checkpoint directory (default OUT/backup)")


def _train_run(args: argparse.Namespace) -> int:
    import json

    from momentsense.trainer.distributed import DistributedOptions, train_distributed

    opts = DistributedOptions(epochs=args.epochs, batch_per_worker=args.batch_per_worker, units=args.units, recall_heads=args.recall_heads,
                              seed=args.seed, backup_dir=args.backup_dir)
    print(json.dumps(train_distributed(args.shards, args.out, opts)))
    return 0


def register(cli) -> None:
    cli.command("shard next-event", "split a timeline file into one shard of next-event training crops per worker",
                _shard_args, _shard_run)
    cli.command("train distributed", "train the next-event LSTM on shards with MultiWorkerMirroredStrategy "
                "(run once per worker with its TF_CONFIG; alone without one)", _train_args, _train_run)
