"""The alarm state machine under a fake clock: delays, latching, acknowledge, pause, log."""

from __future__ import annotations

import logging

import pytest

from painsign.alarms import (
    AUDIO_PAUSE,
    KINDS,
    SETTINGS,
    AlarmKind,
    AlarmManager,
    AlarmSettings,
    FakeClock,
    MonotonicClock,
    Priority,
    State,
    get_kind,
)

RED, YELLOW, CYAN = "#e53935", "#fdd835", "#00bcd4"


def make(**settings):
    clock = FakeClock()
    seen = []
    manager = AlarmManager(clock, AlarmSettings(**settings), on_change=seen.append)
    return clock, manager, seen


def states(manager):
    return [(a.kind, str(a.state)) for a in manager.active_alarms()]


def entries(manager, kind=None):
    return [(e.t, e.kind, e.state) for e in manager.log if kind is None or e.kind == kind]


# -- priorities and kinds -------------------------------------------------------------------


def test_priority_order_and_signals():
    assert Priority.HIGH > Priority.MEDIUM > Priority.LOW
    assert max([Priority.LOW, Priority.HIGH, Priority.MEDIUM]) is Priority.HIGH
    table = {
        p: (p.colour, p.flash_hz, p.flash_duty, p.burst_pulses, p.burst_groups, p.burst_interval_s)
        for p in Priority
    }
    assert table == {
        Priority.HIGH: (RED, 2.0, 0.5, 10, (5, 5), 5.0),
        Priority.MEDIUM: (YELLOW, 0.5, 0.5, 3, (3,), 15.0),
        Priority.LOW: (CYAN, 0.0, 1.0, 1, (1,), 0.0),
    }


def test_kind_definitions():
    expected = {
        "pain_surge": ("Pain surge", Priority.MEDIUM, False, False, 0.0),
        "sustained_pain": ("Sustained pain", Priority.HIGH, False, True, 30.0),
        "camera_lost": ("Camera lost", Priority.MEDIUM, True, False, 0.0),
        "camera_frozen": ("Camera frozen", Priority.MEDIUM, True, False, 0.0),
        "face_not_seen": ("Face not seen", Priority.LOW, True, False, 10.0),
        "inference_error": ("Inference error", Priority.MEDIUM, True, False, 0.0),
        "audio_failure": ("Alarm sound unavailable", Priority.LOW, True, False, 0.0),
        "recording_failure": ("Recording failed", Priority.MEDIUM, True, False, 0.0),
        "central_link_lost": ("Central link lost", Priority.LOW, True, False, 0.0),
    }
    got = {k.id: (k.label, k.priority, k.technical, k.latching, k.delay_s) for k in KINDS.values()}
    assert got == expected
    settings = AlarmSettings()
    assert {k: settings.condition_delay(k) for k in KINDS} == {
        k: v[-1] for k, v in expected.items()
    }


def test_technical_alarms_never_latch():
    assert all(not k.latching for k in KINDS.values() if k.technical)
    with pytest.raises(ValueError, match="cannot latch"):
        AlarmKind("cable", "Cable", Priority.HIGH, technical=True, latching=True)
    with pytest.raises(ValueError, match="cannot latch"):
        AlarmKind("mild", "Mild", Priority.MEDIUM, technical=False, latching=True)
    clock, alarms, _ = make()
    for kind in (k for k in KINDS.values() if k.technical):
        alarms.set_condition(kind.id, True)
        clock.advance(kind.delay_s + 1.0)
        assert alarms.get(kind.id).state == State.ACTIVE
        alarms.set_condition(kind.id, False)
        assert alarms.get(kind.id) is None, kind.id
        assert alarms.log[-1].state == "inactive"
    assert alarms.sounding() is None and alarms.active_alarms() == []


def test_unknown_kind_names_the_known_ones():
    _, alarms, _ = make()
    with pytest.raises(ValueError, match="camera_lost"):
        alarms.set_condition("camera_gone", True)
    with pytest.raises(ValueError, match="unknown alarm kind"):
        get_kind("nope")
    with pytest.raises(ValueError, match="unknown alarm kind"):
        AlarmSettings(delays_s={"nope": 1.0})


