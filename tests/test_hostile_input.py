"""Hostile and unusual inputs (issue 11, items 6 and 8): one stderr line and the
documented exit code, never a traceback, a hang or a library's own message."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ASTRONAUT_FACE, iou
from painsign_cli import run_painsign
from PIL import Image

from painsign.errors import InputError
from painsign.limits import MAX_FRAME_PIXELS
from painsign.vision.image import to_rgb
from painsign.vision.image_file import read_image

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def painsign(*args, timeout=120, env=None):
    return run_painsign(*args, timeout=timeout, env=env)


def assert_one_error_line(r, code: int, *words: str):
    assert r.returncode == code, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("painsign: error:"), r.stderr
    for word in words:
        assert word in r.stderr, r.stderr


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bytes(width: int, height: int, colour: int = 2, rows: int = 4) -> bytes:
    """A PNG whose header says ``width`` x ``height`` and whose data holds ``rows`` rows."""
    samples = {0: 1, 2: 3}[colour]
    raw = b"".join(b"\0" + bytes(width * samples) for _ in range(rows))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def interlaced_png(rgb: np.ndarray) -> bytes:
    """An Adam7-interlaced 8-bit RGB PNG (neither OpenCV nor Pillow writes one)."""
    h, w = rgb.shape[:2]
    raw = b""
    for x0, y0, dx, dy in (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\0" + row.tobytes() for row in sub)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1))
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory, astronaut_bgr) -> Path:
    path = tmp_path_factory.mktemp("img") / "astronaut.png"
    cv2.imwrite(str(path), astronaut_bgr)
    return path


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    """The first 15 frames of the demo video, its H.264 packets copied (no re-encoding)."""
    import av

    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    with av.open(str(ASSETS / "demo_grimace.mp4")) as src, av.open(str(path), "w") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for n, packet in enumerate(p for p in src.demux(src.streams.video[0]) if p.dts is not None):
            if n == 15:
                break
            packet.stream = stream
            dst.mux(packet)
    return path


# Item 6: the pixel limit is read from the header before anything is decoded.


def test_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("1", (8000, MAX_FRAME_PIXELS // 8000 + 1)).save(path)  # 40.008 MP, 5 kB
    assert path.stat().st_size < 100_000
    r = painsign("detect", path)
    assert_one_error_line(r, 2, str(path), "megapixels")


@pytest.mark.parametrize(
    "header", [(65535, 65535, 2), (65535, 65535, 0), (65535, 100, 2), (100, 65535, 0)]
)
def test_png_with_a_65535_pixel_header_is_one_line_exit_2(tmp_path, header):
    """Over the limit, OpenCV's own assertion was an internal error (exit 3); under it,
    libpng's "Not enough image data" was printed too, or Pillow filled the rows in."""
    width, height, colour = header
    path = tmp_path / "garbled.png"
    path.write_bytes(png_bytes(width, height, colour))
    assert_one_error_line(painsign("detect", path), 2, str(path))


def test_detect_refuses_a_named_pipe_without_opening_it(tmp_path):
    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    r = painsign("detect", fifo, timeout=30)
    assert_one_error_line(r, 2, "named pipe")


# Decoder chatter: libpng and libjpeg wrote to file descriptor 2 from inside OpenCV.


def test_libpng_and_libjpeg_warnings_stay_off_stderr(tmp_path, astronaut_png):
    png = astronaut_png.read_bytes()
    profile = png_chunk(b"iCCP", b"bad\0\0" + zlib.compress(b"not a colour profile"))
    bad_profile = tmp_path / "iccp.png"
    bad_profile.write_bytes(png[:33] + profile + png[33:])  # after the IHDR chunk
    jpeg = (ASSETS / "astronaut.jpg").read_bytes()
    short_scan = tmp_path / "short_scan.jpg"
    short_scan.write_bytes(jpeg[: int(len(jpeg) * 0.6)] + b"\xff\xd9")
    for path in (bad_profile, short_scan):
        r = painsign("detect", path, "--json")
        assert r.returncode == 0 and r.stderr == "", (path.name, r.stderr)
        assert len(json.loads(r.stdout)["faces"]) == 1


