"""Evaluate pain scorers against labelled clips and images (``painsign evaluate``).

Each item of LABELS.csv (see :mod:`painsign.research.labels`) gets one score per scorer:

- a video: its pain sign is computed as by ``painsign analyze`` (the NFCS baseline, the
  gap filling and the 1-s average use the whole video), and the clip score is the mean of
  the smoothed sign over the item's ``start <= t < end`` range (the whole video without
  one): the paper's per-clip prediction (Ferreira et al.);
- an image: the largest face of the still image is scored once. The NFCS proxy has then no
  rest face of the same baby and scores against population defaults with wide tolerances,
  so it is weaker on stills than on video.

Without a face (never in the range of a video, or none in an image) an item has no score:
it is counted as "no face" and left out of that scorer's metrics. Every scorer is reset
before every item, so no baseline leaks from one baby to the next.

The metrics (:mod:`painsign.research.metrics`) per scorer: AUC, Brier score, reliability
data, the metrics at the scorer's own threshold, and the Youden threshold with its metrics.
The Youden threshold chosen on all items is optimistic (chosen and judged on the same
items); with ``folds`` it is also chosen on the training subjects only and judged on the
held-out subjects, which is the honest estimate.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from painsign import __version__
from painsign.analysis.frames import FrameAnalyzer
from painsign.analysis.replay import SignSettings, analyze_video
from painsign.errors import InputError
from painsign.research.evaluate_figures import draw_figures
from painsign.research.labels import LabelledItem, read_labels
from painsign.research.metrics import (
    auc,
    binary_metrics,
    brier_score,
    calibration_curve,
    cross_validated,
    youden_threshold,
)
from painsign.scoring.base import FaceFrame, display_name
from painsign.scoring.guard import guarded_score
from painsign.vision.image import to_rgb
from painsign.vision.image_file import read_image
from painsign.vision.tracker import FaceTracker

NOTE = (
    "research evaluation: painsign is research software, not a medical device; the "
    "NFCS scorer is a transparent proxy, not a validated clinical tool"
)


@dataclass
class ItemScore:
    """One item's scores.

    Attributes
    ----------
    item : LabelledItem
        The row of LABELS.csv.
    scores : dict of str to float
        Clip (or image) score per scorer name; NaN without a face.
    frame_labels : numpy.ndarray or None
        With frame labels: the label (1/0) of each labelled frame in the range.
    frame_scores : dict of str to numpy.ndarray
        With frame labels: the smoothed sign of each scorer at those frames (NaN where
        the video never showed a face).
    note : str or None
        A problem that did not stop the item (a truncated video).
    failures : dict of str to str
        Scorer name -> how it failed on this item (raised, or gave NaN without a reason,
        inf or a value outside [0, 1]): "failed (REASON)" for an image, "failed on N of
        M frames with a face (REASON)" for a video. Its score is NaN there (an image) or covers
        only the frames it scored (a video); the other scorers are unaffected.
    """

    item: LabelledItem
    scores: dict[str, float]
    frame_labels: np.ndarray | None = None
    frame_scores: dict[str, np.ndarray] = field(default_factory=dict)
    note: str | None = None
    failures: dict[str, str] = field(default_factory=dict)


def score_items(
    items: list[LabelledItem],
    scorers_factory: Callable[[], list],
    tracker: FaceTracker,
    settings: SignSettings | None = None,
    progress: Callable[[int, int, ItemScore], None] | None = None,
) -> list[ItemScore]:
    """Score every item with every scorer.

    Parameters
    ----------
    items : list of LabelledItem
        From :func:`~painsign.research.labels.read_labels`.
    scorers_factory : callable
        Returns the scorers (distinct names). Called once; every scorer is reset before
        each item, so each item starts from a fresh state (the Scorer contract).
    tracker : FaceTracker
        Finds the face in videos and images.
    settings : SignSettings, optional
        Sign settings for videos.
    progress : callable, optional
        Called as ``progress(items_done, items_total, item_score)`` after each item.

    Returns
    -------
    list of ItemScore
        In the order of ``items``.

    Raises
    ------
    InputError
        An unreadable image or video, or a time range outside the video, naming the line
        of LABELS.csv.
    """
    scorers = list(scorers_factory())
    analyzer = FrameAnalyzer(tracker, scorers)
    analyses: dict = {}  # several rows (time ranges) of one video: analyse it once
    out = []
    for item in items:
        try:
            if item.is_image:
                result = _score_image(item, scorers, tracker)
            else:
                result = _score_video(item, analyzer, settings, analyses)
        except InputError as exc:
            if str(exc).startswith(str(item.source)):
                raise
            raise InputError(f"{item.where}: {exc}") from None
        out.append(result)
        if progress is not None:
            progress(len(out), len(items), result)
    return out


def _score_image(item: LabelledItem, scorers: list, tracker: FaceTracker) -> ItemScore:
    for scorer in scorers:
        scorer.reset()
    bgr = read_image(item.path)
    faces = tracker.analyse_image(bgr, order="bgr")
    face = faces[0] if faces else None
    if face is None or face.landmarks.presence < tracker.min_presence:
        return ItemScore(item, {s.name: math.nan for s in scorers})
    frame = FaceFrame(to_rgb(bgr, "bgr"), face, 0.0)
    scores, failures = {}, {}
    for scorer in scorers:
        score, failure = guarded_score(scorer, frame)  # a failing plug-in stays in its column
        scores[scorer.name] = float(score.p)
        if failure is not None:
            failures[scorer.name] = f"failed ({failure})"
    return ItemScore(item, scores, failures=failures)


def _score_video(
    item: LabelledItem, analyzer: FrameAnalyzer, settings: SignSettings | None, analyses: dict
) -> ItemScore:
    key = str(item.path)
    if key not in analyses:
        analyses.clear()  # keep one video's analysis in memory, not all of them
        analyses[key] = analyze_video(item.path, analyzer, settings)  # resets the scorers
    analysis = analyses[key]
    t = analysis.t
    t0 = -math.inf if item.start is None else item.start
    t1 = math.inf if item.end is None else item.end
    in_range = (t >= t0) & (t < t1)
    if not in_range.any():
        last = float(t[-1]) if t.size else 0.0
        raise InputError(
            f"no frame between start and end ({_range(item)}); the video "
            f"runs from 0 to {last:.2f} s"
        )
    scores = {}
    for name, sign in analysis.signs.items():
        p = sign.p_smooth[in_range]
        p = p[np.isfinite(p)]
        scores[name] = float(p.mean()) if p.size else math.nan
    result = ItemScore(item, scores, note=analysis.problem)
    result.failures = _range_failures(analysis, in_range)
    if item.frame_labels is not None:
        labels = item.frame_labels.at(t[in_range])
        keep = labels >= 0
        result.frame_labels = labels[keep]
        result.frame_scores = {
            name: sign.p_smooth[in_range][keep] for name, sign in analysis.signs.items()
        }
    return result


def _range_failures(analysis, in_range: np.ndarray) -> dict[str, str]:
    """Scorer name -> "failed on N of M frames with a face (REASON)" in the item's range."""
    faces = [r for r, keep in zip(analysis.records, in_range, strict=True) if keep and r.face]
    out = {}
    for name in analysis.signs:
        reasons = Counter(r.failed[name] for r in faces if name in r.failed)
        if reasons:
            n, reason = sum(reasons.values()), reasons.most_common(1)[0][0]
            out[name] = f"failed on {n} of {len(faces)} frames with a face ({reason})"
    return out


