"""The bedside dashboard window: polls the engine on a timer and redraws from its snapshot."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from painsign.gui import theme
from painsign.gui.sound import AlarmSound
from painsign.gui.widgets import (
    ActionBars,
    AlarmBanner,
    BigValue,
    SignPlot,
    TrendPlot,
    VideoPane,
)
from painsign.monitor.state import MonitorState

DISCLAIMER = "Research software: the NFCS score is a transparent proxy, not a validated " \
             "clinical tool."
POLL_MS = 50


class Dashboard(QMainWindow):
    """The monitor's window, a view over a :class:`~painsign.monitor.MonitorEngine`.

    Parameters
    ----------
    engine : MonitorEngine
        The model it shows; the window never runs inference or touches the disk.
    sound : AlarmSound, optional
        Alarm sound adapter; a silent one (scheduling only) when omitted.
    """

    def __init__(self, engine, sound: AlarmSound | None = None):
        super().__init__()
        self.engine = engine
        self.sound = sound or AlarmSound(play=False)
        self.state: MonitorState | None = None
        self.setWindowTitle(f"painsign - {engine.settings.bed}")
        self.setStyleSheet(theme.STYLE)
        self.resize(1400, 860)
        self._build()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(POLL_MS)

    def _build(self) -> None:
        root = QWidget()
        outer = QVBoxLayout(root)
        self.banner = AlarmBanner()
        outer.addWidget(self.banner)
        body = QHBoxLayout()
        outer.addLayout(body, 1)

        left = QVBoxLayout()
        self.bed_label = QLabel(self.engine.settings.bed)
        self.bed_label.setStyleSheet("font-size: 26px; font-weight: bold;")
        left.addWidget(self.bed_label)
        self.video = VideoPane()
        left.addWidget(self.video, 1)
        self.replay_bar = self._replay_controls()
        left.addWidget(self.replay_bar)
        self.actions = ActionBars()
        left.addWidget(self.actions)
        body.addLayout(left, 3)

        middle = QVBoxLayout()
        self.sign_plot = SignPlot(self.engine.settings.span_s)
        middle.addWidget(self.sign_plot, 3)
        self.trend_plot = TrendPlot()
        middle.addWidget(self.trend_plot, 1)
        body.addLayout(middle, 5)

        right = QVBoxLayout()
        first = self.engine.analyzer.scorers[0]
        self.big = BigValue(getattr(first, "display_name", first.name))
        right.addWidget(self.big)
        self.advisory = QLabel("")
        self.advisory.setWordWrap(True)
        self.advisory.setStyleSheet(f"color: {theme.ADVISORY}; font-size: 17px;")
        right.addWidget(self.advisory)
        self.calibration = QLabel("baseline: population defaults")
        self.calibration.setWordWrap(True)
        right.addWidget(self.calibration)
        self.calibrate_button = QPushButton("Calibrate rest baseline")
        self.calibrate_button.clicked.connect(self.engine.request_calibration)
        right.addWidget(self.calibrate_button)
        buttons = QHBoxLayout()
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.clicked.connect(self.engine.acknowledge)
        self.pause_button = QPushButton("Pause audio 2 min")
        self.pause_button.clicked.connect(lambda: self.engine.pause_audio())
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.pause_button)
        right.addLayout(buttons)
        right.addWidget(QLabel("active alarms"))
        self.alarm_list = QListWidget()
        right.addWidget(self.alarm_list, 1)
        right.addWidget(QLabel("alarm log"))
        self.alarm_log = QListWidget()
        right.addWidget(self.alarm_log, 1)
        body.addLayout(right, 2)

        self.status = QLabel("starting ...")
        self.status.setStyleSheet(f"color: {theme.MUTED}; font-size: 13px;")
        outer.addWidget(self.status)
        disclaimer = QLabel(DISCLAIMER)
        disclaimer.setStyleSheet(f"color: {theme.MUTED}; font-size: 12px;")
        outer.addWidget(disclaimer)
        self.setCentralWidget(root)

    def _replay_controls(self) -> QWidget:
        bar = QWidget()
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.play_button = QPushButton("Pause")
        self.play_button.clicked.connect(self._toggle_play)
        self.seek = QSlider(Qt.Orientation.Horizontal)
        self.seek.sliderReleased.connect(lambda: self.engine.seek(self.seek.value() / 10.0))
        self.speed = QComboBox()
        for s in ("0.5x", "1x", "2x", "4x"):
            self.speed.addItem(s)
        self.speed.setCurrentText("1x")
        self.speed.currentTextChanged.connect(
            lambda text: self.engine.source.set_speed(float(text[:-1])))
        row.addWidget(self.play_button)
        row.addWidget(self.seek, 1)
        row.addWidget(self.speed)
        replay = self.engine.replay_duration()
        bar.setVisible(replay is not None)
        if replay is not None:
            self.seek.setRange(0, int(replay * 10))
        return bar

    def _toggle_play(self) -> None:
        source = self.engine.source
        if self.play_button.text() == "Pause":
            source.pause()
            self.play_button.setText("Play")
        else:
            source.resume()
            self.play_button.setText("Pause")

    def refresh(self) -> None:
        """Pull a snapshot from the engine and redraw (called every 50 ms)."""
        state = self.engine.snapshot()
        self.state = state
        self.video.show_frame(state.frame)
        views = state.scorers
        first = views[0]
        self.big.display(first.current, first.threshold, first.sign_type, first.action,
                         first.provisional)
        self.actions.display(state.actions)
        self.sign_plot.display(views)
        self.trend_plot.display(state.trend_t, state.trend_p)
        if state.calibrating and not state.calibrated:
            text = "baseline: calibrating on the rest face (population defaults until then)"
        elif state.calibrating:
            text = "baseline: re-calibrating (current baseline in use)"
        else:
            text = "baseline: calibrated on this patient"
        self.calibration.setText(text)
        self.advisory.setText(f"advisory - needs review: {state.advisory}"
                              if state.advisory else "")
        self._show_alarms(state)
        if not self.seek.isSliderDown():
            self.seek.setValue(int(state.elapsed_s * 10))
        self.sound.update(state.sounding)
        s = state.stats
        latency = "-" if not np.isfinite(s.latency_ms) else f"{s.latency_ms:.0f} ms"
        self.status.setText(
            f"{s.source} [{s.source_status}]   input {s.input_fps:.1f} fps   processed "
            f"{s.processed_fps:.1f} fps   latency {latency}   dropped {s.dropped}   "
            f"{s.provider}   models: {s.models}   t = {state.elapsed_s:.1f} s"
            + (f"   session {state.session_id} in {state.db_path}" if state.session_id else "")
            + ("" if self.sound.available else f"   SOUND: {self.sound.problem or 'off'}"))

    def _show_alarms(self, state: MonitorState) -> None:
        self.alarm_list.clear()
        for a in state.alarms:
            self.alarm_list.addItem(
                f"{a.priority.name:6s} {a.label} - {a.state} for "
                f"{state.clock_now - a.since:.0f} s")
        self.alarm_log.clear()
        for t, kind, st, priority in reversed(state.alarm_log[-30:]):
            self.alarm_log.addItem(f"{t:7.1f} s  {priority.lower():6s} {kind} {st}")
        top = state.alarms[0] if state.alarms else None
        text = None
        if top is not None:
            text = f"{top.label.upper()}  ({top.priority.name.lower()}, {top.state})"
            if state.pause_remaining_s > 0:
                text += f"   audio paused {state.pause_remaining_s:.0f} s"
        elif state.pause_remaining_s > 0:
            text = f"audio paused {state.pause_remaining_s:.0f} s"
        self.banner.show_alarm(text, state.visual)
        remaining = state.pause_remaining_s
        self.pause_button.setText(f"Audio paused {remaining:.0f} s" if remaining > 0
                                  else "Pause audio 2 min")
