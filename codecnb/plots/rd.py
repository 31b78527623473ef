"""Rate-distortion curves."""
from __future__ import annotations

import math
from typing import Mapping

from codecnb.plots.style import MARKERS, OKABE_ITO, new_figure
from codecnb.rd import RDCurve

#: Baselines are drawn dashed in grey tones, so candidates keep the palette's colours.
BASELINE_STYLE = {"jpeg": ("#555555", "--", "s"), "x264": ("#000000", ":", "^")}
YLABELS = {"psnr_y": "PSNR-Y (dB)", "ssim_y": "SSIM-Y (Wang)", "vmaf": "VMAF"}


def rd_figure(curves: Mapping[str, RDCurve], title: str = "Rate-distortion",
              metric: str = "psnr_y"):
    """Quality against bitrate (kbps, log scale), one line per codec.

    Parameters
    ----------
    curves : mapping of str to RDCurve
        Legend label -> curve. Curves named after a baseline (``jpeg``, ``x264``) are
        drawn dashed in grey; the others take the Okabe-Ito colours in order.
    title : str
    metric : {"psnr_y", "ssim_y", "vmaf"}
        The quality axis. Infinite values (lossless) are left out.
    """
    fig = new_figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    i = 0
    for name, curve in curves.items():
        pts = sorted((p.kbps, getattr(p, metric)) for p in curve.points
                     if getattr(p, metric) is not None and math.isfinite(getattr(p, metric)))
        if not pts:
            continue
        if name in BASELINE_STYLE:
            color, style, marker = BASELINE_STYLE[name]
            ax.plot(*zip(*pts), linestyle=style, marker=marker, color=color, label=name,
                    linewidth=1.3, markersize=4)
            continue
        ax.plot(*zip(*pts), marker=MARKERS[i % len(MARKERS)], color=OKABE_ITO[i % 8],
                label=name, linewidth=2 if i == 0 else 1.3)
        i += 1
    ax.set_xscale("log")
    ax.set_xlabel("bitrate (kbps, log scale)")
    ax.set_ylabel(YLABELS.get(metric, metric))
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="codec")
    return fig