def _range(item: LabelledItem) -> str:
    start = "start" if item.start is None else f"{item.start:g} s"
    end = "end" if item.end is None else f"{item.end:g} s"
    return f"{start} to {end}"


def _threshold_block(y: np.ndarray, s: np.ndarray, threshold: float) -> dict:
    """AUC, Brier, own-threshold and Youden metrics of finite scores with both classes."""
    thr, tpr, fpr = youden_threshold(y, s)
    youden = binary_metrics(y, s, thr)
    youden.update(threshold=thr, j=tpr - fpr)
    own = binary_metrics(y, s, threshold)
    own["threshold"] = threshold
    block = {
        "auc": auc(y, s),
        "brier": brier_score(y, s) if 0 <= s.min() and s.max() <= 1 else None,
        "youden": youden,
        "at_threshold": own,
        "confusion_matrix": {
            "rows": "true no pain, pain",
            "columns": "predicted no pain, pain",
            "matrix": [[own["tn"], own["fp"]], [own["fn"], own["tp"]]],
        },
    }
    if block["brier"] is not None:
        true, pred, count = calibration_curve(y, s, bins=10)
        block["calibration"] = {
            "bins": 10,
            "prob_true": true.tolist(),
            "prob_pred": pred.tolist(),
            "count": count.tolist(),
        }
    return block


