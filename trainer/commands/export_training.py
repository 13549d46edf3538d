"""``momentsense export-training``: ingested timelines and feedback → trainer datasets."""

from __future__ import annotations

import argparse


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True, help="the server's SQLAlchemy URL (e.g. sqlite:///momentsense-server.db)")
    p.add_argument("--out", required=True, help="timeline file to write (.jsonl or .h5); feedback goes to <stem>.feedback.jsonl")


def _run(args: argparse.Namespace) -> int:
    import json

    from momentsense.sdk.errors import InputError

    try:
        from momentsense.trainer.server.export import export_training
    except ImportError as exc:
        raise InputError(f"export-training needs the [server] extra: pip install -e '.[server]' ({exc})") from None
    if not str(args.out).endswith((".jsonl", ".json", ".h5", ".hdf5")):
        raise InputError(f"--out must end in .jsonl, .json, .h5 or .hdf5, got {args.out!r}")
    if "://" not in args.db:
        raise InputError(f"--db must be a SQLAlchemy URL such as sqlite:///file.db, got {args.db!r}")
    if args.db.startswith("sqlite:///"):
        from pathlib import Path

        db_file = Path(args.db[len("sqlite:///"):])
        if not db_file.exists():
            raise InputError(f"--db {args.db}: database file {db_file} not found")
    r = export_training(args.db, args.out)
    print(json.dumps({"timeline": str(r.timeline_path), "feedback": str(r.feedback_path), "users": r.users,
                      "events": r.events, "days": r.days, "feedback_rows": r.feedback}, indent=2))  # fmt: skip
    return 0


def register(cli) -> None:
    cli.command("export-training", "export ingested timelines (+ feedback as evaluation labels) as trainer datasets", _args, _run)
