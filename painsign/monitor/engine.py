"""The live monitor without a screen: source -> faces -> signs -> alarms -> recording.

One worker thread reads frames from a :class:`~painsign.capture.FrameSource`, runs the face
tracker and the scorers **without holding the state lock**, then publishes the results
under the lock: each scorer's live sign (:mod:`painsign.signal.live_tracker`: measured
samples only, never interpolated), surges, sustained pain and faults as alarms, and every result
to the recorder (whose own thread writes SQLite). A view (the Qt dashboard, or the
headless log) polls :meth:`MonitorEngine.snapshot`; it never runs inference or touches
the disk, and it never waits for inference.

Session time (``MonitorState.elapsed_s``, the ``t`` of stored samples and alarms) is
seconds since the session began and never goes back:

* live sources: the monotonic clock since the source started, so it keeps running
  during an outage and outages have their length in the log and the database;
* replay: the media time within a segment. A seek or :meth:`MonitorEngine.restart`
  starts a new segment just after the current session time (media time of the segment's
  start stored in the ``segments`` table), and resets the signs, plot, trend and gaps.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

from painsign.alarms import AlarmId, AlarmManager, AlarmSettings, Clock, MonotonicClock
from painsign.analysis.frames import FrameAnalyzer
from painsign.capture import TROUBLE
from painsign.monitor.calibration import calibrate_all
from painsign.monitor.face_snapshots import FaceSnapshots
from painsign.monitor.frame_work import FrameWork
from painsign.monitor.gaps import Gaps
from painsign.monitor.inputs import (
    OUTAGE_INPUT,
    classify_input,
    clock_text,
    log_row,
)
from painsign.monitor.ports import Recorder, Source
from painsign.monitor.scorer_faults import ScorerFaults
from painsign.monitor.snapshot import build_state
from painsign.monitor.state import AlarmLogRow, MonitorState, ScorerLabel
from painsign.scoring.base import display_name
from painsign.signal import NearestCentroidSignTypes, SignTypeClassifier
from painsign.signal.live_tracker import PROVISIONAL_MIN_S, LiveSignTracker
from painsign.signal.review import needs_review
from painsign.vision.draw import DISPLAY_WIDTH, display_frame

logger = logging.getLogger("painsign.monitor")

#: A replay with no new frame for this many seconds (not paused, not ended) is stalled:
#: its session time runs on the monotonic clock until frames come again. Longer than a
#: frame's inference on a slow machine, so a replay that is merely processed slower than
#: real time keeps its media time.
REPLAY_STALL_S = 1.0

__all__ = ["DISPLAY_WIDTH", "PROVISIONAL_MIN_S", "MonitorEngine", "MonitorSettings"]


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
        How long the last measured value may still be shown while the next frame is
        being processed (the value is blanked at once when the face or input is lost).
    """

    bed: str = "bed 1"
    span_s: float = 60.0
    window_s: float = 20.0
    step_s: float = 1.0
    surge_rise: float = 0.3
    surge_within_s: float = 3.0
    fresh_s: float = 1.0


