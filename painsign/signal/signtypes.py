"""Sign types of a pain-sign window and the decision matrix (Ferreira et al.).

A window of the pain sign is described by two numbers: its Shannon entropy (bits, 10 bins
on [0, 1]) and its number of threshold crossings. The paper clustered these per 20-s clip
with k-means (k = 2..10 by silhouette; k = 3 won for all models) into **stable**,
**irregular** and **unstable** signs and described a fourth, **indeterminate**, sign: low
entropy with many crossings, a sign hovering on the threshold.

Two classifiers share one interface, ``classify(entropy, crossings, duration_s=20.0)``:

* :class:`NearestCentroidSignTypes` (default): nearest Table 3 centroid, no fitting.
* :class:`~painsign.signal.learned.LearnedSignTypes`: named centres learnt by k-means on
  the user's own windows, as in the paper (the learner,
  :class:`~painsign.research.signtype_model.SignTypeModel`, is research code).

Both measure distance in "pooled-sd units" (see :func:`feature_scale`) and both apply the
same indeterminate rule before looking at centroids.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple, Protocol

import numpy as np

#: Length of the paper's clips (iCOPEvid), the unit in which crossings are counted.
REFERENCE_WINDOW_S = 20.0

#: Largest possible entropy of the sign, log2(10) bits (10 equally filled bins).
MAX_ENTROPY_BITS = math.log2(10)

#: Decision thresholds from Youden's index on training folds (Ferreira et al.).
MODEL_THRESHOLDS = MappingProxyType({"VGG-Face": 0.494, "N-CNN": 0.542, "ViT-B/16": 0.431})


class SignType(StrEnum):
    """The four pain-sign types of Ferreira et al.; each member equals its lower-case name."""

    STABLE = "stable"
    IRREGULAR = "irregular"
    UNSTABLE = "unstable"
    INDETERMINATE = "indeterminate"


class Action(StrEnum):
    """What the decision matrix asks of the staff; each member equals its text."""

    ACT = "act"
    NO_ACTION = "no action"
    HUMAN_REVIEW = "human review"


def decision_action(sign_type: str, prediction: bool) -> Action:
    """Return the action of the decision matrix (Ferreira et al., Fig. 5) for one window.

    stable + pain -> act (prolonged pain); irregular + pain -> act (occlusion or sudden
    change); unstable -> human review whatever the prediction; indeterminate -> human
    review whatever the prediction; stable or irregular + no pain -> no action.

    Parameters
    ----------
    sign_type : str or SignType
        One of ``"stable"``, ``"irregular"``, ``"unstable"``, ``"indeterminate"``.
    prediction : bool
        True for "pain" (mean probability above the model's threshold).

    Returns
    -------
    Action
        ``"act"``, ``"no action"`` or ``"human review"`` (a ``str``).

    Raises
    ------
    ValueError
        If ``sign_type`` is not one of the four names.

    Examples
    --------
    >>> decision_action("stable", True)
    <Action.ACT: 'act'>
    >>> decision_action("unstable", False) == "human review"
    True
    """
    try:
        kind = SignType(sign_type)
    except ValueError:
        names = ", ".join(repr(s.value) for s in SignType)
        raise ValueError(f"unknown sign type {sign_type!r}; use one of {names}") from None
    if kind in (SignType.UNSTABLE, SignType.INDETERMINATE):
        return Action.HUMAN_REVIEW
    return Action.ACT if prediction else Action.NO_ACTION


class Centroid(NamedTuple):
    """Mean and standard deviation of (entropy in bits, crossings per 20 s) of one sign type."""

    entropy: float
    crossings: float
    entropy_sd: float
    crossings_sd: float


# Table 3 of Ferreira et al.: (entropy mean, entropy sd, crossings mean, crossings sd).
_TABLE3 = {
    "VGG-Face": {
        SignType.STABLE: (0.35, 0.46, 0.16, 0.37),
        SignType.IRREGULAR: (1.75, 0.64, 2.52, 0.91),
        SignType.UNSTABLE: (2.56, 0.46, 6.79, 2.30),
    },
    "N-CNN": {
        SignType.STABLE: (0.75, 0.66, 0.11, 0.32),
        SignType.IRREGULAR: (2.31, 0.47, 2.43, 0.89),
        SignType.UNSTABLE: (2.61, 0.52, 6.75, 1.42),
    },
    "ViT-B/16": {
        SignType.STABLE: (1.23, 0.79, 0.19, 0.39),
        SignType.IRREGULAR: (2.64, 0.46, 3.00, 1.13),
        SignType.UNSTABLE: (2.62, 0.39, 8.00, 2.26),
    },
}

_PAPER_TYPES = (SignType.STABLE, SignType.IRREGULAR, SignType.UNSTABLE)


def _build_centroids() -> Mapping[str, Mapping[SignType, Centroid]]:
    table: dict[str, Mapping[SignType, Centroid]] = {}
    for model, rows in _TABLE3.items():
        table[model] = MappingProxyType(
            {kind: Centroid(e, c, e_sd, c_sd) for kind, (e, e_sd, c, c_sd) in rows.items()}
        )
    default = {}
    for kind in _PAPER_TYPES:
        per_model = np.array([table[model][kind] for model in _TABLE3])
        means = per_model[:, :2].mean(axis=0)
        # Pooled sd with equal weight per model: the root of the mean variance.
        sds = np.sqrt((per_model[:, 2:] ** 2).mean(axis=0))
        default[kind] = Centroid(*(float(v) for v in (*means, *sds)))
    table["DEFAULT"] = MappingProxyType(default)
    return MappingProxyType(table)


#: Table 3 of Ferreira et al. per model ("VGG-Face", "N-CNN", "ViT-B/16"), each a mapping
#: SignType -> :class:`Centroid` (entropy in bits, crossings per 20-s clip, and their sds),
#: plus "DEFAULT": the mean of the three models' means, with sd = sqrt(mean of the three
#: variances). DEFAULT is about stable (0.78, 0.15), irregular (2.23, 2.65) and unstable
#: (2.60, 7.18).
PAPER_CENTROIDS = _build_centroids()


def _resolve_centroids(centroids: str | Mapping) -> Mapping[SignType, Centroid]:
    if isinstance(centroids, str):
        try:
            return PAPER_CENTROIDS[centroids]
        except KeyError:
            names = ", ".join(repr(k) for k in PAPER_CENTROIDS)
            raise ValueError(
                f"unknown centroid set {centroids!r}; use one of {names} or a mapping "
                "sign type -> Centroid"
            ) from None
    resolved = {SignType(k): Centroid(*v) for k, v in centroids.items()}
    missing = [k.value for k in _PAPER_TYPES if k not in resolved]
    if missing:
        raise ValueError(f"centroid mapping lacks {missing}; give stable, irregular, unstable")
    return resolved


def feature_scale(centroids: str | Mapping = "DEFAULT") -> tuple[float, float]:
    """Return the pooled within-type sd of (entropy, crossings) of a centroid set.

    Distances between windows and centroids are measured after dividing entropy and
    crossings by these numbers ("pooled-sd units"), ``sd = sqrt(mean of the variances of
    stable, irregular and unstable)``. Crossings run from 0 to 10 and more, entropy from 0
    to 3.32 bits: in raw units the crossings would decide alone. Dividing by the typical
    spread of each metric inside one sign type (Table 3) weighs one typical deviation of
    either metric the same, the rule of a nearest-centroid classifier with a shared
    diagonal covariance. For DEFAULT the scale is about (0.55 bits, 1.32 crossings).

    Parameters
    ----------
    centroids : str or mapping
        A key of :data:`PAPER_CENTROIDS` or a mapping sign type -> :class:`Centroid`.

    Returns
    -------
    tuple of float
        (entropy scale in bits, crossings scale per 20 s).

    Examples
    --------
    >>> [round(v, 2) for v in feature_scale("DEFAULT")]
    [0.55, 1.32]
    """
    table = _resolve_centroids(centroids)
    e_var = np.mean([table[k].entropy_sd ** 2 for k in _PAPER_TYPES])
    c_var = np.mean([table[k].crossings_sd ** 2 for k in _PAPER_TYPES])
    return float(np.sqrt(e_var)), float(np.sqrt(c_var))


def normalise_crossings(
    crossings: float, duration_s: float, reference_s: float = REFERENCE_WINDOW_S
) -> float:
    """Return crossings per ``reference_s`` seconds: ``crossings * reference_s / duration_s``.

    The paper counted crossings per 20-s clip, so a window of another length is rescaled
    to 20 s before it is compared with Table 3. Durations within 1e-9 (relative) of the
    reference are taken as the reference, so a 20-s window whose end was computed as
    ``t0 + 20`` keeps integer counts.

    Parameters
    ----------
    crossings : float
        Crossings counted in the window.
    duration_s : float
        Window length in seconds, > 0.
    reference_s : float, default 20.0
        The length crossings are expressed for.

    Returns
    -------
    float
        Crossings per ``reference_s``.

    Examples
    --------
    >>> normalise_crossings(3, 10.0)
    6.0
    """
    if not duration_s > 0:
        raise ValueError(f"duration_s must be > 0 s, got {duration_s!r}")
    if math.isclose(duration_s, reference_s, rel_tol=1e-9):
        return float(crossings)
    return float(crossings) * reference_s / duration_s


class SignTypeClassifier(Protocol):
    """Anything with ``classify(entropy, crossings, duration_s=20.0) -> SignType``."""

    def classify(
        self, entropy: float, crossings: float, duration_s: float = REFERENCE_WINDOW_S
    ) -> SignType: ...


def _screen(rules, entropy: float, crossings: float, duration_s: float) -> float | None:
    """Crossings per reference window, or None where the rules say indeterminate.

    ``rules`` has ``low_entropy_bits``, ``high_crossings``, ``min_duration_s`` and
    ``reference_s`` (both classifiers do).
    """
    if not (math.isfinite(entropy) and duration_s >= rules.min_duration_s):
        return None
    c_ref = normalise_crossings(crossings, duration_s, rules.reference_s)
    if not math.isfinite(c_ref):
        return None
    if entropy < rules.low_entropy_bits and c_ref >= rules.high_crossings:
        return None
    return c_ref


def _check_rule_params(low_entropy_bits, high_crossings, min_duration_s, reference_s) -> None:
    if not 0 <= low_entropy_bits <= MAX_ENTROPY_BITS:
        raise ValueError(
            f"low_entropy_bits must be in [0, {MAX_ENTROPY_BITS:.2f}], got {low_entropy_bits!r}"
        )
    if not high_crossings >= 0:
        raise ValueError(f"high_crossings must be >= 0, got {high_crossings!r}")
    if not min_duration_s > 0:
        raise ValueError(f"min_duration_s must be > 0 s, got {min_duration_s!r}")
    if not reference_s > 0:
        raise ValueError(f"reference_s must be > 0 s, got {reference_s!r}")


@dataclass(frozen=True)
class NearestCentroidSignTypes:
    """Default sign-type classifier: the nearest Table 3 centroid, no fitting needed.

    Rules, in order:

    1. NaN entropy (no samples), or a window shorter than ``min_duration_s``
       -> indeterminate (too little sign to type; the matrix asks for human review).
    2. Crossings are rescaled to per-20-s (:func:`normalise_crossings`).
    3. Entropy < ``low_entropy_bits`` and crossings >= ``high_crossings`` -> indeterminate
       (the sign hovers on the threshold).
    4. Otherwise the nearest of the stable, irregular and unstable centroids, with both
       metrics divided by :func:`feature_scale` (pooled within-type sd).

    Parameters
    ----------
    centroids : str or mapping, default "DEFAULT"
        A key of :data:`PAPER_CENTROIDS` (match the model that made the sign when known)
        or a mapping sign type -> :class:`Centroid`.
    low_entropy_bits : float, default 1.5
        Entropy below this is "low" for the indeterminate rule. 1.5 bits is about midway
        between the DEFAULT stable (0.78) and irregular (2.23) entropies and just under
        log2(3) = 1.58: a sign confined to two or three adjacent bins around the threshold
        counts as low. (A sign alternating 0.49/0.51 around 0.5 spans two bins, ~1 bit.)
    high_crossings : float, default 4.0
        Crossings per 20 s at or above this are "many" for the indeterminate rule. 4 lies
        above the irregular mean + 1 sd (2.65 + 0.99) so typical irregular signs do not
        trip it, and below the irregular/unstable midpoint (4.9) to lean towards human
        review when a low-entropy sign keeps changing side.
    min_duration_s : float, default 5.0
        Shorter windows are indeterminate rather than extrapolated to 20 s.
    reference_s : float, default 20.0
        Window length the centroids are expressed for (the paper's clips).

    Examples
    --------
    >>> clf = NearestCentroidSignTypes()
    >>> clf.classify(0.2, 0)
    <SignType.STABLE: 'stable'>
    >>> clf.classify(2.9, 9)
    <SignType.UNSTABLE: 'unstable'>
    >>> clf.classify(1.0, 19) == "indeterminate"
    True
    """

    centroids: str | Mapping = "DEFAULT"
    low_entropy_bits: float = 1.5
    high_crossings: float = 4.0
    min_duration_s: float = 5.0
    reference_s: float = REFERENCE_WINDOW_S
    _table: Mapping = field(init=False, repr=False, compare=False)
    _scale: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_rule_params(
            self.low_entropy_bits, self.high_crossings, self.min_duration_s, self.reference_s
        )
        object.__setattr__(self, "_table", _resolve_centroids(self.centroids))
        object.__setattr__(self, "_scale", feature_scale(self._table))

    def classify(
        self, entropy: float, crossings: float, duration_s: float = REFERENCE_WINDOW_S
    ) -> SignType:
        """Return the sign type of one window.

        Parameters
        ----------
        entropy : float
            Shannon entropy of the window in bits (NaN when it had no samples).
        crossings : float
            Threshold crossings counted in the window.
        duration_s : float, default 20.0
            Window length; crossings are rescaled to 20 s.

        Returns
        -------
        SignType
        """
        entropy = float(entropy)
        c_ref = _screen(self, entropy, crossings, duration_s)
        if c_ref is None:
            return SignType.INDETERMINATE
        e_sd, c_sd = self._scale
        best, best_d2 = SignType.STABLE, math.inf
        for kind in _PAPER_TYPES:
            c = self._table[kind]
            d2 = ((entropy - c.entropy) / e_sd) ** 2 + ((c_ref - c.crossings) / c_sd) ** 2
            if d2 < best_d2:
                best, best_d2 = kind, d2
        return best
