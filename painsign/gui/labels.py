"""Text that fits its slot: set only when changed, elided to one line or a few lines."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel


def set_text(label: QLabel, text: str) -> None:
    """``label.setText(text)`` only if the text differs (saves a repaint and a Qt call).

    Parameters
    ----------
    label : QLabel
        The label.
    text : str
        The new text.
    """
    if label.text() != text:
        label.setText(text)


def pixel_font(px: int, bold: bool = False) -> QFont:
    """A font of ``px`` pixels (the application's family).

    Parameters
    ----------
    px : int
        Height in pixels.
    bold : bool
        Bold face.

    Returns
    -------
    QFont
    """
    font = QFont()
    font.setPixelSize(max(1, int(px)))
    font.setBold(bold)
    return font


class ElidedLabel(QLabel):
    """One line of text cut with "..." to the label's width; never widens the window.

    The full text is kept (``full_text``) and shown as tooltip.
    """

    def __init__(self, text: str = ""):
        super().__init__()
        self.full_text = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        """Show ``text``, elided to the current width."""
        if text != self.full_text:
            self.full_text = text
            self.setToolTip(text)
        self._elide()

    def _elide(self) -> None:
        elided = QFontMetrics(self.font()).elidedText(
            self.full_text, Qt.TextElideMode.ElideRight, max(0, self.width() - 4)
        )
        set_text(self, elided)

    def minimumSizeHint(self) -> QSize:
        return QSize(10, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(100, super().sizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()


def elide_lines(text: str, metrics: QFontMetrics, width: int, lines: int) -> str:
    """``text`` word-wrapped to ``width`` pixels in at most ``lines`` lines, the last one
    cut with "..." if the text is longer.

    Parameters
    ----------
    text : str
        The text.
    metrics : QFontMetrics
        Of the font it is drawn in.
    width : int
        Line width in pixels.
    lines : int
        Most lines.

    Returns
    -------
    str
        The lines joined by newlines.
    """
    out: list[str] = []
    words = text.split()
    line = ""
    while words and len(out) < lines:
        word = words[0]
        trial = f"{line} {word}" if line else word
        if metrics.horizontalAdvance(trial) <= width or not line:
            line = trial
            words.pop(0)
        else:
            out.append(line)
            line = ""
    if line and len(out) < lines:
        out.append(line)
    if words or (len(out) == lines and metrics.horizontalAdvance(out[-1]) > width):
        rest = " ".join([out[-1], *words])
        out[-1] = metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width)
    return "\n".join(out)


class WrappedLabel(QLabel):
    """A few lines of text in a fixed slot: wrapped, and cut with "..." beyond the slot.

    Parameters
    ----------
    lines : int
        Lines reserved; the label's height is fixed to hold them (see :meth:`rescale`).
    """

    def __init__(self, lines: int = 2):
        super().__init__()
        self.lines = lines
        self.full_text = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def set_full_text(self, text: str) -> None:
        """Show ``text`` in the slot."""
        if text != self.full_text:
            self.full_text = text
            self.setToolTip(text)
            self._fit()

    def rescale(self, px: int) -> None:
        """Fix the height for ``lines`` lines of ``px``-pixel text."""
        self.setFixedHeight(round(QFontMetrics(pixel_font(px)).lineSpacing() * self.lines + 6))
        self._fit()

    def _fit(self) -> None:
        set_text(
            self,
            elide_lines(
                self.full_text, QFontMetrics(self.font()), max(10, self.width() - 6), self.lines
            ),
        )

    def minimumSizeHint(self) -> QSize:
        return QSize(10, self.minimumHeight())

    def sizeHint(self) -> QSize:
        return QSize(100, self.minimumHeight())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()
