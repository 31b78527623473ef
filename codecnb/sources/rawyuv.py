"""Raw planar video files (``.yuv``, ``.rgb``): the size, rate and pixel format come from
options, or the size from a ``WxH`` in the file name (``clip_1920x1080_420p.yuv``)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from codecnb.errors import SourceError
from codecnb.sources.uri import parse_number, parse_size

RAW_SUFFIXES = {".yuv", ".rgb", ".raw", ".gray"}

#: 8-bit pixel formats we read raw, with their bytes per pixel.
PIXEL_FORMATS: dict[str, float] = {
    "yuv420p": 1.5, "nv12": 1.5, "nv21": 1.5, "yuv422p": 2.0, "yuv444p": 3.0,
    "gray": 1.0, "rgb24": 3.0, "bgr24": 3.0,
}
DEFAULT_FPS = 25.0


@dataclass(frozen=True)
class RawFormat:
    """Layout of a raw video file."""

    width: int
    height: int
    fps: float
    pix_fmt: str

    @property
    def frame_bytes(self) -> int:
        return int(self.width * self.height * PIXEL_FORMATS[self.pix_fmt])

    def input_args(self) -> list[str]:
        """ffmpeg arguments that describe this layout, to put before ``-i``."""
        return ["-f", "rawvideo", "-pix_fmt", self.pix_fmt,
                "-video_size", f"{self.width}x{self.height}", "-framerate", f"{self.fps:g}"]


def raw_format(path: Path, options: dict[str, str], uri: str) -> RawFormat:
    """Work out the layout of raw file ``path`` from ``options`` and its name.

    Raises
    ------
    SourceError
        When no size is given or found, or the pixel format is not an 8-bit one we read.
    """
    if "size" in options:
        width, height = parse_size(options["size"], "size", uri)
    else:
        m = re.search(r"(?<!\d)(\d{2,5})x(\d{2,5})(?!\d)", path.name)
        if m is None:
            raise SourceError(f"source {uri!r}: raw video needs a frame size, "
                              f"e.g. {path.name}?size=1920x1080")
        width, height = int(m.group(1)), int(m.group(2))
    pix_fmt = options.get("pix_fmt", "rgb24" if path.suffix == ".rgb" else "yuv420p")
    if pix_fmt not in PIXEL_FORMATS:
        raise SourceError(f"source {uri!r}: unsupported pixel format {pix_fmt!r} "
                          f"(supported: {', '.join(sorted(PIXEL_FORMATS))})")
    fps = float(parse_number(options.get("fps", str(DEFAULT_FPS)), "fps", uri, float))
    if fps <= 0:
        raise SourceError(f"source {uri!r}: fps must be > 0, got {fps:g}")
    return RawFormat(width, height, fps, pix_fmt)
