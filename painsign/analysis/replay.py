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
from painsign.errors import InputError
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
from painsign.video.reader import VideoInfo, VideoReader, damage_text


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
        Decode frames ahead in a thread and locate faces in a second thread, one frame
        ahead of the scorers, so decoding, model inference and scoring overlap on two
        cores. The results are the same as the one-thread path (False), which does all in
        the calling thread for a process with one core to itself (less CPU in all):
        tracking and scoring each still see the frames in order.

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
    part = analyze_range(
        path, analyzer, progress=progress, thumb_every_s=thumb_every_s, pipelined=pipelined
    )
    if part.decoded == 0:
        raise InputError(f"video {part.info.path} has no decodable frame")
    analysis = Analysis(
        part.info,
        part.records,
        part.thumbnails,
        problem=damage_text(
            part.info, part.decoded, len(part.skipped), part.last_t + 1.0 / part.info.fps
        ),
        frames_decoded=part.decoded,
        frames_skipped=len(part.skipped),
        skipped_frames=part.skipped,
        detail_columns=analyzer.detail_columns,
    )
    add_signs(analysis, analyzer.scorers, settings)
    return analysis


def add_signs(analysis: Analysis, scorers, settings: SignSettings) -> None:
    """Compute every scorer's sign on the analysis's whole series (in place)."""
    for scorer in scorers:
        analysis.signs[scorer.name] = compute_sign(analysis, scorer, settings)


@dataclass
class RangeRecords:
    """The records of the frames of one time range of a video, and what reading met.

    Attributes
    ----------
    info : VideoInfo
        The container's properties.
    records : list of FrameRecord
        One per frame of the range, in order: decoded ones, and stand-ins without a face
        for frames that did not decode before a decoded frame of the range.
    thumbnails : list of (float, numpy.ndarray)
        Face thumbnails of the range.
    decoded : int
        Frames of the range decoded.
    skipped : list of int
        Stream indices of the range's frames that did not decode.
    last_t : float
        Time stamp of the range's last decoded frame (NaN when none).
    ended : bool
        Reading stopped before ``end_s``: the end of the stream, or too many undecodable
        frames in a row (then a read from the start stops there too).
    warmup : list of (int, float)
        Index and time stamp of each warm-up frame decoded (before ``start_s``).
    """

    info: VideoInfo
    records: list[FrameRecord]
    thumbnails: list[tuple[float, np.ndarray]]
    decoded: int
    skipped: list[int]
    last_t: float
    ended: bool
    warmup: list[tuple[int, float]]


def analyze_range(
    path,
    analyzer: FrameAnalyzer,
    start_s: float = 0.0,
    end_s: float = math.inf,
    warm_start_s: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    thumb_every_s: float = 1.0,
    pipelined: bool = True,
    after_frame: Callable[[FrameRecord], None] | None = None,
) -> RangeRecords:
    """Analyse the frames of a video whose time stamps lie in ``[start_s, end_s)``.

    Reading starts at ``warm_start_s`` (default ``start_s``; the reader seeks there), so
    that the tracker, the face confirmation and the scorers' short memories have settled
    by ``start_s``: the warm-up frames are analysed and their records dropped. From 0
    it is exactly the loop of :func:`analyze_video`.

    Parameters
    ----------
    path : str or pathlib.Path
        The video file.
    analyzer : FrameAnalyzer
        Reset here before the first frame.
    start_s, end_s : float
        The range, in seconds (frames belong to it by their time stamp).
    warm_start_s : float, optional
        Where reading starts (at most ``start_s``).
    progress : callable, optional
        ``progress(records_done, frames_expected)`` after each frame of the range.
    thumb_every_s : float
        Keep the thumbnail of the first frame read in each interval of this length.
    pipelined : bool
        Decode and locate faces ahead in other threads (see :func:`analyze_video`).
    after_frame : callable, optional
        Called with each record (warm-up too) after its frame was scored.

    Returns
    -------
    RangeRecords
        The range's records and reading counts.
    """
    warm = start_s if warm_start_s is None else min(warm_start_s, start_s)
    reader = VideoReader(path, start_s=warm, threaded=pipelined)
    analyzer.reset()
    records: list[FrameRecord] = []
    thumbs: list[tuple[float, np.ndarray]] = []
    warmup: list[tuple[int, float]] = []
    skipped: list[int] = []
    before: FrameRecord | None = None
    decoded, last_t, ended = 0, float("nan"), True
    for frame, rgb, face in _located(reader, analyzer, pipelined):
        if frame.t >= end_s:
            ended = False
            break
        own = frame.t >= start_s
        # After a seek the frames before the first one read are not this range's to fill.
        if before is not None or warm <= 0:
            stand_ins = _undecoded(before, frame, reader.info.fps, analyzer)
            if own:
                records.extend(stand_ins)
                skipped.extend(r.index for r in stand_ins)
        record = analyzer.score(frame.index, frame.t, rgb, face)
        if after_frame is not None:
            after_frame(record)
        if own:
            records.append(record)
            decoded += 1
            last_t = frame.t
            if before is None or _bin(before.t, thumb_every_s) != _bin(frame.t, thumb_every_s):
                thumbs.append((frame.t, face_thumbnail(frame.bgr, face)))
            if progress is not None:
                progress(len(records), reader.info.frame_count)
        else:
            warmup.append((frame.index, frame.t))
        before = record
    return RangeRecords(reader.info, records, thumbs, decoded, skipped, last_t, ended, warmup)


def _bin(t: float, every_s: float) -> int:
    """The thumbnail interval of a time stamp: stateless, so a range read after a
    warm-up keeps the thumbnails of a read from the start."""
    return math.floor(t / every_s)


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


#: The face track starts afresh (from a detection) at the first frame of every interval
#: of this many seconds of the recording's clock. The track's crop otherwise carries
#: history for as long as the face stays still (``steady_roi`` keeps it within 3 %), so
#: the same frame was scored differently depending on where reading began (up to 0.34 in
#: P(expression) measured at the demo's 10-s chunk starts). From a fresh detection the
#: tracker depends on the frame alone, so time chunks that start on these instants
#: (:mod:`painsign.batch.chunks`) score every frame as a read from the start does.
TRACK_REANCHOR_S = 10.0


def _anchored(reader, analyzer: FrameAnalyzer):
    """Yield ``(frame, rgb, face)``, the track reset at each :data:`TRACK_REANCHOR_S`."""
    interval = None
    for frame in reader:
        now = math.floor(frame.t / TRACK_REANCHOR_S)
        if now != interval:
            analyzer.tracker.reset()
            interval = now
        yield (frame, *analyzer.locate(frame.bgr))


def _located(reader, analyzer: FrameAnalyzer, pipelined: bool):
    """Yield ``(frame, rgb, face)`` in order, located here or by a worker thread."""
    if not pipelined:
        yield from _anchored(reader, analyzer)
        return
    q: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    end = object()

    def work() -> None:
        try:
            for item in _anchored(reader, analyzer):
                if stop.is_set():
                    break
                q.put(item)
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
