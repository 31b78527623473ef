"""Campaign throughput and overheads on this machine.

Prints three figures:

1. per-iteration overhead: wall time of an iteration on its worker (papermill, kernel
   start, notebook, figures, MLflow logging, HTML) minus the evaluator's own time.
   Target: median at most 3 s.
2. iterations per minute with 1 and with 2 workers, and their ratio: over the whole
   campaign (cluster start, each worker's cold first iteration and the drain at the end
   included), and in steady state (while every worker is busy with warm iterations: what a
   long campaign sees). Target: >= 1.6.
3. the source cache's effect: a cold first iteration (S3 source downloaded into an empty
   cache, from a local S3 server) against warm later ones.

    python benchmarks/campaign.py [--iterations 24] [--frames 8]
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
from codecnb.generators.replay import ReplayGenerator  # noqa: E402
from codecnb.tracking import runs as R  # noqa: E402

SOURCE = "sample:bigbuckbunny"


def campaign(tmp: Path, name: str, workers: int, iterations: int, source: str = SOURCE,
             frames: int = 8, generator=None):
    settings = CampaignSettings(iterations=iterations, source=source, frames=frames,
                                workers=workers, experiment=name,
                                tracking_uri=f"sqlite:///{tmp}/mlruns/mlflow.db")
    camp = Campaign(settings, generator or OfflineGenerator(seed=1))
    t0 = time.perf_counter()
    camp.run()
    wall = time.perf_counter() - t0
    kids = R.children(camp.c, camp.exp, camp.parent)
    return wall, kids, camp.c


def same_programs(c, kids, folder: Path) -> ReplayGenerator:
    """A generator that proposes the programs of ``kids`` again, in iteration order: so that
    the 2-worker campaign does exactly the work of the 1-worker one (the offline search
    depends on the history, which differs when two candidates are in flight)."""
    folder.mkdir()
    for i, kid in enumerate(kids):
        (folder / f"{i:04d}.py").write_text(R.program_of(c, kid))
    return ReplayGenerator(folder)


def steady_rate(kids, workers: int) -> float:
    """Iterations per minute while every worker is busy with a warm iteration.

    The window opens at the W-th completion (every worker has finished its first, cold
    iteration and taken its next) and closes at the (N-W+1)-th (the last candidate has been
    dispatched; from then on workers run dry one by one, which is the end of a finite
    campaign, not its throughput). The rate is the completions inside it over its length.
    """
    ends = sorted(k.info.end_time for k in kids)
    first, last = workers - 1, len(ends) - workers
    if last <= first:
        raise SystemExit(f"--iterations must be more than {2 * workers} to leave a steady state")
    return (last - first) / ((ends[last] - ends[first]) / 60_000)


def median_metric(kids, key: str) -> float:
    return statistics.median(k.data.metrics[key] for k in kids if key in k.data.metrics)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=24)
    ap.add_argument("--frames", type=int, default=8,
                    help="frames per evaluation (the default campaign uses 8)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["CODECNB_CACHE_DIR"] = str(tmp / "cache")
        campaign(tmp, "warmup", 1, 1, frames=args.frames)  # baselines cached, imports warm
        w1, kids1, c = campaign(tmp, "one-worker", 1, args.iterations, frames=args.frames)
        w2, kids2, _ = campaign(tmp, "two-workers", 2, args.iterations, frames=args.frames,
                                generator=same_programs(c, kids1, tmp / "programs"))
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
            _, kids3, _ = campaign(tmp, "s3-source", 1, 4, source="s3://clips/bbb.mp4")
        finally:
            srv.stop()
    ok1 = sum(k.info.status == "FINISHED" for k in kids1)
    ok2 = sum(k.info.status == "FINISHED" for k in kids2)
    ipm1, ipm2 = args.iterations / w1 * 60, args.iterations / w2 * 60
    ss1, ss2 = steady_rate(kids1, 1), steady_rate(kids2, 2)
    med = statistics.median(overheads)
    walls = [k.data.metrics["wall_s"] for k in kids3]
    print(f"campaigns of the same {args.iterations} offline candidates, {args.frames} frames "
          f"of {SOURCE}, {os.cpu_count()} cores ({ok1} and {ok2} passed)")
    print(f"1. per-iteration overhead (worker wall - evaluation): median {med:.2f} s, "
          f"min {min(overheads):.2f} s, max {max(overheads):.2f} s (target: median <= 3 s)")
    print(f"2. iterations/minute, whole campaign (cluster start, cold kernels, drain included): "
          f"1 worker {ipm1:.2f}, 2 workers {ipm2:.2f}, ratio {ipm2 / ipm1:.2f}")
    print(f"   iterations/minute, steady state (every worker busy, warm): "
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
