"""The live monitor without a screen: source -> faces -> signs -> alarms -> recording.

One worker thread reads frames from a :class:`~painsign.capture.FrameSource`, runs the face
tracker and the scorers, keeps each scorer's sign live with
:class:`~painsign.signal.SignStream`, turns surges, sustained pain and faults into alarms,
and hands every result to the recorder (whose own thread writes SQLite). A view (the Qt
dashboard, or the headless log) polls :meth:`MonitorEngine.snapshot`; it never runs
inference or touches the disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from painsign.alarms import AlarmManager, AlarmSettings, MonotonicClock
from painsign.analysis.frames import FrameAnalyzer
from painsign.capture import TROUBLE
from painsign.monitor.state import MonitorState, MonitorStats, ScorerView
from painsign.scoring.nfcs import ACTIONS, NfcsScorer
from painsign.signal import (
    EventDetector,
    NearestCentroidSignTypes,
    SignStream,
    whole_record_metrics,
)
from painsign.signal.review import needs_review

logger = logging.getLogger("painsign.monitor")

DISPLAY_WIDTH = 480
#: Seconds of sign needed before a provisional sign type is shown.
PROVISIONAL_MIN_S = 5.0
GREEN, RED = (80, 220, 60), (60, 60, 230)


@dataclass
class MonitorSettings:
    """Monitor options (all seconds unless said otherwise).

    Attributes
    ----------
    bed : str
        Bed label shown on screen and stored with the session.
    span_s : float
        Length of the live sign plot.
    window_s, step_s : float
        Sliding windows for the sign type.
    surge_rise, surge_within_s : float
        Surge trigger (see :func:`painsign.signal.detect_events`).
    fresh_s : float
        How long the last valid value may still be shown after the face is lost.
    """

    bed: str = "bed 1"
    span_s: float = 60.0
    window_s: float = 20.0
    step_s: float = 1.0
    surge_rise: float = 0.3
    surge_within_s: float = 3.0
    fresh_s: float = 1.0


def _face_crop(bgr: np.ndarray, box) -> np.ndarray | None:
    """The face with a margin, for an opt-in snapshot."""
    x1, y1, x2, y2 = box
    if not np.isfinite(x1):
        return None
    mx, my = 0.2 * (x2 - x1), 0.2 * (y2 - y1)
    h, w = bgr.shape[:2]
    xa, ya = int(max(0, x1 - mx)), int(max(0, y1 - my))
    xb, yb = int(min(w, x2 + mx)), int(min(h, y2 + my))
    return bgr[ya:yb, xa:xb].copy() if xb > xa and yb > ya else None


class _ScorerTrack:
    """Per-scorer live state: the stream, events, the display span, crossings."""

    def __init__(self, scorer, fps: float, settings: MonitorSettings, classifier=None):
        self.scorer = scorer
        self.stream = SignStream(fps=fps, threshold=scorer.threshold,
                                 window_s=settings.window_s, step_s=settings.step_s,
                                 classifier=classifier)
        self.events = EventDetector(threshold=scorer.threshold, rise=settings.surge_rise,
                                    within_s=settings.surge_within_s)
        self.span: deque[tuple[float, float]] = deque()
        self.crossings: deque[tuple[float, float]] = deque()
        self.side: int | None = None
        self.last_valid_t = -np.inf
        self.current = np.nan
        self.window = None
        self.provisional = None
        self.provisional_at = -np.inf

    def add(self, t: float, p: float, span_s: float) -> None:
        self.span.append((t, p))
        side = None if p == self.scorer.threshold else (1 if p > self.scorer.threshold else -1)
        if side is not None:
            if self.side is not None and side != self.side:
                self.crossings.append((t, p))
            self.side = side
        while self.span and self.span[0][0] < t - span_s:
            self.span.popleft()
        while self.crossings and self.crossings[0][0] < t - span_s:
            self.crossings.popleft()


class MonitorEngine:
    """Run the pain-sign pipeline on a live or replayed source in a worker thread.

    Parameters
    ----------
    source : FrameSource
        Where frames come from (camera, stream, file).
    analyzer : FrameAnalyzer
        Face tracker and scorers; the first scorer drives the physiological alarms.
    settings : MonitorSettings, optional
    alarm_settings : AlarmSettings, optional
    recorder : SessionRecorder, optional
        Receives every sample and alarm change.
    clock : Clock, optional
        Monotonic clock for the alarms (a fake one in tests).
    snapshots : SnapshotPolicy, optional
        Opt-in: stores the first face image at each pain / no-pain change of the first
        scorer.
    classifier : object with ``classify``, optional
        Sign-type classifier of the windows and the provisional type (e.g. a loaded
        :class:`~painsign.signal.SignTypeModel`); default
        :class:`~painsign.signal.NearestCentroidSignTypes`.
    """

    def __init__(self, source, analyzer: FrameAnalyzer, settings: MonitorSettings | None = None,
                 alarm_settings: AlarmSettings | None = None, recorder=None, clock=None,
                 snapshots=None, classifier=None):
        self.source = source
        self.analyzer = analyzer
        self.settings = settings or MonitorSettings()
        self.recorder = recorder
        self.snapshots = snapshots
        self.clock = clock or MonotonicClock()
        self.alarms = AlarmManager(self.clock, alarm_settings or AlarmSettings(),
                                   on_change=self._alarm_changed)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        fps = getattr(getattr(source, "info", None), "fps", 30.0) or 30.0
        self._classifier = NearestCentroidSignTypes() if classifier is None else classifier
        self._tracks = [_ScorerTrack(s, fps, self.settings, self._classifier)
                        for s in analyzer.scorers]
        self._alarm_log: deque[tuple[float, str, str, str]] = deque(maxlen=100)
        self._trend: list[tuple[float, float]] = []
        self._trend_bucket: list[float] = []
        self._trend_second = 0
        self._frame: np.ndarray | None = None
        self._face = False
        self._actions = dict.fromkeys(ACTIONS, np.nan)
        self._processed: deque[float] = deque(maxlen=2000)
        self._latency = np.nan
        self._elapsed = 0.0
        self._ended = False
        self._calibrate_requested = False
        self._advisory: str | None = None
        self._source_status = "starting"
        self.frames_processed = 0
        #: Capture-to-sample latency of recent frames (ms), for the bench and the status.
        self.latencies_ms: deque[float] = deque(maxlen=100_000)
        self.error: Exception | None = None

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the source and the worker thread."""
        self.source.start()
        self._thread = threading.Thread(target=self._run, name="painsign-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker and the source (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self.source.stop()

    @property
    def running(self) -> bool:
        """Whether the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def acknowledge(self) -> None:
        """Acknowledge every alarm (silences them; clears latched ones whose cause ended)."""
        with self._lock:
            self.alarms.acknowledge()

    def pause_audio(self, seconds: float | None = None) -> None:
        """Pause alarm sound (visuals continue; higher priority breaks through)."""
        with self._lock:
            self.alarms.pause_audio(seconds)

    def replay_duration(self) -> float | None:
        """Length of a replayed file in seconds; None for a live source."""
        info = getattr(self.source, "info", None)
        if getattr(self.source, "live", True) or info is None:
            return None
        return float(info.duration_s)

    def seek(self, t: float) -> None:
        """Jump a replayed file to ``t`` seconds; the signs restart there."""
        with self._lock:
            self.source.seek(t)
            self.analyzer.tracker.reset()
            self._tracks = [_ScorerTrack(tr.scorer, tr.stream.fps, self.settings,
                                         self._classifier)
                            for tr in self._tracks]
            self._elapsed = t

    def report_audio_problem(self, message: str) -> None:
        """Raise the technical alarm for an alarm sound that cannot be played."""
        logger.warning("alarm sound unavailable: %s", message)
        with self._lock:
            self.alarms.set_condition("audio_failure", True)

    def request_calibration(self) -> None:
        """Learn a new rest baseline from the next calm seconds of the face."""
        with self._lock:
            self._calibrate_requested = True

    # -- worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.source.read(timeout=0.2)
                with self._lock:
                    self._watch_source()
                    # Frames from a frozen or failing source are not trusted: the sign
                    # goes invalid ("-?-") instead of showing stale values.
                    if frame is not None and self.source.status not in TROUBLE:
                        self._process(frame)
                    elif self.source.status == "ended":
                        self._ended = True
                    self.alarms.update()
                if self._ended:
                    break
        except Exception as exc:  # the view shows it; nothing dies silently
            logger.exception("monitor worker failed")
            self.error = exc
            with self._lock:
                self.alarms.set_condition("inference_error", True)

    def _watch_source(self) -> None:
        status = self.source.status
        if status != self._source_status:
            logger.info("source %s: %s -> %s", self.source.describe(), self._source_status,
                        status)
            self._source_status = status
        self.alarms.set_condition("camera_lost", status in ("lost", "reconnecting", "failed"))
        self.alarms.set_condition("camera_frozen", status == "frozen")
        if self.recorder is not None:
            self.alarms.set_condition("recording_failure",
                                      not getattr(self.recorder, "healthy", True))

    def _process(self, frame) -> None:
        started = time.monotonic()
        if self._calibrate_requested:
            for s in self.analyzer.scorers:
                if isinstance(s, NfcsScorer):
                    s.recalibrate()
            self._calibrate_requested = False
        try:
            record, face = self.analyzer.process(frame.index, frame.t, frame.bgr)
        except Exception as exc:
            logger.warning("inference failed on frame %d: %s", frame.index, exc)
            self.alarms.set_condition("inference_error", True)
            return
        self.alarms.set_condition("inference_error", False)
        self.alarms.set_condition("face_not_seen", not record.face)
        self._face = record.face
        self._actions = record.actions
        self._elapsed = record.t
        self._frame = self._display_frame(frame.bgr, face)
        for k, track in enumerate(self._tracks):
            self._update_track(track, record, primary=k == 0, bgr=frame.bgr)
        done = time.monotonic()
        self._processed.append(done)
        captured = (self.source.started_at + frame.t) if self.source.live else started
        self._latency = 1000.0 * (done - captured)
        self.latencies_ms.append(self._latency)
        self.frames_processed += 1

    def _update_track(self, track: _ScorerTrack, record, primary: bool, bgr) -> None:
        name = track.scorer.name
        p_raw = record.p_raw[name]
        final = track.stream.push(record.t, p_raw)
        p_now = np.nan
        for sample in final:
            track.add(sample.t, sample.p_smooth, self.settings.span_s)
            if sample.t == record.t:
                p_now = sample.p_smooth
            for event in track.events.push(sample.t, sample.p_smooth):
                if primary and event.kind == "surge":
                    logger.info("surge of %s at %.1f s (%.2f)", name, event.t, event.value)
                    self.alarms.raise_event("pain_surge")
        for window in track.stream.new_windows():
            track.window = window
            track.provisional = None
            if primary:
                self._review(window, track.scorer.threshold)
        if track.window is None and record.t - track.provisional_at >= 1.0 and track.span:
            # Before the first full window, a provisional type over the data so far.
            span = np.array(track.span)
            if span[-1, 0] - span[0, 0] >= PROVISIONAL_MIN_S:
                track.provisional = whole_record_metrics(
                    span[:, 0], span[:, 1], track.scorer.threshold, self._classifier)
                track.provisional_at = record.t
        if record.face and np.isfinite(p_now):
            track.current = p_now
            track.last_valid_t = record.t
            if primary:
                above = p_now >= track.scorer.threshold
                self.alarms.set_condition("sustained_pain", above)
                if not above:
                    self.alarms.set_condition("pain_surge", False)
                self._add_trend(record.t, p_now)
                if self.snapshots is not None:
                    self.snapshots.update(record.t, p_now, lambda: _face_crop(bgr, record.box))
        elif primary:
            self.alarms.set_condition("sustained_pain", False)
        if self.recorder is not None:
            self.recorder.add_sample(record.t, record.face, name, p_raw,
                                     p_now if record.face else np.nan)

    def _review(self, window, threshold: float) -> None:
        """Advisory (not an alarm): the latest window of the first scorer needs review."""
        flag, reason = needs_review(window.mean, threshold, str(window.sign_type))
        advisory = reason if flag else None
        if advisory != self._advisory:
            logger.info("advisory: %s", advisory or "cleared")
            if self.recorder is not None:
                self.recorder.add_alarm(self._elapsed, "needs_review", "advisory",
                                        "active" if flag else "cleared", reason)
            self._advisory = advisory

    def _add_trend(self, t: float, p: float) -> None:
        second = int(t)
        if second != self._trend_second and self._trend_bucket:
            self._trend.append((float(self._trend_second), float(np.mean(self._trend_bucket))))
            self._trend_bucket = []
        self._trend_second = second
        self._trend_bucket.append(p)

    def _display_frame(self, bgr: np.ndarray, face) -> np.ndarray:
        h, w = bgr.shape[:2]
        scale = min(1.0, DISPLAY_WIDTH / w)
        small = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        colour = GREEN if face.found else RED
        if face.found:
            x1, y1, x2, y2 = (round(float(v) * scale) for v in face.box)
            cv2.rectangle(small, (x1, y1), (x2, y2), colour, 2, cv2.LINE_AA)
            centre, axes = ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2 + 8,
                                                                 (y2 - y1) // 2 + 14)
        else:
            centre, axes = (sw // 2, sh // 2), (sw // 5, sh // 3)
        cv2.ellipse(small, centre, axes, 0, 0, 360, colour, 2, cv2.LINE_AA)
        return small

    def _alarm_changed(self, entry) -> None:
        if entry.priority is not None:
            self._alarm_log.append((self._elapsed, entry.kind, str(entry.state),
                                    entry.priority.name))
        level = logging.WARNING if entry.state in ("active", "latched") else logging.INFO
        logger.log(level, "alarm %s %s (%s)%s", entry.kind, entry.state,
                       getattr(entry.priority, "name", entry.priority),
                       f": {entry.note}" if entry.note else "")
        if self.recorder is not None:
            self.recorder.add_alarm(self._elapsed, entry.kind,
                                    getattr(entry.priority, "name", str(entry.priority)).lower(),
                                    entry.state, entry.note)

    # -- view ------------------------------------------------------------------------------

    def snapshot(self) -> MonitorState:
        """Return a consistent copy of everything the view shows."""
        with self._lock:
            self.alarms.update()
            views = []
            for track in self._tracks:
                s = track.scorer
                fresh = self._elapsed - track.last_valid_t <= self.settings.fresh_s
                span = np.array(track.span, dtype=np.float64).reshape(-1, 2)
                cross = np.array(track.crossings, dtype=np.float64).reshape(-1, 2)
                w = track.window or track.provisional
                views.append(ScorerView(
                    name=s.name, display_name=getattr(s, "display_name", s.name),
                    threshold=s.threshold, t=span[:, 0], p=span[:, 1],
                    crossings_t=cross[:, 0], crossings_p=cross[:, 1],
                    current=float(track.current) if fresh and self._face else None,
                    sign_type=str(w.sign_type) if w is not None else None,
                    action=str(w.action) if w is not None else None,
                    provisional=track.window is None and w is not None,
                ))
            trend = np.array(self._trend, dtype=np.float64).reshape(-1, 2)
            nfcs = [s for s in self.analyzer.scorers if isinstance(s, NfcsScorer)]
            src_stats = self.source.stats
            now = time.monotonic()
            recent = [t for t in self._processed if now - t <= 2.0]
            stats = MonitorStats(
                input_fps=float(getattr(src_stats, "input_fps", 0.0)),
                processed_fps=len(recent) / 2.0 if len(recent) > 1 else 0.0,
                latency_ms=float(self._latency),
                dropped=int(getattr(src_stats, "frames_dropped", 0)),
                provider=self.analyzer.tracker.detector.provider,
                source=self.source.describe(),
                source_status=self.source.status,
                models=", ".join(getattr(s, "display_name", s.name)
                                 for s in self.analyzer.scorers),
            )
            return MonitorState(
                bed=self.settings.bed,
                elapsed_s=self._elapsed,
                frame=None if self._frame is None else self._frame.copy(),
                face=self._face,
                scorers=views,
                trend_t=trend[:, 0],
                trend_p=trend[:, 1],
                actions=dict(self._actions),
                calibrated=bool(nfcs and nfcs[0].calibrated),
                calibrating=bool(nfcs and nfcs[0].calibrating),
                alarms=self.alarms.active_alarms(),
                alarm_log=list(self._alarm_log),
                clock_now=self.clock.now(),
                sounding=self.alarms.sounding(),
                visual=self.alarms.visual(),
                pause_remaining_s=self.alarms.audio_paused_remaining(),
                stats=stats,
                session_id=getattr(self.recorder, "session_id", None),
                db_path=str(getattr(self.recorder, "path", "")) or None,
                ended=self._ended,
                advisory=self._advisory,
            )

    def settings_dict(self) -> dict:
        """The settings as stored with the session."""
        return asdict(self.settings)
