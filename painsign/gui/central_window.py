"""The central station window: one tile per bed, the unit's loudest alarm, its own pause.

A view over :class:`~painsign.central.overview.CentralOverview`: a timer (5 Hz) refreshes
the overview from the station and hands each tile plain data. Paho's network thread never
touches Qt; it only fills the station, which the timer reads through a locked snapshot.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from painsign.alarms import Priority
from painsign.gui import theme
from painsign.gui.central_tiles import BedDetail, BedTile
from painsign.gui.dashboard import DISCLAIMER
from painsign.gui.labels import ElidedLabel, pixel_font, set_text
from painsign.gui.present import mmss
from painsign.gui.sound import AlarmSound
from painsign.gui.widgets import AlarmBanner

logger = logging.getLogger("painsign.gui")

POLL_MS = 200
#: The trends are redrawn every PLOT_EVERY-th poll (1 Hz, the rate states arrive).
PLOT_EVERY = 5
#: Smallest tile before the grid scrolls.
MIN_TILE = (360, 260)
PAUSE_LABEL = "Pause central audio 2:00"


def grid_columns(n: int, width: int, height: int) -> int:
    """Columns for ``n`` tiles in ``width`` x ``height`` px: the largest 4:3 tiles.

    Examples
    --------
    >>> grid_columns(6, 1920, 960), grid_columns(1, 1920, 960), grid_columns(4, 800, 1200)
    (3, 1, 1)
    """
    if n <= 1:
        return 1
    best, best_scale = 1, -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        scale = min(width / cols / 4.0, height / rows / 3.0)
        if scale > best_scale + 1e-9:
            best, best_scale = cols, scale
    return best


def banner_text(overview, sounding) -> str | None:
    """The window's banner: the unit's top alarm (bed and label), the central pause."""
    present = overview.present()
    parts = []
    if present:
        top = present[0]
        view = overview.find((top.unit, top.bed))
        where = overview.title(view) if view is not None else top.bed
        more = f"  +{len(present) - 1}" if len(present) > 1 else ""
        parts.append(f"{where}: {top.label.upper()}  {top.priority.label}{more}")
    remaining = overview.pause_remaining()
    if remaining > 0:
        through = f" - {sounding.label} sounds through" if sounding is not None else ""
        parts.append(f"Central audio paused {mmss(remaining, countdown=True)}{through}")
    return "  |  ".join(parts) or None


class CentralWindow(QMainWindow):
    """The central station's window.

    Parameters
    ----------
    station : CentralStation
        Started by the caller; read only through ``overview`` (and ``acknowledge``).
    overview : CentralOverview
        The model the window shows.
    sound : AlarmSound, optional
        The central's alarm sound; a silent one (scheduling only) when omitted.
    """

    def __init__(self, station, overview, sound: AlarmSound | None = None):
        super().__init__()
        self.station, self.overview = station, overview
        self.sound = sound or AlarmSound(play=False)
        self.tiles: dict[tuple[str, str], BedTile] = {}
        self.details: dict[tuple[str, str], BedDetail] = {}
        self._layout_key: tuple = ()
        self._ticks = 0
        unit = getattr(station, "unit", None)
        self.setWindowTitle(f"painsign central station - {unit or 'all units'}")
        self._build(unit)
        self.setMinimumSize(1024, 600)
        self.scale = 0.0
        self.resize(*self._initial_size())
        self._restyle(theme.scale_for(self.width(), self.height()))
        self.refresh()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(POLL_MS)

    @staticmethod
    def _initial_size() -> tuple[int, int]:
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return 1600, 900
        avail = screen.availableGeometry()
        if avail.width() < 1024 or avail.height() < 600:
            return 1600, 900
        return avail.width(), avail.height()

    def _build(self, unit: str | None) -> None:
        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(8, 6, 8, 4)
        top = QHBoxLayout()
        self.title = QLabel(f"Central: {unit}" if unit else "Central station")
        self.title.setObjectName("bed")
        top.addWidget(self.title)
        self.banner = AlarmBanner()
        top.addWidget(self.banner, 1)
        self.pause_button = QPushButton(PAUSE_LABEL)
        self.pause_button.clicked.connect(self.toggle_pause)
        top.addWidget(self.pause_button)
        outer.addLayout(top)
        self.connection = QLabel("")
        self.connection.setObjectName("connection")
        self.connection.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.connection.setVisible(False)
        outer.addWidget(self.connection)
        self.empty = QLabel("Waiting for beds: no bedside monitor has published yet")
        self.empty.setObjectName("heading")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.empty)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(8)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.grid_host)
        outer.addWidget(self.scroll, 1)
        self.status = ElidedLabel("starting ...")
        self.status.setObjectName("status")
        outer.addWidget(self.status)
        self.disclaimer = QLabel(DISCLAIMER)
        self.disclaimer.setObjectName("research")
        self.disclaimer.setWordWrap(True)
        outer.addWidget(self.disclaimer)
        self.setCentralWidget(root)

    def _restyle(self, scale: float) -> None:
        """The bedside's style sheet at ``scale``, plus the connection and research lines."""
        self.scale = scale
        s = theme.sizes(scale)
        extra = (
            f"QLabel#connection {{ background: {theme.NO_PICTURE}; color: "
            f"{theme.NO_PICTURE_TEXT}; font-size: {s.banner}px; font-weight: bold; "
            f"padding: 8px; }}"
            f"QLabel#research {{ color: {theme.TEXT}; font-size: {s.status}px; }}"
        )
        self.setStyleSheet(theme.style(scale) + extra)
        self.banner.rescale(scale)
        fm = QFontMetrics(pixel_font(s.button))
        width = max(fm.horizontalAdvance(t) for t in (PAUSE_LABEL, "Resume central audio 0:00"))
        self.pause_button.setFixedSize(width + 40, round(s.button * 2.6))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        scale = theme.scale_for(self.width(), self.height())
        if abs(scale - self.scale) > 0.02:
            self._restyle(scale)
        self._layout_key = ()

    # -- actions ----------------------------------------------------------------------

    def toggle_pause(self) -> None:
        """Pause the central's alarm sound for 2 minutes, or cancel the pause."""
        if self.overview.pause_remaining() > 0:
            self.overview.cancel_pause()
        else:
            self.overview.pause_audio()
        self.refresh(plots=False)

    def open_detail(self, key: tuple[str, str]) -> BedDetail:
        """Show a bed's alarm log and longer trend (one window per bed)."""
        detail = self.details.get(key)
        if detail is None:
            detail = self.details[key] = BedDetail(self.overview, key, self.station, self)
            detail.setStyleSheet(theme.style(1.0))
        detail.refresh()
        detail.show()
        detail.raise_()
        return detail

    # -- redraw -----------------------------------------------------------------------

    def _tick(self) -> None:
        self._ticks += 1
        self.refresh(plots=self._ticks % PLOT_EVERY == 0)

    def refresh(self, plots: bool = True) -> None:
        """Refresh the overview from the station and redraw (every 200 ms)."""
        views = self.overview.refresh()
        for view in views:
            tile = self.tiles.get(view.key)
            if tile is None:
                tile = self.tiles[view.key] = BedTile(view.key, self.open_detail)
                plots = True
            tile.display(view, self.overview.title(view), plots=plots)
        self._arrange([v.key for v in views])
        self.empty.setVisible(not views)
        sounding = self.overview.sounding()
        self.sound.update(sounding)
        visual = None
        present = self.overview.present()
        if present:
            visual = (present[0].priority.colour, present[0].priority.flash_hz)
        text = banner_text(self.overview, sounding)
        if self.sound.problem:
            # As at the bedside: a silent station is a low-priority technical alarm.
            text = "  |  ".join(t for t in (text, "Alarm sound unavailable") if t)
            visual = visual or (Priority.LOW.colour, Priority.LOW.flash_hz)
        self.banner.show_alarm(text, visual)
        remaining = self.overview.pause_remaining()
        set_text(
            self.pause_button,
            f"Resume central audio {mmss(remaining, countdown=True)}"
            if remaining > 0
            else PAUSE_LABEL,
        )
        lost = self.overview.connection_text()
        set_text(self.connection, lost or "")
        if self.connection.isVisible() != bool(lost):
            self.connection.setVisible(bool(lost))
        self.status.set_full_text(self._status_text(views))
        if plots:
            for detail in self.details.values():
                if detail.isVisible():
                    detail.refresh()

    def _status_text(self, views) -> str:
        online = sum(v.online for v in views)
        link = "lost" if self.overview.connection_text() else "connected"
        problem = self.sound.problem
        if problem or not self.sound.available:
            sound = f"sound off: {problem or 'muted'}"
        else:
            sound = "sound on"
        host = f"{self.station.host}:{self.station.port}"
        return (
            f"{len(views)} beds, {online} online  |  broker {host} {link}  |  {sound}  |  "
            "click a bed for its alarm log and trend"
        )

    def _arrange(self, order: list[tuple[str, str]]) -> None:
        area = self.scroll.viewport().size()
        cols = grid_columns(len(order), area.width(), area.height())
        key = (tuple(order), cols)
        if key == self._layout_key:
            return
        self._layout_key = key
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
        # Rows and columns of an earlier arrangement keep their stretch: reset them all.
        for r in range(self.grid.rowCount()):
            self.grid.setRowStretch(r, 0)
        for c in range(self.grid.columnCount()):
            self.grid.setColumnStretch(c, 0)
        rows = max(1, math.ceil(len(order) / cols))
        for i, k in enumerate(order):
            self.grid.addWidget(self.tiles[k], i // cols, i % cols)
        for c in range(cols):
            self.grid.setColumnStretch(c, 1)
        for r in range(rows):
            self.grid.setRowStretch(r, 1)
        for tile in self.tiles.values():
            tile.setMinimumSize(*MIN_TILE)


def run_central_window(
    station,
    overview,
    exit_after: float | None = None,
    screenshot: Path | None = None,
    play_sound: bool = True,
) -> int:
    """Show the central station window for a started ``station`` until it closes.

    Parameters
    ----------
    station : CentralStation
        Started by the caller (and stopped by it afterwards).
    overview : CentralOverview
        The window's model over ``station``.
    exit_after : float, optional
        Close by itself after this many seconds.
    screenshot : pathlib.Path, optional
        Save the window as PNG just before closing.
    play_sound : bool
        Play alarm sounds (False: schedule only).

    Returns
    -------
    int
        0.
    """
    from painsign.gui.window_loop import qt_application, run_until_closed

    app = qt_application()
    sound = AlarmSound(play=play_sound)
    window = CentralWindow(station, overview, sound)

    def close_details() -> None:
        for detail in window.details.values():
            detail.close()

    run_until_closed(app, window, sound, exit_after, screenshot, before_teardown=close_details)
    return 0
