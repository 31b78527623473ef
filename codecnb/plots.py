"""Figures for results: RD curves against the baselines and frame comparisons.

All figures are matplotlib, titled, with units on the axes and legends. Colours are the
Okabe-Ito palette (distinguishable with the common colour-vision deficiencies) and curves
also differ by marker; error maps use the perceptually uniform ``cividis`` colour map.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from codecnb.rd import RDCurve

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _figure(*args, **kw):
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state
    return Figure(*args, **kw)


def rd_figure(curves: Mapping[str, RDCurve], title: str = "Rate-distortion",
              metric: str = "psnr_y"):
    """PSNR-Y (dB) against bitrate (kbps, log scale), one line per codec."""
    fig = _figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for i, (name, curve) in enumerate(curves.items()):
        pts = sorted((p.kbps, getattr(p, metric)) for p in curve.points
                     if math.isfinite(getattr(p, metric)))
        if not pts:
            continue
        ax.plot(*zip(*pts), marker=MARKERS[i % len(MARKERS)], color=OKABE_ITO[i % 8],
                label=name, linewidth=2 if i == 0 else 1.3)
    ax.set_xscale("log")
    ax.set_xlabel("bitrate (kbps, log scale)")
    ax.set_ylabel({"psnr_y": "PSNR-Y (dB)", "ssim_y": "SSIM-Y"}.get(metric, metric))
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="codec")
    return fig


def frame_figure(original: np.ndarray, decoded: np.ndarray, title: str = "Frame comparison",
                 zoom: tuple[int, int, int, int] | None = None):
    """Original, decoded and the absolute luma error side by side.

    ``zoom`` = (x, y, width, height) in pixels shows only that region of each.
    """
    from codecnb.metrics.color import rgb_to_yuv420
    err = np.abs(rgb_to_yuv420(original).y.astype(np.int16)
                 - rgb_to_yuv420(decoded).y.astype(np.int16))
    if zoom:
        x, y, w, h = zoom
        original, decoded, err = (a[y:y + h, x:x + w] for a in (original, decoded, err))
    fig = _figure(figsize=(13, 4), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, img, name in zip(axes[:2], (original, decoded), ("original", "decoded")):
        ax.imshow(img)
        ax.set_title(name)
        ax.set_xlabel("x (pixels)")
        ax.set_ylabel("y (pixels)")
    im = axes[2].imshow(err, cmap="cividis", vmin=0, vmax=max(8, int(err.max())))
    axes[2].set_title("|error| of luma (Y', BT.601)")
    axes[2].set_xlabel("x (pixels)")
    axes[2].set_ylabel("y (pixels)")
    fig.colorbar(im, ax=axes[2], label="absolute error (8-bit levels)")
    fig.suptitle(title)
    return fig


def save_png(fig, path) -> str:
    fig.savefig(path, format="png", dpi=100)
    return str(path)
