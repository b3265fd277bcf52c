"""Sign types, the decision matrix, the default classifier and the k-means model."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.base import clone

from painsign.research.signtype_model import SignTypeModel
from painsign.signal import (
    MODEL_THRESHOLDS,
    PAPER_CENTROIDS,
    LearnedSignTypes,
    NearestCentroidSignTypes,
    SignType,
    decision_action,
    feature_scale,
    normalise_crossings,
    sliding_windows,
    smooth_sign,
    whole_record_metrics,
)

FPS = 30.0


def _clip_sign(p_raw, threshold=0.5):
    """Whole-record metrics of a 30-fps clip given raw per-frame probabilities."""
    t = np.arange(len(p_raw)) / FPS
    _, p_smooth = smooth_sign(p_raw, FPS)
    return whole_record_metrics(t, p_smooth, threshold)


def _paper_like_windows(rng, n_per_type=30, sd_factor=0.5, table="DEFAULT"):
    xs, kinds = [], []
    for kind, c in PAPER_CENTROIDS[table].items():
        pts = rng.normal(
            (c.entropy, c.crossings),
            (sd_factor * c.entropy_sd, sd_factor * c.crossings_sd),
            size=(n_per_type, 2),
        )
        pts[:, 0] = np.clip(pts[:, 0], 0.0, math.log2(10))
        pts[:, 1] = np.clip(np.round(pts[:, 1]), 0, None)
        xs.append(pts)
        kinds += [kind] * n_per_type
    return np.vstack(xs), kinds


# -- decision matrix -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sign_type", "pain", "action"),
    [
        ("stable", True, "act"),
        ("irregular", True, "act"),
        ("unstable", True, "human review"),
        ("indeterminate", True, "human review"),
        ("stable", False, "no action"),
        ("irregular", False, "no action"),
        ("unstable", False, "human review"),
        ("indeterminate", False, "human review"),
    ],
)
def test_decision_matrix(sign_type, pain, action):
    assert decision_action(sign_type, pain) == action
    assert decision_action(SignType(sign_type), np.bool_(pain)) == action


def test_decision_matrix_rejects_unknown_type():
    with pytest.raises(ValueError, match="unknown sign type 'calm'"):
        decision_action("calm", True)


# -- paper numbers -------------------------------------------------------------------------


def test_paper_centroids_hold_table_3():
    vgg = PAPER_CENTROIDS["VGG-Face"]
    assert tuple(vgg[SignType.STABLE]) == (0.35, 0.16, 0.46, 0.37)
    assert tuple(PAPER_CENTROIDS["N-CNN"]["irregular"]) == (2.31, 2.43, 0.47, 0.89)
    assert tuple(PAPER_CENTROIDS["ViT-B/16"]["unstable"]) == (2.62, 8.00, 0.39, 2.26)
    assert MODEL_THRESHOLDS["N-CNN"] == 0.542


def test_default_centroids_are_the_mean_of_three_models():
    d = PAPER_CENTROIDS["DEFAULT"]
    assert d["stable"].entropy == pytest.approx((0.35 + 0.75 + 1.23) / 3)
    assert d["irregular"].crossings == pytest.approx((2.52 + 2.43 + 3.00) / 3)
    assert d["unstable"].entropy == pytest.approx((2.56 + 2.61 + 2.62) / 3)
    assert d["unstable"].crossings_sd == pytest.approx(math.sqrt((2.30**2 + 1.42**2 + 2.26**2) / 3))


def test_feature_scale_is_pooled_within_type_sd():
    e_sds = [0.46, 0.64, 0.46, 0.66, 0.47, 0.52, 0.79, 0.46, 0.39]
    c_sds = [0.37, 0.91, 2.30, 0.32, 0.89, 1.42, 0.39, 1.13, 2.26]
    e, c = feature_scale("DEFAULT")
    assert e == pytest.approx(math.sqrt(np.mean(np.square(e_sds))))
    assert c == pytest.approx(math.sqrt(np.mean(np.square(c_sds))))
    with pytest.raises(ValueError, match="unknown centroid set"):
        feature_scale("ResNet")


def test_normalise_crossings():
    assert normalise_crossings(3, 10.0) == 6.0
    assert normalise_crossings(4, 40.0) == 2.0
    assert normalise_crossings(4, 20.000000000000227) == 4.0
    with pytest.raises(ValueError, match="duration_s"):
        normalise_crossings(1, 0.0)


# -- default classifier --------------------------------------------------------------------


@pytest.mark.parametrize("table", ["DEFAULT", "VGG-Face", "N-CNN", "ViT-B/16"])
def test_paper_centroids_classify_as_themselves(table):
    clf = NearestCentroidSignTypes(centroids=table)
    for kind, c in PAPER_CENTROIDS[table].items():
        assert clf.classify(c.entropy, c.crossings) == kind


def test_classifier_uses_pooled_sd_units():
    clf = NearestCentroidSignTypes()
    # High entropy with no crossings is irregular (occlusion), not stable.
    assert clf.classify(2.5, 0) == "irregular"
    assert clf.classify(1.2, 0) == "stable"
    assert clf.classify(2.4, 6) == "unstable"
    assert clf.classify(2.4, 3) == "irregular"


def test_indeterminate_rule_limits():
    clf = NearestCentroidSignTypes()
    assert clf.classify(1.49, 4) == "indeterminate"
    assert clf.classify(0.0, 19) == "indeterminate"
    assert clf.classify(1.5, 4) != "indeterminate"
    assert clf.classify(1.0, 3) == "stable"
    custom = NearestCentroidSignTypes(low_entropy_bits=1.0, high_crossings=6)
    assert custom.classify(1.2, 19) != "indeterminate"
    assert custom.classify(0.9, 5) != "indeterminate"
    assert custom.classify(0.9, 6) == "indeterminate"


def test_crossings_are_normalised_to_20_s():
    clf = NearestCentroidSignTypes()
    assert clf.classify(1.0, 2, duration_s=20.0) == "stable"
    assert clf.classify(1.0, 2, duration_s=10.0) == "indeterminate"  # 4 per 20 s
    assert clf.classify(2.6, 14, duration_s=40.0) == "unstable"  # 7 per 20 s
    assert clf.classify(2.6, 14, duration_s=80.0) == "irregular"  # 3.5 per 20 s


def test_no_data_or_short_window_is_indeterminate():
    clf = NearestCentroidSignTypes()
    assert clf.classify(float("nan"), 0) == "indeterminate"
    assert clf.classify(0.1, 0, duration_s=4.9) == "indeterminate"
    assert clf.classify(0.1, 0, duration_s=0.0) == "indeterminate"
    assert clf.classify(0.1, 0, duration_s=5.0) == "stable"


def test_classifier_rejects_bad_parameters():
    with pytest.raises(ValueError, match="low_entropy_bits"):
        NearestCentroidSignTypes(low_entropy_bits=5.0)
    with pytest.raises(ValueError, match="unknown centroid set"):
        NearestCentroidSignTypes(centroids="nope")


# -- sign types of synthetic signals -------------------------------------------------------


def test_rest_like_signal_is_stable():
    rng = np.random.default_rng(7)
    w = _clip_sign(np.clip(0.08 + rng.normal(0, 0.02, 600), 0, 1))
    assert (w.sign_type, w.prediction, w.action) == ("stable", False, "no action")
    w = _clip_sign(np.clip(0.92 + rng.normal(0, 0.02, 600), 0, 1))
    assert (w.sign_type, w.prediction, w.action) == ("stable", True, "act")


def test_signal_alternating_every_second_is_unstable():
    seconds = np.arange(600) // 30
    w = _clip_sign(np.where(seconds % 2 == 0, 0.1, 0.9))
    assert w.crossings >= 15 and w.entropy > 2.5
    assert (w.sign_type, w.action) == ("unstable", "human review")


def test_low_entropy_hovering_on_threshold_is_indeterminate():
    seconds = np.arange(600) // 30
    w = _clip_sign(np.where(seconds % 2 == 0, 0.49, 0.51))
    assert w.entropy <= 1.0 + 1e-9 and w.crossings >= 15
    assert (w.sign_type, w.action) == ("indeterminate", "human review")


def test_occluded_sudden_change_is_irregular():
    # One change of state and back inside 20 s: high entropy, two crossings.
    t = np.arange(600) / FPS
    w = _clip_sign(np.interp(t, [0, 6, 9, 13, 16, 20], [0.1, 0.3, 0.95, 0.95, 0.55, 0.2]))
    assert w.crossings == 2
    assert w.sign_type == "irregular"


# -- SignTypeModel -------------------------------------------------------------------------


def test_model_finds_three_paper_types():
    rng = np.random.default_rng(8)
    x, kinds = _paper_like_windows(rng)
    model = SignTypeModel(random_state=0).fit(x)
    assert model.k_ == 3
    assert sorted(model.names_) == ["irregular", "stable", "unstable"]
    assert set(model.silhouettes_) == set(range(2, 11))
    assert model.silhouette_ == max(model.silhouettes_.values())
    assert model.centroids_.shape == (3, 2) and model.n_windows_ == 90
    predicted = model.predict_sign_types(x)
    assert np.mean([p == k for p, k in zip(predicted, kinds, strict=True)]) > 0.95
    # Named clusters sit near the paper centroids they were drawn around.
    for name, centre in zip(model.names_, model.centroids_, strict=True):
        c = PAPER_CENTROIDS["DEFAULT"][name]
        assert abs(centre[0] - c.entropy) < 0.3 and abs(centre[1] - c.crossings) < 0.8


def test_model_classify_same_interface_and_rules():
    rng = np.random.default_rng(9)
    model = SignTypeModel(random_state=0).fit(_paper_like_windows(rng)[0])
    assert model.classify(0.5, 0) == "stable"
    assert model.classify(2.3, 2) == "irregular"
    assert model.classify(2.7, 8) == "unstable"
    assert model.classify(2.7, 4, duration_s=10.0) == "unstable"
    assert model.classify(0.8, 12) == "indeterminate"
    assert model.classify(float("nan"), 0) == "indeterminate"
    assert model.classify(0.5, 0, duration_s=2.0) == "indeterminate"


def test_model_with_two_types_names_the_second_by_nearest_paper_centroid():
    rng = np.random.default_rng(10)
    x = np.vstack([rng.normal((0.6, 0.1), 0.1, (25, 2)), rng.normal((2.2, 2.6), 0.2, (25, 2))])
    model = SignTypeModel(random_state=0).fit(x)
    assert model.k_ == 2
    assert sorted(model.names_) == ["irregular", "stable"]


def test_model_names_a_low_entropy_many_crossing_cluster_indeterminate():
    rng = np.random.default_rng(11)
    centres = [(0.3, 0.1), (2.2, 2.6), (2.7, 8.0), (0.9, 12.0)]
    x = np.vstack([rng.normal(c, (0.1, 0.3), (20, 2)) for c in centres])
    model = SignTypeModel(random_state=0).fit(x)
    assert model.k_ == 4
    names = {
        tuple(np.round(c).astype(int)): str(n)
        for c, n in zip(model.centroids_, model.names_, strict=True)
    }
    assert names == {
        (0, 0): "stable",
        (2, 3): "irregular",
        (3, 8): "unstable",
        (1, 12): "indeterminate",
    }


def test_model_names_extra_clusters_by_nearest_paper_centroid():
    rng = np.random.default_rng(17)
    centres = [(0.2, 0.0), (1.3, 0.0), (2.2, 2.6), (2.7, 8.0)]
    x = np.vstack([rng.normal(c, (0.08, 0.15), (20, 2)) for c in centres])
    model = SignTypeModel(random_state=0).fit(x)
    assert model.k_ == 4
    names = {
        round(float(c[0]), 0): str(n) for c, n in zip(model.centroids_, model.names_, strict=True)
    }
    assert names == {0.0: "stable", 1.0: "stable", 2.0: "irregular", 3.0: "unstable"}


def test_model_weighs_entropy_and_crossings_alike():
    # Two groups apart in entropy only, each spread over 0-4 crossings. In raw units the
    # crossings' spread would dominate; in pooled-sd units the entropy gap decides.
    rng = np.random.default_rng(16)
    low = np.column_stack([rng.normal(0.4, 0.1, 40), rng.uniform(0, 4, 40)])
    high = np.column_stack([rng.normal(2.0, 0.1, 40), rng.uniform(0, 4, 40)])
    model = SignTypeModel(random_state=0).fit(np.vstack([low, high]))
    labels = model.predict(np.vstack([low, high]))
    assert model.k_ == 2
    assert len(set(labels[:40])) == 1 and len(set(labels[40:])) == 1
    assert sorted(model.names_) == ["irregular", "stable"]


def test_model_fits_window_metrics_with_crossings_per_20_s():
    rng = np.random.default_rng(12)
    t = np.arange(0, 200, 0.1)
    # Slow waves: about one crossing every 4 s at first, then steady.
    p = np.where(t < 100, 0.5 + 0.45 * np.sin(2 * np.pi * t / 8), 0.1)
    p = np.clip(p + rng.normal(0, 0.01, t.size), 0, 1)
    windows = sliding_windows(t, p, 0.5, length=10.0, step=5.0)
    model = SignTypeModel(random_state=0).fit(windows)
    features = np.array([(w.entropy, w.crossings * 2.0) for w in windows])
    np.testing.assert_array_equal(model.predict(windows), model.predict(features))
    assert model.predict_sign_types(windows)[0] == "unstable"
    assert model.predict_sign_types(windows)[-1] == "stable"


def test_model_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(13)
    x, _ = _paper_like_windows(rng)
    model = SignTypeModel(random_state=3, k_max=6).fit(x)
    path = tmp_path / "signtypes.json"
    model.save(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "painsign.signtypes.SignTypeModel" and doc["version"] == 1
    loaded = SignTypeModel.load(path)
    assert loaded.get_params() == model.get_params()
    assert (loaded.k_, loaded.silhouette_, loaded.silhouettes_) == (
        model.k_,
        model.silhouette_,
        model.silhouettes_,
    )
    np.testing.assert_array_equal(loaded.centroids_, model.centroids_)
    assert list(loaded.names_) == list(model.names_)
    probe = rng.uniform((0, 0), (3.3, 12), size=(200, 2))
    np.testing.assert_array_equal(loaded.predict(probe), model.predict(probe))
    assert [loaded.classify(e, c) for e, c in probe] == [model.classify(e, c) for e, c in probe]


def test_model_load_rejects_other_files_and_versions(tmp_path):
    rng = np.random.default_rng(14)
    path = tmp_path / "m.json"
    SignTypeModel(random_state=0).fit(_paper_like_windows(rng)[0]).save(path)
    doc = json.loads(path.read_text())
    doc["version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="version 99"):
        SignTypeModel.load(path)
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="not a painsign sign-type model"):
        SignTypeModel.load(path)


def test_model_rejects_too_few_or_bad_windows():
    with pytest.raises(ValueError, match="too few windows"):
        SignTypeModel().fit([[0.1, 0.0], [2.0, 3.0]])
    with pytest.raises(ValueError, match="too few windows"):
        SignTypeModel().fit([[0.1, 0.0]] * 10)
    with pytest.raises(ValueError, match="too few windows"):
        SignTypeModel().fit([])
    with pytest.raises(ValueError, match="NaN"):
        SignTypeModel().fit([[0.1, 0.0], [np.nan, 3.0], [2.0, 3.0], [2.5, 7.0]])
    with pytest.raises(ValueError, match="shape"):
        SignTypeModel().fit(np.zeros((5, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        SignTypeModel().classify(0.1, 0)


def test_model_caps_k_at_samples_minus_one():
    model = SignTypeModel(random_state=0).fit([[0.1, 0], [0.2, 0], [2.5, 7], [2.6, 8]])
    assert set(model.silhouettes_) <= {2, 3}
    assert model.k_ == 2


def test_model_is_a_scikit_learn_estimator():
    model = SignTypeModel(k_max=5, random_state=1)
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(model, "k_")
    a = SignTypeModel(random_state=1).fit(_paper_like_windows(np.random.default_rng(15))[0])
    b = SignTypeModel(random_state=1).fit(_paper_like_windows(np.random.default_rng(15))[0])
    np.testing.assert_array_equal(a.centroids_, b.centroids_)


def test_learned_sign_types_load_what_the_learner_saved(tmp_path):
    # The run-time reader (numpy only) classifies exactly as the fitted learner, and
    # ignores the learner's own parameters (k range, seed) that it has no use for.
    rng = np.random.default_rng(18)
    model = SignTypeModel(random_state=2, k_max=5, high_crossings=5.0)
    model.fit(_paper_like_windows(rng)[0])
    path = tmp_path / "m.json"
    model.save(path)
    loaded = LearnedSignTypes.load(path)
    assert type(loaded) is LearnedSignTypes and not hasattr(loaded, "k_max")
    assert loaded.high_crossings == 5.0 and loaded.k_ == model.k_
    probe = [*rng.uniform((0, 0), (3.3, 12), size=(300, 2)), (1.0, 4.5), (1.0, 5.0)]
    assert [loaded.classify(e, c) for e, c in probe] == [model.classify(e, c) for e, c in probe]
    # high_crossings=5 came through: 4.5 crossings is not "many", 5 is.
    assert loaded.classify(1.0, 5.0) == "indeterminate" != loaded.classify(1.0, 4.5)
    assert loaded.classify(1.0, 6.0, duration_s=2.0) == "indeterminate"


def test_learned_sign_types_refuse_bad_rules_and_unfitted_use(tmp_path):
    rng = np.random.default_rng(19)
    path = tmp_path / "m.json"
    SignTypeModel(random_state=0).fit(_paper_like_windows(rng)[0]).save(path)
    doc = json.loads(path.read_text())
    doc["params"]["min_duration_s"] = 0
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="min_duration_s must be > 0"):
        LearnedSignTypes.load(path)
    with pytest.raises(RuntimeError, match="LearnedSignTypes is not fitted"):
        LearnedSignTypes().classify(0.1, 0)