# -- condition delay ------------------------------------------------------------------------


def test_condition_shorter_than_its_delay_never_alarms():
    clock, alarms, _ = make(delays_s={"camera_lost": 5.0})
    alarms.set_condition("camera_lost", True)
    for _ in range(8):
        clock.advance(0.5)
        alarms.update()
        assert alarms.sounding() is None and alarms.active_alarms() == []
    alarms.set_condition("camera_lost", False)  # held 4 s
    clock.advance(60.0)
    assert alarms.active_alarms() == [] and alarms.visual() is None
    assert entries(alarms) == [(0.0, "camera_lost", "pending"), (4.0, "camera_lost", "inactive")]
    assert "before its 5 s delay" in alarms.log[-1].note


def test_a_new_cause_of_a_present_condition_is_logged_once_and_the_same_cause_not_again():
    clock, alarms, _ = make(delays_s={"central_link_lost": 2.0})
    alarms.set_condition("central_link_lost", True, "link lost: unspecified error")
    clock.advance(3.0)
    alarms.update()
    alarms.set_condition("central_link_lost", True, "another monitor may publish as u/b")
    alarms.set_condition("central_link_lost", True, "another monitor may publish as u/b")
    assert entries(alarms) == [
        (0.0, "central_link_lost", "pending"),
        (2.0, "central_link_lost", "active"),
        (3.0, "central_link_lost", "active"),
    ]
    assert alarms.log[-1].note == "condition goes on; because another monitor may publish as u/b"
    assert states(alarms) == [("central_link_lost", "active")]


def test_condition_longer_than_its_delay_alarms_at_the_right_time():
    clock, alarms, _ = make(delays_s={"camera_lost": 5.0})
    clock.set(20.0)
    alarms.set_condition("camera_lost", True)
    clock.advance(4.9)
    assert alarms.sounding() is None
    clock.advance(0.1)
    assert alarms.sounding().kind == "camera_lost"
    clock.advance(1.0)  # held 6 s
    (state,) = alarms.active_alarms()
    assert (state.kind, state.state, state.since, state.condition) == (
        "camera_lost",
        "active",
        25.0,
        True,
    )
    assert entries(alarms) == [(20.0, "camera_lost", "pending"), (25.0, "camera_lost", "active")]


def test_delay_elapsed_between_updates_is_stamped_when_due():
    clock, alarms, seen = make(face_not_seen_s=10.0)
    alarms.set_condition("face_not_seen", True)
    clock.set(13.7)  # the timer was late; the alarm was due at 10 s
    assert alarms.highest().since == 10.0
    assert seen[-1].t == 10.0 and seen[-1].state == "active"


def test_condition_that_flickers_restarts_its_delay():
    clock, alarms, _ = make(face_not_seen_s=10.0)
    for _ in range(3):
        alarms.set_condition("face_not_seen", True)
        clock.advance(8.0)
        alarms.set_condition("face_not_seen", False)
        clock.advance(1.0)
    assert alarms.get("face_not_seen") is None
    alarms.set_condition("face_not_seen", True)
    clock.advance(10.0)
    assert alarms.get("face_not_seen").since == 37.0


def test_shortened_delay_applies_to_a_running_condition_without_going_back_in_time():
    clock, alarms, _ = make()
    alarms.set_condition("sustained_pain", True)
    clock.advance(10.0)
    assert alarms.get("sustained_pain") is None
    alarms.update_settings(sustained_pain_s=5.0)
    assert alarms.get("sustained_pain").since == 10.0
    assert [e.t for e in alarms.log] == sorted(e.t for e in alarms.log)


# -- clearing and latching ------------------------------------------------------------------


