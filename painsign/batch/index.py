"""``index.csv`` of a batch: one row per video, rewritten atomically as results arrive."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

#: The columns before the per-scorer ones.
BASE_COLUMNS = ("video", "status", "error", "duration_s", "frames", "frames_with_face")
#: Per scorer NAME: ``NAME_mean`` etc., from its summary.json entry.
SCORER_FIELDS = ("mean", "prediction", "sign_type", "review")
#: Status of a video not finished yet, and of one left when the batch was interrupted.
PENDING, NOT_DONE = "pending", "not-done"
#: Status of a video whose complete reports a rerun found and kept.
SKIPPED = "skipped-complete"


def summary_row(video: Path, out: Path, data: dict, status: str, error: str) -> dict:
    """The index row of a video whose reports were written.

    Parameters
    ----------
    video, out : pathlib.Path
        The video and its output folder.
    data : dict
        Its summary.json content.
    status, error : str
        Its outcome (see :mod:`painsign.batch.reports`).

    Returns
    -------
    dict
        Column name -> value (numbers as numbers, ``None`` for none).
    """
    row = {
        "video": str(video),
        "status": status,
        "error": error,
        "duration_s": data["duration_s"],
        "frames": data["frames"],
        "frames_with_face": data["frames_with_face"],
        "output": str(out),
        "scorers": list(data["scorers"]),  # not a column: names the per-scorer ones
    }
    for name, s in data["scorers"].items():
        row[f"{name}_mean"] = s["mean"]
        row[f"{name}_prediction"] = (
            None if s["prediction"] is None else ("pain" if s["prediction"] else "no pain")
        )
        row[f"{name}_sign_type"] = s["sign_type"]
        row[f"{name}_review"] = int(bool(s["needs_review"]))
    return row


def bare_row(video: Path, out: Path, status: str, error: str = "") -> dict:
    """The index row of a video without reports (pending, failed, not done)."""
    return {"video": str(video), "status": status, "error": error, "output": str(out)}


class BatchIndex:
    """The rows of a batch, in the order of its videos, and the file that holds them.

    Parameters
    ----------
    path : pathlib.Path
        ``DIR/index.csv``.
    rows : list of dict
        The rows (one per video, usually ``pending`` at first); kept, not copied.
    """

    def __init__(self, path: Path, rows: list[dict]):
        self.path = Path(path)
        self.rows = rows  # the caller's list: both see every row set

    def set(self, i: int, row: dict) -> None:
        """Replace row ``i`` and rewrite the file."""
        self.rows[i] = row
        self.write()

    def columns(self) -> list[str]:
        """The base columns, each scorer's in the order they first appear, ``output``."""
        scorers: list[str] = []
        for row in self.rows:
            scorers += [n for n in row.get("scorers", ()) if n not in scorers]
        extra = [f"{n}_{f}" for n in scorers for f in SCORER_FIELDS]
        return [*BASE_COLUMNS, *extra, "output"]

    def write(self) -> None:
        """Write the file through a temporary one renamed over it: a reader (or a rerun
        after a kill) sees the old rows or the new ones, never half a file."""
        buffer = io.StringIO()
        w = csv.DictWriter(buffer, self.columns(), extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for row in self.rows:
            w.writerow({k: "" if v is None else v for k, v in row.items()})
        write_atomic(self.path, buffer.getvalue())


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through ``path.tmp``, flushed to disk, then renamed."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_index(path: Path) -> list[dict]:
    """The rows of an index.csv as dicts of strings (for tests and tools)."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
