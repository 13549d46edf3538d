"""Flame graph tooling of ``momentsense profile demo``: parsing, filtering, top costs, SVG; and one real run."""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from momentsense.trainer.profile import keep_inside, parse_collapsed, profile_demo, render_svg, top_costs

RAW = """main (a.py);MomentSDK.feed (sdk/runtime.py);process (sdk/transport/detector.py);run (sdk/models/interpreter.py) 6
main (a.py);MomentSDK.feed (sdk/runtime.py);process (sdk/transport/detector.py) 1
main (a.py);MomentSDK.feed (sdk/runtime.py);preprocess (sdk/dsp/pipeline.py) 3
main (a.py);simulate_leg (sdk/sim/simulate.py) 50
main (a.py);MomentSDK.__init__ (sdk/runtime.py);_find_and_load (<frozen>) 40
garbage line
"""


def test_only_per_chunk_runtime_stacks_are_kept_and_ranked():
    stacks = keep_inside(parse_collapsed(RAW))
    assert sum(stacks.values()) == 10 and all(st[0] == "MomentSDK.feed (sdk/runtime.py)" for st in stacks)
    top = top_costs(stacks)
    assert top["samples"] == 10
    assert top["self"][0] == {"function": "run (sdk/models/interpreter.py)", "share": round(6 / 10, 3)}
    assert top["inclusive"][0]["function"] == "process (sdk/transport/detector.py)"


def test_svg_is_well_formed_with_one_rect_per_visible_frame():
    svg = render_svg(keep_inside(parse_collapsed(RAW)), "t <&>")
    root = ET.fromstring(svg)
    rects = root.findall(".//{http://www.w3.org/2000/svg}g/{http://www.w3.org/2000/svg}rect")
    assert len(rects) == 4  # feed, process, run, preprocess


def _can_trace() -> bool:
    exe = shutil.which("py-spy")
    if not exe:
        return False
    r = subprocess.run([exe, "record", "-o", os.devnull, "--format", "raw", "--", sys.executable, "-c", "import time; time.sleep(0.5)"],
                       capture_output=True, text=True)
    return r.returncode == 0


@pytest.mark.skipif(not _can_trace(), reason="py-spy missing or not allowed to trace processes here (ptrace)")
def test_profile_demo_writes_a_flame_graph(tmp_path):
    res = profile_demo(tmp_path / "p.svg", hours=0.5, rate=200)
    assert ET.parse(tmp_path / "p.svg").getroot().tag.endswith("svg")
    assert res["samples"] > 0 and len(res["self"]) == 3 and res["bench"]["sensor_hours"] == 0.5


def test_stage_shares_name_what_the_runtime_calls():
    from momentsense.trainer.profile import stage_shares

    stages = stage_shares(keep_inside(parse_collapsed(RAW)))
    assert stages[0] == {"function": "process (sdk/transport/detector.py)", "share": 0.7}
    assert stages[1] == {"function": "preprocess (sdk/dsp/pipeline.py)", "share": 0.3}
