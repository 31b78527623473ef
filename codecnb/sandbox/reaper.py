"""Making sure every process a candidate started is gone.

With a PID namespace, killing its init kills everything inside (the primary layer). Without
one, the evaluator becomes a child subreaper, so orphans (double forks, ``setsid``) are
re-parented to it instead of init, and :func:`kill_tree` kills the candidate's process group,
every descendant found in /proc, and every orphan carrying the sandbox's marker.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)
_PR_SET_CHILD_SUBREAPER = 36


def enable_subreaper() -> bool:
    """Make this process adopt orphaned descendants (Linux prctl). True on success."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, pgid) of a process, or None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()
    return int(fields[1]), int(fields[2])


def _has_marker(pid: int, marker: bytes) -> bool:
    try:
        return marker in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def descendants(root: int) -> set[int]:
    """PIDs of every live descendant of ``root``."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        st = _stat(pid)
        if st:
            children.setdefault(st[0], []).append(pid)
    out, todo = set(), [root]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def kill_tree(root: int, pgid: int, marker: bytes) -> int:
    """SIGKILL the process group ``pgid``, all descendants of ``root`` and every process
    whose environment holds ``marker``. Returns how many processes were signalled."""
    victims = descendants(root) | {root}
    victims |= {p for p in _all_pids() if p != os.getpid() and _has_marker(p, marker)}
    victims |= {p for p in _all_pids() if (_stat(p) or (0, 0))[1] == pgid}
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    _reap(victims, skip=root)  # the root is the caller's Popen child: Popen reaps it
    return len(victims)


def _reap(pids: set[int], skip: int, timeout: float = 2.0) -> None:
    """Wait for killed processes that are (or become) children of this subreaper, so that
    none is left as a zombie. Processes re-parented elsewhere are not ours to wait for."""
    me, deadline = os.getpid(), time.monotonic() + timeout
    pending = set(pids) - {skip}
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            st = _stat(pid)
            if st is None:
                pending.discard(pid)
            elif st[0] == me:
                try:
                    if os.waitpid(pid, os.WNOHANG)[0]:
                        pending.discard(pid)
                except ChildProcessError:
                    pending.discard(pid)
            elif st[0] not in pids:
                pending.discard(pid)  # its parent is alive and not ours: it reaps it
        if pending:
            time.sleep(0.005)
