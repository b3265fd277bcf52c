"""Check ``--out`` paths before a command does any work, so a bad one fails in a second."""

from __future__ import annotations

import os
from pathlib import Path

from painsign.errors import InputError


def check_out_dir(path: str | Path) -> Path:
    """Refuse an output folder that cannot be created or written.

    Parameters
    ----------
    path : str or pathlib.Path
        The folder a command will write its files into (created later if missing).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        When ``path`` or one of its parents exists and is not a folder, or the nearest
        existing folder is not writable.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {path} exists and is not a folder; name a folder")
    _check_parents(path, path)
    return path


def check_out_file(path: str | Path) -> Path:
    """Refuse an output file path that is a folder or lies under a non-folder.

    Parameters
    ----------
    path : str or pathlib.Path
        The file a command will write (replaced if it exists).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        When ``path`` is a folder, one of its parents exists and is not a folder, or the
        nearest existing folder is not writable.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"--out {path} is a folder; name a file")
    if path.exists() and not path.is_file():
        raise InputError(f"--out {path} exists and is not a regular file")
    _check_parents(path.parent, path)
    return path


def _check_parents(folder: Path, named: Path) -> None:
    for parent in (folder, *folder.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise InputError(f"--out {named}: {parent} is not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(f"--out {named}: folder {parent} is not writable")
            return
