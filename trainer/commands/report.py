"""``momentsense report``: write or check ``docs/results.md`` from the committed metrics files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=None,
                   help="where to write the page (default: docs/results.md of the repository)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the page differs from what the metrics files generate")


def _run(args: argparse.Namespace) -> int:
    from momentsense.sdk.errors import InputError
    from momentsense.trainer.report import REPO, render

    out = args.out or REPO / "docs" / "results.md"
    text = render()
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else ""
        if current != text:
            print(f"{out} is out of date: run 'momentsense report' and commit it", file=sys.stderr)
            return 1
        print(f"{out} is up to date")
        return 0
    if not out.parent.is_dir():
        raise InputError(f"{out}: its folder {out.parent} does not exist")
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


def register(cli) -> None:
    cli.command("report", "write docs/results.md from the committed metrics and result files (--check: verify it)", _args, _run)