def test_non_latching_alarm_clears_when_condition_ends():
    clock, alarms, _ = make()
    alarms.raise_event("pain_surge")
    assert states(alarms) == [("pain_surge", "active")]
    assert alarms.sounding().kind == "pain_surge"
    clock.advance(3.0)
    alarms.set_condition("pain_surge", False)
    assert states(alarms) == [] and alarms.sounding() is None and alarms.visual() is None
    assert entries(alarms) == [(0.0, "pain_surge", "active"), (3.0, "pain_surge", "inactive")]


def test_sustained_pain_latches_until_acknowledged():
    clock, alarms, _ = make(sustained_pain_s=30.0)
    alarms.set_condition("sustained_pain", True)
    clock.advance(29.9)
    assert alarms.sounding() is None
    clock.advance(0.1)
    assert alarms.sounding().kind == "sustained_pain"
    clock.advance(10.0)
    alarms.set_condition("sustained_pain", False)
    clock.advance(300.0)  # nobody there: it keeps signalling
    (state,) = alarms.active_alarms()
    assert (state.state, state.condition, state.since) == ("latched", False, 30.0)
    assert alarms.sounding().kind == "sustained_pain"
    assert alarms.visual() == (RED, 2.0)
    assert alarms.acknowledge() == ["sustained_pain"]
    assert alarms.active_alarms() == [] and alarms.sounding() is None
    assert entries(alarms, "sustained_pain") == [
        (0.0, "sustained_pain", "pending"),
        (30.0, "sustained_pain", "active"),
        (40.0, "sustained_pain", "latched"),
        (340.0, "sustained_pain", "acknowledged"),
        (340.0, "sustained_pain", "inactive"),
    ]


def test_latched_alarm_whose_condition_returns_is_active_again():
    clock, alarms, _ = make(sustained_pain_s=30.0)
    alarms.set_condition("sustained_pain", True)
    clock.advance(31.0)
    alarms.set_condition("sustained_pain", False)
    clock.advance(5.0)
    alarms.set_condition("sustained_pain", True)
    assert alarms.get("sustained_pain").state == State.ACTIVE
    alarms.acknowledge()
    assert alarms.get("sustained_pain").state == State.ACKNOWLEDGED
    alarms.set_condition("sustained_pain", False)  # acknowledged: no need to latch
    assert alarms.get("sustained_pain") is None


# -- acknowledge and reminder ---------------------------------------------------------------


def test_acknowledge_silences_and_reminds_after_reminder_s():
    clock, alarms, _ = make(reminder_s=150.0)
    alarms.set_condition("camera_frozen", True)
    clock.advance(10.0)
    assert alarms.acknowledge("camera_frozen") == ["camera_frozen"]
    assert alarms.acknowledge("camera_frozen") == []  # nothing left to acknowledge
    assert alarms.sounding() is None
    assert states(alarms) == [("camera_frozen", "acknowledged")]
    assert alarms.visual() == (YELLOW, 0.5)  # visual stays
    clock.advance(149.9)
    assert alarms.sounding() is None
    clock.advance(0.1)
    assert alarms.sounding().kind == "camera_frozen"
    assert alarms.get("camera_frozen").state == State.ACTIVE
    reminder = alarms.log[-1]
    assert (reminder.t, reminder.state) == (160.0, "active") and "reminder" in reminder.note
    alarms.acknowledge()
    clock.set(309.0)
    assert alarms.sounding() is None
    clock.set(310.0)
    assert alarms.sounding().kind == "camera_frozen"


def test_acknowledged_alarm_ends_without_reminder_when_condition_ends():
    clock, alarms, _ = make()
    alarms.set_condition("inference_error", True)
    alarms.acknowledge()
    clock.advance(100.0)
    alarms.set_condition("inference_error", False)
    clock.advance(1000.0)
    assert alarms.active_alarms() == []
    assert not any("reminder" in e.note for e in alarms.log)


def test_new_surge_after_acknowledge_sounds_again():
    clock, alarms, _ = make()
    alarms.raise_event("pain_surge")
    alarms.acknowledge()
    clock.advance(20.0)
    assert alarms.sounding() is None
    alarms.raise_event("pain_surge")
    assert alarms.sounding().kind == "pain_surge"
    assert alarms.get("pain_surge").since == 0.0  # same episode, still above threshold


