"""The dashboard's view rules, with fake snapshots (no video, no models, no engine thread).

The screen never shows a number the pipeline did not just measure; gaps are gaps; alarm
colours only for alarms; a layout that fits 1280x720 and grows with the screen.
"""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from dashboard_fakes import FakeEngine, make_state, scorer_view
from PySide6.QtCore import QPoint, Qt

from painsign.alarms import Priority
from painsign.gui import present, theme
from painsign.gui.dashboard import Dashboard
from painsign.monitor.state import MonitorStats


@pytest.fixture()
def window(qtbot):
    def make(state=None):
        engine = FakeEngine(state)
        w = Dashboard(engine)
        w.timer.stop()  # the tests refresh by hand
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        w.refresh()
        return engine, w

    return make


def _pixel(widget, x, y):
    return widget.grab().toImage().pixelColor(x, y).name()


def test_live_input_shows_the_number_and_the_picture(window):
    _engine, w = window()
    assert w.big.value.text == "0.42"
    assert w.video.showing_picture and w.video.reason == ""


@pytest.mark.parametrize(
    "input_state, headline",
    [
        ("camera_lost", "Camera lost"),
        ("camera_frozen", "Camera frozen"),
        ("ended", "Recording ended"),
        ("no_face", "No face in view"),
        ("refused", "Source refused"),
        ("starting", "Waiting for the camera"),
    ],
)
def test_not_live_shows_placeholder_and_grey_frame_with_the_reason(window, input_state, headline):
    # The engine still holds a value and a frame: the view must show neither.
    state = make_state(input_state, reason="no frame for 3 s", view=scorer_view(current=0.9))
    _engine, w = window(state)
    assert w.big.value.text == present.INVALID
    assert w.video.reason == headline and w.video.detail == "no frame for 3 s"
    assert not w.video.showing_picture
    image = w.video.pixmap().toImage()
    corner = image.pixelColor(3, 3)
    assert abs(corner.red() - corner.green()) < 8 and abs(corner.green() - corner.blue()) < 8
    # no green face box anywhere in the pane
    arr = image.convertToFormat(image.Format.Format_RGB888)
    px = np.frombuffer(arr.constBits(), np.uint8)[: arr.height() * arr.bytesPerLine()]
    px = (
        px.reshape(arr.height(), arr.bytesPerLine())[:, : arr.width() * 3]
        .reshape(arr.height(), arr.width(), 3)
        .astype(int)
    )
    assert not np.any((px[..., 1] > 150) & (px[..., 0] < 100) & (px[..., 2] < 100))


def test_stale_frame_while_live_is_not_live():
    state = make_state("live")
    assert present.input_view(state).live
    state.frame_stale = True
    assert not present.input_view(state).live
    assert present.value_text(state) == present.INVALID


def test_end_of_replay_says_ended_and_the_button_restarts(window):
    engine, w = window(make_state("ended", reason="end of demo_grimace.mp4"))
    assert w.video.reason == "Recording ended"
    assert w.play_button.text() == "Restart"
    w.play_button.click()
    assert "restart" in engine.calls
    engine.state = make_state("live")
    w.refresh()
    assert w.play_button.text() == "Pause"


def test_gaps_break_the_lines_and_are_shaded_with_reused_bands(window):
    t = np.arange(0.0, 60.0, 1 / 30)
    p = 0.5 + 0.4 * np.sin(t / 4.0)
    p[(t > 20) & (t < 25)] = np.nan  # no face
    keep = (t < 40) | (t > 45)  # a camera outage without samples
    t, p = t[keep], p[keep]
    state = make_state("live", view=scorer_view(t=t, p=p))
    state.trend_t = np.array([0, 1, 2, 3, 8, 9, 10], float)  # seconds 4-7 missing
    state.trend_p = np.array([0.1, 0.2, np.nan, 0.3, 0.4, 0.5, 0.6])
    _engine, w = window(state)
    x, y = w.sign_plot.curves["nfcs"].getData()
    assert np.isnan(y).sum() >= 150  # the no-face run stays NaN, and a NaN at the outage
    assert np.isnan(y[(x > 40) & (x < 45)]).all()
    shown = w.sign_plot.shading.shown
    assert any(a < 20.1 and b > 24.9 for a, b in shown)
    assert any(a <= 40.0 and b >= 45.0 for a, b in shown)
    bands = list(w.sign_plot.shading.bands)
    assert all(b.isVisible() for b in bands[: len(shown)])
    trend = w.trend_plot.shading.shown
    assert any(a <= 3 and b >= 8 for a, b in trend) and any(a <= 1 and b >= 3 for a, b in trend)
    _tx, ty = w.trend_plot.curve.getData()
    assert np.isnan(ty).sum() >= 2
    # the next refreshes reuse the same band items
    for _ in range(5):
        w.refresh()
    assert w.sign_plot.shading.bands == bands
    # an outage still running is shaded up to now
    state2 = make_state("camera_lost", view=scorer_view(t=t[t < 50], p=p[t < 50]))
    state2.elapsed_s = 58.0
    w.engine.state = state2
    w.refresh()
    assert any(b >= 58.0 and a <= 50.0 for a, b in w.sign_plot.shading.shown)
    assert w.sign_plot.shading.bands[: len(bands)] == bands


