"""One round of the retraining loop: simulated devices upload, the server exports, the LSTM is retrained.

    python -m momentsense.trainer.server.retrain_round --timeline POP.h5 --out DIR [--epochs 2] [--max-users 300]

1. Each user of a simulated population timeline (``momentsense simulate population``) is a device:
   its events become typed records (visits; the transport events between two visits form a trip
   with their modes; their moment), then day payloads (:mod:`sdk.sync.payload`, default 15-min
   rounding), queued and flushed by :class:`sdk.sync.client.SyncClient` to ``momentsense serve``
   started on loopback.
2. ``momentsense export-training`` turns the server's database into a timeline.
3. The next-event LSTM is trained on the export's training users (user-wise split, seed 0) and
   evaluated on its held-out test users; the shipped model (trained on another simulated population
   with exact times) is evaluated on the same held-out users of the export. Prints JSON.

The shipped LSTM's Keras weights are not in the repository (only its TFLite file), so the "after"
model is trained from scratch on the uploads rather than fine-tuned from the shipped weights.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from pathlib import Path


def user_payloads(events, salt: bytes) -> list[dict]:
    """Day payloads of one user's timeline events (``sdk.io.timeline_file.Event`` in time order)."""
    from momentsense.sdk.sync.payload import MomentSpan, build_day_payload, split_days
    from momentsense.sdk.timeline.records import Trip, Visit

    visits, trips, moments, cats = [], [], [], {}
    run: list = []
    last_place = ""
    for e in events:
        if e.kind == "visit":
            if run:
                trips.append(Trip(run[0].start, run[-1].end, last_place, e.place_id, tuple(r.label for r in run), 0.0))
                if run[0].moment:
                    moments.append(MomentSpan(run[0].start, run[-1].end, run[0].moment))
                run = []
            visits.append(Visit(e.start, e.end, e.place_id, 0.0, 0.0))
            cats[e.place_id] = e.label
            last_place = e.place_id
        else:
            run.append(e)
    if run:  # moving when the timeline ends
        trips.append(Trip(run[0].start, run[-1].end, last_place, "", tuple(r.label for r in run), 0.0))
        if run[0].moment:
            moments.append(MomentSpan(run[0].start, run[-1].end, run[0].moment))
    days = split_days(visits, trips, moments, place_categories=cats)
    return [build_day_payload(d, salt, revision=1) for d in days]


def fine_tune(base_keras: Path, out_dir: Path, train, val, config, epochs: int, learning_rate: float = 1e-3,
              seed: int = 0) -> tuple[Path, list]:  # fmt: skip
    """Continue training a saved next-event sequence model on new users; keeps the best validation epoch.

    Writes ``out_dir/next_event_seq.keras`` (+ the base's ``next_event.json`` beside it, for the
    encoding config); returns its path and the per-epoch history.
    """
    import dataclasses
    import shutil

    import tf_keras as keras

    from momentsense.trainer.nextevent.train import TrainOptions, make_crops

    from momentsense.edge_models.next_event import load_keras_model

    keras.utils.set_random_seed(seed)
    model = load_keras_model(base_keras)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss={"next": keras.losses.SparseCategoricalCrossentropy(), "wait": keras.losses.Huber()},
        loss_weights={"next": 1.0, "wait": 0.2},
        weighted_metrics={"next": ["sparse_categorical_accuracy"]},
    )
    opts = TrainOptions(seed=seed + 1)
    xv, yv, wv, wtv = make_crops(val, config, dataclasses.replace(opts, crops_per_user=1, shift_augment_p=0.0), 10_000)
    best, best_w, history = -1.0, model.get_weights(), []
    for epoch in range(epochs):
        x, y, w, wt = make_crops(train, config, opts, epoch)
        h = model.fit(x, {"next": y, "wait": wt}, sample_weight={"next": w, "wait": w}, batch_size=opts.batch_size,
                      epochs=1, verbose=0, shuffle=True,
                      validation_data=(xv, {"next": yv, "wait": wtv}, {"next": wv, "wait": wv}))  # fmt: skip
        rec = {k: float(v[-1]) for k, v in h.history.items()}
        history.append(rec)
        if rec.get("val_next_sparse_categorical_accuracy", 0.0) > best:
            best, best_w = rec["val_next_sparse_categorical_accuracy"], model.get_weights()
    model.set_weights(best_w)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "next_event_seq.keras"
    model.save(path)
    shutil.copy(base_keras.with_name("next_event.json"), out_dir / "next_event.json")
    return path, history


