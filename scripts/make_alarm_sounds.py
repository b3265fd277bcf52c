"""Write the alarm bursts assets/alarm_high.wav, alarm_medium.wav and alarm_low.wav.

Usage::

    .venv/bin/python scripts/make_alarm_sounds.py [--out DIR] [--check]

Synthesis is deterministic (``painsign.alarms.sounds``), so every run writes the same
bytes. ``--check`` writes into a temporary folder and fails if any file differs from the
ones in ``--out`` (default: the repository's ``assets/``).
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # runs from a checkout without `pip install -e .`

from painsign.alarms.sounds import (  # noqa: E402
    ALARM_WAV,
    SAMPLE_RATE,
    count_pulses,
    synthesize_burst,
    write_wav,
)


def write_all(out: Path) -> list[Path]:
    """Write the three bursts into ``out`` and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for priority, name in ALARM_WAV.items():
        samples = synthesize_burst(priority, SAMPLE_RATE)
        path = out / name
        write_wav(path, samples, SAMPLE_RATE)
        n = count_pulses(samples, SAMPLE_RATE)
        print(f"{path}: {priority.label}, {n} pulse(s), {samples.size / SAMPLE_RATE:.2f} s")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=REPO / "assets", help="folder to write (default: assets/)"
    )
    parser.add_argument(
        "--check", action="store_true", help="fail if the files in --out differ from a rebuild"
    )
    args = parser.parse_args(argv)
    if not args.check:
        write_all(args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        differ = [
            p.name
            for p in write_all(Path(tmp))
            if not (args.out / p.name).is_file()
            or not filecmp.cmp(p, args.out / p.name, shallow=False)
        ]
    if differ:
        print(f"differ from a rebuild in {args.out}: {', '.join(differ)}", file=sys.stderr)
        return 1
    print(f"{args.out}: alarm sounds match a rebuild")
    return 0


if __name__ == "__main__":
    sys.exit(main())
