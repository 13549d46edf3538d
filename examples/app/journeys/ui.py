"""Kivy widgets and screens of Journeys. They only draw :mod:`journeys.viewmodel` states and forward taps.

Import this module only after Kivy's environment is set (``main.py`` does it): creating a widget opens
the window.
"""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.graphics import Color, Line, Rectangle
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.popup import Popup
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager
from kivy.uix.scrollview import ScrollView
from kivy.uix.spinner import Spinner
from kivy.uix.widget import Widget

from journeys.viewmodel import CONSENT_TEXT, LANE_TITLES, LANES, AppModel, Bar, ListState, NowState

Builder.load_file(str(Path(__file__).with_name("journeys.kv")))

AXIS_COLORS = ((0.95, 0.3, 0.3, 1), (0.3, 0.85, 0.3, 1), (0.35, 0.55, 1.0, 1))
SWIPE_MIN_DP = 60


class TraceView(Widget):
    """Three polylines (x, y, z) over a dark background; :meth:`set_lines` takes unit-square points."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._unit = [[], [], []]
        with self.canvas:
            Color(0.12, 0.12, 0.15, 1)
            self._bg = Rectangle()
            Color(0.4, 0.4, 0.4, 1)
            self._mid = Line(width=1)
            self._lines = []
            for c in AXIS_COLORS:
                Color(*c)
                self._lines.append(Line(width=1.2))
        self.bind(pos=self._redraw, size=self._redraw)

    def set_lines(self, unit_lines) -> None:
        self._unit = unit_lines
        self._redraw()

    @property
    def n_points(self) -> int:
        return sum(len(p) // 2 for p in self._unit)

    def _redraw(self, *_):
        x, y, w, h = self.x, self.y, self.width, self.height
        self._bg.pos, self._bg.size = self.pos, self.size
        self._mid.points = [x, y + h / 2, x + w, y + h / 2]
        for line, pts in zip(self._lines, self._unit):
            line.points = [x + w * v if i % 2 == 0 else y + h * v for i, v in enumerate(pts)]


class BarWidget(Widget):
    """One timeline item; a tap opens its details."""

    def __init__(self, bar: Bar, on_tap, **kwargs):
        super().__init__(**kwargs)
        self.bar, self._on_tap = bar, on_tap
        with self.canvas:
            Color(*bar.color)
            self._rect = Rectangle()
            if bar.corrected:  # a white underline marks the user's corrections
                Color(1, 1, 1, 1)
                self._mark = Rectangle()
        self.bind(pos=self._redraw, size=self._redraw)

    def _redraw(self, *_):
        self._rect.pos, self._rect.size = self.pos, self.size
        if self.bar.corrected:
            self._mark.pos, self._mark.size = self.pos, (self.width, dp(3))

    def on_touch_up(self, touch):
        if self.collide_point(*touch.pos) and abs(touch.x - touch.ox) < dp(SWIPE_MIN_DP) / 2:
            self._on_tap(self.bar)
            return True
        return super().on_touch_up(touch)


class DayView(FloatLayout):
    """A day as three lanes of bars (places, trips, modes) over an hour axis; swipe for other days."""

    def __init__(self, on_tap, on_swipe, **kwargs):
        super().__init__(**kwargs)
        self._on_tap, self._on_swipe = on_tap, on_swipe
        with self.canvas.before:
            Color(0.1, 0.1, 0.12, 1)
            self._bg = Rectangle()
        self.bind(pos=lambda *_: setattr(self._bg, "pos", self.pos), size=lambda *_: setattr(self._bg, "size", self.size))
        n = len(LANES)
        for i, lane in enumerate(LANES):
            y = 1 - (i + 1) / (n + 0.6)
            self.add_widget(Label(text=LANE_TITLES[lane], font_size="12sp", size_hint=(0.2, 0.08), pos_hint={"x": 0, "y": y + 0.17}, halign="left"))
        for h in range(0, 25, 6):
            self.add_widget(Label(text=f"{h:02d}", font_size="11sp", size_hint=(0.08, 0.06), pos_hint={"center_x": 0.04 + 0.92 * h / 24, "y": 0.0}))
        self.bar_widgets: list[BarWidget] = []

    def set_bars(self, bars) -> None:
        for w in self.bar_widgets:
            self.remove_widget(w)
        n = len(LANES)
        self.bar_widgets = []
        for b in bars:
            lane = LANES.index(b.kind)
            y = 1 - (lane + 1) / (n + 0.6)
            w = BarWidget(b, self._on_tap, size_hint=(max(0.92 * (b.x1 - b.x0), 0.004), 0.16), pos_hint={"x": 0.04 + 0.92 * b.x0, "y": y})
            self.bar_widgets.append(w)
            self.add_widget(w)

    def on_touch_up(self, touch):
        if self.collide_point(*touch.opos) and abs(touch.x - touch.ox) >= dp(SWIPE_MIN_DP):
            self._on_swipe(-1 if touch.x > touch.ox else +1)  # finger moves right → the previous day
            return True
        return super().on_touch_up(touch)


def _scroll_column():
    box = BoxLayout(orientation="vertical", size_hint_y=None, spacing=dp(4), padding=dp(8))
    box.bind(minimum_height=box.setter("height"))
    sv = ScrollView()
    sv.add_widget(box)
    return sv, box


class ConsentScreen(Screen):
    def __init__(self, app: "JourneysApp", **kwargs):
        super().__init__(name="consent", **kwargs)
        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(8))
        root.add_widget(Factory.Heading(text="Before we start"))
        sv, box = _scroll_column()
        box.add_widget(Factory.Body(text=CONSENT_TEXT))
        root.add_widget(sv)
        self.accept_button = Factory.BigButton(text="I agree: start sensing")
        self.accept_button.bind(on_release=lambda *_: app.accept_consent())
        root.add_widget(self.accept_button)
        self.add_widget(root)


class NowScreen(Screen):
    def __init__(self, **kwargs):
        super().__init__(name="now", **kwargs)
        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(6))
        root.add_widget(Factory.Heading(text="Now"))
        self.mode_label = Label(font_size="28sp", bold=True, size_hint_y=None, height=dp(56), halign="center", valign="middle")
        self.mode_label.bind(size=lambda w, *_: setattr(w, "text_size", w.size))
        self.place_label = Factory.Body()
        self.trip_label = Factory.Body()
        self.status_label = Factory.Body(font_size="12sp")
        for w in (self.mode_label, self.place_label, self.trip_label):
            root.add_widget(w)
        root.add_widget(Factory.Body(text="Accelerometer (±20 m/s², last 5 s; x red, y green, z blue)", font_size="12sp"))
        self.acc_view = TraceView()
        root.add_widget(self.acc_view)
        root.add_widget(Factory.Body(text="Gyroscope (±5 rad/s, last 5 s)", font_size="12sp"))
        self.gyro_view = TraceView()
        root.add_widget(self.gyro_view)
        root.add_widget(self.status_label)
        self.add_widget(root)

    def show(self, st: NowState) -> None:
        self.mode_label.text = st.mode_text
        self.place_label.text, self.trip_label.text, self.status_label.text = st.place_text, st.trip_text, st.status_text
        self.acc_view.set_lines(st.acc_lines)
        self.gyro_view.set_lines(st.gyro_lines)


class TimelineScreen(Screen):
    def __init__(self, app: "JourneysApp", **kwargs):
        super().__init__(name="timeline", **kwargs)
        self.app = app
        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(6))
        row = BoxLayout(size_hint_y=None, height=dp(44))
        self.prev_button = Button(text="<", size_hint_x=None, width=dp(44))
        self.next_button = Button(text=">", size_hint_x=None, width=dp(44))
        self.title_label = Label(font_size="17sp", bold=True)
        self.prev_button.bind(on_release=lambda *_: self.swipe(-1))
        self.next_button.bind(on_release=lambda *_: self.swipe(+1))
        for w in (self.prev_button, self.title_label, self.next_button):
            row.add_widget(w)
        root.add_widget(row)
        self.counts_label = Factory.Body(font_size="12sp")
        root.add_widget(self.counts_label)
        self.day_view = DayView(self.open_details, self.swipe)
        root.add_widget(self.day_view)
        root.add_widget(Factory.Body(text="Tap a bar to see and correct it; swipe for other days.", font_size="12sp"))
        self.add_widget(root)
        self.popup = None

    def refresh(self) -> None:
        tl = self.app.model.timeline
        if tl is None:
            self.title_label.text, self.counts_label.text = "No data yet", ""
            self.day_view.set_bars([])
            return
        bars = tl.refresh()
        self.title_label.text, self.counts_label.text = tl.title, tl.counts_text
        self.day_view.set_bars(bars)

    def swipe(self, step: int) -> None:
        tl = self.app.model.timeline
        if tl is not None and tl.swipe(step):
            self.refresh()

    def open_details(self, bar: Bar) -> None:
        tl = self.app.model.timeline
        box = BoxLayout(orientation="vertical", spacing=dp(6))
        box.add_widget(Factory.Body(text="\n".join(f"{k}: {v}" for k, v in bar.details)))
        box.add_widget(Factory.Body(text="Was it something else? Choose and save:", font_size="13sp"))
        spinner = Spinner(text=bar.label, values=tl.options(bar), size_hint_y=None, height=dp(44))
        save = Factory.BigButton(text="Save correction")
        box.add_widget(spinner)
        box.add_widget(save)
        box.add_widget(Widget())  # keeps the rows at the top
        popup = Popup(title=f"{bar.kind.capitalize()}: {bar.label}", content=box, size_hint=(0.92, 0.7))
        popup.spinner, popup.save_button, popup.bar = spinner, save, bar

        def do_save(*_):
            tl.correct(bar, spinner.text)
            popup.dismiss()
            self.popup = None
            self.refresh()

        save.bind(on_release=do_save)
        popup.bind(on_dismiss=lambda *_: setattr(self, "popup", None))
        self.popup = popup
        popup.open()


class ListScreen(Screen):
    """Places, Moments, Segments, Driving: rows, or a placeholder saying what is not available yet."""

    def __init__(self, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        root = BoxLayout(orientation="vertical", padding=dp(8))
        self.heading = Factory.Heading(text=name.capitalize())
        root.add_widget(self.heading)
        sv, self.box = _scroll_column()
        root.add_widget(sv)
        self.add_widget(root)
        self.placeholder_label = None

    def show(self, st: ListState) -> None:
        self.heading.text = st.title
        self.box.clear_widgets()
        self.placeholder_label = None
        for r in st.rows:
            self.box.add_widget(Factory.Body(text=r))
        if st.placeholder:
            self.placeholder_label = Factory.Placeholder(text=st.placeholder)
            self.box.add_widget(self.placeholder_label)


class SettingsScreen(Screen):
    def __init__(self, app: "JourneysApp", **kwargs):
        super().__init__(name="settings", **kwargs)
        self.app = app
        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(8))
        root.add_widget(Factory.Heading(text="Settings"))
        self.info_label = Factory.Body()
        root.add_widget(self.info_label)
        root.add_widget(Widget())
        self.revoke_button = Factory.BigButton(text="Revoke consent: stop sensing, erase data", background_color=(0.85, 0.25, 0.25, 1))
        self.revoke_button.bind(on_release=lambda *_: app.revoke_consent())
        root.add_widget(self.revoke_button)
        self.add_widget(root)

    def refresh(self) -> None:
        m = self.app.model
        pending = len(m.corrections.pending())
        self.info_label.text = (f"Consent: {'given' if not m.needs_consent else 'not given'} (stored by {m.consent.backend})\n"
                                f"Data folder: {m.data_dir}\nCorrections waiting for sync: {pending}")  # fmt: skip


NAV = (("now", "Now"), ("timeline", "Timeline"), ("places", "Places"), ("moments", "Moments"),
       ("segments", "Segments"), ("driving", "Driving"), ("settings", "Settings"))  # fmt: skip


class JourneysApp(App):
    """The app: a screen manager over the view model, refreshed by a Clock tick."""

    title = "Journeys"
    refresh_s = 0.2

    def __init__(self, model: AppModel, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self._tick = 0

    def build(self):
        root = BoxLayout(orientation="vertical")
        self.sm = ScreenManager(transition=NoTransition())
        self.consent_screen = ConsentScreen(self)
        self.now_screen = NowScreen()
        self.timeline_screen = TimelineScreen(self)
        self.list_screens = {n: ListScreen(n) for n in ("places", "moments", "segments", "driving")}
        self.settings_screen = SettingsScreen(self)
        for s in (self.consent_screen, self.now_screen, self.timeline_screen, *self.list_screens.values(), self.settings_screen):
            self.sm.add_widget(s)
        self.nav = BoxLayout(size_hint_y=None, height=dp(48))
        self.nav_buttons = {}
        for name, text in NAV:
            b = Factory.NavButton(text=text)
            b.bind(on_release=lambda _b, n=name: self.show(n))
            self.nav_buttons[name] = b
            self.nav.add_widget(b)
        root.add_widget(self.sm)
        root.add_widget(self.nav)
        if self.model.needs_consent:
            self.show("consent")
        else:
            self.model.start()
            self.show("now")
        Clock.schedule_interval(self._refresh, self.refresh_s)
        return root

    def show(self, name: str) -> None:
        """Switch screen (everything but consent needs consent)."""
        if name != "consent" and self.model.needs_consent:
            name = "consent"
        self.nav.disabled = name == "consent"
        self.nav.opacity = 0.3 if name == "consent" else 1
        for n, b in self.nav_buttons.items():
            b.state = "down" if n == name else "normal"
        self.sm.current = name
        self._refresh(force=True)

    def accept_consent(self) -> None:
        self.model.accept()
        self.show("now")

    def revoke_consent(self) -> None:
        self.model.revoke()
        self.show("consent")

    def _refresh(self, *_, force: bool = False) -> None:
        self._tick += 1
        cur = self.sm.current
        if cur == "now":
            self.now_screen.show(self.model.now())
        elif cur == "timeline" and (force or self._tick % 5 == 0) and self.timeline_screen.popup is None:
            self.timeline_screen.refresh()
        elif cur == "places" and force:
            self.list_screens["places"].show(self.model.places())
        elif cur in ("moments", "segments", "driving") and force:
            self.list_screens[cur].show(self.model.feature(cur))
        elif cur == "settings":
            self.settings_screen.refresh()

    def on_stop(self):
        self.model.close()
