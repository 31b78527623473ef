"""Which isolation layers hold, checked at run time: a result names only what was verified.

Two kinds of check:

* :func:`probe_layers` (once per process and sandbox plan): the isolation probe
  (:mod:`codecnb.sandbox.jailprobe`) runs in exactly the jail a candidate gets and tries every
  forbidden act: host paths, ``/proc/sys`` and ``sysrq-trigger`` writes, sockets, keyrings,
  namespaces, mounts, ``ptrace``, ``bpf``, ``perf_event_open``, ``userfaultfd``,
  ``io_uring``, writes to the root and to the input mapping, threads past the process limit,
  a memfd past the memory limit, a file outside the allowlist under the audit hook. From
  outside, the evaluator reads the probe's host uid, capabilities, ``no_new_privs``, seccomp
  mode, namespaces, environment and cgroup, and freezes its group. A layer is listed only if
  every check of it saw the act refused.
* :func:`check_process` (every candidate process, once it has loaded the program): the same
  outside view of that process (uid, capabilities, ``no_new_privs``, seccomp, namespaces,
  cgroup membership and limits, rlimits). A failed check is a :class:`SandboxError`: the
  evaluation stops rather than report a layer that did not hold.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import select
import signal
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codecnb.errors import CandidateFailed, SandboxError
from codecnb.sandbox.failures import Failure
from codecnb.sandbox import seccomp
from codecnb.sandbox.cgroups import Cgroup
from codecnb.sandbox.isolation import SandboxPlan
from codecnb.sandbox.jail import (ENV_ALLOWLIST_VALUES, PROC_MASKED_FILES, WORKDIR, JailSpec,
                                  next_host_id)
from codecnb.sandbox.limits import Limits
from codecnb.sandbox.runtime import PROBE, PROBE_PATH

log = logging.getLogger(__name__)

_serial = itertools.count()
NAMESPACES = ("user", "pid", "net", "ipc", "uts", "mnt", "cgroup")
#: The refusals the seccomp filter must produce (probe's name -> errno).
SECCOMP_REFUSALS = ("add_key", "keyctl", "unshare_user", "unshare_net", "mount", "ptrace",
                    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
                    "process_vm_readv", "setns", "init_module", "reboot", "sysinfo",
                    "process_madvise", "memfd_secret", "statmount", "listmount",
                    "quotactl_fd")
_RLIMITS = {"Max address space": "RLIMIT_AS", "Max cpu time": "RLIMIT_CPU",
            "Max file size": "RLIMIT_FSIZE", "Max open files": "RLIMIT_NOFILE",
            "Max core file size": "RLIMIT_CORE", "Max processes": "RLIMIT_NPROC"}


def _status(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def _namespaces(pid: int | str) -> dict[str, str]:
    return {ns: os.readlink(f"/proc/{pid}/ns/{ns}") for ns in NAMESPACES
            if os.path.exists(f"/proc/{pid}/ns/{ns}")}


def outside_view(pid: int, cgroup: Cgroup | None) -> set[str]:
    """Layers that hold for process ``pid``, as seen from the evaluator."""
    ok: set[str] = set()
    st = _status(pid)
    if all(u != "0" for u in st["Uid"].split()) and all(g != "0" for g in st["Gid"].split()):
        ok.add("unprivileged-host-uid")
    if all(int(st[k], 16) == 0 for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
           if k in st):
        ok.add("no-capabilities")
    if st.get("NoNewPrivs") == "1":
        ok.add("no-new-privs")
    if st.get("Seccomp") == "2":
        ok.add("seccomp")
    mine, theirs = _namespaces("self"), _namespaces(pid)
    ok |= {f"{ns}-namespace".replace("mnt-", "mount-") for ns in NAMESPACES
           if ns in mine and ns in theirs and mine[ns] != theirs[ns]}
    if cgroup is not None and cgroup.member(pid):
        ok.add("cgroup-member")
    return ok


_PF_EXITING = 0x4  # include/linux/sched.h: set when the process begins do_exit()


def _exiting(pid: int) -> bool:
    """Whether ``pid`` is gone, a zombie, or already in ``do_exit()``: an exiting
    process leaves its cgroup before it becomes a zombie, so its layers must not be read
    as lost (the program ended itself while loading)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return True
    return fields[0] in "ZXx" or bool(int(fields[6]) & _PF_EXITING)


def _candidate_pid(proc_pid: int, cgroup: Cgroup | None, jailed: bool) -> int | None:
    """Host pid of the Python process the evaluator started: in a jail, the process that
    is pid 2 of the jail's PID namespace (bubblewrap's init is pid 1), which the program can
    neither rename nor hand over; without a jail, the started process itself. None once
    it has exited."""
    if not jailed:
        return proc_pid if Path(f"/proc/{proc_pid}").exists() else None
    from codecnb.sandbox.reaper import descendants
    for pid in (cgroup.pids() if cgroup is not None else sorted(descendants(proc_pid))):
        try:
            nspid = _status(pid).get("NSpid", "").split()
        except OSError:
            continue
        if len(nspid) >= 2 and nspid[-1] == "2":
            return pid
    return None


