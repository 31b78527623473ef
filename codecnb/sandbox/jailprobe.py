"""Inside the jail: try every forbidden act and report what the kernel answered.

Run by :mod:`codecnb.sandbox.verify` as ``python /usr/lib/codecnb/jailprobe.py MODE`` in exactly
the jail a candidate gets (standard library and ctypes only, never codecnb). It is our own
code, so its report is trusted; the parent also checks the process from outside.

Modes:

* ``acts``: says it is ready (the parent looks at it from outside before it acts), reads a
  JSON configuration line, answers one JSON line of results, then waits
  for a line: ``hook`` installs the candidate bootstrap's audit hook and opens a file
  outside the allowlist (the hook must refuse and end the process).
* ``limits``: starts threads past the process limit, then fills a memfd past the memory
  limit, reporting progress; the cgroup must stop both.
"""
import ctypes
import json
import mmap
import os
import socket
import sys
import threading
import time

_libc = ctypes.CDLL(None, use_errno=True)
# x86_64 and aarch64 (generic) system-call numbers of the calls the filter refuses
_SYSCALLS = {
    "x86_64": {"add_key": 248, "keyctl": 250, "unshare": 272, "mount": 165, "ptrace": 101,
               "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
               "io_uring_setup": 425, "process_vm_readv": 310, "setns": 308,
               "init_module": 175, "reboot": 169, "sysinfo": 99, "process_madvise": 440,
               "memfd_secret": 447, "statmount": 457, "listmount": 458,
               "quotactl_fd": 443},
    "aarch64": {"add_key": 217, "keyctl": 219, "unshare": 97, "mount": 40, "ptrace": 117,
                "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
                "io_uring_setup": 425, "process_vm_readv": 270, "setns": 268,
                "init_module": 105, "reboot": 142, "sysinfo": 179, "process_madvise": 440,
                "memfd_secret": 447, "statmount": 457, "listmount": 458,
                "quotactl_fd": 443},
}
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000


def _errno_of(fn):
    try:
        fn()
        return 0
    except OSError as exc:
        return exc.errno or -1


def _syscall(name, *args):
    nr = _SYSCALLS.get(os.uname().machine, {}).get(name)
    if nr is None:
        return None
    ctypes.set_errno(0)
    res = _libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return 0 if res >= 0 else ctypes.get_errno()


def _write_file(path):
    with open(path, "w") as f:
        f.write("x\n")


