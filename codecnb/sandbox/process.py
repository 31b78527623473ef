"""One sandboxed process that runs a candidate's ``encode`` or ``decode``.

Frames and bitstreams move through two memfd mappings per process, never through files:
the parent writes the input mapping and the child sees it read-only; the child writes its
result into the output mapping. A process never receives a descriptor that another
candidate process had, so nothing but the bitstream (copied by the parent, exactly
``nbytes`` of it, checked against the buffer) reaches a decoder. Control messages are
length-prefixed JSON on pipes, checked by :mod:`codecnb.sandbox.protocol`.

Each process lives in its own jail (:mod:`codecnb.sandbox.jail`) and its own cgroup
(:mod:`codecnb.sandbox.cgroups`). Processes of one evaluation never run at the same time:
every group is frozen except the one the parent is talking to. The evaluator measures the
wall time of every call and the CPU time of the whole group; the child reports neither.
"""
from __future__ import annotations

import fcntl
import itertools
import logging
import mmap
import os
import secrets
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import ctypes
from dataclasses import dataclass

import numpy as np

from codecnb.errors import CandidateFailed, SandboxError
from codecnb.sandbox import protocol, seccomp
from codecnb.sandbox.cgroups import Cgroup
from codecnb.sandbox.cpuwait import WaitCredit
from codecnb.sandbox.failures import Failure
from codecnb.sandbox.isolation import SandboxPlan
from codecnb.sandbox.jail import ENV_ALLOWLIST_VALUES, JOIN_FAILED, JailSpec, next_host_id
from codecnb.sandbox.limits import Limits
from codecnb.sandbox.policy import REFUSED, ImportPolicy
from codecnb.sandbox.reaper import descendants, kill_tree
from codecnb.sandbox.runtime import CHILD

log = logging.getLogger(__name__)

_SIGNALS = {signal.SIGSEGV: "segmentation fault", signal.SIGBUS: "bus error",
            signal.SIGABRT: "abort", signal.SIGILL: "illegal instruction",
            signal.SIGFPE: "floating-point exception", signal.SIGKILL: "killed",
            signal.SIGXCPU: "CPU time limit", signal.SIGXFSZ: "file size limit",
            signal.SIGSYS: "refused system call"}
_F_SETPIPE_SZ = 1031
_serial = itertools.count()


def _signal_name(sig: int) -> str:
    """``signal 11 (SIGSEGV, segmentation fault)``; ``signal 37`` for one with no name."""
    try:
        name = signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"
    return f"signal {sig} ({name}, {_SIGNALS[sig]})" if sig in _SIGNALS else \
        f"signal {sig} ({name})"


def death_failure(code: int, stage: str, *, jailed: bool, oom: bool = False, tail: str = "",
                  limits: Limits | None = None) -> Failure:
    """The candidate's failure for a process that ended with return code ``code``.

    Parameters
    ----------
    code : int
        :attr:`subprocess.Popen.returncode`: ``-N`` when the started process was killed by
        signal N, else its exit status (0-255).
    stage : str
        ``"load"``, ``"encode"`` or ``"decode"``.
    jailed : bool
        Whether the started process is bubblewrap, which reports a child killed by signal
        N as exit status 128 + N, the same as a plain ``exit(128 + N)``: a status over 128
        is then either, and the description says so.
    oom : bool
        Whether the cgroup recorded a kill for its memory limit (kind ``memory``).
    tail : str
        The end of the process's stderr (kept in ``detail``).

    Returns
    -------
    Failure
        Kind ``memory`` (cgroup kill, or a signal after a ``MemoryError``), ``timeout``
        (SIGXCPU: the CPU-seconds rlimit) or ``crash``; never an exception, whatever
        ``code`` is.
    """
    limits = limits or Limits()
    detail: dict = {"exit_status": code, "stderr": tail} if code >= 0 else {"stderr": tail}
    if code < 0:
        sig, maybe = -code, False
    elif jailed and 128 < code < 256:
        sig, maybe = code - 128, True
    else:
        sig, maybe = None, False
    if sig is not None:
        detail["signal"] = sig
    if oom:
        return Failure("memory", f"{stage} exceeded the memory limit of "
                       f"{limits.memory_bytes >> 20} MiB (its processes, memfds and "
                       f"files together)", stage=stage, detail=detail)
    if sig == signal.SIGXCPU and not maybe:
        return Failure("timeout", f"{stage} exceeded the CPU time limit of "
                       f"{limits.cpu_seconds} s ({_signal_name(sig)})", stage=stage,
                       detail=detail)
    if sig is not None and not maybe:
        kind = "memory" if "MemoryError" in tail else "crash"
        return Failure(kind, f"{stage} process died: {_signal_name(sig)}", stage=stage,
                       detail=detail)
    if maybe and sig == signal.SIGXCPU:
        return Failure("timeout", f"{stage} process ended with status {code}: the CPU time "
                       f"limit of {limits.cpu_seconds} s (SIGXCPU), or exit({code}) (the jail "
                       f"reports both alike)", stage=stage, detail=detail)
    if maybe:
        kind = "memory" if "MemoryError" in tail else "crash"
        return Failure(kind, f"{stage} process ended with status {code} instead of returning: "
                       f"killed by {_signal_name(sig)}, or exit({code}) (the jail reports "
                       f"both alike)", stage=stage, detail=detail)
    return Failure("crash", f"{stage} process exited with status {code} instead of "
                   f"returning (os._exit or a fatal error)", stage=stage, detail=detail)


