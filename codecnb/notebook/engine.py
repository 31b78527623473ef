"""A papermill engine that keeps one warm kernel per worker thread.

papermill's default engine starts a new kernel for every notebook and shuts it down after:
start-up and the imports of MLflow, matplotlib and codecnb cost seconds per campaign
iteration. This engine (``codecnb-warm``) executes each notebook on a kernel kept from the
previous execution in the same thread. Before the notebook's first cell, the kernel's
namespace is cleared (``%reset -f``), its execution counter reset and its working folder
set to papermill's, so nothing but imported modules carries over. A kernel is replaced after :data:`MAX_USES`
executions, when an execution raised (a dead kernel, a timeout), or when it died.

Kernels exit with their parent process (ipykernel polls its parent) and are shut down at
interpreter exit.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading

from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

log = logging.getLogger(__name__)

ENGINE = "codecnb-warm"
#: Executions per kernel before it is replaced (bounds what a kernel can accumulate).
MAX_USES = 25

_kernels: dict[tuple[int, str], list] = {}   # (thread id, kernel name) -> [manager, uses]
_lock = threading.Lock()


class _ResettingClient(PapermillNotebookClient):
    """Clears the kernel's namespace and sets its working folder before the cells run."""

    def papermill_execute_cells(self):
        # chdir first: the previous folder may be gone, and %reset needs a working folder
        code = (f"__import__('os').chdir({os.getcwd()!r})\n"
                "get_ipython().run_line_magic('reset', '-f')\n"
                "get_ipython().execution_count = 1")
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not reset the warm kernel: {reply}")
        super().papermill_execute_cells()


class WarmKernelEngine(NBClientEngine):
    """papermill's nbclient engine, with the kernel kept between executions."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None,
                                 **kwargs):
        key = (threading.get_ident(), kernel_name)
        with _lock:
            entry = _kernels.pop(key, None)
        if entry is not None and not run_sync(entry[0].is_alive)():
            entry = None
        if entry is None:
            from jupyter_client.manager import AsyncKernelManager
            entry = [AsyncKernelManager(kernel_name=kernel_name), 0]
        client = _ResettingClient(nb_man, km=entry[0], kernel_name=kernel_name,
                                  timeout=execution_timeout, startup_timeout=start_timeout,
                                  log=log, log_output=log_output, stdout_file=stdout_file,
                                  stderr_file=stderr_file)
        keep = False
        try:
            nb = client.execute()
            keep = True
            return nb
        finally:
            if client.kc is not None:
                client.kc.stop_channels()
            entry[1] += 1
            if keep and entry[1] < MAX_USES:
                with _lock:
                    _kernels[key] = entry
            else:
                _shutdown(entry[0])


def _shutdown(km) -> None:
    try:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    except Exception as exc:  # noqa: BLE001 - already dead, or the loop is gone at exit
        log.debug("warm kernel shutdown: %s", exc)


@atexit.register
def shutdown_all() -> None:
    """Shut down every warm kernel of this process."""
    with _lock:
        entries = list(_kernels.values())
        _kernels.clear()
    for km, _ in entries:
        _shutdown(km)


papermill_engines.register(ENGINE, WarmKernelEngine)
