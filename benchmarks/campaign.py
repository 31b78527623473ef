"""Campaign throughput and overheads on this machine.

Prints three figures:

1. per-iteration overhead: wall time of an iteration on its worker (papermill, kernel
   start, notebook, figures, MLflow logging, HTML) minus the evaluator's own time.
   Target: median at most 3 s.
2. iterations per minute with 1 and with 2 workers, and their ratio: over the whole
   campaign, and in steady state (after each worker's first, cold iteration: what a long
   campaign sees). Target: >= 1.6.
3. the source cache's effect: a cold first iteration (S3 source downloaded into an empty
   cache, from a local S3 server) against warm later ones.

    python benchmarks/campaign.py [--iterations 12] [--frames 8]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from s3fixtures import start_server  # noqa: E402

from codecnb.campaign import Campaign, CampaignSettings  # noqa: E402
from codecnb.generators import OfflineGenerator  # noqa: E402
from codecnb.tracking import runs as R  # noqa: E402

SOURCE = "sample:bigbuckbunny"


def campaign(tmp: Path, name: str, workers: int, iterations: int, source: str = SOURCE,
             frames: int = 8):
    settings = CampaignSettings(iterations=iterations, source=source, frames=frames,
                                workers=workers, experiment=name,
                                tracking_uri=f"sqlite:///{tmp}/mlruns/mlflow.db")
    camp = Campaign(settings, OfflineGenerator(seed=1))
    t0 = time.perf_counter()
    camp.run()
    wall = time.perf_counter() - t0
    kids = R.children(camp.c, camp.exp, camp.parent)
    return wall, kids


def steady_rate(kids, workers: int) -> float:
    """Iterations per minute once every worker has finished its first (cold) iteration:
    completions after the W-th one, over the time since it."""
    ends = sorted(k.info.end_time for k in kids)
    return (len(ends) - workers) / ((ends[-1] - ends[workers - 1]) / 60_000)


def median_metric(kids, key: str) -> float:
    return statistics.median(k.data.metrics[key] for k in kids if key in k.data.metrics)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=12)
    ap.add_argument("--frames", type=int, default=8,
                    help="frames per evaluation (the default campaign uses 8)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["CODECNB_CACHE_DIR"] = str(tmp / "cache")
        campaign(tmp, "warmup", 1, 1, frames=args.frames)  # baselines cached, imports warm
        w1, kids1 = campaign(tmp, "one-worker", 1, args.iterations, frames=args.frames)
        w2, kids2 = campaign(tmp, "two-workers", 2, args.iterations, frames=args.frames)
        overheads = [k.data.metrics["wall_s"] - k.data.metrics["eval_s"]
                     for k in kids1 + kids2 if "eval_s" in k.data.metrics]
        srv = start_server(tmp)
        try:
            os.environ.update(srv.env)
            import boto3
            s3 = boto3.client("s3", endpoint_url=srv.url)
            s3.create_bucket(Bucket="clips")
            from codecnb.sources.samples import sample_path
            s3.upload_file(str(sample_path("bigbuckbunny")), "clips", "bbb.mp4")
            _, kids3 = campaign(tmp, "s3-source", 1, 4, source="s3://clips/bbb.mp4")
        finally:
            srv.stop()
    ok1 = sum(k.info.status == "FINISHED" for k in kids1)
    ok2 = sum(k.info.status == "FINISHED" for k in kids2)
    ipm1, ipm2 = args.iterations / w1 * 60, args.iterations / w2 * 60
    ss1, ss2 = steady_rate(kids1, 1), steady_rate(kids2, 2)
    med = statistics.median(overheads)
    walls = [k.data.metrics["wall_s"] for k in kids3]
    print(f"campaigns of {args.iterations} offline candidates, {args.frames} frames of "
          f"{SOURCE}, {os.cpu_count()} cores ({ok1} and {ok2} passed)")
    print(f"1. per-iteration overhead (worker wall - evaluation): median {med:.2f} s, "
          f"min {min(overheads):.2f} s, max {max(overheads):.2f} s (target: median <= 3 s)")
    print(f"2. iterations/minute, whole campaign (cluster start and cold kernels included): "
          f"1 worker {ipm1:.2f}, 2 workers {ipm2:.2f}, ratio {ipm2 / ipm1:.2f}")
    print(f"   iterations/minute, steady state (after each worker's first iteration): "
          f"1 worker {ss1:.2f}, 2 workers {ss2:.2f}, ratio {ss2 / ss1:.2f} (target >= 1.6)")
    for label, kids in (("1 worker", kids1), ("2 workers", kids2)):
        print(f"   {label}: median evaluation {median_metric(kids, 'eval_s'):.2f} s, "
              f"median iteration wall {median_metric(kids, 'wall_s'):.2f} s")
    print(f"3. S3 source: cold first iteration {walls[0]:.2f} s (download + baselines), warm "
          f"later ones median {statistics.median(walls[1:]):.2f} s; ratio "
          f"{walls[0] / statistics.median(walls[1:]):.2f}")
    ok = med <= 3 and ss2 / ss1 >= 1.6
    print("targets:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
