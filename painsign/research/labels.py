"""Read the labelled items of ``painsign evaluate`` from a LABELS.csv file.

LABELS.csv is a comma-separated file with a header row (column names are matched without
regard to case or surrounding spaces; blank lines are skipped):

====================  ========  ========================================================
column                required  meaning
====================  ========  ========================================================
``path``              yes       an image (``.png .jpg .jpeg .bmp .tif .tiff .webp``) or
                                a video (any other suffix); a relative path is relative
                                to the folder of LABELS.csv
``label``             yes       ``pain`` or ``no pain`` (also ``1``/``0``, ``yes``/``no``,
                                ``true``/``false``, ``no_pain``, ``no-pain``)
``subject``           no        who is filmed; folds never split a subject. Another
                                column can play this part (``--groups COLUMN``)
``start``, ``end``    no        seconds: evaluate only ``start <= t < end`` of a video
                                (either may be blank: from the beginning, to the end)
``frame_labels``      no        a CSV with ``t,label`` rows labelling a video over time
                                (relative to the folder of LABELS.csv); per-frame
                                metrics are then computed as well
====================  ========  ========================================================

In a frame-labels file each row's label holds from its ``t`` (seconds from the start of
the video) until the next row's ``t``, and the last one to the end of the video; frames
before the first row are unlabelled. One row per frame, or one row per change of state,
both work. Example::

    path,label,subject,start,end,frame_labels
    clips/b01_heel_lance.mp4,pain,b01,,,
    clips/b01_rest.mp4,no pain,b01,0,20,
    clips/b02_long.mp4,pain,b02,40,60,clips/b02_long_frames.csv
    photos/b03.jpg,no pain,b03,,,

Every problem raises :class:`~painsign.errors.InputError` naming the file, the line and
the column.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from painsign.errors import InputError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
PAIN_VALUES = ("pain", "1", "yes", "true")
NO_PAIN_VALUES = ("no pain", "0", "no", "false", "no_pain", "no-pain")
ACCEPTED = ", ".join(repr(v) for v in PAIN_VALUES + NO_PAIN_VALUES)


@dataclass(frozen=True)
class FrameLabels:
    """Labels over time of one video: ``labels[i]`` holds from ``t[i]`` to ``t[i + 1]``."""

    path: Path
    t: np.ndarray
    labels: np.ndarray

    def at(self, times) -> np.ndarray:
        """Return the label (1, 0, or -1 when unlabelled) at each time in seconds."""
        times = np.asarray(times, dtype=np.float64)
        i = np.searchsorted(self.t, times, side="right") - 1
        out = np.where(i >= 0, self.labels[np.clip(i, 0, None)], -1)
        return out.astype(np.int64)


@dataclass(frozen=True)
class LabelledItem:
    """One row of LABELS.csv.

    Attributes
    ----------
    path : pathlib.Path
        The image or video, resolved against the folder of LABELS.csv.
    name : str
        The path as written in LABELS.csv (used in reports).
    label : int
        1 for pain, 0 for no pain.
    group : str or None
        The subject (or the ``--groups`` column's value); None without such a column.
    start, end : float or None
        Time range of a video in seconds.
    frame_labels : FrameLabels or None
        Labels over time of a video.
    line : int
        Line number in LABELS.csv (for messages).
    source : pathlib.Path
        The LABELS.csv file.
    """

    path: Path
    name: str
    label: int
    group: str | None
    start: float | None
    end: float | None
    frame_labels: FrameLabels | None
    line: int
    source: Path

    @property
    def is_image(self) -> bool:
        """Whether the item is a still image (by its suffix) rather than a video."""
        return self.path.suffix.lower() in IMAGE_SUFFIXES

    @property
    def where(self) -> str:
        """``LABELS.csv line N`` prefix for messages."""
        return f"{self.source} line {self.line}"


def parse_label(value: str, where: str) -> int:
    """Return 1 for a pain label, 0 for a no-pain label.

    Raises
    ------
    InputError
        For any other value, naming ``where`` and the accepted values.

    Examples
    --------
    >>> parse_label(" No Pain ", "x"), parse_label("1", "x")
    (0, 1)
    """
    v = " ".join(str(value).strip().lower().split())
    if v in PAIN_VALUES:
        return 1
    if v in NO_PAIN_VALUES:
        return 0
    raise InputError(f"{where}: unknown label {value.strip()!r}; accepted: {ACCEPTED}")


def _seconds(value: str, where: str, column: str) -> float | None:
    v = value.strip()
    if not v:
        return None
    try:
        x = float(v)
    except ValueError:
        raise InputError(f"{where}, column {column!r}: {v!r} is not a number of seconds") from None
    if not math.isfinite(x) or x < 0:
        raise InputError(
            f"{where}, column {column!r}: {v!r} must be a finite number of seconds, zero or more"
        )
    return x


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Return the lower-cased header and ``(line, row)`` pairs of a CSV file."""
    if not path.is_file():
        raise InputError(f"{path} does not exist")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = None
            rows = []
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue
                if header is None:
                    header = [c.strip().lower() for c in cells]
                    continue
                if len(cells) > len(header):
                    raise InputError(
                        f"{path} line {reader.line_num}: {len(cells)} cells "
                        f"but the header has {len(header)} columns"
                    )
                cells = cells + [""] * (len(header) - len(cells))
                rows.append((reader.line_num, dict(zip(header, cells, strict=True))))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not a UTF-8 text file ({exc.reason})") from None
    except csv.Error as exc:
        raise InputError(f"{path} is not a valid CSV file: {exc}") from None
    if header is None:
        raise InputError(f"{path} is empty: it needs a header row and one row per item")
    return header, rows


def read_frame_labels(path: Path) -> FrameLabels:
    """Read a frame-labels CSV (columns ``t`` and ``label``), sorted by time.

    Raises
    ------
    InputError
        Missing file or column, a bad time or label (naming the line), no row.
    """
    header, rows = _rows(path)
    for column in ("t", "label"):
        if column not in header:
            raise InputError(
                f"{path}: no {column!r} column (the header is {','.join(header)}; expected t,label)"
            )
    if not rows:
        raise InputError(f"{path} has a header but no labelled time")
    t = np.empty(len(rows))
    labels = np.empty(len(rows), dtype=np.int64)
    for i, (line, row) in enumerate(rows):
        where = f"{path} line {line}"
        ti = _seconds(row["t"], where, "t")
        if ti is None:
            raise InputError(f"{where}, column 't': no time given")
        t[i] = ti
        labels[i] = parse_label(row["label"], f"{where}, column 'label'")
    order = np.argsort(t, kind="mergesort")
    return FrameLabels(path, t[order], labels[order])


def read_labels(path: str | Path, groups: str | None = None) -> list[LabelledItem]:
    """Read and check LABELS.csv (see the module docstring for the format).

    Parameters
    ----------
    path : str or pathlib.Path
        The LABELS.csv file.
    groups : str, optional
        Column that names each item's subject; ``None`` uses ``subject`` when present.

    Returns
    -------
    list of LabelledItem
        In file order.

    Raises
    ------
    InputError
        A missing column, file or value, an unknown label, a bad time range, or labels of
        only one class (an AUC needs both), naming the file, line and column.
    """
    path = Path(path)
    header, rows = _rows(path)
    for column in ("path", "label"):
        if column not in header:
            raise InputError(
                f"{path}: no {column!r} column (the header is "
                f"{','.join(header)}; needs at least path,label)"
            )
    group_col = groups.strip().lower() if groups else "subject"
    if groups and group_col not in header:
        raise InputError(
            f"{path}: --groups {groups!r} is not a column (the header is {','.join(header)})"
        )
    if not rows:
        raise InputError(f"{path} has a header but no item")
    base = path.parent
    items = [
        _item(path, base, line, row, group_col if group_col in header else None)
        for line, row in rows
    ]
    n_pain = sum(it.label for it in items)
    if n_pain in (0, len(items)):
        only = "pain" if n_pain else "no pain"
        raise InputError(
            f"{path}: all {len(items)} items are labelled {only!r}; an AUC "
            "needs both pain and no-pain items"
        )
    return items


def _item(
    path: Path, base: Path, line: int, row: dict[str, str], group_col: str | None
) -> LabelledItem:
    where = f"{path} line {line}"
    name = row["path"].strip()
    if not name:
        raise InputError(f"{where}, column 'path': no file given")
    file = base / name
    if not file.is_file():
        raise InputError(f"{where}, column 'path': {name} not found (looked for {file})")
    label = parse_label(row["label"], f"{where}, column 'label'")
    group = row[group_col].strip() if group_col else None
    if group_col and not group:
        raise InputError(
            f"{where}, column {group_col!r}: no subject given (every row "
            "needs one when the column exists)"
        )
    start = _seconds(row.get("start", ""), where, "start")
    end = _seconds(row.get("end", ""), where, "end")
    if start is not None and end is not None and end <= start:
        raise InputError(f"{where}: end {end:g} s must come after start {start:g} s")
    frames = None
    frames_name = row.get("frame_labels", "").strip()
    if frames_name:
        frames_file = base / frames_name
        if not frames_file.is_file():
            raise InputError(
                f"{where}, column 'frame_labels': {frames_name} not found "
                f"(looked for {frames_file})"
            )
        frames = read_frame_labels(frames_file)
    item = LabelledItem(file, name, label, group, start, end, frames, line, path)
    if item.is_image and (start is not None or end is not None or frames is not None):
        raise InputError(
            f"{where}: start, end and frame_labels apply to videos only, and {name} is an image"
        )
    return item
