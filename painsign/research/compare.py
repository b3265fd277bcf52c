"""Compare the pain signs of several scorers on one video, as the paper compared its models.

Ferreira et al. plotted three models' signs together and reported a Pearson r
of about 0.5 between them. :func:`compare_scorers` computes, for every pair of scorers of
one ``painsign analyze`` output (``summary.json`` and the ``frames.csv`` beside it), the
Pearson r between their smoothed signs, how often their sliding-window sign types agree,
and their whole-video types; :func:`draw_overlay` plots the signs together.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from painsign.colours import FIGURE_COLOURS as COLOURS
from painsign.colours import SIGN_TYPE_COLOURS
from painsign.errors import InputError
from painsign.research.cluster import read_summary


@dataclass
class Signs:
    """The smoothed signs of one analysis.

    Attributes
    ----------
    summary : dict
        The content of summary.json.
    summary_path, frames_path : pathlib.Path
        Where they were read from.
    t : numpy.ndarray
        Frame time stamps in seconds.
    face : numpy.ndarray of bool
        Whether the face was found in each frame.
    p : dict of str to numpy.ndarray
        Per scorer, the smoothed sign ``p_NAME`` (NaN where frames.csv says ``nan``).
    """

    summary: dict
    summary_path: Path
    frames_path: Path
    t: np.ndarray
    face: np.ndarray
    p: dict


def _number(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def read_signs(summary_path: str | Path) -> Signs:
    """Read summary.json and the frames.csv in the same folder.

    Parameters
    ----------
    summary_path : str or pathlib.Path

    Returns
    -------
    Signs

    Raises
    ------
    InputError
        Either file is missing or unreadable (named), or frames.csv lacks the ``t`` column
        or a scorer's ``p_NAME`` column.
    """
    summary_path = Path(summary_path)
    summary = read_summary(summary_path)
    frames_path = summary_path.parent / "frames.csv"
    try:
        with open(frames_path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            rows = list(reader)
    except OSError as exc:
        raise InputError(
            f"cannot read {frames_path} (the frames.csv beside {summary_path.name})"
            f": {exc.strerror or exc}"
        ) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{frames_path} is not a painsign frames.csv: {exc}") from None
    wanted = ["t", *(f"p_{name}" for name in summary["scorers"])]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise InputError(
            f"{frames_path} lacks column(s) {', '.join(missing)}; it does not "
            f"belong to {summary_path}"
        )
    t = np.array([_number(r["t"]) for r in rows])
    face = np.array([r.get("face", "1") not in ("0", "False") for r in rows], dtype=bool)
    p = {name: np.array([_number(r[f"p_{name}"]) for r in rows]) for name in summary["scorers"]}
    return Signs(summary, summary_path, frames_path, t, face, p)


def pearson_r(a, b) -> tuple[float | None, int]:
    """Pearson correlation of two signs over the samples where both are finite.

    Parameters
    ----------
    a, b : array-like of float, same length

    Returns
    -------
    r : float or None
        None when fewer than 2 common samples or either sign is constant there.
    n : int
        Samples used.

    Examples
    --------
    >>> pearson_r([0.1, 0.5, float("nan"), 0.9], [0.9, 0.5, 0.2, 0.1])
    (-1.0, 3)
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    n = int(ok.sum())
    if n < 2:
        return None, n
    if np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return None, n  # a constant sign has no correlation
    da, db = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    denom = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    return float(np.clip(np.dot(da, db) / denom, -1.0, 1.0)), n


def _window_types(entry: dict) -> dict[float, str]:
    return {round(float(w["t0"]), 3): w.get("sign_type") for w in entry.get("windows") or []}


def window_agreement(entry_a: dict, entry_b: dict) -> tuple[float | None, int]:
    """Fraction of windows (matched by ``t0``) in which two scorers' sign types agree.

    Parameters
    ----------
    entry_a, entry_b : dict
        Two scorers' entries of summary.json (each with ``windows``).

    Returns
    -------
    fraction : float or None
        None when no window start is shared.
    n : int
        Windows compared.
    """
    wa, wb = _window_types(entry_a), _window_types(entry_b)
    common = sorted(set(wa) & set(wb))
    if not common:
        return None, 0
    same = sum(wa[t0] == wb[t0] for t0 in common)
    return same / len(common), len(common)


