"""``momentsense train segments`` and ``eval segments``: the whole segments pipeline on a timeline file.

Training splits users (seeded) into *encoder* users (the triplet-loss encoder sees only their
events, never a label), a *label pool* (the few labelled users are drawn from it; also the anchor
set of the embedding mapping) and *test* users (never seen by the encoder or any classifier; every
reported F1 is measured on them).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.segments.encoding import WindowConfig
from momentsense.sdk.segments.events import UserEvents, users_of
from momentsense.sdk.segments.features import FEATURE_NAMES, MIN_HISTORY_DAYS, timeline_features
from momentsense.sdk.segments.rules import RULE_SEGMENTS, RuleOptions, evaluate_rules
from momentsense.sdk.io.timeline_file import Timeline, read_timeline
from momentsense.trainer.population.profile import PERSONAS
from momentsense.trainer.segments.encoder import (
    EncoderTrainOptions,
    embed_users,
    retrieval_metrics,
    train_encoder,
)
from momentsense.trainer.segments.fewlabel import (
    f1,
    few_label_curve,
    fit_head,
    map_embeddings,
    precision_recall,
    procrustes,
    ridge_map,
)

ENCODER_NAME = "timeline_encoder"
HEADS_NAME = "segment_classifiers.json"
#: Version of the retrained encoder of the mapping experiment (shipped as ``timeline_encoder_next``).
NEXT_VERSION = "1.1.0"
#: Rule segments whose planted truth is not a persona: home_worker ≈ users without an occupation.
TRUTH_PROXY = {"home_worker": "occupation=none"}


@dataclasses.dataclass(frozen=True)
class SegmentsTrainOptions:
    """Attributes:
    encoder: Encoder training options.
    label_counts: Labelled-user counts of the few-label curve.
    repeats: Random draws per label count.
    test_frac, pool_frac: Fractions of users held out for testing and for the label pool.
    split_seed: Seed of the user split.
    finetune_epochs: Epochs of fine-tuning the upper encoder layers (0 = skip).
    retrain_seed: Seed of a second encoder for the mapping experiment (None = skip).
    compat_weight: Weight of the compatibility loss in the mapping experiment's compatible retrains
        (:class:`EncoderTrainOptions`; 0 = only the plain retrains).
    tflite_mode: ``float16`` or ``float32``.
    version: Semantic version of the encoder written.
    """

    encoder: EncoderTrainOptions = dataclasses.field(default_factory=EncoderTrainOptions)
    label_counts: tuple = (10, 30, 100)
    repeats: int = 5
    test_frac: float = 0.2
    pool_frac: float = 0.2
    split_seed: int = 0
    finetune_epochs: int = 30
    retrain_seed: int | None = 1
    compat_weight: float = 1.0
    tflite_mode: str = "float16"
    version: str = "1.0.0"


def segment_truth(tl: Timeline, users: list[int]) -> dict:
    """``segment -> bool array`` over ``users`` for every persona plus the rule proxies."""
    truth = [tl.truth.get(tl.users[u], {}) for u in users]
    if any("segments" not in t for t in truth):
        raise InputError("the timeline has no planted personas (per-user 'segments' truth); simulate one with "
                         "'momentsense simulate population'")  # fmt: skip
    y = {s: np.array([s in t["segments"] for t in truth]) for s in PERSONAS}
    y["home_worker"] = np.array([t.get("occupation") == "none" for t in truth])
    return y


def usable_users(tl: Timeline, min_days: float = MIN_HISTORY_DAYS) -> list[int]:
    """Users with at least ``min_days`` days of history."""
    return [u for u in range(len(tl.users)) if tl.end[tl.user_slice(u)][-1] - tl.start[tl.user_slice(u)][0] >= min_days * 86400.0]


def evaluate_rule_segments(users: list[UserEvents], y: dict, options: RuleOptions = RuleOptions()) -> dict:
    """Precision/recall/F1 of each available rule against the planted truth."""
    reports = [evaluate_rules(ev, options) for ev in users]
    out = {}
    for name in RULE_SEGMENTS:
        if not reports[0].get(name).available or name not in y:
            out[name] = {"available": False, "why": "the timeline has no driving scores" if name == "aggressive_driver" else "no truth"}
            continue
        pred = np.array([r.get(name).active for r in reports])
        out[name] = dict(precision_recall(pred, y[name]), available=True, truth=TRUTH_PROXY.get(name, "persona"))
    return out


def _split(n: int, o: SegmentsTrainOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    perm = np.random.default_rng(o.split_seed).permutation(n)
    n_test, n_pool = max(1, int(round(n * o.test_frac))), max(2, int(round(n * o.pool_frac)))
    return perm[n_test + n_pool :], perm[n_test : n_test + n_pool], perm[:n_test]


def _finetune(model, ev_lab: list[UserEvents], y_lab: np.ndarray, ev_test: list[UserEvents], config: WindowConfig, epochs: int, seed: int):
    """Freeze the lower layers, train the upper ones plus a sigmoid head on labelled users' windows."""
    import tensorflow as tf
    import tf_keras as keras

    from momentsense.edge_models.timeline_encoder import LOWER_LAYERS
    from momentsense.sdk.segments.encoding import encode_user_windows

    keras.utils.set_random_seed(seed)
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    for name in LOWER_LAYERS:
        clone.get_layer(name).trainable = False
    head = keras.layers.Dense(y_lab.shape[1], activation="sigmoid", name="segments")(clone.output)
    net = keras.Model(clone.input, head)
    wins = [encode_user_windows(ev, config) for ev in ev_lab]
    x = np.concatenate(wins)
    yy = np.concatenate([np.repeat(y_lab[i : i + 1], len(w), axis=0) for i, w in enumerate(wins)]).astype(np.float32)
    pos = np.clip(yy.mean(axis=0), 0.02, 0.98).astype(np.float32)
    w_pos, w_neg = 0.5 / pos, 0.5 / (1.0 - pos)  # balanced per segment, as class_weight="balanced"

    def weighted_bce(y_true, y_pred):
        p = tf.clip_by_value(y_pred, 1e-6, 1 - 1e-6)
        return -tf.reduce_mean(w_pos * y_true * tf.math.log(p) + w_neg * (1 - y_true) * tf.math.log(1 - p), axis=-1)

    net.compile(keras.optimizers.Adam(1e-3), weighted_bce)
    net.fit(x, yy, epochs=epochs, batch_size=32, verbose=0)
    out = []
    for ev in ev_test:
        out.append(np.asarray(net(encode_user_windows(ev, config), training=False)).mean(axis=0))
    return np.stack(out)


