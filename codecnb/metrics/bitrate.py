"""Bitrate from the real byte count of a bitstream."""
from __future__ import annotations

from codecnb.errors import MetricError


def kbps(total_bytes: int, frames: int, fps: float) -> float:
    """Bitrate in kilobits per second (1 kbit = 1000 bits).

    ``kbps = 8 * total_bytes / (frames / fps) / 1000``: the clip's duration is its frame count
    over its frame rate, and ``total_bytes`` is the sum of every segment's bitstream, headers
    included.
    """
    if frames <= 0 or fps <= 0:
        raise MetricError(f"bitrate needs frames > 0 and fps > 0, got {frames} and {fps}")
    if total_bytes < 0:
        raise MetricError(f"byte count must be >= 0, got {total_bytes}")
    return 8.0 * total_bytes * fps / frames / 1000.0


def bits_per_pixel(total_bytes: int, frames: int, width: int, height: int) -> float:
    """Bits per pixel of the luma grid: ``8 * total_bytes / (frames * width * height)``."""
    return 8.0 * total_bytes / (frames * width * height)
