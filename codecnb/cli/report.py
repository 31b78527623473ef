"""``codecnb report``: the comparison notebook as one standalone HTML file.

Executes notebooks/compare.ipynb on an experiment (or one campaign) with papermill and
renders it with images embedded and code hidden (unless --with-code). The file opens
offline in any browser: no server, no internet.
"""
from __future__ import annotations

import argparse
import sys

from codecnb import config
from codecnb.report import build_report


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="render the comparison of candidates as standalone HTML",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", default="report.html", help="HTML file (default report.html)")
    p.add_argument("--experiment", help=config.cli_help("experiment"))
    p.add_argument("--campaign", default="",
                   help="a campaign's run id (default: every candidate of the experiment)")
    p.add_argument("--tracking-uri", help=config.cli_help("tracking_uri"))
    p.add_argument("--with-code", action="store_true", help="show the notebook's code cells")
    p.add_argument("--top", type=config.cli_parser(config.positive_int), default=5, help="candidates in the leaderboard and RD plot [default 5]")
    p.add_argument("--target-kbps", type=config.cli_parser(config.positive_float), default=0.0,
                   help="bitrate for the 'PSNR-Y at target' column, kbit/s > 0 "
                        "(default: automatic)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = build_report(args.output, config.resolve("experiment", args.experiment),
                        args.campaign, args.tracking_uri, args.with_code, args.top,
                        args.target_kbps)
    print(f"report written to {path}", file=sys.stderr)
    return 0