def _hues(widget):
    image = widget.grab().toImage()
    out = []
    for x in range(0, image.width(), 3):
        for y in range(0, image.height(), 3):
            c = image.pixelColor(x, y)
            out.append(colorsys.rgb_to_hsv(c.redF(), c.greenF(), c.blueF()))
    return out


@pytest.mark.parametrize(
    "sign_type, action",
    [("unstable", "act"), ("indeterminate", "human review"), ("stable", "no action")],
)
def test_sign_type_badge_and_action_never_use_alarm_colours(window, sign_type, action):
    _engine, w = window(make_state("live", view=scorer_view(sign_type=sign_type, action=action)))
    assert w.big.badge.text().startswith(sign_type.upper())
    assert action in w.big.action.full_text
    for widget in (w.big.badge, w.big.action):
        saturated = [hsv for hsv in _hues(widget) if hsv[1] > 0.35 and hsv[2] > 0.3]
        assert saturated == [], f"{widget.objectName()} uses a saturated colour"
    for colour in (theme.BADGE, theme.TEXT, theme.PANEL):
        assert theme.saturation(colour) < 0.35 and colour not in theme.ALARM_COLOURS


def test_no_action_never_stands_next_to_an_active_pain_alarm(window):
    engine, w = window(make_state("live", view=scorer_view(action="no action")))
    assert "no action" in w.big.action.full_text
    engine.alarms.raise_event("pain_surge")
    w.refresh()
    assert "no action" not in w.big.action.full_text
    assert w.big.value.border == Priority.MEDIUM.colour  # the alarm marks the value


def test_every_text_colour_pair_has_contrast_of_at_least_4_5():
    assert round(theme.contrast_ratio("#000000", "#ffffff"), 2) == 21.0
    assert round(theme.contrast_ratio("#777777", "#ffffff"), 2) == 4.48  # WCAG's example
    for fg, bg in theme.TEXT_PAIRS:
        assert theme.contrast_ratio(fg, bg) >= 4.5, (fg, bg)
    for priority in Priority:  # banner text on each alarm colour
        assert theme.contrast_ratio(theme.text_on(priority.colour), priority.colour) >= 4.5


def test_layout_fits_1280x720_and_grows_on_a_4k_screen(window, qtbot):
    engine, w = window()
    engine.state.stats = MonitorStats(source="rtsp://" + "x" * 400, models="NFCS proxy " * 20)
    engine.alarms.raise_event("pain_surge")
    engine.state.advisory = "the last 20 s hover at the threshold " * 3
    w.refresh()
    hint = w.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 720
    assert w.minimumWidth() <= 1280 and w.minimumHeight() <= 720
    w.resize(1280, 720)
    qtbot.waitUntil(lambda: w.width() == 1280)
    w.refresh()
    assert w.width() == 1280  # long status text does not widen the window
    assert w.big.value.fits() and w.big.value.value_font().pixelSize() >= 60
    assert w.status.text().endswith("\u2026")
    small = (
        w.big.value.value_font().pixelSize(),
        w.banner.banner_font().pixelSize(),
        w.alarm_list.font().pixelSize(),
        w.bed_label.font().pixelSize(),
    )
    assert small[1] >= 28 and small[2] >= 16 and small[3] >= 28  # legible from 3 m
    w.resize(3840, 2160)
    qtbot.waitUntil(lambda: w.width() == 3840)
    w.refresh()
    big = (
        w.big.value.value_font().pixelSize(),
        w.banner.banner_font().pixelSize(),
        w.alarm_list.font().pixelSize(),
        w.bed_label.font().pixelSize(),
    )
    assert all(b >= 2 * s for b, s in zip(big, small, strict=True)), (small, big)
    assert w.big.value.fits()
    # moved back to a 1280x720 screen: the window follows, the text shrinks again
    w.resize(1280, 720)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == (1280, 720))
    w.refresh()
    assert w.banner.banner_font().pixelSize() == small[1] and w.big.value.fits()
    qtbot.wait(50)  # the layout takes in the new text sizes
    assert w.centralWidget().minimumSizeHint().height() <= 720


