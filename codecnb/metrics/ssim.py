"""Wang et al.'s structural similarity (SSIM): the value codecnb logs as ``ssim_y``.

Convention
----------
Wang et al. 2004 and their ``ssim_index.m``: an 11x11 Gaussian window with sigma 1.5,
K1 = 0.01, K2 = 0.03, L = 255, population covariance, and the mean of the SSIM map over the
"valid" region (a 5-pixel border dropped). It equals scikit-image's
``structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=255)`` to about 1e-8 (tests: 1e-6). FFmpeg's SSIM is another convention
(:mod:`codecnb.metrics.ssim_ffmpeg`); never compare the two.

How it is computed
------------------
With x the reference, y the distorted plane and d = y - x, every moment SSIM needs follows
from the reference's and the difference's::

    mu_y = mu_x + mu_d       sigma_xy = sigma_x^2 + cov(x, d)
    sigma_y^2 = sigma_x^2 + 2 cov(x, d) + var(d)

so that with ``A = 2 mu_x mu_y + C1`` and ``B = 2 sigma_x^2 + 2 cov(x, d) + C2``::

    SSIM = A B / ((A + mu_d^2) (B + var(d)))

* :class:`WangReference` filters the reference once, in float64, and keeps ``mu_x`` and
  ``2 sigma_x^2 + C2`` in float32; every distorted plane scored against it (one per quality
  point) reuses them.
* A distorted plane needs three Gaussian filters, of d, d^2 and (x - 128) d. They hold
  small integers (exact in float32) whose magnitude is that of the coding error, so the
  cancellations in var(d) and cov(x, d) lose about |d| / 255 of what filtering x^2 and y^2
  directly in float32 loses: float32 is accurate here. Shifting x by 128 and d by its
  rounded mean over the strip leaves var and cov unchanged and shrinks the magnitudes. A
  strip whose shifted d has an RMS above 32 (large errors over large areas, where float32
  would no longer be safely within 1e-6) is filtered in float64.
* The frame is processed in strips of 64 output rows (plus the 5-row halo each side) in
  per-thread buffers (:mod:`codecnb.metrics.scratch`), so the temporaries stay in cache;
  the map is summed in float64.

References
----------
.. [1] Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image quality assessment:
       From error visibility to structural similarity", IEEE Trans. Image Processing 13(4),
       600-612, 2004. :DOI:`10.1109/TIP.2003.819861`
.. [2] scikit-image, ``skimage.metrics.structural_similarity``.
"""
from __future__ import annotations

import cv2
import numpy as np

from codecnb.errors import MetricError
from codecnb.metrics.scratch import buffer

K1, K2, L = 0.01, 0.03, 255.0
C1, C2 = (K1 * L) ** 2, (K2 * L) ** 2
RADIUS = 5  # int(3.5 * 1.5 + 0.5): scikit-image's truncate=3.5 gives an 11x11 window
_KERNEL = {np.float32: cv2.getGaussianKernel(2 * RADIUS + 1, 1.5, ktype=cv2.CV_32F),
           np.float64: cv2.getGaussianKernel(2 * RADIUS + 1, 1.5, ktype=cv2.CV_64F)}
_DEPTH = {np.float32: cv2.CV_32F, np.float64: cv2.CV_64F}
_STRIP = 64         # output rows per strip
_F64_RMS = 32.0     # RMS of the shifted difference above which a strip is filtered in float64


def _check(a: np.ndarray, b: np.ndarray | None = None) -> None:
    if a.ndim != 2 or a.dtype != np.uint8 or (b is not None and (b.shape != a.shape
                                                                  or b.dtype != np.uint8)):
        got = a.shape if b is None else f"{a.shape} {a.dtype} and {b.shape} {b.dtype}"
        raise MetricError(f"ssim_wang needs equal 2-D uint8 planes, got {got}")
    if min(a.shape) <= 2 * RADIUS:
        raise MetricError(f"ssim_wang needs planes of at least 11x11, got {a.shape}")