def run_round(timeline: str, out: str, epochs: int = 2, max_users: int = 300, seed: int = 0,
              base_timeline: str | None = None, base_epochs: int = 30, finetune_epochs: int = 8) -> dict:  # fmt: skip
    from momentsense.sdk.sync.client import InstallIdentity, SyncClient, SyncOptions
    from momentsense.sdk.sync.queue import UploadQueue
    from momentsense.sdk.io.timeline_file import read_timeline, write_timeline
    from momentsense.trainer.nextevent.data import split_users
    from momentsense.trainer.nextevent.train import TrainOptions
    from momentsense.trainer.nextevent.workflow import run_eval, run_train
    from momentsense.trainer.server.export import export_training
    from momentsense.trainer.server.testing import ServerProcess
    from momentsense.edge_models import artifact_dir

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tl = read_timeline(timeline)
    n_users = min(len(tl.users), max_users)
    key = "round-" + secrets.token_hex(16)
    db = out_dir / "server.db"
    if db.exists():
        db.unlink()
    server = ServerProcess(db, {"round": key}).start()
    res: dict = {"users": n_users, "source": tl.source}
    t0 = time.time()
    try:
        n_batches = n_days = 0
        with tempfile.TemporaryDirectory() as tmp:
            for u in range(n_users):
                install = InstallIdentity(f"{u:032x}", secrets.token_hex(32))
                q = UploadQueue(Path(tmp) / f"q{u}.sqlite")
                client = SyncClient(SyncOptions(server.url, key, install, days_per_batch=7), q)
                payloads = user_payloads(tl.events(u), secrets.token_bytes(32))
                n_batches += len(client.enqueue_days(payloads))
                n_days += len(payloads)
                r = client.flush()
                if r.remaining:
                    raise RuntimeError(f"device {u}: {r.remaining} batches not uploaded ({r.deferred}, {r.errors[-1:]})")
                q.close()
                client.close()
    finally:
        server.stop()
    res.update(upload_s=round(time.time() - t0, 1), batches=n_batches, days=n_days)
    exp = export_training(f"sqlite:///{db}", out_dir / "export.jsonl")
    res.update(export_events=exp.events, export_users=exp.users, original_events=int(sum(
        tl.offsets[u + 1] - tl.offsets[u] for u in range(n_users))))  # fmt: skip
    ex = read_timeline(exp.timeline_path)
    _, _, test_u = split_users(len(ex.users), 0)
    test_file = out_dir / "export_test_users.jsonl"
    write_timeline(test_file, ex.subset(list(test_u)))
    keys = ("lstm_top1", "lstm_top3", "markov_top1", "markov_top3")
    before = run_eval(str(artifact_dir() / "next_event.tflite"), str(test_file))
    if base_timeline:
        # Fine-tuning: a base model trained on another simulated population (exact times) is
        # evaluated on the held-out uploaded users, fine-tuned on the uploads' training users, evaluated again.
        from momentsense.trainer.nextevent.data import user_sequences
        from momentsense.sdk.moments.tokens import EncodingConfig

        t1 = time.time()
        run_train(base_timeline, str(out_dir / "base"), TrainOptions(epochs=base_epochs, seed=seed), split_seed=0,
                  eval_users=0, progress=False)  # fmt: skip
        res["base_train_s"] = round(time.time() - t1, 1)
        base_path = out_dir / "base" / "next_event_seq.keras"
        base_eval = run_eval(str(base_path), str(test_file))
        train_u, val_u, _ = split_users(len(ex.users), 0)
        config = EncodingConfig()
        t1 = time.time()
        ft_path, ft_hist = fine_tune(base_path, out_dir / "finetuned", user_sequences(ex, train_u), user_sequences(ex, val_u),
                                     config, finetune_epochs, seed=seed)  # fmt: skip
        res["finetune_s"] = round(time.time() - t1, 1)
        ft_eval = run_eval(str(ft_path), str(test_file))
        res.update(base_source=read_timeline(base_timeline).source, base_epochs=base_epochs, finetune_epochs=finetune_epochs,
                   base_before_finetune={k: base_eval[k] for k in keys},
                   base_after_finetune={k: ft_eval[k] for k in keys})  # fmt: skip
    t1 = time.time()
    metrics = run_train(str(exp.timeline_path), str(out_dir / "model"), TrainOptions(epochs=epochs, seed=seed),
                        split_seed=0, eval_users=0, progress=False)  # fmt: skip
    after = run_eval(str(out_dir / "model" / "next_event.tflite"), str(test_file))
    res.update(train_s=round(time.time() - t1, 1), n_train_users=metrics["n_train_users"], n_test_users=len(test_u),
               n_eval_events=before["n_events"],
               shipped={k: before[k] for k in keys}, retrained_from_scratch={k: after[k] for k in keys})  # fmt: skip
    (out_dir / "round.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeline", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-users", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base-timeline", default=None, help="another population: train a base model there, then fine-tune it")
    ap.add_argument("--base-epochs", type=int, default=30)
    ap.add_argument("--finetune-epochs", type=int, default=8)
    a = ap.parse_args(argv)
    print(json.dumps(run_round(a.timeline, a.out, a.epochs, a.max_users, a.seed, a.base_timeline, a.base_epochs,
                               a.finetune_epochs), indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
