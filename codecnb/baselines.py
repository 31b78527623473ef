"""The reference codecs every candidate is compared with, and their quality sweeps.

``jpeg``
    JPEG per frame (OpenCV / libjpeg, 4:2:0, optimised Huffman tables), quality 25..90.
``x264``
    libx264 through the imageio-ffmpeg binary, preset medium, ``-tune psnr``, CRF 38..23.
``x264-veryslow``
    libx264 preset veryslow, ``-tune psnr``, CRF 38..23 (x264 at its best).
``x265``
    libx265 preset medium, ``-tune psnr``, CRF 38..23 (no SEI info string).
``svtav1``
    SVT-AV1 preset 8 (affordable on 2 cores: about x264 medium's time), CRF 63..45.
``vp9``
    libvpx-vp9 ``-deadline good -cpu-used 4``, constant quality (``-b:v 0``), CRF 62..38.
``starter``
    The starter codec program (``codecnb/codecs/programs/starter.py``): the seed of search.

All of them are measured by :func:`codecnb.rd.measure`, the same pipeline as candidates.
"""
from __future__ import annotations

from codecnb.codecs import Codec, JpegCodec, ProgramCodec, X264Codec
from codecnb.codecs.ffmpeg_video import ffmpeg_version, svtav1, vp9, x265

#: Default knob sweep per baseline; sweeps overlap in PSNR so BD-rates are defined.
SWEEPS: dict[str, list[int]] = {
    "jpeg": [25, 50, 75, 90],
    "x264": [38, 33, 28, 23],
    "x264-veryslow": [38, 33, 28, 23],
    "x265": [38, 33, 28, 23],
    "svtav1": [63, 58, 52, 45],
    "vp9": [62, 54, 46, 38],
    "starter": [25, 50, 75, 90],
}
ANCHOR = "jpeg"


def baseline_codecs(fps: float, names: list[str] | None = None) -> dict[str, Codec]:
    """Instantiate baselines by name (all when ``names`` is None)."""
    makers = {"jpeg": JpegCodec, "x264": lambda: X264Codec(fps=fps),
              "x264-veryslow": lambda: X264Codec(fps=fps, preset="veryslow",
                                                 name="x264-veryslow"),
              "x265": lambda: x265(fps), "svtav1": lambda: svtav1(fps),
              "vp9": lambda: vp9(fps), "starter": lambda: ProgramCodec.builtin("starter")}
    return {name: makers[name]() for name in (names or list(makers))}


def describe(codec: Codec) -> dict:
    """What a baseline is, for results, MLflow and cache keys: its ffmpeg command line
    template and ffmpeg version for the ffmpeg codecs, its library for JPEG, the program's
    SHA-256 for the starter."""
    if hasattr(codec, "describe"):
        return codec.describe()
    if isinstance(codec, ProgramCodec):
        return {"name": codec.name, "knob": codec.knob, "program_sha256": codec.sha256}
    import cv2
    return {"name": codec.name, "knob": codec.knob, "library": f"opencv {cv2.__version__}"}


def baseline_identity(names: list[str], fps: float) -> dict[str, dict]:
    """Per baseline name, its sweep and :func:`describe` record: the part of a baseline
    cache key that changes whenever a baseline's command line or ffmpeg changes."""
    codecs = baseline_codecs(fps, list(names))
    return {n: {"sweep": SWEEPS[n], **describe(codecs[n])} for n in names}
