"""Colours and sizes of the dashboard: dark, high contrast, readable from 2 m."""

BACKGROUND = "#101418"
PANEL = "#1a2027"
TEXT = "#e8eef2"
MUTED = "#8a96a3"
PAIN = "#ff5252"
CALM = "#69f0ae"
ADVISORY = "#80deea"
SCORER_COLOURS = ("#4fc3f7", "#ffb74d", "#ba68c8", "#aed581", "#f06292")
SIGN_TYPE_COLOURS = {
    "stable": "#43a047",
    "irregular": "#fb8c00",
    "unstable": "#e53935",
    "indeterminate": "#8e24aa",
}
ACTION_COLOURS = {"act": "#e53935", "human review": "#fdd835", "no action": "#607d8b"}

STYLE = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; font-size: 15px; }}
QFrame#panel {{ background: {PANEL}; border-radius: 6px; }}
QPushButton {{ background: #263238; border: 1px solid #37474f; border-radius: 5px;
              padding: 8px 14px; font-size: 16px; }}
QPushButton:pressed {{ background: #37474f; }}
QProgressBar {{ background: #263238; border: none; border-radius: 3px; height: 14px; }}
QProgressBar::chunk {{ background: #4fc3f7; border-radius: 3px; }}
QListWidget {{ background: {PANEL}; border: none; font-size: 14px; }}
"""
