"""The seams of the slimmer monitor engine: what the dashboard is given instead of reaching
through the engine, snapshots decided by the domain rule and stored through the recorder,
and one box-growing function for the classifier's crop and its explanation."""

from __future__ import annotations

import math
import re
import sqlite3
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from monitor_fakes import ScriptedAnalyzer, ScriptedCamera, ScriptSource, feed
from test_explain import quadrant_model

from painsign.capture import FileSource
from painsign.monitor import face_snapshots
from painsign.monitor.engine import MonitorEngine, MonitorSettings
from painsign.monitor.state import ScorerLabel
from painsign.research.explain import occlusion_map
from painsign.scoring.onnx_scorer import OnnxClassifierScorer
from painsign.signal import threshold_crossings, threshold_side
from painsign.storage import SessionRecorder

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo_grimace.mp4"


# -- the dashboard is given what it needs ----------------------------------------------------


def test_the_gui_does_not_reach_through_the_engine():
    reach = re.compile(r"engine\s*\.\s*(source|analyzer|alarms|recorder)\b")
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((ROOT / "painsign" / "gui").glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if reach.search(line)
    ]
    assert found == []


def _media_after(engine, wall_s: float) -> float:
    """Media time the replay advanced in ``wall_s`` seconds of wall time."""
    before = engine.snapshot().media_t
    time.sleep(wall_s)
    return engine.snapshot().media_t - before


def test_speed_and_pause_of_a_real_replay_through_the_engine(qtbot):
    from painsign.gui.dashboard import Dashboard

    # A real file paced by FileSource; the scripted analyzer keeps inference out of the way.
    engine = MonitorEngine(
        FileSource(DEMO, speed=1.0), ScriptedAnalyzer(lambda t: 0.3), MonitorSettings(bed="bed 2")
    )
    window = Dashboard(engine)
    window.timer.stop()
    qtbot.addWidget(window)
    assert engine.is_replay and engine.replay_speed == 1.0
    assert window.replay_bar.speed.currentText() == "1x"
    engine.start()
    try:
        qtbot.waitUntil(lambda: (engine.snapshot().media_t or 0.0) > 0.2, timeout=10_000)
        assert _media_after(engine, 0.6) < 1.0  # real time
        window.replay_bar.speed.setCurrentText("4x")
        assert engine.replay_speed == 4.0 and engine.snapshot().replay["speed"] == 4.0
        assert _media_after(engine, 0.6) > 1.5  # four times real time (2.4 s), with slack
        window.play_button.click()  # "Pause"
        qtbot.waitUntil(lambda: engine.snapshot().input_state == "paused", timeout=5_000)
        assert _media_after(engine, 0.4) == 0.0
        window.play_button.click()  # "Play"
        qtbot.waitUntil(lambda: engine.snapshot().input_state == "live", timeout=5_000)
        assert _media_after(engine, 0.4) > 0.0
    finally:
        engine.stop()


def test_a_live_source_is_no_replay():
    engine = MonitorEngine(ScriptedCamera(), ScriptedAnalyzer(lambda t: 0.3))
    assert not engine.is_replay and engine.replay_speed == 1.0
    for control in (engine.pause_replay, engine.resume_replay):
        with pytest.raises(ValueError, match="is live"):
            control()
    with pytest.raises(ValueError, match="is live"):
        engine.set_replay_speed(2.0)


def test_the_primary_scorer_is_named_by_the_engine(qtbot):
    from painsign.gui.dashboard import Dashboard

    engine = MonitorEngine(ScriptSource(), ScriptedAnalyzer(lambda t: 0.3))
    assert engine.primary_scorer == ScorerLabel("nfcs", "NFCS", 0.5)
    window = Dashboard(engine)
    window.timer.stop()
    qtbot.addWidget(window)
    assert window.big.title.text() == "NFCS"


# -- snapshots: the rule decides, the monitor cuts, storage stores ---------------------------


def _script(t):
    """No pain, pain, a face gap inside the pain, pain again, no pain; 0.5 exactly too."""
    if t < 1.0:
        return 0.2
    if 2.0 <= t < 2.5:
        return None
    if t < 3.5:
        return 0.5 if 1.2 <= t < 1.3 else 0.8
    return 0.2


def _replay(tmp_path, snapshots: bool):
    path = tmp_path / "s.db"
    analyzer = ScriptedAnalyzer(_script)
    with SessionRecorder(
        path, "b", "file scripted.mp4", analyzer.scorers, {}, snapshots=snapshots
    ) as recorder:
        source = ScriptSource()
        engine = MonitorEngine(source, analyzer, recorder=recorder)
        feed(engine, source, 0.0, 5.0)
        recorder.flush()
    conn = sqlite3.connect(path)
    try:
        samples = conn.execute("SELECT t, p FROM samples ORDER BY t").fetchall()
        shots = conn.execute("SELECT t, state, png FROM snapshots ORDER BY t").fetchall()
    finally:
        conn.close()
    return source, samples, shots


def test_snapshots_follow_the_recorders_opt_in_and_the_side_rule(tmp_path, monkeypatch):
    cuts = []
    crop = face_snapshots.face_crop
    monkeypatch.setattr(
        face_snapshots, "face_crop", lambda bgr, box: cuts.append(1) or crop(bgr, box)
    )
    _, _, shots = _replay(tmp_path / "off", snapshots=False)
    assert shots == [] and cuts == []  # snapshots off: not one face is even cut

    source, samples, shots = _replay(tmp_path / "on", snapshots=True)
    p = np.array([np.nan if v is None else v for _, v in samples])
    # N crossings of the stored live sign -> N + 1 snapshots; the gap inside the pain
    # changes no state, so it takes none
    assert threshold_crossings(p, 0.5) == 2
    assert [state for _, state, _ in shots] == ["no pain", "pain", "no pain"]
    t = np.array([t for t, _ in samples])
    for shot_t, state, png in shots:
        i = int(np.flatnonzero(t == shot_t)[0])
        before = [threshold_side(v, 0.5) for v in p[:i] if threshold_side(v, 0.5) != 0]
        side = threshold_side(p[i], 0.5)
        assert side == (1 if state == "pain" else -1)
        assert not before or before[-1] != side  # the first sample of its state
        index = round(shot_t * 30)
        face = source.frame(index, shot_t).bgr[4:46, 4:46]  # box (10, 10, 40, 40) + 20 %
        decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(decoded, face)
    assert len(cuts) == 3


# -- one box-growing function ----------------------------------------------------------------


@pytest.mark.parametrize("box", [(40.5, 30.5, 72.5, 62.5), (-9.3, 5.5, 22.7, 37.5)])
def test_the_explained_crop_is_the_crop_the_model_sees(tmp_path, box):
    # Box 32 px, margin 0.25: a 48-px crop, the model's input size, so the scorer feeds the
    # crop unresized and unscaled ("raw") and its input can be compared pixel by pixel.
    scorer = OnnxClassifierScorer(
        quadrant_model(
            tmp_path, size=48, crop_margin=0.25, resize="stretch", scaling={"kind": "raw"}
        )
    )
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, size=(90, 110, 3), dtype=np.uint8)
    seen = scorer.preprocess(rgb, box)[0].transpose(1, 2, 0)
    omap = occlusion_map(scorer, rgb, box, patch=16, stride=16)
    assert omap.crop.shape == seen.shape == (48, 48, 3)
    np.testing.assert_array_equal(omap.crop, seen.astype(np.uint8))
    assert math.isfinite(omap.base_p)
