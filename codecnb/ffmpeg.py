"""Locating and running the ffmpeg binary, and probing a file's video stream.

The binary comes from the ``imageio-ffmpeg`` wheel (ffmpeg with libx264, libx265, AV1 and
libvmaf, installed by pip alone). ``IMAGEIO_FFMPEG_EXE`` points at another binary.
"""
from __future__ import annotations

import functools
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from codecnb.errors import ToolError

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary (imageio-ffmpeg's, or ``IMAGEIO_FFMPEG_EXE``)."""
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # pragma: no cover - depends on the installation
        raise ToolError(f"ffmpeg not found: {exc} (pip install imageio-ffmpeg)") from exc


def run_ffmpeg(args: Sequence[str], *, input: bytes | None = None,
               timeout: float | None = None, what: str = "ffmpeg") -> bytes:
    """Run ffmpeg with ``args``; return stdout, raise :class:`ToolError` on failure.

    ``what`` names the job in the error message (e.g. ``"x264 encode"``).
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    log.debug("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"{what}: ffmpeg timed out after {timeout} s") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ToolError(f"{what}: ffmpeg failed: {err[-1] if err else f'exit {proc.returncode}'}")
    return proc.stdout


@dataclass(frozen=True)
class StreamInfo:
    """What ffmpeg says about the first video stream of a file."""

    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float


_VIDEO = re.compile(r"Stream #\S+.*?: Video: (?P<codec>[\w-]+)(?P<rest>.*)")
_SIZE = re.compile(r"\b(\d{2,5})x(\d{2,5})\b")
_FPS = re.compile(r"([\d.]+)(k?) (fps|tbr)\b")
_PIXFMT = re.compile(r",\s*([a-z0-9_]+)(?:\([^)]*\))?\s*,")


def probe(path: Path, input_args: Sequence[str] = ()) -> StreamInfo:
    """Describe the first video stream of ``path`` (reads only the header).

    Raises
    ------
    ToolError
        With ffmpeg's own last line when the file cannot be opened as media, or when it has
        no video stream.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *input_args, "-i", str(path)]
    proc = subprocess.run(cmd, capture_output=True, timeout=60)
    text = proc.stderr.decode(errors="replace")
    m = _VIDEO.search(text)
    if m is None:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        reason = "no video stream" if "Stream #" in text else (lines[-1] if lines else "unreadable")
        reason = reason.replace(str(path) + ": ", "")
        raise ToolError(reason)
    rest = m.group("rest")
    size = _SIZE.search(rest)
    if size is None:
        raise ToolError("video stream without a frame size")
    pix = _PIXFMT.search(rest + ",")
    fps = 25.0
    for value, kilo, _unit in _FPS.findall(rest):
        fps = float(value) * (1000 if kilo else 1)
        break
    return StreamInfo(codec=m.group("codec"), pix_fmt=pix.group(1) if pix else "unknown",
                      width=int(size.group(1)), height=int(size.group(2)), fps=fps)
