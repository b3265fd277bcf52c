"""Dashboard building blocks, each fed plain data from :class:`MonitorState`."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
)

from painsign.gui import theme
from painsign.scoring.nfcs import ACTIONS

INVALID = "-?-"
BIG_FONT = "font-size: 110px; font-weight: bold;"


def panel() -> QFrame:
    """A dark rounded panel."""
    frame = QFrame()
    frame.setObjectName("panel")
    return frame


class VideoPane(QLabel):
    """The camera picture with the face box and the oval guide (drawn by the engine)."""

    def __init__(self):
        super().__init__("waiting for the camera ...")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(360, 270)

    def show_frame(self, bgr: np.ndarray | None) -> None:
        """Display a BGR uint8 frame, scaled to the pane."""
        if bgr is None:
            return
        h, w = bgr.shape[:2]
        image = QImage(bgr.data, w, h, bgr.strides[0], QImage.Format.Format_BGR888).copy()
        self.setPixmap(QPixmap.fromImage(image).scaled(
            self.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))


class BigValue(QFrame):
    """The current pain sign in large numerals, with the sign-type badge and action."""

    def __init__(self, title: str):
        super().__init__()
        self.setObjectName("panel")
        layout = QVBoxLayout(self)
        self.title = QLabel(title)
        self.title.setStyleSheet(f"color: {theme.MUTED}; font-size: 16px;")
        self.value = QLabel(INVALID)
        self.value.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge = QLabel("sign type: waiting")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.action = QLabel("")
        self.action.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for w in (self.title, self.value, self.badge, self.action):
            layout.addWidget(w)

    def display(self, current: float | None, threshold: float, sign_type: str | None,
                action: str | None, provisional: bool = False) -> None:
        """Show the value ("-?-" when invalid), coloured by side of the threshold."""
        if current is None or not np.isfinite(current):
            self.value.setText(INVALID)
            self.value.setStyleSheet(f"color: {theme.MUTED}; {BIG_FONT}")
        else:
            self.value.setText(f"{current:.2f}")
            colour = theme.PAIN if current >= threshold else theme.CALM
            self.value.setStyleSheet(f"color: {colour}; {BIG_FONT}")
        if sign_type is None:
            self.badge.setText("sign type: waiting for 20 s")
            self.badge.setStyleSheet(f"color: {theme.MUTED}; font-size: 18px;")
            self.action.setText("")
        else:
            colour = theme.SIGN_TYPE_COLOURS.get(sign_type, theme.MUTED)
            self.badge.setText(sign_type.upper() + (" (so far)" if provisional else ""))
            self.badge.setStyleSheet(
                f"background: {colour}; color: white; font-size: 22px; font-weight: bold;"
                " border-radius: 5px; padding: 4px;")
            acolour = theme.ACTION_COLOURS.get(action or "", theme.MUTED)
            self.action.setText(f"action: {action}")
            self.action.setStyleSheet(f"color: {acolour}; font-size: 18px; font-weight: bold;")


class ActionBars(QFrame):
    """One bar per NFCS facial action (intensity 0-1)."""

    def __init__(self):
        super().__init__()
        self.setObjectName("panel")
        grid = QGridLayout(self)
        grid.setVerticalSpacing(3)
        self.bars = {}
        for row, name in enumerate(ACTIONS):
            label = QLabel(name.replace("_", " "))
            label.setStyleSheet("font-size: 13px;")
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setTextVisible(False)
            grid.addWidget(label, row, 0)
            grid.addWidget(bar, row, 1)
            self.bars[name] = bar

    def display(self, actions: dict[str, float]) -> None:
        """Set each bar; missing or NaN intensities show empty."""
        for name, bar in self.bars.items():
            v = actions.get(name, np.nan)
            bar.setValue(0 if not np.isfinite(v) else round(100 * v))


class SignPlot(pg.PlotWidget):
    """Each scorer's sign over the last minute, thresholds and crossing markers."""

    def __init__(self, span_s: float):
        super().__init__()
        self.span_s = span_s
        self.setBackground(theme.PANEL)
        self.setYRange(0, 1, padding=0.02)
        self.setLabel("left", "P(pain)")
        self.setLabel("bottom", "time (s)")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.addLegend(offset=(10, 5))
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.thresholds: dict[str, pg.InfiniteLine] = {}
        self.marks: dict[str, pg.ScatterPlotItem] = {}

    def display(self, views) -> None:
        """Update curves in place with ``setData`` (no re-creation per frame)."""
        for i, v in enumerate(views):
            colour = theme.SCORER_COLOURS[i % len(theme.SCORER_COLOURS)]
            if v.name not in self.curves:
                self.curves[v.name] = self.plot([], [], pen=pg.mkPen(colour, width=3),
                                                name=v.display_name)
                line = pg.InfiniteLine(v.threshold, angle=0,
                                       pen=pg.mkPen(colour, style=Qt.PenStyle.DashLine))
                self.addItem(line)
                self.thresholds[v.name] = line
                marks = pg.ScatterPlotItem(symbol="x", size=12, pen=pg.mkPen("w", width=2))
                self.addItem(marks)
                self.marks[v.name] = marks
            self.curves[v.name].setData(v.t, v.p, connect="finite")
            self.marks[v.name].setData(v.crossings_t, v.crossings_p)
        end = max((float(v.t[-1]) for v in views if len(v.t)), default=self.span_s)
        self.setXRange(max(0.0, end - self.span_s), max(end, self.span_s), padding=0)


class TrendPlot(pg.PlotWidget):
    """The whole session's sign, one point per second, peak-downsampled for hours."""

    def __init__(self):
        super().__init__()
        self.setBackground(theme.PANEL)
        self.setYRange(0, 1, padding=0.02)
        self.setLabel("left", "trend")
        self.setMaximumHeight(150)
        self.curve = self.plot([], [], pen=pg.mkPen(theme.SCORER_COLOURS[0], width=2))
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)

    def display(self, t: np.ndarray, p: np.ndarray) -> None:
        """Show the per-second trend."""
        self.curve.setData(t, p)


class AlarmBanner(QLabel):
    """The alarm banner: priority colour, flashing at the priority's rate."""

    def __init__(self):
        super().__init__("no alarm")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumHeight(54)
        self._colour = None
        self._lit = True
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._blink)
        self._flash_hz = 0.0
        self._paint()

    def show_alarm(self, text: str | None, visual: tuple[str, float] | None) -> None:
        """Show ``text`` in ``visual = (colour, flash_hz)``; None clears the banner."""
        colour, hz = visual if visual else (None, 0.0)
        self.setText(text or "no alarm")
        if colour != self._colour or hz != self._flash_hz:
            self._colour, self._flash_hz = colour, hz
            self._timer.stop()
            self._lit = True
            if colour and hz > 0:
                self._timer.start(round(500 / hz))  # 50 % duty: toggle twice per period
        self._paint()

    @property
    def flash_interval_ms(self) -> int:
        """Toggle interval of the flashing (0 when steady)."""
        return self._timer.interval() if self._timer.isActive() else 0

    def _blink(self) -> None:
        self._lit = not self._lit
        self._paint()

    def _paint(self) -> None:
        if self._colour and self._lit:
            fg = "black" if self._colour.lower() in ("#fdd835", "#00bcd4") else "white"
            style = f"background: {self._colour}; color: {fg};"
        else:
            style = f"background: {theme.PANEL}; color: {theme.MUTED};"
        self.setStyleSheet(style + " font-size: 24px; font-weight: bold; border-radius: 6px;")
