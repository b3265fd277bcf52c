"""`painsign evaluate`: metrics on hand-counted cases, Youden and confusion counts against
brute force and scikit-learn, leave-subjects-out folds, LABELS.csv checks, and the command
end to end on synthetic clips and images of a real face."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)
from synthetic import neutral_animator

from painsign.cli import evaluate_cmd
from painsign.errors import InputError
from painsign.research.evaluate import score_items
from painsign.research.labels import read_labels
from painsign.research.metrics import (
    auc,
    binary_metrics,
    brier_score,
    calibration_curve,
    cross_validated,
    grouped_folds,
    precision_recall_points,
    roc_curve_points,
    youden_threshold,
)
from painsign.scoring.base import Score
from painsign.synth.animator import Segment, truth_at, write_video
from painsign.synth.scenarios import GRIMACE

FPS = 10.0
SECONDS = 4.0


def random_case(seed: int, n: int = 60):
    """Labels and scores rounded to 0.05 (many ties), pain scoring a little higher."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = (0, 1)
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    return y, np.round(s * 20) / 20


# --- metrics ---------------------------------------------------------------------------


#: Six items counted by hand: pain scores 0.35, 0.8, 0.5; no-pain scores 0.1, 0.4, 0.8.
HAND_Y = [0, 0, 1, 1, 0, 1]
HAND_S = [0.1, 0.4, 0.35, 0.8, 0.8, 0.5]


def test_roc_curve_and_auc_on_a_hand_counted_case():
    fpr, tpr, thr = roc_curve_points(HAND_Y, HAND_S)
    # score >= 0.8: 1 of 3 pain, 1 of 3 no pain; >= 0.5: 2, 1; >= 0.4: 2, 2; >= 0.35: 3, 2
    np.testing.assert_array_equal(thr, [np.inf, 0.8, 0.5, 0.4, 0.35, 0.1])
    np.testing.assert_allclose(tpr * 3, [0, 1, 2, 2, 3, 3])
    np.testing.assert_allclose(fpr * 3, [0, 1, 1, 2, 2, 3])
    # Pairs pain > no pain: 0.35 beats 1, 0.8 beats 2 and ties 1, 0.5 beats 2 -> 5.5 of 9.
    assert auc(HAND_Y, HAND_S) == pytest.approx(5.5 / 9, abs=1e-12)
    # Every threshold is kept, even one on a straight stretch of the curve.
    fpr, tpr, thr = roc_curve_points([1, 1, 0], [0.9, 0.8, 0.1])
    assert thr.tolist() == [np.inf, 0.9, 0.8, 0.1] and tpr.tolist() == [0, 0.5, 1, 1]


def test_precision_recall_on_a_hand_counted_case():
    p, r, t = precision_recall_points(HAND_Y, HAND_S)
    np.testing.assert_array_equal(t, [0.1, 0.35, 0.4, 0.5, 0.8])
    np.testing.assert_allclose(p, [3 / 6, 3 / 5, 2 / 4, 2 / 3, 1 / 2, 1.0])
    np.testing.assert_allclose(r, [1, 1, 2 / 3, 2 / 3, 1 / 3, 0])
    with pytest.raises(ValueError, match="at least one pain item"):
        precision_recall_points([0, 0], [0.1, 0.2])


def test_brier_score_by_hand():
    assert brier_score([0, 1, 1], [0.2, 0.6, 1.0]) == pytest.approx((0.04 + 0.16) / 3)
    assert brier_score([1, 1], [0.5, 1.0]) == pytest.approx(0.125)  # one class is fine
    with pytest.raises(ValueError, match="at least one item"):
        brier_score([], [])


