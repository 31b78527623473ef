"""Structural similarity in FFmpeg's (and x264's) convention, for cross-checks with ffmpeg only.

It is not Wang et al.'s SSIM (:mod:`codecnb.metrics.ssim`, the value codecnb logs as
``ssim_y``) and its numbers must never be compared with those.

References
----------
.. [1] FFmpeg, ``libavfilter/vf_ssim.c``.
"""
from __future__ import annotations

import numpy as np

from codecnb.errors import MetricError


def ssim_ffmpeg(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two uint8 planes in FFmpeg's ``ssim`` filter convention (8-bit path).

    The plane is cut into 4x4 blocks (a remainder of fewer than 4 rows or columns is
    ignored); each 8x8 window is the sum of 2x2 neighbouring blocks, so windows step 4
    pixels. Per window, with sums s1, s2, ss = sum(a^2 + b^2), s12 = sum(ab) over 64 pixels:
    ``((2 s1 s2 + c1)(2 (64 s12 - s1 s2) + c2)) / ((s1^2 + s2^2 + c1)(64 ss - s1^2 - s2^2 + c2))``
    with c1 = 416 and c2 = 235963, evaluated in float32; the result is the mean over windows.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise MetricError(f"ssim_ffmpeg needs two equal 2-D planes, got {a.shape} and {b.shape}")
    h4, w4 = a.shape[0] // 4, a.shape[1] // 4
    if h4 < 2 or w4 < 2:
        raise MetricError(f"ssim_ffmpeg needs planes of at least 8x8, got {a.shape}")
    x = a[:h4 * 4, :w4 * 4].astype(np.int64)
    y = b[:h4 * 4, :w4 * 4].astype(np.int64)

    def blocks(v: np.ndarray) -> np.ndarray:
        s = v.reshape(h4, 4, w4, 4).sum(axis=(1, 3))
        return s[:-1, :-1] + s[1:, :-1] + s[:-1, 1:] + s[1:, 1:]

    s1, s2, ss, s12 = blocks(x), blocks(y), blocks(x * x + y * y), blocks(x * y)
    c1 = int(0.01 * 0.01 * 255 * 255 * 64 + 0.5)
    c2 = int(0.03 * 0.03 * 255 * 255 * 64 * 63 + 0.5)
    var = ss * 64 - s1 * s1 - s2 * s2
    cov = s12 * 64 - s1 * s2
    f = np.float32
    win = ((2 * s1 * s2 + c1).astype(f) * (2 * cov + c2).astype(f)
           / ((s1 * s1 + s2 * s2 + c1).astype(f) * (var + c2).astype(f)))
    return float(win.sum(axis=1, dtype=np.float32).astype(np.float64).sum() / win.size)
