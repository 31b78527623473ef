"""``codecnb run``: an experiment campaign.

A generator proposes candidate programs; each one is evaluated by papermill executing
notebooks/iteration.ipynb on a Dask worker; every result, failure and artifact lands in
MLflow. With no options: a short campaign on the bundled clip with the offline generator
(Claude when ANTHROPIC_API_KEY is set), 2 local workers, the local store mlruns/.
"""
from __future__ import annotations

import argparse
import os
import sys

from codecnb import config
from codecnb.campaign import Campaign, CampaignSettings, Totals
from codecnb.cli.propose import add_generator_args, generator_from_args
from codecnb.cli.source_args import add_cache_args, apply_cache_args
from codecnb.cli.status import print_leaderboard
from codecnb.errors import CodecnbError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run an experiment campaign", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=int, default=6, help="candidates in total (default 6)")
    p.add_argument("--source", help=config.cli_help("source"))
    p.add_argument("--frames", type=int, default=8, help="frames per evaluation (default 8)")
    p.add_argument("--qualities", default="25,50,75,90", help="comma-separated qualities")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="local Dask workers, one thread of work each (default: 2, or the "
                        "cores if fewer; one per core uses the whole machine)")
    p.add_argument("--scheduler", help="an existing Dask scheduler, tcp://host:8786")
    p.add_argument("--tracking-uri", help=config.cli_help("tracking_uri"))
    p.add_argument("--experiment", help=config.cli_help("experiment"))
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="seconds for one candidate's evaluation")
    p.add_argument("--memory-gb", type=float, default=4.0, help="memory per sandboxed process")
    p.add_argument("--resume", action="store_true",
                   help="continue the latest campaign of the experiment to --iterations")
    add_generator_args(p)
    add_cache_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    apply_cache_args(args)
    try:
        qualities = [int(q) for q in args.qualities.split(",") if q.strip()]
    except ValueError:
        raise CodecnbError(f"--qualities must be integers like 25,50,75, got "
                           f"{args.qualities!r}") from None
    if args.iterations < 1 or args.workers < 1:
        raise CodecnbError("--iterations and --workers must be at least 1")
    settings = CampaignSettings(
        iterations=args.iterations, source=config.resolve("source", args.source),
        frames=args.frames, qualities=qualities, workers=args.workers,
        scheduler=args.scheduler, tracking_uri=args.tracking_uri,
        experiment=config.resolve("experiment", args.experiment), memory_gb=args.memory_gb,
        timeout_s=args.timeout, resume=args.resume)
    gen = generator_from_args(args, qualities=qualities, memory_gb=args.memory_gb)
    print(f"codecnb run: generator {gen.name}"
          + ("" if gen.name != "offline" or args.generator else
             " (no ANTHROPIC_API_KEY: the offline search)"), file=sys.stderr)
    from tqdm import tqdm
    bar = tqdm(total=args.iterations, desc="campaign", unit="it", file=sys.stderr,
               disable=not sys.stderr.isatty(), dynamic_ncols=True)

    def progress(t: Totals) -> None:
        bar.n = t.done
        best = "-" if t.best_bd_rate_jpeg is None else f"{100 * t.best_bd_rate_jpeg:+.1f}%"
        bar.set_postfix(ok=t.ok, failed=t.failed, best_bd_jpeg=best, cost=f"${t.cost_usd:.3f}")
        bar.refresh()

    campaign = Campaign(settings, gen, progress)
    if settings.resume:
        progress(campaign.totals)
    try:
        totals = campaign.run()
    finally:
        bar.close()
    print(f"campaign {campaign.parent}: {totals.done} iterations, {totals.ok} ok, "
          f"{totals.failed} failed, cost ${totals.cost_usd:.4f}")
    print_leaderboard(campaign.c, campaign.exp, campaign.parent, top=5)
    print(f"\nOpen the MLflow UI: codecnb ui   (or: mlflow server --backend-store-uri "
          f"{campaign.uri} --host 127.0.0.1)")
    return 0
