"""The live sign plot and the session trend: gaps are drawn as gaps, and shaded.

A stretch without a measured sign (no face, camera lost or frozen) is NaN in the data:
the line breaks there (``connect="finite"``) and a grey band covers the stretch. The bands
are a fixed pool of :class:`pyqtgraph.LinearRegionItem` reused on every refresh, never
re-created.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from painsign.gui import theme
from painsign.gui.present import legend_name, mmss, plot_gaps
from painsign.gui.widgets import pixel_font

#: Most shaded stretches drawn per plot (the oldest beyond it are left unshaded).
MAX_BANDS = 24


class GapShading:
    """Grey bands over the gaps of one plot, from a reused pool of region items.

    Parameters
    ----------
    plot : pyqtgraph.PlotItem
        Where the bands are drawn (behind the curves).
    """

    def __init__(self, plot):
        self.plot = plot
        self.bands: list[pg.LinearRegionItem] = []
        self._shown: list[tuple[float, float]] = []

    def set(self, gaps: list[tuple[float, float]]) -> None:
        """Shade ``gaps`` (``(t0, t1)`` intervals); hide the bands not needed."""
        gaps = list(gaps)[-MAX_BANDS:]
        if gaps == self._shown:
            return
        brush = pg.mkBrush(*theme.GAP_RGBA)
        while len(self.bands) < len(gaps):
            band = pg.LinearRegionItem(
                values=(0, 1), movable=False, brush=brush, pen=pg.mkPen(None)
            )
            band.setZValue(-10)
            self.plot.addItem(band)
            self.bands.append(band)
        for i, band in enumerate(self.bands):
            if i < len(gaps):
                band.setRegion(gaps[i])
                band.setVisible(True)
            elif band.isVisible():
                band.setVisible(False)
        self._shown = gaps

    @property
    def shown(self) -> list[tuple[float, float]]:
        """The shaded intervals."""
        return list(self._shown)


class TimeAxis(pg.AxisItem):
    """A time axis labelled ``m:ss`` (``h:mm:ss`` from an hour) instead of seconds."""

    STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600)

    def tickSpacing(self, minVal, maxVal, size):
        """Ticks at whole seconds, minutes or hours, about one label per 90 px."""
        target = (maxVal - minVal) / max(2.0, size / 90.0)
        if not target >= 1.0:
            return super().tickSpacing(minVal, maxVal, size)
        major = next((s for s in self.STEPS if s >= target), self.STEPS[-1])
        minors = [s for s in self.STEPS if s < major and major % s == 0]
        return [(major, 0)] + ([(minors[-1], 0)] if minors else [])

    def tickStrings(self, values, scale, spacing):
        """Tick labels for ``values`` in seconds (plain seconds below 1-s spacing)."""
        if spacing < 1.0:
            return [f"{v:.1f}" if v >= 0 else "" for v in values]
        return [mmss(v) if v >= 0 else "" for v in values]


def _array_key(t, p) -> tuple:
    """What identifies a curve's data between two snapshots (length and last sample)."""
    n = len(t)
    if n == 0:
        return (0,)
    return (n, float(t[0]), float(t[-1]), repr(float(p[-1])))


def _state_key(state, gaps) -> tuple:
    if state is None:
        return ()
    live = state.input_state == "live"
    now = 0.0 if live else round(float(state.elapsed_s), 1)
    return (live, now, tuple(tuple(g) for g in (gaps or ())))


def _signature(views, state, gaps) -> tuple:
    return (
        tuple(
            (v.name, _array_key(v.t, v.p), len(v.crossings_t), getattr(v, "failure", None))
            for v in views
        ),
        _state_key(state, gaps),
    )


def _style_axes(widget: pg.PlotWidget, scale: float) -> None:
    s = theme.sizes(scale)
    font = pixel_font(s.small)
    for name in ("left", "bottom"):
        axis = widget.getAxis(name)
        axis.setStyle(tickFont=font)
        axis.setTextPen(theme.MUTED)
        axis.label.setFont(font)