def test_matplotlib_warnings_stay_off_stderr(tmp_path, short_clip):
    """An unusable MPLCONFIGDIR made matplotlib log two warnings through painsign's log."""
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    env = {**os.environ, "MPLCONFIGDIR": str(not_a_folder)}
    r = painsign("analyze", short_clip, "--quiet", "--out", tmp_path / "out", env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (tmp_path / "out" / "sign.png").stat().st_size > 10_000


# Float, 16-bit, grayscale and alpha images.


def float_tiff_gray(path: Path, bgr: np.ndarray) -> None:
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255).save(path)


def float_tiff_colour(path: Path, bgr: np.ndarray) -> None:
    cv2.imwrite(str(path), bgr.astype(np.float32) / 255)


@pytest.mark.parametrize("write", [float_tiff_gray, float_tiff_colour])
def test_float32_tiff_is_accepted(tmp_path, astronaut_bgr, write):
    path = tmp_path / "float.tif"
    write(path, astronaut_bgr)
    r = painsign("detect", path, "--json")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    faces = json.loads(r.stdout)["faces"]
    assert len(faces) == 1 and iou(faces[0]["box"], ASTRONAUT_FACE) > 0.7


@pytest.mark.parametrize("bad", [np.nan, np.inf, 255.0])
def test_float_tiff_with_nan_inf_or_0_255_values_is_refused(tmp_path, astronaut_bgr, bad):
    image = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
    image[100:110, 100:110] = bad
    path = tmp_path / "bad.tif"
    Image.fromarray(image).save(path)
    word = "0-1" if bad == 255.0 else "NaN or infinite"
    assert_one_error_line(painsign("detect", path), 2, str(path), word)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 2.0])
def test_to_rgb_refuses_nan_inf_and_out_of_range_floats(astronaut_rgb, bad):
    image = astronaut_rgb.astype(np.float32) / 255
    image[0, 0, 0] = bad
    with pytest.raises(InputError):
        to_rgb(image, "rgb")


def test_to_rgb_keeps_float_rounding_within_half_a_grey_level(astronaut_rgb):
    image = astronaut_rgb.astype(np.float32) / 255
    image[0, 0] = [-1e-4, 1 + 1e-4, 0.5]
    assert to_rgb(image, "rgb")[0, 0].tolist() == [0, 255, 128]


def sixteen_bit_png(path, bgr):
    cv2.imwrite(str(path), bgr.astype(np.uint16) * 257)


def sixteen_bit_tiff(path, bgr):
    cv2.imwrite(str(path), bgr.astype(np.uint16) * 257)


def sixteen_bit_gray_png(path, bgr):
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257).save(path)


def gray_png(path, bgr):
    cv2.imwrite(str(path), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


def rgba_png(path, bgr):
    cv2.imwrite(str(path), cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))


def palette_png(path, bgr):
    Image.fromarray(bgr[:, :, ::-1]).quantize(256).save(path)


def lzw_tiff(path, bgr):
    Image.fromarray(bgr[:, :, ::-1]).save(path, compression="tiff_lzw")


def big_tiff(path, bgr):
    Image.fromarray(bgr[:, :, ::-1]).save(path, big_tiff=True)


def gray_alpha_tiff(path, bgr):
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)).convert("LA").save(path)


def interlaced(path, bgr):
    path.write_bytes(interlaced_png(np.ascontiguousarray(bgr[:, :, ::-1])))


