"""Dashboard building blocks, each fed plain data (texts, arrays) decided elsewhere.

Widgets change Qt state only when what they show changes (``set_text``), so a refresh
every 50 ms costs little when nothing moves. Sizes follow the window: each widget with
text of its own size has ``rescale(scale)`` (see :func:`painsign.gui.theme.sizes`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from painsign.gui import theme
from painsign.gui.labels import ElidedLabel, WrappedLabel, elide_lines, pixel_font, set_text
from painsign.gui.present import INVALID, InputView
from painsign.scoring.nfcs import ACTIONS

__all__ = [
    "ActionBars",
    "AlarmBanner",
    "BigValue",
    "ElidedLabel",
    "ValueDisplay",
    "VideoPane",
    "WrappedLabel",
    "elide_lines",
    "panel",
    "pixel_font",
    "set_text",
]


def panel() -> QFrame:
    """A dark rounded panel."""
    frame = QFrame()
    frame.setObjectName("panel")
    return frame


class VideoPane(QLabel):
    """The camera picture, or a grey frame with the reason when the input is not live.

    Live: the frame the engine drew (face box, oval guide). Otherwise no old picture is
    shown: a grey frame with the reason in large letters ("Camera lost"); with no face in
    view or a paused replay, the current picture greyed and dimmed behind the reason, so
    the nurse can still see why.

    Attributes
    ----------
    reason : str
        The headline shown, "" while live.
    showing_picture : bool
        Whether a live (colour) picture is shown.
    """

    GREYED = ("no_face", "paused")

    def __init__(self):
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(240, 180)
        self.reason = ""
        self.detail = ""
        self.showing_picture = False
        self._key = None
        self.show_input(None, InputView("starting", "Waiting for the camera", ""))

    def show_frame(self, bgr: np.ndarray | None) -> None:
        """Display a live BGR uint8 frame (kept for callers of the first version)."""
        self.show_input(bgr, InputView("live", "", ""))

    def show_input(self, bgr: np.ndarray | None, view: InputView) -> None:
        """Show ``bgr`` if the input is live, else the grey frame with ``view``'s reason."""
        size = self.size()
        if view.live and bgr is not None:
            self.reason, self.detail, self.showing_picture, self._key = "", "", True, None
            self.setPixmap(
                QPixmap.fromImage(_qimage(bgr)).scaled(
                    size,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
            return
        headline = view.headline or "No picture"
        picture = bgr if (bgr is not None and view.state in self.GREYED) else None
        key = (headline, view.detail, size.width(), size.height())
        if picture is None and key == self._key:
            return  # the same grey frame is already shown
        self._key = key if picture is None else None
        self.reason, self.detail, self.showing_picture = headline, view.detail, False
        self.setPixmap(self._grey_frame(picture, headline, view.detail))

    def _grey_frame(self, bgr: np.ndarray | None, headline: str, detail: str) -> QPixmap:
        w, h = max(1, self.width()), max(1, self.height())
        pm = QPixmap(w, h)
        pm.fill(QColor(theme.NO_PICTURE))
        painter = QPainter(pm)
        if bgr is not None:
            grey = (bgr.mean(axis=2) * 0.35 + 30).astype(np.uint8)
            rgb = np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
            img = QImage(
                rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888
            ).copy()
            scaled = QPixmap.fromImage(img).scaled(
                w, h, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
            )
            painter.drawPixmap((w - scaled.width()) // 2, (h - scaled.height()) // 2, scaled)
        painter.setPen(QColor(theme.NO_PICTURE_TEXT))
        big = max(14, min(h // 7, w // 9))
        painter.setFont(pixel_font(big, bold=True))
        top = QRect(0, 0, w, h // 2 + big // 2)
        painter.drawText(
            top,
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap,
            headline,
        )
        if detail:
            painter.setFont(pixel_font(max(12, big // 2)))
            bottom = QRect(w // 20, h // 2 + big // 2 + 8, w - w // 10, h // 2 - big // 2 - 8)
            painter.drawText(
                bottom,
                Qt.AlignmentFlag.AlignHCenter
                | Qt.AlignmentFlag.AlignTop
                | Qt.TextFlag.TextWordWrap,
                detail,
            )
        painter.end()
        return pm

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._key = None

    def minimumSizeHint(self) -> QSize:
        return QSize(240, 180)

    def sizeHint(self) -> QSize:
        return QSize(480, 360)


def _qimage(bgr: np.ndarray) -> QImage:
    h, w = bgr.shape[:2]
    bgr = np.ascontiguousarray(bgr)
    return QImage(bgr.data, w, h, bgr.strides[0], QImage.Format.Format_BGR888).copy()


class ValueDisplay(QWidget):
    """The current value in numerals as large as its box allows (never truncated).

    The font is fitted on every resize so that ``"0.00"`` fits the box's width and height.
    """

    SAMPLE = "0.00"

    def __init__(self):
        super().__init__()
        self.text = INVALID
        self.colour = theme.TEXT
        #: Alarm colour of a frame drawn around the value while a pain alarm is present.
        self.border: str | None = None
        self._painted_border: str | None = None
        self._font = pixel_font(60, bold=True)

    def set_value(self, text: str, colour: str) -> None:
        """Show ``text`` in ``colour``; repaints only on a change."""
        if text != self.text or colour != self.colour or self.border != self._painted_border:
            self.text, self.colour = text, colour
            self.update()

    def value_font(self) -> QFont:
        """The font the value is drawn with."""
        return self._font

    def fits(self) -> bool:
        """Whether the shown text fits the box (width and height)."""
        fm = QFontMetrics(self._font)
        return fm.horizontalAdvance(self.text) <= self.width() and fm.capHeight() <= self.height()

    def _fit(self) -> None:
        w, h = max(10, self.width()), max(10, self.height())
        px = max(10, int(h * 0.95))
        while px > 10:
            fm = QFontMetrics(pixel_font(px, bold=True))
            widest = max(fm.horizontalAdvance(self.SAMPLE), fm.horizontalAdvance(INVALID))
            if widest <= 0.94 * w and fm.height() <= 1.05 * h:
                break
            px = int(px * 0.92)
        self._font = pixel_font(px, bold=True)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(theme.PANEL))
        self._painted_border = self.border
        if self.border:
            width = max(3, self.height() // 30)
            pen = QPen(QColor(self.border), width)
            painter.setPen(pen)
            painter.drawRect(self.rect().adjusted(width // 2, width // 2, -width, -width))
        painter.setPen(QColor(self.colour))
        painter.setFont(self._font)
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.text)
        painter.end()

    def minimumSizeHint(self) -> QSize:
        return QSize(120, 60)

    def sizeHint(self) -> QSize:
        return QSize(300, 150)


class BigValue(QFrame):
    """The value panel: title, value, sign-type badge and the advisory action line.

    The badge and the action are neutral (no alarm colour); the value takes the alarm
    colour only while a pain alarm is present. Each line has a fixed-height slot, so
    nothing below moves when a text appears or goes.
    """

    def __init__(self, title: str):
        super().__init__()
        self.setObjectName("panel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        self.title = QLabel(title)
        self.title.setObjectName("title")
        self.value = ValueDisplay()
        self.badge = QLabel("sign type: after 20 s")
        self.badge.setObjectName("badge")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.action = ElidedLabel("")
        self.action.setObjectName("action")
        self.action.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.title)
        layout.addWidget(self.value, 1)
        layout.addWidget(self.badge)
        layout.addWidget(self.action)

    def display(self, value: str, colour: str, badge: str, action: str) -> None:
        """Show the value text in ``colour``, the badge and the action texts."""
        self.value.set_value(value, colour)
        set_text(self.badge, badge)
        self.action.set_full_text(action)

    def rescale(self, scale: float) -> None:
        """Fix the slot heights for the text sizes at ``scale``."""
        s = theme.sizes(scale)
        self.badge.setFixedHeight(round(s.badge * 1.9))
        self.action.setFixedHeight(round(s.title * 1.6))
        self.title.setFixedHeight(round(s.title * 1.5))


class ActionBars(QFrame):
    """One bar per NFCS facial action (intensity 0-1)."""

    def __init__(self):
        super().__init__()
        self.setObjectName("panel")
        grid = QGridLayout(self)
        grid.setVerticalSpacing(2)
        grid.setContentsMargins(6, 4, 6, 4)
        self.bars = {}
        for row, name in enumerate(ACTIONS):
            label = QLabel(name.replace("_", " "))
            label.setObjectName("action_name")
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setTextVisible(False)
            grid.addWidget(label, row, 0)
            grid.addWidget(bar, row, 1)
            self.bars[name] = bar

    def display(self, actions: dict[str, float], valid: bool = True) -> None:
        """Set each bar; missing or NaN intensities, or ``valid=False``, show empty."""
        for name, bar in self.bars.items():
            v = actions.get(name, np.nan) if valid else np.nan
            value = 0 if not np.isfinite(v) else round(100 * min(1.0, max(0.0, v)))
            if bar.value() != value:
                bar.setValue(value)


class AlarmBanner(QWidget):
    """The alarm banner: priority colour, flashing at the priority's rate, text elided.

    Painted by itself (no style sheet per blink): the alarm colour when lit, with black
    or white text, whichever contrasts more.
    """

    def __init__(self):
        super().__init__()
        self._text = "no alarm"
        self._colour: str | None = None
        self._lit = True
        self._font = pixel_font(30, bold=True)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._blink)
        self._flash_hz = 0.0
        self.setMinimumHeight(40)

    def text(self) -> str:
        """The full banner text."""
        return self._text

    @property
    def colour(self) -> str | None:
        """The alarm colour shown (None without an alarm)."""
        return self._colour

    def show_alarm(self, text: str | None, visual: tuple[str, float] | None) -> None:
        """Show ``text`` in ``visual = (colour, flash_hz)``; None clears the banner."""
        colour, hz = visual if visual else (None, 0.0)
        text = text or "no alarm"
        changed = text != self._text
        self._text = text
        if colour != self._colour or hz != self._flash_hz:
            self._colour, self._flash_hz = colour, hz
            self._timer.stop()
            self._lit = True
            if colour and hz > 0:
                self._timer.start(round(500 / hz))  # 50 % duty: toggle twice per period
            changed = True
        if changed:
            self.update()

    def rescale(self, scale: float) -> None:
        """Banner text and height for ``scale``."""
        px = theme.sizes(scale).banner
        self._font = pixel_font(px, bold=True)
        self.setFixedHeight(round(px * 1.8))
        self.update()

    def banner_font(self) -> QFont:
        """The banner's font."""
        return self._font

    def fitted_font(self) -> QFont:
        """The banner's font, made up to 30 % smaller when that fits the whole text in
        (a narrow central-station tile); the text is elided only beyond that."""
        room = self.width() - 16
        need = QFontMetrics(self._font).horizontalAdvance(self._text)
        if need <= room or room <= 0:
            return self._font
        font = QFont(self._font)
        font.setPixelSize(
            max(round(self._font.pixelSize() * 0.7), room * self._font.pixelSize() // need)
        )
        return font

    @property
    def flash_interval_ms(self) -> int:
        """Toggle interval of the flashing (0 when steady)."""
        return self._timer.interval() if self._timer.isActive() else 0

    def _blink(self) -> None:
        self._lit = not self._lit
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._colour and self._lit:
            bg, fg = self._colour, theme.text_on(self._colour)
        elif self._colour:
            bg, fg = theme.PANEL, theme.TEXT
        else:
            bg, fg = theme.PANEL, theme.MUTED
        painter.setBrush(QColor(bg))
        if self._colour and not self._lit:
            # Dark phase of the flashing: the alarm colour stays as a frame.
            width = max(3, self.height() // 12)
            painter.setPen(QPen(QColor(self._colour), width))
            painter.drawRoundedRect(
                self.rect().adjusted(width // 2, width // 2, -width // 2, -width // 2), 6, 6
            )
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(self.rect(), 6, 6)
        painter.setPen(QColor(fg))
        font = self.fitted_font()
        painter.setFont(font)
        text = QFontMetrics(font).elidedText(
            self._text, Qt.TextElideMode.ElideRight, self.width() - 16
        )
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.minimumHeight())
