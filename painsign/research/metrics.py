"""Classification metrics for evaluating pain scorers, on scikit-learn.

Conventions (as in the paper, Ferreira et al.): label 1 is pain, 0 no pain; a score is a
probability of pain; the prediction at threshold ``thr`` is ``score >= thr``. The curves,
AUC, Brier score, reliability bins and subject-wise folds are scikit-learn's; this module
checks the inputs (one clear message instead of a warning or a NaN) and adds the decision
threshold, chosen by Youden's index, J = sensitivity + specificity - 1 = TPR - FPR, on
the training folds only when there are folds.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn import metrics
from sklearn.calibration import calibration_curve as _sk_calibration_curve
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold


def _check(y, score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.size} vs {s.size}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (no pain) or 1 (pain)")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite; leave out the items without a score")
    return y.astype(np.int64), s


def _check_both(y: np.ndarray) -> None:
    n1 = int(y.sum())
    if n1 == 0 or n1 == y.size:
        raise ValueError(
            f"needs both pain and no-pain items, got {n1} pain and {y.size - n1} no pain"
        )


def roc_curve_points(y, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the ROC curve: false and true positive rates at every distinct threshold.

    Parameters
    ----------
    y : array-like of int, shape (n,)
        1 for pain, 0 for no pain; both must occur.
    score : array-like of float, shape (n,)
        Scores (higher means more likely pain).

    Returns
    -------
    fpr, tpr, thresholds : numpy.ndarray
        ``thresholds`` are ``inf`` followed by the unique scores in decreasing order;
        ``fpr[i]``, ``tpr[i]`` are the rates of ``score >= thresholds[i]``
        (``sklearn.metrics.roc_curve(..., drop_intermediate=False)``).

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y, s = _check(y, score)
    _check_both(y)
    return metrics.roc_curve(y, s, drop_intermediate=False)


def auc(y, score) -> float:
    """Return the area under the ROC curve (ties count one half).

    Equal to the probability that a random pain item scores above a random no-pain item,
    plus half the probability that they tie (Mann-Whitney U / (n1 n0)).

    Parameters
    ----------
    y : array-like of int
        1 for pain, 0 for no pain; both must occur.
    score : array-like of float

    Returns
    -------
    float

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> auc([0, 1], [0.5, 0.5])
    0.5
    """
    y, s = _check(y, score)
    _check_both(y)
    return float(metrics.roc_auc_score(y, s))


def youden_threshold(y, score) -> tuple[float, float, float]:
    """Return the threshold that maximises Youden's J = TPR - FPR, with its TPR and FPR.

    The candidates are the unique scores; the prediction is ``score >= threshold``. When
    several thresholds reach the same J, the highest is returned (the fewest alarms). J is
    compared in exact integer arithmetic (``tp * n0 - fp * n1``), so ties are true ties.

    Parameters
    ----------
    y : array-like of int
        1 for pain, 0 for no pain; both must occur.
    score : array-like of float

    Returns
    -------
    threshold, tpr, fpr : float

    Examples
    --------
    >>> youden_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    (0.8, 0.5, 0.0)
    """
    y, s = _check(y, score)
    fpr, tpr, thr = roc_curve_points(y, s)
    n1, n0 = int(y.sum()), int(y.size - y.sum())
    # Back to whole counts (the rates are k / n exactly rounded), without the inf point.
    tp, fp = np.rint(tpr[1:] * n1).astype(np.int64), np.rint(fpr[1:] * n0).astype(np.int64)
    best = int(np.argmax(tp * n0 - fp * n1))  # thresholds decrease: the highest optimum
    return float(thr[best + 1]), float(tp[best] / n1), float(fp[best] / n0)


def _ratio(a: int, b: int) -> float:
    return a / b if b else math.nan


def binary_metrics(y, score, threshold: float) -> dict:
    """Return the confusion counts and rates of ``score >= threshold`` against ``y``.

    Parameters
    ----------
    y : array-like of int
        1 for pain, 0 for no pain.
    score : array-like of float
    threshold : float

    Returns
    -------
    dict
        ``accuracy, sensitivity`` (recall, TPR), ``specificity`` (TNR), ``precision``
        (PPV), ``f1`` and the counts ``tp, fp, tn, fn``. A rate with a zero denominator
        is NaN.

    Examples
    --------
    >>> m = binary_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.4)
    >>> m["sensitivity"], m["specificity"], m["tp"], m["fp"]
    (0.5, 0.5, 1, 1)
    """
    y, s = _check(y, score)
    pred = s >= float(threshold)
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    tn = int(np.sum(~pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    return {
        "accuracy": _ratio(tp + tn, y.size),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "precision": _ratio(tp, tp + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
    }


def precision_recall_points(y, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the precision-recall curve at every distinct threshold.

    Parameters
    ----------
    y : array-like of int
        1 for pain, 0 for no pain; at least one pain item.
    score : array-like of float

    Returns
    -------
    precision, recall, thresholds : numpy.ndarray
        ``thresholds`` are the unique scores in increasing order; ``precision[i]`` and
        ``recall[i]`` belong to ``score >= thresholds[i]`` and a last point (1, 0) ends the
        curve (``sklearn.metrics.precision_recall_curve``).

    Examples
    --------
    >>> p, r, t = precision_recall_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> p.round(3).tolist(), r.tolist()
    ([0.5, 0.667, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0])
    """
    y, s = _check(y, score)
    if y.sum() == 0:
        raise ValueError("a precision-recall curve needs at least one pain item")
    return metrics.precision_recall_curve(y, s)


