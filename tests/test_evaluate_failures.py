"""A scorer that fails during ``painsign evaluate`` fails alone: on images, on some or
all of a video's frames, and through the command (exit 1, the others' metrics unchanged)."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
from test_evaluate import dataset, parse  # noqa: F401  (dataset: the fixture)

from painsign.research.evaluate import score_items
from painsign.research.labels import read_labels
from painsign.scoring.base import Score


class RaisingEvery:
    """A Python plug-in scorer that raises on every ``every``-th call since its reset."""

    name = "flaky"
    threshold = 0.5

    def __init__(self, every: int):
        self.every, self.calls = every, 0

    def reset(self):
        self.calls = 0

    def score(self, frame):
        self.calls += 1
        if self.calls % self.every == 0:
            raise RuntimeError("flaky fails")
        return Score(0.4)


def test_a_scorer_that_raises_fails_alone_on_images_and_on_video_frames(dataset, tracker):  # noqa: F811
    items = read_labels(dataset / "LABELS.csv", groups="baby")
    items = [it for it in items if it.name in ("stills/grimace.png", "b1_rest.mp4")]
    every_call, every_3rd = RaisingEvery(1), RaisingEvery(3)
    every_3rd.name = "flaky3"
    steady = RaisingEvery(10**9)  # never raises
    steady.name = "steady"
    scored = {
        r.item.name: r for r in score_items(items, lambda: [every_call, steady, every_3rd], tracker)
    }
    still, clip = scored["stills/grimace.png"], scored["b1_rest.mp4"]
    assert still.failures == {"flaky": "failed (RuntimeError: flaky fails)"}
    assert np.isnan(still.scores["flaky"])
    assert still.scores["steady"] == pytest.approx(0.4)  # scored after the failure
    assert still.scores["flaky3"] == pytest.approx(0.4)  # its first call: no failure
    # The clip: the first always fails (no score), the other fails on every 3rd frame
    # and its sign covers the frames it scored.
    found = re.fullmatch(
        r"failed on (\d+) of (\d+) frames with a face \(RuntimeError: flaky fails\)",
        clip.failures["flaky"],
    )
    assert found and found[1] == found[2] and int(found[2]) > 20
    faces = int(found[2])
    assert np.isnan(clip.scores["flaky"])
    assert clip.failures["flaky3"].startswith(f"failed on {faces // 3} of {faces} frames")
    assert clip.scores["flaky3"] == pytest.approx(0.4)
    assert "steady" not in clip.failures and clip.scores["steady"] == pytest.approx(0.4)


def test_a_crashing_plugin_exits_1_and_leaves_the_other_metrics_unchanged(
    dataset,  # noqa: F811
    tmp_path,
    capsys,
):
    from test_scorer_isolation import crashing_plugin

    from painsign.errors import PainsignError

    labels = dataset / "mixed.csv"
    labels.write_text(
        "path,label\nstills/grimace.png,pain\nstills/rest.jpg,no pain\nb1_grimace.mp4,pain\n"
        "b1_rest.mp4,no pain\n"
    )
    args = parse(str(labels), "--out", str(tmp_path / "base"), "--quiet")
    assert args.run(args) == 0
    crash = crashing_plugin(tmp_path)
    args = parse(str(labels), "--out", str(tmp_path / "crash"), "--model", str(crash))
    with pytest.raises(PainsignError) as caught:
        args.run(args)
    assert caught.value.exit_code == 1
    assert str(caught.value).startswith("scorer 'crash_model' failed on 4 of 4 items (first: ")
    assert "onnxruntime: " in str(caught.value)
    printed = capsys.readouterr()
    err = printed.err
    assert "[1/4] stills/grimace.png: " in err and "crash_model - (scorer failed (" in err
    row = next(line for line in printed.out.splitlines() if line.startswith("crash_model"))
    assert row.split()[1:4] == ["0", "0", "4"]  # n, no face, failed
    base = json.loads((tmp_path / "base" / "evaluation.json").read_text())
    crashed = json.loads((tmp_path / "crash" / "evaluation.json").read_text())
    for name, entry in base["scorers"].items():
        assert crashed["scorers"][name] == entry, name
        assert entry["n_failed"] == 0 and entry["failure"] is None
    entry = crashed["scorers"]["crash_model"]
    assert (entry["n"], entry["n_failed"], entry["n_no_face"]) == (0, 4, 0)
    assert crashed["scorer_failures"] and not base["scorer_failures"]
    with open(tmp_path / "crash" / "scores.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["score_crash_model"] for r in rows] == ["nan"] * 4
