"""Rate-distortion measurement: run codecs over a source at several qualities.

The source is read once, segment by segment; each segment's reference planes and their SSIM
statistics are computed once and shared by every (codec, quality) pair. Memory stays bounded
by the segment size.
Bitrates come from the real bitstream bytes (:func:`codecnb.metrics.kbps`).
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping, Sequence

from codecnb.codecs.base import Codec, check_decoded
from codecnb.errors import MetricError
from codecnb.metrics.bdrate import bd_psnr, bd_rate
from codecnb.metrics.bitrate import bits_per_pixel, kbps
from codecnb.metrics.quality import QualityAccumulator, score_rgb, to_planes
from codecnb.metrics.vmaf import VmafAccumulator
from codecnb.sources.base import DEFAULT_SEGMENT_FRAMES, Source

log = logging.getLogger(__name__)

Progress = Callable[[int], None]  # called with a number of frames just processed


@dataclass
class RDPoint:
    """One point of an RD curve.

    Attributes
    ----------
    quality : int
        The codec's knob value (its meaning is the curve's ``knob``).
    bytes : int
        Total bitstream size over all segments, headers included.
    kbps : float
        ``8 * bytes / duration / 1000`` with duration = frames / fps.
    bpp : float
        Bits per luma pixel.
    psnr_y, psnr_u, psnr_v, psnr_avg, psnr_rgb, ssim_y, vmaf
        See :class:`codecnb.metrics.quality.ClipQuality`.
    encode_s, decode_s : float
        Wall-clock seconds spent in encode and decode over all segments.
    encode_fps, decode_fps : float
        Frames per second of encode and decode.
    frames : int
        Frames measured.
    per_frame : dict of str to list of float
        Per-frame ``psnr_y``, ``psnr_u``, ``psnr_v``, ``ssim_y`` (and ``vmaf``).
    """

    quality: int
    bytes: int
    kbps: float
    bpp: float
    psnr_y: float
    psnr_u: float
    psnr_v: float
    psnr_avg: float
    psnr_rgb: float
    ssim_y: float
    encode_s: float
    decode_s: float
    encode_fps: float
    decode_fps: float
    frames: int
    vmaf: float | None = None
    per_frame: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def to_dict(self, per_frame: bool = True) -> dict:
        d = asdict(self)
        if not per_frame:
            d.pop("per_frame")
        return d


@dataclass
class RDCurve:
    """A codec's RD points on one source window."""

    codec: str
    knob: str
    points: list[RDPoint]

    def pairs(self, metric: str = "psnr_y") -> list[tuple[float, float]]:
        """(kbps, metric) pairs, e.g. for :func:`codecnb.metrics.bd_rate`."""
        return [(p.kbps, getattr(p, metric)) for p in self.points]

    def to_dict(self, per_frame: bool = True) -> dict:
        return {"codec": self.codec, "knob": self.knob,
                "points": [p.to_dict(per_frame) for p in self.points]}

    @classmethod
    def from_dict(cls, d: dict) -> "RDCurve":
        return cls(d["codec"], d["knob"], [RDPoint(**p) for p in d["points"]])


