"""Structural similarity (SSIM) in two conventions that must never be compared.

``ssim_wang``
    The convention codecnb logs as ``ssim_y``: Wang et al. 2004 and their ``ssim_index.m``.
    An 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, population
    covariance, and the mean of the SSIM map over the "valid" region (a 5-pixel border
    dropped). It equals scikit-image's ``structural_similarity(a, b, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=255)`` to about 1e-9 and is about six
    times faster: the moments are filtered in float64 (exact), the map is formed in float32
    only after the cancelling subtractions.
``ssim_ffmpeg``
    FFmpeg's / x264's ``ssim``: 8x8 unweighted windows made of 2x2 sums of 4x4 blocks,
    stepped 4 pixels, integer constants. Use it only to cross-check against ffmpeg.

References
----------
.. [1] Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image quality assessment:
       From error visibility to structural similarity", IEEE Trans. Image Processing 13(4),
       600-612, 2004. :DOI:`10.1109/TIP.2003.819861`
.. [2] scikit-image, ``skimage.metrics.structural_similarity``.
.. [3] FFmpeg, ``libavfilter/vf_ssim.c``.
"""
from __future__ import annotations

import cv2
import numpy as np

K1, K2, L = 0.01, 0.03, 255.0
_C1, _C2 = (K1 * L) ** 2, (K2 * L) ** 2
_RADIUS = 5  # int(3.5 * 1.5 + 0.5): scikit-image's truncate=3.5 gives an 11x11 window
_KERNEL = cv2.getGaussianKernel(2 * _RADIUS + 1, 1.5, ktype=cv2.CV_64F)
_F32, _F64 = cv2.CV_32F, cv2.CV_64F


def _blur(x: np.ndarray) -> np.ndarray:
    """Gaussian-weighted local mean, float64, on the valid region only."""
    out = cv2.sepFilter2D(x, _F64, _KERNEL, _KERNEL, borderType=cv2.BORDER_REFLECT)
    return out[_RADIUS:-_RADIUS, _RADIUS:-_RADIUS]


def ssim_wang(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 planes in Wang's convention (see module docstring).

    Parameters
    ----------
    a, b : ndarray, uint8, shape (H, W)
        Reference and distorted plane; H and W at least 11.

    Returns
    -------
    float
        Mean of the SSIM map over the valid region, in [-1, 1]; 1.0 for identical planes.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim_wang needs two equal 2-D planes, got {a.shape} and {b.shape}")
    if min(a.shape) <= 2 * _RADIUS:
        raise ValueError(f"ssim_wang needs planes of at least 11x11, got {a.shape}")
    mx, my = _blur(a), _blur(b)
    sq = cv2.add(cv2.multiply(a, a, dtype=_F32), cv2.multiply(b, b, dtype=_F32))
    e_sq, e_xy = _blur(sq), _blur(cv2.multiply(a, b, dtype=_F32))   # products exact in f32
    mxy = cv2.multiply(mx, my)
    msq = cv2.add(cv2.multiply(mx, mx), cv2.multiply(my, my))
    s_xy = cv2.subtract(e_xy, mxy, dtype=_F32)          # covariance
    s_sq = cv2.subtract(e_sq, msq, dtype=_F32)          # var_x + var_y
    num = cv2.multiply(cv2.add(mxy.astype(np.float32), _C1 / 2), cv2.add(s_xy, _C2 / 2))
    den = cv2.multiply(cv2.add(msq.astype(np.float32), _C1), cv2.add(s_sq, _C2))
    return 4.0 * cv2.mean(cv2.divide(num, den))[0]


def ssim_ffmpeg(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two uint8 planes in FFmpeg's ``ssim`` filter convention (8-bit path).

    The plane is cut into 4x4 blocks (a remainder of fewer than 4 rows or columns is
    ignored); each 8x8 window is the sum of 2x2 neighbouring blocks, so windows step 4
    pixels. Per window, with sums s1, s2, ss = sum(a^2 + b^2), s12 = sum(ab) over 64 pixels:
    ``((2 s1 s2 + c1)(2 (64 s12 - s1 s2) + c2)) / ((s1^2 + s2^2 + c1)(64 ss - s1^2 - s2^2 + c2))``
    with c1 = 416 and c2 = 235963, evaluated in float32; the result is the mean over windows.
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim_ffmpeg needs two equal 2-D planes, got {a.shape} and {b.shape}")
    h4, w4 = a.shape[0] // 4, a.shape[1] // 4
    if h4 < 2 or w4 < 2:
        raise ValueError(f"ssim_ffmpeg needs planes of at least 8x8, got {a.shape}")
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
