"""The pain-scorer contract: one frame's face in, P(pain) in [0, 1] out, plus details.

Several scorers run side by side on the same frames (the default NFCS proxy and any ONNX
classifiers a clinical engineer plugs in). Each has a ``name`` (used in column names such
as ``p_raw_NAME``), a decision ``threshold`` (Youden's index for a trained classifier) and
a ``score`` method. Scorers are free of Qt and cameras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from painsign.errors import PainsignError
from painsign.vision.types import FaceResult


@dataclass(frozen=True)
class FaceFrame:
    """What a scorer sees of one video frame.

    Attributes
    ----------
    rgb : numpy.ndarray
        The whole frame, (H, W, 3) RGB uint8, C-contiguous.
    face : FaceResult
        The patient face (``found`` is True when a scorer is called), with its box in
        pixels and its 468 landmarks.
    t : float
        Time stamp in seconds from the start of the recording.
    """

    rgb: np.ndarray
    face: FaceResult
    t: float


@dataclass(frozen=True)
class Score:
    """A scorer's output for one frame.

    Attributes
    ----------
    p : float
        P(pain) in [0, 1]; NaN when the scorer could not score this frame.
    details : dict of str to float
        Optional named values (for the NFCS scorer, each facial action's intensity).
    reason : str or None
        Why there is no score (``p`` NaN), e.g. ``"face covered"``: the frame is not
        scorable, which is not a fault. A NaN without a reason means the scorer failed
        (see :mod:`painsign.scoring.guard`).
    """

    p: float
    details: dict[str, float] = field(default_factory=dict)
    reason: str | None = None

    @classmethod
    def unscorable(cls, reason: str, details: dict[str, float] | None = None) -> Score:
        """No score for this frame, and why (not a failure of the scorer)."""
        return cls(float("nan"), dict(details or {}), reason)


class ScoreError(PainsignError):
    """A scorer's output for one frame is not a probability (NaN, inf, out of [0, 1]).

    Its message is the reason, e.g. ``"output NaN"``; the frame's score is NaN and the
    other scorers go on (:func:`painsign.scoring.guard.guarded_score`).
    """


@runtime_checkable
class Scorer(Protocol):
    """Anything that turns a face into P(pain)."""

    name: str
    threshold: float

    def score(self, frame: FaceFrame) -> Score:
        """Return P(pain) for the face in ``frame``."""
        ...

    def reset(self) -> None:
        """Forget per-recording state (baselines, temporal history)."""
        ...
