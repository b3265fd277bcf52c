"""The central station's bed tile and a bed's detail view (alarm log, longer trend).

Both are fed :class:`~painsign.central.overview.BedView` objects decided without Qt; they
reuse the bedside's widgets: :class:`~painsign.gui.widgets.AlarmBanner` (alarm colour and
flashing by priority) and :class:`~painsign.gui.widgets.ValueDisplay` (the large value).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QPushButton,
    QVBoxLayout,
)

from painsign.gui import theme
from painsign.gui.labels import ElidedLabel, WrappedLabel, set_text
from painsign.gui.widgets import AlarmBanner, ValueDisplay

#: Seconds of trend on a tile.
TILE_TREND_S = 180.0


def alarm_text(view) -> str:
    """The tile banner: the top alarm, its priority and state, and how many more."""
    top = view.top
    if top is None:
        return "no alarm"
    state = {"latched": " (latched)", "acknowledged": " (ack)"}.get(top.state, "")
    more = f"  +{len(view.alarms) - 1}" if len(view.alarms) > 1 else ""
    return f"{top.label.upper()}  {top.priority.label}{state}{more}"


def log_row(entry: dict) -> str:
    """One line of a bed's alarm log: local time, label, priority, state and note."""
    try:
        when = datetime.fromisoformat(entry["time_utc"]).astimezone().strftime("%H:%M:%S")
    except (KeyError, ValueError):
        when = "--:--:--"
    priority = (entry.get("priority") or "").upper()
    where = "  [central]" if entry.get("central") else ""
    queued = "  (queued)" if entry.get("queued") else ""
    note = f"  - {entry['note']}" if entry.get("note") else ""
    return f"{when}  {entry['label']}  {priority}  {entry['state']}{note}{where}{queued}"


def _trend_widget(small: bool) -> tuple[pg.PlotWidget, pg.PlotDataItem, pg.InfiniteLine]:
    plot = pg.PlotWidget()
    plot.setBackground(theme.PANEL)
    plot.setYRange(0, 1, padding=0.02)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    if small:
        plot.hideAxis("left")
        plot.hideAxis("bottom")
    curve = plot.plot([], [], pen=pg.mkPen(theme.SCORER_COLOURS[0], width=2))
    line = pg.InfiniteLine(angle=0, pen=pg.mkPen(theme.MUTED, width=1, style=Qt.PenStyle.DashLine))
    line.setVisible(False)
    plot.addItem(line)
    return plot, curve, line


def show_trend(plot, curve, line, view, span_s: float, minutes: bool = False) -> None:
    """Draw ``view``'s trend over the last ``span_s`` s (gaps where it was invalid)."""
    keep = view.trend_t >= -span_s
    t, p = view.trend_t[keep], view.trend_p[keep]
    if len(t) > 1:
        # A silence of more than 3 s (offline) is a gap, not a straight line across it.
        breaks = np.flatnonzero(np.diff(t) > 3.0)
        t = np.insert(t, breaks + 1, t[breaks] + 1.0)
        p = np.insert(p, breaks + 1, np.nan)
    scale = 60.0 if minutes else 1.0
    curve.setData(t / scale, p, connect="finite")
    plot.setXRange(-span_s / scale, 0, padding=0)
    if view.threshold is not None and math.isfinite(view.threshold):
        line.setValue(view.threshold)
        line.setVisible(True)


