"""``codecnb status`` and ``codecnb leaderboard``: the dashboard figures of a campaign."""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from codecnb import config, jsonio
from codecnb.analysis import compare, load_candidates
from codecnb.analysis.tables import pct as _pct
from codecnb.errors import CodecnbError
from codecnb.tracking import open_experiment
from codecnb.tracking import runs as R


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", help=config.cli_help("tracking_uri"))
    p.add_argument("--experiment", help=config.cli_help("experiment"))
    p.add_argument("--campaign", help="parent run id [default: the latest campaign]")
    p.add_argument("--json", action="store_true", help="print JSON [default: a table]")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="successful, in progress, failed and total candidates")
    _common(p)
    p.add_argument("--watch", action="store_true",
                   help="refresh the dashboard until interrupted (Ctrl-C) [default: once]")
    p.add_argument("--interval", type=float, default=2.0,
                   help="seconds between refreshes of --watch [default 2 s]")
    p.add_argument("--scheduler", help="with --watch: list this Dask scheduler's workers, "
                                       "tcp://host:8786 [default: none]")
    p.set_defaults(run=run_status)
    p = sub.add_parser("leaderboard", help="the best candidates by BD-rate against JPEG")
    _common(p)
    p.add_argument("--top", type=config.cli_type("segment_frames"), default=10,
                   help="rows to show [default 10]")
    p.set_defaults(run=run_leaderboard)


def _campaign(args):
    """(client, experiment id, parent run id): ``--campaign`` (which must exist: exit 2
    otherwise) or the latest campaign. When the latest has no successful candidate but an
    earlier one has, a note on stderr names that one: it is never hidden silently."""
    c, exp = open_experiment(config.resolve("experiment", args.experiment), args.tracking_uri)
    if args.campaign:
        return c, exp, R.find_campaign(c, exp, args.campaign).info.run_id
    runs = R.campaigns(c, exp)
    if not runs:
        raise CodecnbError("no campaign in this experiment yet (codecnb run starts one)")
    latest = runs[0]
    if not _has_success(c, exp, latest):
        for run in runs[1:]:
            if _has_success(c, exp, run):
                print(f"codecnb: note: the latest campaign {latest.info.run_id} "
                      f"({latest.info.status}) has no successful candidate; the latest one "
                      f"with results is {run.info.run_id} (--campaign {run.info.run_id})",
                      file=sys.stderr)
                break
    return c, exp, latest.info.run_id


def _has_success(c, exp: str, run) -> bool:
    ok = R.search_all(c, exp, f"tags.`{R.PARENT}` = '{run.info.run_id}' and "
                              f"attributes.status = 'FINISHED'")
    return bool(ok)


def print_leaderboard(c, exp: str, parent: str, top: int = 10) -> int:
    """Print the ``top`` candidates of a campaign; returns how many rows were printed."""
    records = load_candidates(c, exp, parent)
    rows = compare.leaderboard(records, top)
    held = any(r["heldout_bd_rate_jpeg"] is not None for r in rows)
    print(f"{'rank':>4}  {'iter':>4}  {'BD-rate vs JPEG':>15}  {'vs x264':>10}  "
          + (f"{'held-out vs JPEG':>16}  {'gap':>10}  " if held else "")
          + f"{'enc fps':>8}  generator  run")
    for r in rows:
        rank = f"={r['rank']}" if r.get("tie_above") else str(r["rank"])
        print(f"{rank:>4}  {r['iteration']:>4}  {_pct(r['bd_rate_jpeg']):>15}  "
              f"{_pct(r['bd_rate_x264']):>10}  "
              + (f"{_pct(r['heldout_bd_rate_jpeg']):>16}  {_pct(r['heldout_gap_jpeg']):>10}  "
                 if held else "")
              + f"{r['encode_fps'] or 0:8.1f}  {r['generator']:<9}  {r['run_id']}")
    if not rows:
        print("   (no successful candidate yet)")
    elif any(r.get("tie_above") for r in rows):
        print("   (=N: not told apart from the candidate above it by its per-clip scores)")
    if rows and rows[0].get("rank_by") == "validation":
        print("   (ranked on the validation clips, which no generator sees)")
    bought = compare.models(records)
    if bought:   # LLM candidates: what each model bought
        print(f"\n{'model':<24} {'cands':>5} {'ok':>3} {'fail':>4} {'improved':>8} "
              f"{'gain pp':>8} {'cost $':>8} {'pp/$':>7}  best BD vs JPEG")
        for m in bought:
            per = "-" if m["pp_per_usd"] is None else f"{m['pp_per_usd']:.1f}"
            print(f"{m['model'][:24]:<24} {m['candidates']:>5} {m['ok']:>3} {m['failed']:>4} "
                  f"{m['improved']:>8} {m['gain_pp']:>8.2f} {m['cost_usd']:>8.4f} {per:>7}  "
                  f"{_pct(m['best_bd_rate_jpeg'])}")
    return len(rows)


def run_status(args) -> int:
    c, exp, parent = _campaign(args)
    if args.watch:
        if not args.interval > 0:
            raise CodecnbError(f"--interval must be > 0 seconds, got {args.interval:g}")
        from codecnb.cli.watch import watch
        return watch(c, exp, parent, args.interval, args.scheduler)
    s = {"campaign": parent, "status": c.get_run(parent).info.status,
         **asdict(compare.status(load_candidates(c, exp, parent)))}
    if args.json:
        sys.stdout.write(jsonio.dumps(s) + "\n")
    else:
        print(f"campaign {s['campaign']} ({s['status']}): {s['successful']} successful, "
              f"{s['in_progress']} in progress, {s['failed']} failed, {s['killed']} killed, "
              f"{s['total']} total; best BD-rate vs JPEG {_pct(s['best_bd_rate_jpeg'])}; "
              f"cost ${s['cost_usd']:.4f}")
    return 0


def run_leaderboard(args) -> int:
    c, exp, parent = _campaign(args)
    if args.json:
        rows = compare.leaderboard(load_candidates(c, exp, parent), args.top)
        sys.stdout.write(jsonio.dumps(rows) + "\n")
    else:
        print(f"campaign {parent} ({c.get_run(parent).info.status})")
        print_leaderboard(c, exp, parent, args.top)
    return 0
