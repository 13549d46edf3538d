"""Pop-up sheets of Journeys: a stay's or trip's details with its corrections, and a confirmation dialog."""

from __future__ import annotations

from typing import Callable

from kivy.factory import Factory
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.popup import Popup
from kivy.uix.scrollview import ScrollView
from kivy.uix.spinner import Spinner
from kivy.uix.textinput import TextInput
from kivy.uix.widget import Widget

from journeys.dayvm import TIME_STEPS_MIN, DayVM
from journeys.day import Card


class CardSheet:
    """Details of a card and what the user can change: the mode (trips) or the category and name
    (stays), start and end, "didn't happen", and a button to show it on the map."""

    #: Fade in and out (tests turn it off for reproducible screenshots).
    animate = True

    def __init__(self, vm: DayVM, card: Card, on_done: Callable[[bool], None], on_map: Callable[[Card], None]):
        self.vm, self.card, self._on_done, self._on_map = vm, card, on_done, on_map
        self.changed = False
        box = BoxLayout(orientation="vertical", spacing=dp(6), size_hint_y=None, padding=(0, dp(4)))
        box.bind(minimum_height=box.setter("height"))
        box.add_widget(Factory.Body(text="\n".join(f"[b]{k}[/b]: {v}" for k, v in vm.card_details(card)), markup=True))
        self.map_button = Factory.BigButton(text="Show on the map")
        self.map_button.bind(on_release=lambda *_: self._show_map())
        box.add_widget(self.map_button)
        options = vm.label_options(card)
        self._values = {words: value for value, words in options}
        question = "How did you travel?" if card.kind == "trip" else "What kind of place is this?"
        box.add_widget(Factory.SubHeading(text=question))
        current = next((w for v, w in options if v == card.label), options[0][1])
        self.spinner = Spinner(text=current, values=[w for _, w in options], size_hint_y=None, height=dp(48))
        self.save_button = Factory.BigButton(text="Save")
        self.save_button.bind(on_release=lambda *_: self._apply(lambda: vm.change_label(card, self._values[self.spinner.text])))
        box.add_widget(self.spinner)
        box.add_widget(self.save_button)
        self.name_input = None
        if card.kind == "stay" and card.place_id:
            box.add_widget(Factory.SubHeading(text="Your name for this place (stays on this phone)"))
            row = BoxLayout(size_hint_y=None, height=dp(48), spacing=dp(6))
            self.name_input = TextInput(multiline=False, hint_text="e.g. Grandma's", font_size="16sp")
            self.name_button = Button(text="Name it", size_hint_x=None, width=dp(96))
            self.name_button.bind(on_release=lambda *_: self._apply(lambda: vm.rename_place(card, self.name_input.text)))
            row.add_widget(self.name_input)
            row.add_widget(self.name_button)
            box.add_widget(row)
        self.time_buttons = {}
        if not card.ongoing:
            for which, words in (("start", "Started"), ("end", "Ended")):
                box.add_widget(Factory.SubHeading(text=f"{words} earlier or later"))
                grid = GridLayout(cols=len(TIME_STEPS_MIN), size_hint_y=None, height=dp(48), spacing=dp(4))
                for m in TIME_STEPS_MIN:
                    b = Button(text=f"{m:+d} min")
                    b.bind(on_release=lambda _b, w=which, m=m: self._apply(lambda: vm.adjust(card, w, m)))
                    self.time_buttons[(which, m)] = b
                    grid.add_widget(b)
                box.add_widget(grid)
            self.gone_button = Factory.BigButton(text="This didn't happen", background_color=(0.6, 0.3, 0.3, 1))
            self.gone_button.bind(on_release=lambda *_: self._apply(lambda: vm.did_not_happen(card)))
            box.add_widget(self.gone_button)
        sv = ScrollView()
        sv.add_widget(box)
        title = card.title + (" (now)" if card.ongoing else "")
        self.popup = Popup(title=title, content=sv, size_hint=(0.95, 0.9))
        self.popup.bind(on_dismiss=lambda *_: self._on_done(self.changed))

    def open(self) -> None:
        self.popup.open(animation=self.animate)

    def _apply(self, action) -> None:
        try:
            action()
        except ValueError as exc:  # e.g. an empty place name: say it where the user looks
            self.popup.title = str(exc).capitalize()
            return
        self.changed = True
        self.popup.dismiss(animation=self.animate)

    def _show_map(self) -> None:
        self.popup.dismiss(animation=self.animate)
        self._on_map(self.card)


def confirm(title: str, text: str, yes: str, on_yes: Callable[[], None]) -> Popup:
    """A two-button dialog; ``on_yes`` runs only on the explicit button."""
    box = BoxLayout(orientation="vertical", spacing=dp(8))
    box.add_widget(Factory.Body(text=text))
    box.add_widget(Widget())
    yes_b = Factory.BigButton(text=yes, background_color=(0.85, 0.25, 0.25, 1))
    no_b = Factory.BigButton(text="Cancel", background_color=(0.35, 0.35, 0.4, 1))
    box.add_widget(yes_b)
    box.add_widget(no_b)
    popup = Popup(title=title, content=box, size_hint=(0.9, 0.55))
    popup.yes_button, popup.no_button = yes_b, no_b
    yes_b.bind(on_release=lambda *_: (popup.dismiss(), on_yes()))
    no_b.bind(on_release=lambda *_: popup.dismiss())
    popup.open()
    return popup
