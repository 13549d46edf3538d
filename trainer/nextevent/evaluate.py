"""Evaluate next-event predictors (LSTM, Markov) on the same events of held-out users.

Scenarios, each on the same positions for every model:

* ``all``: every event after the first ``history_weeks`` weeks;
* ``shift``: the events of week ``history_weeks`` after moving that whole week +1 h (the user woke
  up late all week), compared with the same events unshifted (``shift_base``);
* ``holiday``: events after the history in weeks that contain a public holiday or a vacation day
  (simulator ground truth, used only to pick the weeks).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from momentsense.sdk.moments.tokens import EncodingConfig, window_for
from momentsense.trainer.nextevent.data import UserSeq, eval_mask, holiday_weeks, shift_week
from momentsense.trainer.nextevent.markov import PopulationMarkov, predict_user

Predictor = Callable[[UserSeq, np.ndarray], np.ndarray]


def topk(P: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Top-1 and top-3 accuracy of probability rows ``P`` against labels ``y``."""
    if len(y) == 0:
        return float("nan"), float("nan")
    top = np.argsort(-P, axis=1)[:, :3]
    return float(np.mean(top[:, 0] == y)), float(np.mean(np.any(top == y[:, None], axis=1)))


def markov_predictor(pop: PopulationMarkov) -> Predictor:
    return lambda seq, mask: predict_user(pop, seq.tokens, seq.start, mask)


def keras_predictor(model, config: EncodingConfig, batch_size: int = 512) -> Predictor:
    """Predictor from a trained sequence model (re-built as a last-step model, any batch size)."""
    from momentsense.edge_models.next_event import build_export_model

    n_tokens = int(model.get_layer("next_logits").get_config()["units"])
    last = build_export_model(model, int(config.max_events), batch_size=None)

    def predict(seq: UserSeq, mask: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return np.zeros((0, n_tokens))
        x = np.stack([window_for(seq.features, seq.start, i, config) for i in idx])
        return last.predict(x, batch_size=batch_size, verbose=0)[:, :n_tokens]

    return predict


def tflite_predictor(model, config: EncodingConfig) -> Predictor:
    """Predictor from a loaded :class:`sdk.models.interpreter.TfliteModel` (state reset before every window)."""
    n_tokens = int(model.output_spec.shape[-1]) - 1

    def predict(seq: UserSeq, mask: np.ndarray) -> np.ndarray:
        out = []
        for i in np.flatnonzero(mask):
            model.reset()
            out.append(model.run(window_for(seq.features, seq.start, i, config)[None])[0, :n_tokens])
        return np.array(out).reshape(-1, n_tokens)

    return predict


def evaluate(seqs: list[UserSeq], truth: dict, predictors: dict[str, Predictor], history_weeks: int = 3,
             shift_s: float = 3600.0, progress: bool = True, scenarios=("all", "shift", "holiday")) -> dict:  # fmt: skip
    """Top-1/top-3 of each predictor in each scenario, on identical events.

    Parameters
    ----------
    seqs : list of UserSeq
        Held-out users (at least ``history_weeks + 1`` weeks each to be counted).
    truth : dict
        Per-user ground truth (``public_holidays``, ``vacation_days``) for the holiday scenario.
    predictors : dict
        Name -> ``f(seq, mask) -> P``.
    history_weeks : int
        Weeks of history before the first evaluated event (except in ``first_week``).
    scenarios : tuple of str
        ``all`` (every event after ``history_weeks``), ``shift`` (week ``history_weeks`` moved by
        ``shift_s``, and ``shift_base``: the same events as recorded), ``holiday`` (weeks with a
        public holiday or vacation), ``first_week`` (a new user's first week: every event from
        the first one on, with only the history before it: the cold start).
    shift_s : float
        Size of the shift of the ``shift`` scenario, seconds.

    Returns
    -------
    dict
        ``{f"{name}_top1": ..., f"{name}_top3": ..., f"{name}_top1_shift": ..., ...}`` and the counts
        ``n_users``, ``n_events``, ``n_events_shift``, ``n_events_holiday``, for the scenarios asked
        for only (``shift`` brings ``shift_base``).
    """
    from tqdm import tqdm

    P = {s: {n: [] for n in predictors} for s in ("all", "shift", "shift_base", "holiday", "first_week")}
    Y = {s: [] for s in P}
    users = 0
    for seq in tqdm(seqs, desc="evaluating users", disable=not progress, unit="user"):
        m_all = eval_mask(seq, history_weeks)
        if not m_all.any() and "first_week" not in scenarios:
            continue
        users += 1
        y_next = np.append(seq.tokens[1:], -1)
        jobs = [("all", seq, m_all)] if "all" in scenarios and m_all.any() else []
        if "shift" in scenarios:
            m_w = eval_mask(seq, history_weeks, weeks=[history_weeks])
            if m_w.any():
                jobs += [("shift_base", seq, m_w), ("shift", shift_week(seq, history_weeks, shift_s), m_w)]
        if "first_week" in scenarios:
            m_f = eval_mask(seq, 0, weeks=[0])
            if m_f.any():
                jobs.append(("first_week", seq, m_f))
        if "holiday" in scenarios:
            hw = {w for w in holiday_weeks(truth.get(seq.user, {}), seq.origin) if w >= history_weeks}
            if hw:
                m_h = eval_mask(seq, history_weeks, weeks=hw)
                if m_h.any():
                    jobs.append(("holiday", seq, m_h))
        for scen, s, m in jobs:
            Y[scen].append(y_next[m])
            for name, f in predictors.items():
                P[scen][name].append(f(s, m))
    out: dict = {"n_users": users}
    asked = set(scenarios) | ({"shift_base"} if "shift" in scenarios else set())
    for scen in (s for s in P if s in asked):  # only the scenarios asked for: no NaN keys for the others
        y = np.concatenate(Y[scen]) if Y[scen] else np.zeros(0, int)
        suffix = "" if scen == "all" else f"_{scen}"
        out[f"n_events{suffix}"] = int(len(y))
        for name in predictors:
            p = np.concatenate(P[scen][name]) if P[scen][name] else np.zeros((0, 1))
            t1, t3 = topk(p, y)
            out[f"{name}_top1{suffix}"], out[f"{name}_top3{suffix}"] = t1, t3
    for name in predictors:
        if f"{name}_top1_shift" in out:
            out[f"{name}_shift_drop_top1"] = out[f"{name}_top1_shift_base"] - out[f"{name}_top1_shift"]
    return out


def fit_population_markov(seqs: list[UserSeq], options=None) -> PopulationMarkov:
    """Population back-off statistics from training users."""
    from momentsense.trainer.nextevent.markov import MarkovOptions

    pop = PopulationMarkov(options or MarkovOptions())
    for s in seqs:
        pop.fit_user(s.tokens, s.start)
    return pop


def fmt_table(metrics: dict, names=("lstm", "markov")) -> str:
    rows = ["scenario      " + "".join(f"{n + ' top1/top3':>22}" for n in names)]
    for scen, suf in (("all", ""), ("shift base", "_shift_base"), ("+1 h shift", "_shift"), ("holiday", "_holiday")):
        if f"{names[0]}_top1{suf}" not in metrics:
            continue
        cells = "".join(f"{metrics[f'{n}_top1{suf}']:>14.3f}/{metrics[f'{n}_top3{suf}']:.3f}" for n in names)
        rows.append(f"{scen:<14}{cells}")
    return "\n".join(rows)



