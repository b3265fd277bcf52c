"""Locate bundled assets (alarm sounds, demo inputs) in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def asset_path(name: str) -> Path:
    """Return the path of asset ``name``: the wheel's ``painsign/_assets`` or ``assets/``."""
    shipped = _PACKAGE_DIR / "_assets" / name
    if shipped.exists():
        return shipped
    return _PACKAGE_DIR.parent / "assets" / name
