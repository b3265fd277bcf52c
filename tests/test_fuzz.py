"""Fuzz: damaged images and videos never crash painsign, hang it, or flood its stderr.

Seeded mutations (byte flips, truncation, header fields set to extreme values, zero
fill, duplicated chunks or boxes) of the astronaut photo as JPEG, PNG and TIFF and of a
short cut of the demo video run through ``painsign detect`` and ``painsign analyze
--quiet --no-figure``. Each must exit 0, 1 or 2 (never 3, a signal or a hang); exit 0
writes nothing on stderr, any other exactly one ``painsign: error:`` line; no traceback;
peak memory under 1.5 GB. Most cases go through one process (tests/fuzz_driver.py) to
fit a few hundred in well under a minute; a handful run as real ``python -m painsign``
processes. A failing case is copied to /tmp/fuzz-finds/ to be replayed.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import cv2
import pytest
from painsign_cli import run_painsign
from PIL import Image

import painsign

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DRIVER = Path(__file__).resolve().parent / "fuzz_driver.py"
FINDS = Path("/tmp/fuzz-finds")
SEED = 20261127
CASES_PER_IMAGE = 50
VIDEO_CASES = 100
CLIP_FRAMES = 10
MAX_PEAK_MB = 1536
CASE_TIMEOUT_S = 20
INTERESTING = (0, 1, 2, 7, 255, 256, 4096, 30000, 65535, 65536, 0x7FFFFFFF, 0xFFFFFFFF)


# Mutations: each takes the file's bytes and a seeded random source.


def flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] ^= rng.randint(1, 255)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def zero_fill(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    length = rng.randint(1, 4096)
    return data[:start] + bytes(min(length, len(data) - start)) + data[start + length :]


def duplicate_slice(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randint(16, 4096)]
    at = rng.randrange(len(data))
    return data[:at] + piece + data[at:]


def put_uint(data: bytes, offset: int, size: int, value: int, endian: str = ">") -> bytes:
    fmt = endian + {1: "B", 2: "H", 4: "I"}[size]
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value % (1 << (8 * size)))
    return bytes(out)


def png_chunks(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, length, type) of each chunk of a PNG."""
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunks.append((pos, length, kind))
        pos += 12 + length
    return chunks


def png_header(data: bytes, rng: random.Random) -> bytes:
    field = rng.choice([(16, 4), (20, 4), (24, 1), (25, 1), (26, 1), (28, 1)])  # IHDR
    out = put_uint(data, *field, rng.choice((*INTERESTING, rng.getrandbits(32))))
    if rng.random() < 0.7:  # a correct CRC, so the decoder believes the new header
        out = put_uint(out, 29, 4, zlib.crc32(out[12:29]))
    return out


def png_duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    offset, length, _ = rng.choice(png_chunks(data))
    chunk = data[offset : offset + 12 + length]
    at = rng.choice(png_chunks(data))[0]
    return data[:at] + chunk + data[at:]


def jpeg_header(data: bytes, rng: random.Random) -> bytes:
    sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
    field = rng.choice(
        [
            (sof + 5, 2),
            (sof + 7, 2),
            (sof + 9, 1),
            (sof + 4, 1),
            (data.find(b"\xff\xdb") + 2, 2),
            (data.find(b"\xff\xc4") + 2, 2),
        ]
    )
    return put_uint(data, *field, rng.choice(INTERESTING))


def tiff_header(data: bytes, rng: random.Random) -> bytes:
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    entry = ifd + 2 + 12 * rng.randrange(count)
    field = rng.choice([(entry + 8, 4), (entry + 4, 4), (entry + 2, 2)])  # value, count, type
    return put_uint(data, *field, rng.choice((*INTERESTING, rng.getrandbits(32))), "<")


MP4_BOXES = (
    b"moov",
    b"trak",
    b"mdia",
    b"minf",
    b"stbl",
    b"stsd",
    b"avc1",
    b"avcC",
    b"tkhd",
    b"mdhd",
    b"mvhd",
    b"stts",
    b"stsz",
    b"stco",
    b"stsc",
    b"stss",
    b"mdat",
)


