"""Make the clips of the bundled ``default`` suite from ../shared/testdata.

Every bundled clip is bit-exact with its window of the original (checked here after
writing): the street clip is cut without re-encoding (its first 16 frames end on a P frame
that no later frame is needed for), Park Joy is re-encoded losslessly (libx264 qp 0 in
4:2:0, the source's own format), and bikes.mp4 is copied unmodified. The Big Buck Bunny
window reuses the clip bundled in ``codecnb/sources/data``.

    python scripts/make_default_suite.py [--testdata DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from imageio_ffmpeg import get_ffmpeg_exe

from codecnb.sources import open_source

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "codecnb" / "suites" / "data"
STREET_FRAMES = 16


def frames(uri: str, n: int | None = None) -> np.ndarray:
    src = open_source(uri, frames=n)
    return np.concatenate(list(src.segments(16)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--testdata", type=Path, default=Path(os.environ.get(
        "CODECNB_TESTDATA", ROOT.parent / "shared" / "testdata")))
    args = ap.parse_args()
    td, ff = args.testdata, get_ffmpeg_exe()
    made = {
        "street_1080p_16f.h264": (td / "street_1080p.h264", STREET_FRAMES,
                                  ["-c", "copy", "-frames:v", str(STREET_FRAMES)]),
        "park_joy_480x270.mp4": (td / "park_joy_480x270.y4m", None,
                                 ["-c:v", "libx264", "-preset", "veryslow", "-qp", "0",
                                  "-pix_fmt", "yuv420p"]),
    }
    for name, (src, n, opts) in made.items():
        subprocess.run([ff, "-v", "error", "-y", "-i", str(src), *opts, str(DATA / name)],
                       check=True)
    shutil.copyfile(td / "bikes.mp4", DATA / "bikes.mp4")
    for name, (src, n, _) in {**made, "bikes.mp4": (td / "bikes.mp4", None, None)}.items():
        a, b = frames(str(DATA / name)), frames(str(src), n)
        if a.shape != b.shape or not np.array_equal(a, b):
            print(f"{name}: NOT bit-exact with {src}", file=sys.stderr)
            return 1
        print(f"{name}: {a.shape[0]} frames {a.shape[2]}x{a.shape[1]}, bit-exact, "
              f"{(DATA / name).stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