def _strips(rows: int):
    """(first, end) output rows of each strip of the valid region (``rows`` = H - 10)."""
    for i0 in range(0, rows, _STRIP):
        yield i0, min(rows, i0 + _STRIP)


def _filter(src: np.ndarray, name: str, dtype: type) -> np.ndarray:
    """Gaussian-weighted local mean of ``src`` on its valid region (a view into a buffer)."""
    out = buffer(name, src.shape, dtype)
    k = _KERNEL[dtype]
    cv2.sepFilter2D(src, _DEPTH[dtype], k, k, dst=out, borderType=cv2.BORDER_REFLECT)
    return out[RADIUS:-RADIUS, RADIUS:-RADIUS]


class WangReference:
    """A reference plane with its Gaussian statistics, for scoring many distorted planes.

    Parameters
    ----------
    plane : ndarray, uint8, shape (H, W)
        The reference (e.g. the Y' plane of a source frame); H and W at least 11. It is
        kept by reference, not copied: do not modify it while this object is in use.

    Attributes
    ----------
    plane : ndarray
        The reference plane.
    mu : ndarray, float32, shape (H - 10, W - 10)
        Local mean mu_x on the valid region.
    q : ndarray, float32, shape (H - 10, W - 10)
        ``2 sigma_x^2 + C2`` on the valid region (filtered in float64, then rounded).
    """

    __slots__ = ("plane", "mu", "q")

    def __init__(self, plane: np.ndarray):
        _check(plane)
        self.plane = plane
        h, w = plane.shape
        self.mu = np.empty((h - 2 * RADIUS, w - 2 * RADIUS), np.float32)
        self.q = np.empty_like(self.mu)
        for i0, i1 in _strips(h - 2 * RADIUS):
            _reference_strip(plane[i0:i1 + 2 * RADIUS], self.mu[i0:i1], self.q[i0:i1])

    @property
    def nbytes(self) -> int:
        """Bytes held by the statistics (the plane itself not counted)."""
        return self.mu.nbytes + self.q.nbytes

    def ssim(self, dis: np.ndarray) -> float:
        """Mean SSIM of ``dis`` against this reference, in Wang's convention.

        Parameters
        ----------
        dis : ndarray, uint8, shape (H, W)
            The distorted plane.

        Returns
        -------
        float
            Mean of the SSIM map over the valid region, in [-1, 1]; 1.0 when identical.
        """
        _check(self.plane, dis)
        total = 0.0
        for i0, i1 in _strips(self.mu.shape[0]):
            rows = slice(i0, i1 + 2 * RADIUS)
            total += _distorted_strip(self.plane[rows], dis[rows], self.mu[i0:i1],
                                      self.q[i0:i1])
        return total / self.mu.size


def _reference_strip(xs: np.ndarray, mu: np.ndarray, q: np.ndarray) -> None:
    """Write mu_x and 2 sigma_x^2 + C2 of one strip (with its halo ``xs``) into mu and q.

    Filtered in float64 straight from the 8-bit plane and its squares (exact in uint16), so
    E[x^2] - mu_x^2 loses nothing that matters (about 1e-11)."""
    k = _KERNEL[np.float64]
    m = buffer("ssimref.m", xs.shape, np.float64)
    cv2.sepFilter2D(xs, cv2.CV_64F, k, k, dst=m, borderType=cv2.BORDER_REFLECT)
    sq = buffer("ssimref.sq", xs.shape, np.uint16)
    cv2.multiply(xs, xs, dst=sq, dtype=cv2.CV_16U)
    e = buffer("ssimref.e", xs.shape, np.float64)
    cv2.sepFilter2D(sq, cv2.CV_64F, k, k, dst=e, borderType=cv2.BORDER_REFLECT)
    m, e = m[RADIUS:-RADIUS, RADIUS:-RADIUS], e[RADIUS:-RADIUS, RADIUS:-RADIUS]
    var = buffer("ssimref.var", m.shape, np.float64)
    cv2.multiply(m, m, dst=var)
    cv2.subtract(e, var, dst=var)                              # sigma_x^2
    cv2.add(var, var, dst=var)
    cv2.add(var, C2, dst=q, dtype=cv2.CV_32F)                   # 2 sigma_x^2 + C2
    cv2.add(m, 0.0, dst=mu, dtype=cv2.CV_32F)                   # mu_x


