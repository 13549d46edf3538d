"""Kivy screens of Journeys. They only draw :mod:`journeys.viewmodel` / :mod:`journeys.dayvm` states and forward taps.

Import this module only after Kivy's environment is set (``main.py`` does it): creating a widget opens
the window.
"""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from journeys.sheets import CardSheet, confirm
from journeys.viewmodel import CONSENT_TEXT, DECLINED_TEXT, AppModel, ListState, NowState
from journeys.widgets import CardWidget, DayStrip, Legend, MapWidget, TraceView

Builder.load_file(str(Path(__file__).with_name("journeys.kv")))


def _scroll_column():
    box = BoxLayout(orientation="vertical", size_hint_y=None, spacing=dp(6), padding=dp(8))
    box.bind(minimum_height=box.setter("height"))
    sv = ScrollView()
    sv.add_widget(box)
    return sv, box


class ProblemBanner(BoxLayout):
    """Why sensing is not running, with Retry or Open settings; hidden when all is well."""

    def __init__(self, app: "JourneysApp", **kwargs):
        super().__init__(orientation="horizontal", size_hint_y=None, height=0, opacity=0, spacing=dp(6), **kwargs)
        self.app = app
        self.label = Factory.Body(font_size="13sp", color=(1, 0.85, 0.6, 1))
        self.button = Factory.BigButton(size_hint_x=None, width=dp(120), background_color=(0.85, 0.45, 0.2, 1))
        self.button.bind(on_release=lambda *_: app.fix_problem())
        self.add_widget(self.label)
        self.add_widget(self.button)
        self.problem = None

    def show(self, problem) -> None:
        self.problem = problem
        self.height, self.opacity = (dp(72), 1) if problem else (0, 0)
        self.disabled = problem is None
        if problem:
            self.label.text = problem.text
            self.button.text = "Open settings" if problem.action == "settings" else "Retry"


class ConsentScreen(Screen):
    def __init__(self, app: "JourneysApp", **kwargs):
        super().__init__(name="consent", **kwargs)
        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(8))
        root.add_widget(Factory.Heading(text="Journeys records your day"))
        sv, box = _scroll_column()
        self.text_label = Factory.Body(text=CONSENT_TEXT, markup=True)
        box.add_widget(self.text_label)
        root.add_widget(sv)
        self.accept_button = Factory.BigButton(text="I agree: continue")
        self.accept_button.bind(on_release=lambda *_: app.accept_consent())
        self.decline_button = Factory.BigButton(text="Not now", background_color=(0.35, 0.35, 0.4, 1))
        self.decline_button.bind(on_release=lambda *_: app.decline_consent())
        root.add_widget(self.accept_button)
        root.add_widget(self.decline_button)
        self.add_widget(root)

    def show_declined(self, declined: bool) -> None:
        self.text_label.text = DECLINED_TEXT if declined else CONSENT_TEXT
        self.accept_button.text = "I changed my mind: continue" if declined else "I agree: continue"


class NowScreen(Screen):
    def __init__(self, app, **kwargs):
        super().__init__(name="now", **kwargs)
        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(6))
        root.add_widget(Factory.Heading(text="Right now"))
        self.banner = ProblemBanner(app)
        root.add_widget(self.banner)
        self.mode_label = Label(font_size="28sp", bold=True, size_hint_y=None, height=dp(56), halign="center", valign="middle")
        self.mode_label.bind(size=lambda w, *_: setattr(w, "text_size", w.size))
        self.place_label = Factory.Body()
        self.trip_label = Factory.Body()
        self.status_label = Factory.Body(font_size="12sp")
        for w in (self.mode_label, self.place_label, self.trip_label):
            root.add_widget(w)
        root.add_widget(Factory.Body(text="Motion (last 5 seconds): accelerometer", font_size="12sp"))
        self.acc_view = TraceView()
        root.add_widget(self.acc_view)
        root.add_widget(Factory.Body(text="Rotation (last 5 seconds): gyroscope", font_size="12sp"))
        self.gyro_view = TraceView()
        root.add_widget(self.gyro_view)
        root.add_widget(self.status_label)
        self.add_widget(root)

    def show(self, st: NowState, problem=None) -> None:
        self.banner.show(problem)
        self.mode_label.text = st.mode_text
        self.place_label.text, self.trip_label.text, self.status_label.text = st.place_text, st.trip_text, st.status_text
        self.acc_view.set_lines(st.acc_lines)
        self.gyro_view.set_lines(st.gyro_lines)


