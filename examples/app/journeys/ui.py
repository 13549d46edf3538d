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

from journeys.screens import ConsentScreen, ListScreen, NowScreen, ProblemBanner, SettingsScreen, scroll_column
from journeys.sheets import CardSheet, confirm
from journeys.viewmodel import AppModel
from journeys.widgets import CardWidget, DayStrip, Legend, MapWidget

Builder.load_file(str(Path(__file__).with_name("journeys.kv")))


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
        sv, self.list_box = scroll_column()
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

        def to_top(*_):  # a list shorter than the screen starts at the top, not where the last one was scrolled
            if self.list_box.height <= self.list_view.height:
                self.list_view.scroll_y = 1

        Clock.schedule_once(to_top)

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
        from journeys.tiles import TileCache

        self.map_view = MapWidget(tiles=TileCache(app.model.data_dir / "tiles"))
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
        self.map_view.tiles_on = self.app.model.map_tiles
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

    def set_resume_after_boot(self, on: bool) -> None:
        self.model.resume_after_boot = on
        self._refresh(force=True)

    def set_map_tiles(self, on: bool) -> None:
        self.model.map_tiles = on
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

    def on_resume(self):
        """Back from the system settings (or another app): a refused permission may be granted now."""
        if self.model.problem() is not None:
            self.model.retry()
        self._refresh(force=True)

    def on_stop(self):
        self.model.close()
