"""The bootstrap that runs one candidate program inside the sandbox.

Run as ``python -I -B child.py`` by :mod:`codecnb.sandbox.process`, inside the namespaces
and with the privileges that :mod:`codecnb.sandbox.isolation` set up. It imports only the
standard library and numpy, never codecnb.

Protocol (all integers little-endian; see :mod:`codecnb.sandbox.protocol`, which checks
everything this side sends):

* fd 0 / fd 1 are the control pipes; the bootstrap moves them to private descriptors and
  points fd 0 at /dev/null and fd 1 at fd 2, so the program's prints cannot corrupt them.
* Each message is a 4-byte length and a JSON object. The first message from the parent is
  the configuration. The child answers ``{"boot": true}`` before any of the program's code
  runs (a death before it is the sandbox's failure, after it the candidate's). The program
  is loaded on ``{"op": "load"}`` (one process at a time) and the child answers
  ``{"ready": true}``.
* ``{"op": "encode", "quality": q, "shape": [T, H, W, 3]}``: frames are read from the
  read-only shared-memory input; the bitstream is written to the output mapping and the
  answer is ``{"ok": true, "nbytes": n}``.
* ``{"op": "decode", "nbytes": n}``: the bitstream is the first n bytes of the input; the
  frames are written to the output mapping; the answer gives their shape.
* A failure answers ``{"ok": false, "kind": ..., "message": ..., ...}``. A refused operation
  answers ``kind: "isolation"`` from inside the audit hook and exits at once, so the program
  cannot catch it.

Times are not reported: the evaluator measures them around each call.

The audit hook and the import guard are Python-level layers: a determined program can reach
around them (Python says audit hooks are not a sandbox). They turn mistakes and casual
cheats into clear failures; the operating-system layers set up by the parent (bubblewrap
jail, seccomp, cgroups, unprivileged user) are what actually contain the process.
"""
import builtins
import json
import mmap
import os
import resource
import struct
import sys
import traceback

CANDIDATE = "<candidate>"
#: Where the allowed packages are inside the jail (codecnb.sandbox.runtime.SITE).
SITE = "/usr/lib/codecnb/site"


def _recv(fd):
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack("<I", head)
    return json.loads(_read_exact(fd, n))


def _read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, n - got)
        if not b:
            return None
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def _send(fd, obj):
    data = json.dumps(obj).encode()
    os.write(fd, struct.pack("<I", len(data)) + data)


def _set_limits(limits):
    for name, value in limits.items():
        res = getattr(resource, name)
        resource.setrlimit(res, (value, value))


def _candidate_frame(tb):
    """(line, code) of the innermost frame of the candidate program in a traceback."""
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == CANDIDATE:
            line = lineno
    return line


def _failure(exc, stage, lines):
    line = _candidate_frame(exc.__traceback__)
    code = lines[line - 1].strip() if line and line <= len(lines) else None
    kind = "memory" if isinstance(exc, MemoryError) else "exception"
    where = f" at line {line}" if line else ""
    msg = f"{type(exc).__name__} in {stage}{where}: {exc}"
    if code:
        msg += f"\n    {code}"
    return {"ok": False, "kind": kind, "stage": stage, "line": line, "code": code,
            "message": msg, "detail": {"type": type(exc).__name__}}