def _distorted_strip(xs: np.ndarray, ys: np.ndarray, mu: np.ndarray, q: np.ndarray) -> float:
    """Sum of the SSIM map over one strip's output rows (``xs``, ``ys`` include the halo)."""
    n = xs.size
    sum_d = cv2.sumElems(ys)[0] - cv2.sumElems(xs)[0]           # exact: integers below 2^53
    shift = float(round(sum_d / n))
    sum_sq = cv2.norm(xs, ys, cv2.NORM_L2SQR) - 2 * shift * sum_d + n * shift * shift
    dt = np.float64 if sum_sq > _F64_RMS * _F64_RMS * n else np.float32
    depth = _DEPTH[dt]
    d = buffer("ssim.d", xs.shape, dt)
    xd = buffer("ssim.xd", xs.shape, dt)
    dd = buffer("ssim.dd", xs.shape, dt)
    cv2.addWeighted(ys, 1.0, xs, -1.0, -shift, dst=d, dtype=depth)   # d - shift, exact
    cv2.subtract(xs, 128.0, dst=xd, dtype=depth)
    cv2.multiply(xd, d, dst=xd)                                      # exact below 2^24
    cv2.multiply(d, d, dst=dd)
    md = _filter(d, "ssim.md", dt)                                   # mu_d - shift
    edd = _filter(dd, "ssim.edd", dt)
    exd = _filter(xd, "ssim.exd", dt)
    if dt is np.float64:
        mu = _as(mu, "ssim.mu64")
        q = _as(q, "ssim.q64")
    m, t, b, a, c = (buffer(f"ssim.{k}", md.shape, dt) for k in "mtbac")
    cv2.subtract(mu, 128.0, dst=m)
    cv2.multiply(m, md, dst=t)
    cv2.subtract(exd, t, dst=t)                                      # cov(x, d)
    cv2.scaleAdd(t, 2.0, q, dst=b)                                   # B
    cv2.multiply(md, md, dst=c)
    cv2.subtract(edd, c, dst=t)                                      # var(d)
    cv2.add(b, t, dst=t)                                             # B + var(d)
    if shift:
        cv2.add(md, shift, dst=md)                                   # mu_d
        cv2.multiply(md, md, dst=c)
    cv2.add(mu, md, dst=m)                                           # mu_y
    cv2.multiply(mu, m, dst=a, scale=2.0)
    cv2.add(a, C1, dst=a)                                            # A
    cv2.add(a, c, dst=c)                                             # A + mu_d^2
    cv2.multiply(a, b, dst=a)
    cv2.multiply(c, t, dst=c)
    cv2.divide(a, c, dst=a)
    return cv2.sumElems(a)[0]                                        # float64 sum


def _as(src: np.ndarray, name: str) -> np.ndarray:
    """``src`` copied into a float64 buffer."""
    out = buffer(name, src.shape, np.float64)
    np.copyto(out, src)
    return out


def ssim_wang(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two uint8 planes in Wang's convention (see module docstring).

    To score several distorted planes against one reference, build its
    :class:`WangReference` once and call :meth:`WangReference.ssim`.

    Parameters
    ----------
    a, b : ndarray, uint8, shape (H, W)
        Reference and distorted plane; H and W at least 11.

    Returns
    -------
    float
        Mean of the SSIM map over the valid region, in [-1, 1]; 1.0 for identical planes.
    """
    _check(a, b)
    return WangReference(a).ssim(b)
