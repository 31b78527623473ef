"""Raw planar video files (``.yuv``, ``.rgb``): the size, rate and pixel format come from
options, or the size from a ``WxH`` in the file name (``clip_1920x1080_420p.yuv``)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from codecnb.errors import SourceError
from codecnb.sources.uri import parse_number, parse_size

RAW_SUFFIXES = {".yuv", ".rgb", ".raw", ".gray"}

#: Pixel formats we read raw: name -> (bytes per sample, chroma subsampling of width and
#: height as log2, planes). Chroma planes of odd sizes round up, as ffmpeg lays them out.
#: More than 8 bits (little-endian, in 16-bit words) is converted to 8-bit RGB like any
#: 10-bit source (docs/architecture.md, "Sources").
PIXEL_FORMATS: dict[str, tuple[int, int, int, int]] = {
    "yuv420p": (1, 1, 1, 3), "nv12": (1, 1, 1, 3), "nv21": (1, 1, 1, 3),
    "yuv422p": (1, 1, 0, 3), "yuv444p": (1, 0, 0, 3), "gray": (1, 0, 0, 1),
    "rgb24": (1, 0, 0, 3), "bgr24": (1, 0, 0, 3),
    "yuv420p10le": (2, 1, 1, 3), "yuv422p10le": (2, 1, 0, 3), "yuv444p10le": (2, 0, 0, 3),
    "gray10le": (2, 0, 0, 1), "p010le": (2, 1, 1, 3),
}
DEFAULT_FPS = 25.0
#: The pixel format a suffix implies when no pix_fmt is given (else yuv420p).
_DEFAULT_PIX_FMT = {".rgb": "rgb24", ".gray": "gray"}


@dataclass(frozen=True)
class RawFormat:
    """Layout of a raw video file: frame size in pixels, frames per second, pixel format."""

    width: int
    height: int
    fps: float
    pix_fmt: str

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame: the luma (or only) plane plus the two chroma planes, each
        ``ceil(width / 2**sx) x ceil(height / 2**sy)`` samples."""
        size, sx, sy, planes = PIXEL_FORMATS[self.pix_fmt]
        luma = self.width * self.height
        if planes == 1:
            return size * luma
        chroma = -(-self.width // (1 << sx)) * -(-self.height // (1 << sy))
        return size * (luma + 2 * chroma)

    def input_args(self) -> list[str]:
        """ffmpeg arguments that describe this layout, to put before ``-i``."""
        return ["-f", "rawvideo", "-pix_fmt", self.pix_fmt,
                "-video_size", f"{self.width}x{self.height}", "-framerate", f"{self.fps:g}"]


def raw_format(path: Path, options: dict[str, str], uri: str) -> RawFormat:
    """Work out the layout of raw file ``path`` from ``options`` and its name.

    Raises
    ------
    SourceError
        When no size is given or found, or the pixel format is not one we read.
    """
    if "size" in options:
        width, height = parse_size(options["size"], "size", uri)
    else:
        m = re.search(r"(?<!\d)(\d{2,5})x(\d{2,5})(?!\d)", path.name)
        if m is None:
            raise SourceError(f"source {uri!r}: raw video needs a frame size, "
                              f"e.g. {path.name}?size=1920x1080")
        width, height = int(m.group(1)), int(m.group(2))
    pix_fmt = options.get("pix_fmt", _DEFAULT_PIX_FMT.get(path.suffix.lower(), "yuv420p"))
    if pix_fmt not in PIXEL_FORMATS:
        raise SourceError(f"source {uri!r}: unsupported pixel format {pix_fmt!r} "
                          f"(supported: {', '.join(sorted(PIXEL_FORMATS))})")
    fps = float(parse_number(options.get("fps", str(DEFAULT_FPS)), "fps", uri, float))
    if fps <= 0:
        raise SourceError(f"source {uri!r}: fps must be > 0, got {fps:g}")
    return RawFormat(width, height, fps, pix_fmt)
