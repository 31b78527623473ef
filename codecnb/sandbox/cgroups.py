"""One control group per sandboxed process: memory, process count, freezing, CPU time, kill.

Everything a candidate starts (threads, children, ``setsid`` daemons) is born into its
group, so the limits hold for the whole tree and freezing or killing the group reaches every
process of it. Both cgroup versions are supported:

* **v2** (unified): ``memory.max`` and ``memory.swap.max`` (anonymous memory, tmpfs and
  memfd pages alike), ``pids.max``, ``cgroup.freeze``, ``cgroup.kill``, ``cpu.stat``;
* **v1**: the ``memory`` (``memory.limit_in_bytes``), ``pids``, ``freezer`` and ``cpuacct``
  hierarchies.

Groups are created below the evaluator's own group in each hierarchy (so limits set on the
evaluator still apply) under ``codecnb-<pid>-<random>/``, or below ``CODECNB_CGROUP_PARENT`` when set
(a delegated subtree for a user without root). A process joins its group before it executes
anything: the launcher writes ``0`` (itself) into each ``cgroup.procs`` and then executes the
jail. Stale folders of evaluators that died are removed on the next start.

References
----------
.. [1] Linux kernel documentation, "Control Group v2" and "cgroups v1" (memory, pids,
   freezer, cpuacct).
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from codecnb.errors import SandboxError

log = logging.getLogger(__name__)

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "freezer", "cpuacct")


@dataclass(frozen=True)
class Hierarchy:
    """Where groups are made: version and, per controller ("" for v2), the parent folder."""

    version: int
    folders: tuple[tuple[str, Path], ...]

    @property
    def parents(self) -> dict[str, Path]:
        return dict(self.folders)


def _own_path(controller: str) -> str | None:
    """This process's group path in the hierarchy of ``controller`` ("" means v2)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        num, ctrls, path = line.split(":", 2)
        if (controller == "" and num == "0") or controller in ctrls.split(","):
            return path
    return None


_TOKEN = secrets.token_hex(4)
_OWN = re.compile(r"codecnb-\d+-[0-9a-f]{8}")


def own_folder() -> str:
    """This evaluator's folder name: unique even across PID namespaces."""
    return f"codecnb-{os.getpid()}-{_TOKEN}"


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def detect(parent: str | None = None) -> Hierarchy | None:
    """The hierarchy to use, or None when this process cannot create groups.

    Parameters
    ----------
    parent : str, optional
        A delegated parent group: ``/a/b`` is the same path in every hierarchy, ``a/b``
        is relative to this process's own group in each; default: this process's own
        groups.
    """
    def base_of(mount: Path, own: str | None) -> Path:
        here = mount / (own or "/").lstrip("/")
        if not parent:
            return here
        return mount / parent.lstrip("/") if parent.startswith("/") else here / parent

    unified = ROOT / "cgroup.controllers"
    if unified.exists():
        base = base_of(ROOT, _own_path(""))
        if _writable(base):
            have = (base / "cgroup.controllers").read_text().split()
            if {"memory", "pids"} <= set(have):
                return Hierarchy(2, (("", base / own_folder()),))
        return None
    parents = {}
    for ctrl in V1_CONTROLLERS:
        mount = ROOT / ctrl
        if not (mount / "cgroup.procs").exists():
            return None
        base = base_of(mount, _own_path(ctrl))
        if not _writable(base):
            return None
        parents[ctrl] = base / own_folder()
    return Hierarchy(1, tuple(parents.items()))


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def sweep_stale(h: Hierarchy, min_age_s: float = 120.0, kill_age_s: float = 3600.0) -> int:
    """Remove groups left by evaluators that are gone. Returns how many were removed.

    A sandbox dies with its evaluator, whose janitor also removes its groups, so a group of
    a dead evaluator is normally empty: empty groups older than ``min_age_s`` are removed
    (other evaluators, possibly in other PID namespaces, may share the parent; the kernel
    refuses to remove a group that still has processes or children). A group older than
    ``kill_age_s``, longer than any evaluation may last, belongs to an evaluator whose
    janitor did not run (killed with it): if that evaluator (the pid in the folder's name)
    is gone, its processes, frozen ones included, are killed and its folders removed, in
    every hierarchy, as the janitor would have. A live evaluator's groups are never killed.
    """
    from codecnb.sandbox.janitor import clean
    removed, now = 0, time.time()
    mine = {p.name for p in h.parents.values()}
    for folder in {p.parent for p in h.parents.values()}:
        for stale in folder.glob("codecnb-*"):
            if stale.name in mine or not stale.is_dir() or not _OWN.fullmatch(stale.name):
                continue
            for group in [*[c for c in stale.iterdir() if c.is_dir()], stale]:
                try:
                    age = now - group.stat().st_ctime
                except OSError:
                    continue
                if age > kill_age_s and _procs(group) and not _owner_alive(stale):
                    clean([str(p.parent / stale.name) for p in h.parents.values()])
                    removed += 1
                    break
                if age > min_age_s and not _procs(group):
                    try:
                        group.rmdir()
                        removed += 1
                    except OSError:
                        pass
    return removed