def test_buttons_do_not_move_when_advisory_or_pause_text_appears(window, qtbot):
    engine, w = window()
    w.resize(1280, 720)
    qtbot.waitUntil(lambda: w.width() == 1280)
    w.refresh()
    qtbot.wait(20)
    before = [b.geometry() for b in (w.ack_button, w.pause_button, w.play_button)]
    engine.state.advisory = "the last 20 s hover at the threshold; " * 4
    engine.state.scorers = [scorer_view(sign_type=None, action=None)]
    w.pause_button.click()
    engine.state.input_state = "ended"
    w.refresh()
    qtbot.wait(20)
    after = [b.geometry() for b in (w.ack_button, w.pause_button, w.play_button)]
    assert w.play_button.text() == "Restart" and w.pause_button.text().startswith("Resume")
    assert before == after
    # the long advisory is cut to its two-line slot, never drawn outside it
    lines = w.advisory.text().split("\n")
    fm = w.advisory.fontMetrics()
    assert len(lines) <= 2 and lines[-1].endswith("\u2026")
    assert all(fm.horizontalAdvance(line) <= w.advisory.width() for line in lines)
    assert len(lines) * fm.lineSpacing() <= w.advisory.height()


def test_slider_click_on_the_groove_seeks_there_and_a_drag_seeks_on_release(window, qtbot):
    engine, w = window()
    slider = w.seek
    y = slider.height() // 2
    x = slider.width() * 3 // 4
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    seeks = [c[1] for c in engine.calls if isinstance(c, tuple) and c[0] == "seek"]
    assert len(seeks) >= 1 and 19.0 < seeks[0] < 26.0  # 30-s file, clicked at 3/4
    engine.calls.clear()
    # a drag from the handle: no seek while moving, one on release
    handle_x = slider.width() * slider.value() // max(1, slider.maximum())
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=QPoint(handle_x, y))
    qtbot.mouseMove(slider, QPoint(slider.width() // 4, y))
    assert not [c for c in engine.calls if isinstance(c, tuple) and c[0] == "seek"]
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() // 4, y))
    assert [c for c in engine.calls if isinstance(c, tuple) and c[0] == "seek"]


def test_pause_toggles_to_resume_cancels_and_is_logged(window):
    engine, w = window()
    w.pause_button.click()
    assert engine.alarms.audio_paused() and w.pause_button.text() == "Resume audio 2:00"
    engine.clock.advance(8)
    w.refresh()
    assert w.pause_button.text() == "Resume audio 1:52"
    w.pause_button.click()
    assert "cancel_pause" in engine.calls and not engine.alarms.audio_paused()
    assert w.pause_button.text() == "Pause audio 2:00"
    rows = [w.alarm_log.item(i).text() for i in range(w.alarm_log.count())]
    assert any("Audio paused" in r for r in rows) and any("Audio resumed" in r for r in rows)


def test_banner_says_which_alarm_sounds_through_a_pause(window):
    engine, w = window()
    engine.alarms.raise_event("pain_surge")
    w.pause_button.click()
    engine.clock.advance(8)
    w.refresh()
    assert "Audio paused 1:52" in w.banner.text() and "sounding" not in w.banner.text()
    engine.alarms.set_condition("sustained_pain", True)
    engine.clock.advance(30)
    w.refresh()
    assert w.banner.text() == "Audio paused 1:22 \u2014 HIGH alarm sounding: Sustained pain"
    assert w.banner.colour == Priority.HIGH.colour


def test_alarm_log_rows_are_readable():
    from painsign.monitor.state import AlarmLogRow

    state = make_state("live")
    state.alarm_rows = [
        AlarmLogRow(5.0, "pain_surge", "Pain surge", "medium", "raised", "Pain surge raised"),
        AlarmLogRow(10.0, "audio_pause", "Audio pause", None, "paused", "Audio paused"),
        AlarmLogRow(
            70.0, "camera_lost", "Camera lost", "medium", "ended", "Camera lost ended after 16 s"
        ),
    ]
    rows = present.log_rows(state)
    assert rows == [
        "1:10  MEDIUM Camera lost ended after 16 s",
        "0:10  Audio paused",
        "0:05  MEDIUM Pain surge raised",
    ]
    assert present.log_rows(state, limit=1) == ["1:10  MEDIUM Camera lost ended after 16 s"]


def test_paused_replay_shows_play_and_the_reason(window):
    engine, w = window(make_state("paused", reason="replay paused at 0:12"))
    assert w.play_button.text() == "Play" and w.big.value.text == present.INVALID
    assert w.video.reason == "Replay paused" and not w.video.showing_picture
    w.play_button.click()
    assert engine.calls[-1] == "resume"


def test_speed_box_shows_the_replay_speed(qtbot):
    engine = FakeEngine()
    engine.replay_speed = 2.0  # the engine says the speed; the view never reaches its source
    w = Dashboard(engine)
    w.timer.stop()
    qtbot.addWidget(w)
    assert w.replay_bar.speed.currentText() == "2x"


def test_time_axes_read_minutes_and_hours():
    from painsign.gui.plots import TimeAxis

    axis = TimeAxis("bottom")
    assert axis.tickStrings([0, 75, 3725], 1, 15) == ["0:00", "1:15", "1:02:05"]
    (major, _), *_ = axis.tickSpacing(0, 3600, 540)  # an hour over 540 px
    assert major in (600, 900)
