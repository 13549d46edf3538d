"""``momentsense simulate phone-view``, ``train place-categories`` and ``eval place-categories``."""

from __future__ import annotations

import argparse

from momentsense.sdk.errors import InputError


def view_args(p: argparse.ArgumentParser, default: str = "phone") -> None:
    """``--view``, ``--confusion``, ``--place-model``, ``--view-seed``: shared by the eval commands."""
    p.add_argument("--view", choices=("phone", "truth"), default=default,
                   help=f"what the phone records or the simulator's true timeline (default {default})")
    p.add_argument("--confusion", default=None,
                   help="mode confusion JSON for the phone view (rows true, columns detected; default: the shipped transport model's test windows)")
    p.add_argument("--place-model", default=None, help="place-category model for the phone view (default: the shipped one)")
    p.add_argument("--view-seed", type=int, default=0, help="seed of the phone view's draws (default 0)")


def _pv_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="a simulated momentsense-timeline-v1 file (the true view)")
    p.add_argument("--out", required=True, help="output phone-view timeline (.h5 or .jsonl)")
    p.add_argument("--arrival-early-s", type=float, default=100.0, help="a visit is detected up to this many s before the arrival (default 100)")
    p.add_argument("--departure-late-s", type=float, default=130.0, help="and ends up to this many s after the departure (default 130)")
    view_args(p)


def _pv_run(args: argparse.Namespace) -> int:
    from momentsense.sdk.timeline.place_categories import load_place_category_model
    from momentsense.sdk.io.timeline_file import read_timeline, write_timeline
    from momentsense.trainer.population.phone_view import (
        DEFAULT_CONFUSION_PATH, PHONE_VIEW_VERSION, ModeConfusion, PhoneViewOptions, phone_view,
    )  # fmt: skip

    for name in ("arrival_early_s", "departure_late_s"):
        if not (0 <= getattr(args, name) <= 3600):
            raise InputError(f"--{name.replace('_', '-')} must be in [0, 3600], got {getattr(args, name)}")
    tl = read_timeline(args.data)
    if PHONE_VIEW_VERSION in tl.source:
        raise InputError(f"{args.data}: is a phone view already")
    conf = ModeConfusion.from_json(args.confusion or DEFAULT_CONFUSION_PATH)
    out = phone_view(tl, load_place_category_model(args.place_model), conf,
                     PhoneViewOptions(args.arrival_early_s, args.departure_late_s, seed=args.view_seed), where=args.data)  # fmt: skip
    path = write_timeline(args.out, out)
    print(f"wrote {path}: {len(out.users)} users, {len(out)} events (from {len(tl)}; {out.source})")
    return 0


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="simulated training population (true view)")
    p.add_argument("--eval-data", required=True, help="simulated held-out population (another seed)")
    p.add_argument("--out", required=True, help="model file to write (place_categories.json)")
    p.add_argument("--eval-users", type=int, default=300, help="held-out users evaluated (default 300)")
    p.add_argument("--confusion", default=None, help="mode confusion JSON of the phone view (default: the shipped one)")
    p.add_argument("--seed", type=int, default=0)


def _train_run(args: argparse.Namespace) -> int:
    import json

    from momentsense.sdk.timeline.place_categories import MODEL_CLASSES, PlaceCategoryModel
    from momentsense.sdk.io.timeline_file import read_timeline
    from momentsense.trainer.population.phone_view import DEFAULT_CONFUSION_PATH, ModeConfusion
    from momentsense.trainer.population.place_model import evaluate_places, place_examples, train_forest, write_model

    if args.eval_users < 1:
        raise InputError(f"--eval-users must be >= 1, got {args.eval_users}")
    conf = ModeConfusion.from_json(args.confusion or DEFAULT_CONFUSION_PATH)
    tr = read_timeline(args.data)
    te = read_timeline(args.eval_data)
    if set(tr.users) & set(te.users) and tr.source == te.source:
        raise InputError(f"{args.eval_data}: the same population as {args.data}; evaluate on another seed")
    X, y, _, _ = place_examples(tr, conf)
    trees = train_forest(X, y, seed=args.seed)
    te = te.subset(list(range(min(args.eval_users, len(te.users)))))
    rep = evaluate_places(te, PlaceCategoryModel("", MODEL_CLASSES, tuple(trees), {}), conf)
    rep["eval_data"] = te.source
    write_model(trees, args.out, rep, f"{tr.source}; phone view ({conf.source}); {len(X)} places")
    print(json.dumps(rep, indent=2, sort_keys=True))
    return 0


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="simulated held-out population (true view: the places' true labels)")
    p.add_argument("--model", default=None, help="place_categories.json (default: the shipped one)")
    p.add_argument("--confusion", default=None, help="mode confusion JSON of the phone view")
    p.add_argument("--max-users", type=int, default=300)
    p.add_argument("--json", action="store_true")


def _eval_run(args: argparse.Namespace) -> int:
    import json

    from momentsense.sdk.timeline.place_categories import load_place_category_model
    from momentsense.sdk.io.timeline_file import read_timeline
    from momentsense.trainer.population.phone_view import DEFAULT_CONFUSION_PATH, PHONE_VIEW_VERSION, ModeConfusion
    from momentsense.trainer.population.place_model import evaluate_places

    tl = read_timeline(args.data)
    if PHONE_VIEW_VERSION in tl.source:
        raise InputError(f"{args.data}: is a phone view; place categories are scored from the simulator's true file")
    tl = tl.subset(list(range(min(args.max_users, len(tl.users)))))
    rep = evaluate_places(tl, load_place_category_model(args.model), ModeConfusion.from_json(args.confusion or DEFAULT_CONFUSION_PATH))
    if args.json:
        print(json.dumps(rep, indent=2, sort_keys=True))
    else:
        print(f"macro-F1 {rep['macro_f1']:.3f} over {rep['n_places']} places of {rep['n_users']} users")
        for c, r in rep["per_class"].items():
            print(f"  {c:10s} precision {r['precision']:.2f} recall {r['recall']:.2f} support {r['support']}")
    return 0


def register(cli) -> None:
    """Declare the phone-view and place-category commands."""
    cli.command("simulate phone-view", help="Turn a simulated true timeline into what the phone records (modes, visits, place categories).",
                add_args=_pv_args, run=_pv_run)  # fmt: skip
    cli.command("train place-categories", help="Train the device's place-category classifier on phone views; held-out per-category report.",
                add_args=_train_args, run=_train_run)  # fmt: skip
    cli.command("eval place-categories", help="Per-category precision/recall and confusion of the place classifier on held-out users.",
                add_args=_eval_args, run=_eval_run)  # fmt: skip