def check_process(proc_pid: int, cgroup: Cgroup | None, plan: SandboxPlan,
                  limits: Limits, rlimits: dict[str, int]) -> list[str]:
    """Verify the layers of a running candidate process; the names that hold.

    Raises
    ------
    SandboxError
        A layer the probe verified does not hold for this process.
    CandidateFailed
        The process is gone (the program ended it while loading): the candidate's crash.
    """
    gone = CandidateFailed(Failure("crash", "the program's process ended while loading",
                                   stage="load"))
    pid = _candidate_pid(proc_pid, cgroup, plan.jail)
    if pid is None:
        raise gone
    try:
        if _status(pid).get("State", "Z")[:1] in "ZX":
            raise gone
        held = outside_view(pid, cgroup)
        rlimits_hold = _rlimits_hold(pid, rlimits)
    except OSError:
        raise gone from None
    expected = set(probe_layers(plan)) & {
        "unprivileged-host-uid", "no-capabilities", "no-new-privs", "seccomp",
        *(f"{ns}-namespace".replace("mnt-", "mount-") for ns in NAMESPACES)}
    if cgroup is not None:
        expected.add("cgroup-member")
        got = cgroup.limits()
        if got != {"memory": limits.memory_bytes, "pids": limits.processes}:
            raise SandboxError(f"cgroup limits read back as {got}")
    lost = expected - held
    if lost and not _exiting(pid):
        raise SandboxError(f"sandbox layers did not hold for a candidate process: "
                           f"{', '.join(sorted(lost))}")
    if lost:
        raise gone
    if rlimits_hold:
        held.add("rlimits")
    held.discard("cgroup-member")
    return sorted(held)


def _rlimits_hold(pid: int, want: dict[str, int]) -> bool:
    got = {}
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]:
        for label, name in _RLIMITS.items():
            if line.startswith(label):
                soft, hard = line[len(label):].split()[:2]
                got[name] = (soft, hard)
    return all(got.get(name) == (str(v), str(v)) for name, v in want.items())


