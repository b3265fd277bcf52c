"""Patient data is private whatever the user's umask: folders 0700, files 0600.

``analyze`` reports and the session database file have their own tests (test_analyze.py,
test_storage.py); these cover the database's new folder, a CSV export and an annotated
image written by the command line under ``umask 022``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from painsign_cli import painsign_argv

from painsign.storage import SessionRecorder

ROOT = Path(__file__).resolve().parents[1]


def test_a_database_in_a_new_folder_makes_the_folder_private(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "unit" / "beds.db"
        with SessionRecorder(path, "bed 1", "test", [], {}) as rec:
            rec.add_sample(0.0, True, "pain", 0.2, 0.2)
    finally:
        os.umask(old)
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600


def _painsign_under_umask_022(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    line = " ".join(["umask 022; exec", *painsign_argv(*args)])
    return subprocess.run(
        ["/bin/sh", "-c", line], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_exports_and_images_from_the_command_line_are_private(tmp_path):
    db = tmp_path / "s.db"
    with SessionRecorder(db, "bed 2", "test", [], {}) as rec:
        rec.add_sample(0.0, True, "pain", 0.2, 0.2)
        session = rec.session_id
    r = _painsign_under_umask_022(
        "history",
        "--db",
        str(db),
        "--session",
        str(session),
        "--export",
        "exports/bed2.csv",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    r = _painsign_under_umask_022(
        "detect", str(ROOT / "assets" / "astronaut.jpg"), "--out", "images/faces.png", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    for folder, name in (("exports", "bed2.csv"), ("images", "faces.png")):
        assert (tmp_path / folder).stat().st_mode & 0o777 == 0o700, folder
        assert (tmp_path / folder / name).stat().st_mode & 0o777 == 0o600, name