class _Guard:
    """Audit hook and import guard: everything outside the policy ends the process."""

    DENY_PREFIXES = ("socket.", "ctypes.", "subprocess.", "os.exec", "os.spawn",
                     "os.posix_spawn", "os.fork", "os.forkpty", "os.system", "os.kill",
                     "os.killpg", "signal.pthread_kill", "pty.", "urllib.", "http.",
                     "ftplib.", "smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib.",
                     "webbrowser.", "os.startfile", "winreg.", "sys.remote_exec",
                     "os.setuid", "os.setgid", "os.chroot", "os.setns", "os.unshare")
    PATH_EVENTS = {"os.listdir": 0, "os.scandir": 0, "glob.glob": 0, "os.chdir": 0,
                   "shutil.copyfile": 1, "shutil.copytree": 1, "shutil.rmtree": 0,
                   "shutil.move": 1, "shutil.make_archive": 0, "shutil.unpack_archive": 1}
    WRITE_EVENTS = {"os.mkdir": 0, "os.remove": 0, "os.rmdir": 0, "os.rename": 1,
                    "os.link": 1, "os.symlink": 1, "os.truncate": 0, "os.chmod": 0,
                    "os.chown": 0, "os.utime": 0, "os.chflags": 0, "os.lchflags": 0,
                    "os.lchmod": 0, "os.mkfifo": 0, "os.mknod": 0, "os.setxattr": 0,
                    "os.removexattr": 0}
    READ_OK = ("/dev/null", "/dev/urandom", "/dev/zero", "/proc/self/", "/proc/cpuinfo",
               "/proc/meminfo", "/sys/devices/system/cpu/", "/sys/fs/cgroup/")

    def __init__(self, ctrl_out, work, read_roots, refused):
        self.ctrl_out = ctrl_out
        self.work = os.path.realpath(work) + os.sep
        self.read_roots = tuple(os.path.realpath(r) + os.sep for r in read_roots)
        self.refused = frozenset(refused)

    def refuse(self, what):
        _send(self.ctrl_out, {"ok": False, "kind": "isolation", "stage": None,
                              "message": f"refused by the sandbox: {what}",
                              "detail": {"operation": what}})
        os._exit(3)

    def _path(self, p):
        if isinstance(p, int):
            return None
        if isinstance(p, bytes):
            p = os.fsdecode(p)
        return os.path.realpath(os.path.join(self.work, str(p))) if p is not None else None

    def _inside_work(self, path):
        return path is not None and (path + os.sep).startswith(self.work)

    def _readable(self, path):
        """Readable: the work dir, a few device and /proc files, the runtime's roots."""
        if path is None or self._inside_work(path):
            return True
        if any(path == ok.rstrip("/") or path.startswith(ok) for ok in self.READ_OK):
            return True
        p = path + os.sep
        return any(p.startswith(r) for r in self.read_roots)

    @staticmethod
    def _from_candidate():
        """True when the code that triggered the event is the candidate's own."""
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
            frame = frame.f_back
        return frame is not None and frame.f_code.co_filename == CANDIDATE

    def hook(self, event, args):
        if event == "open":
            path, mode, flags = (list(args) + [None, None])[:3]
            p = self._path(path)
            if p is None:
                return
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                flags is not None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            if writing and not self._inside_work(p):
                self.refuse(f"open({path!r}, {mode or flags!r}) for writing outside the "
                            f"private working directory")
            if not writing and not self._readable(p):
                self.refuse(f"open({path!r}) outside the readable paths")
        elif event.startswith(self.DENY_PREFIXES):
            self.refuse(f"{event}{tuple(args)!r}"[:300])
        elif (event == "import" and args and str(args[0]).split(".")[0] in self.refused
              and self._from_candidate()):
            self.refuse(f"import of {args[0]!r}")
        elif event in self.PATH_EVENTS:
            p = self._path(args[self.PATH_EVENTS[event]] if args else None)
            if not self._readable(p):
                self.refuse(f"{event}({args[0]!r}) outside the readable paths")
        elif event in self.WRITE_EVENTS:
            for a in args[: self.WRITE_EVENTS[event] + 1]:
                p = self._path(a)
                if p is not None and not self._inside_work(p):
                    self.refuse(f"{event}{tuple(args)!r} outside the private working directory")
        elif event == "sys.addaudithook" or event == "sys.setprofile" or event == "sys.settrace":
            self.refuse(event)


def _guarded_import(allowed, real_import, guard):
    def __import__(name, globals=None, locals=None, fromlist=(), level=0):
        top = name.split(".")[0]
        if level == 0 and top not in allowed:
            guard.refuse(f"import of {name!r} (not in the import policy)")
        return real_import(name, globals, locals, fromlist, level)
    return __import__


