"""Colours and sizes of the dashboard: dark, high contrast, readable from 3 m.

Colour rules (IEC 60601-1-8 style): red, yellow and cyan
mean an alarm of high, medium or low priority and appear nowhere else. The sign type,
the decision-matrix action and advisories are neutral (greys and white). Every text
colour passes a WCAG contrast ratio of at least 4.5:1 against the background it is drawn
on (:data:`TEXT_PAIRS`, checked by the tests with :func:`contrast_ratio`).

Sizes are relative to the window: :func:`scale_for` gives a factor (1.0 at 1280x720) and
:func:`style` the style sheet for it; the dashboard recomputes both when it is resized.
"""

from __future__ import annotations

from dataclasses import dataclass

from painsign.alarms.model import Priority

BACKGROUND = "#101418"
PANEL = "#1a2027"
TEXT = "#e8eef2"
#: Secondary text (titles, status line); 6.4:1 on PANEL.
MUTED = "#a7b3bf"
BUTTON = "#2b3742"
BUTTON_BORDER = "#5b6b7a"
BUTTON_DOWN = "#3d4d5c"
#: Neutral badge for the sign type: no alarm colour, text colour :data:`TEXT`.
BADGE = "#3a4652"
#: The grey frame shown instead of the picture when the input is not live.
NO_PICTURE = "#3c434a"
NO_PICTURE_TEXT = "#ffffff"
#: Shading of the stretches without a measured sign in the plots (grey, translucent).
GAP_RGBA = (150, 160, 170, 70)
#: Bars of the NFCS facial actions.
BAR = "#90a4ae"
ACCENT = "#4fc3f7"
SCORER_COLOURS = ("#4fc3f7", "#ffb74d", "#ba68c8", "#aed581", "#f06292")
#: The alarm colours (``Priority.colour``): reserved for alarms.
ALARM_COLOURS = tuple(p.colour for p in sorted(Priority, reverse=True))

#: (foreground, background) of every text drawn by the dashboard, for the contrast test.
TEXT_PAIRS: tuple[tuple[str, str], ...] = (
    (TEXT, BACKGROUND),
    (TEXT, PANEL),
    (MUTED, BACKGROUND),
    (MUTED, PANEL),
    (TEXT, BUTTON),
    (TEXT, BUTTON_DOWN),
    (TEXT, BADGE),
    (NO_PICTURE_TEXT, NO_PICTURE),
    *((c, BACKGROUND) for c in SCORER_COLOURS),  # the key above the sign plot
)


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``"#rrggbb"`` colour.

    Parameters
    ----------
    colour : str
        ``"#rrggbb"`` (``"#rgb"`` and the names ``"white"``/``"black"`` also work).

    Returns
    -------
    float
        0.0 for black to 1.0 for white.

    Examples
    --------
    >>> relative_luminance("#ffffff"), relative_luminance("#000000")
    (1.0, 0.0)
    """
    named = {"white": "#ffffff", "black": "#000000"}
    c = named.get(colour.lower(), colour).lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    r, g, b = (_channel(int(c[i : i + 2], 16) / 255.0) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two colours, from 1.0 (same) to 21.0 (black on white).

    Parameters
    ----------
    foreground, background : str
        ``"#rrggbb"`` colours (order does not matter).

    Returns
    -------
    float
        ``(L1 + 0.05) / (L2 + 0.05)`` with ``L1`` the lighter luminance; 4.5 is the
        minimum for normal text (WCAG AA).

    Examples
    --------
    >>> round(contrast_ratio("#000000", "#ffffff"), 1)
    21.0
    """
    a, b = relative_luminance(foreground), relative_luminance(background)
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (banner text).

    Parameters
    ----------
    background : str
        ``"#rrggbb"``.

    Returns
    -------
    str
        ``"#000000"`` or ``"#ffffff"``.
    """
    black = contrast_ratio("#000000", background)
    white = contrast_ratio("#ffffff", background)
    return "#000000" if black >= white else "#ffffff"


def saturation(colour: str) -> float:
    """HSV saturation of a ``"#rrggbb"`` colour (0 for greys), to tell neutral colours.

    Parameters
    ----------
    colour : str
        ``"#rrggbb"``.

    Returns
    -------
    float
        0.0 to 1.0.
    """
    c = colour.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    hi, lo = max(r, g, b), min(r, g, b)
    return 0.0 if hi == 0 else (hi - lo) / hi


@dataclass(frozen=True)
class Sizes:
    """Pixel sizes of the dashboard's text at one scale (see :func:`sizes`)."""

    base: int
    small: int
    status: int
    list: int
    button: int
    banner: int
    bed: int
    badge: int
    title: int
    reason: int