def test_calibration_bins_values_on_edges_low_and_counts_each_bin():
    # Five bins, edges 0, .2, .4, .6, .8, 1: 0.2 and 0.6 lie on inner edges and go to the
    # lower bin, so bin 1 holds {0, .2, .2}, bin 3 {.5, .6}, bin 5 {1}; bins 2 and 4 empty.
    y = [0, 0, 1, 1, 1, 1]
    p = [0.0, 0.2, 0.2, 0.5, 0.6, 1.0]
    true, pred, count = calibration_curve(y, p, bins=5)
    np.testing.assert_allclose(true, [1 / 3, 1.0, 1.0])
    np.testing.assert_allclose(pred, [0.4 / 3, 0.55, 1.0])
    assert count.tolist() == [3, 2, 1]
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        calibration_curve([0, 1], [0.5, 1.5])


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_sklearn(seed):
    y, s = random_case(seed)
    for thr in (0.3, 0.45, 0.5, 0.65):
        m = binary_metrics(y, s, thr)
        pred = (s >= thr).astype(int)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (tn, fp, fn, tp)
        assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
        assert m["sensitivity"] == pytest.approx(recall_score(y, pred))
        assert m["specificity"] == pytest.approx(recall_score(1 - y, 1 - pred))
        assert m["precision"] == pytest.approx(precision_score(y, pred))
        assert m["f1"] == pytest.approx(f1_score(y, pred))


def test_auc_counts_a_tie_as_one_half():
    assert auc([0, 1], [0.5, 0.5]) == 0.5
    assert auc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]) == pytest.approx(0.875)


def test_curves_need_both_classes():
    with pytest.raises(ValueError, match="both pain and no-pain"):
        auc([1, 1, 1], [0.2, 0.5, 0.7])
    with pytest.raises(ValueError, match="both pain and no-pain"):
        youden_threshold([0, 0], [0.2, 0.5])


@pytest.mark.parametrize("seed", range(8))
def test_youden_threshold_is_the_brute_force_optimum(seed):
    y, s = random_case(seed, n=40)
    thr, tpr, fpr = youden_threshold(y, s)
    # Every threshold that can give a different prediction: each score, midpoints, ends.
    u = np.unique(s)
    candidates = np.concatenate([u, (u[1:] + u[:-1]) / 2, [u[0] - 1, u[-1] + 1]])
    j = np.array(
        [recall_score(y, s >= c, zero_division=0.0) - np.mean((s >= c)[y == 0]) for c in candidates]
    )
    assert tpr - fpr == pytest.approx(j.max(), abs=1e-12)
    best_scores = u[np.isclose(j[: u.size], j.max(), atol=1e-12)]
    assert thr == best_scores.max()  # the highest of the optimal thresholds
    assert tpr == pytest.approx(recall_score(y, s >= thr))
    assert fpr == pytest.approx(np.mean((s >= thr)[y == 0]))


# --- leave-subjects-out folds ----------------------------------------------------------


def subjects_case(seed: int = 0, n_subjects: int = 9):
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"s{i}" for i in range(n_subjects)], rng.integers(2, 7, n_subjects))
    y = np.tile([0, 1], groups.size)[: groups.size]
    s = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.15), 0, 1), 2)
    return y, s, groups


@pytest.mark.parametrize("k", [2, 3, 5, 9])
def test_grouped_folds_never_split_a_subject(k):
    _, _, groups = subjects_case()
    folds = grouped_folds(groups, k, seed=3)
    assert len(folds) == k
    tested = np.concatenate([test for _, test in folds])
    assert np.array_equal(np.sort(tested), np.arange(groups.size))  # each item tested once
    for train, test in folds:
        assert test.size > 0
        assert not set(groups[train]) & set(groups[test])
        assert np.array_equal(np.sort(np.r_[train, test]), np.arange(groups.size))


def test_grouped_folds_are_seeded():
    _, _, groups = subjects_case()
    tests = {
        seed: [t.tolist() for _, t in grouped_folds(groups, 3, seed=seed)] for seed in range(6)
    }
    assert tests[4] == [t.tolist() for _, t in grouped_folds(groups, 3, seed=4)]
    assert len({json.dumps(sorted(v)) for v in tests.values()}) > 1  # the seed matters


