"""Wall-clock limits on a busy machine: time a candidate waited for a CPU is credited back,
sleeping is not, and the credit is capped (codecnb/sandbox/cpuwait.py).

The machine is made busy deterministically: this process and three busy-looping processes
are pinned to one CPU, and the sandboxed processes inherit the pinning, so a candidate gets
about a quarter of that CPU.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import pytest

from codecnb.evaluation import evaluate
from codecnb.sandbox.cpuwait import MAX_CREDIT, runqueue_wait
from codecnb.sandbox.limits import Limits
from codecnb.sandbox.policy import ImportPolicy

SOURCE = "synthetic:pan?size=64x48&frames=4"
LIMIT_S = 1.0
LIMITS = Limits(segment_timeout_s=LIMIT_S, evaluation_timeout_s=60, startup_timeout_s=60)
HOGS = 3

SPIN = """
import time
import numpy as np
def spin(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
def encode(frames, quality):
    {body}
    return b'x'
def decode(data):
    return np.zeros((4, 48, 64, 3), np.uint8)
"""


@contextlib.contextmanager
def one_busy_cpu():
    """Pin this process (and so the sandbox it starts) and HOGS busy loops to one CPU."""
    before = os.sched_getaffinity(0)
    cpu = min(before)
    os.sched_setaffinity(0, {cpu})
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(HOGS)]
    try:
        time.sleep(0.2)
        yield
    finally:
        for h in hogs:
            h.kill()
            h.wait()
        os.sched_setaffinity(0, before)


def _evaluate(body: str):
    return evaluate(SPIN.format(body=body), SOURCE, qualities=[50], segment_frames=4,
                    baselines=(), limits=LIMITS,
                    policy=ImportPolicy().widened("time", "threading"))


def test_runqueue_wait_counts_waiting_for_a_cpu_not_sleeping():
    with one_busy_cpu():
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            time.sleep(1.5)  # both have started; the sleeper sleeps
            busy0, sleeper0 = runqueue_wait([busy.pid]), runqueue_wait([sleeper.pid])
            time.sleep(1.0)
            assert runqueue_wait([busy.pid]) - busy0 > 0.4  # about 3/4 of the second
            assert runqueue_wait([sleeper.pid]) - sleeper0 < 0.05
        finally:
            for p in (busy, sleeper):
                p.kill()
                p.wait()
    assert runqueue_wait([2 ** 22 + 12345]) == 0.0  # no such process


@pytest.mark.slow
def test_a_candidate_slowed_by_other_work_is_not_timed_out():
    """0.7 s of CPU at a quarter of a CPU takes about 2.8 s of wall clock (1.4 s even at
    half a CPU, as a busy CI machine gave it once), past the 1 s limit; the time it waited
    for the CPU is credited back (up to 3 limits)."""
    with one_busy_cpu():
        res = _evaluate("spin(0.7)")
    assert res.ok, res.failure
    assert res.points[0].encode_s > LIMIT_S  # it really did take longer than the limit


@pytest.mark.slow
def test_sleeping_is_not_credited_and_self_inflicted_waiting_is_capped():
    with one_busy_cpu():
        t0 = time.monotonic()
        res = _evaluate("time.sleep(30)")
        slept = time.monotonic() - t0
        assert not res.ok and res.failure.kind == "timeout", res.failure
        t0 = time.monotonic()
        # eight spinning threads starve the main thread, which spins for ever
        res = _evaluate("import threading\n    [threading.Thread(target=spin, args=(1e9,), "
                        "daemon=True).start() for _ in range(8)]\n    spin(1e9)")
        starved = time.monotonic() - t0
    assert not res.ok and res.failure.kind == "timeout", res.failure
    assert slept < 20, slept  # stopped at the limit (plus start-up), not after the sleep
    # the call lasts at most (1 + MAX_CREDIT) limits, plus start-up on a quarter CPU
    assert starved < (1 + MAX_CREDIT) * LIMIT_S + 20, starved
