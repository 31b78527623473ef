"""Peak signal-to-noise ratio, in the conventions of ffmpeg's ``psnr`` filter.

Conventions
-----------
* ``PSNR = 10 log10(255^2 / MSE)`` in dB, for 8-bit samples.
* The **clip** value of a plane is the PSNR of the MSE averaged over all frames (global MSE),
  as ffmpeg's ``psnr`` filter reports it; it is *not* the mean of per-frame PSNRs. The
  per-frame values are kept separately (:func:`mean_frame_psnr` gives their mean, a
  different number).
* ``average`` weights the plane MSEs by their pixel counts before taking the PSNR: 4:1:1 for
  4:2:0, as ffmpeg does.
* Identical inputs have MSE 0 and PSNR ``math.inf``. In JSON, codecnb writes it as the string
  ``"inf"`` (see :mod:`codecnb.jsonio`), never as a made-up finite cap.

References
----------
.. [1] FFmpeg, ``libavfilter/vf_psnr.c``.
"""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from codecnb.errors import MetricError

PEAK = 255.0


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error between two uint8 arrays of equal shape (exact, in float64)."""
    if a.shape != b.shape:
        raise MetricError(f"shapes differ: {a.shape} vs {b.shape}")
    return cv2.norm(a, b, cv2.NORM_L2SQR) / a.size


def psnr_from_mse(value: float, peak: float = PEAK) -> float:
    """PSNR in dB for a mean squared error; ``math.inf`` when ``value`` is 0."""
    return math.inf if value <= 0 else 10.0 * math.log10(peak * peak / value)


def clip_psnr(frame_mses: Sequence[float]) -> float:
    """PSNR (dB) of the mean of per-frame MSEs: ffmpeg's clip value for one plane."""
    return psnr_from_mse(float(np.mean(frame_mses)))


def average_psnr(mse_y: float, mse_u: float, mse_v: float) -> float:
    """ffmpeg's ``average``: PSNR of the 4:1:1 pixel-count-weighted MSE of 4:2:0 planes."""
    return psnr_from_mse((4 * mse_y + mse_u + mse_v) / 6.0)


def mean_frame_psnr(frame_mses: Sequence[float]) -> float:
    """Mean of per-frame PSNRs in dB (``inf`` if any frame is identical). Not ffmpeg's value."""
    return float(np.mean([psnr_from_mse(m) for m in frame_mses]))