class MonitorEngine:
    """Run the pain-sign pipeline on a live or replayed source in a worker thread.

    Parameters
    ----------
    source : Source
        Where frames come from (camera, stream, file; a file is a
        :class:`~painsign.monitor.ports.Replay`).
    analyzer : FrameAnalyzer
        Face tracker and scorers; the first scorer drives the physiological alarms. Slow
        scorers should be wrapped in :class:`~painsign.scoring.background.BackgroundScorer`
        (``painsign monitor --model`` does).
    settings : MonitorSettings, optional
    alarm_settings : AlarmSettings, optional
    recorder : Recorder, optional
        Receives every sample, alarm change and replay segment (a
        :class:`~painsign.storage.recorder.SessionRecorder`); one created with snapshots
        on also gets the first face image of each pain / no-pain state of the first scorer
        (:mod:`painsign.signal.snapshot_rule`).
    clock : Clock, optional
        Monotonic clock for the alarms (a fake one in tests).
    classifier : SignTypeClassifier, optional
        Sign-type classifier of the windows and the provisional type (e.g. a loaded
        :class:`~painsign.signal.SignTypeModel`); default
        :class:`~painsign.signal.NearestCentroidSignTypes`.
    demo_note : str, optional
        Shown on screen (``MonitorState.demo_note``), e.g. that alarm delays are shortened.
    """

    def __init__(self, source: Source, analyzer: FrameAnalyzer,
                 settings: MonitorSettings | None = None,
                 alarm_settings: AlarmSettings | None = None, recorder: Recorder | None = None,
                 clock: Clock | None = None,
                 classifier: SignTypeClassifier | None = None,
                 demo_note: str | None = None) -> None:
        self.source = source
        self.analyzer = analyzer
        self.settings = settings or MonitorSettings()
        self.recorder = recorder
        self.demo_note = demo_note
        self.clock = clock or MonotonicClock()
        self.alarms = AlarmManager(self.clock, alarm_settings or AlarmSettings(),
                                   on_change=self._alarm_changed)
        self._faults = ScorerFaults(self.alarms)  # per-scorer failures: alarm, reason, log
        self._lock = threading.RLock()  # the published state; never held during inference
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._fps = getattr(getattr(source, "info", None), "fps", 30.0) or 30.0
        self._classifier = NearestCentroidSignTypes() if classifier is None else classifier
        self._tracks = self._new_tracks()
        self._snapshots = self._new_snapshots()
        self._alarm_log: deque[tuple[float, str, str, str]] = deque(maxlen=100)
        self._alarm_rows: deque[AlarmLogRow] = deque(maxlen=200)
        self._raised_at: dict[str, float] = {}
        self._gaps = Gaps()
        self._frame: np.ndarray | None = None
        self._face = False
        self._actions: dict[str, float] = {}  # the last frame's detail columns
        self._processed: deque[float] = deque(maxlen=2000)
        self._latency = np.nan
        self._elapsed = 0.0
        self._t0: float | None = None
        self._ended = False
        self._calibrate_requested = False
        self._calibration_note = ""
        self._advisory: str | None = None
        self._source_status = "starting"
        self._frames_seen = False
        self._input = "starting"
        self._input_since = 0.0
        self._last_face_t = 0.0
        self._last_frame_mono: float | None = None  # when the last frame was published
        self._segment = 0
        self._seg_t0 = 0.0
        self._seg_media0: float | None = 0.0
        self._media_t: float | None = None if source.live else 0.0
        self._seek_request: tuple[float, str] | None = None
        self._audio_problem: str | None = None
        self._damage: str | None = None  # a replayed file found damaged at its end
        self.frames_processed = 0
        #: Capture-to-sample latency of recent frames (ms), for the bench and the status.
        self.latencies_ms: deque[float] = deque(maxlen=100_000)
        self.error: Exception | None = None

    def _new_tracks(self) -> list[LiveSignTracker]:
        """One live tracker per scorer, in the analyzer's order."""
        st = self.settings
        return [LiveSignTracker(s.threshold, self._fps, span_s=st.span_s, window_s=st.window_s,
                                step_s=st.step_s, surge_rise=st.surge_rise,
                                surge_within_s=st.surge_within_s, classifier=self._classifier)
                for s in self.analyzer.scorers]

    def _new_snapshots(self) -> FaceSnapshots | None:
        if self.recorder is None or not getattr(self.recorder, "snapshots_enabled", False):
            return None
        first = self.analyzer.scorers[0]
        return FaceSnapshots(first.threshold, first.name, self.recorder)

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the source and the worker thread."""
        self.source.start()
        self._t0 = self.source.started_at
        self._started = True
        self._spawn()

    def _spawn(self) -> None:
        self._thread = threading.Thread(target=self._run, name="painsign-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker, the source and any background scorer (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self.source.stop()
        for s in self.analyzer.scorers:
            close = getattr(s, "close", None)
            if callable(close) and hasattr(s, "inner"):
                close(timeout=1.0)

    @property
    def running(self) -> bool:
        """Whether the worker thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def acknowledge(self) -> None:
        """Acknowledge every alarm (silences them; clears latched ones whose cause ended)."""
        with self._lock:
            self.alarms.acknowledge()

    def pause_audio(self, seconds: float | None = None) -> bool:
        """Pause alarm sound (visuals continue; higher priority breaks through).

        Pressing it while a pause runs changes nothing (it does not restart the 2 min);
        end a pause with :meth:`cancel_pause`. Returns whether a pause started.
        """
        with self._lock:
            return self.alarms.pause_audio(seconds)

    def cancel_pause(self) -> bool:
        """End the audio pause now (logged); False if audio was not paused."""
        with self._lock:
            return self.alarms.resume_audio()

    def toggle_pause_audio(self) -> bool:
        """One button: start a pause, or cancel the running one; return whether paused now."""
        with self._lock:
            if self.alarms.audio_paused():
                self.alarms.resume_audio()
                return False
            return self.alarms.pause_audio()

    def replay_duration(self) -> float | None:
        """Length of a replayed file in seconds; None for a live source."""
        info = getattr(self.source, "info", None)
        if getattr(self.source, "live", True) or info is None:
            return None
        return float(info.duration_s)

    @property
    def replay_damage(self) -> str | None:
        """How the replayed file was damaged, once its end was reached (skipped frames,
        or fewer frames than announced); None otherwise and for a live source."""
        with self._lock:
            return self._damage

    @property
    def replay_ended_early(self) -> bool:
        """Whether the replayed file ended before the frames its container announces."""
        return bool(self._damage) and bool(getattr(self.source, "ended_early", False))

    @property
    def is_replay(self) -> bool:
        """Whether the source is a replayed file (it can pause, change speed and seek)."""
        return not self.source.live

    @property
    def replay_speed(self) -> float:
        """Replay speed (1.0: real time); 1.0 for a live source."""
        return float(getattr(self.source, "speed", 1.0) or 1.0)

    def set_replay_speed(self, speed: float) -> None:
        """Play a replayed file ``speed`` times faster than real time (> 0)."""
        self._replay().set_speed(float(speed))

    def pause_replay(self) -> None:
        """Pause a replayed file (session time stops; no stall is raised)."""
        self._replay().pause()

    def resume_replay(self) -> None:
        """Resume a paused replay."""
        self._replay().resume()

    def _replay(self):
        if self.source.live:
            raise ValueError(f"{self.source.describe()} is live: it is not a replay")
        return self.source

    @property
    def primary_scorer(self) -> ScorerLabel:
        """The first scorer (the one that drives the pain alarms), as a view shows it."""
        first = self.analyzer.scorers[0]
        return ScorerLabel(first.name, display_name(first), float(first.threshold))

    def scorer_failure_line(self) -> str | None:
        """The scorers that failed during the session, in one line ("scorer 'mine' failed
        on 312 frames (output NaN)"); None when every scorer scored every frame it got."""
        with self._lock:
            return self._faults.summary()

    def seek(self, t: float, reason: str = "seek") -> None:
        """Jump a replayed file to ``t`` seconds (media time): a new segment starts.

        The worker performs it before reading its next frame; repeated calls (a slider
        being dragged) collapse into the last one. The signs, plot, trend and gaps
        restart; session time goes on from where it was (never backwards). After the
        end of the file this plays again from ``t``.
        """
        if getattr(self.source, "live", True):
            raise ValueError(f"{self.source.describe()} is live: only a replay can seek")
        with self._lock:
            self._seek_request = (float(t), reason)
            if self._started and not self._stop.is_set() and not self.running:
                self._spawn()

    def restart(self) -> None:
        """Replay the file again from the start, as a new segment."""
        self.seek(0.0, reason="restart")

    def report_audio_problem(self, message: str) -> None:
        """Raise the technical alarm "Alarm sound unavailable" (idempotent)."""
        with self._lock:
            if self._audio_problem is None:
                logger.warning("alarm sound unavailable: %s", message)
            self._audio_problem = message
            self.alarms.set_condition(AlarmId.AUDIO_FAILURE, True)

    def request_calibration(self) -> None:
        """Learn a new rest baseline from the next calm seconds of the face, in every scorer
        that has one (:class:`~painsign.scoring.base.Calibratable`)."""
        with self._lock:
            self._calibrate_requested = True

    # -- worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self._lock:
                    request, self._seek_request = self._seek_request, None
                if request is not None:
                    self._do_seek(*request)
                frame = self.source.read(timeout=0.2)
                result = None
                if frame is not None and self.source.status not in TROUBLE:
                    result = self._analyse(frame)  # inference: outside the lock
                with self._lock:
                    self._watch_source()
                    if getattr(self.source, "paused", False):
                        self._last_frame_mono = time.monotonic()  # a pause is no stall
                    if result is not None and self._seek_request is None:
                        self._publish(result)
                    elif self.source.status == "ended":
                        if not self._ended:
                            self._note_replay_end()
                        self._ended = True
                    self._update_input()
                    self.alarms.update()
                    if self._ended and self._seek_request is None:
                        break  # a later seek() or restart() starts a new worker
        except Exception as exc:  # the view shows it; nothing dies silently
            logger.exception("monitor worker failed")
            self.error = exc
            with self._lock:
                self.alarms.set_condition(AlarmId.INFERENCE_ERROR, True)

    def _session_now(self) -> float:
        """Session time now: monotonic for a live source; for a replay the media time,
        running on the monotonic clock while the replay is stalled (alarm rows logged
        during an outage keep their real times)."""
        if self.source.live and self._t0 is not None:
            return max(self._elapsed, time.monotonic() - self._t0)
        return self._elapsed + self._replay_stall_s()

    def _replay_stall_s(self) -> float:
        """Seconds since the last frame of a replay that has waited longer than
        :data:`REPLAY_STALL_S` for one (not paused, not ended); else 0."""
        if (self.source.live or self._last_frame_mono is None or self._ended
                or getattr(self.source, "paused", False)):
            return 0.0
        waited = time.monotonic() - self._last_frame_mono
        return waited if waited > REPLAY_STALL_S else 0.0

    def _frame_time(self, frame) -> float:
        if self.source.live:
            return max(float(frame.t), self._elapsed)
        stall = self._replay_stall_s()
        if stall:
            # Frames again after a stall: a new segment at the session time the clock
            # reached, so samples stay after the alarms logged during the stall.
            self._segment += 1
            self._seg_t0, self._seg_media0 = self._elapsed + stall, float(frame.t)
            logger.info("segment %d: replay stalled for %.1f s (session t %.2f s)",
                        self._segment, stall, self._seg_t0)
            if self.recorder is not None:
                self.recorder.add_segment(self._segment, self._seg_t0, float(frame.t),
                                          "stall")
        if self._seg_media0 is None:
            self._seg_media0 = float(frame.t)
        return max(self._seg_t0 + float(frame.t) - self._seg_media0, self._elapsed)

    def _analyse(self, frame) -> FrameWork:
        started = time.monotonic()
        if self._calibrate_requested:
            self._calibrate_requested = False
            self._calibration_note = calibrate_all(self.analyzer.scorers, self._face)
            if self._calibration_note:
                logger.info("%s", self._calibration_note)
        result = FrameWork(frame, self._frame_time(frame), started=started)
        try:
            result.record, result.face = self.analyzer.process(frame.index, result.t,
                                                               frame.bgr)
            result.display = display_frame(frame.bgr, result.face)
        except Exception as exc:
            logger.warning("inference failed on frame %d: %s", frame.index, exc)
            result.error = exc
        result.done = time.monotonic()
        return result

    def _watch_source(self) -> None:
        status = self.source.status
        if status != self._source_status:
            logger.info("source %s: %s -> %s", self.source.describe(), self._source_status,
                        status)
            self._source_status = status
        if self.source.live:
            self._elapsed = self._session_now()
        self.alarms.set_condition(AlarmId.CAMERA_LOST, status in ("lost", "reconnecting", "failed"))
        self.alarms.set_condition(AlarmId.CAMERA_FROZEN, status == "frozen")
        if self.recorder is not None:
            self.alarms.set_condition(AlarmId.RECORDING_FAILURE,
                                      not getattr(self.recorder, "healthy", True))

    def _publish(self, result: FrameWork) -> None:
        """Apply one analysed frame to the shown state, the alarms and the recorder."""
        self._frames_seen = True
        self._last_frame_mono = time.monotonic()
        if result.error is not None:
            self.alarms.set_condition(AlarmId.INFERENCE_ERROR, True)
            return
        record, t = result.record, result.t
        self.alarms.set_condition(AlarmId.INFERENCE_ERROR, False)
        self.alarms.set_condition(AlarmId.FACE_NOT_SEEN, not record.face)
        self._face = record.face
        self._actions = record.actions
        self._elapsed = t
        self._media_t = None if self.source.live else float(result.frame.t)
        self._frame = result.display
        if record.face:
            self._last_face_t = t
            self._gaps.measured(t)
        else:
            self._gaps.missing(t)
        for k, (scorer, track) in enumerate(zip(self.analyzer.scorers, self._tracks,
                                                strict=True)):
            self._update_track(scorer, track, record, t, primary=k == 0)
        if self._snapshots is not None:
            self._snapshots.update(t, self._tracks[0].current, result.frame.bgr, record.box)
        self._processed.append(result.done)
        captured = ((self.source.started_at + result.frame.t) if self.source.live
                    else result.started)
        self._latency = 1000.0 * (result.done - captured)
        self.latencies_ms.append(self._latency)
        self.frames_processed += 1

    def _update_track(self, scorer, track: LiveSignTracker, record, t: float,
                      primary: bool) -> None:
        name = scorer.name
        p_raw = record.p_raw[name]
        p, events, windows = track.push(t, p_raw, record.face)
        self._faults.update(name, t, record.failed.get(name),
                            scored=record.face and not math.isnan(p_raw))
        if primary:
            for event in events:
                if event.kind == "surge":
                    logger.info("surge of %s at %.1f s (%.2f)", name, event.t, event.value)
                    self.alarms.raise_event(AlarmId.PAIN_SURGE)
            for window in windows:
                self._review(window, track.threshold)
            # Alarm conditions are judged on measured values only: no face, no judgement
            # (the condition ends; a latched alarm stays latched).
            self.alarms.set_condition(AlarmId.SUSTAINED_PAIN, track.above)
            if not track.above:
                self.alarms.set_condition(AlarmId.PAIN_SURGE, False)
        if self.recorder is not None:
            self.recorder.add_sample(t, record.face, name, p_raw, p)

    def _update_input(self) -> None:
        """Classify the input; an outage breaks the curves and opens a gap."""
        paused = bool(getattr(self.source, "paused", False))
        state = classify_input(self.source.status, self._frames_seen, self._face, paused)
        if state == self._input:
            return
        now = self._session_now()
        previous, self._input = self._input, state
        self._input_since = self._last_face_t if state == "no_face" else now
        logger.info("input %s -> %s", previous, state)
        if state in OUTAGE_INPUT and previous not in OUTAGE_INPUT:
            for track in self._tracks:
                track.gap(now)
            self._gaps.missing(now)
            self._face = False
            self.alarms.set_condition(AlarmId.SUSTAINED_PAIN, False)
            self.alarms.set_condition(AlarmId.PAIN_SURGE, False)

    def _note_replay_end(self) -> None:
        """At the end of a replay: say once, at WARNING, if the file was damaged."""
        damage = getattr(self.source, "damage", None)
        text = damage() if callable(damage) else None
        if text is not None and text != self._damage:
            logger.warning("%s %s: %s", self.source.describe(),
                           "ended early" if self.source.ended_early else "is damaged", text)
        self._damage = text

    def _do_seek(self, target: float, reason: str) -> None:
        """In the worker: move the file, start a new segment, reset signs and plots."""
        self.source.seek(target)
        self.analyzer.tracker.reset()
        with self._lock:
            now = self._session_now()
            self._last_frame_mono = time.monotonic()
            self._segment += 1
            self._seg_t0 = now + 1.0 / self._fps
            self._seg_media0 = None
            self._elapsed = self._seg_t0
            self._media_t = max(0.0, target)
            self._tracks = self._new_tracks()
            self._gaps = Gaps()
            self._ended = False
            self._face = False
            self._frames_seen = False
            self._input = "starting"
            self._input_since = self._seg_t0
            self.alarms.set_condition(AlarmId.SUSTAINED_PAIN, False)
            self.alarms.set_condition(AlarmId.PAIN_SURGE, False)
            text = (f"Replay restarted from {clock_text(target)}" if reason == "restart"
                    else f"Replay moved to {clock_text(target)}")
            self._alarm_rows.append(AlarmLogRow(self._seg_t0, "segment", "Replay", None,
                                                "seek", text))
            logger.info("segment %d: %s (session t %.2f s)", self._segment, text, self._seg_t0)
            if self.recorder is not None:
                add = getattr(self.recorder, "add_segment", None)
                if add is not None:
                    add(self._segment, self._seg_t0, target, reason)

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

    def _alarm_changed(self, entry) -> None:
        t = self._session_now()
        row = log_row(entry, t, self._raised_at)
        if row is not None:
            self._alarm_rows.append(row)
            self._alarm_log.append((t, row.name, row.change, (row.priority or "").upper()))
        level = logging.WARNING if entry.state in ("active", "latched") else logging.INFO
        logger.log(level, "alarm %s %s (%s)%s", entry.kind, entry.state,
                   getattr(entry.priority, "name", entry.priority),
                   f": {entry.note}" if entry.note else "")
        if self.recorder is not None:
            self.recorder.add_alarm(t, entry.kind,
                                    getattr(entry.priority, "name", str(entry.priority)).lower(),
                                    entry.state, entry.note)

    # -- view ------------------------------------------------------------------------------

    def snapshot(self) -> MonitorState:
        """Return a consistent copy of everything the view shows (never waits for
        inference: the worker holds the lock only to publish a result)."""
        with self._lock:
            self._update_input()
            self.alarms.update()
            return build_state(self)

    def settings_dict(self) -> dict:
        """The settings as stored with the session."""
        return asdict(self.settings)