@dataclass
class CallTime:
    """What one encode or decode call cost, measured by the evaluator.

    Attributes
    ----------
    wall_s : float
        Seconds from the request to the reply (the process runs alone meanwhile).
    cpu_s : float or None
        CPU seconds of every process of the candidate's group during the call (None
        without cgroups).
    """

    wall_s: float
    cpu_s: float | None


class SandboxProcess:
    """A fresh jailed process that loads a program and serves encode or decode requests.

    Parameters
    ----------
    role : {"encode", "decode"}
    program : str
        The candidate's source text.
    in_size, out_size : int
        Bytes of the input and output mappings (largest segment / bitstream).
    plan : SandboxPlan
        The layers to use (probed once per process).
    limits : Limits
    policy : ImportPolicy
    """

    def __init__(self, role: str, program: str, *, in_size: int, out_size: int,
                 plan: SandboxPlan, limits: Limits, policy: ImportPolicy):
        self.role, self.limits, self.plan = role, limits, plan
        self.out_size = out_size
        self.marker = f"CODECNB_SANDBOX={secrets.token_hex(8)}"
        self._in_buf, self._out_buf = POOL.take(in_size, "in"), POOL.take(out_size, "out")
        self.inp, self.out = self._in_buf.map, self._out_buf.map
        self._stderr = os.memfd_create("codecnb-stderr")  # in memory, charged to the child
        self._workdir: str | None = None
        self.cgroup: Cgroup | None = None
        self._farm = None
        self.stopped = False
        self.booted = False  # the bootstrap said so, before any candidate code ran
        self.wait_credit = WaitCredit(self._work_pids)
        child_in = os.open(f"/proc/self/fd/{self._in_buf.fd}", os.O_RDONLY)  # read-only
        filt = opts = None
        try:
            if plan.jail:
                if plan.cgroups is not None:
                    self.cgroup = Cgroup(plan.cgroups, f"{role}-{next(_serial)}",
                                         memory_bytes=limits.memory_bytes,
                                         processes=limits.processes)
                filt = seccomp.program_fd() if plan.seccomp else None
                self._farm, farm = plan.farms.take()
                spec = JailSpec(plan.runtime, limits.file_bytes, filt, next_host_id(),
                                tuple(self.cgroup.procs_files()) if self.cgroup else (), farm)
                argv, opts = spec.command([])
                env, cwd = {"PATH": "/usr/bin:/bin"}, "/"  # nothing of the caller's
                read_roots = list(plan.runtime.roots)
            else:
                self._workdir = cwd = tempfile.mkdtemp(prefix="codecnb-sandbox-")
                env = {**ENV_ALLOWLIST_VALUES, "HOME": cwd, "TMPDIR": cwd,
                       self.marker.split("=")[0]: self.marker.split("=")[1]}
                argv = [sys.executable, "-I", "-B", str(CHILD)]
                read_roots = [os.path.dirname(os.__file__), os.path.dirname(np.__path__[0]),
                              str(CHILD.parent), sys.prefix, sys.base_prefix]
            fds = tuple(f for f in (child_in, self._out_buf.fd, filt, opts) if f is not None)
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                pass_fds=fds, cwd=cwd, env=env, start_new_session=True)
        except BaseException:
            self._release()
            raise
        finally:
            os.close(child_in)
            for fd in (filt, opts):
                if fd is not None:
                    os.close(fd)
        self.pgid = self.proc.pid
        self._wfd, self._rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        try:
            fcntl.fcntl(self._wfd, _F_SETPIPE_SZ, 1 << 20)  # the configuration fits at once
        except OSError:
            pass
        os.set_blocking(self._wfd, False)
        # Make every page of fresh buffers exist while the child starts up, so that page
        # faults (expensive on VMs without huge pages for shared memory) stay off the hot
        # path.
        self._prefault = threading.Thread(
            target=lambda: [b.prefault() for b in (self._in_buf, self._out_buf)], daemon=True)
        self._prefault.start()
        self._send({"program": program, "role": role, "in_fd": child_in, "in_size": in_size,
                    "out_fd": self._out_buf.fd, "out_size": out_size, "audit": plan.audit,
                    "allowed": sorted(a for a in (policy.allowed | policy.extra)
                                      if policy.permits(a)),
                    "refused": sorted(REFUSED - policy.extra),
                    "rlimits": limits.rlimits(own_uid=plan.jail),
                    "read_roots": read_roots},
                   time.monotonic() + limits.startup_timeout_s, "load")

    # -- protocol ---------------------------------------------------------------------
    def _send(self, obj: dict, deadline: float, stage: str) -> None:
        protocol.write_all(self._wfd, protocol.frame(obj), deadline, stage, self.kill)

    def _read(self, n: int, deadline: float, stage: str) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            left = deadline + self.wait_credit.given - time.monotonic()
            if left <= 0:
                if self.wait_credit.claim():  # it was waiting for a CPU: its time back
                    continue
                self.kill()
                raise protocol.timeout_failure(stage)
            ready, _, _ = select.select([self._rfd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._rfd, n - len(buf))
            if not chunk:
                raise CandidateFailed(self._death(stage))
            buf += chunk
        return bytes(buf)

    def receive(self, deadline: float, stage: str) -> dict:
        (n,) = struct.unpack("<I", self._read(4, deadline, stage))
        if n > protocol.MAX_REPLY:
            self.kill()
            raise protocol.protocol_failure(stage, f"a reply of {n} bytes (limit "
                                            f"{protocol.MAX_REPLY})")
        return protocol.decode_reply(self._read(n, deadline, stage), stage)

    def _death(self, stage: str) -> Failure:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        tail = self.stderr_tail()
        if not self.booted:  # no candidate code has run yet: the sandbox itself failed
            why = "joining its cgroup" if code == JOIN_FAILED else tail.strip()[-300:]
            raise SandboxError(f"the sandbox could not be set up: {why or f'status {code}'}")
        oom = self.cgroup is not None and self.cgroup.out_of_memory()
        return death_failure(code, stage, jailed=self.plan.jail, oom=oom, tail=tail,
                             limits=self.limits)

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of what the process wrote to stderr (its own text: cleaned)."""
        size = os.lseek(self._stderr, 0, os.SEEK_END)
        raw = os.pread(self._stderr, limit, max(0, size - limit))
        return protocol.clean_text(raw.decode(errors="replace"), limit)

    # -- requests ---------------------------------------------------------------------
    def _work_pids(self) -> list[int]:
        """The processes doing this sandbox's work (for their run-queue wait)."""
        if self.cgroup is not None:
            return self.cgroup.pids()
        return [self.proc.pid, *descendants(self.proc.pid)]

    def boot(self, deadline: float) -> None:
        """Wait for the bootstrap's "boot": the sandbox is up, no candidate code has run."""
        self.wait_credit.begin(deadline)
        protocol.check_boot(self.receive(deadline, "load"))
        self.booted = True

    def wait_ready(self, deadline: float) -> None:
        """Let the program load (its module code runs now), and wait until it has."""
        if not self.booted:
            self.boot(deadline)
            deadline += self.wait_credit.given  # the boot's credit: the load's time too
        self.wait_credit.begin(deadline)
        self._send({"op": "load"}, deadline, "load")
        protocol.check_ready(self.receive(deadline, "load"))
        self._prefault.join()

    def _call(self, request: dict, deadline: float, stage: str) -> tuple[dict, CallTime]:
        cpu0 = self.cgroup.cpu_seconds() if self.cgroup else None
        t0 = time.perf_counter()
        self.wait_credit.begin(deadline)
        self._send(request, deadline, stage)
        reply = self.receive(deadline, stage)
        wall = time.perf_counter() - t0
        cpu = self.cgroup.cpu_seconds() - cpu0 if self.cgroup else None
        if self.cgroup is not None and self.cgroup.out_of_memory():
            # a process of the group was killed for the group's limit, even if not this one
            self.kill()
            raise CandidateFailed(Failure(
                "memory", f"{stage} exceeded the memory limit of "
                f"{self.limits.memory_bytes >> 20} MiB (its processes, memfds and files "
                f"together)", stage=stage))
        return reply, CallTime(wall, cpu)

    def encode(self, shape: tuple[int, ...], quality: int, deadline: float,
               ) -> tuple[int, CallTime]:
        """Encode the frames already in :attr:`inp`; returns (nbytes, time)."""
        reply, spent = self._call({"op": "encode", "quality": int(quality),
                                   "shape": list(shape)}, deadline, "encode")
        return protocol.check_encoded(reply, self.out_size, quality=int(quality)), spent

    def decode(self, nbytes: int, expected: tuple[int, ...], deadline: float,
               ) -> tuple[np.ndarray, CallTime]:
        """Decode the first ``nbytes`` of :attr:`inp` into frames of shape ``expected``.

        Returns a read-only view of the output mapping (drop it before :meth:`close`) and
        the time the call took.
        """
        reply, spent = self._call({"op": "decode", "nbytes": int(nbytes)}, deadline, "decode")
        shape = protocol.check_decoded(reply, expected)
        count = int(np.prod(shape))
        return np.frombuffer(self.out, np.uint8, count).reshape(shape), spent

    # -- scheduling and teardown --------------------------------------------------------
    def freeze(self) -> None:
        if self.stopped or self.proc.poll() is not None:
            return
        if self.cgroup is not None:
            if not self.cgroup.freeze():
                self.kill()
                raise CandidateFailed(Failure(
                    "timeout", f"{self.role} process could not be stopped between calls",
                    stage=self.role))
        else:
            os.killpg(self.pgid, signal.SIGSTOP)
        self.stopped = True

    def thaw(self) -> None:
        if not self.stopped:
            return
        if self.cgroup is not None:
            self.cgroup.thaw()
        else:
            try:
                os.killpg(self.pgid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.stopped = False

    def kill(self) -> None:
        """SIGKILL every process of this sandbox (its whole cgroup, or its tree)."""
        if self.cgroup is not None:
            self.cgroup.kill()
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, AttributeError):
            pass
        if self.cgroup is None and hasattr(self, "proc"):
            kill_tree(self.proc.pid, self.pgid, self.marker.encode())
        self.stopped = False

    def close(self) -> None:
        """Kill every process of this sandbox, reap it, free the mappings and work dir."""
        self.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not time out
            log.error("sandbox process %d did not die", self.proc.pid)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._prefault.join()
        self._release()

    def _release(self) -> None:
        if self.cgroup is not None:
            self.cgroup.remove()
        if self._farm is not None:  # its processes are dead: nothing uses the copy now
            self.plan.farms.release(self._farm)
        # The processes are dead and reaped: no one else holds these descriptors any more.
        POOL.give(self._in_buf)
        POOL.give(self._out_buf)
        os.close(self._stderr)
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)


