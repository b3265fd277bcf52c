"""Sign types learnt by ``painsign cluster``, read back and applied at run time.

A learnt model is a handful of named cluster centres in (entropy, crossings per 20 s),
the divisors of the two features and the indeterminate rules, saved as JSON. Applying
it is a nearest-centre look-up, so this module needs numpy only: ``analyze`` and
``monitor --sign-types`` never import scikit-learn. The k-means learner that writes the
file is :class:`painsign.research.signtype_model.SignTypeModel`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from painsign.errors import InputError
from painsign.signal.signtypes import (
    REFERENCE_WINDOW_S,
    SignType,
    _check_rule_params,
    _screen,
    normalise_crossings,
)

#: Format tag and version of a saved sign-type model (the tag predates this module).
MODEL_FORMAT = "painsign.signtypes.SignTypeModel"
MODEL_FORMAT_VERSION = 1


def as_features(windows, reference_s: float = REFERENCE_WINDOW_S) -> np.ndarray:
    """Return windows as an (n, 2) float array of (entropy, crossings per ``reference_s``).

    Parameters
    ----------
    windows : array-like of shape (n, 2) or list of WindowMetrics
        WindowMetrics crossings are rescaled by their own duration ``t1 - t0``.
    reference_s : float, default 20.0

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        Another shape, or a NaN or infinite feature (a window with no samples).
    """
    if isinstance(windows, Sequence) and windows and hasattr(windows[0], "entropy"):
        rows = [
            (w.entropy, normalise_crossings(w.crossings, w.t1 - w.t0, reference_s)) for w in windows
        ]
        x = np.array(rows, dtype=float)
    else:
        x = np.asarray(windows, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(
            "windows must be an (n, 2) array of (entropy, crossings per 20 s) or a list of "
            f"WindowMetrics; got an array of shape {x.shape}"
        )
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} window(s) have NaN or infinite entropy/crossings (windows with "
            "no samples); drop them before fitting or predicting"
        )
    return x


class LearnedSignTypes:
    """Named cluster centres applied like :class:`NearestCentroidSignTypes`.

    :meth:`classify` applies the NaN / short-window / indeterminate rules of the default
    classifier, then names the nearest centre, distances in pooled-sd units (``scale_``).
    Instances come from :meth:`load` or from fitting the research learner
    (:class:`~painsign.research.signtype_model.SignTypeModel`, a subclass).

    Parameters
    ----------
    centroids : str, default "DEFAULT"
        Key of :data:`~painsign.signal.signtypes.PAPER_CENTROIDS` the names came from.
    low_entropy_bits, high_crossings, min_duration_s, reference_s
        As in :class:`~painsign.signal.signtypes.NearestCentroidSignTypes`.

    Attributes
    ----------
    centroids_ : numpy.ndarray
        (k, 2) centres, entropy in bits and crossings per 20 s.
    names_ : numpy.ndarray of SignType
        Name of each centre (object array, so ``names_[model.predict(X)]`` works).
    scale_ : numpy.ndarray
        The (entropy, crossings) divisors.
    k_, silhouette_, silhouettes_, n_windows_
        What the fit found: number of clusters, its silhouette score, the score of every
        k tried, windows fitted on.
    """

    # Set by load() or by the learner's fit(), as scikit-learn's fitted attributes are.
    centroids_: np.ndarray
    names_: np.ndarray
    scale_: np.ndarray
    k_: int
    silhouette_: float
    silhouettes_: dict[int, float]
    n_windows_: int

    def __init__(
        self,
        centroids: str = "DEFAULT",
        low_entropy_bits: float = 1.5,
        high_crossings: float = 4.0,
        min_duration_s: float = 5.0,
        reference_s: float = REFERENCE_WINDOW_S,
    ):
        self.centroids = centroids
        self.low_entropy_bits = low_entropy_bits
        self.high_crossings = high_crossings
        self.min_duration_s = min_duration_s
        self.reference_s = reference_s

    def _check_fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise RuntimeError(
                f"this {type(self).__name__} is not fitted yet; call fit() or load()"
            )

    def predict(self, windows) -> np.ndarray:
        """Return the index of the nearest centre for each window.

        Parameters
        ----------
        windows : array-like of shape (n, 2) or list of WindowMetrics

        Returns
        -------
        numpy.ndarray of int
            Cluster indices; ``names_[labels]`` gives their sign types.
        """
        self._check_fitted()
        z = as_features(windows, self.reference_s) / self.scale_
        d2 = ((z[:, None, :] - (self.centroids_ / self.scale_)[None]) ** 2).sum(axis=2)
        return d2.argmin(axis=1)

    def predict_sign_types(self, windows) -> list[SignType]:
        """Return the name of the nearest centre for each window (no extra rules)."""
        return [SignType(self.names_[i]) for i in self.predict(windows)]

    def classify(
        self, entropy: float, crossings: float, duration_s: float = REFERENCE_WINDOW_S
    ) -> SignType:
        """Return the sign type of one window, same interface as the default classifier.

        NaN entropy, windows shorter than ``min_duration_s`` and low-entropy/many-crossing
        windows are indeterminate; otherwise the name of the nearest centre.
        """
        self._check_fitted()
        entropy = float(entropy)
        c_ref = _screen(self, entropy, crossings, duration_s)
        if c_ref is None:
            return SignType.INDETERMINATE
        return SignType(self.names_[self.predict([(entropy, c_ref)])[0]])

    @classmethod
    def load(cls, path: str | Path) -> LearnedSignTypes:
        """Read a model written by ``SignTypeModel.save`` (``painsign cluster``).

        Parameters in the file that ``cls`` does not take (the learner's k range, seed)
        are ignored.

        Raises
        ------
        ValueError
            If the file is not a painsign sign-type model or has another format version.
        KeyError, TypeError
            A field is missing or of the wrong type.
        """
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path} is not a painsign sign-type model (no {MODEL_FORMAT!r})")
        if doc.get("version") != MODEL_FORMAT_VERSION:
            raise ValueError(
                f"{path} has sign-type model format version {doc.get('version')!r}; this "
                f"painsign reads version {MODEL_FORMAT_VERSION}. Refit and save again."
            )
        known = inspect.signature(cls).parameters
        model = cls(**{k: v for k, v in doc["params"].items() if k in known})
        _check_rule_params(
            model.low_entropy_bits, model.high_crossings, model.min_duration_s, model.reference_s
        )
        model.k_ = int(doc["k"])
        model.silhouette_ = float(doc["silhouette"])
        model.silhouettes_ = {int(k): float(v) for k, v in doc["silhouettes"].items()}
        model.centroids_ = np.array(doc["centroids"], dtype=float).reshape(-1, 2)
        model.names_ = np.array([SignType(n) for n in doc["names"]], dtype=object)
        model.scale_ = np.array(doc["scale"], dtype=float)
        model.n_windows_ = int(doc["n_windows"])
        return model


def load_sign_types(path: str | Path) -> LearnedSignTypes:
    """Load a sign-type model saved by ``painsign cluster`` for ``--sign-types``.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    LearnedSignTypes
        Ready for ``classify``.

    Raises
    ------
    InputError
        The file is missing, unreadable, or not a valid sign-type model (it is named).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"sign-type model {path} not found; make one with painsign cluster")
    try:
        model = LearnedSignTypes.load(path)
    except OSError as exc:
        raise InputError(f"cannot read sign-type model {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        why = exc if isinstance(exc, ValueError) else f"missing or bad field {exc}"
        raise InputError(
            f"bad sign-type model {path}: {why}; make one with painsign cluster"
        ) from None
    if len(model.centroids_) != len(model.names_) or len(model.centroids_) < 2:
        raise InputError(
            f"bad sign-type model {path}: {len(model.centroids_)} centroids for "
            f"{len(model.names_)} names; make one with painsign cluster"
        )
    if model.scale_.shape != (2,) or not np.all(model.scale_ > 0):
        raise InputError(
            f"bad sign-type model {path}: scale must be two positive numbers; "
            "make one with painsign cluster"
        )
    return model
