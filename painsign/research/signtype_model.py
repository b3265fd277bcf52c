"""The k-means learner of sign types (research): fit on windows, save as JSON.

``painsign cluster`` fits :class:`SignTypeModel` on the windows of saved analyses and
saves it; ``analyze`` and ``monitor --sign-types`` read the file back with
:func:`painsign.signal.learned.load_sign_types`, which needs numpy only. This module is
the one place that imports scikit-learn for sign types.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from painsign.signal.learned import (
    MODEL_FORMAT,
    MODEL_FORMAT_VERSION,
    LearnedSignTypes,
    as_features,
)
from painsign.signal.signtypes import (
    PAPER_CENTROIDS,
    REFERENCE_WINDOW_S,
    Centroid,
    NearestCentroidSignTypes,
    SignType,
    feature_scale,
)


def _name_clusters(
    centers: np.ndarray,
    table: Mapping[SignType, Centroid],
    scale: np.ndarray,
    low_entropy_bits: float,
    high_crossings: float,
) -> list[SignType]:
    k = len(centers)
    z = centers / scale
    paper = {kind: np.array([c.entropy, c.crossings]) / scale for kind, c in table.items()}

    def nearest(i: int, kinds) -> SignType:
        return min(kinds, key=lambda kind: float(np.sum((z[i] - paper[kind]) ** 2)))

    names: list[SignType | None] = [None] * k
    rest = []
    for i, (e, c) in enumerate(centers):
        if e < low_entropy_bits and c >= high_crossings:
            names[i] = SignType.INDETERMINATE
        else:
            rest.append(i)
    if rest:
        stable = min(rest, key=lambda i: z[i].sum())
        names[stable] = SignType.STABLE
        rest.remove(stable)
    if len(rest) == 1:
        names[rest[0]] = nearest(rest[0], (SignType.IRREGULAR, SignType.UNSTABLE))
    elif rest:
        unstable = max(rest, key=lambda i: centers[i, 1])
        names[unstable] = SignType.UNSTABLE
        rest.remove(unstable)
        irregular = min(rest, key=lambda i: float(np.sum((z[i] - paper[SignType.IRREGULAR]) ** 2)))
        names[irregular] = SignType.IRREGULAR
        rest.remove(irregular)
        for i in rest:
            names[i] = nearest(i, tuple(table))
    return names


class SignTypeModel(LearnedSignTypes, BaseEstimator):
    """Sign types learnt by k-means on (entropy, crossings) windows, as in the paper.

    ``fit`` runs k-means (scikit-learn, ``n_init`` restarts) for every k from ``k_min`` to
    ``k_max`` (capped at n_windows - 1 and at the number of distinct windows) and keeps the
    k with the highest silhouette score. Features are divided by :func:`feature_scale` of
    ``centroids`` first (pooled-sd units), so entropy and crossings weigh alike.

    Clusters are named from their centroids:

    * a centroid with entropy < ``low_entropy_bits`` and crossings >= ``high_crossings``
      is indeterminate;
    * of the others, the lowest entropy + crossings (pooled-sd units) is stable;
    * if one cluster is left (k = 2), it takes the nearer of the irregular and unstable
      paper centroids;
    * otherwise the highest-crossing one is unstable, the one nearest the paper's
      irregular centroid is irregular, and any further clusters (k > 3) take the name of
      their nearest paper centroid, so several clusters may share a name.

    ``predict``, ``classify`` and the fitted attributes are those of
    :class:`~painsign.signal.learned.LearnedSignTypes`, what ``load_sign_types`` returns
    at run time: the same NaN / short-window / indeterminate rules as
    :class:`~painsign.signal.signtypes.NearestCentroidSignTypes`, then the name of the
    nearest fitted cluster.

    Parameters
    ----------
    k_min, k_max : int, default 2, 10
        Range of cluster counts tried (the paper's 2..10).
    n_init : int, default 10
        k-means restarts per k.
    random_state : int, RandomState or None
        Seed for k-means.
    centroids : str, default "DEFAULT"
        Key of :data:`~painsign.signal.signtypes.PAPER_CENTROIDS` giving the scale and
        the names.
    low_entropy_bits, high_crossings, min_duration_s, reference_s
        As in :class:`~painsign.signal.signtypes.NearestCentroidSignTypes`.

    Attributes
    ----------
    k_ : int
        Chosen number of clusters.
    silhouette_ : float
        Its silhouette score (in pooled-sd units).
    silhouettes_ : dict of int to float
        Score of every k tried.
    centroids_ : numpy.ndarray
        (k_, 2) cluster centres, entropy in bits and crossings per 20 s.
    names_ : numpy.ndarray of SignType
        Name of each cluster (object array, so ``names_[model.predict(X)]`` works).
    scale_ : numpy.ndarray
        The (entropy, crossings) divisors used.
    n_windows_ : int
        Windows the model was fitted on.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> centres = [(0.5, 0.2), (2.2, 2.6), (2.6, 7.5)]
    >>> X = np.vstack([rng.normal(c, (0.2, 0.4), size=(20, 2)) for c in centres])
    >>> model = SignTypeModel(random_state=0).fit(X)
    >>> model.k_, [str(n) for n in model.names_[model.predict([(0.4, 0.0)])]]
    (3, ['stable'])
    """

    def __init__(
        self,
        k_min: int = 2,
        k_max: int = 10,
        n_init: int = 10,
        random_state=None,
        centroids: str = "DEFAULT",
        low_entropy_bits: float = 1.5,
        high_crossings: float = 4.0,
        min_duration_s: float = 5.0,
        reference_s: float = REFERENCE_WINDOW_S,
    ):
        self.k_min = k_min
        self.k_max = k_max
        self.n_init = n_init
        self.random_state = random_state
        super().__init__(centroids, low_entropy_bits, high_crossings, min_duration_s, reference_s)

    def fit(self, windows) -> SignTypeModel:
        """Cluster windows and name the clusters.

        Parameters
        ----------
        windows : array-like of shape (n, 2) or list of WindowMetrics
            (entropy in bits, crossings per 20 s) per window. WindowMetrics crossings are
            rescaled by their own duration ``t1 - t0``.

        Returns
        -------
        SignTypeModel
            self, fitted.

        Raises
        ------
        ValueError
            Fewer than 3 windows, fewer than 2 distinct windows, NaN features, or a bad
            k range.
        """
        if not isinstance(self.centroids, str):
            raise ValueError("SignTypeModel needs centroids as a key of PAPER_CENTROIDS")
        # The run-time classifier checks the rules and the centroid set name alike.
        NearestCentroidSignTypes(
            self.centroids,
            self.low_entropy_bits,
            self.high_crossings,
            self.min_duration_s,
            self.reference_s,
        )
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError(
                f"need 2 <= k_min <= k_max, got k_min={self.k_min!r}, k_max={self.k_max!r}"
            )
        x = as_features(windows, self.reference_s) if len(windows) else np.empty((0, 2))
        n = len(x)
        n_distinct = len(np.unique(x, axis=0))
        k_hi = min(self.k_max, n - 1, n_distinct)
        if k_hi < self.k_min:
            raise ValueError(
                f"too few windows to cluster: {n} window(s), {n_distinct} distinct; k-means "
                f"with silhouette needs at least {self.k_min + 1} windows and {self.k_min} "
                "distinct ones. Record longer or use NearestCentroidSignTypes."
            )
        table = PAPER_CENTROIDS[self.centroids]
        scale = np.array(feature_scale(table))
        z = x / scale
        best = None
        scores = {}
        # A few thousand 2-D points: OpenMP threads cost more than they save, and they
        # stall badly when the capture and inference threads keep a core busy.
        with threadpool_limits(limits=1):
            for k in range(self.k_min, k_hi + 1):
                km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)
                labels = km.fit_predict(z)
                if len(np.unique(labels)) < 2:
                    continue
                scores[k] = float(silhouette_score(z, labels))
                if best is None or scores[k] > scores[best[0]]:
                    best = (k, labels)
        if best is None:
            raise ValueError("k-means found no two distinct clusters in these windows")
        k, labels = best
        centers = np.array([x[labels == j].mean(axis=0) for j in range(k)])
        self.k_ = k
        self.silhouette_ = scores[k]
        self.silhouettes_ = scores
        self.centroids_ = centers
        self.names_ = np.array(
            _name_clusters(centers, table, scale, self.low_entropy_bits, self.high_crossings),
            dtype=object,
        )
        self.scale_ = scale
        self.n_windows_ = n
        return self

    def save(self, path: str | Path) -> None:
        """Write the fitted model to a JSON file (with format name and version)."""
        self._check_fitted()
        params = self.get_params()
        if not isinstance(params["random_state"], int | None):
            params["random_state"] = None
        doc = {
            "format": MODEL_FORMAT,
            "version": MODEL_FORMAT_VERSION,
            "params": params,
            "k": self.k_,
            "silhouette": self.silhouette_,
            "silhouettes": {str(k): v for k, v in self.silhouettes_.items()},
            "centroids": self.centroids_.tolist(),
            "names": [str(n) for n in self.names_],
            "scale": self.scale_.tolist(),
            "n_windows": self.n_windows_,
        }
        Path(path).write_text(json.dumps(doc, indent=2), encoding="utf-8")