def test_grouped_folds_with_labels_balance_pain_subjects():
    # Three subjects only in pain and three never: with labels each of 3 folds tests one
    # of each, so every training fold keeps both classes.
    groups = np.repeat(["p1", "p2", "p3", "n1", "n2", "n3"], 4)
    y = np.repeat([1, 1, 1, 0, 0, 0], 4)
    for seed in range(5):
        for train, test in grouped_folds(groups, 3, seed=seed, y=y):
            assert sorted(set(y[test])) == [0, 1]
            assert not set(groups[train]) & set(groups[test])
    cv = cross_validated(y, np.where(y == 1, 0.7, 0.3), groups, 3)
    assert cv["pooled"]["accuracy"] == 1.0


def test_grouped_folds_check_k():
    with pytest.raises(ValueError, match="at least 4 subjects, found 3"):
        grouped_folds(["a", "b", "c", "c"], 4)
    with pytest.raises(ValueError, match="at least 2 folds"):
        grouped_folds(["a", "b"], 1)


def test_fold_thresholds_ignore_the_test_subjects():
    y, s, groups = subjects_case(seed=1)
    k = 3
    before = cross_validated(y, s, groups, k)
    folds = grouped_folds(groups, k, y=y)
    for i, (train, test) in enumerate(folds):
        assert before["folds"][i]["threshold"] == youden_threshold(y[train], s[train])[0]
        assert before["folds"][i]["test_groups"] == sorted(set(groups[test]))
        # Make the test subjects' scores extreme and the wrong way round.
        s2 = s.copy()
        s2[test] = np.where(y[test] == 1, 0.0, 1.0)
        after = cross_validated(y, s2, groups, k)
        assert after["folds"][i]["threshold"] == before["folds"][i]["threshold"]
        assert after["folds"][i]["sensitivity"] == 0.0  # ...and the held-out fold shows it
        assert after["folds"][i]["specificity"] == 0.0
        changed = [
            after["folds"][j]["threshold"] != before["folds"][j]["threshold"]
            for j in range(k)
            if j != i
        ]
        assert any(changed)  # the same scores do move thresholds when used for training


def test_cross_validated_pools_held_out_predictions():
    y, s, groups = subjects_case(seed=2)
    cv = cross_validated(y, s, groups, 3)
    pooled = cv["pooled"]
    for key in ("tp", "fp", "tn", "fn"):
        assert pooled[key] == sum(f[key] for f in cv["folds"])
    assert pooled["tp"] + pooled["fp"] + pooled["tn"] + pooled["fn"] == y.size
    assert pooled["mean_threshold"] == pytest.approx(np.mean([f["threshold"] for f in cv["folds"]]))


def test_cross_validated_explains_a_training_fold_with_one_class():
    y = np.array([0, 1, 1, 1])
    groups = np.array(["a", "b", "b", "c"])  # leaving out "a" leaves only pain to train on
    with pytest.raises(ValueError, match=r"fold \d: training subjects needs both"):
        cross_validated(y, np.linspace(0, 1, 4), groups, 3)


# --- LABELS.csv -------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture()
def items_dir(tmp_path):
    for name in ("a.mp4", "b.mp4", "c.png"):
        (tmp_path / name).write_bytes(b"")
    return tmp_path