def copy_bytes(src, dst: mmap.mmap, n: int) -> None:
    """Copy the first ``n`` bytes of buffer ``src`` into mapping ``dst`` (no temporaries)."""
    np.frombuffer(dst, np.uint8, n)[:] = np.frombuffer(src, np.uint8, n)


#: madvise(2) advice that faults in every page of a range writable (Linux >= 5.14).
MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)
_LIBC = ctypes.CDLL(None, use_errno=True)


#: memfd seals (fcntl(2)); F_SEAL_FUTURE_WRITE is Linux >= 5.1.
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_FUTURE_WRITE = 0x0001, 0x0002, 0x0004, 0x0010
_F_ADD_SEALS = 1033


class SharedBuffer:
    """A memfd and a read-write mapping of it in this process.

    The memfd is sealed at its size (no process can grow or shrink it: a shrink would make
    the evaluator's own mapping fault, growth would hide data past the part that is
    zeroed) and readable by its owner only (a candidate running as another uid cannot
    reopen it through ``/proc/self/fd``). An input buffer is also sealed against any new
    write access (``F_SEAL_FUTURE_WRITE``): only the evaluator's existing mapping writes it.

    Parameters
    ----------
    size : int
        Bytes.
    role : {"in", "out"}
        Whether a candidate reads it (frames, bitstreams) or writes it (its results).
    """

    def __init__(self, size: int, role: str):
        self.size, self.role = size, role
        self.fd = os.memfd_create("codecnb-buffer", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.ftruncate(self.fd, size)
        os.fchmod(self.fd, 0o600)
        self.map = mmap.mmap(self.fd, size)
        fcntl.fcntl(self.fd, _F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)
        if role == "in":
            try:
                fcntl.fcntl(self.fd, _F_ADD_SEALS, F_SEAL_FUTURE_WRITE)
            except OSError:  # Linux < 5.1: the mode and the read-only descriptor remain
                log.debug("F_SEAL_FUTURE_WRITE not supported")
        fcntl.fcntl(self.fd, _F_ADD_SEALS, F_SEAL_SEAL)  # no candidate adds seals of its own
        self.faulted = False

    def prefault(self) -> None:
        """Make every page exist before the hot loop.

        ``fallocate`` allocates the memfd's zeroed pages without touching this process's
        address space (so it does not hold the mmap lock that every allocation, thread
        start and mapping of the evaluator also needs: about 3x faster than faulting them
        in). ``MADV_POPULATE_WRITE`` then fills in the page tables in one call (Linux >=
        5.14); without it one byte per page is written. Both release the GIL (madvise is
        called through ctypes: ``mmap.madvise`` would hold it), so prefaulting in a thread
        runs beside the evaluator's own work.
        """
        if self.faulted:
            return
        try:
            os.posix_fallocate(self.fd, 0, self.size)
        except OSError:  # not supported here: the page faults allocate the pages
            log.debug("fallocate on a memfd failed; pages are allocated by faults")
        view = (ctypes.c_char * self.size).from_buffer(self.map)
        address = ctypes.addressof(view)
        del view  # no export may outlive this call, or the mapping could not be closed
        if _LIBC.madvise(ctypes.c_void_p(address), ctypes.c_size_t(self.size),
                         MADV_POPULATE_WRITE) != 0:
            np.frombuffer(self.map, np.uint8)[::mmap.PAGESIZE] = 0
        self.faulted = True

    def zero(self) -> None:
        np.frombuffer(self.map, np.uint8)[:] = 0

    def close(self) -> None:
        try:
            self.map.close()
        except BufferError:  # a view is still referenced; unmapped when it is freed
            log.debug("sandbox mapping still in use at close")
        os.close(self.fd)


class BufferPool:
    """Shared buffers reused across evaluations in one process (a campaign worker).

    Fresh shared memory costs a page fault per page; reusing it costs one memset. A buffer
    is zeroed before it is reused, so no candidate ever sees another's frames or
    bitstreams, and it is only returned once the process that held it is dead.
    """

    def __init__(self, max_bytes: int = 3 << 29):
        self.max_bytes = max_bytes
        self._idle: list[SharedBuffer] = []
        self._lock = threading.Lock()

    def take(self, size: int, role: str) -> SharedBuffer:
        with self._lock:
            for i, buf in enumerate(self._idle):
                if buf.size == size and buf.role == role:
                    return self._idle.pop(i)
        return SharedBuffer(size, role)

    def give(self, buf: SharedBuffer) -> None:
        buf.zero()
        with self._lock:
            self._idle.append(buf)
            while sum(b.size for b in self._idle) > self.max_bytes:
                self._idle.pop(0).close()


#: The process-wide pool (1.5 GiB at most when idle).
POOL = BufferPool()
