"""``painsign explain IMAGE_OR_VIDEO``: why each scorer gave the P(pain) it gave, as PNGs.

For a video, the frame nearest ``--t`` is explained after the tracker and the scorers
that learn a rest baseline (:class:`~painsign.scoring.base.Calibratable`: the NFCS proxy)
have run on every frame from the start, so the track and the rest baseline (learned from
the first ``--calibration`` seconds) are those ``painsign analyze`` would have at that
moment. The other scorers (the ONNX classifiers) keep no state and score only that
frame. A still image has no rest face: NFCS scores it against population defaults unless
``--rest IMAGE`` gives a rest face of the same patient.
"""

from __future__ import annotations

import argparse
import contextlib
import math
from pathlib import Path

import cv2

from painsign.cli.common_options import add_detector_option
from painsign.cli.outputs import check_out_dir
from painsign.cli.scorer_options import add_scorer_options, build_scorers
from painsign.errors import InputError, PainsignError
from painsign.limits import require_regular_file
from painsign.model_store import ModelStore
from painsign.research.explain import PATCH_FRACTION, explain
from painsign.scoring.base import Calibratable, Explanation, FaceFrame, Score
from painsign.scoring.guard import exception_reason, guarded_score, output_failure
from painsign.video.reader import VideoReader
from painsign.vision.detector import FaceDetector
from painsign.vision.image import to_rgb
from painsign.vision.image_file import read_image
from painsign.vision.landmarks import FaceLandmarker
from painsign.vision.tracker import FaceTracker


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``explain`` subcommand."""
    p = sub.add_parser(
        "explain",
        help="explain each scorer's P(pain) for one frame (heatmaps, landmarks)",
        description="Write DIR/explain_NAME.png for each scorer: an occlusion-sensitivity "
        "heatmap for ONNX classifiers, the measured landmarks of the active facial actions "
        "for the NFCS proxy.",
    )
    p.add_argument("input", type=Path, metavar="IMAGE_OR_VIDEO", help="image or video file")
    p.add_argument(
        "--t",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="time of the video frame to explain (default 0)",
    )
    add_scorer_options(p)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: ./painsign-explain-INPUT_NAME)",
    )
    p.add_argument(
        "--patch",
        type=float,
        default=PATCH_FRACTION,
        metavar="FRAC",
        help="occlusion patch side, fraction of the face crop (default 1/8)",
    )
    p.add_argument(
        "--stride",
        type=float,
        default=None,
        metavar="FRAC",
        help="occlusion stride, fraction of the face crop (default half the patch)",
    )
    p.add_argument(
        "--rest",
        type=Path,
        default=None,
        metavar="IMAGE",
        help="for an image: a rest face of the same patient, the NFCS baseline",
    )
    add_detector_option(p)
    p.set_defaults(run=run)


def _is_image(path: Path) -> bool:
    require_regular_file(path, "input")
    try:
        return bool(cv2.haveImageReader(str(path)))
    except cv2.error:
        return False


def _image_face(tracker: FaceTracker, path: Path):
    rgb = to_rgb(read_image(path), "bgr")
    faces = tracker.analyse_image(rgb, order="rgb")
    if not faces:
        raise InputError(f"no face found in {path}: nothing to explain")
    return FaceFrame(rgb, faces[0], 0.0)


def _video_frame(
    tracker: FaceTracker, scorers: list, path: Path, t: float
) -> tuple[FaceFrame, dict[str, Score]]:
    """Run the tracker and stateful scorers up to the frame nearest ``t``; return it."""
    reader = VideoReader(path)
    half = 0.5 / reader.info.fps
    stateful = [s for s in scorers if isinstance(s, Calibratable)]
    tracker.reset()
    for s in stateful:
        s.reset()
    last = None
    frames = iter(reader)
    with contextlib.closing(frames):
        for frame in frames:
            if last is not None and frame.t > t + half:
                break
            rgb = to_rgb(frame.bgr, "bgr")
            face = tracker.process_rgb(rgb)
            scores = {}
            if face.found:
                ff = FaceFrame(rgb, face, frame.t)
                scores = {s.name: s.score(ff) for s in stateful}
            last = (FaceFrame(rgb, face, frame.t), scores)
    if last is None:
        raise InputError(f"video {path} has no decodable frame")
    ff = last[0]
    if ff.t < t - 2 * half:
        raise InputError(f"--t {t:g} s is past the end of {path} (last frame at {ff.t:.2f} s)")
    if not ff.face.found:
        raise InputError(f"no face in {path} at t={ff.t:.2f} s: nothing to explain")
    return last


def run(args: argparse.Namespace) -> int:
    """Explain the frame; write one PNG per scorer; print one line per scorer."""
    if not args.t >= 0:
        raise InputError("--t must be zero or positive")
    for option in ("patch", "stride"):
        v = getattr(args, option)
        if v is not None and not 0 < v <= 1:
            raise InputError(f"--{option} must be a fraction of the face crop in (0, 1]")
    out = check_out_dir(args.out or Path(f"painsign-explain-{args.input.stem}"))
    is_image = _is_image(args.input)
    if is_image and args.t != 0:
        raise InputError(f"{args.input} is an image: --t applies to videos")
    if args.rest is not None and not is_image:
        raise InputError("--rest applies to an image; a video learns its rest face itself")
    store = ModelStore(args.models)
    scorers = build_scorers(args)
    tracker = FaceTracker(FaceDetector(args.detector, store=store), FaceLandmarker(store=store))
    scores: dict[str, Score] = {}
    if is_image:
        if args.rest is not None:
            _calibrate(scorers, _image_face(tracker, args.rest))
        frame = _image_face(tracker, args.input)
        print(f"{args.input}: patient face at box " + ", ".join(f"{v:.0f}" for v in frame.face.box))
    else:
        frame, scores = _video_frame(tracker, scorers, args.input, args.t)
        print(f"{args.input}: frame at t={frame.t:.2f} s")
    out.mkdir(parents=True, exist_ok=True)
    failures = []
    for scorer in scorers:
        result, failure, unscorable = _explained(scorer, frame, scores.get(scorer.name), args)
        if result is None:
            if failure is not None:
                failures.append(f"scorer '{scorer.name}' failed on this frame ({failure})")
            why = f"scorer failed on this frame ({failure})" if failure else unscorable
            print(f"  {scorer.name}: {why}; no image written")
            continue
        path = out / f"explain_{scorer.name}.png"
        ok, buf = cv2.imencode(".png", result.image)
        if not ok:
            raise InputError(f"could not encode the explanation image for {path}")
        buf.tofile(path)
        print(f"  {result.summary} -> {path}")
    if failures:
        raise PainsignError("; ".join(failures))
    return 0


def _explained(
    scorer, frame: FaceFrame, score: Score | None, args: argparse.Namespace
) -> tuple[Explanation | None, str | None, str | None]:
    """One scorer's explanation; else why not: its failure, or why it cannot score this
    face (a NaN with a reason, e.g. covered: not a failure).

    A plug-in that raises or gives no probability for this frame (see
    :func:`~painsign.scoring.guard.guarded_score`), or raises while being explained, is
    reported alone and the other scorers are explained.
    """
    own = score
    if own is None:  # a stateless scorer: its score of this frame, checked first
        own, failure = guarded_score(scorer, frame)
    else:  # a stateful scorer's score, given (it must not score the frame twice)
        failure = None if math.isnan(own.p) and own.reason else output_failure(own.p)
    if failure is not None:
        return None, failure, None
    if math.isnan(own.p):
        return None, None, f"cannot score this face ({own.reason})"
    try:
        return explain(scorer, frame, score, args.patch, args.stride), None, None
    except InputError:
        raise
    except Exception as exc:  # a plug-in's fault while being explained stays its own
        return None, exception_reason(exc), None


def _calibrate(scorers: list, rest: FaceFrame) -> None:
    for s in scorers:
        if isinstance(s, Calibratable):
            try:
                s.calibrate([rest])
            except ValueError as exc:
                raise InputError(f"--rest: {exc}") from exc