class DayScreen(Screen):
    """The day: headline (what is going on now), the 24-hour strip, a legend, and the stay/trip cards."""

    def __init__(self, app: "JourneysApp", **kwargs):
        super().__init__(name="day", **kwargs)
        self.app = app
        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(6))
        row = BoxLayout(size_hint_y=None, height=dp(48))
        self.prev_button = Button(text="<", size_hint_x=None, width=dp(48))
        self.next_button = Button(text=">", size_hint_x=None, width=dp(48))
        self.title_label = Label(font_size="18sp", bold=True)
        self.undo_button = Button(text="Undo", size_hint_x=None, width=dp(72), disabled=True)
        self.prev_button.bind(on_release=lambda *_: self.swipe(-1))
        self.next_button.bind(on_release=lambda *_: self.swipe(+1))
        self.undo_button.bind(on_release=lambda *_: self.undo())
        for w in (self.prev_button, self.title_label, self.next_button, self.undo_button):
            row.add_widget(w)
        root.add_widget(row)
        self.banner = ProblemBanner(app)
        root.add_widget(self.banner)
        self.headline_label = Factory.Body(font_size="17sp", bold=True)
        root.add_widget(self.headline_label)
        self.strip = DayStrip(self.open_card, self.swipe)
        root.add_widget(self.strip)
        self.legend = Legend()
        root.add_widget(self.legend)
        sv, self.list_box = _scroll_column()
        self.list_view = sv
        root.add_widget(sv)
        self.add_widget(root)
        self.card_widgets: list = []
        self.sheet = None

    def refresh(self) -> None:
        tl = self.app.model.timeline
        self.banner.show(self.app.model.problem())
        if tl is None:
            self.title_label.text, self.headline_label.text = "Today", "Nothing recorded yet."
            self._set_cards([])
            self.strip.set_items([])
            return
        tl.refresh()
        self.title_label.text, self.headline_label.text = tl.title, tl.headline
        self.strip.set_items(tl.strip)
        self.legend.set_entries(tl.legend)
        self._set_cards(tl.cards)
        self.undo_button.disabled = not self.app.model.corrections.all()

    def _set_cards(self, cards) -> None:
        self.list_box.clear_widgets()
        self.card_widgets = [CardWidget(c, self.open_card) for c in cards]
        for w in self.card_widgets:
            self.list_box.add_widget(w)

    def swipe(self, step: int) -> None:
        tl = self.app.model.timeline
        if tl is not None and tl.swipe(step):
            self.refresh()

    def undo(self) -> None:
        tl = self.app.model.timeline
        if tl is not None:
            tl.undo()
            self.refresh()

    def open_card(self, card) -> None:
        tl = self.app.model.timeline
        if tl is None:
            return

        def done(changed: bool) -> None:
            self.sheet = None
            if changed:
                self.app.after_correction()
                self.refresh()

        self.sheet = CardSheet(tl, card, on_done=done, on_map=lambda c: self.app.show_on_map(c))
        self.sheet.open()


