"""The bedside dashboard window: polls the engine on a timer and redraws from its snapshot.

The window is a view: every 50 ms it takes :meth:`MonitorEngine.snapshot`, decides the
texts with :mod:`painsign.gui.present` and hands plain data to the widgets. It never runs
inference or touches the disk. Its layout and text sizes follow the window (and so the
screen): nothing is a fixed pixel size, the minimum fits 1280x720, long status text is
elided instead of widening the window, and buttons sit in fixed slots.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from painsign.gui import present, theme
from painsign.gui.controls import ReplayBar
from painsign.gui.plots import SignPlot, TrendPlot
from painsign.gui.sound import AlarmSound
from painsign.gui.widgets import (
    ActionBars,
    AlarmBanner,
    BigValue,
    ElidedLabel,
    VideoPane,
    WrappedLabel,
    pixel_font,
    set_text,
)
from painsign.monitor.state import MonitorState

DISCLAIMER = (
    "Research software: the pain score (an adult-trained expression network and an "
    "NFCS proxy) is not a validated clinical tool."
)
POLL_MS = 50
#: The plots are redrawn every PLOT_EVERY-th poll (10 Hz).
PLOT_EVERY = 2
#: The smallest screen the layout must fit.
MIN_SIZE = (1024, 600)
PAUSE_LABEL = "Pause audio 2:00"


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
        self.scale = 0.0
        self._rows: dict[str, list[str]] = {}
        self.setWindowTitle(f"painsign - {engine.settings.bed}")
        self._build()
        self.setMinimumSize(*MIN_SIZE)
        self.resize(*self._initial_size())
        self.rescale(theme.scale_for(self.width(), self.height()))
        self._ticks = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.timer.start(POLL_MS)

    @staticmethod
    def _initial_size() -> tuple[int, int]:
        """Fill the screen (a bedside monitor is dedicated); at least 1280x720."""
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return 1280, 720
        avail = screen.availableGeometry()
        if avail.width() < MIN_SIZE[0] or avail.height() < MIN_SIZE[1]:
            return 1280, 720  # an invisible (offscreen) or tiny screen
        return avail.width(), avail.height()

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        root = QWidget()
        outer = QVBoxLayout(root)
        outer.setContentsMargins(8, 6, 8, 4)
        outer.setSpacing(6)
        top = QHBoxLayout()
        self.bed_label = QLabel(self.engine.settings.bed)
        self.bed_label.setObjectName("bed")
        top.addWidget(self.bed_label)
        self.banner = AlarmBanner()
        top.addWidget(self.banner, 1)
        outer.addLayout(top)
        body = QHBoxLayout()
        outer.addLayout(body, 1)

        left = QVBoxLayout()
        self.video = VideoPane()
        left.addWidget(self.video, 1)
        replay = self.engine.replay_duration()
        self.replay_bar = ReplayBar(self.engine, replay or 0.0)
        self.replay_bar.setVisible(replay is not None)
        self.play_button, self.seek = self.replay_bar.play_button, self.replay_bar.slider
        left.addWidget(self.replay_bar)
        self.actions = ActionBars()
        left.addWidget(self.actions)
        self.calibration = ElidedLabel("baseline: population defaults")
        self.calibration.setObjectName("calibration")
        left.addWidget(self.calibration)
        self.calibrate_button = QPushButton("Calibrate rest baseline")
        self.calibrate_button.clicked.connect(self.engine.request_calibration)
        left.addWidget(self.calibrate_button)
        body.addLayout(left, 3)

        middle = QVBoxLayout()
        self.sign_plot = SignPlot(self.engine.settings.span_s)
        middle.addWidget(self.sign_plot.key)
        middle.addWidget(self.sign_plot, 3)
        self.trend_plot = TrendPlot()
        middle.addWidget(self.trend_plot, 1)
        body.addLayout(middle, 5)

        right = QVBoxLayout()
        self.big = BigValue(self.engine.primary_scorer.display_name)
        right.addWidget(self.big, 4)
        buttons = QHBoxLayout()
        self.ack_button = QPushButton("Acknowledge")
        # Not the bound method: clicked(bool) would hand it `checked` as the alarm kinds.
        self.ack_button.clicked.connect(lambda: self.engine.acknowledge())
        self.pause_button = QPushButton(PAUSE_LABEL)
        self.pause_button.clicked.connect(self.toggle_pause)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.pause_button)
        right.addLayout(buttons)
        self.advisory = WrappedLabel(lines=2)
        self.advisory.setObjectName("advisory")
        right.addWidget(self.advisory)
        self.alarm_heading = QLabel("active alarms")
        self.alarm_heading.setObjectName("heading")
        right.addWidget(self.alarm_heading)
        self.alarm_list = QListWidget()
        right.addWidget(self.alarm_list, 1)
        self.log_heading = QLabel("alarm log")
        self.log_heading.setObjectName("heading")
        right.addWidget(self.log_heading)
        self.alarm_log = QListWidget()
        right.addWidget(self.alarm_log, 2)
        body.addLayout(right, 3)
        for lst in (self.alarm_list, self.alarm_log):
            lst.setMinimumHeight(40)
            # Rows wrap to the width: never a sideways scroll bar, never a cut-off row.
            lst.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            lst.setWordWrap(True)
            lst.setResizeMode(QListView.ResizeMode.Adjust)
            lst.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.note = ElidedLabel("")
        self.note.setObjectName("advisory")
        self.note.setVisible(False)
        outer.addWidget(self.note)
        self.status = ElidedLabel("starting ...")
        self.status.setObjectName("status")
        outer.addWidget(self.status)
        self.disclaimer = ElidedLabel(DISCLAIMER)
        self.disclaimer.setObjectName("disclaimer")
        outer.addWidget(self.disclaimer)
        # The window's minimum is MIN_SIZE, not what the widgets need at the current text
        # size: shrinking from a large screen rescales the text first (resizeEvent), and
        # at any scale the layout needs less than the window it was scaled for.
        root.setMinimumSize(1, 1)
        self.setCentralWidget(root)

    def rescale(self, scale: float) -> None:
        """Set every text size and fixed slot for ``scale`` (1.0 at 1280x720).

        Parameters
        ----------
        scale : float
            From :func:`painsign.gui.theme.scale_for` of the window size.
        """
        self.scale = scale
        s = theme.sizes(scale)
        self.setStyleSheet(theme.style(scale))
        self.banner.rescale(scale)
        self.big.rescale(scale)
        self.sign_plot.rescale(scale)
        self.trend_plot.rescale(scale)
        self.replay_bar.rescale(scale)
        fm = QFontMetrics(pixel_font(s.button))
        button_h = round(s.button * 2.6)
        pause_w = max(fm.horizontalAdvance(t) for t in (PAUSE_LABEL, "Resume audio 0:00"))
        self.pause_button.setFixedSize(pause_w + round(36 * scale), button_h)
        self.ack_button.setFixedHeight(button_h)
        self.ack_button.setMinimumWidth(fm.horizontalAdvance("Acknowledge") + round(36 * scale))
        self.calibrate_button.setFixedHeight(round(s.button * 2.2))
        rows = QFontMetrics(pixel_font(s.list)).lineSpacing()
        self.alarm_list.setMinimumHeight(round(rows * 3.4))  # three alarms without scrolling
        self.alarm_log.setMinimumHeight(round(rows * 3.4))
        # Two lines of advisory always reserved: nothing moves when it appears.
        self.advisory.rescale(s.title)
        self.big.value.setMinimumHeight(round(120 * scale))
        self.trend_plot.setMaximumHeight(round(170 * scale))
        self.trend_plot.setMinimumHeight(round(90 * scale))
        self.video.setMinimumSize(round(240 * min(scale, 1.5)), round(180 * min(scale, 1.5)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        scale = theme.scale_for(self.width(), self.height())
        if abs(scale - self.scale) > 0.02:
            self.rescale(scale)

    # -- actions ---------------------------------------------------------------------------

    def toggle_pause(self) -> None:
        """Pause alarm audio for 2 minutes, or, while paused, cancel the pause."""
        state = self.state if self.state is not None else self.engine.snapshot()
        paused = state.pause_remaining_s > 0 or state.audio_paused
        if paused:
            self.engine.cancel_pause()
        else:
            self.engine.pause_audio()
        self.refresh()

    # -- redraw ----------------------------------------------------------------------------

    def _tick(self) -> None:
        self._ticks += 1
        self.refresh(plots=self._ticks % PLOT_EVERY == 0)

    def refresh(self, plots: bool = True) -> None:
        """Pull a snapshot from the engine and redraw (called every 50 ms).

        Parameters
        ----------
        plots : bool
            Also redraw the sign plot and the trend (the timer does so every
            ``PLOT_EVERY``-th time: 10 Hz moves a 60-s plot by about a pixel).
        """
        state = self.engine.snapshot()
        self.state = state
        inp = present.input_view(state)
        self.video.show_input(state.frame, inp)
        first = state.scorers[0] if state.scorers else None
        value = present.value_text(state, first)
        alarm = present.physiological_alarm(state)
        self.big.value.border = alarm.priority.colour if alarm is not None else None
        self.big.display(
            value,
            theme.MUTED if value == present.INVALID else theme.TEXT,
            present.badge_text(first, state),
            present.action_text(first, state),
        )
        self.actions.display(state.actions, valid=inp.live)
        if plots:
            self.sign_plot.display(state.scorers, state)
            self.trend_plot.display(state.trend_t, state.trend_p, state)
        self.calibration.set_full_text(self._calibration_text(state))
        if self.calibrate_button.isHidden() == state.can_calibrate:
            self.calibrate_button.setHidden(not state.can_calibrate)
            self.calibration.setHidden(not state.can_calibrate)
        self.advisory.set_full_text(
            f"Review advised (not an alarm): {state.advisory}" if state.advisory else ""
        )
        self._show_alarms(state)
        self._show_replay(state, inp)
        self.sound.update(state.sounding)
        self.status.set_full_text(
            present.status_text(
                state, None if self.sound.available else (self.sound.problem or "off")
            )
        )
        note = state.demo_note
        self.note.set_full_text(note or "")
        if self.note.isVisible() != bool(note):
            self.note.setVisible(bool(note))

    @staticmethod
    def _calibration_text(state) -> str:
        status = state.baseline_status
        if status.startswith("calibration refused"):
            return status
        if state.calibrating and not state.calibrated:
            if status:
                return f"baseline: {status}"
            return "baseline: calibrating on the rest face (population defaults until then)"
        if state.calibrating:
            return "baseline: re-calibrating (current baseline in use)"
        if state.calibrated:
            return "baseline: calibrated on this patient"
        return "baseline: population defaults"

    def _show_replay(self, state, inp: present.InputView) -> None:
        if not self.replay_bar.isVisible() and self.engine.replay_duration() is None:
            return
        replay = state.replay
        replay = replay if isinstance(replay, dict) else {}
        if inp.state == "ended" or replay.get("ended"):
            self.replay_bar.set_mode("ended")
        elif replay.get("paused", inp.state == "paused"):
            self.replay_bar.set_mode("paused")  # the source's own flag: never lags a click
        else:
            self.replay_bar.set_mode("playing")
        position = state.media_t
        if position is None:
            position = replay.get("position_s")
        self.replay_bar.show_position(float(state.elapsed_s if position is None else position))

    def _set_rows(self, name: str, widget: QListWidget, rows: list[str]) -> None:
        if self._rows.get(name) != rows:
            self._rows[name] = rows
            widget.clear()
            widget.addItems(rows)

    def _show_alarms(self, state: MonitorState) -> None:
        self._set_rows("alarms", self.alarm_list, present.alarm_rows(state))
        self._set_rows("log", self.alarm_log, present.log_rows(state))
        self.banner.show_alarm(present.banner_text(state), state.visual)
        remaining = state.pause_remaining_s
        set_text(
            self.pause_button,
            f"Resume audio {present.mmss(remaining, countdown=True)}"
            if remaining > 0
            else PAUSE_LABEL,
        )
