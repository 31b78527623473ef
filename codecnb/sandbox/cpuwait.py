"""Wall-clock limits that a busy machine does not eat: time a candidate spent waiting for a
CPU is credited back to its deadline, within a cap.

A call's limit is in wall-clock seconds, but on a machine busy with other work a candidate
that needs 2 s of CPU may take 20 s of wall clock, waiting its turn on a run queue. The
kernel counts that waiting per thread (``/proc/PID/task/TID/schedstat``, second field:
nanoseconds spent runnable but not running). When a deadline passes, the evaluator adds the
run-queue wait the candidate's threads gathered during the call, and keeps waiting.

Sleeping (``time.sleep``, a blocked read) is not run-queue wait: a program that hangs that
way still times out on time. A program could starve its own main thread with its own
threads, or spin helper threads beside a sleeping one, to gather wait; the credit is therefore capped at :data:`MAX_CREDIT` times the
call's own limit, so no call lasts longer than ``1 + MAX_CREDIT`` times its limit. Credits
also draw on a :class:`CreditBudget` shared by every process of an evaluation (and one of its
start-up), so a program that overruns every call cannot add up credits without bound: the
whole evaluation (its start-up) lasts at most ``1 + MAX_CREDIT`` times its own limit too.

References
----------
.. [1] Linux, ``Documentation/scheduler/sched-stats.rst``: ``/proc/<pid>/schedstat``.
"""
from __future__ import annotations

import math
import os
import time
from typing import Callable, Iterable

#: The most a call's deadline may grow, as a multiple of the call's own limit.
MAX_CREDIT = 3.0
#: Credits smaller than this (seconds) are not worth another wait.
_MIN_STEP = 0.02


def runqueue_wait(pids: Iterable[int]) -> float:
    """Seconds the longest-waiting thread of ``pids`` has spent runnable but not running.

    Parameters
    ----------
    pids : iterable of int
        Host process ids; every thread of each is read. Processes that are gone count 0.

    Returns
    -------
    float
        The largest per-thread run-queue wait, in seconds (0.0 when none can be read).
    """
    most = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as f:
                    most = max(most, int(f.read().split()[1]))
            except (OSError, IndexError, ValueError):
                continue
    return most / 1e9


class CreditBudget:
    """Seconds of credit left to a whole stage (every call of every process in it).

    Parameters
    ----------
    seconds : float
        The most all credits together may add (``MAX_CREDIT`` times the stage's limit).
    within : CreditBudget, optional
        A larger budget this one is part of (start-up within the evaluation): a credit
        draws on both.

    Attributes
    ----------
    spent : float
        Seconds credited so far (the evaluator adds them to the whole evaluation's deadline).
    """

    def __init__(self, seconds: float = math.inf, within: "CreditBudget | None" = None):
        self.seconds, self.within, self.spent = max(0.0, seconds), within, 0.0

    def available(self) -> float:
        return min(self.seconds - self.spent,
                   self.within.available() if self.within else math.inf)

    def spend(self, seconds: float) -> None:
        self.spent += seconds
        if self.within is not None:
            self.within.spend(seconds)


class WaitCredit:
    """The run-queue wait credited to one process's calls.

    Parameters
    ----------
    pids : callable returning iterable of int
        The processes whose threads do the candidate's work (read at each look).
    budget : CreditBudget, optional
        What every call's credit draws on (the evaluation's; unbounded if not given).
    """

    def __init__(self, pids: Callable[[], Iterable[int]], budget: CreditBudget | None = None):
        self._pids = pids
        self.budget = budget or CreditBudget()
        self._start = self._cap = self._given = 0.0

    @property
    def given(self) -> float:
        """Seconds added to the current call's deadline so far."""
        return self._given

    def begin(self, deadline: float) -> None:
        """A call starts, with ``deadline`` (``time.monotonic`` seconds)."""
        self._start = runqueue_wait(self._pids())
        self._cap = MAX_CREDIT * max(0.0, deadline - time.monotonic())
        self._given = 0.0

    def claim(self) -> float:
        """Seconds to add to the current call's deadline now that it has passed (0.0: the
        call has timed out)."""
        waited = min(runqueue_wait(self._pids()) - self._start, self._cap)
        step = min(waited - self._given, self.budget.available())
        if step < _MIN_STEP:
            return 0.0
        self.budget.spend(step)
        self._given += step
        return step