def compare_scorers(summary_path: str | Path) -> dict:
    """Compare every pair of scorers of one analysis.

    For each pair (A, B), in the order of summary.json: Pearson r between the smoothed
    signs ``p_A`` and ``p_B`` of frames.csv over the frames where both are finite (no
    p-value: neighbouring samples of a smoothed sign are not independent); the fraction
    of sliding windows, matched by ``t0``, whose sign types agree; both whole-video types.

    Parameters
    ----------
    summary_path : str or pathlib.Path
        A summary.json from ``painsign analyze`` with two or more scorers; its frames.csv
        must be in the same folder.

    Returns
    -------
    dict
        ``summary``, ``frames`` (paths), ``scorers`` (per name: display name, threshold,
        mean, prediction, sign type, action) and ``pairs``: a list of ``{a, b, pearson_r,
        n_samples, window_agreement, n_windows, sign_type_a, sign_type_b, same_type}``
        (``pearson_r`` and ``window_agreement`` are None when undefined).

    Raises
    ------
    InputError
        Fewer than two scorers, or a file missing or unreadable.
    """
    signs = read_signs(summary_path)
    scorers = signs.summary["scorers"]
    if len(scorers) < 2:
        have = ", ".join(scorers) or "none"
        raise InputError(
            f"{signs.summary_path} has {len(scorers)} scorer(s) ({have}); compare "
            "needs two or more: painsign analyze VIDEO --model CLASSIFIER.onnx"
        )
    pairs = []
    for a, b in combinations(scorers, 2):
        r, n = pearson_r(signs.p[a], signs.p[b])
        agree, n_windows = window_agreement(scorers[a], scorers[b])
        type_a, type_b = scorers[a].get("sign_type"), scorers[b].get("sign_type")
        pairs.append(
            {
                "a": a,
                "b": b,
                "pearson_r": r,
                "n_samples": n,
                "window_agreement": agree,
                "n_windows": n_windows,
                "sign_type_a": type_a,
                "sign_type_b": type_b,
                "same_type": type_a is not None and type_a == type_b,
            }
        )
    keys = ("display_name", "threshold", "mean", "prediction", "sign_type", "action")
    return {
        "summary": str(signs.summary_path),
        "frames": str(signs.frames_path),
        "scorers": {name: {k: e.get(k) for k in keys} for name, e in scorers.items()},
        "pairs": pairs,
    }


def draw_overlay(
    summary_path: str | Path, path: str | Path, comparison: dict | None = None
) -> None:
    """Write a figure of every scorer's sign over time, overlaid, with its threshold.

    Above: the smoothed signs with dashed thresholds, frames without a face shaded, and the
    pairwise Pearson r in the title. Below: one row per scorer with the sign type of each
    sliding window, drawn at the window's end (the type of the 20 s just past).

    Parameters
    ----------
    summary_path : str or pathlib.Path
        summary.json with frames.csv beside it.
    path : str or pathlib.Path
        PNG file to write.
    comparison : dict, optional
        The result of :func:`compare_scorers` (computed when not given).
    """
    from matplotlib.figure import Figure

    signs = read_signs(summary_path)
    comparison = comparison or compare_scorers(summary_path)
    scorers = signs.summary["scorers"]
    fig = Figure(figsize=(12.0, 5.8), dpi=110)
    ax = fig.add_axes((0.06, 0.36, 0.92, 0.56))
    tax = fig.add_axes((0.06, 0.08, 0.92, 0.2), sharex=ax)
    t = signs.t
    gaps = np.r_[False, ~signs.face, False].astype(int)
    starts, stops = np.flatnonzero(np.diff(gaps) == 1), np.flatnonzero(np.diff(gaps) == -1)
    for k, (s, e) in enumerate(zip(starts, stops, strict=True)):
        ax.axvspan(
            t[s], t[min(e, len(t) - 1)], color="0.88", lw=0, label="no face" if k == 0 else None
        )
    for i, (name, entry) in enumerate(scorers.items()):
        c = COLOURS[i % len(COLOURS)]
        label = f"{entry.get('display_name') or name}: {entry.get('sign_type')}"
        ax.plot(t, signs.p[name], "-", lw=1.8, color=c, label=label)
        if entry.get("threshold") is not None:
            ax.axhline(float(entry["threshold"]), color=c, ls="--", lw=1)
        for w in entry.get("windows") or []:
            colour = SIGN_TYPE_COLOURS.get(str(w.get("sign_type")), "0.6")
            tax.plot([w["t1"]], [i], "s", ms=5, color=colour)
    for kind, colour in SIGN_TYPE_COLOURS.items():
        tax.plot([], [], "s", color=colour, label=kind)
    tax.set_yticks(range(len(scorers)), list(scorers), fontsize=8)
    tax.set_ylim(-0.6, len(scorers) - 0.4)
    tax.set_xlabel("time (s); window sign types at each window's end")
    tax.legend(loc="upper left", fontsize=7, ncol=4, bbox_to_anchor=(0.0, 1.35), frameon=False)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("P(pain), 1-s moving average")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    ax.tick_params(labelbottom=False)
    rs = ", ".join(f"{p['a']}-{p['b']} r={_fmt(p['pearson_r'])}" for p in comparison["pairs"])
    ax.set_title(
        f"signs of {len(scorers)} scorers: {Path(signs.summary.get('video', '')).name}  ({rs})",
        fontsize=10,
    )
    fig.savefig(path)


def _fmt(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"
