"""Run the SDK's signal pipeline over a simulated day, chunk by chunk as a phone would."""

from __future__ import annotations

import dataclasses
import time
from typing import Optional

import numpy as np

from sdk.dsp import PreprocessConfig, make_windows, pipeline_init, preprocess, windower_init
from sdk.dsp.validate import RepairReport
from sdk.records import TRANSPORT_MODES
from sdk.sim import draw_device, draw_person, iter_itinerary
from sdk.sim.day import commuter_day, split_legs

CHUNK_S = 10.0  # how much sensor data the phone hands over at a time


@dataclasses.dataclass
class DemoSummary:
    """What the demo measured over the simulated day."""

    hours: float
    seed: int
    samples: int
    raw_bytes: int
    gps_fixes: int
    windows: int
    gaps: int
    repairs: dict
    truth_minutes: dict
    legs: list
    wall_s: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def run_demo(hours: float = 24.0, seed: int = 0, progress: bool = True, config: Optional[PreprocessConfig] = None) -> DemoSummary:
    """Simulate ``hours`` of a commuter's day and stream it through the pipeline."""
    config = config or PreprocessConfig()
    rng = np.random.default_rng(seed)
    legs = commuter_day(rng, hours)
    person, device = draw_person("demo-person", seed), draw_device("demo-phone", seed)
    state = pipeline_init(config)
    wstate = windower_init(config.window_len, config.hop_len, len(config.channels))
    report = RepairReport()
    samples = gps = windows = gaps = 0
    truth = np.zeros(len(TRANSPORT_MODES))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=round(sum(leg.duration_s for leg in legs)), unit="s", unit_scale=True, desc="simulated day")
    t0 = time.perf_counter()
    try:
        for rec in iter_itinerary(split_legs(legs), person, device, seed=seed, recording_id="demo"):
            samples += len(rec.t)
            gps += len(rec.gps) if rec.gps is not None else 0
            truth += np.bincount(rec.label[rec.label >= 0], minlength=len(TRANSPORT_MODES)) / 25.0
            # Hand the leg to the pipeline in phone-sized chunks.
            edges = np.searchsorted(rec.t, np.arange(rec.t[0], rec.t[-1] + CHUNK_S, CHUNK_S)) if len(rec.t) else []
            for a, b in zip(edges[:-1], list(edges[1:-1]) + [len(rec.t)]):
                chunk, state = preprocess(rec.t[a:b], rec.acc[a:b], state, gyro=rec.gyro[a:b])
                w, wstate = make_windows(chunk.k, chunk.x, wstate)
                windows += len(w)
                gaps += len(chunk.gaps)
                report = report.merge(chunk.acc_report)
            if bar is not None:
                bar.update(round(rec.duration_s))
    finally:
        if bar is not None:
            bar.close()
    return DemoSummary(
        hours=hours, seed=seed, samples=samples, raw_bytes=samples * 6 * 4 + gps * 8 * 5, gps_fixes=gps,
        windows=windows, gaps=gaps, repairs=report.to_dict(),
        truth_minutes={m: round(s / 60.0, 1) for m, s in zip(TRANSPORT_MODES, truth) if s > 0},
        legs=[(leg.mode, round(leg.duration_s)) for leg in legs], wall_s=time.perf_counter() - t0,
    )  # fmt: skip


def format_summary(s: DemoSummary) -> str:
    """Human-readable summary of a demo run."""
    lines = [
        f"momentsense demo: {s.hours:g} simulated hours (seed {s.seed}) in {s.wall_s:.1f} s wall time",
        f"  sensor samples: {s.samples:,} at ~25 Hz ({s.raw_bytes / 1e6:.1f} MB raw), GPS fixes: {s.gps_fixes:,}",
        f"  pipeline: {s.windows:,} windows of 10 s, {s.gaps} gaps not bridged, repairs: "
        + ", ".join(f"{k}={v}" for k, v in s.repairs.items() if v and k != "received"),
        "  the day (simulator truth), minutes per mode:",
    ]
    lines += [f"    {m:<7} {v:8.1f}" for m, v in s.truth_minutes.items()]
    lines.append("  legs: " + " → ".join(f"{m} {d // 60}m" for m, d in s.legs))
    return "\n".join(lines)
