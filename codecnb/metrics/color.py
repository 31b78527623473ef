"""RGB to Y'CbCr 4:2:0, the colour space in which codecnb measures quality.

Convention
----------
ITU-R BT.601 matrix, limited ("studio") range: Y' in [16, 235], Cb and Cr in [16, 240],
computed in float and rounded to 8 bits. Chroma is subsampled 2:1 in both directions by the
mean of each 2x2 block (centre-sited, as in JPEG). This is what ffmpeg's ``rgb24`` to
``yuv420p`` conversion does by default up to the chroma filter (swscale uses a bicubic, left
sited filter), so the reference and every decoded clip go through *this* function, never a
mixture.

References
----------
.. [1] ITU-R Recommendation BT.601-7, "Studio encoding parameters of digital television",
       2011, section 2.5.
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from codecnb.errors import MetricError
from codecnb.metrics.scratch import buffer

# Rows give Y', Cb, Cr from R', G', B' in [0, 255]; offsets are added afterwards.
_BT601 = np.array([[65.481, 128.553, 24.966],
                   [-37.797, -74.203, 112.0],
                   [112.0, -93.786, -18.214]], dtype=np.float32) / 255.0
_OFFSET = (16.0, 128.0, 128.0, 0.0)
# Rows per strip: even (chroma pairs), and 32 rows of any even width hold a multiple of 64
# pixels, so OpenCV's vector loops cover every strip but the last exactly as they cover the
# whole frame (its scalar tail rounds differently).
_STRIP = 32


class Planes(NamedTuple):
    """8-bit Y', Cb, Cr planes of one frame: y (H, W); u and v (H/2, W/2)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray


def rgb_to_yuv420(frame: np.ndarray) -> Planes:
    """Convert one RGB frame to 8-bit BT.601 limited-range Y'CbCr 4:2:0 planes.

    The frame is converted in strips of 32 rows, each through OpenCV calls that do exactly
    the arithmetic of a whole-frame conversion (float32 matrix product, float32 offset, 2x2
    area mean, round half to even), so the planes are bit-identical to it while the float
    temporaries stay in the cache (``tests/test_metrics.py`` checks this).

    Parameters
    ----------
    frame : ndarray, uint8, shape (H, W, 3)
        RGB, H and W even.

    Returns
    -------
    Planes
        ``y`` of shape (H, W), ``u`` and ``v`` of shape (H/2, W/2), all uint8.
    """
    h, w = frame.shape[:2]
    y = np.empty((h, w), np.uint8)
    yuv = np.empty((h // 2, w // 2, 3), np.uint8)  # Cb, Cr in channels 1, 2; channel 0 unused
    rgb = buffer("color.rgb", (_STRIP, w, 3), np.float32)
    ycc = buffer("color.ycc", (_STRIP, w, 3), np.float32)
    luma = buffer("color.luma", (_STRIP, w), np.float32)
    half = buffer("color.half", (_STRIP // 2, w // 2, 3), np.float32)
    for r0 in range(0, h, _STRIP):
        r1 = min(h, r0 + _STRIP)
        n = r1 - r0
        f, t, lu, c = rgb[:n], ycc[:n], luma[:n], half[:n // 2]
        np.copyto(f, frame[r0:r1], casting="unsafe")
        cv2.transform(f, _BT601, dst=t)
        cv2.add(t, _OFFSET, dst=t)
        cv2.extractChannel(t, 0, dst=lu)
        cv2.add(lu, 0.0, dst=y[r0:r1], dtype=cv2.CV_8U)  # saturating, round half to even
        cv2.resize(t, (w // 2, n // 2), dst=c, interpolation=cv2.INTER_AREA)
        cv2.add(c, 0.0, dst=yuv[r0 // 2:r1 // 2], dtype=cv2.CV_8U)
    return Planes(y, cv2.extractChannel(yuv, 1), cv2.extractChannel(yuv, 2))


def yuv420_from_bytes(raw: bytes | np.ndarray, width: int, height: int) -> Planes:
    """Split one raw ``yuv420p`` frame (Y plane, then U, then V) into :class:`Planes`."""
    buf = np.frombuffer(raw, np.uint8) if isinstance(raw, (bytes, bytearray)) else raw.ravel()
    n, c = width * height, (width // 2) * (height // 2)
    if buf.size != n + 2 * c:
        raise MetricError(f"a {width}x{height} yuv420p frame has {n + 2 * c} bytes, got {buf.size}")
    return Planes(buf[:n].reshape(height, width),
                  buf[n:n + c].reshape(height // 2, width // 2),
                  buf[n + c:].reshape(height // 2, width // 2))