def test_acknowledge_all_in_priority_order_and_pending_conditions_untouched():
    clock, alarms, _ = make(face_not_seen_s=10.0)
    alarms.set_condition("camera_lost", True)
    alarms.raise_event("pain_surge")
    alarms.set_condition("face_not_seen", True)  # pending, not an alarm yet
    clock.advance(1.0)
    assert alarms.acknowledge() == ["camera_lost", "pain_surge"]
    clock.advance(9.0)
    assert alarms.sounding().kind == "face_not_seen"


# -- priorities ------------------------------------------------------------------------------


def test_only_the_highest_priority_alarm_sounds():
    clock, alarms, _ = make(face_not_seen_s=0.0, sustained_pain_s=0.0)
    alarms.set_condition("face_not_seen", True)
    clock.advance(1.0)
    alarms.set_condition("camera_lost", True)
    clock.advance(1.0)
    alarms.raise_event("pain_surge")
    clock.advance(1.0)
    alarms.set_condition("sustained_pain", True)
    assert states(alarms) == [
        ("sustained_pain", "active"),
        ("camera_lost", "active"),
        ("pain_surge", "active"),
        ("face_not_seen", "active"),
    ]
    assert alarms.sounding().kind == "sustained_pain"
    assert alarms.highest().kind == "sustained_pain" and alarms.visual() == (RED, 2.0)
    alarms.acknowledge("sustained_pain")
    assert alarms.sounding().kind == "camera_lost"  # older of the two medium alarms
    assert alarms.visual() == (RED, 2.0)  # the acknowledged high alarm is still shown
    alarms.acknowledge("camera_lost")
    alarms.acknowledge("pain_surge")
    assert alarms.sounding().kind == "face_not_seen"


def test_visual_gives_colour_and_flash_rate_of_the_highest_alarm():
    _, alarms, _ = make(face_not_seen_s=0.0)
    assert alarms.visual() is None
    alarms.set_condition("audio_failure", True)
    assert alarms.visual() == (CYAN, 0.0)
    alarms.set_condition("camera_lost", True)
    assert alarms.visual() == (YELLOW, 0.5)
    alarms.raise_event("sustained_pain")
    assert alarms.visual() == (RED, 2.0)
    alarms.acknowledge()
    alarms.set_condition("sustained_pain", False)
    alarms.set_condition("camera_lost", False)
    assert alarms.visual() == (CYAN, 0.0)


# -- audio pause -----------------------------------------------------------------------------


def test_pause_silences_with_countdown_and_sound_returns_by_itself():
    clock, alarms, _ = make()
    alarms.raise_event("pain_surge")
    clock.advance(1.0)
    alarms.pause_audio()
    assert alarms.audio_paused() and alarms.sounding() is None
    remaining = []
    for t in (1.0, 31.0, 61.0, 91.0, 120.9):
        clock.set(t)
        remaining.append(alarms.audio_paused_remaining())
        assert alarms.visual() == (YELLOW, 0.5)
        assert alarms.highest().state == State.ACTIVE
    assert remaining == pytest.approx([120.0, 90.0, 60.0, 30.0, 0.1])
    assert alarms.sounding() is None
    clock.set(125.0)
    assert alarms.sounding().kind == "pain_surge"
    assert not alarms.audio_paused() and alarms.audio_paused_remaining() == 0.0
    assert entries(alarms, AUDIO_PAUSE) == [
        (1.0, AUDIO_PAUSE, "paused"),
        (121.0, AUDIO_PAUSE, "resumed"),
    ]