class SignPlot(pg.PlotWidget):
    """Each scorer's sign over the last minute, thresholds and crossing markers."""

    def __init__(self, span_s: float):
        super().__init__(axisItems={"bottom": TimeAxis("bottom")})
        self.span_s = span_s
        self.setBackground(theme.PANEL)
        self.setYRange(0, 1, padding=0.02)
        self.setLabel("left", "P(pain)")
        self.setLabel("bottom", "session time")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        #: The key of the curves, a line of text above the plot (never over the data).
        self.key = QLabel("")
        self.key.setObjectName("legend")
        self.key.setWordWrap(True)
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.thresholds: dict[str, pg.InfiniteLine] = {}
        self.marks: dict[str, pg.ScatterPlotItem] = {}
        self.shading = GapShading(self.getPlotItem())
        self._range = None
        self._key = None
        self.scale = 1.0
        self._legend = ""

    def display(self, views, state=None) -> None:
        """Update curves in place with ``setData`` (no re-creation per frame).

        Parameters
        ----------
        views : list of ScorerView
            Each scorer's span; NaN samples are gaps.
        state : MonitorState, optional
            For the engine's gaps and whether the input is live (an outage still
            running is shaded up to now).
        """
        engine_gaps = state.gaps if state is not None else None
        key = _signature(views, state, engine_gaps)
        if key == self._key:
            return  # nothing new: no setData, no repaint
        self._key = key
        gaps_all = []
        legend = "&nbsp;&nbsp;&nbsp;".join(
            f"<span style='color:{theme.SCORER_COLOURS[i % len(theme.SCORER_COLOURS)]}'>"
            f"\u2501\u2501 {html.escape(legend_name(v))}</span>"
            for i, v in enumerate(views)
        )
        if legend != self._legend:  # a scorer added, failing or scoring again
            self._legend = legend
            self.key.setText(legend)
        for i, v in enumerate(views):
            colour = theme.SCORER_COLOURS[i % len(theme.SCORER_COLOURS)]
            if v.name not in self.curves:
                self.curves[v.name] = self.plot([], [], pen=self._pen(colour, 3))
                line = pg.InfiniteLine(
                    v.threshold, angle=0, pen=self._pen(colour, 1.5, Qt.PenStyle.DashLine)
                )
                self.addItem(line)
                self.thresholds[v.name] = line
                marks = pg.ScatterPlotItem(
                    symbol="x", size=round(12 * self.scale), pen=self._pen("w", 2)
                )
                self.addItem(marks)
                self.marks[v.name] = marks
            if state is not None:
                t, p, gaps = plot_gaps(v.t, v.p, engine_gaps if i == 0 else None, state, max_dt=0.5)
            else:
                t, p = np.asarray(v.t, float), np.asarray(v.p, float)
                gaps = []
            if i == 0:
                gaps_all = gaps
            self.curves[v.name].setData(t, p, connect="finite")
            self.marks[v.name].setData(v.crossings_t, v.crossings_p)
        self.shading.set(gaps_all)
        end = max((float(v.t[-1]) for v in views if len(v.t)), default=0.0)
        if state is not None:
            end = max(end, float(state.elapsed_s))
        end = max(end, self.span_s)
        rng = (end - self.span_s, end)
        if rng != self._range:
            self.setXRange(*rng, padding=0)
            self._range = rng

    def rescale(self, scale: float) -> None:
        """Axis text, line widths and marker sizes for ``scale``."""
        self.scale = scale
        _style_axes(self, scale)
        for i, (name, curve) in enumerate(self.curves.items()):
            colour = theme.SCORER_COLOURS[i % len(theme.SCORER_COLOURS)]
            curve.setPen(self._pen(colour, 3))
            self.thresholds[name].setPen(self._pen(colour, 1.5, Qt.PenStyle.DashLine))
            self.marks[name].setSize(round(12 * scale))
            self.marks[name].setPen(self._pen("w", 2))

    def _pen(self, colour, width: float, style=Qt.PenStyle.SolidLine):
        return pg.mkPen(colour, width=max(1.0, width * self.scale), style=style)


class TrendPlot(pg.PlotWidget):
    """The whole session's sign, one point per second, peak-downsampled for hours."""

    def __init__(self):
        super().__init__(axisItems={"bottom": TimeAxis("bottom")})
        self.setBackground(theme.PANEL)
        self.setYRange(0, 1, padding=0.02)
        self.setLabel("left", "trend")
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.curve = self.plot([], [], pen=pg.mkPen(theme.SCORER_COLOURS[0], width=2))
        # Hours of trend: peak downsampling to the pixels (a bucket with a gap stays a gap).
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.shading = GapShading(self.getPlotItem())
        self._key = None

    def display(self, t: np.ndarray, p: np.ndarray, state=None) -> None:
        """Show the per-second trend, NaN and missing seconds as shaded gaps."""
        trend_gaps = state.trend_gaps if state is not None else None
        key = (_array_key(t, p), _state_key(state, trend_gaps))
        if key == self._key:
            return
        self._key = key
        if state is not None:
            t, p, gaps = plot_gaps(t, p, trend_gaps, state, max_dt=1.5)
        else:
            t, p, gaps = np.asarray(t, float), np.asarray(p, float), []
        self.curve.setData(t, p, connect="finite")
        self.shading.set(gaps)

    def rescale(self, scale: float) -> None:
        """Axis text and line width for ``scale``."""
        _style_axes(self, scale)
        self.curve.setPen(pg.mkPen(theme.SCORER_COLOURS[0], width=max(1.0, 2 * scale)))