class Track:
    """Running totals of one (codec, quality) pair while a source is measured."""

    def __init__(self, source: Source, vmaf: bool):
        self.bytes = 0
        self.encode_s = self.decode_s = 0.0
        self.quality = QualityAccumulator()
        i = source.info
        self.vmaf = VmafAccumulator(i.width, i.height, i.fps) if vmaf else None

    def add(self, scores, refs, dis_planes) -> None:
        """One segment's per-frame scores, with its references (:func:`to_planes`) and
        decoded planes for VMAF when it is measured."""
        self.quality.add(scores)
        if self.vmaf:
            for r, d in zip(refs, dis_planes):
                self.vmaf.add(r.planes, d)

    def close(self) -> None:
        """Stop the VMAF process, if any (point() does it too)."""
        if self.vmaf:
            self.vmaf.close()

    def point(self, q: int, source: Source) -> RDPoint:
        try:
            clip = self.quality.result(self.vmaf.score() if self.vmaf else None)
        finally:
            if self.vmaf:
                self.vmaf.close()
        i, n = source.info, clip.frames
        return RDPoint(
            quality=q, bytes=self.bytes, kbps=kbps(self.bytes, n, i.fps),
            bpp=bits_per_pixel(self.bytes, n, i.width, i.height),
            psnr_y=clip.psnr_y, psnr_u=clip.psnr_u, psnr_v=clip.psnr_v, psnr_avg=clip.psnr_avg,
            psnr_rgb=clip.psnr_rgb, ssim_y=clip.ssim_y, vmaf=clip.vmaf,
            encode_s=self.encode_s, decode_s=self.decode_s,
            encode_fps=n / self.encode_s if self.encode_s else float("inf"),
            decode_fps=n / self.decode_s if self.decode_s else float("inf"),
            frames=n, per_frame=clip.per_frame)


def measure(codecs: Mapping[str, Codec], qualities: Mapping[str, Sequence[int]],
            source: Source, *, segment_frames: int = DEFAULT_SEGMENT_FRAMES,
            vmaf: bool = False, progress: Progress | None = None) -> dict[str, RDCurve]:
    """Measure the RD curve of each codec on ``source``.

    Parameters
    ----------
    codecs : mapping of name to Codec
        The codecs to run (trusted code: they run in this process).
    qualities : mapping of name to list of int
        Knob values per codec.
    source : Source
        The frames; read once.
    segment_frames : int
        Frames per ``encode`` call; each segment is coded independently.
    vmaf : bool
        Also compute VMAF (slow).
    progress : callable, optional
        Called with the number of frames processed after each (segment, codec, quality).

    Returns
    -------
    dict of str to RDCurve

    Raises
    ------
    CodecError
        A codec failed or returned frames that break the contract.
    """
    tracks = {(name, q): Track(source, vmaf) for name in codecs for q in qualities[name]}
    try:
        for segment in source.segments(segment_frames):
            refs = to_planes(segment)  # planes and SSIM statistics, shared by every point
            for (name, q), track in tracks.items():
                codec = codecs[name]
                t0 = time.perf_counter()
                data = codec.encode(segment, q)
                t1 = time.perf_counter()
                decoded = check_decoded(codec.decode(data), segment.shape, name)
                t2 = time.perf_counter()
                track.bytes += len(data)
                track.encode_s += t1 - t0
                track.decode_s += t2 - t1
                scores, dis_planes = score_rgb(refs, segment, decoded)
                track.add(scores, refs, dis_planes)
                if progress:
                    progress(len(segment))
        return {name: RDCurve(name, codecs[name].knob,
                              [tracks[name, q].point(q, source) for q in qualities[name]])
                for name in codecs}
    finally:
        for track in tracks.values():
            track.close()


def bd_or_none(fn: Callable, anchor: RDCurve, test: RDCurve,
               metric: str = "psnr_y") -> float | None:
    """``fn`` (:func:`~codecnb.metrics.bd_rate` or ``bd_psnr``) of ``test`` against
    ``anchor`` on ``metric``, or None where it is undefined (e.g. no overlap)."""
    try:
        return fn(anchor.pairs(metric), test.pairs(metric))
    except MetricError as exc:
        log.info("%s of %s against %s: %s", fn.__name__, test.codec, anchor.codec, exc)
        return None


def bd_table(curves: Mapping[str, RDCurve], anchor: str,
             metric: str = "psnr_y") -> dict[str, dict[str, float | None]]:
    """BD-rate (fraction) and BD-PSNR (dB) of every curve against ``anchor``, on ``metric``.

    A value that is undefined (e.g. curves that do not overlap) is ``None``, not an error.
    """
    return {name: {"bd_rate": bd_or_none(bd_rate, curves[anchor], c, metric),
                   "bd_psnr": bd_or_none(bd_psnr, curves[anchor], c, metric)}
            for name, c in curves.items()}