def test_pause_choices_are_validated():
    _, alarms, _ = make()
    for bad in (90, 0, -60, "120", True, float("nan")):
        with pytest.raises(ValueError, match="60, 120, 180"):
            alarms.pause_audio(bad)
    assert not alarms.audio_paused() and alarms.log == []
    alarms.pause_audio(60)
    assert alarms.audio_paused_remaining() == 60.0
    assert alarms.pause_audio(180.0) is False  # pausing again changes nothing
    assert alarms.audio_paused_remaining() == 60.0
    assert alarms.resume_audio() is True and not alarms.audio_paused()
    assert alarms.pause_audio(180.0) is True
    assert alarms.audio_paused_remaining() == 180.0
    with pytest.raises(ValueError, match="pause choices"):
        AlarmSettings(audio_pause_s=90.0)
    with pytest.raises(ValueError, match="audio_pause_s"):
        alarms.update_settings(pause_choices_s=(60.0,))


def test_cancel_pause_brings_sound_back_now():
    clock, alarms, _ = make()
    assert alarms.cancel_pause() is False
    alarms.set_condition("camera_lost", True)
    alarms.pause_audio(60)
    clock.advance(10.0)
    assert alarms.cancel_pause() is True
    assert alarms.sounding().kind == "camera_lost" and alarms.audio_paused_remaining() == 0.0
    assert alarms.log[-1].state == "resumed" and "cancelled" in alarms.log[-1].note


def test_higher_priority_alarm_breaks_through_a_pause():
    clock, alarms, _ = make(sustained_pain_s=30.0, face_not_seen_s=0.0)
    alarms.raise_event("pain_surge")
    alarms.pause_audio(120)
    clock.advance(5.0)
    alarms.set_condition("camera_lost", True)  # medium: not above the medium at pause start
    alarms.set_condition("face_not_seen", True)
    assert alarms.sounding() is None and alarms.breakthrough() is None
    alarms.set_condition("sustained_pain", True)
    clock.advance(30.0)
    assert alarms.audio_paused()
    assert alarms.sounding().kind == "sustained_pain"
    assert alarms.breakthrough().label == "Sustained pain"  # what the banner names
    breakthrough = [e for e in alarms.log if e.kind == "sustained_pain" and e.state == "active"]
    assert breakthrough[0].t == 35.0 and "sounds through" in breakthrough[0].note
    alarms.acknowledge("sustained_pain")
    assert alarms.sounding() is None  # the others are still paused
    clock.set(120.0)
    assert alarms.sounding().kind == "pain_surge"


def test_alarm_present_at_pause_start_does_not_break_through():
    clock, alarms, _ = make(sustained_pain_s=0.0)
    alarms.raise_event("sustained_pain")
    alarms.pause_audio()
    clock.advance(1.0)
    alarms.set_condition("sustained_pain", False)  # latched, still paused
    assert alarms.get("sustained_pain").state == State.LATCHED and alarms.sounding() is None
    alarms.set_condition("camera_lost", True)
    assert alarms.sounding() is None
    clock.set(120.0)
    assert alarms.sounding().kind == "sustained_pain"


def test_pause_with_no_alarm_lets_only_high_priority_through():
    _, alarms, _ = make(sustained_pain_s=0.0)
    alarms.pause_audio(60)
    alarms.raise_event("pain_surge")
    alarms.set_condition("camera_lost", True)
    assert alarms.sounding() is None
    alarms.set_condition("sustained_pain", True)
    assert alarms.sounding().kind == "sustained_pain"


def test_reminder_during_pause_waits_for_the_pause_to_end():
    clock, alarms, _ = make(reminder_s=150.0)
    alarms.set_condition("camera_lost", True)
    alarms.acknowledge()
    clock.advance(100.0)
    alarms.pause_audio(120)
    clock.set(150.0)
    assert alarms.get("camera_lost").state == State.ACTIVE and alarms.sounding() is None
    clock.set(220.0)
    assert alarms.sounding().kind == "camera_lost"


# -- log --------------------------------------------------------------------------------------


