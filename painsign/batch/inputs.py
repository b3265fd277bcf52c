"""Which videos a batch holds: files, folders (searched recursively) and CSV lists, and the
output folder of each."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from painsign.errors import InputError

#: Suffixes of the files a folder contributes (compared in lower case).
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".m4v", ".webm")


@dataclass(frozen=True)
class BatchItem:
    """One video of a batch and where its reports go.

    Attributes
    ----------
    video : pathlib.Path
        The video, absolute (it may be missing or broken: the batch reports that).
    name : str
        Its output folder's name, unique in the batch.
    """

    video: Path
    name: str


def is_batch(inputs: list[Path]) -> bool:
    """Whether ``painsign analyze`` was given a batch (several inputs, a folder or a CSV
    list) rather than one video, whose reports keep their one-folder layout."""
    return len(inputs) > 1 or any(p.is_dir() or p.suffix.lower() == ".csv" for p in inputs)


def collect_videos(inputs: list[Path]) -> list[Path]:
    """The videos named by files, folders and CSV lists, in order, each once.

    Parameters
    ----------
    inputs : list of pathlib.Path
        Video files (kept even when missing or not a video: the batch reports them),
        folders (every file with a suffix of :data:`VIDEO_SUFFIXES` below them, sorted
        by path) and ``.csv`` lists (the column ``video``, else the first column; a
        relative path is relative to the CSV's folder).

    Returns
    -------
    list of pathlib.Path
        Absolute paths; a video named twice (by the same resolved path) is kept once.

    Raises
    ------
    InputError
        When a CSV list cannot be read, or nothing at all is named.
    """
    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found += sorted(
                p
                for p in item.rglob("*")
                if p.suffix.lower() in VIDEO_SUFFIXES and (p.is_file() or p.is_symlink())
            )
        elif item.suffix.lower() == ".csv":
            found += read_video_list(item)
        else:
            found.append(item)
    seen: set[Path] = set()
    videos = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            videos.append(p.absolute())
    if not videos:
        raise InputError(
            f"no video in {', '.join(str(p) for p in inputs)} "
            f"(folders are searched for {' '.join(VIDEO_SUFFIXES)})"
        )
    return videos


def read_video_list(path: Path) -> list[Path]:
    """The videos of a CSV list: the column ``video`` when the first row names one, else
    the first column of every row; relative paths are relative to the CSV's folder.

    Raises
    ------
    InputError
        When the file cannot be read as text.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"video list {path} cannot be read ({exc})") from None
    column = 0
    if rows:
        header = [c.strip().lower() for c in rows[0]]
        if "video" in header:
            column, rows = header.index("video"), rows[1:]
    videos = []
    for r in rows:
        cell = r[column].strip() if column < len(r) else ""
        if cell:
            p = Path(cell).expanduser()
            videos.append(p if p.is_absolute() else path.parent / p)
    return videos


def output_names(videos: list[Path]) -> list[BatchItem]:
    """Give each video an output folder name unique in the batch.

    The name is the file's stem; videos whose stems are the same (ignoring case: for
    case-insensitive file systems) get ``STEM-HASH``, HASH the first 8 hex digits of the
    sha1 of the absolute path, so the name does not depend on the order of the inputs
    and a rerun over the same files finds the same folders.

    Parameters
    ----------
    videos : list of pathlib.Path
        Absolute paths, each once.

    Returns
    -------
    list of BatchItem
    """
    stems: dict[str, int] = {}
    for v in videos:
        stems[v.stem.lower()] = stems.get(v.stem.lower(), 0) + 1
    items = []
    for v in videos:
        name = v.stem or "video"
        if stems[v.stem.lower()] > 1:
            name += "-" + hashlib.sha1(str(v).encode()).hexdigest()[:8]
        items.append(BatchItem(v, name))
    return items