def test_labels_read_and_resolve(items_dir):
    (items_dir / "sub").mkdir()
    write(items_dir / "sub" / "f.csv", "t,label\n2.0,pain\n0,no pain\n5, No Pain\n")
    labels = write(
        items_dir / "labels.csv",
        "Path , Label,Subject,start,end,frame_labels\n"
        "a.mp4,pain,s1,1.5,4,sub/f.csv\n\n"
        "b.mp4, No Pain ,s2,,,\n"
        "c.png,1,s2,,,\n",
    )
    items = read_labels(labels)
    assert [it.label for it in items] == [1, 0, 1]
    assert [it.group for it in items] == ["s1", "s2", "s2"]
    assert items[0].path == items_dir / "a.mp4" and items[0].line == 2
    assert (items[0].start, items[0].end) == (1.5, 4.0)
    assert items[2].is_image and not items[0].is_image and items[2].line == 5
    fl = items[0].frame_labels
    assert fl.at([-1.0, 0.0, 1.9, 2.0, 4.9, 5.0, 99.0]).tolist() == [-1, 0, 0, 1, 1, 0, 0]
    for value, want in (("yes", 1), ("TRUE", 1), ("0", 0), ("no_pain", 0), ("false", 0)):
        write(labels, f"path,label\na.mp4,{value}\nb.mp4,{'no' if want else 'yes'}\n")
        assert read_labels(labels)[0].label == want


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "path,label\na.mp4,pain\nmissing.mp4,no pain\n",
            r"line 3, column 'path': missing.mp4 not",
        ),
        (
            "path,label\na.mp4,pain\nb.mp4,maybe\n",
            r"line 3, column 'label': unknown label "
            r"'maybe'; accepted: 'pain', '1'.*'no pain'",
        ),
        ("path,label\na.mp4,pain\nb.mp4,yes\n", "all 2 items are labelled 'pain'; an AUC needs"),
        ("file,label\na.mp4,pain\n", "no 'path' column"),
        ("path,label,start\na.mp4,pain,soon\nb.mp4,no pain,\n", r"line 2, column 'start': 'soon'"),
        ("path,label,start,end\na.mp4,pain,3,2\nb.mp4,no pain,,\n", "line 2: end 2 s must come"),
        ("path,label,start\na.mp4,pain,\nc.png,no pain,1\n", "line 3: start, end and frame_"),
        ("path,label,subject\na.mp4,pain,s1\nb.mp4,no pain,\n", r"line 3, column 'subject'"),
        ("path,label,frame_labels\na.mp4,pain,nope.csv\n", r"line 2, column 'frame_labels'"),
        ("path,label\n", "has a header but no item"),
        ("", "is empty"),
    ],
)
def test_bad_labels_name_the_line_and_column(items_dir, text, message):
    labels = write(items_dir / "labels.csv", text)
    with pytest.raises(InputError, match=message) as err:
        read_labels(labels)
    assert str(labels) in str(err.value)
    assert err.value.exit_code == 2


def test_bad_frame_labels_name_their_file_and_line(items_dir):
    write(items_dir / "f.csv", "t,label\n0,no pain\n1.5,ouch\n")
    labels = write(
        items_dir / "labels.csv", "path,label,frame_labels\na.mp4,pain,f.csv\nb.mp4,no pain,\n"
    )
    with pytest.raises(InputError, match=r"f.csv line 3, column 'label': unknown label 'ouch'"):
        read_labels(labels)


def test_unknown_groups_column(items_dir):
    labels = write(items_dir / "labels.csv", "path,label\na.mp4,pain\nb.mp4,no pain\n")
    with pytest.raises(InputError, match="--groups 'baby' is not a column"):
        read_labels(labels, groups="baby")


# --- scoring and the command end to end -------------------------------------------------


class CountingScorer:
    """A stand-in scorer that records resets and the times it is called at."""

    name = "counting"
    display_name = "counting"
    threshold = 0.5

    def __init__(self):
        self.resets = 0
        self.calls = 0

    def reset(self):
        self.resets += 1
        self.calls = 0

    def score(self, frame):
        self.calls += 1
        return Score(0.1 * self.calls)  # depends on state: a missing reset would show


def frames_for(segments: list[Segment], duration: float) -> list[np.ndarray]:
    """Render a scenario at FPS, each distinct pose once (the same frames as ``render``
    without chin quiver, the one action that depends on time; keeps the tests fast)."""
    animator, cache, frames = neutral_animator(), {}, []
    for i in range(round(duration * FPS)):
        truth = truth_at(segments, i / FPS)
        key = tuple(sorted(truth.intensities.items()))
        if key not in cache:
            cache[key] = animator.frame(truth)
        frames.append(cache[key])
    return frames


