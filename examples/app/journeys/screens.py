"""Kivy screens of Journeys besides the day and the map: consent, now, lists, settings, and the problem banner.

They only draw :mod:`journeys.viewmodel` states and forward taps to the app (:class:`journeys.ui.JourneysApp`).
"""

from __future__ import annotations

from kivy.factory import Factory
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from journeys.viewmodel import CONSENT_TEXT, DECLINED_TEXT, NowState
from journeys.widgets import TraceView


def scroll_column():
    """A vertical box in a ScrollView: ``(scroll view, box)``."""
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
        sv, box = scroll_column()
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


class ListScreen(Screen):
    """Places and Insights: rows, or a placeholder saying what is not available yet."""

    def __init__(self, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        root = BoxLayout(orientation="vertical", padding=dp(8))
        self.heading = Factory.Heading(text=name.capitalize())
        root.add_widget(self.heading)
        sv, self.box = scroll_column()
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
        self.tiles_button = Factory.SettingToggle(text="Map background from OpenStreetMap")
        self.tiles_button.bind(on_release=lambda b: app.set_map_tiles(b.state == "down"))
        self.boot_button = Factory.SettingToggle(text="After a restart, offer to resume")
        self.boot_button.bind(on_release=lambda b: app.set_resume_after_boot(b.state == "down"))
        from journeys.bridge import is_android

        buttons = [self.share_button, self.sync_button, self.pause_button, self.tiles_button]
        for w in buttons + ([self.boot_button] if is_android() else []):  # a desktop has no restart to resume from
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
        boot = m.resume_after_boot
        self.boot_button.state = "down" if boot else "normal"
        self.boot_button.text = f"After a restart, offer to resume: {'ON' if boot else 'off'}"
        tiles = m.map_tiles
        self.tiles_button.state = "down" if tiles else "normal"
        self.tiles_button.text = ("Map background: ON (openstreetmap.org sees the map's area)" if tiles
                                  else "Map background from OpenStreetMap: off")  # fmt: skip
