"""The legend panel of ``painsign explain`` figures: text measured, wrapped and laid out so
nothing is cut at the image edge (the NFCS scorer's own legend included, which is why it
lives beside the scorers).

Pure numpy / OpenCV; no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from painsign.scoring.nfcs import ACTIONS, NOISE
from painsign.signal.threshold import above

#: Side of the face view and width of the legend panel (pixels).
VIEW_SIDE = 384
LEGEND_WIDTH = 300


def intensity_colour(value: float) -> tuple[int, int, int]:
    """Return the JET colour (BGR) of an intensity in [0, 1]."""
    v = np.uint8(round(255 * min(1.0, max(0.0, float(value)))))
    b, g, r = cv2.applyColorMap(np.array([[v]]), cv2.COLORMAP_JET)[0, 0]
    return int(b), int(g), int(r)


LEGEND_FONT = cv2.FONT_HERSHEY_SIMPLEX
LEGEND_MARGIN = 10
LINE_GAP = 7
BACKGROUND = (30, 30, 30)


@dataclass(frozen=True)
class LegendText:
    """One line of legend text: where its baseline starts, its scale and colour."""

    text: str
    x: int
    y: int
    scale: float
    colour: tuple[int, int, int]

    def box(self) -> tuple[int, int, int, int]:
        """Pixel box ``(x1, y1, x2, y2)`` the drawn text covers (descenders included)."""
        (w, h), base = cv2.getTextSize(self.text, LEGEND_FONT, self.scale, 1)
        return self.x, self.y - h, self.x + w, self.y + base

    def draw(self, panel: np.ndarray) -> None:
        """Draw the text on ``panel``."""
        cv2.putText(
            panel, self.text, (self.x, self.y), LEGEND_FONT, self.scale, self.colour, 1, cv2.LINE_AA
        )


def text_width(text: str, scale: float) -> int:
    """Width in pixels of ``text`` drawn in the legend font at ``scale``."""
    return cv2.getTextSize(text, LEGEND_FONT, scale, 1)[0][0]


def wrap_text(text: str, scale: float, width: int) -> list[str]:
    """Split ``text`` into lines no wider than ``width`` pixels, at spaces where possible.

    Parameters
    ----------
    text : str
    scale : float
        Font scale of the legend font.
    width : int
        Widest line in pixels.

    Returns
    -------
    list of str
        The lines, every character of ``text`` but the spaces at the breaks kept in
        order (a word wider than ``width`` is cut between characters).

    Examples
    --------
    >>> wrap_text("not calibrated: population rest values", 0.4, 150)
    ['not calibrated: population', 'rest values']
    """
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        trial = f"{line} {word}" if line else word
        if text_width(trial, scale) <= width:
            line = trial
            continue
        if line:
            lines.append(line)
        while text_width(word, scale) > width and len(word) > 1:
            cut = 1
            while cut < len(word) and text_width(word[: cut + 1], scale) <= width:
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    lines.append(line)
    return lines


@dataclass
class LegendLayout:
    """Where everything of the NFCS legend goes, and the panel size that holds it."""

    width: int
    height: int
    texts: list[LegendText]
    rects: list[tuple[tuple[int, int, int, int], tuple[int, int, int]]]

    def boxes(self) -> list[tuple[int, int, int, int]]:
        """Pixel boxes of every text and swatch or bar."""
        return [t.box() for t in self.texts] + [r for r, _ in self.rects]


def nfcs_legend_layout(
    intensities: dict[str, float],
    p: float,
    threshold: float,
    title: str,
    notes: tuple[str, ...] = (),
    width: int = LEGEND_WIDTH,
    min_height: int = VIEW_SIDE,
) -> LegendLayout:
    """Lay out the NFCS legend so that all of it lies inside its panel.

    Free text (the title, P(pain), the notes) is wrapped to the panel width; the action
    rows place their bars after the widest label; the panel grows (wider for the action
    rows, taller for the text) when its content needs it, keeping
    :data:`LEGEND_MARGIN` pixels of margin on every side.

    Parameters
    ----------
    intensities : dict of str to float
        Intensity of each action.
    p, threshold : float
        P(pain) and the decision threshold.
    title : str
        Header (the scorer's name).
    notes : tuple of str
        Extra lines (caveats), wrapped, never cut.
    width, min_height : int
        Least panel size in pixels.

    Returns
    -------
    LegendLayout
    """
    m = LEGEND_MARGIN
    texts: list[LegendText] = []
    rects: list[tuple[tuple[int, int, int, int], tuple[int, int, int]]] = []
    labels = {a: f"{a.replace('_', ' ')} {float(intensities.get(a, 0.0)):.2f}" for a in ACTIONS}
    swatch, bar = 14, 70
    bar_x = max(220, m + swatch + 8 + max(text_width(t, 0.45) for t in labels.values()) + 12)
    width = max(width, bar_x + bar + m)
    inner = width - 2 * m
    y = m

    def add_text(text: str, scale: float, colour) -> None:
        nonlocal y
        for line in wrap_text(text, scale, inner):
            (_, h), base = cv2.getTextSize(line, LEGEND_FONT, scale, 1)
            texts.append(LegendText(line, m, y + h, scale, colour))
            y += h + base + LINE_GAP

    add_text(title, 0.6, (255, 255, 255))
    side = "pain" if above(p, threshold) else "no pain"
    add_text(f"P(pain) {p:.2f} ({side} at {threshold:.2f})", 0.5, (255, 255, 255))
    y += 12
    for action in ACTIONS:
        level = float(intensities.get(action, 0.0))
        active = level > NOISE
        colour = intensity_colour(level) if active else (110, 110, 110)
        base_y = y + swatch - 3
        rects.append(((m, y, m + swatch, y + swatch), colour))
        texts.append(
            LegendText(
                labels[action],
                m + swatch + 8,
                base_y,
                0.45,
                (255, 255, 255) if active else (150, 150, 150),
            )
        )
        rects.append(
            ((bar_x, y + 2, bar_x + round(bar * min(1.0, max(0.0, level))), y + swatch - 2), colour)
        )
        y += 26
    y += 4
    add_text(f"drawn: intensity > {NOISE:.2f}", 0.4, (190, 190, 190))
    for note in notes:
        add_text(note, 0.4, (120, 200, 255))
    return LegendLayout(width, max(min_height, y - LINE_GAP + m), texts, rects)


def _nfcs_legend(intensities, p, threshold, title, notes) -> np.ndarray:
    layout = nfcs_legend_layout(intensities, p, threshold, title, notes)
    panel = np.full((layout.height, layout.width, 3), BACKGROUND, np.uint8)
    for (x1, y1, x2, y2), colour in layout.rects:
        if x2 > x1:
            cv2.rectangle(panel, (x1, y1), (x2, y2), colour, -1)
    for text in layout.texts:
        text.draw(panel)
    return panel
