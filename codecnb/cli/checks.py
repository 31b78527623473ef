"""The checks every command's arguments pass before any work, one declared check a name.

:data:`CHECKS` maps an argument name (the ``dest`` of a flag, or a setting resolved from
its flag or ``CODECNB_*`` variable) to a check that raises :class:`CodecnbError` with one
line. :func:`check_args` runs the check of every name a command has, before its ``run``:
so nothing (a store, a folder, a lock, a run) is created for input that cannot work. A
flag added later plugs in with one entry here (or through :func:`declare`).

Range checks of single numbers live in the flag's argparse ``type`` (``config.cli_type``);
these are the checks that look at the machine: paths, servers, cores and memory.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Callable

from codecnb import config
from codecnb.errors import CodecnbError

Check = Callable[[argparse.Namespace], None]


def _tracking_uri(args: argparse.Namespace) -> None:
    from codecnb.tracking.store import check_tracking_uri, tracking_uri
    check_tracking_uri(tracking_uri(args.tracking_uri))


def _output(args: argparse.Namespace) -> None:
    path = Path(args.output)
    if path.is_dir():
        raise CodecnbError(f"--output {args.output}: is a folder (give a file name)")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise CodecnbError(f"--output {args.output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CodecnbError(f"--output {args.output}: folder {parent} is not writable")


def _cache_dir(args: argparse.Namespace) -> None:
    value = config.resolve("cache_dir", args.cache_dir)
    where = "--cache-dir" if args.cache_dir else config.SETTINGS["cache_dir"].env
    path = Path(value)
    found = next((p for p in (path, *path.parents) if p.exists()), None)
    if found is not None and not found.is_dir():
        raise CodecnbError(f"{where} {value}: {found} is a file, not a folder")


#: Workers per core above which ``--workers`` is refused: each worker runs one candidate
#: (its own processes, up to --memory-gb each), so more only time-share the cores.
WORKERS_PER_CORE = 4


def _workers(args: argparse.Namespace) -> None:
    if args.workers is None:
        return
    cores = os.cpu_count() or 1
    if args.workers > WORKERS_PER_CORE * cores:
        raise CodecnbError(f"--workers {args.workers}: more than {WORKERS_PER_CORE} per core "
                           f"({cores} cores here)")
    memory = memory_bytes()
    per = config.resolve("memory_gb", getattr(args, "memory_gb", None)) * (1 << 30)
    if memory and args.workers * per > 2 * memory:
        raise CodecnbError(f"--workers {args.workers}: {args.workers} x {per / (1 << 30):g} GiB "
                           f"(--memory-gb) is over twice this machine's "
                           f"{memory / (1 << 30):.0f} GiB")


def memory_bytes() -> int:
    """This machine's physical memory in bytes (0 when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def _memory_gb(args: argparse.Namespace) -> None:
    if args.memory_gb is None:
        return
    memory = memory_bytes()
    if memory and args.memory_gb * (1 << 30) > memory:
        raise CodecnbError(f"--memory-gb {args.memory_gb:g}: more than this machine's "
                           f"{memory / (1 << 30):.0f} GiB")


#: Seconds to wait for a Dask scheduler to accept a connection.
SCHEDULER_TIMEOUT_S = 3.0


def _scheduler(args: argparse.Namespace) -> None:
    if not args.scheduler:
        return
    import socket
    from urllib.parse import urlsplit
    parts = urlsplit(args.scheduler if "://" in args.scheduler else f"tcp://{args.scheduler}")
    try:
        host, port = parts.hostname, parts.port or 8786
    except ValueError:
        raise CodecnbError(f"--scheduler {args.scheduler}: bad port") from None
    if parts.scheme not in ("tcp", "tls") or not host:
        raise CodecnbError(f"--scheduler {args.scheduler}: expected tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=SCHEDULER_TIMEOUT_S).close()
    except OSError as exc:
        raise CodecnbError(f"--scheduler {args.scheduler}: unreachable "
                           f"({exc.strerror or type(exc).__name__}, "
                           f"{SCHEDULER_TIMEOUT_S:g} s timeout)") from None


CHECKS: dict[str, Check] = {
    "scheduler": _scheduler,
    "tracking_uri": _tracking_uri,
    "output": _output,
    "cache_dir": _cache_dir,
    "workers": _workers,
    "memory_gb": _memory_gb,
}


def declare(name: str, check: Check) -> None:
    """Add the check of argument ``name`` (a command's module may call this)."""
    CHECKS[name] = check


def check_args(args: argparse.Namespace) -> None:
    """Run the check of every argument ``args`` has, in :data:`CHECKS` order."""
    for name, check in CHECKS.items():
        if hasattr(args, name):
            check(args)
