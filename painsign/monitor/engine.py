"""The live monitor without a screen: source -> faces -> signs -> alarms -> recording.

One worker thread reads frames from a :class:`~painsign.capture.FrameSource`, runs the face
tracker and the scorers **without holding the state lock**, then publishes the results
under the lock: each scorer's live sign (:mod:`painsign.signal.live_tracker`: measured
samples only, never interpolated), surges, sustained pain and faults as alarms, and every
result to the recorder (whose own thread writes SQLite). A view (the Qt dashboard, or the
headless log) polls :meth:`MonitorEngine.snapshot`; it never runs inference or touches
the disk, and it never waits for inference.

Session time (seconds since the session began, never going back; replay segments) is
kept by :class:`~painsign.monitor.session_clock.SessionClock`. A seek or
:meth:`MonitorEngine.restart` starts a new segment and resets the signs, plot, trend and
gaps.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from dataclasses import asdict
from typing import cast

import numpy as np

from painsign.alarms import AlarmId, AlarmManager, AlarmSettings, Clock, MonotonicClock
from painsign.analysis.frames import FrameAnalyzer
from painsign.capture import TROUBLE
from painsign.monitor.alarm_controls import AlarmControls
from painsign.monitor.alarm_journal import AlarmJournal
from painsign.monitor.calibration import calibrate_all
from painsign.monitor.face_snapshots import FaceSnapshots
from painsign.monitor.frame_work import FrameWork
from painsign.monitor.gaps import Gaps
from painsign.monitor.inputs import (
    OUTAGE_INPUT,
    classify_input,
    clock_text,
)
from painsign.monitor.ports import AlarmSink, Recorder, Replay, Source
from painsign.monitor.replay_controls import ReplayControls
from painsign.monitor.scorer_faults import ScorerFaults
from painsign.monitor.session_clock import SessionClock
from painsign.monitor.settings import MonitorSettings
from painsign.monitor.snapshot import build_state
from painsign.monitor.state import AlarmLogRow, MonitorState, ScorerLabel
from painsign.scoring.base import display_name
from painsign.signal import NearestCentroidSignTypes, SignTypeClassifier
from painsign.signal.live_tracker import PROVISIONAL_MIN_S, LiveSignTracker
from painsign.vision.draw import DISPLAY_WIDTH, display_frame

logger = logging.getLogger("painsign.monitor")

__all__ = ["DISPLAY_WIDTH", "PROVISIONAL_MIN_S", "MonitorEngine", "MonitorSettings"]


class MonitorEngine(AlarmControls, ReplayControls):
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

    def __init__(
        self,
        source: Source,
        analyzer: FrameAnalyzer,
        settings: MonitorSettings | None = None,
        alarm_settings: AlarmSettings | None = None,
        recorder: Recorder | None = None,
        clock: Clock | None = None,
        classifier: SignTypeClassifier | None = None,
        demo_note: str | None = None,
    ) -> None:
        self.source = source
        self.analyzer = analyzer
        self.settings = settings or MonitorSettings()
        self.recorder = recorder
        self.demo_note = demo_note
        self.clock = clock or MonotonicClock()
        self._fps = getattr(getattr(source, "info", None), "fps", 30.0) or 30.0
        self._clock = SessionClock(source, self._fps, recorder)  # session time, segments
        self._journal = AlarmJournal()
        self.alarms = AlarmManager(
            self.clock, alarm_settings or AlarmSettings(), on_change=self._alarm_changed
        )
        self._faults = ScorerFaults(self.alarms)  # per-scorer failures: alarm, reason, log
        self._lock = threading.RLock()  # the published state; never held during inference
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._classifier = NearestCentroidSignTypes() if classifier is None else classifier
        self._tracks = self._new_tracks()
        self._snapshots = self._new_snapshots()
        self._gaps = Gaps()
        self._frame: np.ndarray | None = None
        self._face = False
        self._actions: dict[str, float] = {}  # the last frame's detail columns
        self._processed: deque[float] = deque(maxlen=2000)
        self._latency = np.nan
        self._calibrate_requested = False
        self._calibration_note = ""
        self._source_status = "starting"
        self._frames_seen = False
        self._input = "starting"
        self._input_since = 0.0
        self._last_face_t = 0.0
        self._seek_request: tuple[float, str] | None = None
        self._audio_problem: str | None = None
        self._damage: str | None = None  # a replayed file found damaged at its end
        self.frames_processed = 0
        #: Capture-to-sample latency of recent frames (ms), for the bench and the status.
        self.latencies_ms: deque[float] = deque(maxlen=100_000)
        self.error: Exception | None = None
        #: Told of every alarm change after the journal (the central-station publisher).
        self.sinks: list[AlarmSink] = []

    def _new_tracks(self) -> list[LiveSignTracker]:
        """One live tracker per scorer, in the analyzer's order."""
        st = self.settings
        return [
            LiveSignTracker(
                s.threshold,
                self._fps,
                span_s=st.span_s,
                window_s=st.window_s,
                step_s=st.step_s,
                surge_rise=st.surge_rise,
                surge_within_s=st.surge_within_s,
                classifier=self._classifier,
            )
            for s in self.analyzer.scorers
        ]

    def _new_snapshots(self) -> FaceSnapshots | None:
        if self.recorder is None or not getattr(self.recorder, "snapshots_enabled", False):
            return None
        first = self.analyzer.scorers[0]
        return FaceSnapshots(first.threshold, first.name, self.recorder)

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the source and the worker thread."""
        self.source.start()
        self._clock.started_at = self.source.started_at
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
                    self._clock.tick()
                    if result is not None and self._seek_request is None:
                        self._publish(result)
                    elif self.source.status == "ended":
                        if not self._clock.ended:
                            self._note_replay_end()
                        self._clock.ended = True
                    self._update_input()
                    self.alarms.update()
                    if self._clock.ended and self._seek_request is None:
                        break  # a later seek() or restart() starts a new worker
        except Exception as exc:  # the view shows it; nothing dies silently
            logger.exception("monitor worker failed")
            self.error = exc
            with self._lock:
                self.alarms.set_condition(AlarmId.INFERENCE_ERROR, True)

    def _analyse(self, frame) -> FrameWork:
        started = time.monotonic()
        if self._calibrate_requested:
            self._calibrate_requested = False
            self._calibration_note = calibrate_all(self.analyzer.scorers, self._face)
            if self._calibration_note:
                logger.info("%s", self._calibration_note)
        result = FrameWork(frame, self._clock.frame_time(float(frame.t)), started=started)
        try:
            result.record, result.face = self.analyzer.process(frame.index, result.t, frame.bgr)
            result.display = display_frame(frame.bgr, result.face)
        except Exception as exc:
            logger.warning("inference failed on frame %d: %s", frame.index, exc)
            result.error = exc
        result.done = time.monotonic()
        return result

    def _watch_source(self) -> None:
        status = self.source.status
        if status != self._source_status:
            logger.info("source %s: %s -> %s", self.source.describe(), self._source_status, status)
            self._source_status = status
        self.alarms.set_condition(AlarmId.CAMERA_LOST, status in ("lost", "reconnecting", "failed"))
        self.alarms.set_condition(AlarmId.CAMERA_FROZEN, status == "frozen")
        if self.recorder is not None:
            self.alarms.set_condition(
                AlarmId.RECORDING_FAILURE, not getattr(self.recorder, "healthy", True)
            )

    def _publish(self, result: FrameWork) -> None:
        """Apply one analysed frame to the shown state, the alarms and the recorder."""
        self._frames_seen = True
        self._clock.arrived()
        if result.error is not None:
            self.alarms.set_condition(AlarmId.INFERENCE_ERROR, True)
            return
        record, t = result.record, result.t
        assert record is not None  # analysed without error
        self.alarms.set_condition(AlarmId.INFERENCE_ERROR, False)
        self.alarms.set_condition(AlarmId.FACE_NOT_SEEN, not record.face)
        self._face = record.face
        self._actions = record.actions
        self._clock.published(t, float(result.frame.t))
        self._frame = result.display
        if record.face:
            self._last_face_t = t
            self._gaps.measured(t)
        else:
            self._gaps.missing(t)
        for k, (scorer, track) in enumerate(zip(self.analyzer.scorers, self._tracks, strict=True)):
            self._update_track(scorer, track, record, t, primary=k == 0)
        if self._snapshots is not None:
            self._snapshots.update(t, self._tracks[0].current, result.frame.bgr, record.box)
        self._processed.append(result.done)
        started_at = self.source.started_at
        captured = (
            (started_at + result.frame.t)
            if self.source.live and started_at is not None
            else result.started
        )
        self._latency = 1000.0 * (result.done - captured)
        self.latencies_ms.append(self._latency)
        self.frames_processed += 1

    def _update_track(
        self, scorer, track: LiveSignTracker, record, t: float, primary: bool
    ) -> None:
        name = scorer.name
        p_raw = record.p_raw[name]
        p, events, windows = track.push(t, p_raw, record.face)
        self._faults.update(
            name, t, record.failed.get(name), scored=record.face and not math.isnan(p_raw)
        )
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
        now = self._clock.now()
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
            logger.warning(
                "%s %s: %s",
                self.source.describe(),
                "ended early" if getattr(self.source, "ended_early", False) else "is damaged",
                text,
            )
        self._damage = text

    def _do_seek(self, target: float, reason: str) -> None:
        """In the worker: move the file, start a new segment, reset signs and plots."""
        cast(Replay, self.source).seek(target)  # seeks are asked of replays only
        self.analyzer.tracker.reset()
        with self._lock:
            t0 = self._clock.seeked(target, reason)
            self._tracks = self._new_tracks()
            self._gaps = Gaps()
            self._face = False
            self._frames_seen = False
            self._input = "starting"
            self._input_since = t0
            self.alarms.set_condition(AlarmId.SUSTAINED_PAIN, False)
            self.alarms.set_condition(AlarmId.PAIN_SURGE, False)
            text = (
                f"Replay restarted from {clock_text(target)}"
                if reason == "restart"
                else f"Replay moved to {clock_text(target)}"
            )
            self._journal.rows.append(AlarmLogRow(t0, "segment", "Replay", None, "seek", text))
            logger.info("segment %d: %s (session t %.2f s)", self._clock.segment, text, t0)

    def _alarm_changed(self, entry) -> None:
        t = self._clock.now()
        self._journal.alarm_changed(entry, t, self.recorder)
        for sink in self.sinks:
            try:
                sink.alarm_changed(entry, t)
            except Exception:  # a sink's fault never stops the bedside's own alarms
                logger.exception("alarm sink %r failed", sink)

    def set_technical_condition(self, kind_id: str, active: bool, reason: str = "") -> None:
        """Set or clear the condition of a technical alarm raised from outside the worker
        (e.g. "Central link lost" from the publisher's thread); ``reason`` says why in its
        log notes ("broker refused: not authorized")."""
        with self._lock:
            self.alarms.set_condition(kind_id, active, reason)

    def _review(self, window, threshold: float) -> None:
        """Advisory (not an alarm): the latest window of the first scorer needs review."""
        self._journal.review(window, threshold, self._clock.elapsed, self.recorder)

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
