"""Kivy widgets of Journeys: live traces, the 24-hour strip, stay/trip cards, the legend and the map.

They draw :mod:`journeys.day` / :mod:`journeys.daymap` objects and forward taps; import only after
Kivy's environment is set (creating a widget opens the window).
"""

from __future__ import annotations

from kivy.graphics import Canvas, Color, Ellipse, Line, Rectangle, RoundedRectangle
from kivy.metrics import dp
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.stencilview import StencilView
from kivy.uix.widget import Widget

from journeys.day import Card, hit_test

AXIS_COLORS = ((0.95, 0.3, 0.3, 1), (0.3, 0.85, 0.3, 1), (0.35, 0.55, 1.0, 1))
#: Smallest tap target, dp (Android's touch-target guideline).
TOUCH_DP = 48
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


class DayStrip(Widget):
    """The day at a glance: a stays lane and a trips lane over an hour axis. Every item answers taps
    over at least 48 dp around its centre (:func:`journeys.day.hit_test`); swiping changes the day."""

    LANES = ("stay", "trip")

    def __init__(self, on_tap, on_swipe, **kwargs):
        kwargs.setdefault("size_hint_y", None)
        kwargs.setdefault("height", dp(2 * TOUCH_DP + 18))
        super().__init__(**kwargs)
        self._on_tap, self._on_swipe = on_tap, on_swipe
        self.items: list = []
        self.bind(pos=self._redraw, size=self._redraw)

    def set_items(self, items) -> None:
        self.items = list(items)
        self._redraw()

    def lane_rect(self, lane: str) -> tuple:
        """``(x, y, w, h)`` of a lane (48 dp high each; the hour labels below)."""
        i = self.LANES.index(lane)
        y = self.y + dp(18) + (1 - i) * dp(TOUCH_DP)
        return self.x, y, self.width, dp(TOUCH_DP)

    def target_rect(self, item) -> tuple:
        """The tap area of a strip item: at least 48 dp wide and 48 dp high."""
        x, y, w, h = self.lane_rect(item.card.kind)
        x0, x1 = x + w * item.x0, x + w * item.x1
        width = max(x1 - x0, dp(TOUCH_DP))
        cx = (x0 + x1) / 2
        return cx - width / 2, y, width, h

    def _redraw(self, *_):
        self.canvas.clear()
        with self.canvas:
            Color(0.1, 0.1, 0.12, 1)
            Rectangle(pos=self.pos, size=self.size)
            for lane in self.LANES:
                x, y, w, h = self.lane_rect(lane)
                Color(0.16, 0.16, 0.19, 1)
                Rectangle(pos=(x, y + dp(6)), size=(w, h - dp(12)))
            for h in range(0, 25, 3):
                Color(0.3, 0.3, 0.33, 1)
                gx = self.x + self.width * h / 24
                Line(points=[gx, self.y + dp(16), gx, self.top], width=1)
            for it in self.items:
                x, y, w, h = self.lane_rect(it.card.kind)
                x0 = x + w * it.x0
                width = max(w * (it.x1 - it.x0), dp(4))
                Color(*it.card.color)
                RoundedRectangle(pos=(x0, y + dp(8)), size=(width, h - dp(16)), radius=[dp(3)])
                if it.card.ongoing:
                    Color(1, 1, 1, 1)
                    Line(rectangle=(x0, y + dp(8), width, h - dp(16)), width=1.2)
        for c in list(self.children):
            self.remove_widget(c)
        for h in range(0, 25, 6):
            lbl = Label(text=f"{h:02d}:00" if h < 24 else "", font_size="11sp", size=(dp(40), dp(16)),
                        pos=(self.x + self.width * h / 24 - dp(20) * (h > 0), self.y), color=(0.7, 0.7, 0.7, 1))  # fmt: skip
            self.add_widget(lbl)

    def item_at(self, x: float, y: float):
        for lane in self.LANES:
            lx, ly, lw, lh = self.lane_rect(lane)
            if ly <= y <= ly + lh and lw > 0:
                return hit_test(self.items, (x - lx) / lw, lane, dp(TOUCH_DP) / lw)
        return None

    def on_touch_up(self, touch):
        if not self.collide_point(*touch.opos):
            return super().on_touch_up(touch)
        if abs(touch.x - touch.ox) >= dp(SWIPE_MIN_DP):
            self._on_swipe(-1 if touch.x > touch.ox else +1)  # finger moves right → the previous day
            return True
        it = self.item_at(touch.x, touch.y)
        if it is not None:
            self._on_tap(it.card)
            return True
        return super().on_touch_up(touch)


