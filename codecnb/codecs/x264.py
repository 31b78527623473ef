"""H.264 with libx264 through the imageio-ffmpeg binary: the inter-frame anchor."""
from __future__ import annotations

import re
import subprocess

import numpy as np

from codecnb.codecs.ffmpeg_video import FFMPEG_PREFIX, ffmpeg_version
from codecnb.errors import CodecError, ToolError
from codecnb.ffmpeg import ffmpeg_exe, run_ffmpeg


class X264Codec:
    """libx264, CRF rate control, one closed GOP per segment, Annex-B bitstream.

    Parameters
    ----------
    fps : float
        Frame rate written into the stream (does not change CRF decisions).
    preset : str
        x264 preset, ``medium`` by default.
    tune : str or None
        x264 tune; ``psnr`` by default because codecnb compares on PSNR, and x264's
        psycho-visual optimisations would handicap it there.

    Notes
    -----
    ``quality`` is the CRF (0..51, lower is better). The RGB input is converted to yuv420p
    by ffmpeg's swscale (BT.601, limited range) before encoding.
    """

    name = "x264"
    knob = "crf"

    def __init__(self, fps: float = 25.0, preset: str = "medium", tune: str | None = "psnr",
                 name: str = "x264"):
        self.fps, self.preset, self.tune, self.name = fps, preset, tune, name

    def command(self, width: int, height: int, quality: int) -> list[str]:
        """Arguments after ffmpeg's global options that encode one segment (stdin to stdout)."""
        args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", f"{width}x{height}",
                "-framerate", f"{self.fps:g}", "-i", "pipe:0", "-c:v", "libx264",
                "-preset", self.preset, "-crf", str(quality), "-pix_fmt", "yuv420p"]
        if self.tune:
            args += ["-tune", self.tune]
        return [*args, "-f", "h264", "pipe:1"]

    def describe(self) -> dict:
        """Name, knob, command line template and ffmpeg version (see
        :meth:`codecnb.codecs.ffmpeg_video.FfmpegVideoCodec.describe`)."""
        text = " ".join(["ffmpeg", *FFMPEG_PREFIX, *self.command(0, 0, 0)])
        text = text.replace("0x0", "{W}x{H}").replace("-crf 0", "-crf {Q}")
        return {"name": self.name, "knob": self.knob, "command": text,
                "ffmpeg": ffmpeg_version()}

    def encode(self, frames: np.ndarray, quality: int) -> bytes:
        t, h, w, _ = frames.shape
        return run_ffmpeg(self.command(w, h, quality),
                          input=np.ascontiguousarray(frames).tobytes(),
                          what=f"{self.name} encode")

    def decode(self, data: bytes) -> np.ndarray:
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "info", "-f", "h264",
               "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
        proc = subprocess.run(cmd, input=data, capture_output=True)
        err = proc.stderr.decode(errors="replace")
        if proc.returncode != 0:
            raise ToolError(f"x264 decode: ffmpeg failed: {err.strip().splitlines()[-1:]}")
        out = err[err.find("Output #0"):]
        m = re.search(r"Video: rawvideo.*?, (\d+)x(\d+)", out)
        if m is None:
            raise CodecError("x264 decode: ffmpeg did not report the frame size")
        w, h = int(m.group(1)), int(m.group(2))
        return np.frombuffer(proc.stdout, np.uint8).reshape(-1, h, w, 3)
