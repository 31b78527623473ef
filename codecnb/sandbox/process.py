"""One sandboxed process that runs a candidate's ``encode`` or ``decode``.

Frames and bitstreams move through two memfd mappings per process, never through files:
the parent writes the input mapping and the child sees it read-only; the child writes its
result into the output mapping. A process never receives a descriptor that another
candidate process had, so nothing but the bitstream (copied by the parent, exactly
``nbytes`` of it) reaches a decoder. Control messages are length-prefixed JSON on pipes.

Processes of one evaluation never run at the same time: every process is stopped
(SIGSTOP) except the one the parent is talking to.
"""
from __future__ import annotations

import ctypes
import json
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
from pathlib import Path

import numpy as np

from codecnb.errors import SandboxError
from codecnb.sandbox.failures import CandidateFailed, Failure
from codecnb.sandbox.isolation import (CHILD, ENV_ALLOWLIST_VALUES, SETUP_FAILED, WORKDIR,
                                       IsolationPlan, python_roots, wrap)
from codecnb.sandbox.limits import Limits
from codecnb.sandbox.policy import REFUSED, ImportPolicy
from codecnb.sandbox.reaper import kill_tree

log = logging.getLogger(__name__)

_SIGNALS = {signal.SIGSEGV: "segmentation fault", signal.SIGBUS: "bus error",
            signal.SIGABRT: "abort", signal.SIGILL: "illegal instruction",
            signal.SIGFPE: "floating-point exception", signal.SIGKILL: "killed",
            signal.SIGXCPU: "CPU time limit", signal.SIGXFSZ: "file size limit"}


