"""The reference codecs every candidate is compared with, and their quality sweeps.

``jpeg``
    JPEG per frame (OpenCV / libjpeg, 4:2:0, optimised Huffman tables), quality 25..90.
``x264``
    libx264 through the imageio-ffmpeg binary, preset medium, ``-tune psnr``, CRF 38..23.
``starter``
    The starter codec program (``codecnb/codecs/programs/starter.py``): the seed of search.

All of them are measured by :func:`codecnb.rd.measure`, the same pipeline as candidates.
"""
from __future__ import annotations

from codecnb.codecs import Codec, JpegCodec, ProgramCodec, X264Codec

#: Default knob sweep per baseline; sweeps overlap in PSNR so BD-rates are defined.
SWEEPS: dict[str, list[int]] = {
    "jpeg": [25, 50, 75, 90],
    "x264": [38, 33, 28, 23],
    "starter": [25, 50, 75, 90],
}
ANCHOR = "jpeg"


def baseline_codecs(fps: float, names: list[str] | None = None) -> dict[str, Codec]:
    """Instantiate baselines by name (all when ``names`` is None)."""
    makers = {"jpeg": JpegCodec, "x264": lambda: X264Codec(fps=fps),
              "starter": lambda: ProgramCodec.builtin("starter")}
    return {name: makers[name]() for name in (names or list(makers))}
