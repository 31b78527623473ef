"""A fanned-out iteration's worker slot.

An iteration is one Dask task (:func:`codecnb.campaign.iteration.run_task`) whose notebook
runs in a kernel, a child process of its worker. When its full stage is fanned out
(:mod:`codecnb.evaluation.fanout`), the tasks it submits need worker slots, its own
included (a local worker has one thread), so the iteration gives its slot up while they
run, and only then: the notebook's start and the smoke stage run while the slot is held
(a worker runs one candidate process at a time), the figures and logging after the slot is
taken back.

The two sides talk through three Dask events named after the iteration:

- the task (:func:`hold`) runs the notebook in this worker's iteration thread and waits;
  on ``release`` it secedes from the worker's thread pool (``distributed.secede``), on
  ``reclaim`` it rejoins (``distributed.rejoin``, which waits for a free slot) and sets
  ``held``;
- the kernel (:func:`released`) sets ``release`` before the fan-out, ``reclaim`` after
  it, and waits for ``held``.

The notebook runs in a thread of its own (:data:`ITERATION_THREADS` per worker process,
kept for the process's life), so the warm kernels of :mod:`codecnb.notebook.engine`, kept
per thread, stay warm although the task's thread leaves the pool.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Notebook threads of one worker process: iterations that may run on it at once (one holds
#: the slot; the others have given it up while their tasks run).
ITERATION_THREADS = 4
#: Seconds between looks at the notebook while waiting for an event.
POLL_S = 0.5
#: Seconds the kernel waits for its task to take its slot back before it goes on without.
RECLAIM_TIMEOUT_S = 600.0

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def new_name(run_id: str = "") -> str:
    """A unique name for one iteration's events."""
    return f"codecnb-slot-{run_id or 'x'}-{uuid.uuid4().hex[:12]}"


def _threads() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(ITERATION_THREADS, thread_name_prefix="codecnb-iteration")
        return _pool


def _events(client, name: str) -> dict:
    from distributed import Event
    return {k: Event(f"{name}-{k}", client=client) for k in ("release", "reclaim", "held")}


def hold(name: str, work: Callable[[], T]) -> T:
    """Run ``work`` (the notebook) in this worker's iteration thread, from a Dask task,
    giving the task's slot up and taking it back when the kernel says so (see the module).

    Parameters
    ----------
    name : str
        The iteration's event name (:func:`new_name`), passed on to the kernel.
    work : callable
        What to run; its result is returned, its exception raised.
    """
    from distributed import get_client, rejoin, secede
    events = _events(get_client(), name)
    fut: Future = _threads().submit(work)
    seceded = False
    try:
        while not fut.done():
            if not seceded and events["release"].wait(timeout=POLL_S):
                events["release"].clear()
                secede()
                seceded = True
                log.debug("%s: slot given up", name)
            elif seceded and events["reclaim"].wait(timeout=POLL_S):
                events["reclaim"].clear()
                rejoin()
                seceded = False
                events["held"].set()
                log.debug("%s: slot taken back", name)
        return fut.result()
    finally:
        for e in events.values():
            with contextlib.suppress(Exception):
                e.clear()


@contextlib.contextmanager
def released(client, name: str) -> Iterator[None]:
    """In the kernel: the iteration's task gives its worker slot up for the duration of
    the ``with`` block, and has it back (or :data:`RECLAIM_TIMEOUT_S` passed) after it.
    Nothing happens when ``name`` is empty (a notebook run by hand)."""
    if not name:
        yield
        return
    events = _events(client, name)
    events["release"].set()
    try:
        yield
    finally:
        events["reclaim"].set()
        if not events["held"].wait(timeout=RECLAIM_TIMEOUT_S):
            log.warning("%s: the iteration's task did not take its slot back within %g s",
                        name, RECLAIM_TIMEOUT_S)


_clients: dict[str, object] = {}


def client_for(address: str):
    """A ``distributed.Client`` to the campaign's scheduler, one per kernel (kept across
    the warm kernel's iterations; a new one when it was closed)."""
    from distributed import Client
    c = _clients.get(address)
    if c is None or c.status not in ("running", "connecting"):
        c = Client(address, timeout="30s", set_as_default=False)
        _clients[address] = c
    return c
