"""``codecnb eval PROGRAM.py``: evaluate a codec program in the sandbox.

Prints the RD table with the baselines and the BD-rates, or the failure. With ``--json``,
one JSON object. Exit status: 0 the candidate passed, 1 it failed, 2 bad usage or input.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codecnb import config
from codecnb.progress import progress_bar
from codecnb.cli.source_args import add_source_args, open_from_args
from codecnb.cli.tables import fmt, pct, rd_table, source_line
from codecnb.errors import CodecnbError
from codecnb.evaluation import evaluate
from codecnb.evaluation.evaluator import DEFAULT_QUALITIES
from codecnb.sandbox.limits import GiB, Limits
from codecnb.sandbox.policy import ImportPolicy


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a codec program in the sandbox",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("program", type=Path, help="Python file defining encode() and decode()")
    add_source_args(p)
    p.add_argument("--quality", type=int, action="append", dest="qualities", metavar="Q",
                   help=f"quality 0..100 (repeatable; default {list(DEFAULT_QUALITIES)})")
    p.add_argument("--allow-import", action="append", default=[], metavar="MODULE",
                   help="widen the import policy (repeatable)")
    p.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit per process")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="wall-clock seconds for the whole evaluation")
    p.add_argument("--segment-timeout", type=float, default=120.0,
                   help="wall-clock seconds for one encode or decode call")
    p.add_argument("--vmaf", action="store_true",
                   help="also measure VMAF per point (libvmaf vmaf_v0.6.1; slow)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        text = args.program.read_text()
    except OSError as exc:
        raise CodecnbError(f"program {str(args.program)!r}: {exc.strerror or exc}") from None
    qualities = args.qualities or list(DEFAULT_QUALITIES)
    if any(not 0 <= q <= 100 for q in qualities):
        raise CodecnbError(f"--quality must be within 0..100, got {qualities}")
    source = open_from_args(args)
    limits = Limits(memory_bytes=int(args.memory_gb * GiB), evaluation_timeout_s=args.timeout,
                    segment_timeout_s=args.segment_timeout)
    total = source.info.frames and source.info.frames * len(qualities)
    with progress_bar(total, f"eval {args.program.name}") as bar:
        result = evaluate(text, source, qualities=qualities, limits=limits,
                          policy=ImportPolicy().widened(*args.allow_import),
                          segment_frames=config.resolve("segment_frames", args.segment_frames),
                          progress=bar.update, vmaf=args.vmaf)
    if args.json:
        sys.stdout.write(result.to_json() + "\n")
    else:
        print(source_line(source.info, result.source["frames"]))
        if result.ok:
            print(rd_table({"candidate": result.curve(), **result.baselines}))
            print()
            for name in result.bd_rate:
                print(f"BD-rate against {name:<6} {pct(result.bd_rate[name])}"
                      f"   BD-PSNR {fmt(result.bd_psnr[name], '+.3f')} dB")
        else:
            f = result.failure
            print(f"FAILED ({f.kind}): {f.message}")
        print(f"sandbox layers: {', '.join(result.isolation)}")
    return 0 if result.ok else 1



