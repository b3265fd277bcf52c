"""The pain-scorer contract: one frame's face in, P(pain) in [0, 1] out, plus details.

Several scorers run side by side on the same frames (the default NFCS proxy and any ONNX
classifiers a clinical engineer plugs in). Each has a ``name`` (used in column names such
as ``p_raw_NAME``), a decision ``threshold`` (Youden's index for a trained classifier) and
a ``score`` method. Scorers are free of Qt and cameras.

Beyond :class:`Scorer`, a scorer may offer optional capabilities, each a protocol checked
with ``isinstance`` wherever it is used, never by the scorer's class or name:

- a ``display_name`` for screens and reports (:func:`display_name`);
- a rest baseline the operator can (re)calibrate (:class:`Calibratable`): the monitor
  asks every such scorer when Calibrate is pressed, and shows the button when one runs;
- its own picture of why it scored a frame as it did (:class:`Explainable`), used by
  ``painsign explain`` instead of the generic one;
- per-frame detail columns (:class:`DetailColumns`): ``details`` keys written as columns
  of frames.csv (the NFCS scorer declares its eight action intensities).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from painsign.errors import PainsignError
from painsign.signal.threshold import above

if TYPE_CHECKING:  # the contract imports no OpenCV (painsign.storage uses display_name)
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


def display_name(scorer) -> str:
    """The scorer's name for screens and reports: its ``display_name``, else its ``name``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> display_name(SimpleNamespace(name="mine")), display_name(
    ...     SimpleNamespace(name="mine", display_name="My classifier"))
    ('mine', 'My classifier')
    """
    return getattr(scorer, "display_name", None) or scorer.name


class CalibrationRefused(ValueError):
    """A rest baseline was asked for while the face is absent or not calm; says why."""


@runtime_checkable
class Calibratable(Protocol):
    """A scorer that learns a rest baseline of the patient and can be told to learn anew.

    Attributes
    ----------
    calibrated : bool
        Whether it scores against this patient's own baseline (not population values).
    calibrating : bool
        Whether a rest window is being collected.
    baseline_status : str
        The baseline in words, for the display ("own rest face (1.0-4.0 s)").
    """

    calibrated: bool
    baseline_status: str

    @property
    def calibrating(self) -> bool:
        """Whether a rest window is being collected."""
        ...

    def recalibrate(self) -> None:
        """Learn a new baseline from the next calm seconds of the face.

        Raises
        ------
        CalibrationRefused
            When the face is not calm now, with the reason.
        """
        ...

    def calibrate(self, frames: list[FaceFrame]) -> None:
        """Learn the baseline from ``frames`` of the patient's face at rest.

        Raises
        ------
        CalibrationRefused
            When the frames are not a calm face, with the reason.
        """
        ...


@dataclass(frozen=True)
class Explanation:
    """One scorer's explanation of one frame.

    Attributes
    ----------
    name, display_name : str
        The scorer's key and display name.
    kind : str
        What the picture shows: ``"occlusion"`` (an ONNX classifier's heatmap),
        ``"details"`` (P(pain) and the numbers a scorer reports), or a scorer's own kind
        (``"nfcs"``: the landmarks of its facial actions).
    p : float
        P(pain) of the frame.
    threshold : float
        The scorer's decision threshold.
    image : numpy.ndarray
        The overlay, (H, W, 3) BGR uint8.
    active : dict of str to float
        The named values that drive the score (for NFCS the actions above the noise
        level), listed in the summary.
    heat : numpy.ndarray or None
        Occlusion heatmap over the crop (drop of P(pain) per pixel), else None.
    notes : tuple of str
        Caveats shown in the summary (e.g. an uncalibrated baseline).
    label : str
        How the summary introduces ``active`` (``"active actions"``); empty: the values
        are listed alone.
    """

    name: str
    display_name: str
    kind: str
    p: float
    threshold: float
    image: np.ndarray
    active: dict[str, float] = field(default_factory=dict)
    heat: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    label: str = ""

    @property
    def summary(self) -> str:
        """One line: the scorer, P(pain) against its threshold, and what drives it."""
        side = "pain" if above(self.p, self.threshold) else "no pain"
        head = (
            f"{self.name} ({self.display_name}): P(pain) {self.p:.2f} ({side} at "
            f"threshold {self.threshold:.2f})"
        )
        values = ", ".join(f"{k} {v:.2f}" for k, v in self.active.items())
        if self.heat is not None:
            heat = self.heat
            y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
            body = (
                f"occlusion: largest drop {float(heat.max()):.2f} at crop ({x}, {y}) "
                f"of {heat.shape[1]}x{heat.shape[0]}"
            )
        elif self.label:
            body = f"{self.label}: {values or 'none'}"
        else:
            body = values or "no details"
        return "; ".join((head, body, *self.notes))


@runtime_checkable
class Explainable(Protocol):
    """A scorer that draws its own explanation of a frame (``painsign explain``)."""

    def explain(self, frame: FaceFrame, score: Score | None = None) -> Explanation:
        """Explain the score of ``frame``.

        Parameters
        ----------
        frame : FaceFrame
            The frame with its (found) face.
        score : Score, optional
            The score already computed for this frame; scored now when omitted.
        """
        ...


@runtime_checkable
class DetailColumns(Protocol):
    """A scorer whose ``details`` include per-frame values for frames.csv.

    Attributes
    ----------
    name : str
        The scorer's name (its ``details`` are looked up by it).
    detail_columns : sequence of str
        The ``details`` keys written as columns, in order.
    """

    name: str
    detail_columns: Sequence[str]


def detail_columns(scorers: Iterable) -> tuple[str, ...]:
    """The detail columns the scorers declare, in scorer order, each once.

    A column two scorers declare holds the first one's value (see
    :func:`detail_values`).

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> detail_columns([S(name="a"), S(name="b", detail_columns=("x", "y")),
    ...                 S(name="c", detail_columns=("y", "z"))])
    ('x', 'y', 'z')
    """
    out: dict[str, None] = {}
    for s in scorers:
        if isinstance(s, DetailColumns):
            out.update(dict.fromkeys(s.detail_columns))
    return tuple(out)


def detail_sources(scorers: Iterable) -> dict[str, str]:
    """Each declared detail column and the name of the scorer whose value it holds (the
    first that declares it), in :func:`detail_columns` order.

    Examples
    --------
    >>> from types import SimpleNamespace as S
    >>> detail_sources([S(name="b", detail_columns=("x", "y")),
    ...                 S(name="c", detail_columns=("y", "z"))])
    {'x': 'b', 'y': 'b', 'z': 'c'}
    """
    out: dict[str, str] = {}
    for s in scorers:
        if isinstance(s, DetailColumns):
            for c in s.detail_columns:
                out.setdefault(c, s.name)
    return out


def detail_values(
    scorers: Iterable,
    details: dict[str, dict[str, float]],
    sources: dict[str, str] | None = None,
) -> dict[str, float]:
    """Each declared detail column's value on one frame (NaN where its scorer gave none).

    Parameters
    ----------
    scorers : iterable of Scorer
        The scorers, in order.
    details : dict of str to dict
        Each scorer's ``Score.details`` by scorer name.
    sources : dict of str to str, optional
        :func:`detail_sources` of ``scorers``, computed once by a caller that runs
        every frame (the protocol check it makes costs more than the rest).
    """
    if sources is None:
        sources = detail_sources(scorers)
    nan = float("nan")
    return {c: float(details.get(name, {}).get(c, nan)) for c, name in sources.items()}
