"""Write an analysis to disk: frames.csv, summary.json (and sign.png via figure.py)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from painsign import __version__
from painsign.analysis.frames import MIN_FACE_RUN_S
from painsign.analysis.replay import Analysis
from painsign.signal.review import needs_review


def _num(x: float, digits: int = 4):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, digits)


def frames_columns(analysis: Analysis) -> list[str]:
    """Column names of frames.csv: the detail columns the scorers declare (the eight NFCS
    action intensities for the default scorers) after the face box."""
    cols = [
        "frame",
        "t",
        "face",
        "x1",
        "y1",
        "x2",
        "y2",
        *analysis.detail_columns,
        "own_baseline",
        "decoded",
    ]
    for name in analysis.signs:
        cols += [f"p_raw_{name}", f"p_{name}"]
    return cols


def write_frames_csv(analysis: Analysis, path: Path) -> None:
    """Write one row per frame: time, face box, the scorers' detail columns (NFCS action
    intensities), raw and smoothed P(pain).

    Missing values (no face) are written as ``nan``. ``own_baseline`` is 1 where the NFCS
    actions were measured against the patient's own rest face, 0 where against population
    values. ``decoded`` is 0 for a frame of the file that did not decode (no face, its
    time stamp interpolated), 1 otherwise.
    """
    signs = list(analysis.signs.values())
    skipped = set(analysis.skipped_frames)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(frames_columns(analysis))
        for i, r in enumerate(analysis.records):
            row = [
                r.index,
                f"{r.t:.4f}",
                int(r.face),
                *(f"{v:.1f}" for v in r.box),
                *(f"{r.actions.get(c, math.nan):.4f}" for c in analysis.detail_columns),
                _own_baseline(r),
                int(r.index not in skipped),
            ]
            for s in signs:
                row += [f"{s.p_raw[i]:.4f}", f"{s.p_smooth[i]:.4f}"]
            w.writerow(row)


def _own_baseline(record) -> str:
    for details in (record.details or {}).values():
        if "calibrated" in details:
            return str(int(details["calibrated"]))
    return "nan"


def _review(mean, threshold: float, sign_type) -> dict:
    """``needs_review`` and ``review_reason`` of one window (see painsign.signal.review)."""
    flag, reason = needs_review(mean, threshold, sign_type)
    return {"needs_review": flag, "review_reason": reason}


def summary(analysis: Analysis) -> dict:
    """Return the summary.json content (see the README for the keys)."""
    out = {
        "painsign_version": __version__,
        "video": str(analysis.info.path),
        "fps": round(analysis.fps, 3),
        "mean_fps": round(analysis.mean_fps, 3),
        "smoothing_samples": analysis.smoothing_samples,
        "frames": len(analysis.records),
        "frames_decoded": analysis.frames_decoded,
        "frames_skipped": analysis.frames_skipped,
        "frames_expected": analysis.frames_expected,
        "damage": analysis.damage,
        "frames_with_face": analysis.frames_with_face,
        "frames_face_unconfirmed": analysis.frames_unconfirmed,
        "duration_s": round(float(analysis.t[-1]) if analysis.records else 0.0, 3),
        "problem": analysis.problem,
        "scorers": {},
    }
    if analysis.frames_with_face == 0:
        out["note"] = "no face was found in any frame: there is no pain sign for this video"
        if analysis.frames_unconfirmed:
            out["note"] += (
                f" ({analysis.frames_unconfirmed} frame(s) showed a face for less than "
                f"{MIN_FACE_RUN_S:g} s in a row, which does not count as the patient's face)"
            )
    # The first scorer is the default one: the sign the monitor shows first and alarms on.
    default = next(iter(analysis.signs), None)
    for name, s in analysis.signs.items():
        entry = {
            "display_name": s.display_name,
            "threshold": s.threshold,
            "default": name == default,
            "frames_failed": s.frames_failed,
            "failure": s.failure,
        }
        if s.whole is None:
            entry.update(
                mean=None,
                prediction=None,
                entropy=None,
                crossings=None,
                sign_type=None,
                action=None,
                events=[],
                windows=[],
            )
            entry.update(_review(None, s.threshold, None))
        else:
            entry.update(
                mean=_num(s.whole.mean),
                prediction=bool(s.whole.prediction),
                entropy=_num(s.whole.entropy),
                crossings=int(s.whole.crossings),
                sign_type=str(s.whole.sign_type),
                action=str(s.whole.action),
                events=[{"t": round(e.t, 3), "kind": e.kind} for e in s.events],
                windows=[
                    {
                        "t0": round(w.t0, 3),
                        "t1": round(w.t1, 3),
                        "mean": _num(w.mean),
                        "entropy": _num(w.entropy),
                        "crossings": int(w.crossings),
                        "sign_type": str(w.sign_type),
                        **_review(w.mean, s.threshold, w.sign_type),
                    }
                    for w in s.windows
                ],
            )
            entry.update(_review(s.whole.mean, s.threshold, s.whole.sign_type))
        out["scorers"][name] = entry
    return out


def failure_text(entry: dict, frames_with_face: int) -> str | None:
    """``"failed on N of M frames with a face (REASON)"`` for a scorer of summary.json
    that failed on any frame; None for one that did not.

    Parameters
    ----------
    entry : dict
        A scorer's entry (``frames_failed``, ``failure``).
    frames_with_face : int
        Frames with a face in the recording.
    """
    if not entry.get("frames_failed"):
        return None
    return (
        f"failed on {entry['frames_failed']} of {frames_with_face} frames with a face "
        f"({entry['failure']})"
    )


def write_summary_json(analysis: Analysis, path: Path) -> dict:
    """Write summary.json; return its content."""
    data = summary(analysis)
    Path(path).write_text(json.dumps(data, indent=2) + "\n")
    return data
