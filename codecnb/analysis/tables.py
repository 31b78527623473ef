"""Plain-text tables and number formats of RD results (terminal, notebooks, reports)."""
from __future__ import annotations

import math
from typing import Mapping

from codecnb.rd import RDCurve
from codecnb.sources.base import SourceInfo


def fmt(value: float | None, spec: str) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format(value, spec)


def pct(fraction: float | None) -> str:
    """A fraction as a signed percentage ("-" when undefined): -0.05 -> "-5.00 %"."""
    return "-" if fraction is None else f"{100 * fraction:+.2f} %"


def source_line(info: SourceInfo, frames: int) -> str:
    return (f"source {info.uri}: {info.width}x{info.height} @ {info.fps:g} fps, "
            f"{frames} frames ({info.codec}, {info.pix_fmt})")


def rd_table(curves: Mapping[str, RDCurve]) -> str:
    """One row per RD point: codec, knob, kbps, PSNR-Y/U/V, SSIM-Y, timing."""
    has_vmaf = any(p.vmaf is not None for c in curves.values() for p in c.points)
    head = ["codec", "knob", "kbps", "PSNR-Y", "PSNR-U", "PSNR-V", "SSIM-Y"]
    head += ["VMAF"] if has_vmaf else []
    head += ["enc s", "dec s", "enc fps"]
    rows = [head]
    for curve in curves.values():
        for p in curve.points:
            row = [curve.codec, f"{curve.knob}={p.quality}", fmt(p.kbps, ".1f"),
                   fmt(p.psnr_y, ".3f"), fmt(p.psnr_u, ".3f"), fmt(p.psnr_v, ".3f"),
                   fmt(p.ssim_y, ".5f")]
            row += [fmt(p.vmaf, ".3f")] if has_vmaf else []
            row += [fmt(p.encode_s, ".2f"), fmt(p.decode_s, ".2f"), fmt(p.encode_fps, ".1f")]
            rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(r, widths))) for r in rows]
    return "\n".join(lines)


def bd_lines(bd: Mapping[str, Mapping[str, float | None]], anchor: str) -> str:
    """'BD-rate vs ANCHOR' lines: negative is fewer bits for the same PSNR-Y."""
    out = [f"BD-rate against {anchor} (PSNR-Y, PCHIP; negative = fewer bits for equal quality):"]
    for name, v in bd.items():
        if name == anchor:
            continue
        rate = "-" if v["bd_rate"] is None else f"{100 * v['bd_rate']:+.2f} %"
        dpsnr = "-" if v["bd_psnr"] is None else f"{v['bd_psnr']:+.3f} dB"
        out.append(f"  {name:<10} {rate:>10}   BD-PSNR {dpsnr}")
    return "\n".join(out)
