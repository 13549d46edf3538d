"""Journeys headless UI walk-through, on the desktop backend and on the Android service backend.

The real app runs in a subprocess under Xvfb (SDL's offscreen driver when Xvfb is absent, see
platform-notes.md) and is driven like a person would: consent → the day's cards and strip → the map →
a trip's sheet and a correction → undo → places, insights → settings (share, sync, pause) → withdraw.
It checks what is on screen (texts in words, tap targets of at least 48 dp, the map's drawn track,
a 15-minute trip's card) and writes screenshots: the desktop run to ``docs/img/`` (the user guide's
pictures, reproducible: the simulated day is held at a fixed time), both runs to
``ci-artifacts/app-screenshots/<backend>/``. Skipped only when Kivy is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "app"
DOCS_IMG = ROOT / "docs" / "img"
SHOTS = ROOT / "ci-artifacts" / "app-screenshots"
#: A commuter's morning: a 15-minute drive, then a bus. At +8 h the simulator's 22:13 UTC is 06:13 local.
UI_LEGS = "still:1800,walk:300,car:900,still:2400,walk:600,bus:1500,walk:300,still:3600"
TZ = 8 * 3600.0
#: Hold the stream 15 min into the last stay: it is recognised and still going on ("… since").
HOLD_AFTER_S = 1800 + 300 + 900 + 2400 + 600 + 1500 + 300 + 900
#: What a person must never read: place ids, dicts, probabilities, paths, Python's None/nan, snake_case.
RAW = re.compile(r"\bp\d+\b|[{}]|p=|/tmp|/home|\bNone\b|\bnan\b|[a-z]_[a-z]")
DOC_SHOTS = {"1-consent": "consent.png", "2-day": "day-list.png", "3-map": "map.png", "4-correction": "correction.png",
             "7-settings": "settings.png"}  # fmt: skip


def _start_xvfb():
    """Start Xvfb on a free display; returns (process, display) or (None, None) without Xvfb."""
    exe = shutil.which("Xvfb")
    if exe is None:
        return None, None
    r, w = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(w), "-screen", "0", "1024x900x24", "-nolisten", "tcp"], pass_fds=(w,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(w)
    with os.fdopen(r) as f:
        num = f.readline().strip()
    if not num:
        proc.kill()
        return None, None
    return proc, f":{num}"


@pytest.mark.parametrize("backend", ["desktop", "service"])
def test_ui_walkthrough_headless(tmp_path, backend):
    pytest.importorskip("kivy", reason="Kivy is not installed (pip install -e .[app]); the UI test needs it")
    env = dict(os.environ, KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_HOME=str(tmp_path / "kivy"))
    xvfb, display = _start_xvfb()
    if display:
        env["DISPLAY"] = display
    else:  # platform-notes.md: SDL2 falls back to an offscreen driver; screenshots are identical
        env.pop("DISPLAY", None)
        env["SDL_VIDEODRIVER"] = "offscreen"
    out = SHOTS / backend
    if out.exists():
        shutil.rmtree(out)
    t0 = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, __file__, "--ui-driver", backend, str(out), str(tmp_path / "data")], env=env,
                              capture_output=True, text=True, timeout=150)  # fmt: skip
    finally:
        if xvfb is not None:
            xvfb.kill()
            xvfb.wait()
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    facts = json.loads((out / "facts.json").read_text())
    assert facts["start_screen"] == "consent" and facts["backend_before_consent"] is None
    assert facts["declined"]["backend"] is None and "Nothing was collected" in facts["declined"]["text"]
    assert facts["headline"] == facts["vm_headline"]
    if backend == "desktop":  # held 15 min into the last stay: it is going on, on top, headlined
        assert facts["ongoing_headline"] is not None and facts["headline"] == facts["ongoing_headline"], facts["headline"]
    else:  # the service's day ended: the headline counts the day
        assert re.fullmatch(r"\d+ stays? and \d+ trips?", facts["headline"]), facts["headline"]
    assert facts["cards"] >= 4 and facts["cards"] == facts["expected_cards"]
    short = facts["short_trip"]
    assert short is not None and short["title"] == "Car" and 10 <= short["minutes"] <= 25, short
    assert short["target_w_dp"] >= 48 and short["target_h_dp"] >= 48
    assert facts["min_target_dp"] >= 48 and facts["min_card_dp"] >= 48
    assert facts["map"]["tracks"] >= 2 and facts["map"]["markers"] >= 2 and facts["map"]["car_pixels"] > 200
    assert facts["map"]["tiles"] >= 4 and facts["map"]["attribution"] == "© OpenStreetMap contributors"
    assert facts["focused_title"] == short["title"]
    assert facts["correction"]["field"] == "mode" and facts["correction"]["corrected_label"] == "bus" and facts["corrected_title"] == "Bus"
    assert facts["after_undo_title"] == "Car" and facts["undone"]
    assert facts["pending_before_sync"] >= 1 and facts["pending_after_sync"] == 0 and facts["sent_items"] >= 1
    assert facts["paused"] is True and facts["insights_rows"] >= 3
    for screen, texts in facts["texts"].items():
        bad = [t for t in texts if RAW.search(t)]
        assert not bad, f"{screen} shows raw text: {bad}"
    assert facts["after_revoke"] == {"screen": "consent", "needs_consent": True, "rows": 0, "coordinates": 0}
    from PIL import Image

    for name in facts["screenshots"]:
        img = Image.open(out / name).convert("RGB")
        assert img.size[0] >= 400 and len(img.getcolors(1 << 20) or range(1000)) > 10, f"{name} looks blank"
    if backend == "desktop":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for stem, doc_name in DOC_SHOTS.items():
            img = Image.open(out / f"{stem}.png").convert("RGB")
            small = img.resize((img.size[0] * 3 // 4, img.size[1] * 3 // 4), Image.LANCZOS)
            if not _same_picture(DOCS_IMG / doc_name, small):  # a scroll bar's fade is not a new picture
                small.quantize(128).save(DOCS_IMG / doc_name, optimize=True)
    assert elapsed < 120, f"UI test took {elapsed:.1f} s"


def _same_picture(path: Path, img) -> bool:
    """Whether ``path`` already shows ``img``: same size, under 1 % of the pixels off by more than 24 levels."""
    from PIL import Image, ImageChops

    if not path.exists():
        return False
    old = Image.open(path).convert("RGB")
    if old.size != img.size:
        return False
    diff = ImageChops.difference(old, img).convert("L").point(lambda v: 255 if v > 24 else 0)
    return diff.histogram()[255] < 0.01 * img.size[0] * img.size[1]


# -- the driver (runs in the subprocess) -------------------------------------------------------------


def _texts(widget) -> list:
    """Every non-empty text in a widget tree (labels, buttons)."""
    out = []
    roots = widget.children if not hasattr(widget, "walk") else [widget]
    for w in (x for r in roots for x in r.walk(restrict=True)):
        t = getattr(w, "text", None)
        if isinstance(t, str) and t.strip():
            out.append(re.sub(r"\[/?[a-z]+(=[^\]]*)?\]", "", t))
    return out


def _make_model(backend: str, data_dir: Path):
    import main as app_main

    args = app_main.parse_args(["--source", "simulate", "--speed", "0", "--legs", UI_LEGS, "--data-dir", str(data_dir),
                                "--tz-offset-s", str(TZ), "--keep-sim-time"])  # fmt: skip
    model = app_main.build_model(args)
    if backend == "desktop":
        from momentsense.sdk.sim.simulate import SimulatorOptions

        make = model.backend_factory

        def held():  # the stream stops at a fixed simulated time: the same screen on every run
            be = make()
            be.source.hold_at = float(SimulatorOptions().t0) + HOLD_AFTER_S
            return be

        model.backend_factory = held
    if backend == "service":
        import threading

        import service
        from journeys.service_backend import ServiceBackend
        from journeys.stores import EventStore

        legs = app_main.parse_legs(UI_LEGS)

        def starter():  # on a phone: android.start_service() from the permission callback
            threading.Thread(target=service.run, args=("simulate", data_dir, 120, 0, 0.02, legs), daemon=True).start()

        store = EventStore(data_dir / "journeys-events.sqlite")
        model.backend_factory = lambda: ServiceBackend(store, TZ, data_dir / "timeline.db", starter=starter, stopper=lambda: None)
    return model


def local_tile(url: str) -> bytes:
    """A plain 256 px tile drawn here (light ground, a street grid): the map's tile source in tests."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (256, 256), (236, 232, 222))
    d = ImageDraw.Draw(img)
    for k in range(0, 256, 64):
        d.line([(k, 0), (k, 255)], fill=(255, 255, 255), width=5)
        d.line([(0, k), (255, k)], fill=(255, 255, 255), width=5)
    d.rectangle([100, 150, 160, 200], fill=(200, 225, 190))  # a park
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class FakeSyncClient:
    """Stands in for the sync server (the server round trip is tested in test_app_android.py)."""

    def __init__(self):
        self.items = []

    def send_feedback(self, items):
        self.items += list(items)
        return {"accepted": len(items), "unknown_event_ids": []}