def _classes(y: np.ndarray) -> tuple[int, int]:
    return int(y.sum()), int(y.size - y.sum())


def summarise(
    scored: list[ItemScore], scorers: list, folds: int | None = None, seed: int = 0
) -> dict:
    """Return the per-scorer metrics of scored items (the ``scorers`` of evaluation.json).

    Parameters
    ----------
    scored : list of ItemScore
        From :func:`score_items`.
    scorers : list
        The scorers (for names, display names and thresholds).
    folds : int, optional
        Leave-subjects-out folds for the cross-validated Youden threshold.
    seed : int
        Seed of the fold assignment.

    Returns
    -------
    dict
        Per scorer name: ``display_name, threshold, n, n_no_face, n_failed`` (items on
        which it failed; see :attr:`ItemScore.failures`), ``failure`` (the first, with its
        item), ``n_pain, n_no_pain, auc,
        brier, youden, at_threshold, confusion_matrix, calibration``, with folds
        ``cross_validation`` (see :func:`~painsign.research.metrics.cross_validated`),
        with frame labels ``frames``, and ``problems`` (list of str, empty when none).
    """
    labels = np.array([r.item.label for r in scored], dtype=np.int64)
    groups = np.array([r.item.group or "" for r in scored], dtype=object)
    out = {}
    for scorer in scorers:
        name = scorer.name
        s_all = np.array([r.scores[name] for r in scored], dtype=np.float64)
        ok = np.isfinite(s_all)
        failed = np.array([name in r.failures for r in scored], dtype=bool)
        y, s = labels[ok], s_all[ok]
        n_pain, n_no = _classes(y)
        entry = {
            "display_name": display_name(scorer),
            "threshold": float(scorer.threshold),
            "n": int(ok.sum()),
            "n_no_face": int((~ok & ~failed).sum()),
            "n_failed": int(failed.sum()),
            "failure": next(
                (f"{r.item.name}: {r.failures[name]}" for r in scored if name in r.failures), None
            ),
            "n_pain": n_pain,
            "n_no_pain": n_no,
            "problems": [],
        }
        if n_pain and n_no:
            entry.update(_threshold_block(y, s, float(scorer.threshold)))
            if folds:
                try:
                    entry["cross_validation"] = cross_validated(y, s, groups[ok], folds, seed)
                except ValueError as exc:
                    entry["cross_validation"] = None
                    entry["problems"].append(f"cross-validation: {exc}")
        elif all(_classes(labels[ok | failed])):
            pass  # the scorer's failures took a class away: its failure line says so
        else:
            entry["problems"].append(
                f"{entry['n']} items with a score ({n_pain} pain, {n_no} no pain, "
                f"{entry['n_no_face']} without a face): an AUC needs both pain and no pain"
            )
        frames = _frames_block(scored, scorer)
        if frames is not None:
            entry["frames"] = frames
            if frames.get("problem"):
                entry["problems"].append(f"frames: {frames['problem']}")
        out[name] = entry
    return out


def _frames_block(scored: list[ItemScore], scorer) -> dict | None:
    """Per-frame metrics pooled over the items with frame labels (None without any)."""
    with_frames = [r for r in scored if r.frame_labels is not None]
    if not with_frames:
        return None
    y = np.concatenate([r.frame_labels for r in with_frames])
    s = np.concatenate([r.frame_scores[scorer.name] for r in with_frames])
    ok = np.isfinite(s)
    y, s = y[ok], s[ok]
    n_pain, n_no = _classes(y)
    block = {
        "items": len(with_frames),
        "n": int(y.size),
        "n_no_face": int((~ok).sum()),
        "n_pain": n_pain,
        "n_no_pain": n_no,
        "score": "smoothed sign per frame",
    }
    if n_pain and n_no:
        block.update(_threshold_block(y, s, float(scorer.threshold)))
    else:
        block["problem"] = (
            f"{y.size} labelled frames with a sign ({n_pain} pain, {n_no} "
            "no pain): per-frame metrics need both"
        )
    return block