class MapScreen(Screen):
    def __init__(self, app: "JourneysApp", **kwargs):
        super().__init__(name="map", **kwargs)
        self.app = app
        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(6))
        row = BoxLayout(size_hint_y=None, height=dp(48))
        self.title_label = Label(font_size="18sp", bold=True)
        self.all_button = Button(text="Whole day", size_hint_x=None, width=dp(110))
        self.all_button.bind(on_release=lambda *_: self.show_all())
        row.add_widget(self.title_label)
        row.add_widget(self.all_button)
        root.add_widget(row)
        self.map_view = MapWidget()
        root.add_widget(self.map_view)
        self.legend = Legend()
        root.add_widget(self.legend)
        self.note_label = Factory.Body(font_size="12sp", text="Positions are drawn from this phone's records only; they are never uploaded.")
        root.add_widget(self.note_label)
        self.add_widget(root)

    def refresh(self, focus_card=None) -> None:
        tl = self.app.model.timeline
        if tl is None:
            self.map_view.set_state(None)
            return
        if focus_card is None:
            tl.refresh()
        st = tl.map_state(self.map_view.aspect)
        if focus_card is not None:
            tl.focus(focus_card, self.map_view.aspect)
        self.title_label.text = tl.title if st.focused is None else st.focused.title
        self.legend.set_entries(tl.legend)
        self.map_view.set_state(st)
        if st.empty:
            self.note_label.text = "No positions recorded on this day yet."

    def show_all(self) -> None:
        tl = self.app.model.timeline
        if tl is not None:
            tl.map = None
            self.refresh()


