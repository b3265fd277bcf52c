"""Analyse a recorded video as fast as it decodes: frames -> per-scorer pain signs."""

from __future__ import annotations

import math
import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from painsign.analysis.frames import FrameAnalyzer, FrameRecord, face_thumbnail
from painsign.scoring.base import display_name
from painsign.signal import (
    Event,
    NearestCentroidSignTypes,
    SignTypeClassifier,
    WindowMetrics,
    detect_events,
    interpolate_gaps,
    moving_average,
    sliding_windows,
    smoothing_window,
    whole_record_metrics,
)
from painsign.signal.smoothing import mean_frame_rate
from painsign.video.reader import VideoInfo, VideoReader


@dataclass
class SignSettings:
    """How the sign is summarised: window length and step, event triggers, sign types.

    ``classifier`` types each window (anything with ``classify(entropy, crossings,
    duration_s)``, e.g. a loaded :class:`~painsign.signal.SignTypeModel`); None means
    :class:`~painsign.signal.NearestCentroidSignTypes`.
    """

    window_s: float = 20.0
    step_s: float = 1.0
    surge_rise: float = 0.3
    surge_within_s: float = 3.0
    refractory_s: float = 5.0
    classifier: SignTypeClassifier | None = None


@dataclass
class ScorerSign:
    """One scorer's sign over a recording and its summary.

    ``frames_failed`` counts the frames with a face on which the scorer failed (raised,
    NaN without a reason, inf, outside [0, 1]; their ``p_raw`` is NaN); ``failure`` is
    the most common reason (the first seen among equals), None when it never failed.
    """

    name: str
    display_name: str
    threshold: float
    p_raw: np.ndarray
    p_interp: np.ndarray
    p_smooth: np.ndarray
    whole: WindowMetrics | None
    windows: list[WindowMetrics]
    events: list[Event]
    frames_failed: int = 0
    failure: str | None = None


@dataclass
class Analysis:
    """The outcome of analysing one video file."""

    info: VideoInfo
    records: list[FrameRecord]
    thumbnails: list[tuple[float, np.ndarray]]
    signs: dict[str, ScorerSign] = field(default_factory=dict)
    problem: str | None = None
    #: Frames decoded, and frames skipped because they did not decode (each has a record
    #: without a face, at a time stamp interpolated between its neighbours).
    frames_decoded: int = 0
    frames_skipped: int = 0
    #: Stream indices of the skipped frames.
    skipped_frames: list[int] = field(default_factory=list)
    #: The detail columns the scorers declare (each record's ``actions``), in order.
    detail_columns: tuple[str, ...] = ()

    @property
    def frames_expected(self) -> int | None:
        """The container's frame count; None when it does not say."""
        return self.info.frames_expected

    @property
    def damage(self) -> str | None:
        """How the file is damaged (skipped or missing frames), in one line; else None."""
        return self.problem

    @property
    def t(self) -> np.ndarray:
        """Frame time stamps in seconds."""
        return np.array([r.t for r in self.records], dtype=np.float64)

    @property
    def frames_with_face(self) -> int:
        """Frames in which the patient face was found."""
        return sum(r.face for r in self.records)

    @property
    def frames_unconfirmed(self) -> int:
        """Frames with a face seen too briefly to count (see ``FaceConfirmation``)."""
        return sum(r.unconfirmed for r in self.records)

    @property
    def fps(self) -> float:
        """Frame rate from the time stamps (median interval), else the container's."""
        t = self.t
        if len(t) > 1:
            dt = np.median(np.diff(t))
            if dt > 0:
                return float(1.0 / dt)
        return self.info.fps

    @property
    def mean_fps(self) -> float:
        """Mean frame rate from the time stamps (frames per second over the record), else
        the container's. It sets the 1-s moving average's length in samples, so that a
        variable frame rate file is averaged over 1 s too."""
        rate = mean_frame_rate(self.t)
        return rate if math.isfinite(rate) else self.info.fps

    @property
    def smoothing_samples(self) -> int:
        """Length of the 1-s moving average in samples (from :attr:`mean_fps`)."""
        return smoothing_window(self.mean_fps)