def acts(cfg):
    out = {"uid": os.getuid(), "root": sorted(os.listdir("/")),
           "present": [p for p in cfg["absent"] if os.path.lexists(p)]}
    out["write_core_pattern"] = _errno_of(lambda: _write_file("/proc/sys/kernel/core_pattern"))
    out["write_sysrq"] = _errno_of(lambda: _write_file("/proc/sysrq-trigger"))
    out["write_root"] = _errno_of(lambda: _write_file("/probe-file"))
    out["kmsg"] = os.path.exists("/dev/kmsg")
    out["proc_readable"] = []  # kernel facts and machine-wide counters: none may be read
    for name in cfg.get("proc_masked", ()):
        try:   # non-blocking: /proc/kmsg, where it is not masked, would wait for a message
            fd = os.open(f"/proc/{name}", os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            os.read(fd, 1)
        except OSError:
            pass   # opened is enough to count as readable (EAGAIN: nothing queued yet)
        finally:
            os.close(fd)
        out["proc_readable"].append(name)
    out["socket"] = _errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    out["socket_unix"] = _errno_of(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    info = ctypes.create_string_buffer(256)   # struct sysinfo is 112 bytes on 64-bit
    key = b"user\0"
    out["syscalls"] = {
        "add_key": _syscall("add_key", ctypes.addressof(ctypes.create_string_buffer(key)),
                            ctypes.addressof(ctypes.create_string_buffer(b"k\0")), 0, 0,
                            -3),
        "keyctl": _syscall("keyctl", 1, 0),  # KEYCTL_JOIN_SESSION_KEYRING
        "unshare_user": _syscall("unshare", CLONE_NEWUSER),
        "unshare_net": _syscall("unshare", CLONE_NEWNET),
        "mount": _syscall("mount", 0, 0, 0, 0, 0),
        # PTRACE_ATTACH to no process: EPERM where refused, ESRCH where allowed; never
        # PTRACE_TRACEME, which would leave the probe stopped at its next signal where allowed
        "ptrace": _syscall("ptrace", 16, 0, 0, 0),
        "bpf": _syscall("bpf", 0, 0, 0),
        "perf_event_open": _syscall("perf_event_open", 0, 0, -1, -1, 0),
        "userfaultfd": _syscall("userfaultfd", 0),
        "io_uring_setup": _syscall("io_uring_setup", 1, 0),
        "process_vm_readv": _syscall("process_vm_readv", 1, 0, 0, 0, 0, 0),
        "setns": _syscall("setns", 0, 0),
        "init_module": _syscall("init_module", 0, 0, 0),
        "reboot": _syscall("reboot", 0, 0, 0, 0),
        "sysinfo": _syscall("sysinfo", ctypes.addressof(info)),   # info outlives the call
        "process_madvise": _syscall("process_madvise", -1, 0, 0, 0, 0),
        "memfd_secret": _syscall("memfd_secret", 0),
        "statmount": _syscall("statmount", 0, 0, 0, 0),
        "listmount": _syscall("listmount", 0, 0, 0, 0),
        "quotactl_fd": _syscall("quotactl_fd", -1, 0, 0, 0),
    }
    PR_GET_PDEATHSIG, PR_GET_NO_NEW_PRIVS = 2, 39
    sig = ctypes.c_int(0)
    _libc.prctl(PR_GET_PDEATHSIG, ctypes.byref(sig), 0, 0, 0)
    out["pdeathsig"] = sig.value
    out["no_new_privs"] = _libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
    st = os.statvfs(os.getcwd())
    out["cwd"] = os.getcwd()
    out["work_bytes"] = st.f_blocks * st.f_frsize
    out["work_writable"] = _errno_of(lambda: _write_file("probe.txt")) == 0
    fd = cfg.get("in_fd")
    if fd is not None:
        out["input_writable"] = _errno_of(
            lambda: mmap.mmap(fd, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE)) == 0
    out["environ"] = dict(os.environ)
    return out


def limits(cfg):
    started = []
    stop = threading.Event()
    for _ in range(cfg["threads"]):
        t = threading.Thread(target=stop.wait)
        try:
            t.start()
        except RuntimeError:
            break
        started.append(t)
    print(json.dumps({"threads": len(started)}), flush=True)
    stop.set()
    for t in started:
        t.join()
    fd = os.memfd_create("probe")
    chunk = b"\1" * (1 << 20)
    written = 0
    try:
        while written < cfg["memory_bytes"]:
            written += os.write(fd, chunk)
            if written % (16 << 20) == 0:
                print(json.dumps({"memfd": written}), flush=True)
    except OSError as exc:
        print(json.dumps({"memfd": written, "errno": exc.errno}), flush=True)
        return
    print(json.dumps({"memfd": written, "errno": 0}), flush=True)
    time.sleep(0.2)


def main():
    mode = sys.argv[1]
    if mode == "acts":
        print(json.dumps({"ready": True}), flush=True)  # seen from outside before any act
        cfg = json.loads(sys.stdin.readline())
        print(json.dumps(acts(cfg)), flush=True)
        if sys.stdin.readline().strip() == "hook":
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import child
            guard = child._Guard(1, os.getcwd(), [], [])
            sys.addaudithook(guard.hook)
            open("/usr/lib/codecnb/outside-the-allowlist")
            print(json.dumps({"hook": "did not refuse"}), flush=True)
    else:
        limits(json.loads(sys.stdin.readline()))


if __name__ == "__main__":
    main()
