"""Where iterations run: a Dask LocalCluster (processes, one thread each) or an existing
cluster given by its scheduler address. Workers never receive any provider's key
(:data:`codecnb.generators.providers.SECRETS`)."""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

from codecnb.errors import CodecnbError
from codecnb.generators.providers import SECRETS
from codecnb.notebook.engine import shutdown_all

log = logging.getLogger(__name__)
#: Threads of a local worker: one iteration at a time, one thread of work.
THREADS_PER_WORKER = 1
# SECRETS: every provider's variables, which must not reach workers (nor their notebooks).


@contextlib.contextmanager
def scrubbed_environment() -> Iterator[None]:
    """Remove secrets from this process's environment while workers are started and run
    (worker processes inherit it); restore them afterwards."""
    saved = {k: os.environ.pop(k) for k in SECRETS if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None = None) -> Iterator[object]:
    """A ``distributed.Client``: to ``scheduler`` (tcp://host:8786) or to a new local
    cluster of ``workers`` processes with one thread each, bound to 127.0.0.1, whose metric
    passes keep to that thread (``CODECNB_THREADS=1`` unless set)."""
    from distributed import Client, LocalCluster
    if logging.getLogger().level > logging.DEBUG:  # dask configures its loggers at INFO
        for name in ("distributed", "distributed.scheduler", "distributed.nanny",
                     "distributed.worker", "distributed.core"):
            logging.getLogger(name).setLevel(logging.WARNING)
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise CodecnbError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    # A worker is one thread of work (threads_per_worker=1): its metric pass keeps to it,
    # and parallelism comes from workers (unless the user set CODECNB_THREADS).
    threads = os.environ.get("CODECNB_THREADS") or str(THREADS_PER_WORKER)
    with scrubbed_environment():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=THREADS_PER_WORKER,
                               processes=True, host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.ERROR, env={"CODECNB_THREADS": threads})
        client = Client(cluster)
        try:
            yield client
        finally:
            try:  # warm notebook kernels end cleanly first, so workers exit in time
                client.run(shutdown_all)
            except Exception as exc:  # noqa: BLE001 - a worker already gone
                log.debug("kernel shutdown on workers: %s", exc)
            client.close()
            cluster.close()


#: Dask worker resource of an iteration: one per worker, so that two iterations never share
#: a worker process (papermill sets the process's working folder while a notebook runs).
ITERATION_RESOURCE = "codecnb-iteration"


async def _one_iteration(dask_worker) -> None:
    await dask_worker.set_resources(**{ITERATION_RESOURCE: 1})


def one_iteration_per_worker(client) -> dict:
    """Give every worker of ``client``'s cluster one :data:`ITERATION_RESOURCE`; iterations
    submitted with ``resources={ITERATION_RESOURCE: 1}`` then run one per worker process
    even when a fanned-out one has given its thread up (workers joining later get none, and
    run only fanned-out tasks). Returns worker address -> None."""
    return client.run(_one_iteration)

