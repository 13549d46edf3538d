"""``python -m momentsense.trainer.distributed SHARD_DIR OUT_DIR [--epochs E] ...``: one worker (reads TF_CONFIG)."""

from __future__ import annotations

import argparse
import json
import sys

from momentsense.trainer.distributed.train import (
    DistributedOptions,
    SimulatedCrash,
    train_distributed,
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shards")
    ap.add_argument("out")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-per-worker", type=int, default=32)
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backup-dir", default=None)
    ap.add_argument("--fail-after-epoch", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    opts = DistributedOptions(epochs=a.epochs, batch_per_worker=a.batch_per_worker, units=a.units, seed=a.seed,
                              backup_dir=a.backup_dir, fail_after_epoch=a.fail_after_epoch)
    try:
        print(json.dumps(train_distributed(a.shards, a.out, opts)))
    except SimulatedCrash as exc:
        print(f"crashed: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