def write_clip(path: Path, segments: list[Segment]) -> None:
    frames = frames_for(segments, SECONDS)
    h, w = frames[0].shape[:2]
    write_video(path, frames, FPS, (w, h))


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="painsign")
    evaluate_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["evaluate", *argv])
    args.models, args.debug = None, False
    return args


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Three subjects, each a 4-s rest clip and a 4-s grimace clip; two stills; a cup."""
    d = tmp_path_factory.mktemp("evaluate")
    rows = ["path,label,baby,start,end,frame_labels"]
    for i, baby in enumerate(("b1", "b2", "b3")):
        onset = 1.5 + 0.3 * i
        write_clip(d / f"{baby}_rest.mp4", [Segment(1.5, SECONDS, {"open_lips": 0.2 + 0.1 * i})])
        write_clip(d / f"{baby}_grimace.mp4", [Segment(onset, SECONDS, GRIMACE, ramp_s=0.3)])
        (d / f"{baby}_frames.csv").write_text(f"t,label\n0,no pain\n{onset},pain\n")
        rows += [
            f"{baby}_rest.mp4,no pain,{baby},,,",
            f"{baby}_grimace.mp4,pain,{baby},,,{baby}_frames.csv",
        ]
    rows.append("b1_grimace.mp4,no pain,b1,0,1.4,")  # the rest before b1's grimace
    (d / "stills").mkdir()
    grimace = frames_for([Segment(0.0, 1.0, GRIMACE, ramp_s=0.0)], 0.1)[0]
    cv2.imwrite(str(d / "stills" / "grimace.png"), grimace)
    cv2.imwrite(str(d / "stills" / "rest.jpg"), frames_for([], 0.1)[0])
    cv2.imwrite(str(d / "stills" / "cup.png"), data.coffee()[:, :, ::-1])
    rows += [
        "stills/grimace.png,pain,b4,,,",
        "stills/rest.jpg,no pain,b4,,,",
        "stills/cup.png,no pain,b5,,,",
    ]
    (d / "LABELS.csv").write_text("\n".join(rows) + "\n")
    return d


@pytest.fixture(scope="module")
def evaluated(dataset):
    out = dataset / "report"
    args = parse(
        str(dataset / "LABELS.csv"),
        "--out",
        str(out),
        "--calibration",
        "1",
        "--folds",
        "3",
        "--groups",
        "baby",
        "--quiet",
    )
    assert args.run(args) == 0
    return out


def test_report_files(evaluated):
    assert {p.name for p in evaluated.iterdir()} == {
        "evaluation.json",
        "scores.csv",
        "roc.png",
        "pr.png",
        "calibration.png",
    }
    for name in ("roc.png", "pr.png", "calibration.png"):
        image = cv2.imread(str(evaluated / name))
        assert image is not None and image.shape[0] > 400


def test_grimace_clips_score_higher_than_rest(evaluated):
    result = json.loads((evaluated / "evaluation.json").read_text())
    assert result["items"] == 10 and result["pain"] == 4 and result["no_pain"] == 6
    assert result["groups_column"] == "baby" and result["subjects"] == 5
    assert result["problems"] == []
    assert result["scorers"]["pain"]["auc"] == 1.0  # the default score
    nfcs = result["scorers"]["nfcs"]
    assert nfcs["n"] == 9 and nfcs["n_no_face"] == 1  # the coffee cup
    assert nfcs["auc"] == 1.0
    assert nfcs["youden"]["sensitivity"] == 1.0 and nfcs["youden"]["specificity"] == 1.0
    assert nfcs["confusion_matrix"]["matrix"] == [
        [nfcs["at_threshold"]["tn"], nfcs["at_threshold"]["fp"]],
        [nfcs["at_threshold"]["fn"], nfcs["at_threshold"]["tp"]],
    ]
    assert 0 <= nfcs["brier"] <= 1 and sum(nfcs["calibration"]["count"]) == 9
    cv = nfcs["cross_validation"]
    assert cv["k"] == 3 and len(cv["folds"]) == 3
    held_out = [g for f in cv["folds"] for g in f["test_groups"]]
    assert sorted(held_out) == ["b1", "b2", "b3", "b4"]  # b5 had no face: no item left
    frames = nfcs["frames"]
    assert frames["items"] == 3 and frames["n"] == 3 * int(SECONDS * FPS)
    assert frames["auc"] > 0.9


def test_scores_csv(evaluated, dataset):
    with open(evaluated / "scores.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "path",
        "label",
        "subject",
        "kind",
        "start",
        "end",
        "score_pain",
        "score_expression",
        "score_nfcs",
    ]
    assert len(rows) == 10
    by = {(r["path"], r["start"]): r for r in rows}
    score = {k: float(r["score_nfcs"]) for k, r in by.items()}
    rest = [score[(f"{b}_rest.mp4", "")] for b in ("b1", "b2", "b3")]
    grimace = [score[(f"{b}_grimace.mp4", "")] for b in ("b1", "b2", "b3")]
    assert min(grimace) > max(rest)
    assert score[("b1_grimace.mp4", "0")] < 0.2  # only the rest before the grimace
    assert score[("stills/grimace.png", "")] > score[("stills/rest.jpg", "")]
    assert np.isnan(score[("stills/cup.png", "")])
    assert by[("stills/cup.png", "")]["kind"] == "image"
    assert by[("b2_rest.mp4", "")]["subject"] == "b2"
    assert by[("b1_grimace.mp4", "0")]["end"] == "1.4"
    # The reported Youden threshold is the one of the written scores.
    result = json.loads((evaluated / "evaluation.json").read_text())
    ok = [r for r in rows if r["score_nfcs"] != "nan"]
    y = [1 if r["label"] == "pain" else 0 for r in ok]
    s = [float(r["score_nfcs"]) for r in ok]
    assert result["scorers"]["nfcs"]["youden"]["threshold"] == pytest.approx(
        youden_threshold(y, s)[0], abs=1e-6
    )


def test_every_item_starts_from_a_fresh_scorer(dataset, tracker):
    items = read_labels(dataset / "LABELS.csv", groups="baby")
    items = [it for it in items if it.is_image or it.name == "b1_rest.mp4"]
    scorer = CountingScorer()
    scored = score_items(items, lambda: [scorer], tracker)
    assert scorer.resets >= len(items)
    by = {r.item.name: r.scores["counting"] for r in scored}
    assert by["stills/grimace.png"] == pytest.approx(0.1)  # first call after a reset
    assert by["stills/rest.jpg"] == pytest.approx(0.1)
    assert np.isnan(by["stills/cup.png"])


def test_command_prints_a_table(dataset, tmp_path, capsys):
    labels = dataset / "two.csv"
    labels.write_text("path,label\nstills/grimace.png,pain\nstills/rest.jpg,no pain\n")
    args = parse(str(labels), "--out", str(tmp_path / "r"))
    assert args.run(args) == 0
    out = capsys.readouterr()
    assert "nfcs" in out.out and "AUC" in out.out and "1.000" in out.out
    assert "[2/2] stills/rest.jpg: pain" in out.err


def test_one_class_left_after_no_face_is_an_error(dataset, tmp_path):
    labels = dataset / "cup.csv"
    labels.write_text("path,label\nstills/cup.png,pain\nstills/rest.jpg,no pain\n")
    args = parse(str(labels), "--out", str(tmp_path / "r"), "--quiet")
    with pytest.raises(InputError, match=r"0 pain, 1 no pain, 1 without a face.*needs both"):
        args.run(args)
    assert (tmp_path / "r" / "scores.csv").is_file()  # the scores are still written


def test_folds_need_enough_subjects(dataset, tmp_path):
    args = parse(
        str(dataset / "LABELS.csv"),
        "--out",
        str(tmp_path / "r"),
        "--folds",
        "6",
        "--groups",
        "baby",
        "--quiet",
    )
    with pytest.raises(InputError, match="--folds 6: needs 2 to 5 folds"):
        args.run(args)
    labels = dataset / "two.csv"
    labels.write_text("path,label\nstills/grimace.png,pain\nstills/rest.jpg,no pain\n")
    args = parse(str(labels), "--out", str(tmp_path / "r"), "--folds", "2", "--quiet")
    with pytest.raises(InputError, match="folds need subjects"):
        args.run(args)


def test_an_unreadable_video_names_its_row(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    (tmp_path / "empty.png").write_bytes(b"")
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\nbroken.mp4,pain\nempty.png,no pain\n")
    args = parse(str(labels), "--out", str(tmp_path / "r"), "--quiet")
    with pytest.raises(InputError, match=r"labels.csv line 2: .*broken.mp4"):
        args.run(args)