class CardWidget(ButtonBehavior, BoxLayout):
    """One stay or trip: a colour dot with the mode/category letter, title, and times/duration/distance."""

    def __init__(self, card: Card, on_tap, **kwargs):
        super().__init__(orientation="horizontal", size_hint_y=None, height=dp(68), padding=(dp(8), dp(6)), spacing=dp(10), **kwargs)
        self.card = card
        with self.canvas.before:
            Color(0.2, 0.22, 0.27, 1) if card.ongoing else Color(0.15, 0.15, 0.18, 1)
            self._bg = RoundedRectangle(radius=[dp(8)])
        self.bind(pos=self._bg_update, size=self._bg_update)
        dot = Widget(size_hint=(None, None), size=(dp(40), dp(40)), pos_hint={"center_y": 0.5})
        with dot.canvas:
            Color(*card.color)
            dot_e = Ellipse(size=dot.size)
        dot.bind(pos=lambda w, *_: setattr(dot_e, "pos", w.pos))
        badge = Label(text=card.badge, bold=True, font_size="17sp", size_hint=(None, None), size=dot.size)
        dot.bind(pos=lambda w, *_: setattr(badge, "pos", w.pos))
        dot.add_widget(badge)
        self.add_widget(dot)
        text = BoxLayout(orientation="vertical")
        mark = "  [color=#ffd54f](changed by you)[/color]" if card.corrected else ""
        self.title_label = Label(text=f"[b]{card.title}[/b]{mark}", markup=True, font_size="16sp", halign="left", valign="bottom")
        self.subtitle_label = Label(text=card.subtitle, font_size="13sp", halign="left", valign="top", color=(0.8, 0.8, 0.8, 1))
        for lbl in (self.title_label, self.subtitle_label):
            lbl.bind(size=lambda w, *_: setattr(w, "text_size", w.size))
            text.add_widget(lbl)
        self.add_widget(text)
        self.bind(on_release=lambda *_: on_tap(card))

    def _bg_update(self, *_):
        self._bg.pos, self._bg.size = self.pos, self.size


class Legend(BoxLayout):
    """Colour swatches with names, in one or two rows."""

    def __init__(self, **kwargs):
        super().__init__(orientation="horizontal", size_hint_y=None, height=dp(22), spacing=dp(6), **kwargs)

    def set_entries(self, entries) -> None:
        self.clear_widgets()
        for name, color in entries[:7]:
            box = BoxLayout(orientation="horizontal", spacing=dp(3))
            sw = Widget(size_hint=(None, None), size=(dp(12), dp(12)), pos_hint={"center_y": 0.5})
            with sw.canvas:
                Color(*color)
                r = Rectangle(size=sw.size)
            sw.bind(pos=lambda w, *_, r=r: setattr(r, "pos", w.pos))
            box.add_widget(sw)
            lbl = Label(text=name, font_size="11sp", halign="left", valign="middle", color=(0.85, 0.85, 0.85, 1))
            lbl.bind(size=lambda w, *_: setattr(w, "text_size", w.size))
            box.add_widget(lbl)
            self.add_widget(box)