def test_every_transition_is_logged_with_its_clock_time_and_reported():
    clock, alarms, seen = make(sustained_pain_s=30.0, reminder_s=150.0)
    clock.set(5.0)
    alarms.raise_event("pain_surge")
    clock.set(6.0)
    alarms.set_condition("sustained_pain", True)
    clock.set(8.0)
    alarms.acknowledge("pain_surge")
    clock.set(10.0)
    alarms.pause_audio(60)
    clock.set(20.0)
    alarms.set_condition("pain_surge", False)
    clock.set(40.0)
    alarms.set_condition("sustained_pain", False)
    clock.set(45.0)
    alarms.acknowledge()
    clock.set(50.0)
    alarms.update_settings(reminder_s=120.0)
    alarms.update_settings(reminder_s=120.0)  # no change, no entry
    clock.set(80.0)
    alarms.update()
    assert entries(alarms) == [
        (5.0, "pain_surge", "active"),
        (6.0, "sustained_pain", "pending"),
        (8.0, "pain_surge", "acknowledged"),
        (10.0, AUDIO_PAUSE, "paused"),
        (20.0, "pain_surge", "inactive"),
        (36.0, "sustained_pain", "active"),
        (40.0, "sustained_pain", "latched"),
        (45.0, "sustained_pain", "acknowledged"),
        (45.0, "sustained_pain", "inactive"),
        (50.0, SETTINGS, "changed"),
        (70.0, AUDIO_PAUSE, "resumed"),
    ]
    assert seen == alarms.log
    assert alarms.log[5].priority is Priority.HIGH and "sounds through" in alarms.log[5].note
    assert alarms.log[3].priority is None and "60 s" in alarms.log[3].note
    assert alarms.log[9].note == "reminder_s: 150.0 -> 120.0"


def test_on_change_may_query_and_its_errors_do_not_stop_alarms(caplog):
    clock = FakeClock()
    seen = []

    def recorder(entry):
        seen.append((entry.state, [a.kind for a in alarms.active_alarms()]))
        raise OSError("disk full")

    alarms = AlarmManager(clock, on_change=recorder)
    with caplog.at_level(logging.ERROR, logger="painsign.alarms.manager"):
        alarms.raise_event("pain_surge")
        alarms.set_condition("camera_lost", True)
    assert alarms.sounding().kind == "pain_surge"
    assert seen == [
        ("active", ["pain_surge"]),
        ("pending", ["pain_surge", "camera_lost"]),
        ("active", ["pain_surge", "camera_lost"]),
    ]
    assert "disk full" in caplog.text and len(alarms.log) == 3


def test_update_settings_validates():
    _, alarms, _ = make()
    with pytest.raises(ValueError, match="unknown alarm settings"):
        alarms.update_settings(reminder=10.0)
    with pytest.raises(ValueError, match="reminder_s"):
        alarms.update_settings(reminder_s=0.0)
    with pytest.raises(ValueError, match="sustained_pain_s"):
        AlarmSettings(delays_s={"sustained_pain": 5.0})
    with pytest.raises(ValueError, match="face_not_seen_s"):
        AlarmSettings(face_not_seen_s=-1.0)
    alarms.update_settings(AlarmSettings(face_not_seen_s=5.0))
    assert alarms.settings.face_not_seen_s == 5.0
    assert alarms.log[-1].note == "face_not_seen_s: 10.0 -> 5.0"


# -- clocks -----------------------------------------------------------------------------------


def test_clocks():
    clock = FakeClock(start=3.0)
    assert clock.now() == 3.0 and clock.advance(2.0) == 5.0 and clock.set(7.5) == 7.5
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1.0)
    with pytest.raises(ValueError, match="forward"):
        clock.set(7.0)
    real = MonotonicClock()
    a, b = real.now(), real.now()
    assert b >= a
    assert isinstance(AlarmManager().clock, MonotonicClock)


def test_end_of_an_alarm_says_how_long_its_condition_lasted():
    clock, alarms, _ = make()
    alarms.set_condition("camera_lost", True)
    clock.advance(16.0)
    alarms.set_condition("camera_lost", False)
    assert alarms.log[-1].state == "inactive"
    assert alarms.log[-1].note == "cleared: condition ended after 16.0 s"