class ListScreen(Screen):
    """Places and Insights: rows, or a placeholder saying what is not available yet."""

    def __init__(self, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        root = BoxLayout(orientation="vertical", padding=dp(8))
        self.heading = Factory.Heading(text=name.capitalize())
        root.add_widget(self.heading)
        sv, self.box = _scroll_column()
        root.add_widget(sv)
        self.add_widget(root)
        self.labels: list = []

    def show(self, states) -> None:
        states = states if isinstance(states, list) else [states]
        self.box.clear_widgets()
        self.labels = []
        self.heading.text = states[0].title if len(states) == 1 else self.name.capitalize()
        for st in states:
            if len(states) > 1:
                self.box.add_widget(Factory.SubHeading(text=st.title))
            rows = [Factory.Body(text=r) for r in st.rows]
            if st.placeholder:
                rows.append(Factory.Placeholder(text=st.placeholder))
            for lbl in rows:
                self.labels.append(lbl)
                self.box.add_widget(lbl)


class SettingsScreen(Screen):
    def __init__(self, app: "JourneysApp", **kwargs):
        super().__init__(name="settings", **kwargs)
        self.app = app
        root = BoxLayout(orientation="vertical", padding=dp(8), spacing=dp(8))
        root.add_widget(Factory.Heading(text="Settings"))
        self.info_label = Factory.Body()
        root.add_widget(self.info_label)
        self.share_button = Factory.SettingToggle(text="Share corrections to improve the models")
        self.share_button.bind(on_release=lambda b: app.set_sharing(b.state == "down"))
        self.sync_button = Factory.BigButton(text="Send corrections now")
        self.sync_button.bind(on_release=lambda *_: app.sync_now())
        self.pause_button = Factory.SettingToggle(text="Pause sensing (keeps your diary)")
        self.pause_button.bind(on_release=lambda b: app.set_paused(b.state == "down"))
        for w in (self.share_button, self.sync_button, self.pause_button):
            root.add_widget(w)
        root.add_widget(Widget())
        self.revoke_button = Factory.BigButton(text="Withdraw consent and erase everything", background_color=(0.85, 0.25, 0.25, 1))
        self.revoke_button.bind(on_release=lambda *_: app.ask_revoke())
        root.add_widget(self.revoke_button)
        self.add_widget(root)

    def refresh(self) -> None:
        m = self.app.model
        stored = m.stored()
        self.info_label.text = (f"Sensing: {'paused' if m.paused else 'on'}\n"
                                f"Stored on this phone: {stored['rows']} records, {stored['coordinates']} with a position\n"
                                f"{m.sync_text}")  # fmt: skip
        share, paused = m.consent.sync_granted(), m.paused
        self.share_button.state = "down" if share else "normal"
        self.share_button.text = f"Share corrections to improve the models: {'ON' if share else 'off'}"
        self.pause_button.state = "down" if paused else "normal"
        self.pause_button.text = "Sensing paused: tap to resume" if paused else "Pause sensing (keeps your diary)"


NAV = (("day", "Day"), ("map", "Map"), ("now", "Now"), ("places", "Places"), ("insights", "Insights"), ("settings", "Settings"))


class JourneysApp(App):
    """The app: a screen manager over the view model, refreshed by a Clock tick."""

    title = "Journeys"
    refresh_s = 0.2

    def __init__(self, model: AppModel, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self._tick = 0
        self.revoke_popup = None

    def load_kv(self, filename=None):
        return True  # journeys.kv is loaded once at import (App would load it again by the app's name)

    def build(self):
        root = BoxLayout(orientation="vertical")
        self.sm = ScreenManager(transition=NoTransition())
        self.consent_screen = ConsentScreen(self)
        self.now_screen = NowScreen(self)
        self.day_screen = DayScreen(self)
        self.map_screen = MapScreen(self)
        self.list_screens = {n: ListScreen(n) for n in ("places", "insights")}
        self.settings_screen = SettingsScreen(self)
        for s in (self.consent_screen, self.now_screen, self.day_screen, self.map_screen, *self.list_screens.values(), self.settings_screen):
            self.sm.add_widget(s)
        self.nav = BoxLayout(size_hint_y=None, height=dp(52))
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
            self.show("day")
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

    def show_on_map(self, card) -> None:
        self.show("map")
        self.map_screen.refresh(focus_card=card)

    # -- actions -------------------------------------------------------------------------------

    def accept_consent(self) -> None:
        self.model.accept()
        self.show("day")

    def decline_consent(self) -> None:
        self.model.decline()
        self.consent_screen.show_declined(True)

    def ask_revoke(self) -> None:
        self.revoke_popup = confirm("Withdraw consent?", "Sensing stops and everything Journeys stored on this phone "
                                    "(your diary, places, positions, corrections) is erased. This cannot be undone.",
                                    "Erase everything", self.revoke_consent)  # fmt: skip

    def revoke_consent(self) -> None:
        self.revoke_popup = None
        self.model.revoke()
        self.consent_screen.show_declined(False)
        self.show("consent")

    def set_sharing(self, on: bool) -> None:
        self.model.consent.set_sync(on)
        self._refresh(force=True)

    def set_paused(self, on: bool) -> None:
        self.model.set_paused(on)
        self._refresh(force=True)

    def sync_now(self) -> None:
        self.model.sync()
        self._refresh(force=True)

    def after_correction(self) -> None:
        if self.model.consent.sync_granted():
            self.model.sync()

    def fix_problem(self) -> None:
        p = self.model.problem()
        if p is not None and p.action == "settings":
            from journeys import android

            android.open_app_settings()
        else:
            self.model.retry()
        self._refresh(force=True)

    def _refresh(self, *_, force: bool = False) -> None:
        self._tick += 1
        cur = self.sm.current
        if cur == "now":
            self.now_screen.show(self.model.now(), self.model.problem())
        elif cur == "day" and (force or self._tick % 10 == 0) and self.day_screen.sheet is None:
            self.day_screen.refresh()
        elif cur == "map" and force:
            self.map_screen.refresh()
        elif cur == "places" and force:
            self.list_screens["places"].show(self.model.places())
        elif cur == "insights" and force:
            self.list_screens["insights"].show([self.model.feature(n) for n in ("moments", "segments", "driving")])
        elif cur == "settings" and (force or self._tick % 10 == 0):
            self.settings_screen.refresh()

    def on_stop(self):
        self.model.close()
