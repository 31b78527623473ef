"""Cascade: what a program that fails the smoke stage costs, against a full evaluation of
the starter codec on the same suite.

Evaluates the starter on a suite (default: the bundled ``default`` suite's training clips,
after the smoke stage, baselines cached by a first run), then programs that fail in
typical ways: one that raises in encode, one whose decoder returns the wrong shape, one
that does not parse, and one that hangs (stopped by the smoke stage's timeout, 10 s
by default). Prints each one's wall time and its fraction of the starter's (target <= 0.1
for the programs that fail by themselves; a hanging one costs the smoke timeout).

    python benchmarks/cascade.py [--suite default] [--smoke-timeout 10]
"""
from __future__ import annotations

import argparse
import sys
import time

from codecnb.codecs import builtin_program
from codecnb.evaluation.fanout import clip_baselines
from codecnb.evaluation.suite import evaluate_suite
from codecnb.sources import DEFAULT_SEGMENT_FRAMES
from codecnb.sandbox.limits import Limits
from codecnb.suites import load_suite

FAILING = {
    "raises in encode": "def encode(frames, quality):\n    raise ValueError('boom')\n"
                        "def decode(data):\n    return None\n",
    "wrong output": "import numpy as np\n"
                    "def encode(frames, quality):\n    return b'x'\n"
                    "def decode(data):\n    return np.zeros((1, 2, 2, 3), np.uint8)\n",
    "does not parse": "def encode(frames, quality)\n    return b''\n",
    "hangs": "def encode(frames, quality):\n    while True:\n        pass\n"
             "def decode(data):\n    return None\n",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="default")
    ap.add_argument("--smoke-timeout", type=float, default=10.0)
    args = ap.parse_args()
    suite = load_suite(args.suite)
    starter = builtin_program("starter")
    for clip in suite.train:   # baselines measured and cached
        clip_baselines(clip, ("jpeg", "x264"), DEFAULT_SEGMENT_FRAMES)
    t0 = time.perf_counter()
    full = evaluate_suite(starter, suite, limits=Limits(segment_timeout_s=1200.0))
    t_full = time.perf_counter() - t0
    assert full.ok, full.failure
    frames = sum(c.result.source["frames"] for c in full.clips)
    print(f"suite {suite.name}: {len(suite.train)} training clips, {frames} frames, "
          f"{len(full.qualities)} qualities")
    print(f"starter, full evaluation (smoke stage included): {t_full:7.2f} s "
          f"(smoke stage {full.timings['smoke']:.2f} s)")
    for name, program in FAILING.items():
        t0 = time.perf_counter()
        r = evaluate_suite(program, suite, smoke_timeout_s=args.smoke_timeout)
        took = time.perf_counter() - t0
        assert not r.ok and r.stage == "smoke", (name, r.status, r.stage)
        print(f"  {name:<16} failed at the smoke stage ({r.failure.kind:<9}) in "
              f"{took:6.2f} s = {took / t_full:.3f} of the starter's evaluation")
    print("(timings on a shared machine vary)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