def _owner_alive(folder: Path) -> bool:
    """Whether the evaluator named in ``codecnb-<pid>-<token>`` still runs: a process with
    that pid (in this PID namespace) that started before the folder was made."""
    pid = int(folder.name.split("-")[1])
    try:
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text()
                    .splitlines() if line.startswith("btime "))
        made = folder.stat().st_ctime
    except (OSError, ValueError, StopIteration):
        return False
    return boot + started / os.sysconf("SC_CLK_TCK") <= made + 2


def _rmdir(path: Path) -> int:
    for _ in range(200):
        try:
            path.rmdir()
            return 1
        except FileNotFoundError:
            return 0
        except OSError:  # EBUSY while the last processes exit
            time.sleep(0.005)
    log.warning("could not remove cgroup %s", path)
    return 0


def _procs(folder: Path) -> list[int]:
    try:
        return [int(x) for x in (folder / "cgroup.procs").read_text().split()]
    except OSError:
        return []


class Cgroup:
    """The group of one sandboxed process (one folder per controller on v1).

    Parameters
    ----------
    h : Hierarchy
    name : str
        Folder name, unique within this evaluator.
    memory_bytes : int
        Limit of all memory charged to the group (anonymous, page cache of its tmpfs,
        memfds), no swap.
    processes : int
        Limit of processes and threads in the group.
    """

    def __init__(self, h: Hierarchy, name: str, *, memory_bytes: int, processes: int):
        self.h = h
        self.dirs = {ctrl: parent / name for ctrl, parent in h.parents.items()}
        self.memory_bytes, self.processes = memory_bytes, processes
        try:
            for ctrl, d in self.dirs.items():
                d.parent.mkdir(exist_ok=True)  # again, if another evaluator swept it
                if h.version == 2:
                    self._enable_controllers(d.parent)
                d.mkdir()
            if h.version == 2:
                d = self.dirs[""]
                _write(d / "memory.max", str(memory_bytes))
                if (d / "memory.swap.max").exists():
                    _write(d / "memory.swap.max", "0")
                _write(d / "pids.max", str(processes))
            else:
                mem = self.dirs["memory"]
                _write(mem / "memory.limit_in_bytes", str(memory_bytes))
                if (mem / "memory.memsw.limit_in_bytes").exists():
                    _write(mem / "memory.memsw.limit_in_bytes", str(memory_bytes))
                _write(self.dirs["pids"] / "pids.max", str(processes))
        except OSError as exc:
            self.remove()
            raise SandboxError(f"cgroup {name}: could not be set up ({exc})") from None

    @staticmethod
    def _enable_controllers(parent: Path) -> None:
        control = parent / "cgroup.subtree_control"
        have = control.read_text().split()
        for ctrl in ("memory", "pids", "cpu"):
            if ctrl not in have:
                try:
                    _write(control, f"+{ctrl}")
                except OSError:
                    if ctrl != "cpu":
                        raise

    # -- joining and inspecting --------------------------------------------------------
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a launcher writes ``0`` into, to join the group."""
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def pids(self) -> list[int]:
        """Host pids of every process in the group."""
        return _procs(next(iter(self.dirs.values())))

    def member(self, pid: int) -> bool:
        """Whether ``pid`` is in this group in every hierarchy (read from /proc)."""
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return False
        paths = {}
        for line in lines:
            num, ctrls, path = line.split(":", 2)
            for c in ctrls.split(",") if num != "0" else [""]:
                paths[c] = path
        for ctrl, d in self.dirs.items():
            mount = ROOT if self.h.version == 2 else ROOT / ctrl
            if "/" + str(d.relative_to(mount)) != paths.get(ctrl):
                return False
        return True

    def limits(self) -> dict[str, int]:
        """The limits as the kernel reports them back."""
        if self.h.version == 2:
            d = self.dirs[""]
            return {"memory": int((d / "memory.max").read_text()),
                    "pids": int((d / "pids.max").read_text())}
        return {"memory": int((self.dirs["memory"] / "memory.limit_in_bytes").read_text()),
                "pids": int((self.dirs["pids"] / "pids.max").read_text())}

    def cpu_seconds(self) -> float:
        """CPU time used by every process of the group so far (user + system)."""
        if self.h.version == 2:
            for line in (self.dirs[""] / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec"):
                    return int(line.split()[1]) / 1e6
            return 0.0
        return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the group for its memory limit."""
        try:
            if self.h.version == 2:
                events = (self.dirs[""] / "memory.events").read_text().split()
                return int(events[events.index("oom_kill") + 1]) > 0
            oom = (self.dirs["memory"] / "memory.oom_control").read_text().split()
            if "oom_kill" in oom:
                return int(oom[oom.index("oom_kill") + 1]) > 0
            return int((self.dirs["memory"] / "memory.failcnt").read_text()) > 0
        except (OSError, ValueError):
            return False

    # -- freezing and killing -----------------------------------------------------------
    def freeze(self, timeout: float = 5.0) -> bool:
        """Stop every process of the group; True once the kernel says all are frozen."""
        return self._set_frozen(True, timeout)

    def thaw(self, timeout: float = 5.0) -> bool:
        return self._set_frozen(False, timeout)

    def _set_frozen(self, frozen: bool, timeout: float) -> bool:
        try:
            if self.h.version == 2:
                d = self.dirs[""]
                _write(d / "cgroup.freeze", "1" if frozen else "0")
                want, path = f"frozen {int(frozen)}", d / "cgroup.events"
            else:
                d = self.dirs["freezer"]
                _write(d / "freezer.state", "FROZEN" if frozen else "THAWED")
                want, path = ("FROZEN" if frozen else "THAWED"), d / "freezer.state"
        except FileNotFoundError:  # the group is gone (never made, or removed)
            return False
        deadline, delay = time.monotonic() + timeout, 0.0002
        while True:
            try:
                text = path.read_text()
            except OSError:
                return False
            if want in text:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.01)

    def kill(self) -> None:
        """SIGKILL every process of the group, including any forked meanwhile."""
        if self.h.version == 2:
            d = self.dirs[""]
            if (d / "cgroup.kill").exists():
                try:
                    _write(d / "cgroup.kill", "1")
                except FileNotFoundError:
                    pass
                return
        # v1 (or v2 before 5.14): freeze so nothing forks, kill all, thaw so they die
        self.freeze(timeout=1.0)
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.thaw(timeout=1.0)

    def remove(self, timeout: float = 5.0) -> None:
        """Kill what is left and remove the group's folders."""
        deadline = time.monotonic() + timeout
        for d in self.dirs.values():
            if not d.is_dir():
                continue
            while _procs(d) and time.monotonic() < deadline:
                self.kill()
                time.sleep(0.002)
            _rmdir(d)
