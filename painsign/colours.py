"""The colours of painsign's figures, in one place and free of Qt and matplotlib.

The matplotlib figures (``analyze``'s sign.png, ``evaluate``, ``compare``, ``cluster``)
draw on white and take their colours from here. The dashboard draws on a dark background
with its own palette (:mod:`painsign.gui.theme`); its alarm colours come from
:attr:`painsign.alarms.model.Priority.colour`, and it shows sign types and actions in
neutral greys, so the colours below never appear on the bedside screen.
"""

from __future__ import annotations

from types import MappingProxyType

#: One line colour per scorer on a white figure (matplotlib's tab10 order), reused
#: cyclically when there are more scorers.
FIGURE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")

#: One colour per sign type (keys equal :class:`painsign.signal.signtypes.SignType`).
SIGN_TYPE_COLOURS = MappingProxyType(
    {
        "stable": "#43a047",
        "irregular": "#fb8c00",
        "unstable": "#e53935",
        "indeterminate": "#8e24aa",
    }
)

#: Cell colour of each decision-matrix action (keys equal
#: :class:`painsign.signal.signtypes.Action`), pale so the text on it stays readable.
ACTION_COLOURS = MappingProxyType(
    {
        "act": "#ef9a9a",
        "human review": "#fff59d",
        "no action": "#cfd8dc",
    }
)
