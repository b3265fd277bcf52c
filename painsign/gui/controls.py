"""Replay controls: play / pause / restart, a seek slider that jumps where clicked, speed."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QWidget,
)

#: Slider steps per second of replay.
STEPS_PER_S = 10


class SeekSlider(QSlider):
    """A horizontal slider that seeks: a click on the groove jumps there at once, a drag
    seeks when released (not on every step), the keyboard seeks each step.

    Signals
    -------
    seek_requested(int)
        The slider value (tenths of a second) to seek to.
    """

    seek_requested = Signal(int)

    def __init__(self):
        super().__init__(Qt.Orientation.Horizontal)
        self.sliderReleased.connect(lambda: self.seek_requested.emit(self.value()))
        self.actionTriggered.connect(self._keyboard)

    def value_at(self, x: float) -> int:
        """The slider value under pixel ``x`` of the widget (the handle centred there)."""
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        style = self.style()
        groove = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
        )
        span = max(1, groove.width() - handle.width())
        pos = round(x - groove.x() - handle.width() / 2)
        return QStyle.sliderValueFromPosition(
            self.minimum(), self.maximum(), min(max(pos, 0), span), span
        )

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            handle = self.style().subControlRect(
                QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
            )
            point = event.position().toPoint()
            if not handle.contains(point):
                # Jump to the click (not a page step), then let the press become a drag.
                value = self.value_at(point.x())
                self.setValue(value)
                self.seek_requested.emit(value)
        super().mousePressEvent(event)

    def _keyboard(self, action: int) -> None:
        if not self.isSliderDown() and action in (
            QSlider.SliderAction.SliderSingleStepAdd,
            QSlider.SliderAction.SliderSingleStepSub,
            QSlider.SliderAction.SliderPageStepAdd,
            QSlider.SliderAction.SliderPageStepSub,
            QSlider.SliderAction.SliderToMinimum,
            QSlider.SliderAction.SliderToMaximum,
        ):
            self.seek_requested.emit(self.sliderPosition())


class ReplayBar(QWidget):
    """Play / pause / restart, the seek slider and the speed of a replayed file.

    Parameters
    ----------
    engine : MonitorEngine
        Its ``seek(t)``, ``restart()``, ``pause_replay()``, ``resume_replay()``,
        ``replay_speed`` and ``set_replay_speed(speed)`` are used.
    duration_s : float
        Length of the replayed file.
    """

    def __init__(self, engine, duration_s: float):
        super().__init__()
        self.engine = engine
        self.ended = False
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.play_button = QPushButton("Pause")
        self.play_button.clicked.connect(self.toggle)
        self.slider = SeekSlider()
        self.slider.setRange(0, int(duration_s * STEPS_PER_S))
        self.slider.setPageStep(5 * STEPS_PER_S)
        self.slider.seek_requested.connect(self.seek_to)
        self.speed = QComboBox()
        for s in ("0.5x", "1x", "2x", "4x"):
            self.speed.addItem(s)
        label = f"{engine.replay_speed:g}x"
        if self.speed.findText(label) < 0:
            self.speed.addItem(label)
        self.speed.setCurrentText(label)
        self.speed.currentTextChanged.connect(self._set_speed)
        row.addWidget(self.play_button)
        row.addWidget(self.slider, 1)
        row.addWidget(self.speed)
        self.seeks: list[float] = []

    def seek_to(self, value: int) -> None:
        """Ask the engine to jump to slider ``value`` (tenths of a second)."""
        t = value / STEPS_PER_S
        self.seeks.append(t)
        self.engine.seek(t)  # after the end of the file this plays again from t

    def toggle(self) -> None:
        """Pause, resume, or after the end of the file restart the replay."""
        if self.ended:
            self.engine.restart()
            self.set_mode("playing")
        elif self.play_button.text() == "Pause":
            self.engine.pause_replay()
            self.set_mode("paused")
        else:
            self.engine.resume_replay()
            self.set_mode("playing")

    def set_mode(self, mode: str) -> None:
        """``"playing"``, ``"paused"`` or ``"ended"``: the button's label follows."""
        self.ended = mode == "ended"
        text = {"playing": "Pause", "paused": "Play", "ended": "Restart"}[mode]
        if self.play_button.text() != text:
            self.play_button.setText(text)

    def show_position(self, t: float) -> None:
        """Move the slider to ``t`` seconds unless the user holds it."""
        if not self.slider.isSliderDown():
            value = int(t * STEPS_PER_S)
            if self.slider.value() != value:
                self.slider.blockSignals(True)
                self.slider.setValue(value)
                self.slider.blockSignals(False)

    def rescale(self, scale: float) -> None:
        """Fixed button width (its label changes, the slider must not move)."""
        fm = self.play_button.fontMetrics()
        self.play_button.setFixedWidth(fm.horizontalAdvance("Restart") + round(40 * scale))

    def _set_speed(self, text: str) -> None:
        self.engine.set_replay_speed(float(text[:-1]))
