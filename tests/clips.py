"""Small clips made in a test's tmp folder from the real Big Buck Bunny clip, by the ffmpeg
of the imageio-ffmpeg wheel (a few frames each, made in well under a second)."""
from __future__ import annotations

from pathlib import Path

from codecnb.ffmpeg import run_ffmpeg

BUNNY = "bigbuckbunny_720p.mp4"


def make_clip(testdata: Path, out: Path, *args: str, size: str = "64x36", frames: int = 4,
              start: int = 0) -> Path:
    """``frames`` frames of the bunny clip from frame ``start``, scaled to ``size`` (``WxH``,
    or ``""`` to keep what ``args`` make of it), written to ``out`` with the output options
    ``args`` (codec, pixel format, ...); no audio unless ``args`` map some. Returns ``out``."""
    vf = [f"select=gte(n\\,{start})"] if start else []
    if size:
        w, h = size.split("x")
        vf.append(f"scale={w}:{h}:flags=area")
    filters = ["-vf", ",".join(vf)] if vf else []
    run_ffmpeg(["-i", str(testdata / BUNNY), "-an", *filters, "-frames:v", str(frames),
                *args, "-y", str(out)], what=f"making {out.name}")
    return out


def x264(*extra: str) -> list[str]:
    """Output options of a small, fast H.264 encode."""
    return ["-c:v", "libx264", "-preset", "ultrafast", *extra]


def damaged_copy(good: Path, out: Path, flips: int = 300, seed: int = 1) -> Path:
    """``good`` with ``flips`` bytes changed past its first and before its last 2,000 bytes
    (the container still opens; the coded pictures do not decode cleanly)."""
    import numpy as np
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(seed)
    for i in rng.integers(2000, len(data) - 2000, flips):
        data[i] = (data[i] + 1 + rng.integers(255)) % 256
    out.write_bytes(bytes(data))
    return out
