"""Locating and running the ffmpeg binary, and probing a file's video stream.

The binary comes from the ``imageio-ffmpeg`` wheel (ffmpeg with libx264, libx265, AV1 and
libvmaf, installed by pip alone). ``IMAGEIO_FFMPEG_EXE`` points at another binary.
"""
from __future__ import annotations

import functools
import logging
import os
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


def input_url(path: Path | str) -> str:
    """``path`` as ffmpeg must be given it: ``file:`` and the absolute path, so that a file
    called ``pipe:1.mp4``, ``concat:a.mp4`` or ``-x.mp4`` is that file and not a protocol or
    an option."""
    return "file:" + os.path.abspath(path)


@dataclass(frozen=True)
class StreamInfo:
    """What ffmpeg says about the video stream of a file: the first marked default, else the
    first, of those that are not attached pictures (cover art).

    Attributes
    ----------
    codec, pix_fmt : str
        The stream's codec and stored pixel format (``"unknown"`` when ffmpeg names none).
    width, height : int
        Frame size in pixels as ffmpeg delivers decoded frames: the stored size, with width
        and height swapped when the stream's display matrix rotates it by 90 or 270 degrees
        (ffmpeg applies the rotation when it decodes).
    fps : float
        Frames per second as the header states it: ``avg_frame_rate``, else the guessed
        rate (``tbr``), else 25 (:func:`frame_rate` checks it against the timestamps).
    rotation : float
        Display-matrix rotation in degrees, counter-clockwise (0 when there is none).
    index : int
        The stream's index in the file (``-map 0:INDEX``).
    """

    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    rotation: float = 0.0
    index: int = 0


_VIDEO = re.compile(r"Stream #\d+:(?P<index>\d+)\S*.*?: Video: (?P<codec>[\w-]+)(?P<rest>.*)")
#: Files whose several video streams were already reported (once per process).
_TOLD: set[str] = set()
#: The frame size follows a comma ("yuv420p(progressive), 320x180 [SAR ...]"); a codec tag
#: such as "(avc1 / 0x31637661)" is never taken for it.
_SIZE = re.compile(r",\s*(\d{1,5})x(\d{1,5})(?=[\s,\[]|$)")
_FPS = re.compile(r"([\d.]+)(k?) (fps|tbr)\b")
_PIXFMT = re.compile(r",\s*([a-z0-9_]+)(?:\([^)]*\))?\s*,")
_ROTATION = re.compile(r"Display Matrix: rotation of (-?[\d.]+) degrees")
_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")


def error_reason(text: str, path: Path | str | None = None) -> str:
    """The most telling line of ffmpeg's error output: the first one, without its
    ``[component @ 0x...]`` prefixes and without the file's name.

    Lines that only repeat the failure ("Error opening input file X.") are skipped when a
    better one is there.
    """
    lines = []
    for raw in text.splitlines():
        line = _PREFIX.sub("", raw.strip()).strip()
        if path is not None:
            line = line.replace(f"{path}: ", "").replace(str(path), "the file")
        if line:
            lines.append(line)
    useful = [ln for ln in lines if not ln.startswith(("Error opening input file",
                                                          "Error opening input files"))]
    return (useful or lines or ["unreadable"])[0].rstrip(".")


def probe(path: Path, input_args: Sequence[str] = ()) -> StreamInfo:
    """Describe the video stream of ``path`` (see :class:`StreamInfo`; reads only the
    header).

    Raises
    ------
    ToolError
        With ffmpeg's own reason when the file cannot be opened as media, or when it has
        no video stream.
    """
    url = input_url(path)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *input_args, "-i", url]
    proc = subprocess.run(cmd, capture_output=True, timeout=60)
    text = proc.stderr.decode(errors="replace").replace(url, str(path))
    # Cover art and thumbnails are video streams too: never taken for the clip.
    streams = [m for m in _VIDEO.finditer(text) if "(attached pic)" not in m.group("rest")]
    if not streams:
        if "Stream #" in text:
            raise ToolError("no video stream")
        raise ToolError(error_reason(text, path))
    default = [m for m in streams if "(default)" in m.group("rest")]
    m = (default or streams)[0]
    if len(streams) > 1 and str(path) not in _TOLD:
        _TOLD.add(str(path))
        log.warning("%s has %d video streams; reading #0:%s, the %s (%s)", path,
                    len(streams), m.group("index"), "default" if default else "first",
                    m.group(0).strip())
    rest = m.group("rest")
    size = _SIZE.search(rest)
    if size is None:
        raise ToolError("video stream without a frame size")
    pix = _PIXFMT.search(rest + ",")
    fps = 25.0
    for value, kilo, _unit in _FPS.findall(rest):
        fps = float(value) * (1000 if kilo else 1)
        break
    # Side data of this stream: the lines after its own, up to the next stream.
    after = text[m.end():]
    nxt = after.find("Stream #")
    rot = _ROTATION.search(after if nxt < 0 else after[:nxt])
    rotation = float(rot.group(1)) if rot else 0.0
    width, height = int(size.group(1)), int(size.group(2))
    if round(abs(rotation)) % 180 == 90:
        width, height = height, width
    return StreamInfo(codec=m.group("codec"), pix_fmt=pix.group(1) if pix else "unknown",
                      width=width, height=height, fps=fps, rotation=rotation,
                      index=int(m.group("index")))


#: libavutil's AV_NOPTS_VALUE: a packet without a timestamp (raw elementary streams).
_NOPTS = -(1 << 63)


def frame_rate(path: Path, nominal: float, index: int = 0) -> float:
    """The frame rate bitrates need for ``path``'s video stream, in frames per second.

    One over the mean interval between consecutive presentation timestamps of its packets
    (demuxed only, nothing decoded), ``(n - 1) / (last - first)``, when that differs from
    ``nominal`` (the header's rate, :func:`probe`) by more than 1 %: the frame rate is
    variable (or frames are missing), and the headers state other things (mkv and webm
    the encoder's nominal rate, mp4 a duration of its own). Packets before time 0 (the
    pre-roll an mp4 edit list drops) are not counted. ``nominal`` when the stream keeps to
    it, when packets carry no timestamps (raw H.264/H.265 streams), when there are fewer
    than two, or when ffmpeg cannot demux the file.
    """
    st = Path(path).stat()
    stamps = _timestamps(os.path.abspath(path), st.st_size, st.st_mtime_ns, index)
    if stamps is None:
        return nominal
    shown = [t for t in stamps if t >= 0]
    if len(shown) >= 2:
        stamps = tuple(shown)
    if len(stamps) < 2:
        return nominal
    mean = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    return nominal if nominal > 0 and abs(mean / nominal - 1) <= 0.01 else mean


@functools.lru_cache(maxsize=64)
def _timestamps(path: str, size: int, mtime_ns: int, index: int
                ) -> tuple[float, ...] | None:
    """Sorted distinct presentation times (s) of the packets of stream ``index``, None
    without them."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i",
           input_url(path), "-map", f"0:{index}", "-c", "copy", "-f", "framecrc", "-"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        return None
    timebase, stamps = None, set()
    for line in proc.stdout.decode(errors="replace").splitlines():
        if line.startswith("#tb 0:"):
            num, _, den = line.split(":", 1)[1].strip().partition("/")
            timebase = int(num) / int(den)
        elif line and not line.startswith("#"):
            pts = int(line.split(",")[2])
            if pts == _NOPTS:
                return None
            stamps.add(pts)
    if timebase is None:
        return None
    return tuple(t * timebase for t in sorted(stamps))