def write_scores_csv(scored: list[ItemScore], names: list[str], path: Path) -> None:
    """Write one row per item: ``path, label, subject, kind, start, end, score_NAME...``.

    A missing score (no face) is written as ``nan``; a missing subject or time is blank.
    """
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["path", "label", "subject", "kind", "start", "end", *(f"score_{n}" for n in names)]
        )
        for r in scored:
            it = r.item
            w.writerow(
                [
                    it.name,
                    "pain" if it.label else "no pain",
                    it.group or "",
                    "image" if it.is_image else "video",
                    "" if it.start is None else f"{it.start:g}",
                    "" if it.end is None else f"{it.end:g}",
                    *(f"{r.scores[n]:.6f}" for n in names),
                ]
            )


def _clean(x):
    """Make ``x`` JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def evaluate(
    labels_path: str | Path,
    scorers_factory: Callable[[], list],
    tracker: FaceTracker,
    out: str | Path,
    settings: SignSettings | None = None,
    folds: int | None = None,
    groups: str | None = None,
    seed: int = 0,
    progress: Callable[[int, int, ItemScore], None] | None = None,
) -> dict:
    """Score the items of LABELS.csv, compute the metrics and write the report.

    Writes ``out/evaluation.json`` (the returned dict), ``out/scores.csv`` (see
    :func:`write_scores_csv`) and ``out/roc.png``, ``out/pr.png``, ``out/calibration.png``.

    Parameters
    ----------
    labels_path : str or pathlib.Path
        LABELS.csv (format in :mod:`painsign.research.labels`).
    scorers_factory : callable
        Returns the scorers; see :func:`score_items`.
    tracker : FaceTracker
    out : str or pathlib.Path
        Output folder (created).
    settings : SignSettings, optional
    folds : int, optional
        Leave-subjects-out folds (2 to the number of subjects).
    groups : str, optional
        Column of LABELS.csv naming the subjects (default ``subject``).
    seed : int
        Seed of the fold assignment.
    progress : callable, optional
        See :func:`score_items`.

    Returns
    -------
    dict
        ``painsign_version, note, labels, items, pain, no_pain, groups_column, subjects,
        folds, item_notes, problems``, ``scorer_failures`` (one line per scorer
        that failed on any item) and ``scorers`` (see :func:`summarise`).

    Raises
    ------
    InputError
        A bad LABELS.csv (before any scoring), folds without subjects or with more folds
        than subjects, an unreadable item.
    """
    labels_path = Path(labels_path)
    items = read_labels(labels_path, groups)
    group_col = groups or "subject"
    subjects = sorted({it.group for it in items if it.group is not None})
    if folds is not None:
        if not subjects:
            raise InputError(
                f"{labels_path}: folds need subjects; add a 'subject' column or "
                "name one with --groups"
            )
        if not 2 <= folds <= len(subjects):
            raise InputError(
                f"--folds {folds}: needs 2 to {len(subjects)} folds (the number "
                f"of subjects in column {group_col!r})"
            )
    scorers = list(scorers_factory())
    scored = score_items(items, lambda: scorers, tracker, settings, progress)
    names = [s.name for s in scorers]
    result = {
        "painsign_version": __version__,
        "note": NOTE,
        "labels": str(labels_path),
        "items": len(items),
        "pain": sum(it.label for it in items),
        "no_pain": sum(1 - it.label for it in items),
        "groups_column": group_col if subjects else None,
        "subjects": len(subjects),
        "folds": folds,
        "item_notes": [{"path": r.item.name, "note": r.note} for r in scored if r.note],
        "scorers": summarise(scored, scorers, folds, seed),
    }
    result["problems"] = [f"{n}: {p}" for n, e in result["scorers"].items() for p in e["problems"]]
    result["scorer_failures"] = [
        f"scorer '{n}' failed on {e['n_failed']} of {len(scored)} items (first: {e['failure']})"
        for n, e in result["scorers"].items()
        if e["n_failed"]
    ]
    result = _clean(result)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_scores_csv(scored, names, out / "scores.csv")
    (out / "evaluation.json").write_text(json.dumps(result, indent=2) + "\n")
    draw_figures(scored, result, out)
    return result