class BedTile(QFrame):
    """One bed: label, large value (or ``-?-`` and the reason), sign type, a 3-min trend
    and the alarm banner in the priority's colour, flashing as at the bedside.

    Parameters
    ----------
    key : tuple of str
        ``(unit, bed)``.
    on_click : callable
        ``on_click(key)`` when the tile is clicked.
    """

    def __init__(self, key: tuple[str, str], on_click: Callable[[tuple[str, str]], object]):
        super().__init__()
        self.key = key
        self.on_click = on_click
        self.setObjectName("panel")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(4)
        head = QHBoxLayout()
        self.bed_label = QLabel(key[1])
        self.bed_label.setObjectName("tile_bed")
        head.addWidget(self.bed_label, 1)
        self.scorer = QLabel("")
        self.scorer.setObjectName("tile_muted")
        head.addWidget(self.scorer)
        self.sign = QLabel("")
        self.sign.setObjectName("tile_badge")
        self.sign.setAlignment(Qt.AlignmentFlag.AlignCenter)
        head.addWidget(self.sign)
        outer.addLayout(head)
        self.banner = AlarmBanner()
        outer.addWidget(self.banner)
        body = QHBoxLayout()
        self.value = ValueDisplay()
        body.addWidget(self.value, 3)
        self.reason = WrappedLabel(lines=3)
        self.reason.setObjectName("tile_reason")
        self.reason.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # Aligned, so its fixed height does not cap the row (and the value) at 3 lines.
        body.addWidget(self.reason, 2, Qt.AlignmentFlag.AlignVCenter)
        outer.addLayout(body, 3)
        self.plot, self.curve, self.threshold = _trend_widget(small=True)
        outer.addWidget(self.plot, 1)
        self.view = None
        self._px = 0

    def display(self, view, title: str, plots: bool = True) -> None:
        """Show ``view`` (a :class:`~painsign.central.overview.BedView`) titled ``title``."""
        self.view = view
        set_text(self.bed_label, title)
        top = view.top
        self.value.border = top.priority.colour if top and not top.technical else None
        self.value.set_value(
            view.value_text, theme.MUTED if view.value_text == "-?-" else theme.TEXT
        )
        set_text(self.scorer, view.scorer)
        set_text(self.sign, view.sign_type or "sign type: -")
        self.reason.set_full_text(view.reason)
        self.banner.show_alarm(alarm_text(view), view.visual)
        if plots:
            show_trend(self.plot, self.curve, self.threshold, view, TILE_TREND_S)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        px = max(18, min(self.height() // 7, self.width() // 10))
        self.plot.setMaximumHeight(max(40, self.height() // 4))
        if px != self._px:
            self._px = px
            small = max(14, round(px * 0.45))
            self.setStyleSheet(
                f"QLabel#tile_bed {{ font-size: {px}px; font-weight: bold; "
                f"background: {theme.PANEL}; }}"
                f"QLabel#tile_muted {{ color: {theme.MUTED}; font-size: {small}px; "
                f"background: {theme.PANEL}; }}"
                f"QLabel#tile_reason {{ color: {theme.TEXT}; font-size: {small}px; "
                f"background: {theme.PANEL}; }}"
                f"QLabel#tile_badge {{ background: {theme.BADGE}; color: {theme.TEXT}; "
                f"font-size: {small}px; font-weight: bold; border-radius: 4px; padding: 2px; }}"
            )
            self.reason.rescale(small)
            # Fixed slots for the texts: the value below gets every spare pixel.
            self.bed_label.setFixedHeight(round(px * 1.3))
            self.sign.setFixedHeight(round(small * 1.8))
            self.scorer.setFixedHeight(round(small * 1.8))
            self.banner.rescale(round(px * 0.55) / 30.0)  # banner text 55 % of the label's

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.on_click(self.key)
        super().mousePressEvent(event)


class BedDetail(QDialog):
    """A bed's alarm log (every alarm message received, and the central's own entries)
    and its trend of the last 10 minutes; "Acknowledge at bed" with ``--remote-ack``.

    Parameters
    ----------
    overview : CentralOverview
    key : tuple of str
        ``(unit, bed)``.
    station : CentralStation
        Its ``remote_ack`` and ``acknowledge(unit, bed)`` drive the acknowledge button.
    """

    TREND_S = 600.0

    def __init__(self, overview, key: tuple[str, str], station, parent=None):
        super().__init__(parent)
        self.overview, self.key, self.station = overview, key, station
        self.setWindowTitle(f"painsign central - {key[1]}")
        self.resize(1000, 700)
        layout = QVBoxLayout(self)
        self.heading = QLabel(key[1])
        self.heading.setObjectName("bed")
        layout.addWidget(self.heading)
        self.summary = ElidedLabel("")
        self.summary.setObjectName("status")
        layout.addWidget(self.summary)
        trend_title = QLabel("trend, last 10 minutes (minutes before now)")
        trend_title.setObjectName("heading")
        layout.addWidget(trend_title)
        self.plot, self.curve, self.threshold = _trend_widget(small=False)
        layout.addWidget(self.plot, 2)
        log_title = QLabel("alarm log (newest first)")
        log_title.setObjectName("heading")
        layout.addWidget(log_title)
        self.log = QListWidget()
        self.log.setWordWrap(True)
        self.log.setResizeMode(QListView.ResizeMode.Adjust)
        self.log.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.log, 3)
        buttons = QHBoxLayout()
        self.ack_button = QPushButton("Acknowledge at bed")
        self.ack_button.clicked.connect(self.acknowledge)
        self.ack_button.setVisible(bool(getattr(station, "remote_ack", False)))
        self.ack_result = ElidedLabel("")
        self.ack_result.setObjectName("status")
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.ack_result, 1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self._rows: list[str] = []
        self.refresh()

    def refresh(self) -> None:
        """Redraw from the overview's last refresh."""
        view = self.overview.find(self.key)
        rows = [log_row(e) for e in reversed(self.overview.log(self.key))]
        if rows != self._rows:
            self._rows = rows
            self.log.clear()
            self.log.addItems(rows)
        if view is None:
            return
        alarms = ", ".join(f"{a.label} ({a.priority.label}, {a.state})" for a in view.alarms)
        reason = f" ({view.reason})" if view.reason else ""
        self.summary.set_full_text(
            f"{view.scorer or 'value'} {view.value_text}{reason}; alarms: {alarms or 'none'}"
        )
        show_trend(self.plot, self.curve, self.threshold, view, self.TREND_S, minutes=True)

    def acknowledge(self) -> None:
        """Send an acknowledge to the bed (``--remote-ack``)."""
        ack = getattr(self.station, "acknowledge", None)
        if ack is None:
            self.ack_result.set_full_text("remote acknowledge is not available")
            return
        try:
            ack(*self.key)
        except Exception as exc:  # the broker may be gone: say so, never crash the window
            self.ack_result.set_full_text(f"acknowledge not sent: {exc}")
            return
        self.ack_result.set_full_text("acknowledge sent to the bed")