def scale_for(width: int, height: int) -> float:
    """Size factor for a window of ``width`` x ``height`` pixels: 1.0 at 1280x720.

    The smaller of the two ratios, so text never outgrows the window in either direction;
    clamped to 0.75-3.5 (a 3840x2160 screen gives 3.0).

    Parameters
    ----------
    width, height : int
        Window size in pixels.

    Returns
    -------
    float

    Examples
    --------
    >>> scale_for(1280, 720), scale_for(1920, 1080), scale_for(3840, 2160)
    (1.0, 1.5, 3.0)
    """
    u = min(width / 1280.0, height / 720.0)
    return round(min(3.5, max(0.75, u)), 3)


def sizes(scale: float) -> Sizes:
    """Text sizes in pixels at ``scale`` (from :func:`scale_for`).

    At 1280x720 the banner and the bed label are 30 px, lists 18 px and the status line
    16 px; everything grows with the window (the value fits its own box, see
    :class:`~painsign.gui.widgets.ValueDisplay`).

    Parameters
    ----------
    scale : float
        Size factor.

    Returns
    -------
    Sizes
    """

    def px(v: float) -> int:
        return max(9, round(v * scale))

    return Sizes(
        base=px(15),
        small=px(14),
        status=px(16),
        list=px(18),
        button=px(17),
        banner=px(30),
        bed=px(30),
        badge=px(20),
        title=px(17),
        reason=px(30),
    )


def style(scale: float = 1.0) -> str:
    """The window's style sheet at ``scale``: colours, and font sizes by object name.

    Parameters
    ----------
    scale : float
        Size factor (1.0 at 1280x720).

    Returns
    -------
    str
    """
    s = sizes(scale)
    pad = max(3, round(6 * scale))
    return f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: {s.base}px; }}
QFrame#panel {{ background: {PANEL}; border-radius: {pad}px; }}
QLabel#bed {{ font-size: {s.bed}px; font-weight: bold; }}
QLabel#title {{ color: {MUTED}; font-size: {s.title}px; background: {PANEL}; }}
QLabel#heading {{ color: {MUTED}; font-size: {s.title}px; }}
QLabel#badge {{ background: {BADGE}; color: {TEXT}; font-size: {s.badge}px;
               font-weight: bold; border-radius: {pad}px; padding: {pad // 2}px; }}
QLabel#action {{ color: {TEXT}; font-size: {s.title}px; background: {PANEL}; }}
QLabel#advisory {{ color: {TEXT}; font-size: {s.title}px; }}
QLabel#legend {{ font-size: {s.base}px; }}
QLabel#status {{ color: {MUTED}; font-size: {s.status}px; }}
QLabel#disclaimer {{ color: {MUTED}; font-size: {s.small}px; }}
QLabel#calibration {{ font-size: {s.base}px; }}
QLabel#action_name {{ font-size: {s.small}px; background: {PANEL}; }}
QPushButton {{ background: {BUTTON}; border: 1px solid {BUTTON_BORDER};
              border-radius: {pad}px; padding: {pad}px {2 * pad}px; font-size: {s.button}px; }}
QPushButton:pressed {{ background: {BUTTON_DOWN}; }}
QComboBox {{ font-size: {s.button}px; background: {BUTTON}; }}
QProgressBar {{ background: {BUTTON}; border: none; border-radius: 3px;
               max-height: {max(8, round(12 * scale))}px; }}
QProgressBar::chunk {{ background: {BAR}; border-radius: 3px; }}
QListWidget {{ background: {PANEL}; border: none; font-size: {s.list}px; }}
QSlider::groove:horizontal {{ background: {BUTTON}; height: {max(6, round(8 * scale))}px;
                             border-radius: 3px; }}
QSlider::handle:horizontal {{ background: {ACCENT}; width: {max(14, round(18 * scale))}px;
                             margin: -{pad}px 0; border-radius: {pad}px; }}
"""


#: The style sheet at 1280x720 (kept for callers of the first version).
STYLE = style(1.0)
