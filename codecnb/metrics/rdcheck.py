"""Rules an RD curve sent by a candidate must obey before it is scored, and a BD-rate that
the placement of a candidate's points cannot bend.

Rules (a curve that breaks one is a candidate failure of kind ``rd-curve``)
--------------------------------------------------------------------------
Points are taken in the order of the codec's knob (``quality``):

1. rate rises with the knob and PSNR rises with rate (strictly): a point with more bits and
   no more quality than another is *dominated* and names both points;
2. neighbouring points differ by at least :data:`MIN_PSNR_STEP_DB` in PSNR and
   :data:`MIN_LOG_RATE_STEP` in natural-log rate (points closer than that cannot be told
   apart and only serve to bend an interpolant, cf. the issue-20 attack of a q50 bitstream
   re-sent with damage and padding).

A lossless point (PSNR +inf) is allowed above lossy ones; a codec that gives the same
operating point at every knob value breaks no rule (it has no curve to shape, and its
BD-rate is undefined: it is not ranked).

BD-rate (:func:`robust_bd_rate`)
--------------------------------
* Defined only when the PSNR overlap of test and anchor is at least
  ``max(MIN_OVERLAP_DB, MIN_OVERLAP_FRACTION * anchor range)``; otherwise ``None`` (the
  candidate is not ranked on that clip; VCEG-AM91 / Herglotz et al. warn that BD values over a
  small overlap are extrapolation noise).
* The test curve's log-rate is interpolated both by PCHIP (JCTVC-E137) and piecewise-linearly
  in (PSNR, log-rate); the *larger* integral (worse for the test) is used. The piecewise-linear
  chord between two measured points is an operating point reachable by mixing them, so it can
  only be lowered by a measured point that really lies below it (a better operating point);
  PCHIP alone can be pulled below the chords by its slope estimates (the issue's attack).
  The anchor is trusted and uses PCHIP, as in :func:`codecnb.metrics.bdrate.bd_rate`.

References
----------
.. [1] G. Bjontegaard, VCEG-M33, 2001; VCEG-AI11, 2008.
.. [2] F. Bossen, JCTVC-E137 / JCTVC-L1100 (PCHIP BD-rate).
.. [3] C. Herglotz et al., "The Bjontegaard Bible: why your way of comparing video codecs may
       be wrong", IEEE TIP 2024 (overlap and interpolation pitfalls).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator

from codecnb.errors import CandidateFailed, MetricError
from codecnb.metrics.bdrate import _prepare

#: Smallest PSNR difference (dB) between neighbouring points of a candidate curve.
MIN_PSNR_STEP_DB = 0.05
#: Smallest natural-log rate difference between neighbouring points (about 1 % in rate).
MIN_LOG_RATE_STEP = 0.01
#: Smallest PSNR overlap (dB) with the anchor for a BD-rate to be defined ...
MIN_OVERLAP_DB = 0.5
#: ... and as a fraction of the anchor's PSNR range (the larger of the two applies).
MIN_OVERLAP_FRACTION = 0.2


def curve_problem(points: Sequence[tuple[float, float, float]]) -> str | None:
    """What is wrong with a candidate's curve, or None.

    Parameters
    ----------
    points : sequence of (knob, rate, psnr)
        The knob value (e.g. quality), rate (kbps, > 0) and PSNR (dB) of each point.
    """
    pts = sorted((float(k), float(r), float(p)) for k, r, p in points)
    for k, r, p in pts:
        if not math.isfinite(r) or r <= 0 or math.isnan(p) or p == -math.inf:
            return f"point q{k:g} has rate {r!r} kbps and PSNR {p!r} dB (need finite, rate > 0)"
    if len({(r, p) for _, r, p in pts}) == 1:
        return None   # one operating point at every knob value: no curve to shape, no BD-rate
    for i, (ka, ra, pa) in enumerate(pts):
        for kb, rb, pb in pts[i + 1:]:
            if (rb >= ra) != (pb > pa) or rb == ra:  # one has >= bits and <= quality
                (kh, rh, ph), (kl, rl, pl) = (((kb, rb, pb), (ka, ra, pa)) if rb >= ra
                                              else ((ka, ra, pa), (kb, rb, pb)))
                return (f"point q{kh:g} ({rh:.4g} kbps, {ph:.3f} dB) is dominated by "
                        f"q{kl:g} ({rl:.4g} kbps, {pl:.3f} dB): as many bits or more for "
                        f"no more quality")
    for (ka, ra, pa), (kb, rb, pb) in zip(pts, pts[1:]):
        if rb <= ra or pb <= pa:
            return (f"rate and PSNR must rise with quality: q{ka:g} ({ra:.4g} kbps, "
                    f"{pa:.3f} dB) then q{kb:g} ({rb:.4g} kbps, {pb:.3f} dB)")
        if math.isinf(pb):
            continue   # a lossless point (PSNR +inf) above a lossy one: nothing to tell apart
        if pb - pa < MIN_PSNR_STEP_DB or math.log(rb / ra) < MIN_LOG_RATE_STEP:
            return (f"points q{ka:g} and q{kb:g} are too close to tell apart "
                    f"({pb - pa:.3f} dB and {100 * (rb / ra - 1):.2f} % rate apart; need "
                    f">= {MIN_PSNR_STEP_DB} dB and >= {100 * math.expm1(MIN_LOG_RATE_STEP):.0f} %)")
    return None


def check_curve(points: Sequence[tuple[float, float, float]]) -> None:
    """Raise :class:`~codecnb.errors.CandidateFailed` (kind ``rd-curve``) if
    :func:`curve_problem` finds something wrong with ``points`` (knob, kbps, PSNR dB)."""
    problem = curve_problem(points)
    if problem:
        from codecnb.sandbox.failures import Failure
        raise CandidateFailed(Failure("rd-curve", f"RD curve rejected: {problem}", "score"))


def min_overlap_db(anchor_psnr: Sequence[float]) -> float:
    """The PSNR overlap (dB) with an anchor of these PSNRs that a BD-rate needs."""
    return max(MIN_OVERLAP_DB, MIN_OVERLAP_FRACTION * (max(anchor_psnr) - min(anchor_psnr)))


def _linear_integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    grid = np.unique(np.concatenate([[lo, hi], x[(x > lo) & (x < hi)]]))
    vals = np.interp(grid, x, y)
    return float(np.sum((vals[1:] + vals[:-1]) / 2 * np.diff(grid)))


def robust_bd_rate(anchor: Sequence[tuple[float, float]],
                   test: Sequence[tuple[float, float]]) -> float | None:
    """BD-rate (fraction) of ``test`` against the trusted ``anchor``, both (kbps, PSNR dB),
    that a candidate cannot improve by placing its points; None if the PSNR overlap is
    below :func:`min_overlap_db`.

    Raises
    ------
    MetricError
        Fewer than two points, non-finite values, or repeated PSNRs.
    """
    la, qa = _prepare(anchor, "anchor")
    lt, qt = _prepare(test, "test")
    for q, who in ((qa, "anchor"), (qt, "test")):
        if len(np.unique(q)) != len(q):
            raise MetricError(f"{who} curve has repeated PSNR values: {sorted(q)}")
    lo, hi = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    if hi - lo < min_overlap_db(qa):
        return None
    ia, it = np.argsort(qa), np.argsort(qt)
    anchor_int = PchipInterpolator(qa[ia], la[ia]).integrate(lo, hi)
    pchip = PchipInterpolator(qt[it], lt[it]).integrate(lo, hi)
    linear = _linear_integral(qt[it], lt[it], lo, hi)
    return math.expm1(float((max(pchip, linear) - anchor_int) / (hi - lo)))
