"""``momentsense profile demo``: a flame graph of the on-device runtime on a simulated day.

py-spy samples a child process running :func:`trainer.bench.bench_runtime` and writes collapsed
stacks; only the stacks inside the runtime (a frame from ``sdk/runtime.py``: the work a phone does
per chunk) are kept, so the sensor simulation that feeds the benchmark does not blur the picture.
They are drawn as an SVG flame graph (width = share of samples) and summarised as the top
functions by self time and by inclusive time.
"""

from __future__ import annotations

import collections
import html
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Optional

from momentsense.sdk.errors import MomentsenseError

KEEP_FILE = "sdk/runtime.py"
#: Construction (imports, model loading) happens once per app start, not per chunk: left out.
SKIP_FRAME = "MomentSDK.__init__ (sdk/runtime.py)"


class ProfilerUnavailableError(MomentsenseError, RuntimeError):
    """py-spy is missing or may not trace processes here."""


def parse_collapsed(text: str) -> dict[tuple[str, ...], int]:
    """Collapsed stacks (``a;b;c 12`` per line, root first) → ``{(a, b, c): 12}``; malformed lines skipped."""
    out: dict = collections.Counter()
    for line in text.splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            out[tuple(stack.split(";"))] += int(n)
    return dict(out)


def keep_inside(stacks: dict, marker: str = KEEP_FILE, skip: str = SKIP_FRAME) -> dict:
    """Stacks with a frame from ``marker`` and none equal to ``skip``, cut so they start at the outermost marker frame."""
    out: dict = collections.Counter()
    for st, n in stacks.items():
        idx = next((i for i, f in enumerate(st) if marker in f), None)
        if idx is not None and skip not in st:
            out[st[idx:]] += n
    return dict(out)


def top_costs(stacks: dict, k: int = 3) -> dict:
    """The ``k`` functions with the most self samples and the most inclusive samples (shares of all;
    the entry frame, in every stack, is not ranked)."""
    total = sum(stacks.values()) or 1
    self_c: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    for st, n in stacks.items():
        self_c[st[-1]] += n
        for f in set(st[1:]):  # the entry frame is in every kept stack
            incl[f] += n
    return {
        "samples": total,
        "self": [{"function": f, "share": round(c / total, 3)} for f, c in self_c.most_common(k)],
        "inclusive": [{"function": f, "share": round(c / total, 3)} for f, c in incl.most_common(k)],
    }


def stage_shares(stacks: dict, marker: str = KEEP_FILE, k: int = 6) -> list:
    """Shares of the first frame below the runtime's own frames (the pipeline stages it calls)."""
    total = sum(stacks.values()) or 1
    c: collections.Counter = collections.Counter()
    for st, n in stacks.items():
        i = 0
        while i < len(st) and marker in st[i]:
            i += 1
        c[st[i] if i < len(st) else st[-1] + " [self]"] += n
    return [{"function": f, "share": round(n / total, 3)} for f, n in c.most_common(k)]


def render_svg(stacks: dict, title: str, width: int = 1200, row_h: int = 17) -> str:
    """A flame graph (root at the bottom) as standalone SVG with a tooltip per frame."""
    tree: dict = {"n": 0, "kids": {}}
    for st, n in stacks.items():
        node = tree
        node["n"] += n
        for f in st:
            node = node["kids"].setdefault(f, {"n": 0, "kids": {}})
            node["n"] += n
    depth = max((len(s) for s in stacks), default=0)
    height = (depth + 3) * row_h
    total = tree["n"] or 1
    rects = []

    def draw(node, x, level):
        for name, kid in sorted(node["kids"].items()):
            w = kid["n"] / total * width
            if w >= 0.3:
                y = height - (level + 2) * row_h
                hue = 20 + zlib.crc32(name.encode()) % 40  # stable colours across runs
                tip = html.escape(f"{name} — {kid['n']} samples ({kid['n'] / total:.1%})")
                text = html.escape(name[: int(w / 6.5)]) if w > 60 else ""
                rects.append(
                    f'<g><title>{tip}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 1}" '
                    f'fill="hsl({hue},85%,60%)"/><text x="{x + 3:.1f}" y="{y + row_h - 5}" font-size="11" '
                    f'>{text}</text></g>')
                draw(kid, x, level + 1)
            x += w

    draw(tree, 0.0, 0)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace">'
            f'<rect width="100%" height="100%" fill="white"/><text x="4" y="14" font-size="13">{html.escape(title)}'
            f"</text>{''.join(rects)}</svg>")


def profile_demo(out: str | Path, hours: float = 24.0, seed: int = 0, rate: int = 100,
                 py_spy: Optional[str] = None) -> dict:
    """Profile ``hours`` of simulated sensor data through the runtime; write ``out`` (SVG) and return the top costs."""
    exe = py_spy or shutil.which("py-spy")
    if not exe:
        raise ProfilerUnavailableError("py-spy is not installed: pip install py-spy (or the project's [dev] extra)")
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "stacks.txt"
        cmd = [exe, "record", "--format", "raw", "--nolineno", "--rate", str(rate), "-o", str(raw), "--",
               sys.executable, "-c",
               f"from momentsense.trainer.bench import bench_runtime; import json; print(json.dumps(bench_runtime({hours!r}, {seed!r})))"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not raw.exists():
            raise ProfilerUnavailableError(f"py-spy failed (exit {proc.returncode}): {proc.stderr.strip()[-800:]}")
        stacks = keep_inside(parse_collapsed(raw.read_text()))
    if not stacks:
        raise ProfilerUnavailableError("py-spy recorded no samples inside the runtime")
    bench = next((line for line in proc.stdout.splitlines() if line.startswith("{")), "{}")
    summary = {**top_costs(stacks), "stages": stage_shares(stacks)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_svg(stacks, f"momentsense runtime, {hours:g} h simulated, {summary['samples']} samples at {rate} Hz"))
    return {"svg": str(out), "bench": __import__("json").loads(bench), **summary}
