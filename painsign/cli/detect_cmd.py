"""``painsign detect IMAGE``: print every face found, optionally draw them to a PNG."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from painsign.cli.common_options import add_detector_option
from painsign.cli.outputs import check_out_file
from painsign.errors import InputError
from painsign.model_store import ModelStore
from painsign.vision.detector import FaceDetector
from painsign.vision.draw import draw_faces
from painsign.vision.image_file import read_image
from painsign.vision.landmarks import FaceLandmarker
from painsign.vision.tracker import FaceTracker


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``detect`` subcommand."""
    p = sub.add_parser("detect", help="find faces and landmarks in an image")
    p.add_argument("image", type=Path, help="image file (PNG, JPEG, BMP, TIFF, ...)")
    p.add_argument("--out", type=Path, metavar="PNG", help="write the annotated image here")
    p.add_argument("--json", action="store_true", help="print the faces as JSON")
    p.add_argument(
        "--landmarks",
        action="store_true",
        help="with --json, also print the 468 landmarks of each face",
    )
    add_detector_option(
        p,
        "the other model and, for a large image, full range on tiles look for the faces it missed",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Detect faces in ``args.image``; print them; write ``--out``."""
    if args.out is not None:
        check_out_file(args.out)
    image = read_image(args.image)
    store = ModelStore(args.models)
    tracker = FaceTracker(FaceDetector(args.detector, store=store), FaceLandmarker(store=store))
    faces = tracker.analyse_image(image, order="bgr")
    if args.json:
        rows = []
        for face in faces:
            row = face.detection.to_dict()
            row["presence"] = round(float(face.landmarks.presence), 4)
            if args.landmarks:
                row["landmarks"] = np.round(face.landmarks.points, 2).tolist()
            rows.append(row)
        print(
            json.dumps(
                {"image": str(args.image), "faces": rows, "provider": tracker.detector.provider}
            )
        )
    else:
        h, w = image.shape[:2]
        print(f"{args.image}: {w}x{h}, {len(faces)} face(s)")
        for i, face in enumerate(faces):
            x1, y1, x2, y2 = face.box
            role = "patient" if i == 0 else "other"
            print(
                f"  face {i} ({role}): box x {x1:.0f}-{x2:.0f}, y {y1:.0f}-{y2:.0f}, "
                f"score {face.score:.2f}, landmark presence {face.landmarks.presence:.2f}"
            )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        ok, buf = cv2.imencode(".png", draw_faces(image, faces))
        if not ok:
            raise InputError(f"could not encode the annotated image for {args.out}")
        buf.tofile(args.out)
        if not args.json:
            print(f"annotated image written to {args.out}")
    return 0
