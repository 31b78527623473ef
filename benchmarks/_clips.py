"""Test clips for the benchmarks, made from ../shared/testdata (never downloaded)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("CODECNB_TESTDATA", ROOT.parent / "shared" / "testdata"))
STREET = TESTDATA / "street_1080p.h264"  # 54 frames of 1920x1080 H.264 (Annex B)


def long_street(folder: Path, min_frames: int = 1000) -> tuple[Path, int]:
    """A raw H.264 stream of at least ``min_frames`` 1080p frames: the street clip repeated.

    An Annex-B stream that starts with its parameter sets and an IDR frame can be
    concatenated with itself and stays a valid stream.
    """
    copies = -(-min_frames // 54)
    path = folder / f"street_1080p_x{copies}.h264"
    if not path.exists():
        data = STREET.read_bytes()
        path.write_bytes(data * copies)
    return path, 54 * copies
