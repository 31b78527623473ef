"""Figures: RD curves, frames and per-frame quality, and a campaign's course.

All figures are matplotlib, titled, with axis units and legends, in colour-blind-safe
colours (:mod:`~codecnb.plots.style`).
"""
from codecnb.plots.campaign import (lineage_figure, outcomes_figure, progress_figure,
                                    spending_figure)
from codecnb.plots.frames import frame_figure, per_frame_figure
from codecnb.plots.rd import rd_figure
from codecnb.plots.style import png_bytes, save_png, show

__all__ = ["frame_figure", "lineage_figure", "outcomes_figure", "per_frame_figure",
           "png_bytes", "progress_figure", "rd_figure", "save_png", "show",
           "spending_figure"]
