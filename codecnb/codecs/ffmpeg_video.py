"""Inter-frame anchors run through the imageio-ffmpeg binary: x265, SVT-AV1 and VP9.

Each anchor is one :class:`FfmpegVideoCodec` whose encoder options are fixed at construction;
:meth:`FfmpegVideoCodec.command` gives the exact ffmpeg argument list a segment is encoded
with, and :meth:`FfmpegVideoCodec.describe` the record an evaluation puts in its results (and
in the baseline cache key, so a changed command line never reuses a stale curve).

Conventions (as :class:`codecnb.codecs.x264.X264Codec`): RGB frames are piped in as
``rgb24`` and converted to ``yuv420p`` by ffmpeg's swscale (BT.601, limited range); each
``encode`` call is one segment and so one closed GOP that starts with a key frame; the bytes
are the encoder's elementary stream (Annex-B for HEVC, low-overhead OBUs for AV1) or, for
VP9, which has no elementary-stream muxer in ffmpeg, IVF (32-byte file header plus 12 bytes
per frame, counted in the rate like every byte a candidate sends).

References
----------
.. [1] FFmpeg codecs documentation, libx265 / libsvtav1 / libvpx-vp9 sections,
   https://ffmpeg.org/ffmpeg-codecs.html
"""
from __future__ import annotations

import functools
import re
import subprocess

import numpy as np

from codecnb.errors import CodecError, ToolError
from codecnb.ffmpeg import ffmpeg_exe, run_ffmpeg

#: Global options :func:`codecnb.ffmpeg.run_ffmpeg` puts before every argument list.
FFMPEG_PREFIX = ("-hide_banner", "-nostdin", "-loglevel", "error")


@functools.lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version`` (e.g. ``ffmpeg version n9.0.2-...``)."""
    out = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True)
    return (out.stdout.splitlines() or ["ffmpeg version unknown"])[0].strip()


class FfmpegVideoCodec:
    """One ffmpeg video encoder with fixed options; ``quality`` is its rate knob.

    Parameters
    ----------
    name : str
        Baseline name (``x265``, ``svtav1``, ``vp9``).
    encoder : str
        ffmpeg encoder (``libx265``, ``libsvtav1``, ``libvpx-vp9``).
    knob : str
        The option ``quality`` sets (``crf``); lower is better quality.
    options : tuple of str
        Encoder options after ``-c:v ENCODER`` (preset, tune, threads...).
    muxer : str
        Output format (``hevc``, ``obu``, ``ivf``) for both encode and decode.
    fps : float
        Frame rate written into the stream.
    """

    def __init__(self, name: str, encoder: str, knob: str, options: tuple[str, ...],
                 muxer: str, fps: float = 25.0):
        self.name, self.encoder, self.knob = name, encoder, knob
        self.options, self.muxer, self.fps = tuple(options), muxer, fps

    def command(self, width: int, height: int, quality: int) -> list[str]:
        """Arguments after :data:`FFMPEG_PREFIX` that encode one segment (stdin to stdout)."""
        return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", f"{width}x{height}",
                "-framerate", f"{self.fps:g}", "-i", "pipe:0", "-c:v", self.encoder,
                *self.options, f"-{self.knob}", str(quality), "-pix_fmt", "yuv420p",
                "-f", self.muxer, "pipe:1"]

    def describe(self) -> dict:
        """The codec's identity for results, MLflow and cache keys: the ffmpeg version and
        the command line template (``{W}``, ``{H}`` and ``{Q}`` stand for size and knob)."""
        argv = ["ffmpeg", *FFMPEG_PREFIX, *self.command(0, 0, 0)]
        text = " ".join(argv).replace("0x0", "{W}x{H}").replace(f"-{self.knob} 0",
                                                                   f"-{self.knob} {{Q}}")
        return {"name": self.name, "knob": self.knob, "command": text,
                "ffmpeg": ffmpeg_version()}

    def encode(self, frames: np.ndarray, quality: int) -> bytes:
        t, h, w, _ = frames.shape
        return run_ffmpeg(self.command(w, h, quality),
                          input=np.ascontiguousarray(frames).tobytes(),
                          what=f"{self.name} encode")

    def decode(self, data: bytes) -> np.ndarray:
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "info", "-f", self.muxer,
               "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
        proc = subprocess.run(cmd, input=data, capture_output=True)
        err = proc.stderr.decode(errors="replace")
        if proc.returncode != 0:
            raise ToolError(f"{self.name} decode: ffmpeg failed: "
                            f"{err.strip().splitlines()[-1:]}")
        m = re.search(r"Video: rawvideo.*?, (\d+)x(\d+)", err[err.find("Output #0"):])
        if m is None:
            raise CodecError(f"{self.name} decode: ffmpeg did not report the frame size")
        w, h = int(m.group(1)), int(m.group(2))
        return np.frombuffer(proc.stdout, np.uint8).reshape(-1, h, w, 3)


def x265(fps: float = 25.0) -> FfmpegVideoCodec:
    """HEVC, libx265 preset medium, ``tune psnr``, CRF (0..51)."""
    return FfmpegVideoCodec("x265", "libx265", "crf",
                            ("-preset", "medium", "-tune", "psnr",
                             "-x265-params", "log-level=error:info=0"), "hevc", fps)


def svtav1(fps: float = 25.0) -> FfmpegVideoCodec:
    """AV1, SVT-AV1 preset 8, CRF (``-crf`` 1..63): preset 8 is SVT-AV1's fast end of the
    research range, affordable on 2 cores for every clip of a suite."""
    return FfmpegVideoCodec("svtav1", "libsvtav1", "crf", ("-preset", "8"), "obu", fps)


def vp9(fps: float = 25.0) -> FfmpegVideoCodec:
    """VP9, libvpx-vp9 ``-deadline good -cpu-used 4``, constant quality (``-b:v 0``)."""
    return FfmpegVideoCodec("vp9", "libvpx-vp9", "crf",
                            ("-deadline", "good", "-cpu-used", "4", "-b:v", "0",
                             "-row-mt", "1"), "ivf", fps)
