"""Fan-out: one candidate's evaluation spread over local Dask workers.

Evaluates the starter codec on 48 frames of ../shared/testdata/street_1080p.h264 at 4
qualities, split into (segment, quality) tasks (16-frame segments: 3 x 4 = 12 tasks), with
1 and with 2 local workers (one thread each, as in a campaign), and prints both wall times
and their ratio (target <= 0.6 on a 2-core machine). Baselines are measured first and
cached, and each cluster runs one small warm-up task per worker before it is timed (worker
start-up is not part of an evaluation). With ``--check``, the in-process evaluation (no
Dask) is timed too and every fanned-out result is checked against it.

    python benchmarks/fanout.py [--frames 48] [--workers 1,2] [--repeat 1] [--check]

With ``--campaign``, it times whole campaigns instead: ``codecnb run --suite default
--iterations 2`` (offline generator, 2 local workers) with fan-out and with
``--no-fanout``, each in a store of its own under a temporary folder, the baselines of the
suite cached first; it prints each candidate's wall time (the iteration task, as logged in
``wall_s``), its evaluation's (``eval_s``), and where its fanned-out tasks ran.

    python benchmarks/fanout.py --campaign [--suite default] [--iterations 2]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import STREET  # noqa: E402

from codecnb.campaign.executor import dask_client  # noqa: E402
from codecnb.codecs import builtin_program  # noqa: E402
from codecnb.evaluation.fanout import clip_baselines  # noqa: E402
from codecnb.evaluation.suite import evaluate_suite  # noqa: E402
from codecnb.sandbox.limits import Limits  # noqa: E402
from codecnb.suites import Clip, Suite  # noqa: E402

QUALITIES = [25, 50, 75, 90]
SEGMENT = 16


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--workers", default="1,2", help="worker counts to time [default 1,2]")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per count (best kept)")
    ap.add_argument("--segment-timeout", type=float, default=1200.0,
                    help="seconds one encode or decode call may take [default 1200: the "
                         "starter is slow on 1080p, more so on a loaded machine]")
    ap.add_argument("--check", action="store_true",
                    help="also evaluate in process and compare the results")
    ap.add_argument("--campaign", action="store_true",
                    help="time codecnb run campaigns with and without fan-out instead")
    ap.add_argument("--suite", default="default", help="with --campaign [default default]")
    ap.add_argument("--iterations", type=int, default=2, help="with --campaign [default 2]")
    args = ap.parse_args()
    if args.campaign:
        return campaigns(args.suite, args.iterations)
    program = builtin_program("starter")
    suite = Suite("street", (Clip(str(STREET), 0, args.frames, None, "train", "street"),))
    warm = Suite("warm", (Clip(str(STREET), 0, 4, (320, 180), "train", "warm"),))
    limits = Limits(segment_timeout_s=args.segment_timeout,
                    evaluation_timeout_s=max(1800.0, 4 * args.segment_timeout))
    kw = dict(qualities=QUALITIES, segment_frames=SEGMENT, smoke=False, limits=limits)
    clip_baselines(suite.clips[0], ("jpeg", "x264"), SEGMENT)   # cached for every run
    tasks = -(-args.frames // SEGMENT) * len(QUALITIES)
    print(f"starter on {args.frames} frames of {STREET.name} (1920x1080) at "
          f"{len(QUALITIES)} qualities; {tasks} tasks of {SEGMENT} frames x 1 quality",
          flush=True)
    local = None
    if args.check:
        t0 = time.perf_counter()
        local = evaluate_suite(program, suite, **kw)
        assert local.ok, local.failure
        print(f"in-process (no Dask):   {time.perf_counter() - t0:7.2f} s", flush=True)
    times = {}
    for n in [int(w) for w in args.workers.split(",")]:
        with dask_client(n) as client:
            evaluate_suite(program, warm, qualities=[50], segment_frames=1,
                           smoke=False, client=client)   # every worker imports and probes
            best = None
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                r = evaluate_suite(program, suite, client=client, **kw)
                took = time.perf_counter() - t0
                best = took if best is None else min(best, took)
            assert r.ok, r.failure
            if local is not None:
                for a, b in zip(local.clips[0].result.points, r.clips[0].result.points):
                    assert a.bytes == b.bytes and abs(a.psnr_y - b.psnr_y) < 1e-9, (a, b)
        times[n] = best
        print(f"{n} worker{'s' if n > 1 else ' '} (fan-out):    {best:7.2f} s", flush=True)
    if 1 in times and 2 in times:
        ratio = times[2] / times[1]
        print(f"ratio 2 workers / 1 worker: {ratio:.3f}   (target <= 0.6)")
    print("(timings on a shared machine vary)")
    return 0


def campaigns(suite_name: str, iterations: int) -> int:
    """Time ``codecnb run --suite SUITE --iterations N`` with and without fan-out."""
    from codecnb.spec import build_spec
    from codecnb.suites import load_suite
    from codecnb.tracking import client
    from codecnb.tracking import runs as R
    suite = load_suite(suite_name)
    spec = build_spec(suite=suite)
    t0 = time.perf_counter()
    for clip in suite.train:          # cached once: neither campaign measures them
        clip_baselines(clip, spec.baselines, spec.segment_frames)
    print(f"baselines of {suite_name} cached ({time.perf_counter() - t0:.1f} s)", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="codecnb-fanout-bench-"))
    for label, extra in (("fan-out", []), ("no fan-out", ["--no-fanout"])):
        uri = f"sqlite:///{folder}/{label.replace(' ', '-')}.db"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "codecnb", "run", "--suite", suite_name,
                               "--iterations", str(iterations), "--workers", "2",
                               "--generator", "offline", "--tracking-uri", uri, *extra],
                              cwd=folder, text=True, capture_output=True)
        took = time.perf_counter() - t0
        if proc.returncode:
            print(proc.stderr[-3000:])
            return proc.returncode
        c = client(uri)
        exp = c.get_experiment_by_name("codecnb").experiment_id
        kids = R.children(c, exp, R.latest_campaign(c, exp).info.run_id)
        print(f"{label}: campaign {took:.1f} s", flush=True)
        for k in kids:
            m, tags = k.data.metrics, k.data.tags
            where = tags.get("codecnb.fanout_workers", "")
            print(f"  candidate {tags[R.ITERATION]} ({k.info.status}): wall {m['wall_s']:.1f} s, "
                  f"evaluation {m.get('eval_s', float('nan')):.1f} s"
                  + (f", {m['fanout_tasks']:.0f} tasks on {where}" if where else ""),
                  flush=True)
        walls = [k.data.metrics["wall_s"] for k in kids]
        print(f"  per candidate: mean wall {sum(walls) / len(walls):.1f} s",
              json.dumps({"candidate_wall_s": walls}), flush=True)
    print("(timings on a shared machine vary)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
