"""``codecnb status`` and ``codecnb leaderboard``: the dashboard figures of a campaign."""
from __future__ import annotations

import argparse
import sys

from codecnb import config, jsonio
from codecnb.cli.tables import pct as _pct
from codecnb.errors import CodecnbError
from codecnb.tracking import client, ensure_experiment
from codecnb.tracking import runs as R


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tracking-uri", help=config.cli_help("tracking_uri"))
    p.add_argument("--experiment", help=config.cli_help("experiment"))
    p.add_argument("--campaign", help="parent run id (default: the latest campaign)")
    p.add_argument("--json", action="store_true", help="print JSON")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="successful, in progress, failed and total candidates")
    _common(p)
    p.set_defaults(run=run_status)
    p = sub.add_parser("leaderboard", help="the best candidates by BD-rate against JPEG")
    _common(p)
    p.add_argument("--top", type=int, default=10)
    p.set_defaults(run=run_leaderboard)


def _campaign(args):
    c = client(args.tracking_uri)
    exp = ensure_experiment(c, config.resolve("experiment", args.experiment))
    if args.campaign:
        return c, exp, args.campaign
    run = R.latest_campaign(c, exp)
    if run is None:
        raise CodecnbError("no campaign in this experiment yet (codecnb run starts one)")
    return c, exp, run.info.run_id


def status(c, exp: str, parent: str) -> dict:
    kids = R.children(c, exp, parent)
    count = lambda s: sum(k.info.status == s for k in kids)  # noqa: E731
    scores = [(k.data.metrics["bd_rate_jpeg"], k) for k in kids
              if k.info.status == "FINISHED" and "bd_rate_jpeg" in k.data.metrics]
    best = min(scores, key=lambda x: x[0]) if scores else None
    return {"campaign": parent, "status": c.get_run(parent).info.status,
            "successful": count("FINISHED"), "in_progress": count("RUNNING"),
            "failed": count("FAILED"), "killed": count("KILLED"), "total": len(kids),
            "best_bd_rate_jpeg": best[0] if best else None,
            "best_run": best[1].info.run_id if best else None,
            "cost_usd": sum(k.data.metrics.get("cost_usd", 0.0) for k in kids)}


def leaderboard(c, exp: str, parent: str, top: int = 10) -> list[dict]:
    rows = []
    for k in R.children(c, exp, parent):
        m = k.data.metrics
        if k.info.status != "FINISHED" or "bd_rate_jpeg" not in m:
            continue
        rows.append({"run_id": k.info.run_id, "iteration": int(k.data.tags.get(R.ITERATION, 0)),
                     "generator": k.data.tags.get("codecnb.generator", ""),
                     "bd_rate_jpeg": m.get("bd_rate_jpeg"), "bd_rate_x264": m.get("bd_rate_x264"),
                     "encode_fps": m.get("encode_fps"), "decode_fps": m.get("decode_fps"),
                     "program_sha256": k.data.tags.get(R.SHA, "")})
    return sorted(rows, key=lambda r: r["bd_rate_jpeg"])[:top]


def print_leaderboard(c, exp: str, parent: str, top: int = 10) -> None:
    rows = leaderboard(c, exp, parent, top)
    print(f"{'rank':>4}  {'iter':>4}  {'BD-rate vs JPEG':>15}  {'vs x264':>10}  "
          f"{'enc fps':>8}  generator  run")
    for i, r in enumerate(rows, 1):
        print(f"{i:>4}  {r['iteration']:>4}  {_pct(r['bd_rate_jpeg']):>15}  "
              f"{_pct(r['bd_rate_x264']):>10}  {r['encode_fps'] or 0:8.1f}  "
              f"{r['generator']:<9}  {r['run_id']}")
    if not rows:
        print("   (no successful candidate yet)")


def run_status(args) -> int:
    c, exp, parent = _campaign(args)
    s = status(c, exp, parent)
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
        sys.stdout.write(jsonio.dumps(leaderboard(c, exp, parent, args.top)) + "\n")
    else:
        print_leaderboard(c, exp, parent, args.top)
    return 0