class SandboxProcess:
    """A fresh process that loads a program and serves encode or decode requests.

    Parameters
    ----------
    role : {"encode", "decode"}
    program : str
        The candidate's source text.
    in_size, out_size : int
        Bytes of the input and output mappings (largest segment / bitstream).
    plan : IsolationPlan
        The OS layers to use.
    limits : Limits
    policy : ImportPolicy
    hide : list of Path
        Folders and files to hide from the process (source, caches).
    """

    def __init__(self, role: str, program: str, *, in_size: int, out_size: int,
                 plan: IsolationPlan, limits: Limits, policy: ImportPolicy, hide: list[Path]):
        self.role, self.limits = role, limits
        self.marker = f"CODECNB_SANDBOX={secrets.token_hex(8)}"
        self._in_buf, self._out_buf = POOL.take(in_size), POOL.take(out_size)
        self._in_fd, self.inp = self._in_buf.fd, self._in_buf.map
        self._out_fd, self.out = self._out_buf.fd, self._out_buf.map
        child_in = os.open(f"/proc/self/fd/{self._in_fd}", os.O_RDONLY)  # read-only for it
        self._stderr = tempfile.TemporaryFile()
        self._workdir: str | None = None
        env = dict(ENV_ALLOWLIST_VALUES)
        env[self.marker.split("=")[0]] = self.marker.split("=")[1]
        command = [sys.executable, "-I", "-B", str(CHILD)]
        if plan.namespaces:
            env["HOME"] = env["TMPDIR"] = WORKDIR
            cwd = None
        else:
            self._workdir = cwd = tempfile.mkdtemp(prefix="codecnb-sandbox-")
            env["HOME"] = env["TMPDIR"] = cwd
        argv = wrap(plan, command, hide, limits.file_bytes)
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                pass_fds=(child_in, self._out_fd), cwd=cwd, env=env, start_new_session=True)
        finally:
            os.close(child_in)
        self.pgid = self.proc.pid
        # Touch every page of fresh buffers while the child starts up, so that page faults
        # (expensive on VMs without huge pages for shared memory) stay off the hot path.
        self._prefault = threading.Thread(
            target=lambda: [b.prefault() for b in (self._in_buf, self._out_buf)], daemon=True)
        self._prefault.start()
        self._send({"program": program, "role": role, "in_fd": child_in, "in_size": in_size,
                    "out_fd": self._out_fd, "out_size": out_size, "audit": plan.audit,
                    "allowed": sorted(a for a in (policy.allowed | policy.extra)
                                      if policy.permits(a)),
                    "refused": sorted(REFUSED - policy.extra),
                    "rlimits": limits.rlimits(plan.drop_uid),
                    "read_roots": [str(p) for p in python_roots()],
                    "deny_roots": [str(p) for p in hide]})
        self.stopped = False

    # -- protocol ---------------------------------------------------------------------
    def _send(self, obj: dict) -> None:
        data = json.dumps(obj).encode()
        try:
            self.proc.stdin.write(struct.pack("<I", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the process died; the next receive says how

    def _read(self, n: int, deadline: float, stage: str) -> bytes:
        fd = self.proc.stdout.fileno()
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise CandidateFailed(Failure(
                    "timeout", f"{stage} did not finish within its wall-clock limit",
                    stage=stage))
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise CandidateFailed(self._death(stage))
            buf += chunk
        return buf

    def receive(self, deadline: float, stage: str) -> dict:
        (n,) = struct.unpack("<I", self._read(4, deadline, stage))
        if n > 1 << 20:
            raise CandidateFailed(Failure("crash", f"{stage}: garbled control message",
                                          stage=stage))
        try:
            return json.loads(self._read(n, deadline, stage))
        except ValueError:
            raise CandidateFailed(Failure("crash", f"{stage}: garbled control message",
                                          stage=stage)) from None

    def _death(self, stage: str) -> Failure:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        sig = -code if code < 0 else code - 128 if code > 128 else None
        tail = self.stderr_tail()
        if code == SETUP_FAILED and stage == "load":
            raise SandboxError(f"the sandbox could not be set up: {tail.strip()[-300:]}")
        if sig in (signal.SIGXCPU,):
            return Failure("timeout", f"{stage} exceeded the CPU time limit of "
                           f"{self.limits.cpu_seconds} s", stage=stage, detail={"signal": sig})
        if sig:
            name = _SIGNALS.get(sig, f"signal {sig}")
            kind = "memory" if "MemoryError" in tail else "crash"
            return Failure(kind, f"{stage} process died: {signal.Signals(sig).name} ({name})",
                           stage=stage, detail={"signal": sig, "stderr": tail})
        return Failure("crash", f"{stage} process exited with status {code} instead of "
                       f"returning (os._exit or a fatal error)", stage=stage,
                       detail={"exit_status": code, "stderr": tail})

    def stderr_tail(self, limit: int = 2000) -> str:
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - limit))
        return self._stderr.read().decode(errors="replace")

    def check(self, reply: dict, stage: str, **detail) -> dict:
        """Raise the candidate's own failure report, if the reply is one."""
        if reply.get("ok", True) and "kind" not in reply:
            return reply
        d = {**(reply.get("detail") or {}), **detail}
        raise CandidateFailed(Failure(reply.get("kind", "crash"), reply.get("message", ""),
                                      stage=reply.get("stage") or stage, line=reply.get("line"),
                                      code=reply.get("code"), detail=d))

    # -- requests ---------------------------------------------------------------------
    def wait_ready(self, deadline: float) -> None:
        self.check(self.receive(deadline, "load"), "load")
        self._prefault.join()

    def encode(self, shape: tuple[int, ...], quality: int, deadline: float) -> tuple[int, float]:
        """Encode the frames already in :attr:`inp`; returns (nbytes, seconds)."""
        self._send({"op": "encode", "quality": int(quality), "shape": list(shape)})
        r = self.check(self.receive(deadline, "encode"), "encode", quality=int(quality))
        return int(r["nbytes"]), float(r["seconds"])

    def decode(self, nbytes: int, expected: tuple[int, ...], deadline: float,
               ) -> tuple[np.ndarray, float]:
        """Decode the first ``nbytes`` of :attr:`inp` into frames of shape ``expected``.

        Returns a read-only view of the output mapping (drop it before :meth:`close`) and
        the seconds the program spent.
        """
        self._send({"op": "decode", "nbytes": int(nbytes)})
        r = self.check(self.receive(deadline, "decode"), "decode")
        shape = tuple(r["shape"])
        if shape != tuple(expected):
            raise CandidateFailed(Failure(
                "output", f"decode returned shape {shape}, expected {tuple(expected)} "
                f"(frames, height, width, 3)", stage="decode", detail={"shape": list(shape)}))
        count = int(np.prod(shape))
        return np.frombuffer(self.out, np.uint8, count).reshape(shape), float(r["seconds"])

    # -- scheduling and teardown --------------------------------------------------------
    def freeze(self) -> None:
        if not self.stopped and self.proc.poll() is None:
            os.killpg(self.pgid, signal.SIGSTOP)
            self.stopped = True

    def thaw(self) -> None:
        if self.stopped:
            try:
                os.killpg(self.pgid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.stopped = False

    def kill(self) -> None:
        """SIGKILL the process, its group, its descendants and its marked orphans."""
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
        self._stderr.close()
        self._prefault.join()
        # The process is dead and reaped: no one else holds these descriptors any more.
        POOL.give(self._in_buf)
        POOL.give(self._out_buf)
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)



def copy_bytes(src, dst: mmap.mmap, n: int) -> None:
    """Copy the first ``n`` bytes of buffer ``src`` into mapping ``dst`` (no temporaries)."""
    np.frombuffer(dst, np.uint8, n)[:] = np.frombuffer(src, np.uint8, n)



#: madvise(2) advice that faults in every page of a range writable (Linux >= 5.14).
MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)
_LIBC = ctypes.CDLL(None, use_errno=True)


class SharedBuffer:
    """A memfd and a read-write mapping of it in this process."""

    def __init__(self, size: int):
        self.size = size
        self.fd = os.memfd_create("codecnb-buffer")
        os.ftruncate(self.fd, size)
        self.map = mmap.mmap(self.fd, size)
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

    def take(self, size: int) -> SharedBuffer:
        with self._lock:
            for i, buf in enumerate(self._idle):
                if buf.size == size:
                    return self._idle.pop(i)
        return SharedBuffer(size)

    def give(self, buf: SharedBuffer) -> None:
        buf.zero()
        with self._lock:
            self._idle.append(buf)
            while sum(b.size for b in self._idle) > self.max_bytes:
                self._idle.pop(0).close()


#: The process-wide pool (1.5 GiB at most when idle).
POOL = BufferPool()
