"""One video's report files and what they say: shared by ``painsign analyze`` of one video
and by the batch's workers, so that both write byte for byte the same files."""

from __future__ import annotations

from pathlib import Path

from painsign.analysis.figure import draw_sign_figure
from painsign.analysis.replay import Analysis
from painsign.analysis.report import failure_text, write_frames_csv, write_summary_json

#: A video's outcome, from the best to the worst; its exit status is that of the README.
OK, SCORER_FAILED, DAMAGED, FAILED = "ok", "scorer-failed", "damaged", "failed"


def write_reports(analysis: Analysis, out: Path, figure: bool = True) -> dict:
    """Write frames.csv, summary.json and (unless ``figure`` is False) sign.png.

    Parameters
    ----------
    analysis : Analysis
        One video's analysis.
    out : pathlib.Path
        The folder (created when missing).
    figure : bool
        Draw sign.png.

    Returns
    -------
    dict
        The summary.json content.
    """
    out.mkdir(parents=True, exist_ok=True)
    write_frames_csv(analysis, out / "frames.csv")
    data = write_summary_json(analysis, out / "summary.json")
    if figure:
        draw_sign_figure(analysis, out / "sign.png")
    return data


def scorer_failures(data: dict) -> list[str]:
    """``"scorer 'NAME' failed on N of M frames with a face (REASON)"`` for each scorer of
    a summary.json content that failed on any frame."""
    failures = []
    for name, s in data["scorers"].items():
        failed = failure_text(s, data["frames_with_face"])
        if failed is not None:
            failures.append(f"scorer '{name}' {failed}")
    return failures


def outcome(analysis: Analysis, data: dict) -> tuple[str, int, str]:
    """The status, exit status and one-line message of a video whose reports were written.

    A damaged file (exit 2) outranks a failed scorer (1), as the README's exit codes say.

    Parameters
    ----------
    analysis : Analysis
        The video's analysis.
    data : dict
        Its summary.json content.

    Returns
    -------
    (str, int, str)
        :data:`OK`, :data:`DAMAGED` or :data:`SCORER_FAILED`; 0, 2 or 1; the message
        ('' when ok).
    """
    failures = scorer_failures(data)
    if analysis.damage:
        return DAMAGED, 2, "; ".join([analysis.damage, *failures])
    if failures:
        return SCORER_FAILED, 1, "; ".join(failures) + " (NaN in frames.csv; see summary.json)"
    return OK, 0, ""
