"""Sources decoded by ffmpeg: containers (mp4, mkv, avi, mov...), raw H.264/H.265
elementary streams, y4m, and raw ``.yuv`` files, streamed as rgb24 through a pipe.

Conventions (docs/architecture.md, "Sources"): every decoded frame is delivered once, in
presentation order (``-fps_mode passthrough``: a variable frame rate neither duplicates nor
drops frames, and when the frames do not keep to the header's rate the frame rate is
their average, :func:`codecnb.ffmpeg.frame_rate`); the stream's display matrix is applied (a clip recorded upright on a phone is
delivered upright, width and height swapped for 90 and 270 degrees); stored pixels are
delivered as they are (sample aspect ratio ignored, interlaced frames not deinterlaced);
samples of more than 8 bits are rounded to 8 bits in their own layout first
(:mod:`codecnb.sources.pixfmt`); then ffmpeg converts to RGB as it does for every 8-bit
format (4:2:0, 4:2:2, 4:4:4, gray; the stream's matrix and range). A decoding error stops
the read (``-xerror``): a damaged stream would otherwise be concealed differently from one
read to the next.
"""
from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from codecnb.errors import SourceError, ToolError
from codecnb.ffmpeg import error_reason, ffmpeg_exe, input_url, frame_rate, probe
from codecnb.sources.base import Source, SourceInfo, Window, check_frame_size
from codecnb.sources.pixfmt import reduce_filter
from codecnb.sources.rawyuv import RAW_SUFFIXES, RawFormat, raw_format

log = logging.getLogger(__name__)


class FFmpegSource(Source):
    """Frames of a local media file, decoded by ffmpeg into RGB.

    Parameters
    ----------
    path : Path
        A local file.
    uri : str
        The URI to name in messages and results.
    window : Window
        Which frames, and what size.
    options : dict
        Raw-file options (``size``, ``fps``, ``pix_fmt``); ignored for other files.
    """

    def __init__(self, path: Path, uri: str, window: Window, options: dict[str, str]):
        if not path.exists():
            raise SourceError(f"source {uri!r}: no such file")
        if not path.is_file():
            raise SourceError(f"source {uri!r}: not a file")
        self.path, self.window = path, window
        self._input_args: list[str] = []
        self._map = "0:V:0"   # the stream probe chose (raw files have one)
        #: The layout a raw file is read with (part of its identity), None for other files.
        self.raw_format: RawFormat | None = None
        #: The frame rate from the packets' timestamps when it is not the header's (part of
        #: the identity: baselines cached with the header's rate are not reused).
        self.timed_fps: float | None = None
        frames: int | None = None
        if path.suffix.lower() in RAW_SUFFIXES:
            fmt = self.raw_format = raw_format(path, options, uri)
            self._input_args = fmt.input_args()
            size = path.stat().st_size
            total, extra = divmod(size, fmt.frame_bytes)
            if total == 0:
                raise SourceError(
                    f"source {uri!r}: {size} bytes hold no whole {fmt.width}x{fmt.height} "
                    f"{fmt.pix_fmt} frame ({fmt.frame_bytes} bytes each; check size= and "
                    f"pix_fmt=)")
            if extra:
                log.warning("source %s: %d bytes after the last whole %dx%d %s frame are "
                            "ignored (check size= and pix_fmt=)", uri, extra, fmt.width,
                            fmt.height, fmt.pix_fmt)
            frames = max(0, total - window.start)
            if window.frames is not None:
                frames = min(frames, window.frames)
            codec, pix_fmt, width, height, fps = "rawvideo", fmt.pix_fmt, fmt.width, fmt.height, fmt.fps
        else:
            try:
                s = probe(path)
            except ToolError as exc:
                raise SourceError(f"source {uri!r}: not a video ({exc})") from None
            codec, pix_fmt, width, height, fps = s.codec, s.pix_fmt, s.width, s.height, s.fps
            self._map = f"0:{s.index}"
            rate = frame_rate(path, fps, s.index)
            if rate != fps:
                log.info("source %s: variable frame rate, %.4g fps on average (the header "
                         "says %g)", uri, rate, fps)
                fps = self.timed_fps = rate
            if s.rotation:
                log.info("source %s: display matrix rotates by %g degrees; frames delivered "
                         "rotated, %dx%d", uri, s.rotation, width, height)
        if window.resize:
            width, height = window.resize
        check_frame_size(uri, width, height)
        self.info = SourceInfo(uri=uri, width=width, height=height, fps=fps, codec=codec,
                               pix_fmt=pix_fmt, frames=frames)

    def _command(self) -> list[str]:
        filters = []
        if self.window.start:
            filters.append(f"trim=start_frame={self.window.start},setpts=PTS-STARTPTS")
        filters += reduce_filter(self.info.pix_fmt)
        if self.window.resize:
            filters.append("scale={}:{}:flags=area".format(*self.window.resize))
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-xerror",
               *self._input_args, "-i", input_url(self.path), "-an", "-sn", "-map", self._map]
        if filters:
            cmd += ["-vf", ",".join(filters)]
        if self.window.frames is not None:
            cmd += ["-frames:v", str(self.window.frames)]
        # passthrough: one output frame per decoded frame, no duplicates or drops.
        return cmd + ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]

    def _frames(self) -> Iterator[np.ndarray]:
        w, h = self.info.width, self.info.height
        nbytes = w * h * 3
        delivered = 0
        with tempfile.TemporaryFile() as errf:
            proc = subprocess.Popen(self._command(), stdout=subprocess.PIPE, stderr=errf,
                                    stdin=subprocess.DEVNULL)
            try:
                while True:
                    frame = np.empty((h, w, 3), np.uint8)
                    # A buffered pipe read blocks until the frame is full or ffmpeg ends.
                    got = proc.stdout.readinto(memoryview(frame).cast("B"))
                    if got < nbytes:
                        if got:
                            log.warning("source %s: dropped a truncated last frame", self.info.uri)
                        break
                    delivered += 1
                    yield frame
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.stdout.close()
                code = proc.wait()
            if code not in (0, -9):
                errf.seek(0)
                text = errf.read().decode(errors="replace").strip()
                text = text.replace(input_url(self.path), str(self.path))
                reason = error_reason(text, self.path) if text else f"ffmpeg exit {code}"
                frames = f"{delivered} frame{'' if delivered == 1 else 's'}"
                raise SourceError(f"source {self.info.uri!r}: decoding failed after {frames} "
                                  f"of the window ({reason}; the file is damaged or "
                                  f"truncated)")
