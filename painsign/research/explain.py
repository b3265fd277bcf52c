"""Explain one frame's P(pain): a scorer's own explanation, else occlusion sensitivity for
ONNX classifiers, else the numbers it reports.

Ferreira et al. explain frames with Grad-CAM and Integrated Gradients heatmaps. Both need the
model's gradients, which onnxruntime does not give, so a plugged-in ONNX classifier is
explained by **occlusion sensitivity** (Zeiler & Fergus, 2014), which needs only
forward passes and works for any model:

* the crop the model sees is the face box grown by the sidecar's ``crop_margin`` (see
  :meth:`~painsign.scoring.onnx_scorer.OnnxClassifierScorer.preprocess`);
* a grey square (``fill``, default 128) slides over that crop, in the frame and before
  preprocessing, so letterboxing, colour order and scaling stay the scorer's own; parts
  of the crop outside the frame (black in the model's input) can be occluded too;
* each position records the drop of P(pain), ``base - occluded`` (positive: the region
  supported "pain");
* the heatmap value of a crop pixel is the mean drop over the patches covering it (the
  per-position grid "upsampled" to the crop), shown in JET colours on the crop.

A scorer with the :class:`~painsign.scoring.base.Explainable` capability draws its own
explanation (the NFCS proxy: the landmarks of its active facial actions, see
:mod:`painsign.scoring.nfcs_explain`).

Pure numpy / OpenCV; no Qt. Images returned are BGR, ready for ``cv2.imwrite``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from painsign.errors import InputError, PainsignError
from painsign.scoring.base import Explainable, Explanation, FaceFrame, Score, display_name
from painsign.scoring.explain_legend import (
    BACKGROUND,
    LEGEND_FONT,
    LEGEND_MARGIN,
    LEGEND_WIDTH,
    LINE_GAP,
    VIEW_SIDE,
    LegendText,
    text_width,
    wrap_text,
)
from painsign.signal.threshold import above
from painsign.vision.geometry import grow_box

#: Default patch side as a fraction of the crop's longer side; stride is half the patch.
PATCH_FRACTION = 1 / 8
#: Opacity of the heatmap over the face.
ALPHA = 0.45
#: Grey level of the occluding patch (RGB).
FILL = 128

# --- occlusion sensitivity ---------------------------------------------------------------


@dataclass(frozen=True)
class OcclusionMap:
    """Occlusion sensitivity of a classifier over the face crop it sees.

    Attributes
    ----------
    base_p : float
        P(pain) without occlusion.
    heat : numpy.ndarray
        (h, w) float64 mean drop of P(pain) over the patches covering each crop pixel.
    grid : numpy.ndarray
        (ny, nx) drop of P(pain) per patch position (row-major, top-left first).
    crop : numpy.ndarray
        (h, w, 3) RGB uint8 crop (the face box grown by ``crop_margin``; outside the
        frame black, as the model sees it before resizing).
    patch, stride : int
        Patch side and stride in crop pixels.
    """

    base_p: float
    heat: np.ndarray
    grid: np.ndarray
    crop: np.ndarray
    patch: int
    stride: int


def _positions(n: int, patch: int, stride: int) -> list[int]:
    last = max(n - patch, 0)
    out = list(range(0, last + 1, stride))
    if out[-1] != last:
        out.append(last)
    return out


def occlusion_map(
    scorer,
    rgb: np.ndarray,
    box,
    patch: int | None = None,
    stride: int | None = None,
    fill: int = FILL,
) -> OcclusionMap:
    """Slide a grey patch over the face crop a classifier sees; record the drop of P(pain).

    Parameters
    ----------
    scorer : OnnxClassifierScorer
        Anything with ``preprocess(rgb, box)``, ``session``, ``input_name``,
        ``output_name``, ``probability(y)`` and ``spec.crop_margin``.
    rgb : numpy.ndarray
        The frame, (H, W, 3) RGB uint8.
    box : array-like
        Face box ``[x1, y1, x2, y2]`` in pixels.
    patch : int, optional
        Patch side in crop pixels; default 1/8 of the crop's longer side (at least 1).
    stride : int, optional
        Step between patch positions; default half the patch (at least 1).
    fill : int
        Grey level of the patch.

    Returns
    -------
    OcclusionMap
        The heatmap is 0 where no occlusion changed P(pain); all 0 when the base
        P(pain) is not finite.

    Raises
    ------
    ValueError
        For a patch or stride below 1.
    """
    rgb = np.asarray(rgb)
    gx1, gy1, gx2, gy2 = grow_box(box, scorer.spec.crop_margin)
    w, h = gx2 - gx1, gy2 - gy1
    patch = max(1, round(max(w, h) * PATCH_FRACTION)) if patch is None else int(patch)
    stride = max(1, patch // 2) if stride is None else int(stride)
    if patch < 1 or stride < 1:
        raise ValueError(f"patch and stride must be >= 1 pixel, got {patch} and {stride}")
    # Pad with black so the whole crop can be occluded; an even pad keeps the scorer's own
    # rounding of the grown box (round half to even) unchanged.
    ih, iw = rgb.shape[:2]
    pad = max(0, -gx1, -gy1, gx2 - iw, gy2 - ih)
    pad += pad % 2
    work = np.zeros((ih + 2 * pad, iw + 2 * pad, 3), dtype=np.uint8)
    work[pad : pad + ih, pad : pad + iw] = rgb
    pbox = np.asarray(box, dtype=np.float64).ravel() + pad
    ox, oy = gx1 + pad, gy1 + pad
    crop = work[oy : oy + h, ox : ox + w].copy()

    def predict() -> float:
        x = scorer.preprocess(work, pbox)
        return scorer.probability(
            scorer.session.run([scorer.output_name], {scorer.input_name: x})[0]
        )

    base = predict()
    ys, xs = _positions(h, patch, stride), _positions(w, patch, stride)
    grid = np.zeros((len(ys), len(xs)))
    total = np.zeros((h, w))
    count = np.zeros((h, w))
    if math.isfinite(base):
        for i, y0 in enumerate(ys):
            for j, x0 in enumerate(xs):
                region = work[oy + y0 : oy + y0 + patch, ox + x0 : ox + x0 + patch]
                saved = region.copy()
                region[:] = fill
                p = predict()
                region[:] = saved
                grid[i, j] = base - p if math.isfinite(p) else 0.0
                total[y0 : y0 + patch, x0 : x0 + patch] += grid[i, j]
                count[y0 : y0 + patch, x0 : x0 + patch] += 1
    heat = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return OcclusionMap(float(base), heat, grid, crop, patch, stride)


def render_occlusion(
    omap: OcclusionMap, title: str, threshold: float, alpha: float = ALPHA
) -> np.ndarray:
    """Overlay an occlusion heatmap on its face crop, with P(pain) printed above.

    Only drops (regions supporting "pain") are coloured, scaled to the largest drop.

    Parameters
    ----------
    omap : OcclusionMap
    title : str
        Scorer name shown in the header.
    threshold : float
        The scorer's decision threshold.
    alpha : float
        Heatmap opacity.

    Returns
    -------
    numpy.ndarray
        BGR uint8 image, the crop enlarged to :data:`VIEW_SIDE` on its longer side.
    """
    crop = np.ascontiguousarray(omap.crop[:, :, ::-1])
    pos = np.clip(omap.heat, 0.0, None)
    top = float(pos.max()) if pos.size else 0.0
    norm = pos / top if top > 0 else np.zeros_like(pos)
    colour = cv2.applyColorMap(np.round(norm * 255).astype(np.uint8), cv2.COLORMAP_JET)
    blended = cv2.addWeighted(crop, 1 - alpha, colour, alpha, 0)
    s = VIEW_SIDE / max(blended.shape[:2])
    view = cv2.resize(
        blended,
        (max(1, round(blended.shape[1] * s)), max(1, round(blended.shape[0] * s))),
        interpolation=cv2.INTER_LINEAR,
    )
    lines = [
        f"{title}: P(pain) {omap.base_p:.2f} (threshold {threshold:.2f})",
        f"occlusion {omap.patch}px patch, stride {omap.stride}: max drop {top:.2f}",
    ]
    return _with_header(view, lines)


def explain_classifier(
    scorer,
    frame: FaceFrame,
    patch_fraction: float = PATCH_FRACTION,
    stride_fraction: float | None = None,
) -> Explanation:
    """Explain an ONNX classifier's P(pain) for one frame by occlusion sensitivity.

    Parameters
    ----------
    scorer : OnnxClassifierScorer
    frame : FaceFrame
        The frame with its (found) face.
    patch_fraction : float
        Patch side as a fraction of the crop's longer side (default 1/8).
    stride_fraction : float, optional
        Stride as a fraction of the crop's longer side; default half the patch.

    Returns
    -------
    Explanation
        ``kind == "occlusion"`` with the heatmap.

    Raises
    ------
    ValueError
        For fractions outside (0, 1].
    """
    for label, f in (("patch", patch_fraction), ("stride", stride_fraction)):
        if f is not None and not 0 < f <= 1:
            raise ValueError(f"{label} fraction must be in (0, 1], got {f!r}")
    gx1, gy1, gx2, gy2 = grow_box(frame.face.box, scorer.spec.crop_margin)
    side = max(gx2 - gx1, gy2 - gy1)
    patch = max(1, round(side * patch_fraction))
    stride = (
        max(1, patch // 2) if stride_fraction is None else max(1, round(side * stride_fraction))
    )
    omap = occlusion_map(scorer, frame.rgb, frame.face.box, patch, stride)
    display = display_name(scorer)
    image = render_occlusion(omap, display, scorer.threshold)
    return Explanation(
        scorer.name, display, "occlusion", omap.base_p, scorer.threshold, image, heat=omap.heat
    )


def explain_details(scorer, frame: FaceFrame, score: Score | None = None) -> Explanation:
    """Explain any other scorer by what it reports: P(pain) and its numeric details.

    For scorers with neither landmarks to draw nor an ONNX model to occlude (a combined
    score, say): the face, and a legend of P(pain) and each number in ``score.details``.

    Parameters
    ----------
    scorer : object
        Anything with ``name``, ``threshold`` and ``score(frame)``.
    frame : FaceFrame
        The frame with its (found) face.
    score : Score, optional
        The score of this frame; scored now when omitted.

    Returns
    -------
    Explanation
        ``kind == "details"``; ``active`` holds the numeric details.
    """
    if score is None:
        score = scorer.score(frame)
    numbers = {
        k: float(v)
        for k, v in score.details.items()
        if isinstance(v, int | float | np.floating | np.integer)
        and not isinstance(v, bool)
        and math.isfinite(float(v))
    }
    display = display_name(scorer)
    image = render_details(
        frame.rgb, frame.face.box, numbers, float(score.p), scorer.threshold, display
    )
    return Explanation(
        scorer.name, display, "details", float(score.p), scorer.threshold, image, active=numbers
    )


def render_details(
    rgb: np.ndarray, box, numbers: dict[str, float], p: float, threshold: float, title: str
) -> np.ndarray:
    """Draw the face with a legend of P(pain) and ``numbers``, all inside the image.

    Returns
    -------
    numpy.ndarray
        BGR uint8: the face (:data:`VIEW_SIDE` square) with the legend on its right.
    """
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box).ravel())
    side = max(x2 - x1, y2 - y1) * 1.3
    s = VIEW_SIDE / max(side, 1.0)
    m = np.array(
        [[s, 0, VIEW_SIDE / 2 - s * (x1 + x2) / 2], [0, s, VIEW_SIDE / 2 - s * (y1 + y2) / 2]]
    )
    bgr = np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
    view = cv2.warpAffine(
        bgr,
        m,
        (VIEW_SIDE, VIEW_SIDE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(40, 40, 40),
    )
    side_word = "pain" if above(p, threshold) else "no pain"
    lines = [(title, 0.6), (f"P(pain) {p:.2f} ({side_word} at {threshold:.2f})", 0.5)]
    lines += [(f"{k.replace('_', ' ')} {v:.2f}", 0.45) for k, v in numbers.items()]
    mg, y, texts = LEGEND_MARGIN, LEGEND_MARGIN, []
    for text, scale in lines:
        for line in wrap_text(text, scale, LEGEND_WIDTH - 2 * mg):
            (_, h), base = cv2.getTextSize(line, LEGEND_FONT, scale, 1)
            texts.append(LegendText(line, mg, y + h, scale, (255, 255, 255)))
            y += h + base + LINE_GAP
    height = max(VIEW_SIDE, y - LINE_GAP + mg)
    panel = np.full((height, LEGEND_WIDTH, 3), BACKGROUND, np.uint8)
    for text in texts:
        text.draw(panel)
    if height > VIEW_SIDE:
        view = np.vstack([view, np.full((height - VIEW_SIDE, VIEW_SIDE, 3), BACKGROUND, np.uint8)])
    return np.hstack([view, panel])


def explain(
    scorer,
    frame: FaceFrame,
    score: Score | None = None,
    patch_fraction: float = PATCH_FRACTION,
    stride_fraction: float | None = None,
) -> Explanation:
    """Explain any scorer's P(pain) for one frame.

    A scorer with the :class:`~painsign.scoring.base.Explainable` capability explains
    itself; an ONNX classifier gets an occlusion heatmap (:func:`explain_classifier`);
    any other scorer is explained by its details (:func:`explain_details`).

    Parameters
    ----------
    scorer : Scorer
    frame : FaceFrame
        The frame with its (found) face.
    score : Score, optional
        The score already computed for this frame (a stateful scorer's, which must not
        score the frame twice); the occlusion heatmap always scores the frame itself.
    patch_fraction, stride_fraction : float
        Occlusion patch and stride (see :func:`explain_classifier`).

    Returns
    -------
    Explanation

    Raises
    ------
    InputError
        For a frame without a face.
    PainsignError
        For an object that has no ``score`` method.
    """
    if not frame.face.found or frame.face.box is None:
        raise InputError(f"no face at t={frame.t:.2f} s: nothing to explain")
    if isinstance(scorer, Explainable):
        return scorer.explain(frame, score)
    if hasattr(scorer, "preprocess") and hasattr(scorer, "session"):
        return explain_classifier(scorer, frame, patch_fraction, stride_fraction)
    if callable(getattr(scorer, "score", None)):
        return explain_details(scorer, frame, score)
    raise PainsignError(
        f"cannot explain {getattr(scorer, 'name', scorer)!r}: it is not a scorer (no score method)"
    )


def _with_header(view: np.ndarray, lines: list[str]) -> np.ndarray:
    """Put ``lines`` of text above ``view``, the image wide enough for the longest."""
    m = LEGEND_MARGIN
    width = max(view.shape[1], max(text_width(s, 0.5) for s in lines) + 2 * m)
    head = np.full((22 * len(lines) + 10, width, 3), BACKGROUND, np.uint8)
    for i, line in enumerate(lines):
        LegendText(line, m, 22 * (i + 1), 0.5, (255, 255, 255)).draw(head)
    body = np.full((view.shape[0], width, 3), BACKGROUND, np.uint8)
    body[:, : view.shape[1]] = view
    return np.vstack([head, body])