def _ui_driver(backend: str, out_dir: str, data_dir: str) -> None:  # noqa: C901 - a script of steps
    out, data = Path(out_dir), Path(data_dir)
    out.mkdir(parents=True, exist_ok=True)
    from kivy.config import Config

    Config.set("graphics", "width", "480")
    Config.set("graphics", "height", "860")
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.metrics import dp

    from journeys.sheets import CardSheet
    from journeys.ui import JourneysApp

    CardSheet.animate = False  # no fades: the same picture on every run

    model = _make_model(backend, data)
    model.sync_client = FakeSyncClient()
    app = JourneysApp(model)
    facts = {"screenshots": [], "texts": {}}
    state = {"pending_shot": None, "wait_until": 0.0}

    def shot(name, screen_texts=True):
        state["pending_shot"] = name
        if screen_texts:
            facts["texts"][name] = _texts(Window)

        def on_flip(*_):
            Window.unbind(on_flip=on_flip)
            written = Window.screenshot(name=str(out / f"{name}.png"))  # Kivy inserts a counter: name0001.png
            os.replace(written, out / f"{name}.png")
            facts["screenshots"].append(f"{name}.png")
            state["pending_shot"] = None

        Window.bind(on_flip=on_flip)
        Window.canvas.ask_update()

    def steps():
        m = app.model
        yield 0.8
        facts["start_screen"] = app.sm.current
        facts["backend_before_consent"] = None if m.backend is None else "started"
        shot("1-consent")
        yield 0.3
        app.consent_screen.decline_button.dispatch("on_release")
        yield 0.2
        facts["declined"] = {"backend": None if m.backend is None else "started", "text": app.consent_screen.text_label.text}
        app.consent_screen.accept_button.dispatch("on_release")
        assert app.sm.current == "day" and m.backend is not None
        if backend == "desktop":
            assert m.backend.source.idle.wait(60), "the simulated day did not reach the hold point"
        else:  # the service runs the whole day
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (m.backend.store.get("status") or {}).get("state") not in ("stopped", "failed"):
                yield 0.1
            assert m.backend.error is None, m.backend.error
        app.show("day")
        yield 0.5
        tl = m.timeline
        ds = app.day_screen
        facts["headline"] = ds.headline_label.text
        first = tl.cards[0]
        from journeys.day import fmt_clock

        facts["ongoing_headline"] = f"{first.title} since {fmt_clock(first.start, TZ)}" if first.ongoing else None
        facts["vm_headline"] = tl.headline
        facts["cards"] = len(ds.card_widgets)
        facts["expected_cards"] = len(tl.cards)
        facts["min_card_dp"] = min(w.height for w in ds.card_widgets) / dp(1)
        targets = [ds.strip.target_rect(it) for it in ds.strip.items]
        facts["min_target_dp"] = min(min(r[2], r[3]) for r in targets) / dp(1)
        car = next((c for c in tl.cards if c.kind == "trip" and c.label == "car"), None)
        item = next((it for it in ds.strip.items if car is not None and it.card.key == car.key), None)
        if car is not None:
            r = ds.strip.target_rect(item)
            facts["short_trip"] = {"title": car.title, "minutes": car.duration_s / 60, "target_w_dp": r[2] / dp(1), "target_h_dp": r[3] / dp(1)}
        else:
            facts["short_trip"] = None
        shot("2-day")
        yield 0.3
        m.map_tiles = True  # the background from a local tile source: no network in tests
        app.map_screen.map_view.tiles.fetch = local_tile
        app.nav_buttons["map"].dispatch("on_release")
        yield 1.5  # the tiles arrive from the cache's background thread
        mv = app.map_screen.map_view
        mv._redraw()
        facts["map"] = {"tracks": mv.drawn_tracks, "markers": mv.drawn_markers, "tiles": mv.drawn_tiles,
                        "attribution": mv.attribution.text}  # fmt: skip
        shot("3-map")
        yield 0.5
        from PIL import Image

        img = Image.open(out / "3-map.png").convert("RGB")
        facts["map"]["car_pixels"] = sum(1 for p in img.getdata() if abs(p[0] - 229) < 12 and abs(p[1] - 56) < 12 and abs(p[2] - 54) < 12)
        app.show("day")
        yield 0.4
        # tap the short drive on the strip 20 dp beside its bar: the 48 dp target still takes it (the touch
        # goes to the strip's handler directly: Kivy's test touches are offset by the window's bottom bar here)
        x, y, w, h = ds.strip.target_rect(item)
        px, py = x + w / 2 - dp(20), y + h / 2  # the side away from the bus
        ds.strip.on_touch_up(types.SimpleNamespace(x=px, y=py, ox=px, oy=py, pos=(px, py), opos=(px, py)))
        yield 0.4
        sheet = ds.sheet
        assert sheet is not None and sheet.card.key == car.key, "tapping the strip did not open the drive"
        sheet.map_button.dispatch("on_release")
        yield 0.5
        facts["focused_title"] = app.map_screen.title_label.text
        app.show("day")
        yield 0.4
        card_w = next(w for w in ds.card_widgets if w.card.key == car.key)
        ds.list_view.scroll_to(card_w, animate=False)
        yield 0.3
        card_w.dispatch("on_release")
        yield 1.0  # the sheet's fade-in has ended: the same picture on every run
        sheet = ds.sheet
        assert "still" not in [v for v, _ in tl.label_options(sheet.card)] and "Still" not in sheet.spinner.values
        sheet.spinner.text = "Bus"
        facts["texts"]["4-correction-sheet"] = _texts(sheet.popup)
        shot("4-correction", screen_texts=False)
        yield 0.4
        sheet.save_button.dispatch("on_release")
        yield 1.0  # the sheet's fade-out has ended
        stored = m.corrections.all()
        facts["correction"] = stored[-1].to_dict() if stored else None
        facts["corrected_title"] = next(c.title for c in tl.cards if c.key == car.key)
        shot("5-day-corrected")
        yield 0.3
        m.corrections.add("trip", car.sdk_start, car.sdk_end, "car", "walk", "mode")  # a mistaken second tap...
        ds.refresh()
        ds.undo_button.dispatch("on_release")  # ...taken back
        yield 0.3
        facts["undone"] = next(c.title for c in tl.cards if c.key == car.key) == "Bus"
        ds.undo_button.dispatch("on_release")
        yield 0.3
        facts["after_undo_title"] = next(c.title for c in tl.cards if c.key == car.key)
        sheet = None
        tl.change_label(next(c for c in tl.cards if c.key == car.key), "bus")
        if backend == "desktop":
            m.backend.pause(False)
            m.backend.sdk.wait(60)
        app.nav_buttons["now"].dispatch("on_release")
        yield 0.4
        shot("6-now")
        yield 0.3
        app.nav_buttons["places"].dispatch("on_release")
        yield 0.3
        shot("6-places")
        yield 0.3
        app.nav_buttons["insights"].dispatch("on_release")
        yield 0.3
        facts["insights_rows"] = len(app.list_screens["insights"].labels)
        shot("6-insights")
        yield 0.3
        app.nav_buttons["settings"].dispatch("on_release")
        yield 0.3
        facts["pending_before_sync"] = len(m.corrections.pending())
        st = app.settings_screen
        st.share_button.state = "down"
        st.share_button.dispatch("on_release")
        st.sync_button.dispatch("on_release")
        yield 0.3
        facts["pending_after_sync"] = len(m.corrections.pending())
        facts["sent_items"] = len(m.sync_client.items)
        st.pause_button.state = "down"
        st.pause_button.dispatch("on_release")
        yield 0.3
        facts["paused"] = m.paused
        shot("7-settings")
        yield 0.3
        st.revoke_button.dispatch("on_release")
        yield 0.3
        assert app.revoke_popup is not None, "withdrawing asks first"
        app.revoke_popup.yes_button.dispatch("on_release")
        yield 0.6
        facts["after_revoke"] = {"screen": app.sm.current, "needs_consent": m.needs_consent, **m.stored()}
        (out / "facts.json").write_text(json.dumps(facts, indent=1, default=str))
        app.stop()

    gen = steps()

    def tick(_dt):
        if state["pending_shot"] or time.monotonic() < state["wait_until"]:
            return
        try:
            state["wait_until"] = time.monotonic() + next(gen)
        except StopIteration:
            return False
        except BaseException:
            import traceback

            traceback.print_exc()
            app.stop()
            os._exit(3)

    Clock.schedule_interval(tick, 0.02)
    Clock.schedule_once(lambda *_: (print("UI driver timed out", file=sys.stderr), os._exit(4)), 120)
    app.run()


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--ui-driver":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(APP))
    _ui_driver(sys.argv[2], sys.argv[3], sys.argv[4])
