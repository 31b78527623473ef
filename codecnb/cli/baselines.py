"""``codecnb baselines``: RD points of the baseline codecs and their BD-rates against JPEG."""
from __future__ import annotations

import argparse
import sys

from codecnb import config, jsonio
from codecnb.baselines import ANCHOR, SWEEPS, baseline_codecs
from codecnb.progress import progress_bar
from codecnb.cli.source_args import add_source_args, open_from_args
from codecnb.analysis.tables import bd_lines, rd_table, source_line
from codecnb.rd import bd_table, measure


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baselines", help="measure JPEG, x264 and the starter codec on a source",
                       description=__doc__)
    add_source_args(p)
    p.add_argument("--codec", action="append", choices=list(SWEEPS), dest="codecs",
                   help="baseline to run (repeatable; default: all)")
    p.add_argument("--vmaf", action="store_true", help="also compute VMAF (slow)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--per-frame", action="store_true", help="include per-frame values in JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    source = open_from_args(args)
    names = args.codecs or list(SWEEPS)
    codecs = baseline_codecs(source.info.fps, names)
    sweeps = {n: SWEEPS[n] for n in names}
    total = source.info.frames and source.info.frames * sum(map(len, sweeps.values()))
    with progress_bar(total, "baselines") as bar:
        curves = measure(codecs, sweeps, source,
                         segment_frames=config.resolve("segment_frames", args.segment_frames),
                         vmaf=args.vmaf, progress=bar.update)
    frames = next(iter(curves.values())).points[0].frames
    anchor = ANCHOR if ANCHOR in curves else names[0]
    bd = bd_table(curves, anchor)
    if args.json:
        out = {"source": {**source.info.to_dict(), "frames": frames}, "anchor": anchor,
               "curves": {n: c.to_dict(per_frame=args.per_frame) for n, c in curves.items()},
               "bd": bd}
        sys.stdout.write(jsonio.dumps(out) + "\n")
    else:
        print(source_line(source.info, frames))
        print(rd_table(curves))
        print()
        print(bd_lines(bd, anchor))
    return 0