def mp4_box(data: bytes, rng: random.Random) -> tuple[int, int]:
    """(offset, size) of a box of one of the kinds that describe the video."""
    found = [(data.find(kind) - 4, kind) for kind in MP4_BOXES if data.find(kind) >= 4]
    offset, _ = rng.choice(found)
    return offset, struct.unpack_from(">I", data, offset)[0]


def mp4_header(data: bytes, rng: random.Random) -> bytes:
    offset, size = mp4_box(data, rng)
    field = offset + (
        0 if rng.random() < 0.2 else 8 + 4 * rng.randrange(max(1, min(size, 256) // 4 - 2))
    )
    return put_uint(data, min(field, len(data) - 4), 4, rng.choice(INTERESTING))


def mp4_duplicate_box(data: bytes, rng: random.Random) -> bytes:
    offset, size = mp4_box(data, rng)
    box = data[offset : offset + min(size, 65536)]
    at = rng.choice([offset, offset + size, rng.randrange(len(data))])
    return data[:at] + box + data[at:]


GENERIC = (flip, truncate, zero_fill, duplicate_slice)
MUTATIONS = {
    "jpg": (*GENERIC, jpeg_header, jpeg_header),
    "png": (*GENERIC, png_header, png_header, png_duplicate_chunk),
    "tif": (*GENERIC, tiff_header, tiff_header),
    "lzw.tif": (*GENERIC, tiff_header),
    "mp4": (*GENERIC, mp4_header, mp4_header, mp4_duplicate_box),
}


# Seed files.


def cut_clip(path: Path, frames: int) -> None:
    """The first ``frames`` frames of the demo video, its packets copied unchanged."""
    import av

    with av.open(str(ASSETS / "demo_grimace.mp4")) as src, av.open(str(path), "w") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for n, packet in enumerate(p for p in src.demux(src.streams.video[0]) if p.dts is not None):
            if n == frames:
                break
            packet.stream = stream
            dst.mux(packet)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("seeds")
    small = Image.open(ASSETS / "astronaut.jpg").resize((256, 256))
    paths = {
        "jpg": ASSETS / "astronaut.jpg",
        "png": folder / "seed.png",
        "tif": folder / "seed.tif",
        "lzw.tif": folder / "seed.lzw.tif",
        "mp4": folder / "seed.mp4",
    }
    small.save(paths["png"])
    small.save(paths["tif"])
    small.save(paths["lzw.tif"], compression="tiff_lzw")
    cut_clip(paths["mp4"], CLIP_FRAMES)
    assert cv2.VideoCapture(str(paths["mp4"])).get(cv2.CAP_PROP_FRAME_COUNT) == CLIP_FRAMES
    return paths


def make_cases(seeds: dict[str, Path], folder: Path) -> list[tuple[str, list[str], Path]]:
    """(mutation, argv, file) for every case; the unmutated seeds come first."""
    rng = random.Random(SEED)
    cases = []

    def argv_for(kind: str, path: Path) -> list[str]:
        if kind == "mp4":
            return [
                "analyze",
                str(path),
                "--quiet",
                "--no-figure",
                "--out",
                str(folder / f"{path.stem}-out"),
            ]
        return ["detect", str(path), "--json"]

    for kind, seed in seeds.items():
        cases.append(("none", argv_for(kind, seed), seed))
    for kind, seed in seeds.items():
        data = seed.read_bytes()
        for _i in range(VIDEO_CASES if kind == "mp4" else CASES_PER_IMAGE):
            mutate = rng.choice(MUTATIONS[kind])
            path = folder / f"case{len(cases):04d}-{mutate.__name__}.{kind}"
            path.write_bytes(mutate(data, rng))
            cases.append((mutate.__name__, argv_for(kind, path), path))
    return cases


def contract_broken(code, stderr: str, peak_mb: float) -> str | None:
    """Why a result breaks the contract, or None."""
    if code not in (0, 1, 2):
        return f"exit {code}"
    if "Traceback" in stderr:
        return "traceback on stderr"
    if code == 0 and stderr:
        return "exit 0 with stderr"
    if code != 0 and not (stderr.count("\n") == 1 and stderr.startswith("painsign: error:")):
        return "stderr is not one 'painsign: error:' line"
    if peak_mb > MAX_PEAK_MB:
        return f"peak memory {peak_mb:.0f} MB"
    return None


def keep_find(path: Path, why: str, argv: list[str]) -> str:
    FINDS.mkdir(exist_ok=True)
    kept = FINDS / path.name
    shutil.copy(path, kept)
    return f"{kept}: {why} (painsign {' '.join(argv[:1])} ...)"


def test_fuzzed_images_and_videos_keep_the_exit_code_and_stderr_contract(seeds, tmp_path):
    cases = make_cases(seeds, tmp_path)
    assert len(cases) >= 300
    try:
        run = subprocess.run(
            [sys.executable, str(DRIVER)],
            input=json.dumps([argv for _, argv, _ in cases]),
            capture_output=True,
            text=True,
            timeout=240,
            env={
                **os.environ,
                "FUZZ_CASE_TIMEOUT": str(CASE_TIMEOUT_S),
                "PYTHONPATH": str(Path(painsign.__file__).resolve().parent.parent),
            },
        )
        lines, driver_rc, driver_err = run.stdout.splitlines(), run.returncode, run.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        lines, driver_rc, driver_err = out.splitlines(), "hung", ""
    results = [json.loads(line) for line in lines]
    finds = []
    if len(results) < len(cases):  # the driver died or hung (in C code) on this case
        kind, argv, path = cases[len(results)]
        finds.append(keep_find(path, f"driver {driver_rc}: {driver_err[-300:]}", argv))
    for (kind, argv, path), result in zip(cases, results, strict=False):
        why = contract_broken(result["code"], result["stderr"], result["peak_mb"])
        if why is not None:
            finds.append(keep_find(path, f"{kind}: {why}: {result['stderr'][:300]!r}", argv))
    outcomes = Counter((Path(r["argv"][1]).suffix, r["code"]) for r in results)
    seconds = [r["seconds"] for r in results]
    print(
        f"\nfuzz: {len(results)} cases, outcomes {dict(sorted(outcomes.items()))}, "
        f"worst peak {max(r['peak_mb'] for r in results):.0f} MB, worst case "
        f"{max(seconds):.2f} s, total {sum(seconds):.1f} s"
    )
    assert not finds, "\n".join(finds)
    assert all(r["code"] == 0 for r in results[: len(seeds)]), "an unmutated seed failed"
    # The mutations reach the decoders: both clean reads and refusals occur per format.
    for suffix in (".jpg", ".png", ".tif", ".mp4"):
        assert outcomes[(suffix, 0)] > 0 and outcomes[(suffix, 2)] > 0, (suffix, outcomes)


def test_a_few_fuzzed_files_through_real_processes(seeds, tmp_path):
    """The same contract end to end, one ``python -m painsign`` per case."""
    rng = random.Random(SEED + 1)
    picks = [
        ("png", png_header),
        ("jpg", truncate),
        ("tif", tiff_header),
        ("mp4", flip),
        ("mp4", truncate),
        ("mp4", mp4_header),
    ]
    finds = []
    for i, (kind, mutate) in enumerate(picks):
        path = tmp_path / f"real{i}-{mutate.__name__}.{kind}"
        path.write_bytes(mutate(seeds[kind].read_bytes(), rng))
        argv = (
            ["analyze", str(path), "--quiet", "--no-figure", "--out", str(tmp_path / f"out{i}")]
            if kind == "mp4"
            else ["detect", str(path)]
        )
        r = run_painsign(*argv, timeout=120)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        why = contract_broken(r.returncode, r.stderr, peak_mb)
        if why is not None:
            finds.append(keep_find(path, f"{mutate.__name__}: {why}: {r.stderr[:300]!r}", argv))
    assert not finds, "\n".join(finds)