def analyze_video(
    path,
    analyzer: FrameAnalyzer,
    settings: SignSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
    thumb_every_s: float = 1.0,
    pipelined: bool = True,
) -> Analysis:
    """Process every frame of a video file and compute each scorer's sign.

    Parameters
    ----------
    path : str or pathlib.Path
        The video file.
    analyzer : FrameAnalyzer
        Face tracker and scorers (reset before the first frame).
    settings : SignSettings, optional
        Windows and event triggers.
    progress : callable, optional
        Called as ``progress(frames_done, frames_expected)``.
    thumb_every_s : float
        Keep one face thumbnail per this many seconds (for the figure).
    pipelined : bool
        Locate faces in a second thread, one frame ahead of the scorers, so model
        inference and scoring overlap on two cores. The results are the same as the
        one-thread path (False): tracking and scoring each still see the frames in order.

    Returns
    -------
    Analysis
        Records, thumbnails and signs. A frame that does not decode is skipped: it gets a
        record without a face (so its stretch is interpolated like a face gap). A damaged
        file (skipped frames, or fewer frames than the container announces) gives the
        frames decoded and a ``problem`` message; an unreadable or empty file raises.

    Raises
    ------
    InputError
        The file cannot be opened or holds no decodable frame.
    """
    settings = settings or SignSettings()
    reader = VideoReader(path)
    analyzer.reset()
    records: list[FrameRecord] = []
    thumbs: list[tuple[float, np.ndarray]] = []
    next_thumb = 0.0
    skipped: list[int] = []
    for frame, rgb, face in _located(reader, analyzer, pipelined):
        before = records[-1] if records else None
        for stand_in in _undecoded(before, frame, reader.info.fps, analyzer):
            records.append(stand_in)
            skipped.append(stand_in.index)
        record = analyzer.score(frame.index, frame.t, rgb, face)
        records.append(record)
        if frame.t >= next_thumb:
            thumbs.append((frame.t, face_thumbnail(frame.bgr, face)))
            next_thumb = frame.t + thumb_every_s
        if progress is not None:
            progress(len(records), reader.info.frame_count)
    analysis = Analysis(
        reader.info,
        records,
        thumbs,
        problem=reader.damage(),
        frames_decoded=reader.frames_read,
        frames_skipped=reader.frames_skipped,
        skipped_frames=skipped,
        detail_columns=analyzer.detail_columns,
    )
    for scorer in analyzer.scorers:
        analysis.signs[scorer.name] = compute_sign(analysis, scorer, settings)
    return analysis


def _undecoded(
    before: FrameRecord | None, frame, fps: float, analyzer: FrameAnalyzer
) -> list[FrameRecord]:
    """Records without a face for the frames between ``before`` and ``frame`` that did not
    decode, at times interpolated between theirs (from ``frame`` back at ``fps`` for
    frames before the first one decoded)."""
    first = 0 if before is None else before.index + 1
    n = frame.index - first
    if n <= 0:
        return []
    if before is None:
        times = [max(0.0, frame.t - (n - k) / fps) for k in range(n)]
    else:
        step = (frame.t - before.t) / (n + 1)
        times = [before.t + (k + 1) * step for k in range(n)]
    nan = float("nan")
    return [
        FrameRecord(
            first + k,
            t,
            False,
            (nan, nan, nan, nan),
            dict.fromkeys(analyzer.detail_columns, nan),
            {s.name: nan for s in analyzer.scorers},
        )
        for k, t in enumerate(times)
    ]


def _located(reader, analyzer: FrameAnalyzer, pipelined: bool):
    """Yield ``(frame, rgb, face)`` in order, located here or by a worker thread."""
    if not pipelined:
        for frame in reader:
            yield (frame, *analyzer.locate(frame.bgr))
        return
    q: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    end = object()

    def work() -> None:
        try:
            for frame in reader:
                if stop.is_set():
                    break
                q.put((frame, *analyzer.locate(frame.bgr)))
        except BaseException as exc:  # handed to the consumer, not lost in the thread
            q.put(exc)
        finally:
            q.put(end)

    worker = threading.Thread(target=work, name="painsign-locate", daemon=True)
    worker.start()
    try:
        while (item := q.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass


def compute_sign(analysis: Analysis, scorer, settings: SignSettings) -> ScorerSign:
    """Interpolate, smooth and summarise one scorer's per-frame P(pain)."""
    t = analysis.t
    p_raw = np.array([r.p_raw[scorer.name] for r in analysis.records], dtype=np.float64)
    p_interp = interpolate_gaps(p_raw)
    p_smooth = moving_average(p_interp, analysis.smoothing_samples)
    classifier = NearestCentroidSignTypes() if settings.classifier is None else settings.classifier
    display = display_name(scorer)
    reasons = Counter(r.failed[scorer.name] for r in analysis.records if scorer.name in r.failed)
    failed = sum(reasons.values())
    failure = reasons.most_common(1)[0][0] if reasons else None
    if np.isnan(p_smooth).all():  # never a face, or never scored: nothing to summarise
        return ScorerSign(
            scorer.name,
            display,
            scorer.threshold,
            p_raw,
            p_interp,
            p_smooth,
            None,
            [],
            [],
            failed,
            failure,
        )
    whole = whole_record_metrics(t, p_smooth, scorer.threshold, classifier)
    windows = sliding_windows(
        t, p_smooth, scorer.threshold, settings.window_s, settings.step_s, classifier
    )
    events = detect_events(
        t,
        p_smooth,
        scorer.threshold,
        settings.surge_rise,
        settings.surge_within_s,
        settings.refractory_s,
    )
    return ScorerSign(
        scorer.name,
        display,
        scorer.threshold,
        p_raw,
        p_interp,
        p_smooth,
        whole,
        windows,
        events,
        failed,
        failure,
    )
