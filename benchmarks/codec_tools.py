"""What each tool of the starter codec buys: BD-rate against x264 with each tool off in turn.

For every clip of the suite (default: the default suite's windows), x264 (medium, tune psnr,
CRF 38/33/28/23) and the starter codec (quality 25/50/75/90) are measured in this process
by :func:`codecnb.rd.measure` (same metrics as the evaluator); then the starter again with
one of its tool flags (``INTRA_PRED``, ``MOTION``, ``SUBPEL``, ``SPLIT``, ``DEBLOCK``,
``RDO``, ``CONTEXTS``) set to False. Prints BD-rate on PSNR-Y (positive = more bits than
x264) per clip, the mean over the training clips, and the held-out clips beside.

Then encode and decode speed at 1280x720, quality 75, on one core (``taskset`` to the
first allowed CPU, BLAS and OpenMP threads 1): 8 frames of the bundled clip, by wall clock
and by CPU time.

    python benchmarks/codec_tools.py [--suite default] [--tools all|none|A,B] [--no-speed]

Timings and speeds are disturbed by any other load on the machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"  # before numpy is imported: one core

import numpy as np  # noqa: E402

from codecnb.baselines import SWEEPS  # noqa: E402
from codecnb.codecs.base import ProgramCodec, builtin_program  # noqa: E402
from codecnb.codecs.x264 import X264Codec  # noqa: E402
from codecnb.metrics import bd_rate  # noqa: E402
from codecnb.rd import measure  # noqa: E402
from codecnb.sources import open_source  # noqa: E402
from codecnb.suites import load_suite  # noqa: E402

TOOLS = ["INTRA_PRED", "MOTION", "SUBPEL", "SPLIT", "DEBLOCK", "RDO", "CONTEXTS"]


def variant(text: str, off: str | None) -> str:
    """The starter's text with tool ``off`` switched off (None: unchanged)."""
    if off is None:
        return text
    line = f"{off} = True"
    if line not in text:
        raise SystemExit(f"the starter has no tool flag {off!r}")
    return text.replace(line, f"{off} = False", 1)


def one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def speed(text: str, frames: int = 8) -> dict[str, float]:
    """Encode and decode frames/s of ``text`` on 1280x720 at quality 75, by wall clock and
    by this process's CPU time (the latter is less disturbed by other load)."""
    clip = open_source("sample:bigbuckbunny", frames=frames).read()
    codec = ProgramCodec(text, "starter")
    w0, c0 = time.perf_counter(), time.process_time()
    data = codec.encode(clip, 75)
    w1, c1 = time.perf_counter(), time.process_time()
    codec.decode(data)
    w2, c2 = time.perf_counter(), time.process_time()
    return {"encode wall": frames / (w1 - w0), "decode wall": frames / (w2 - w1),
            "encode cpu": frames / (c1 - c0), "decode cpu": frames / (c2 - c1)}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="default")
    ap.add_argument("--tools", default="all", help="all, none, or a comma-separated list")
    ap.add_argument("--program", help="a program file instead of the built-in starter")
    ap.add_argument("--no-speed", action="store_true")
    args = ap.parse_args(argv)
    one_core()
    text = open(args.program).read() if args.program else builtin_program("starter")
    tools = (TOOLS if args.tools == "all" else [] if args.tools == "none"
             else args.tools.split(","))
    variants = [None] + tools
    suite = load_suite(args.suite)
    table: dict[str | None, dict[str, float]] = {v: {} for v in variants}
    for clip in suite.clips:
        src = open_source(clip.uri, start=clip.start, frames=clip.frames, resize=clip.resize)
        t = time.perf_counter()
        x264 = measure({"x264": X264Codec(fps=src.info.fps)}, {"x264": SWEEPS["x264"]},
                       src)["x264"]
        for v in variants:
            curve = measure({"s": ProgramCodec(variant(text, v), "starter")},
                            {"s": SWEEPS["starter"]}, src)["s"]
            table[v][clip.name] = bd_rate(x264.pairs("psnr_y"), curve.pairs("psnr_y"))
            if v is None:
                print(f"# {clip.name} ({clip.role}): " + "  ".join(
                    f"q{p.quality} {p.kbps:.0f} kbps {p.psnr_y:.2f} dB" for p in curve.points)
                    + "  | x264 " + "  ".join(f"{p.kbps:.0f}/{p.psnr_y:.2f}"
                                               for p in x264.points), flush=True)
        print(f"# {clip.name}: {time.perf_counter() - t:.0f} s", flush=True)
    names = [c.name for c in suite.clips]
    train = [c.name for c in suite.train]
    print("\nBD-rate of the starter against x264 (PSNR-Y; + = more bits than x264)")
    print(f"{'variant':<16}" + "".join(f"{n:>14}" for n in names) + f"{'train mean':>14}")
    for v in variants:
        row = table[v]
        mean = float(np.mean([row[n] for n in train]))
        print(f"{'starter' if v is None else v + ' off':<16}"
              + "".join(f"{100 * row[n]:>+13.1f}%" for n in names) + f"{100 * mean:>+13.1f}%")
    if not args.no_speed:
        fps = speed(text)
        print("\n1280x720, quality 75, one core, frames/s (targets: encode >= 1, decode >= 5): "
              + ", ".join(f"{k} {v:.2f}" for k, v in fps.items()))


if __name__ == "__main__":
    main()