class _Probe:
    """One run of the isolation probe in a jail (or, without one, a plain process)."""

    def __init__(self, plan: SandboxPlan, mode: str, limits: Limits, *, memory: int,
                 processes: int, pass_fds: tuple[int, ...] = ()):
        self.cgroup = (Cgroup(plan.cgroups, f"probe-{mode}-{next(_serial)}", memory_bytes=memory,
                              processes=processes) if plan.cgroups else None)
        filt = seccomp.program_fd() if plan.seccomp else None
        opts = None
        try:
            if plan.jail:  # our own code: it needs no private copy of the folders
                spec = JailSpec(plan.runtime, limits.file_bytes, filt, next_host_id(),
                                tuple(self.cgroup.procs_files()) if self.cgroup else ())
                argv, opts = spec.command([mode], script=PROBE_PATH)
                cwd, env = "/", {"PATH": "/usr/bin:/bin"}
            else:
                import sys
                import tempfile
                self.tmp = tempfile.TemporaryDirectory(prefix="codecnb-probe-")
                argv, cwd = [sys.executable, "-I", "-S", "-B", str(PROBE), mode], self.tmp.name
                env = dict(ENV_ALLOWLIST_VALUES, HOME=cwd, TMPDIR=cwd)
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, cwd=cwd, env=env,
                                         pass_fds=tuple(f for f in (*pass_fds, filt, opts)
                                                        if f is not None),
                                         start_new_session=True)
        except BaseException:
            if self.cgroup:
                self.cgroup.remove()
            raise
        finally:
            for fd in (filt, opts):
                if fd is not None:
                    os.close(fd)

    def send(self, text: str) -> None:
        try:
            self.proc.stdin.write(text.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            pass

    def line(self, timeout: float = 30.0) -> dict | None:
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        text = self.proc.stdout.readline() if ready else b""
        return json.loads(text) if text.strip() else None

    def framed(self, timeout: float = 30.0) -> dict | None:
        ready, _, _ = select.select([self.proc.stdout.fileno()], [], [], timeout)
        head = self.proc.stdout.read(4) if ready else b""
        if len(head) < 4:
            return None
        (n,) = struct.unpack("<I", head)
        return json.loads(self.proc.stdout.read(min(n, 1 << 16)))

    def close(self) -> None:
        if self.cgroup:
            self.cgroup.kill()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()
        if self.cgroup:
            self.cgroup.remove()
        if hasattr(self, "tmp"):
            self.tmp.cleanup()


def _absent_paths(plan: SandboxPlan) -> list[str]:
    """Host paths that must not exist inside the jail (folders on the way to the runtime's
    own files exist, holding only those)."""
    import codecnb
    from codecnb import config
    paths = ["/etc", "/home", "/var", "/tmp", "/srv", "/opt", "/mnt", "/boot", "/sys", "/run",
             "/bin/sh", "/usr/bin/env", "/dev/kmsg", "/dev/shm", "/dev/mem", "/dev/tty",
             "/root/.ssh", "/root/.aws", "/root/.cache", str(Path.cwd()),
             str(Path(codecnb.__file__).resolve().parent), str(config.resolve("cache_dir"))]
    on_the_way = {str(p) for _, dst in (plan.runtime.binds if plan.runtime else ())
                  for p in Path(dst).parents}
    return sorted(set(paths) - on_the_way)


def _acts(plan: SandboxPlan, limits: Limits) -> set[str]:
    ok: set[str] = set()
    fd = os.memfd_create("codecnb-probe-input")
    os.ftruncate(fd, 4096)
    ro = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY)
    probe = _Probe(plan, "acts", limits, memory=limits.memory_bytes,
                   processes=limits.processes, pass_fds=(ro,))
    os.close(ro)
    os.close(fd)
    try:
        if probe.line() != {"ready": True}:
            raise SandboxError("the isolation probe did not start: "
                               + probe.proc.stderr.read1(2000).decode(errors="replace"))
        pid = _candidate_pid(probe.proc.pid, probe.cgroup, plan.jail)
        env: dict[str, str] = {}
        if pid is not None:  # the outside view, before the probe tries anything
            ok |= outside_view(pid, probe.cgroup)
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            env = dict(e.decode().split("=", 1) for e in environ if b"=" in e)
            if set(env) <= set(ENV_ALLOWLIST_VALUES):
                ok.add("env-allowlist")
        masked = [n for n in PROC_MASKED_FILES if os.path.exists(f"/proc/{n}")]
        probe.send(json.dumps({"absent": _absent_paths(plan), "in_fd": ro,
                               "proc_masked": masked}))
        r = probe.line()
        if r is None:
            raise SandboxError("the isolation probe did not answer: "
                               + probe.proc.stderr.read1(2000).decode(errors="replace"))
        if r["environ"] != env:
            ok.discard("env-allowlist")
        if not plan.seccomp or any(r["syscalls"].get(k) not in (1, None)  # 1 = EPERM
                                   for k in SECCOMP_REFUSALS) or r["socket"] != 1 \
                or r["socket_unix"] != 1:
            ok.discard("seccomp")
        if plan.jail and not r["present"] and r["write_root"] != 0 \
                and not r["proc_readable"]:
            ok.add("allowlist-root")
        if r["write_core_pattern"] != 0 and r["write_sysrq"] != 0 and not r["kmsg"]:
            ok.add("proc-sys-read-only")
        if (r["cwd"] == WORKDIR and r["work_writable"]
                and 0 < r["work_bytes"] <= limits.file_bytes):
            ok.add("private-tmpfs")
        if r["pdeathsig"] == signal.SIGKILL:
            ok.add("die-with-parent")
        if r.get("input_writable") is False:
            ok.add("memfd-transport")
        if probe.cgroup is not None and "cgroup-member" in ok:
            if probe.cgroup.freeze() and probe.cgroup.thaw():
                ok.add("exclusive-scheduling")
        ok.discard("cgroup-member")
        if plan.audit:
            probe.send("hook")
            refusal = probe.framed()
            if refusal and refusal.get("kind") == "isolation" and probe.proc.wait(10) == 3:
                ok.add("python-audit-hook")
    finally:
        probe.close()
    return ok


def _limits(plan: SandboxPlan, limits: Limits) -> set[str]:
    if plan.cgroups is None:
        return set()
    ok: set[str] = set()
    memory, processes = 48 << 20, 16
    probe = _Probe(plan, "limits", limits, memory=memory, processes=processes)
    try:
        probe.send(json.dumps({"threads": 4 * processes, "memory_bytes": 4 * memory}))
        threads = probe.line()
        if threads is not None and threads["threads"] < processes:
            ok.add("cgroup-pids")
        last = None
        while True:
            r = probe.line(timeout=30)
            if r is None:
                break
            last = r
            if "errno" in r:
                break
        probe.proc.wait(timeout=30)
        if probe.cgroup.out_of_memory() and (last is None or last["memfd"] <= memory):
            ok.add("cgroup-memory")
    finally:
        probe.close()
    return ok


_PROBED: dict[SandboxPlan, tuple[str, ...]] = {}
_PROBE_LOCK = threading.Lock()


def probe_layers(plan: SandboxPlan) -> tuple[str, ...]:
    """The layers the isolation probe verified for ``plan`` (run once per process, with the
    default limits; each candidate process's own limits are checked by
    :func:`check_process`).

    Returns
    -------
    tuple of str
        Sorted names; see docs/security.md for what each one means and how it is checked.
    """
    with _PROBE_LOCK:  # evaluations in several threads probe once
        if plan not in _PROBED:
            t0 = time.perf_counter()
            limits = Limits()
            with ThreadPoolExecutor(2) as pool:  # two jails at once: about half the time
                both = [pool.submit(fn, plan, limits) for fn in (_acts, _limits)]
                held = both[0].result() | both[1].result()
            log.info("isolation probe: %d layers verified in %.2f s", len(held),
                     time.perf_counter() - t0)
            _PROBED[plan] = tuple(sorted(held))
        return _PROBED[plan]
