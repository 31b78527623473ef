"""``codecnb verify [--top K]``: check a campaign's best candidates on held-out clips.

The best K candidates by training BD-rate against JPEG are evaluated on the held-out clips
of the campaign's suite (or of ``--suite``); the held-out BD-rates and the gap to the
training score are printed and logged into the candidate runs, where the leaderboard shows
them. The generators never see these numbers.
"""
from __future__ import annotations

import argparse
import sys

from codecnb import config, jsonio
from codecnb.analysis.tables import pct
from codecnb.errors import CodecnbError
from codecnb.suites.suite import HELDOUT_TOP


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="evaluate the best candidates on held-out clips",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--top", type=int, default=HELDOUT_TOP, metavar="K",
                   help=f"how many of the best candidates [default {HELDOUT_TOP}]")
    p.add_argument("--suite", metavar="FILE|NAME",
                   help="use this suite's held-out clips [default: the campaign's suite]")
    p.add_argument("--tracking-uri", help=config.cli_help("tracking_uri"))
    p.add_argument("--experiment", help=config.cli_help("experiment"))
    p.add_argument("--campaign", help="parent run id [default: the latest campaign]")
    p.add_argument("--no-log", action="store_true",
                   help="print only; do not log the numbers into the runs")
    p.add_argument("--json", action="store_true", help="print one JSON list of rows")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from codecnb.heldout import verify_campaign
    from codecnb.suites import load_suite
    from codecnb.tracking import open_experiment
    from codecnb.tracking import runs as R
    if args.top < 1:
        raise CodecnbError(f"--top must be at least 1, got {args.top}")
    suite = load_suite(args.suite) if args.suite else None
    c, exp = open_experiment(config.resolve("experiment", args.experiment), args.tracking_uri)
    if args.campaign:
        parent = R.find_campaign(c, exp, args.campaign).info.run_id
    else:
        latest = R.latest_campaign(c, exp)
        if latest is None:
            raise CodecnbError("no campaign in this experiment yet (codecnb run starts one)")
        parent = latest.info.run_id

    def show(row: dict) -> None:
        if args.json:
            return
        line = (f"iter {row['iteration']:>4}  train {pct(row.get('bd_rate_jpeg')):>10}  "
                f"held-out {pct(row.get('heldout_bd_rate_jpeg')):>10}  "
                f"gap {pct(row.get('heldout_gap_jpeg')):>10}  (vs JPEG)   "
                f"x264: train {pct(row.get('bd_rate_x264'))}  held-out "
                f"{pct(row.get('heldout_bd_rate_x264'))}   {row['run_id']}")
        if row["heldout_status"] != "ok":
            line += f"\n           held-out FAILED: {row['heldout_failure']}"
        print(line, flush=True)

    if not args.json:
        print(f"campaign {parent}: held-out check of the best {args.top} candidates")
    rows = verify_campaign(c, exp, parent, args.top, suite=suite,
                           log_results=not args.no_log, on_result=show)
    if args.json:
        sys.stdout.write(jsonio.dumps(rows) + "\n")
    elif not rows:
        print("   (no successful candidate to verify)")
    return 0