@pytest.mark.parametrize(
    "suffix, write, gray",
    [
        (".png", sixteen_bit_png, False),
        (".tif", sixteen_bit_tiff, False),
        (".png", sixteen_bit_gray_png, True),
        (".png", gray_png, True),
        (".png", rgba_png, False),
        (".png", palette_png, False),
        (".png", interlaced, False),
        (".tif", lzw_tiff, False),
        (".tif", big_tiff, False),
        (".tif", gray_alpha_tiff, True),
    ],
)
def test_deep_gray_alpha_palette_and_interlaced_images_read_as_8_bit_bgr(
    tmp_path, astronaut_bgr, suffix, write, gray
):
    """The Pillow reader gives what OpenCV gave (within a grey level; a palette within its
    quantisation), so the switch of decoder changes no result."""
    path = tmp_path / f"image{suffix}"
    write(path, astronaut_bgr)
    got = read_image(path)
    want = (
        cv2.cvtColor(cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        if gray
        else astronaut_bgr
    )
    assert got.shape == (512, 512, 3) and got.dtype == np.uint8
    diff = np.abs(got.astype(int) - want.astype(int))
    if write is palette_png:
        assert diff.mean() < 8
    else:
        assert diff.max() <= 1


# The models' manifest and --verify.


@pytest.fixture()
def models_copy(tmp_path, store) -> Path:
    dest = tmp_path / "models"
    shutil.copytree(store.folder, dest, ignore=shutil.ignore_patterns("tflite", "src"))
    return dest


def edit_manifest(folder: Path, change) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest["models"])
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("value", [123, ["ab"], None])
def test_manifest_sha256_of_the_wrong_type_is_one_line_exit_1(models_copy, astronaut_png, value):
    edit_manifest(models_copy, lambda m: m["face_landmark"].update(sha256=value))
    for command in (["models", "--verify"], ["detect", astronaut_png]):
        r = painsign("--models", models_copy, *command)
        assert_one_error_line(r, 1, "face_landmark", "sha256")


def test_verify_fails_when_the_manifest_drops_a_needed_model(models_copy):
    edit_manifest(models_copy, lambda m: m.pop("fer2013_mini_xception"))
    (models_copy / "fer2013_mini_xception.onnx").unlink()
    r = painsign("--models", models_copy, "models", "--verify")
    assert_one_error_line(r, 1, "fer2013_mini_xception", "does not list")
    assert "FAILED" in r.stdout


def test_verify_fails_on_an_onnx_file_the_manifest_does_not_list(models_copy):
    shutil.copy(models_copy / "face_landmark.onnx", models_copy / "extra.onnx")
    r = painsign("--models", models_copy, "models", "--verify")
    assert_one_error_line(r, 1, "extra.onnx", "not in")


def test_verify_and_detect_fail_on_swapped_models_with_a_matching_manifest(
    models_copy, astronaut_png
):
    full = models_copy / "face_detection_full_range.onnx"
    short = models_copy / "face_detection_short_range.onnx"
    full_bytes, short_bytes = full.read_bytes(), short.read_bytes()
    full.write_bytes(short_bytes)
    short.write_bytes(full_bytes)

    def match(models):
        for name, data in (
            ("face_detection_full_range", short_bytes),
            ("face_detection_short_range", full_bytes),
        ):
            models[name].update(
                sha256=__import__("hashlib").sha256(data).hexdigest(), bytes=len(data)
            )

    edit_manifest(models_copy, match)
    r = painsign("--models", models_copy, "models", "--verify")
    assert_one_error_line(r, 1, "face_detection_short_range.onnx", "shape")
    assert r.stdout.count("FAILED") == 2
    r = painsign("--models", models_copy, "detect", astronaut_png)
    assert_one_error_line(r, 1, "face_detection_full_range.onnx", "needs")


# --out is checked before any work.


def test_analyze_out_naming_a_file_fails_before_the_analysis(tmp_path, short_clip):
    existing = tmp_path / "report.txt"
    existing.write_text("keep me")
    r = painsign("analyze", short_clip, "--quiet", "--no-figure", "--out", existing)
    assert_one_error_line(r, 2, "--out", "not a folder")
    assert r.stdout == "" and existing.read_text() == "keep me"


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_detect_out_that_cannot_be_a_file_fails_before_detecting(tmp_path, astronaut_png, where):
    (tmp_path / "file").write_text("")
    out = tmp_path if where == "folder" else tmp_path / "file" / "faces.png"
    r = painsign("detect", astronaut_png, "--out", out)
    assert_one_error_line(r, 2, "--out")
    assert r.stdout == ""


@pytest.mark.parametrize("command", ["explain", "evaluate"])
def test_explain_and_evaluate_out_naming_a_file_fail_first(tmp_path, astronaut_png, command):
    existing = tmp_path / "out"
    existing.write_text("")
    target = astronaut_png if command == "explain" else tmp_path / "labels.csv"
    r = painsign(command, target, "--out", existing)
    assert_one_error_line(r, 2, "--out", "not a folder")
