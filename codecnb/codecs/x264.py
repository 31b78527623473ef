"""H.264 with libx264 through the imageio-ffmpeg binary: the inter-frame anchor."""
from __future__ import annotations

from codecnb.codecs.ffmpeg_video import FfmpegVideoCodec


class X264Codec(FfmpegVideoCodec):
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
    by ffmpeg's swscale (BT.601, limited range) before encoding. Encoding, decoding and
    :meth:`describe` are :class:`~codecnb.codecs.ffmpeg_video.FfmpegVideoCodec`'s; only the
    argument list is x264's own (its options in the order it has always had, so its
    recorded command line and cache keys stay as they were).
    """

    def __init__(self, fps: float = 25.0, preset: str = "medium", tune: str | None = "psnr",
                 name: str = "x264"):
        super().__init__(name, "libx264", "crf", (), "h264", fps)
        self.preset, self.tune = preset, tune

    def command(self, width: int, height: int, quality: int) -> list[str]:
        """Arguments after ffmpeg's global options that encode one segment (stdin to stdout)."""
        args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", f"{width}x{height}",
                "-framerate", f"{self.fps:g}", "-i", "pipe:0", "-c:v", self.encoder,
                "-preset", self.preset, "-crf", str(quality), "-pix_fmt", "yuv420p"]
        if self.tune:
            args += ["-tune", self.tune]
        return [*args, "-f", self.muxer, "pipe:1"]