class MapWidget(StencilView):
    """Tracks (lines coloured by mode) and places (dots) of a :class:`journeys.daymap.MapState`, over
    OpenStreetMap tiles when ``tiles`` (a :class:`journeys.tiles.TileCache`) is set and ``tiles_on``."""

    def __init__(self, tiles=None, **kwargs):
        super().__init__(**kwargs)
        self.state = None
        self.tiles, self.tiles_on = tiles, False
        self._layer = Canvas()  # redrawn from scratch; the attribution label draws above it
        self.canvas.add(self._layer)
        self.drawn_tracks = self.drawn_markers = self.drawn_tiles = 0
        self.attribution = Label(text="", font_size="10sp", color=(0.2, 0.2, 0.2, 1), size_hint=(None, None))
        self.attribution.bind(texture_size=lambda w, ts: setattr(w, "size", (ts[0] + dp(6), ts[1] + dp(2))))
        self.add_widget(self.attribution)
        self.bind(pos=self._redraw, size=self._redraw)

    def _draw_tiles(self, st) -> None:
        from kivy.clock import Clock
        from kivy.core.image import Image as CoreImage

        from journeys.tiles import tiles_for_view

        places = tiles_for_view(st.view, self.width, self.height)
        Color(1, 1, 1, 1)
        for t in places:
            path = self.tiles.get(t.z, t.x, t.y)
            if path is not None:
                try:
                    tex = CoreImage(str(path)).texture
                except Exception:  # a damaged file: fetched again later
                    continue
                Rectangle(texture=tex, pos=(self.x + t.left, self.y + t.bottom), size=(t.size, t.size))
                self.drawn_tiles += 1
        self.tiles.request(places, lambda: Clock.schedule_once(self._redraw))

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 1.0

    def set_state(self, state) -> None:
        self.state = state
        self._redraw()

    def _redraw(self, *_):
        self._layer.clear()
        self.drawn_tracks = self.drawn_markers = self.drawn_tiles = 0
        with self._layer:
            Color(0.92, 0.92, 0.89, 1)
            Rectangle(pos=self.pos, size=self.size)
            Color(0.84, 0.84, 0.8, 1)
            step = dp(48)
            for i in range(int(self.width / step) + 1):
                Line(points=[self.x + i * step, self.y, self.x + i * step, self.top], width=1)
            for j in range(int(self.height / step) + 1):
                Line(points=[self.x, self.y + j * step, self.right, self.y + j * step], width=1)
            st = self.state
            if st is None or st.empty or not self.height:
                self.attribution.text = ""
                return
            st.refit(self.aspect)
            if self.tiles is not None and self.tiles_on:
                self._draw_tiles(st)
            w, h = self.width, self.height
            for t in st.tracks:
                pts = []
                for lat, lon in t.points:
                    x, y = st.view.project(lat, lon, w, h)
                    pts += [self.x + x, self.y + y]
                focused = st.focused is not None and st.focused.key == t.card.key
                Color(0.15, 0.15, 0.15, 0.5)
                Line(points=pts, width=dp(4.5 if focused else 3.2), joint="round", cap="round")
                Color(*t.color)
                Line(points=pts, width=dp(3.5 if focused else 2.4), joint="round", cap="round")
                self.drawn_tracks += 1
            for m in st.markers:
                x, y = st.view.project(m.lat, m.lon, w, h)
                r = dp(9)
                Color(1, 1, 1, 1)
                Ellipse(pos=(self.x + x - r - dp(2), self.y + y - r - dp(2)), size=(2 * r + dp(4), 2 * r + dp(4)))
                Color(*m.color)
                Ellipse(pos=(self.x + x - r, self.y + y - r), size=(2 * r, 2 * r))
                self.drawn_markers += 1
        from journeys.tiles import ATTRIBUTION

        self.attribution.text = ATTRIBUTION if self.drawn_tiles else ""
        self.attribution.pos = (self.right - self.attribution.width, self.y)