def calibration_curve(y, p, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return reliability-diagram data: observed pain rate against mean P(pain) per bin.

    ``sklearn.calibration.calibration_curve`` with ``bins`` equal bins on [0, 1] (a value
    on an inner edge falls in the lower bin), plus the number of items in each bin. Empty
    bins are left out.

    Parameters
    ----------
    y : array-like of int
        1 for pain, 0 for no pain.
    p : array-like of float
        Probabilities of pain in [0, 1].
    bins : int

    Returns
    -------
    prob_true, prob_pred, count : numpy.ndarray
        Per non-empty bin: fraction of pain items, mean probability, number of items.

    Examples
    --------
    >>> t, m, n = calibration_curve([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2)
    >>> t.tolist(), m.round(2).tolist(), n.tolist()
    ([0.0, 1.0], [0.15, 0.8], [2, 2])
    """
    y, p = _check(y, p)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if p.size == 0:
        raise ValueError("a reliability diagram needs at least one item")
    if p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities must lie in [0, 1]")
    prob_true, prob_pred = _sk_calibration_curve(y, p, n_bins=bins, pos_label=1)
    # scikit-learn does not return the counts; bin as it does (left edges, lower bin).
    edges = np.linspace(0.0, 1.0, bins + 1)
    count = np.bincount(np.searchsorted(edges[1:-1], p), minlength=bins)
    return prob_true, prob_pred, count[count > 0]


def brier_score(y, p) -> float:
    """Return the Brier score, the mean squared difference between P(pain) and the label.

    Examples
    --------
    >>> round(brier_score([0, 1], [0.2, 0.6]), 6)
    0.1
    """
    y, p = _check(y, p)
    if y.size == 0:
        raise ValueError("the Brier score needs at least one item")
    return float(metrics.brier_score_loss(y, p, pos_label=1))


def grouped_folds(groups, k: int, seed: int = 0, y=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split items into ``k`` folds with every group (subject) in exactly one fold.

    Without labels, ``sklearn.model_selection.GroupKFold`` (groups shuffled with
    ``seed``, folds of similar numbers of items); with labels ``y``,
    ``StratifiedGroupKFold``, which also keeps the share of pain items alike across the
    folds, so that fewer training folds lack a class.

    Parameters
    ----------
    groups : array-like, shape (n,)
        Group (subject) of each item.
    k : int
        Number of folds, from 2 to the number of groups (k = groups: leave one subject out).
    seed : int
        Seed of the shuffle of the groups.
    y : array-like of int, shape (n,), optional
        Labels to stratify on.

    Returns
    -------
    list of (train_idx, test_idx)
        Sorted item indices; no group is in both.

    Raises
    ------
    ValueError
        ``k < 2`` or more folds than groups.

    Examples
    --------
    >>> folds = grouped_folds(["a", "a", "b", "c"], 3)
    >>> sorted(test.tolist() for _, test in folds)
    [[0, 1], [2], [3]]
    """
    groups = np.asarray(groups).ravel()
    n_groups = np.unique(groups).size
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {k}")
    if k > n_groups:
        raise ValueError(f"{k} folds need at least {k} subjects, found {n_groups}")
    if y is None:
        splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
        labels = np.zeros(groups.size, dtype=np.int64)
    else:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        labels = np.asarray(y).ravel()
    with warnings.catch_warnings():
        # "The least populated class in y has only n members": the folds are still
        # subject-wise; a training fold left with one class is reported by the caller.
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(np.zeros(groups.size), labels, groups))
    return [(np.sort(train), np.sort(test)) for train, test in splits]


def cross_validated(y, score, groups, k: int, seed: int = 0) -> dict:
    """Leave-subjects-out evaluation of a Youden threshold.

    For each fold of :func:`grouped_folds`, the threshold is chosen by
    :func:`youden_threshold` on the training items only and applied to the held-out items.

    Parameters
    ----------
    y : array-like of int
        1 for pain, 0 for no pain.
    score : array-like of float
    groups : array-like
        Subject of each item.
    k : int
        Number of folds.
    seed : int
        See :func:`grouped_folds`.

    Returns
    -------
    dict
        ``k``, ``seed``, ``folds``: per fold ``fold, threshold, train_n, test_n,
        test_groups, auc`` (held-out AUC, None with one class held out) and the
        :func:`binary_metrics` of the held-out items; ``pooled``: :func:`binary_metrics`
        of every held-out prediction together, with ``mean_threshold`` and
        ``sd_threshold`` over the folds.

    Raises
    ------
    ValueError
        A training fold lacks pain or no-pain items, or see :func:`grouped_folds`.
    """
    y, s = _check(y, score)
    groups = np.asarray(groups).ravel()
    if groups.size != y.size:
        raise ValueError(f"groups and labels differ in length: {groups.size} vs {y.size}")
    folds = grouped_folds(groups, k, seed, y=y)
    pred = np.zeros(y.size, dtype=bool)
    out_folds, thresholds = [], []
    for i, (train, test) in enumerate(folds):
        try:
            thr, _, _ = youden_threshold(y[train], s[train])
        except ValueError as exc:
            raise ValueError(
                f"fold {i + 1}: training subjects {exc}; use fewer folds or "
                "add subjects with both labels"
            ) from None
        thresholds.append(thr)
        pred[test] = s[test] >= thr
        both = 0 < y[test].sum() < test.size
        out_folds.append(
            {
                "fold": i + 1,
                "threshold": thr,
                "train_n": int(train.size),
                "test_n": int(test.size),
                "test_groups": sorted(str(g) for g in np.unique(groups[test])),
                "auc": auc(y[test], s[test]) if both else None,
                **binary_metrics(y[test], s[test], thr),
            }
        )
    pooled = binary_metrics(y, pred.astype(np.float64), 0.5)
    pooled["mean_threshold"] = float(np.mean(thresholds))
    pooled["sd_threshold"] = float(np.std(thresholds))
    return {"k": int(k), "seed": int(seed), "folds": out_folds, "pooled": pooled}
