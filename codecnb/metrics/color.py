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

# Rows give Y', Cb, Cr from R', G', B' in [0, 255]; offsets are added afterwards.
_BT601 = np.array([[65.481, 128.553, 24.966],
                   [-37.797, -74.203, 112.0],
                   [112.0, -93.786, -18.214]], dtype=np.float32) / 255.0
_OFFSET = (16.0, 128.0, 128.0)


class Planes(NamedTuple):
    """8-bit Y', Cb, Cr planes of one frame: y (H, W); u and v (H/2, W/2)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray


def rgb_to_yuv420(frame: np.ndarray) -> Planes:
    """Convert one RGB frame to 8-bit BT.601 limited-range Y'CbCr 4:2:0 planes.

    Parameters
    ----------
    frame : ndarray, uint8, shape (H, W, 3)
        RGB, H and W even.

    Returns
    -------
    Planes
        ``y`` of shape (H, W), ``u`` and ``v`` of shape (H/2, W/2), all uint8.
    """
    ycc = cv2.transform(frame.astype(np.float32), _BT601)
    ycc += np.asarray(_OFFSET, np.float32)
    h, w = frame.shape[:2]
    y = np.clip(np.rint(ycc[..., 0]), 0, 255).astype(np.uint8)
    chroma = cv2.resize(ycc[..., 1:], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    chroma = np.clip(np.rint(chroma), 0, 255).astype(np.uint8)
    return Planes(y, np.ascontiguousarray(chroma[..., 0]), np.ascontiguousarray(chroma[..., 1]))


def yuv420_from_bytes(raw: bytes | np.ndarray, width: int, height: int) -> Planes:
    """Split one raw ``yuv420p`` frame (Y plane, then U, then V) into :class:`Planes`."""
    buf = np.frombuffer(raw, np.uint8) if isinstance(raw, (bytes, bytearray)) else raw.ravel()
    n, c = width * height, (width // 2) * (height // 2)
    if buf.size != n + 2 * c:
        raise ValueError(f"a {width}x{height} yuv420p frame has {n + 2 * c} bytes, got {buf.size}")
    return Planes(buf[:n].reshape(height, width),
                  buf[n:n + c].reshape(height // 2, width // 2),
                  buf[n + c:].reshape(height // 2, width // 2))