def run_train(data: str, out: str, o: SegmentsTrainOptions = SegmentsTrainOptions(), config: WindowConfig = WindowConfig(),
              ship: str | None = None, verbose: bool = True) -> dict:  # fmt: skip
    """Train and evaluate everything; write ``out/metrics.json``, the encoder (.tflite + manifest), the heads and a plot.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    t_start = time.time()
    tl = read_timeline(data)
    codes = usable_users(tl, config.min_history_s / 86400.0)
    if len(codes) < 20:
        raise InputError(f"{data}: {len(codes)} users with at least {config.min_history_s / 86400:g} days; train segments needs >= 20")
    enc_i, pool_i, test_i = _split(len(codes), o)
    users = users_of(tl, codes)
    ev = lambda idx: [users[i] for i in idx]
    y_pool, y_test = segment_truth(tl, [codes[i] for i in pool_i]), segment_truth(tl, [codes[i] for i in test_i])
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    m: dict = {"data": str(data), "data_source": tl.source, "n_users": len(codes), "n_encoder_users": len(enc_i),
               "n_pool_users": len(pool_i), "n_test_users": len(test_i), "split_seed": o.split_seed,
               "encoder_options": dataclasses.asdict(o.encoder), "window": config.to_dict()}  # fmt: skip
    m["rules"] = evaluate_rule_segments(ev(test_i), y_test)

    t0 = time.time()
    model, history = train_encoder(ev(enc_i), config, o.encoder, verbose=verbose)
    m["encoder_train_s"] = round(time.time() - t0, 1)
    m["encoder_history"] = history
    m["retrieval_test"] = retrieval_metrics(model, ev(test_i), config)
    e_pool, e_test = embed_users(model, ev(pool_i), config), embed_users(model, ev(test_i), config)
    f_pool = np.stack([timeline_features(u, config.utc_offset_s) for u in ev(pool_i)])
    f_test = np.stack([timeline_features(u, config.utc_offset_s) for u in ev(test_i)])
    reps = {"embedding": (e_pool, e_test, True), "features_baseline": (f_pool, f_test, True)}
    curve = few_label_curve(reps, {s: y_pool[s] for s in PERSONAS}, {s: y_test[s] for s in PERSONAS}, o.label_counts, o.repeats, o.split_seed)
    m["few_label_f1"] = curve
    m["rules_f1"] = {s: m["rules"][s]["f1"] for s in m["rules"] if m["rules"][s].get("available") and s in PERSONAS}
    m["few_label_segments"] = list(PERSONAS)

    # Fine-tuning the upper layers vs the frozen embedding, on the same labelled users.
    if o.finetune_epochs > 0:
        ft = {}
        for n in o.label_counts:
            idx = np.random.default_rng([o.split_seed, n, 99]).choice(len(pool_i), size=min(n, len(pool_i)), replace=False)
            y_lab = np.stack([y_pool[s][idx] for s in PERSONAS], axis=1)
            p = _finetune(model, [users[pool_i[i]] for i in idx], y_lab, ev(test_i), config, o.finetune_epochs, o.encoder.seed)
            frozen = []
            tuned = []
            for k, s in enumerate(PERSONAS):
                tuned.append(f1(p[:, k] >= 0.5, y_test[s]))
                if y_pool[s][idx].any() and not y_pool[s][idx].all():
                    frozen.append(f1(fit_head(e_pool[idx], y_pool[s][idx], True).proba(e_test) >= 0.5, y_test[s]))
                else:
                    frozen.append(0.0)
            ft[str(n)] = {"finetuned_mean_f1": float(np.mean(tuned)), "frozen_mean_f1": float(np.mean(frozen)),
                          "finetuned": dict(zip(PERSONAS, map(float, tuned))), "frozen": dict(zip(PERSONAS, map(float, frozen)))}  # fmt: skip
        m["finetune"] = ft

    # Heads shipped: fitted on the whole label pool.
    heads = {"format": "momentsense-segment-heads-v1", "encoder_version": o.version, "n_labelled_users": len(pool_i),
             "feature_names": list(FEATURE_NAMES), "embedding": {}, "features": {}, "mappings": {}}  # fmt: skip
    old_heads = {}
    for s in PERSONAS:
        h = fit_head(e_pool, y_pool[s], True)
        old_heads[s] = h
        heads["embedding"][s] = dict(h.to_dict(), threshold=0.5)
        heads["features"][s] = dict(fit_head(f_pool, y_pool[s], True).to_dict(), threshold=0.5)
    m["heads_test_f1"] = {s: {"embedding": f1(old_heads[s].proba(e_test) >= 0.5, y_test[s]),
                              "features_baseline": f1(fit_head(f_pool, y_pool[s], True).proba(f_test) >= 0.5, y_test[s])} for s in PERSONAS}  # fmt: skip

    if o.retrain_seed is not None:
        m["stable"], model2, (best, w_best) = _stable_experiment(model, ev(enc_i), ev(pool_i), ev(test_i), e_test, old_heads, y_test, config, o)
        m["stable"]["shipped"] = f"{m['stable']['shipped_run']} retrain as {NEXT_VERSION} with its {best} mapping"
        heads["mappings"][NEXT_VERSION] = w_best.tolist()
    else:
        model2 = None

    from momentsense.trainer.segments.export import export_encoder

    m.update(export_encoder(model, out_dir, ev(test_i)[:40], config, o, tl.source, m))
    if model2 is not None:  # the retrained encoder, shipped beside the old one with its mapping (a rollout)
        m["next_encoder"] = export_encoder(model2, out_dir, ev(test_i)[:10], config, o, tl.source, {}, name=f"{ENCODER_NAME}_next",
                                           version=NEXT_VERSION, parent_version=o.version,
                                           extra={"mapping_to": {o.version: w_best.tolist()}, "mapping_kind": best,
                                                  "retrain": m["stable"]["shipped_run"]})  # fmt: skip
    (out_dir / HEADS_NAME).write_text(json.dumps(heads, indent=1) + "\n")
    _plot(curve, m["rules_f1"], out_dir / "few_label_f1.png")
    m["total_s"] = round(time.time() - t_start, 1)
    (out_dir / "metrics.json").write_text(json.dumps(m, indent=2, sort_keys=True, default=float) + "\n")
    if ship:
        import shutil

        sd = Path(ship)
        sd.mkdir(parents=True, exist_ok=True)
        names = [f"{ENCODER_NAME}.tflite", f"{ENCODER_NAME}.json", HEADS_NAME]
        if model2 is not None:
            names += [f"{ENCODER_NAME}_next.tflite", f"{ENCODER_NAME}_next.json"]
        for name in names:
            shutil.copy(out_dir / name, sd / name)
        shutil.copy(out_dir / "metrics.json", sd / "segment_metrics.json")
        shutil.copy(out_dir / "few_label_f1.png", sd / "segment_few_label_f1.png")
    return m


def _stable_experiment(model, enc_users, pool_users, test_users, e_test_old, old_heads, y_test, config, o) -> tuple:
    """Retrain the encoder; old heads on (a) new unmapped, (b) new mapped, (c) old embeddings.

    Retrainings: ``cold`` (new seed, fresh initialisation, same users) and ``warm`` (new seed,
    initialised from the old encoder, a third of the steps, new data: encoder plus label-pool users),
    each also ``_compatible`` when ``o.compat_weight > 0``: trained with the compatibility loss against
    the old encoder (:func:`trainer.segments.encoder.train_encoder`'s ``reference``), which only asks
    that *some* linear map take the new space to the old one. The mappings are fitted on the window
    embeddings of the label-pool users (the anchors; never test users): orthogonal Procrustes and
    ridge least squares, both new -> old. Each retrain keeps the mapping whose mapped embeddings make
    the old heads decide as on the old embeddings most often on the anchor users, and the retrain
    shipped is the one with the highest such agreement (test users are only scored).

    Returns
    -------
    metrics : dict
    model : the retrained encoder shipped as the next version
    mapping : ``(kind, matrix)`` of its mapping
    """
    from momentsense.sdk.segments.encoding import encode_user_windows
    from momentsense.trainer.segments.encoder import embed_windows, users_from_windows

    anchor_wins = [encode_user_windows(u, config) for u in pool_users]
    anchors, counts = np.concatenate(anchor_wins), [len(w) for w in anchor_wins]
    a_old = embed_windows(model, anchors)
    u_old = users_from_windows(a_old, counts)
    res: dict = {"anchor_users": len(pool_users), "anchor_windows": len(anchors), "retrain_seed": int(o.retrain_seed),
                 "mapping": "new -> old, fitted on every window of the label-pool users (anchors); test users never used",
                 "c_old_mean_f1": float(np.mean([f1(old_heads[s].proba(e_test_old) >= 0.5, y_test[s]) for s in old_heads]))}  # fmt: skip
    runs = {"cold": {"users": enc_users, "opts": dataclasses.replace(o.encoder, seed=int(o.retrain_seed)), "init": None},
            "warm": {"users": enc_users + pool_users, "init": model.get_weights(),
                     "opts": dataclasses.replace(o.encoder, seed=int(o.retrain_seed), steps=max(1, o.encoder.steps // 3))}}  # fmt: skip
    if o.compat_weight > 0:
        for kind in ("cold", "warm"):
            r = runs[kind]
            runs[f"{kind}_compatible"] = dict(r, opts=dataclasses.replace(r["opts"], compat_weight=float(o.compat_weight)))
    res["compat_weight"] = float(o.compat_weight)
    trained = {}
    for kind, r in runs.items():
        model2, _ = train_encoder(r["users"], config, r["opts"], verbose=False, init_weights=r["init"],
                                  reference=model if r["opts"].compat_weight > 0 else None)  # fmt: skip
        e_test_new = embed_users(model2, test_users, config)
        a_new = embed_windows(model2, anchors)
        maps = {"orthogonal": procrustes(a_new, a_old), "ridge": ridge_map(a_new, a_old)}
        sub: dict = {}
        cases = [("a_new_unmapped", e_test_new)] + [(f"b_new_mapped_{k}", map_embeddings(e_test_new, w)) for k, w in maps.items()]
        for name, x in cases + [("c_old", e_test_old)]:
            per = {s: f1(old_heads[s].proba(x) >= 0.5, y_test[s]) for s in old_heads}
            sub[name] = {"mean_f1": float(np.mean(list(per.values()))), "per_segment": per}
        u_new = users_from_windows(a_new, counts)
        for k, w in maps.items():
            sub[f"anchor_cosine_{k}"] = float(np.mean(np.sum(map_embeddings(a_new, w) * a_old, axis=1)))
            sub[f"anchor_agreement_{k}"] = float(np.mean([np.mean((h.proba(map_embeddings(u_new, w)) >= 0.5) == (h.proba(u_old) >= 0.5))
                                                          for h in old_heads.values()]))  # fmt: skip
        # Chosen on the anchors (the old heads' decisions on label-pool users), never on test users.
        best = max(maps, key=lambda k: sub[f"anchor_agreement_{k}"])
        sub["best_mapping"] = best
        sub["best_mapping_chosen_by"] = "old heads' decision agreement on the anchor users"
        sub["steps"] = int(r["opts"].steps)
        sub["compat_weight"] = float(r["opts"].compat_weight)
        res[kind] = sub
        trained[kind] = (model2, (best, maps[best]))
    shipped = max(trained, key=lambda k: res[k][f"anchor_agreement_{res[k]['best_mapping']}"])
    res["shipped_run"] = shipped
    res["shipped_run_chosen_by"] = "highest anchor agreement of its best mapping"
    return (res, *trained[shipped])


def _plot(curve: dict, rules_f1: dict, path: Path) -> None:
    """Left: mean F1 over all personas; right: mean over the personas a rule covers, with the rules."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    groups = (("all personas", [s for s in curve["embedding"] if s != "mean"]), ("personas with a rule", sorted(rules_f1)))
    for ax, (title, segs) in zip(axes, groups):
        if not segs:
            continue
        for name, style in (("embedding", "o-"), ("features_baseline", "s--")):
            ns = sorted(curve[name]["mean"], key=int)
            ax.plot([int(n) for n in ns], [np.mean([curve[name][s][n] for s in segs]) for n in ns], style, label=name)
        if title != "all personas" and rules_f1:
            ax.axhline(float(np.mean(list(rules_f1.values()))), color="gray", ls=":", label="rules (no labels)")
        ax.set_xscale("log")
        ax.set_xlabel("labelled users")
        ax.set_title(f"mean F1, {title} ({len(segs)})")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("F1 on unseen users")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
