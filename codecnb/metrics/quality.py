"""The standard metric pass: PSNR of Y, U, V (and RGB) plus Wang SSIM of Y, per frame and per
clip, computed on all cores (or as many as the ``threads`` setting allows).

Each source frame is prepared once per segment (:func:`to_planes`: its 4:2:0 planes and the
Gaussian statistics of its Y plane, :class:`~codecnb.metrics.ssim.WangReference`) and then
shared by every quality point and codec scored against it (:func:`score_rgb`). Frames are
independent, so they are prepared and scored in parallel threads (OpenCV and NumPy release
the GIL), as many as the ``threads`` setting (``CODECNB_THREADS``) allows. Clip values
follow :mod:`codecnb.metrics.psnr` (PSNR of the mean MSE) and :mod:`codecnb.metrics.ssim`
(``ssim_y`` is the mean of the per-frame Wang SSIMs).
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Sequence

import cv2
import numpy as np

from codecnb.errors import MetricError
from codecnb import config
from codecnb.metrics.color import Planes, rgb_to_yuv420
from codecnb.metrics.psnr import average_psnr, clip_psnr, mse, psnr_from_mse
from codecnb.metrics.ssim import WangReference, ssim_wang


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    threads = config.resolve("threads")
    if threads < (os.cpu_count() or 1):  # a share of the machine: OpenCV keeps to it too
        cv2.setNumThreads(threads)
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="codecnb-metric")


def parallel_map(fn, *iterables) -> list:
    """``list(map(fn, ...))`` on the shared metric thread pool (setting ``threads``: one
    thread per core unless limited)."""
    return list(_pool().map(fn, *iterables))


@dataclass(frozen=True)
class FrameScores:
    """Scores of one decoded frame against its reference (MSE on 8-bit samples)."""

    mse_y: float
    mse_u: float
    mse_v: float
    ssim_y: float
    mse_rgb: float = float("nan")


def plane_scores(ref: Planes, dis: Planes) -> FrameScores:
    """MSE of each 4:2:0 plane and Wang SSIM of Y for one frame."""
    return FrameScores(mse(ref.y, dis.y), mse(ref.u, dis.u), mse(ref.v, dis.v),
                       ssim_wang(ref.y, dis.y))


def score_planes(refs: Sequence[Planes], diss: Sequence[Planes]) -> list[FrameScores]:
    """:func:`plane_scores` of many frames, in parallel."""
    return parallel_map(plane_scores, refs, diss)


@dataclass(frozen=True)
class ReferenceFrame:
    """A source frame prepared once for scoring every decoded version of it.

    Attributes
    ----------
    planes : Planes
        Its BT.601 4:2:0 planes (:func:`~codecnb.metrics.color.rgb_to_yuv420`).
    ssim_y : WangReference
        Its Y plane with the Gaussian statistics SSIM needs (8 bytes a pixel).
    """

    planes: Planes
    ssim_y: WangReference


def reference_frame(frame: np.ndarray) -> ReferenceFrame:
    """Prepare one RGB frame (H, W, 3) as a :class:`ReferenceFrame`."""
    planes = rgb_to_yuv420(frame)
    return ReferenceFrame(planes, WangReference(planes.y))


def to_planes(frames: np.ndarray) -> list[ReferenceFrame]:
    """Prepare RGB frames (T, H, W, 3) as references, in parallel: once per segment, then
    shared by every (codec, quality) scored against them with :func:`score_rgb`."""
    return parallel_map(reference_frame, list(frames))


def score_rgb(refs: Sequence[ReferenceFrame], ref_rgb: np.ndarray, dis_rgb: np.ndarray,
              ) -> tuple[list[FrameScores], list[Planes]]:
    """Score decoded RGB frames against their prepared references, in parallel.

    Parameters
    ----------
    refs : sequence of ReferenceFrame
        From :func:`to_planes` of ``ref_rgb``.
    ref_rgb, dis_rgb : ndarray, uint8, shape (T, H, W, 3)
        Source and decoded frames.

    Returns
    -------
    scores : list of FrameScores
        MSE of Y, U, V and RGB and Wang SSIM of Y, per frame.
    planes : list of Planes
        The decoded frames' 4:2:0 planes (for VMAF).
    """
    def one(i: int) -> tuple[FrameScores, Planes]:
        ref, dis = refs[i], rgb_to_yuv420(dis_rgb[i])
        p = ref.planes
        return FrameScores(mse(p.y, dis.y), mse(p.u, dis.u), mse(p.v, dis.v),
                           ref.ssim_y.ssim(dis.y), mse(ref_rgb[i], dis_rgb[i])), dis
    pairs = parallel_map(one, range(len(dis_rgb)))
    return [p[0] for p in pairs], [p[1] for p in pairs]


@dataclass
class ClipQuality:
    """Quality of a decoded clip against its reference.

    Attributes
    ----------
    psnr_y, psnr_u, psnr_v : float
        dB, PSNR of the clip-mean MSE per plane (ffmpeg's convention); ``inf`` if identical.
    psnr_avg : float
        dB, ffmpeg's ``average``: 4:1:1-weighted MSE of the planes.
    psnr_rgb : float
        dB, PSNR of the clip-mean MSE over R, G and B samples.
    ssim_y : float
        Mean over frames of the Wang SSIM of Y.
    vmaf : float or None
        Mean libvmaf score when requested.
    frames : int
        Number of frames scored.
    per_frame : dict of str to list of float
        ``psnr_y``, ``psnr_u``, ``psnr_v``, ``ssim_y`` (and ``vmaf``) for every frame.
    """

    psnr_y: float
    psnr_u: float
    psnr_v: float
    psnr_avg: float
    psnr_rgb: float
    ssim_y: float
    frames: int
    vmaf: float | None = None
    per_frame: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class QualityAccumulator:
    """Gathers per-frame scores segment by segment and gives the clip's :class:`ClipQuality`."""

    def __init__(self) -> None:
        self.scores: list[FrameScores] = []

    def add(self, scores: Sequence[FrameScores]) -> None:
        self.scores.extend(scores)

    def result(self, vmaf: tuple[float, list[float]] | None = None) -> ClipQuality:
        if not self.scores:
            raise MetricError("no frame was scored")
        col = {k: [getattr(s, k) for s in self.scores]
               for k in ("mse_y", "mse_u", "mse_v", "mse_rgb", "ssim_y")}
        my, mu, mv = (float(np.mean(col[k])) for k in ("mse_y", "mse_u", "mse_v"))
        per_frame = {f"psnr_{p}": [psnr_from_mse(m) for m in col[f"mse_{p}"]] for p in "yuv"}
        per_frame["ssim_y"] = col["ssim_y"]
        if vmaf is not None:
            per_frame["vmaf"] = list(vmaf[1])
        return ClipQuality(
            psnr_y=psnr_from_mse(my), psnr_u=psnr_from_mse(mu), psnr_v=psnr_from_mse(mv),
            psnr_avg=average_psnr(my, mu, mv), psnr_rgb=clip_psnr(col["mse_rgb"]),
            ssim_y=float(np.mean(col["ssim_y"])), frames=len(self.scores),
            vmaf=None if vmaf is None else vmaf[0], per_frame=per_frame)