def main():
    ctrl_in, ctrl_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    cfg = _recv(ctrl_in)
    _set_limits(cfg["rlimits"])
    _send(ctrl_out, {"boot": True})  # before any candidate code: the sandbox is up
    if os.path.isdir(SITE):
        sys.path.insert(0, SITE)
    import numpy as np  # noqa: F401  (loaded before the hook: its own files and threads)

    inp = mmap.mmap(cfg["in_fd"], cfg["in_size"], prot=mmap.PROT_READ)
    out = mmap.mmap(cfg["out_fd"], cfg["out_size"], prot=mmap.PROT_READ | mmap.PROT_WRITE)
    # Map every page now, while the parent reads the first segment, rather than fault
    # them in one by one inside the first encode or decode (Linux >= 5.14; else skipped).
    for m, advice in ((out, getattr(mmap, "MADV_POPULATE_WRITE", 23)),
                      (inp, getattr(mmap, "MADV_POPULATE_READ", 22))):
        try:
            m.madvise(advice)
        except OSError:
            pass
    lines = cfg["program"].splitlines()
    code = compile(cfg["program"], CANDIDATE, "exec")
    msg = _recv(ctrl_in)  # the program's code runs only when the evaluator says so: then
    if msg is None or msg.get("op") != "load":  # no other candidate process is running
        os._exit(0)
    guard = _Guard(ctrl_out, os.getcwd(), cfg["read_roots"] + [p for p in sys.path if p],
                   cfg["refused"])
    if cfg["audit"]:
        sys.addaudithook(guard.hook)
    safe_builtins = dict(vars(builtins))
    safe_builtins["__import__"] = _guarded_import(frozenset(cfg["allowed"]),
                                                  builtins.__import__, guard)
    module = {"__name__": "candidate", "__builtins__": safe_builtins, "__file__": CANDIDATE}
    try:
        exec(code, module)
    except BaseException as exc:  # noqa: BLE001 - anything the program does is reported
        _send(ctrl_out, _failure(exc, "load", lines) if not isinstance(exc, SystemExit)
              else {"ok": False, "kind": "crash", "stage": "load",
                    "message": f"the program called sys.exit({exc.code!r}) while loading"})
        os._exit(0)
    _send(ctrl_out, {"ready": True})
    encode, decode = module.get("encode"), module.get("decode")
    while True:
        msg = _recv(ctrl_in)
        if msg is None or msg.get("op") == "exit":
            os._exit(0)
        stage = msg["op"]
        try:
            if stage == "encode":
                shape = tuple(msg["shape"])
                frames = np.frombuffer(inp, np.uint8, int(np.prod(shape))).reshape(shape)
                result = encode(frames, msg["quality"])
                if not isinstance(result, (bytes, bytearray, memoryview)):
                    _send(ctrl_out, {"ok": False, "kind": "output", "stage": stage,
                                     "message": f"encode returned {type(result).__name__}, "
                                                f"expected bytes"})
                    continue
                data = memoryview(result).cast("B")
                if len(data) > cfg["out_size"]:
                    _send(ctrl_out, {"ok": False, "kind": "too_large", "stage": stage,
                                     "message": f"the bitstream of {len(data)} bytes is over "
                                                f"the limit of {cfg['out_size']} bytes",
                                     "detail": {"nbytes": len(data)}})
                    continue
                out[:len(data)] = data
                _send(ctrl_out, {"ok": True, "nbytes": len(data)})
            else:
                data = inp[:msg["nbytes"]]  # the bitstream as bytes
                result = decode(data)
                if not isinstance(result, np.ndarray):
                    _send(ctrl_out, {"ok": False, "kind": "output", "stage": stage,
                                     "message": f"decode returned {type(result).__name__}, "
                                                f"expected a numpy uint8 array"})
                    continue
                if result.dtype != np.uint8:
                    bad = (np.issubdtype(result.dtype, np.floating)
                           and not np.all(np.isfinite(result)))
                    what = "NaN or infinite values" if bad else f"dtype {result.dtype}"
                    _send(ctrl_out, {"ok": False, "kind": "output", "stage": stage,
                                     "message": f"decode returned {what}; expected uint8 "
                                                f"frames of shape (T, H, W, 3)",
                                     "detail": {"shape": list(result.shape)}})
                    continue
                if result.nbytes > cfg["out_size"]:
                    _send(ctrl_out, {"ok": False, "kind": "output", "stage": stage,
                                     "message": f"decode returned shape {result.shape}, larger "
                                                f"than the segment",
                                     "detail": {"shape": list(result.shape)}})
                    continue
                out[:result.nbytes] = np.ascontiguousarray(result).data.cast("B")
                _send(ctrl_out, {"ok": True, "shape": list(result.shape)})
        except SystemExit as exc:
            _send(ctrl_out, {"ok": False, "kind": "crash", "stage": stage,
                             "message": f"{stage} called sys.exit({exc.code!r}) instead of "
                                        f"returning"})
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001
            _send(ctrl_out, _failure(exc, stage, lines))


if __name__ == "__main__":
    main()
