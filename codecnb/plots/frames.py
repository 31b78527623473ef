"""Frames side by side, and quality frame by frame."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from codecnb.plots.style import ERROR_CMAP, MARKERS, OKABE_ITO, new_figure


def frame_figure(original: np.ndarray, decoded: np.ndarray, title: str = "Frame comparison",
                 zoom: tuple[int, int, int, int] | None = None):
    """Original, decoded and the absolute luma error side by side.

    Parameters
    ----------
    original, decoded : ndarray
        uint8 RGB frames of shape (H, W, 3).
    title : str
    zoom : (x, y, width, height), optional
        Show only this region (pixels) of each image.

    Notes
    -----
    The error is ``|Y'(original) - Y'(decoded)|`` on 8-bit BT.601 limited-range luma, the
    plane PSNR-Y and SSIM-Y are measured on (:mod:`codecnb.metrics.color`).
    """
    from codecnb.metrics.color import rgb_to_yuv420
    err = np.abs(rgb_to_yuv420(original).y.astype(np.int16)
                 - rgb_to_yuv420(decoded).y.astype(np.int16))
    x0 = y0 = 0
    if zoom:
        x0, y0, w, h = zoom
        original, decoded, err = (a[y0:y0 + h, x0:x0 + w] for a in (original, decoded, err))
    extent = (x0 - 0.5, x0 + err.shape[1] - 0.5, y0 + err.shape[0] - 0.5, y0 - 0.5)
    fig = new_figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    for ax, img, name in zip(axes[:2], (original, decoded), ("original", "decoded")):
        ax.imshow(img, extent=extent, interpolation="nearest" if zoom else "antialiased")
        ax.set_title(name)
    im = axes[2].imshow(err, cmap=ERROR_CMAP, vmin=0, vmax=max(8, int(err.max())),
                        extent=extent, interpolation="nearest" if zoom else "antialiased")
    axes[2].set_title("|error| of luma (Y', BT.601)")
    for ax in axes:
        ax.set_xlabel("x (pixels)")
        ax.set_ylabel("y (pixels)")
    fig.colorbar(im, ax=axes[2], label="absolute error (8-bit levels)")
    fig.suptitle(title)
    return fig


def per_frame_figure(per_frame: Mapping[str, Mapping[str, Sequence[float]]],
                     current: int | None = None, title: str = "Quality per frame"):
    """Per-frame PSNR-Y and SSIM-Y, one line per quality point, with a frame marked.

    Parameters
    ----------
    per_frame : mapping of str to mapping
        Label (e.g. "q=50") -> ``{"psnr_y": [...], "ssim_y": [...]}`` as in
        :attr:`codecnb.rd.RDPoint.per_frame`.
    current : int, optional
        Frame index (from 0) to mark with a vertical line.
    title : str
    """
    fig = new_figure(figsize=(9, 3.6))
    axes = fig.subplots(1, 2)
    for ax, key, label in ((axes[0], "psnr_y", "PSNR-Y (dB)"),
                           (axes[1], "ssim_y", "SSIM-Y (Wang)")):
        for i, (name, values) in enumerate(per_frame.items()):
            ys = [v if v is not None and math.isfinite(v) else np.nan
                  for v in values.get(key, [])]
            ax.plot(range(len(ys)), ys, marker=MARKERS[i % len(MARKERS)], markersize=3,
                    color=OKABE_ITO[i % 8], label=name)
        if current is not None:
            ax.axvline(current, color="#D55E00", linestyle="--", linewidth=1.2,
                       label=f"frame {current}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("frame (index from 0)")
        ax.set_ylabel(label)
        ax.set_title(label.split(" ")[0] + " per frame")
        ax.grid(True, alpha=0.3)
    axes[1].legend(fontsize=8, loc="best")
    fig.suptitle(title)
    return fig
