"""VMAF through the libvmaf filter of the imageio-ffmpeg binary (slow: on request only).

Convention
----------
libvmaf's default model ``vmaf_v0.6.1`` on 8-bit ``yuv420p``, pooled as the arithmetic mean
of per-frame scores (libvmaf's ``mean``), computed by ffmpeg with the distorted clip as the
first input and the reference as the second.

References
----------
.. [1] Z. Li, A. Aaron, I. Katsavounidis, A. Moorthy and M. Manohara, "Toward a practical
       perceptual video quality metric", Netflix Technology Blog, 2016.
.. [2] Netflix, libvmaf, https://github.com/Netflix/vmaf
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from codecnb.errors import MetricError
from codecnb.ffmpeg import run_ffmpeg
from codecnb.metrics.color import Planes


def vmaf_files(reference: Path, distorted: Path, width: int, height: int,
               fps: float = 25.0, threads: int | None = None) -> tuple[float, list[float]]:
    """VMAF of two raw ``yuv420p`` files of equal size.

    Returns
    -------
    (float, list of float)
        The pooled (mean) score and the per-frame scores, 0..100 (may exceed 100 slightly).
    """
    threads = threads or os.cpu_count() or 1
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{width}x{height}",
           "-framerate", f"{fps:g}"]
    with tempfile.TemporaryDirectory(prefix="codecnb-vmaf-") as tmp:
        log = Path(tmp) / "vmaf.json"
        run_ffmpeg([*raw, "-i", str(distorted), *raw, "-i", str(reference), "-lavfi",
                    f"[0:v][1:v]libvmaf=log_fmt=json:log_path={log}:n_threads={threads}",
                    "-f", "null", "-"], what="vmaf")
        data = json.loads(log.read_text())
    frames = [f["metrics"]["vmaf"] for f in data["frames"]]
    if not frames:
        raise MetricError("vmaf: libvmaf scored no frame")
    return float(data["pooled_metrics"]["vmaf"]["mean"]), frames


class VmafAccumulator:
    """Collects reference and distorted 4:2:0 frames in temporary files, then scores them.

    Use :meth:`add` per frame pair while streaming, then :meth:`score`; :meth:`close` (or the
    context manager) removes the files.
    """

    def __init__(self, width: int, height: int, fps: float):
        self.width, self.height, self.fps = width, height, fps
        self._dir = tempfile.TemporaryDirectory(prefix="codecnb-vmaf-")
        self._ref = open(Path(self._dir.name) / "ref.yuv", "wb")
        self._dis = open(Path(self._dir.name) / "dis.yuv", "wb")

    def add(self, ref: Planes, dis: Planes) -> None:
        for plane in ref:
            self._ref.write(plane.tobytes())
        for plane in dis:
            self._dis.write(plane.tobytes())

    def score(self) -> tuple[float, list[float]]:
        """Pooled and per-frame VMAF of everything added so far."""
        self._ref.flush()
        self._dis.flush()
        return vmaf_files(Path(self._ref.name), Path(self._dis.name), self.width, self.height,
                          self.fps)

    def close(self) -> None:
        self._ref.close()
        self._dis.close()
        self._dir.cleanup()

    def __enter__(self) -> "VmafAccumulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
