"""Which isolation layers this machine can give a candidate, decided once per process.

The full sandbox needs bubblewrap with user namespaces, libseccomp and a writable cgroup
hierarchy (v1 or v2). Where any of them is missing, candidates are refused with one line
saying what is missing, unless the user accepts a weaker sandbox explicitly
(``--weak-sandbox`` / ``CODECNB_WEAK_SANDBOX=1``); every result then says ``weak`` and
lists only the layers that were verified.
"""
from __future__ import annotations

import atexit
import functools
import logging
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from codecnb.errors import SandboxError
from codecnb.sandbox import cgroups, seccomp
from codecnb.sandbox.jail import tools
from codecnb.sandbox.runtime import Farms, Runtime, build, warm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxPlan:
    """The layers a candidate process gets here.

    Attributes
    ----------
    jail : bool
        bubblewrap with user namespaces works: the candidate runs in its jail.
    seccomp : bool
        The system-call filter is loaded.
    cgroups : cgroups.Hierarchy or None
        Where each process's group is made (None: no cgroups).
    runtime : Runtime or None
        The jail's read-only allowlist.
    farms : Farms or None
        Each jail's private copies of the allowlist's folders.
    audit : bool
        The Python audit hook and import guard are installed (defence in depth; switched
        off only by tests of the OS layers).
    missing : tuple of str
        Layers that could not be had here, each with the reason; empty for the full
        sandbox.
    """

    jail: bool
    seccomp: bool
    cgroups: cgroups.Hierarchy | None
    runtime: Runtime | None = field(default=None, compare=False, repr=False)
    audit: bool = True
    missing: tuple[str, ...] = ()
    farms: Farms | None = field(default=None, compare=False, repr=False)

    @property
    def weak(self) -> bool:
        return bool(self.missing)


def default_runtime_dir() -> str:
    """Where mirrored runtimes go: a system folder for root (the sandbox's unprivileged
    user must reach it; root's home is closed), else the user's cache folder."""
    from codecnb import config
    explicit = config.resolve("runtime_dir")
    if explicit:
        return explicit
    if os.geteuid() == 0:
        return "/var/cache/codecnb/runtime"
    return str(Path(config.resolve("cache_dir")) / "runtime")


def _userns_works() -> str | None:
    """None when bwrap can start a process in new namespaces, else the reason."""
    cmd = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns",
           "--ro-bind", "/", "/", "--proc", "/proc", "true"]
    if os.geteuid() == 0:
        from codecnb.sandbox.jail import UID_BASE
        cmd = ["setpriv", f"--reuid={UID_BASE}", f"--regid={UID_BASE}", "--clear-groups",
               *cmd]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap did not run ({exc})"
    if res.returncode != 0:
        return ("unprivileged user namespaces are not available to bwrap ("
                + (res.stderr.strip().splitlines() or ["no message"])[-1] + ")")
    return None


_PLAN_LOCK = threading.Lock()


def plan(allow_weak: bool = False, audit: bool = True) -> SandboxPlan:
    """Find out once which layers work here.

    Parameters
    ----------
    allow_weak : bool
        Accept a sandbox with layers missing (else :class:`SandboxError`).
    audit : bool
        Install the Python-level guards.

    Raises
    ------
    SandboxError
        A layer is missing and ``allow_weak`` is false: the message names every missing
        layer and how to get it.
    """
    with _PLAN_LOCK:  # once per process, whichever thread asks first
        return _plan(allow_weak, audit)


@functools.lru_cache(maxsize=None)
def _plan(allow_weak: bool, audit: bool) -> SandboxPlan:
    from codecnb import config
    missing: list[str] = []
    have = tools()
    if not have["bwrap"]:
        missing.append("jail: bubblewrap (bwrap) is not installed (Debian package "
                       "bubblewrap; `python3 dev.py` installs it)")
    elif os.geteuid() == 0 and not have["setpriv"]:
        missing.append("unprivileged uid: setpriv (util-linux) is not installed")
    else:
        reason = _userns_works()
        if reason:
            missing.append(f"jail: {reason}")
    filt = seccomp.available()
    if not filt:
        missing.append("seccomp: libseccomp or its bindings (pyseccomp) are missing")
    hierarchy = cgroups.detect(config.resolve("cgroup_parent"))
    if hierarchy is None:
        missing.append("cgroups: no writable cgroup v1 or v2 hierarchy (run as root, or "
                       "set CODECNB_CGROUP_PARENT to a delegated group)")
    else:
        cgroups.sweep_stale(hierarchy,  # no evaluation outlives twice its timeout
                            kill_age_s=max(3600.0, 2 * float(config.resolve("timeout_s"))))
    if missing and not allow_weak:
        raise SandboxError("the sandbox cannot be built here: " + "; ".join(missing)
                           + ". Pass --weak-sandbox (CODECNB_WEAK_SANDBOX=1) to accept a "
                           "weaker sandbox")
    jail = not any(m.startswith(("jail", "unprivileged")) for m in missing)
    if not jail:  # orphans of candidates then come back to this process to be reaped
        from codecnb.sandbox.reaper import enable_subreaper
        enable_subreaper()
    runtime = build(default_runtime_dir()) if jail else None
    farms = None
    if runtime is not None:
        threading.Thread(target=warm, args=(runtime,), daemon=True,
                         name="codecnb-warm-runtime").start()
        farms = Farms(runtime, Path(default_runtime_dir()) / "farms" / cgroups.own_folder())
    _start_janitor(hierarchy, farms)
    for m in missing:
        log.warning("weaker sandbox: %s", m)
    return SandboxPlan(jail, jail and filt, hierarchy if jail else None, runtime, audit,
                       tuple(missing), farms)


#: The janitor of this process's sandboxes (codecnb.sandbox.janitor); its standard input
#: closes when this process ends, however it ends.
_JANITORS: list[subprocess.Popen] = []


def _start_janitor(h: cgroups.Hierarchy | None, farms: Farms | None) -> None:
    """Start the process that removes this evaluator's groups and folder copies when it
    ends (and remove them at a normal exit, too)."""
    args = [str(p) for p in h.parents.values()] if h else []
    if farms is not None:
        args += ["--tree", str(farms.folder)]
    if not args:
        return
    _JANITORS.append(subprocess.Popen(
        [sys.executable, "-I", "-S", str(Path(__file__).with_name("janitor.py")), *args],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd="/", start_new_session=True))
    atexit.register(_remove_own, h, farms)


def _remove_own(h: cgroups.Hierarchy | None, farms: Farms | None) -> None:
    for parent in (h.parents.values() if h else ()):
        try:
            parent.rmdir()
        except OSError:
            pass
    if farms is not None:
        farms.closed = True
        shutil.rmtree(farms.folder, ignore_errors=True)
