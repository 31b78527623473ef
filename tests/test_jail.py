"""The second-generation sandbox against programs that have read its code.

Every attack here runs with the Python layers (audit hook, import guard) switched OFF and the
modules it needs allowed, so that what is tested is the operating-system layers alone: the
bubblewrap jail, the unprivileged host uid, seccomp and the cgroups. Each attack records
what the kernel answered and reports it in an exception message; the test asserts the
specific refusal (an errno), not just "failed". The same programs also run with the Python
layers on, where they must be refused by them (kind ``isolation``).
"""
from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from codecnb.evaluation import evaluate
from codecnb.sandbox import verify
from codecnb.sandbox.isolation import plan as sandbox_plan
from codecnb.sandbox.limits import GiB, Limits
from codecnb.sandbox.policy import ImportPolicy
from codecnb.sandbox.reaper import descendants
from conftest import ROOT, janitors, run_cli

SOURCE = "synthetic:pan?size=64x48&frames=8"
LIMITS = Limits(segment_timeout_s=8, evaluation_timeout_s=60, startup_timeout_s=30)
EVERYTHING = ("os", "sys", "ctypes", "socket", "json", "threading", "time", "signal", "errno", "stat",
              "subprocess", "gc", "mmap", "resource", "fcntl", "select", "struct")

HEADER = """
import ctypes, errno, json, os, socket, sys
import numpy as np
libc = ctypes.CDLL(None, use_errno=True)
NR = {"add_key": 248, "keyctl": 250, "unshare": 272, "mount": 165, "ptrace": 101,
      "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425,
      "process_vm_readv": 310, "setns": 308, "init_module": 175, "kexec_load": 246,
      "pivot_root": 155, "chroot": 161, "sysinfo": 99, "process_madvise": 440,
      "memfd_secret": 447, "statmount": 457, "listmount": 458, "quotactl_fd": 443}
def sys_call(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR[name]), *[ctypes.c_long(a) for a in args])
    return 0 if r >= 0 else ctypes.get_errno()
def err(fn):
    try:
        fn()
        return 0
    except OSError as e:
        return e.errno
def write(path, text="x"):
    with open(path, "w") as f:
        f.write(text)
def report(outcome):
    raise RuntimeError("OUTCOME " + json.dumps(outcome))
"""


def attack(body: str, where: str = "encode") -> str:
    """A program whose ``where`` runs ``body`` (which fills ``out``) and reports it."""
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    run = f"def {where}(*args):\n    out = {{}}\n{indented}\n    report(out)\n"
    other = ("def decode(data):\n    return np.zeros((4, 48, 64, 3), np.uint8)\n"
             if where == "encode" else
             "def encode(frames, quality):\n    return b'x'\n")
    return HEADER + run + other


def run(program: str, *, audit: bool = False, source: str = SOURCE, limits=LIMITS,
        frames: int | None = None, segment_frames: int = 4, qualities=(50,)):
    plan = dataclasses.replace(sandbox_plan(), audit=audit)
    return evaluate(program, source, qualities=list(qualities), segment_frames=segment_frames,
                    frames=frames, baselines=(), limits=limits,
                    policy=ImportPolicy().widened(*EVERYTHING), isolation=plan)


def outcome(res) -> dict:
    assert not res.ok and res.failure.kind == "exception", res.failure
    match = re.search(r"OUTCOME (\{.*\})", res.failure.message)
    assert match, res.failure.message
    return json.loads(match.group(1))


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """After every case: no process, no cgroup folder, no file of the sandbox remains."""
    before = descendants(os.getpid()) | janitors()
    tmp_before = set(os.listdir("/tmp")) | set(os.listdir("/dev/shm"))
    yield
    assert not descendants(os.getpid()) - before - janitors(), "a sandbox process survived"
    plan = sandbox_plan()
    for parent in plan.cgroups.parents.values():
        left = [p.name for p in parent.iterdir() if p.is_dir()] if parent.exists() else []
        assert not left, f"cgroups left behind: {left}"
    new = (set(os.listdir("/tmp")) | set(os.listdir("/dev/shm"))) - tmp_before
    assert not [n for n in new if n.startswith(("codecnb-sandbox", "codecnb-probe"))], new


# -- 1. never host root ----------------------------------------------------------------
def test_host_kernel_interfaces_refuse_the_candidate():
    res = run(attack("""
out["core_pattern"] = err(lambda: write("/proc/sys/kernel/core_pattern", "|/tmp/x"))
out["panic"] = err(lambda: write("/proc/sys/kernel/panic", "1"))
out["overcommit"] = err(lambda: write("/proc/sys/vm/overcommit_memory", "1"))
out["sysrq"] = err(lambda: write("/proc/sysrq-trigger", "h"))
out["kmsg"] = os.path.exists("/dev/kmsg")
out["shadow"] = [p for p in ("/etc/shadow", "/etc/shadow-", "/etc/gshadow-") if os.path.exists(p)]
out["uid"] = os.getuid()
out["setuid0"] = err(lambda: os.setuid(0))
"""))
    o = outcome(res)
    for key in ("core_pattern", "panic", "overcommit", "sysrq"):
        assert o[key] in (errno.EACCES, errno.EROFS, errno.EPERM, errno.ENOENT), (key, o)
    assert o["kmsg"] is False and o["shadow"] == []
    assert o["setuid0"] in (errno.EPERM, errno.EINVAL)  # uid 0 is not even mapped


def test_candidate_process_has_an_unprivileged_host_uid_and_no_capabilities():
    """Seen from outside while the program runs: host uid and gid never 0, no capability,
    no_new_privs, seccomp in filter mode, every namespace its own."""
    from codecnb.sandbox.process import SandboxProcess
    plan = sandbox_plan()
    program = "def encode(frames, quality):\n    return b''\ndef decode(data):\n    return 0\n"
    p = SandboxProcess("encode", program, in_size=4096, out_size=4096, plan=plan,
                       limits=LIMITS, policy=ImportPolicy())
    try:
        p.wait_ready(time.monotonic() + 30)
        pid = verify._candidate_pid(p.proc.pid, p.cgroup, jailed=True)
        status = Path(f"/proc/{pid}/status").read_text()
        uids = re.search(r"Uid:\s+(.*)", status).group(1).split()
        assert all(int(u) >= 1_000_000 for u in uids), uids  # never 0, never a system uid
        assert re.search(r"CapEff:\s+0+\n", status) and re.search(r"CapBnd:\s+0+\n", status)
        assert "NoNewPrivs:\t1" in status and "Seccomp:\t2" in status
        held = verify.outside_view(pid, p.cgroup)
        assert {"user-namespace", "pid-namespace", "net-namespace", "mount-namespace",
                "ipc-namespace", "uts-namespace", "cgroup-member"} <= held
    finally:
        p.close()


# -- 2. channels from encoder to decoder --------------------------------------------------
@pytest.mark.parametrize("where", ["encode", "decode"])
def test_seccomp_refuses_keyrings_namespaces_mounts_tracing_and_sockets(where):
    res = run(attack("""
key = ctypes.create_string_buffer(b"user"); desc = ctypes.create_string_buffer(b"frames")
out["add_key"] = sys_call("add_key", ctypes.addressof(key), ctypes.addressof(desc), 0, 0, -3)
out["keyctl"] = sys_call("keyctl", 1, 0)
out["unshare_user"] = sys_call("unshare", 0x10000000)
out["unshare_net"] = sys_call("unshare", 0x40000000)
out["setns"] = sys_call("setns", 0, 0)
out["mount"] = sys_call("mount", 0, 0, 0, 0, 0)
out["pivot_root"] = sys_call("pivot_root", 0, 0)
out["ptrace"] = sys_call("ptrace", 0, 0, 0, 0)
out["process_vm_readv"] = sys_call("process_vm_readv", 1, 0, 0, 0, 0, 0)
out["bpf"] = sys_call("bpf", 0, 0, 0)
out["perf_event_open"] = sys_call("perf_event_open", 0, 0, -1, -1, 0)
out["userfaultfd"] = sys_call("userfaultfd", 0)
out["io_uring_setup"] = sys_call("io_uring_setup", 1, 0)
out["init_module"] = sys_call("init_module", 0, 0, 0)
out["kexec_load"] = sys_call("kexec_load", 0, 0, 0, 0)
out["unix_socket"] = err(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
out["inet_socket"] = err(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
out["socketpair"] = err(lambda: socket.socketpair())
info = ctypes.create_string_buffer(256)
out["sysinfo"] = sys_call("sysinfo", ctypes.addressof(info))   # sharedram: a live channel
out["sysinfo_blank"] = 0 if info.raw == bytes(256) else -1      # and nothing of it written
pidfd = os.pidfd_open(os.getpid())
out["process_madvise"] = sys_call("process_madvise", pidfd, 0, 0, 3, 0)  # MADV_WILLNEED
out["memfd_secret"] = sys_call("memfd_secret", 0)
out["statmount"] = sys_call("statmount", 0, 0, 0, 0)
out["listmount"] = sys_call("listmount", 0, 0, 0, 0)
out["quotactl_fd"] = sys_call("quotactl_fd", 0, 0, 0, 0)
""", where))
    o = outcome(res)
    assert o.pop("sysinfo_blank") == 0, "sysinfo wrote something of the host"
    assert {k: v for k, v in o.items() if v != errno.EPERM} == {}, o


def test_a_setsid_daemon_is_frozen_and_killed_with_its_group():
    """A helper that leaves the process group and session keeps running only while its
    encoder does: the encoder's whole cgroup is frozen while the decoders run, and killed
    at the end; it can reach nothing the decoder sees."""
    res = run(HEADER + """
import time
def encode(frames, quality):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:           # a daemon counting in its own files
                with open("/sandbox/beat", "a") as f:
                    f.write("x")
                time.sleep(0.001)
        os._exit(0)
    return b"x"
def decode(data):
    time.sleep(0.3)              # the daemon would run meanwhile, if it could
    found = [p for p in ("/sandbox/beat",) if os.path.exists(p)]
    procs = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    report({"found": found, "procs": procs})
""")
    o = outcome(res)
    assert o["found"] == [] and o["procs"] == [1, 2], o  # bwrap's init and the decoder


# -- 3. the source is not on disk ----------------------------------------------------------
def test_root_is_an_allowlist(testdata):
    clip = testdata / "park_joy_480x270.y4m"
    res = run(attack(f"""
out["root"] = sorted(os.listdir("/"))
out["present"] = [p for p in {[str(clip), str(clip.parent), str(ROOT / ".git"), str(ROOT),
                              "/etc", "/home", "/var", "/tmp", "/usr/bin", "/bin/sh",
                              "/root/.cache", "/var/cache/codecnb", "/sys", "/run"]!r}
                  if os.path.exists(p)]
mounts = open("/proc/self/mountinfo").read()
out["mount_leaks"] = [n for n in ({str(clip.parent)!r}, "testdata", ".git") if n in mounts]
out["write_usr"] = err(lambda: write("/usr/lib/codecnb/x"))
out["write_root"] = err(lambda: write("/x"))
"""), source=str(clip), frames=4)
    o = outcome(res)
    assert set(o["root"]) <= {"usr", "lib", "lib64", "root", "proc", "dev", "sandbox"}, o["root"]
    assert o["present"] == [], o["present"]
    assert o["mount_leaks"] == []
    assert o["write_usr"] in (errno.EROFS, errno.EACCES, errno.ENOENT)
    assert o["write_root"] in (errno.EROFS, errno.EACCES)


def test_python_layers_switched_off_by_the_program_leave_the_os_layers(testdata):
    """The import guard's closure holds the real import: a program that digs it out gets
    `os`, and then meets the jail."""
    res = run("""
def encode(frames, quality):
    cells = [c.cell_contents for c in __import__.__closure__ or ()]
    real = [c for c in cells if getattr(c, "__name__", "") == "__import__"][0]
    o = real("os")
    out = {"listing": sorted(o.listdir("/")),
           "core": 0}
    try:
        open("/proc/sys/kernel/core_pattern", "w").write("|/x")
    except OSError as e:
        out["core"] = e.errno
    raise RuntimeError("OUTCOME " + real("json").dumps(out))
def decode(data):
    return None
""", audit=False)
    o = outcome(res)
    assert o["core"] in (errno.EACCES, errno.EROFS, errno.ENOENT)
    assert "sandbox" in o["listing"] and "etc" not in o["listing"]


# -- 4. forged control messages ----------------------------------------------------------------
FORGE = HEADER + """
import struct
def control_out():
    # the bootstrap's private copy of its reply pipe: the first pipe fd above 2 opened for
    # writing
    import stat, fcntl
    for fd in range(3, 64):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISFIFO(st.st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_WRONLY:
            return fd
def forge(raw):
    os.write(control_out(), raw)
def forge_json(obj):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    forge(struct.pack("<I", len(data)) + data)
"""


@pytest.mark.parametrize("name,forgery,stage", [
    ("negative-byte-count", 'forge_json({"ok": True, "nbytes": -1})', "encode"),
    ("byte-count-past-the-buffer", 'forge_json({"ok": True, "nbytes": 1 << 40})', "encode"),
    ("byte-count-not-an-integer", 'forge_json({"ok": True, "nbytes": 1.5})', "encode"),
    ("unknown-failure-kind", 'forge_json({"ok": False, "kind": "rm -rf"})', "encode"),
    ("deeply-nested", 'forge_json(b"[" * 100000 + b"]" * 100000)', "encode"),
    ("not-json", 'forge(struct.pack("<I", 5) + b"\\xff\\xfe{{]")', "encode"),
    ("huge-length", 'forge(struct.pack("<I", 1 << 31))', "encode"),
    ("not-an-object", 'forge_json([1, 2, 3])', "encode"),
    ("decode-shape-lie", 'forge_json({"ok": True, "shape": [4, 48, 64, 3, "x"]})', "decode"),
])
def test_forged_replies_are_protocol_failures(name, forgery, stage):
    body = f"    {forgery}\n    import time\n    time.sleep(5)\n"
    if stage == "encode":
        program = FORGE + f"def encode(frames, quality):\n{body}" \
            "def decode(data):\n    return None\n"
    else:
        program = FORGE + "def encode(frames, quality):\n    return b'x'\n" \
            f"def decode(data):\n{body}"
    t0 = time.monotonic()
    res = run(program)
    assert res.failure is not None and res.failure.kind == "protocol", (name, res.failure)
    assert time.monotonic() - t0 < 30


def test_a_child_cannot_fill_its_own_request_pipe():
    """Reopening its request pipe for writing through /proc and filling it would block
    the evaluator's next write: the pipe belongs to the evaluator's uid, so the reopen is
    refused; were it not, writes to a child have a deadline too."""
    res = run(FORGE + """
def encode(frames, quality):
    import fcntl, stat
    for fd in range(3, 64):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISFIFO(st.st_mode) and not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_WRONLY:
            try:
                w = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                report({"reopen": e.errno})
            try:
                while True:
                    os.write(w, b"\\0" * 65536)
            except BlockingIOError:
                pass
    return b"x"
def decode(data):
    return np.zeros((4, 48, 64, 3), np.uint8)
""", qualities=(30, 70), limits=dataclasses.replace(LIMITS, segment_timeout_s=3))
    if res.failure.kind == "exception":
        assert outcome(res) == {"reopen": errno.EACCES}
    else:
        assert res.failure.kind in {"timeout", "protocol"}, res.failure


def test_times_are_measured_by_the_evaluator():
    res = run(HEADER + """
import time
def encode(frames, quality):
    time.sleep(0.4)
    time.perf_counter = lambda: 0.0   # a lie the evaluator never asks for
    time.monotonic = lambda: 0.0
    return b"x" * 10
def decode(data):
    time.sleep(0.2)
    return np.zeros((4, 48, 64, 3), np.uint8)
""", frames=4)
    assert res.ok, res.failure
    assert res.points[0].encode_s >= 0.4 and res.points[0].decode_s >= 0.2


# -- 5. limits over the whole tree ----------------------------------------------------------------
def test_memory_in_memfds_counts():
    res = run(HEADER + """
def encode(frames, quality):
    fds = []
    for _ in range(6):                      # 6 x 200 MiB of memfd, none in the address space
        fd = os.memfd_create("hoard")
        chunk = b"\\1" * (1 << 20)
        for _ in range(200):
            os.write(fd, chunk)
        fds.append(fd)
    return b"x"
def decode(data):
    return None
""", limits=dataclasses.replace(LIMITS, memory_bytes=1 * GiB, segment_timeout_s=60))
    assert not res.ok and res.failure.kind == "memory", res.failure


@pytest.mark.slow
def test_memory_over_several_processes_counts():
    """Four children of 400 MiB each, each under the 1 GiB limit alone: the group's limit
    is for all of them together, and the evaluation fails with kind memory."""
    res = run(HEADER + """
import time
def encode(frames, quality):
    kids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            hog = np.ones(400 << 20, np.uint8)
            time.sleep(3)
            os._exit(0)
        kids.append(pid)
    for pid in kids:
        os.waitpid(pid, 0)
    return b"x"
def decode(data):
    return np.zeros((4, 48, 64, 3), np.uint8)
""", limits=dataclasses.replace(LIMITS, memory_bytes=1 * GiB, segment_timeout_s=60))
    assert not res.ok and res.failure.kind == "memory", res.failure


def test_process_count_is_bounded_for_the_whole_tree():
    res = run(attack("""
import threading, time
stop = threading.Event()
started = 0
try:
    for _ in range(500):
        threading.Thread(target=stop.wait).start()
        started += 1
except RuntimeError:
    pass
out["threads"] = started
forks = 0
for _ in range(50):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        forks += 1
    except OSError as e:
        out["fork_errno"] = e.errno
        break
out["forks"] = forks
stop.set()
"""), limits=dataclasses.replace(LIMITS, processes=64))
    o = outcome(res)
    assert o["threads"] < 64 and o.get("fork_errno") == errno.EAGAIN, o


# -- 6. program size ----------------------------------------------------------------------------
def test_a_program_over_the_size_cap_never_runs():
    frames = np.zeros((4, 48, 64, 3), np.uint8)
    program = ("import numpy as np\nDATA = " + repr(frames.tobytes() * 2) + "\n"
               "def encode(frames, quality):\n    return b'x'\n"
               "def decode(data):\n    return np.frombuffer(DATA, np.uint8).reshape(4, 48, 64, 3)\n")
    res = run(program)
    assert res.failure.kind == "program-size" and res.failure.stage == "static"
    assert res.program_bytes == len(program.encode()) > 64 << 10
    assert "program-size" in res.to_json()


# -- 7. lifetime: SIGTERM of the evaluator ----------------------------------------------------
def _runs_child(pid: int) -> bool:
    """Whether ``pid`` is the Python process of a candidate (not its launcher or jail)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return os.path.basename(argv[0]).startswith(b"python") and \
        b"/usr/lib/codecnb/child.py" in argv


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_of_the_evaluator_leaves_nothing(tmp_path, sig):
    program = tmp_path / "slow.py"
    program.write_text("import time\nimport numpy as np\n"
                       "def encode(frames, quality):\n    time.sleep(60)\n    return b'x'\n"
                       "def decode(data):\n    return None\n")
    proc = subprocess.Popen([sys.executable, "-m", "codecnb", "eval", str(program),
                             "--source", SOURCE, "--quality", "50"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            env={**os.environ, "CODECNB_CACHE_DIR": str(tmp_path / "cache")})
    deadline = time.monotonic() + 60
    sandboxed = set()
    while time.monotonic() < deadline and not sandboxed:
        time.sleep(0.2)
        sandboxed = {p for p in descendants(proc.pid) if _runs_child(p)}
    assert sandboxed, proc.stderr.read1().decode() if proc.poll() is not None else "no sandbox"
    time.sleep(1.0)
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == {signal.SIGTERM: 143, signal.SIGINT: 130}[sig]
    deadline = time.monotonic() + 5
    while (alive := [p for p in sandboxed if _runs_child(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, alive
    for ctrl in ("pids", "freezer", "cpuacct"):
        stale = [p for p in Path(f"/sys/fs/cgroup/{ctrl}").glob(f"codecnb-{proc.pid}-*")]
        assert not stale, stale


def test_sigkill_of_the_evaluator_leaves_nothing(tmp_path):
    """SIGKILL runs no code of the evaluator: its janitor (a process of its own, outside the
    sandboxes' groups) sees its pipe close, thaws, kills and removes every group."""
    script = tmp_path / "slow.py"
    script.write_text(
        "from codecnb.evaluation import evaluate\n"
        "evaluate('import time\\nimport numpy as np\\n"
        "def encode(frames, quality):\\n    return b\\'x\\'\\n"
        "def decode(data):\\n    time.sleep(60)\\n', "
        f"{SOURCE!r}, qualities=[30, 70], segment_frames=4, baselines=())\n")
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path,
                            env={**os.environ, "CODECNB_CACHE_DIR": str(tmp_path / "c")})
    deadline = time.monotonic() + 60
    sandboxed = set()
    while time.monotonic() < deadline and len(sandboxed) < 3:
        time.sleep(0.2)
        sandboxed = {p for p in descendants(proc.pid) if _runs_child(p)}
    assert len(sandboxed) == 3  # the encoder and two frozen decoders
    time.sleep(1.0)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        alive = [p for p in sandboxed if _runs_child(p)]
        groups = [g for c in ("pids", "freezer", "cpuacct")
                  for g in Path(f"/sys/fs/cgroup/{c}").glob(f"codecnb-{proc.pid}-*")]
        if not alive and not groups:
            break
        time.sleep(0.2)
    assert not alive and not groups, (alive, groups)


# -- Python layers on: the same attacks are refused earlier ---------------------------------------
def test_with_the_python_layers_on_the_attacks_are_refused_first():
    res = run(attack('out["x"] = err(lambda: write("/proc/sys/kernel/core_pattern"))'),
              audit=True)
    assert res.failure.kind == "isolation"
    res = run(FORGE + "def encode(frames, quality):\n    forge_json({'ok': True, 'nbytes': -1})"
              "\n    return b'x'\ndef decode(data):\n    return None\n", audit=True)
    assert res.failure.kind in {"isolation", "protocol"}


def test_multi_segment_decoder_side_cheat_scores_nothing(testdata):
    """A decoder that looks for the frames anywhere it can (files, /proc, environment)
    over two segments of a real clip finds nothing and scores nothing."""
    clip = testdata / "park_joy_480x270.y4m"
    res = run(HEADER + """
def encode(frames, quality):
    try:
        write("/sandbox/frames.bin", "x")
    except OSError:
        pass
    return b"\\0"
def decode(data):
    seen = []
    for root in ("/sandbox", "/proc/1", "/dev"):
        try:
            seen += os.listdir(root)
        except OSError:
            pass
    if "frames.bin" in seen:
        raise RuntimeError("found the encoder's file")
    return np.zeros((2, 270, 480, 3), np.uint8)
""", source=str(clip), frames=4, segment_frames=2)
    assert res.ok and all(p.psnr_y < 15 for p in res.points), res.failure


# -- constriction: pure computation, and the jail holds with it -------------------------------
def test_constriction_links_no_network_or_process_calls():
    """The entropy-coding library the candidates may import: its native module imports no
    networking, process-creation, tracing or signalling function of the C library."""
    import constriction
    so = sorted(Path(constriction.__file__).parent.glob("*.so"))
    assert so
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(so[0])], capture_output=True,
                         text=True, check=True).stdout
    imported = {line.split()[7].split("@")[0] for line in out.splitlines()
                if len(line.split()) >= 8 and line.split()[6] == "UND"}
    forbidden = {"socket", "connect", "bind", "listen", "accept", "sendto", "recvfrom",
                 "fork", "vfork", "execve", "execvp", "posix_spawn", "clone", "kill",
                 "ptrace", "system", "popen", "dlopen"}
    assert not imported & forbidden, imported & forbidden
    assert "malloc" in imported  # the table was read


def test_the_jail_holds_with_constriction_imported():
    res = run(attack("""
import constriction
coder = constriction.stream.stack.AnsCoder()
model = constriction.stream.model.QuantizedGaussian(-50, 50)
coder.encode_reverse(np.array([1, -2, 3], np.int32), model, np.zeros(3), np.full(3, 5.0))
out["coded"] = int(coder.num_bits())
out["socket"] = err(lambda: socket.socket())
out["core"] = err(lambda: write("/proc/sys/kernel/core_pattern"))
out["root"] = sorted(os.listdir("/"))
"""))
    o = outcome(res)
    assert o["coded"] > 0 and o["socket"] == errno.EPERM
    assert o["core"] in (errno.EACCES, errno.EROFS, errno.ENOENT)
    assert "etc" not in o["root"]


# -- a weaker host: refused unless accepted, and every result says so --------------------------
def test_without_bubblewrap_candidates_are_refused_unless_a_weak_sandbox_is_accepted(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "setpriv", "ldd", "readelf"):
        found = subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip()
        if found:
            (bin_dir / tool).symlink_to(found)
    program = tmp_path / "p.py"
    program.write_text("import numpy as np\ndef encode(frames, quality):\n    return b'x'\n"
                       "def decode(data):\n    return np.zeros((4, 48, 64, 3), np.uint8)\n")
    env = {"PATH": str(bin_dir), "CODECNB_CACHE_DIR": str(tmp_path / "cache")}
    proc = run_cli("eval", str(program), "--source", "synthetic:pan?size=64x48&frames=4",
                   "--quality", "50", "--json", env=env)
    assert proc.returncode == 3, proc.stderr
    assert "bubblewrap" in proc.stderr and "--weak-sandbox" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    proc = run_cli("eval", str(program), "--source", "synthetic:pan?size=64x48&frames=4",
                   "--quality", "50", "--json", env={**env, "CODECNB_WEAK_SANDBOX": "1"})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["sandbox"]["weak"] is True
    assert any("bubblewrap" in m for m in out["sandbox"]["missing"])
    assert not {"allowlist-root", "seccomp", "net-namespace", "unprivileged-host-uid",
                "cgroup-memory", "cgroup-pids", "exclusive-scheduling"} & set(out["isolation"])
    assert "env-allowlist" in out["isolation"] and "rlimits" in out["isolation"]


# -- the evaluator as an unprivileged user ------------------------------------------------------
@pytest.fixture(scope="module")
def unprivileged():
    """A uid with no home and no root: the Python of this venv made reachable for it
    (hard links of the interpreter and its standard library), and a cgroup subtree delegated
    to it, as systemd delegates one to a user's session."""
    if os.geteuid() != 0:
        pytest.skip("the test runs as root and drops to another uid")
    import sysconfig
    import shutil
    import tempfile
    uid = 4_000_000 + os.getpid() % 100_000
    base = Path(tempfile.mkdtemp(prefix="codecnb-unpriv-"))  # /tmp/pytest-of-root is 0700
    base.chmod(0o755)
    home = base / "python"
    (home / "lib").mkdir(parents=True)
    (home / "bin").mkdir()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    subprocess.run(["cp", "-al", str(stdlib), str(home / "lib" / stdlib.name)], check=True)
    libdir = Path(sysconfig.get_config_var("LIBDIR"))
    for lib in libdir.glob("libpython*.so*"):
        subprocess.run(["cp", "-al", str(lib), str(home / "lib" / lib.name)], check=True)
    exe = home / "bin" / Path(sys.executable).resolve().name
    subprocess.run(["cp", "-al", str(Path(sys.executable).resolve()), str(exe)], check=True)
    for p in [base, *base.rglob("*")]:
        if p.is_dir():
            p.chmod(p.stat().st_mode | 0o755)
    own = [line.split(":", 2) for line in Path("/proc/self/cgroup").read_text().splitlines()]
    relative = f"codecnb-delegated-{uid}"
    groups = []
    for ctrl in ("memory", "pids", "freezer", "cpuacct"):
        mine = next(p for _, c, p in own if ctrl in c.split(","))
        group = Path("/sys/fs/cgroup") / ctrl / mine.lstrip("/") / relative
        group.mkdir(exist_ok=True)
        for f in [group, *group.iterdir()]:
            os.chown(f, uid, uid)
        groups.append(group)
    (base / "cache").mkdir()
    os.chown(base / "cache", uid, uid)  # the user's own cache folder
    site = Path(sysconfig.get_paths()["purelib"])
    env = {"PATH": "/usr/bin:/bin", "PYTHONHOME": str(home),
           "PYTHONPATH": f"{site}:{ROOT}", "LD_LIBRARY_PATH": str(home / "lib"),
           "CODECNB_CACHE_DIR": str(base / "cache"), "HOME": str(base),
           "CODECNB_CGROUP_PARENT": relative}  # below the evaluator's own groups
    yield {"uid": uid, "exe": str(exe), "env": env, "base": base}
    shutil.rmtree(base, ignore_errors=True)
    for group in groups:
        for child in sorted(group.glob("*/*"), reverse=True) + sorted(group.glob("*")):
            if child.is_dir():
                child.rmdir()
        if group.exists():
            group.rmdir()


@pytest.mark.slow
def test_evaluator_as_an_unprivileged_user(unprivileged):
    """The same layers hold when the evaluator itself is not root: the candidate then
    runs as the evaluator's own uid inside the jail. The attack runs with the Python
    layers off, so the OS layers are what answer it."""
    if not all(Path(f"/sys/fs/cgroup/{c}").exists() for c in ("memory", "pids")):
        pytest.skip("this test delegates cgroup v1 groups")
    program = unprivileged["base"] / "attack.py"
    program.write_text(attack("""
out["uid_inside"] = os.getuid()
out["root"] = sorted(os.listdir("/"))
out["core"] = err(lambda: write("/proc/sys/kernel/core_pattern"))
out["socket"] = err(lambda: socket.socket())
out["keyctl"] = sys_call("keyctl", 1, 0)
"""))
    program.chmod(0o644)
    script = (
        "import dataclasses, sys\n"
        "from codecnb.evaluation import evaluate\n"
        "from codecnb.sandbox.isolation import plan\n"
        "from codecnb.sandbox.policy import ImportPolicy\n"
        f"res = evaluate(open({str(program)!r}).read(), 'synthetic:pan?size=64x48&frames=4',\n"
        "    qualities=[50], segment_frames=4, baselines=(),\n"
        f"    policy=ImportPolicy().widened(*{EVERYTHING!r}),\n"
        "    isolation=dataclasses.replace(plan(), audit=False))\n"
        "print(res.to_json())\n")
    u = unprivileged
    cmd = ["setpriv", f"--reuid={u['uid']}", f"--regid={u['uid']}", "--clear-groups",
           u["exe"], "-c", script]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=u["env"], cwd=u["base"],
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["sandbox"] == {"weak": False, "missing": [], "python_guards": False}
    o = json.loads(re.search(r"OUTCOME (\{.*\})", out["failure"]["message"]).group(1))
    assert o["core"] in (errno.EACCES, errno.EROFS, errno.ENOENT)
    assert o["socket"] == errno.EPERM
    assert o["keyctl"] == errno.EPERM and "etc" not in o["root"]
    assert {"seccomp", "allowlist-root", "user-namespace", "cgroup-memory", "cgroup-pids",
            "unprivileged-host-uid", "exclusive-scheduling", "no-capabilities"} <= \
        set(out["isolation"])


# -- red-team findings, kept as regressions -------------------------------------------------------
def test_shared_runtime_inodes_carry_nothing():
    """Every jail binds the same runtime files: locks, leases, change notification and
    page-cache eviction or probing on them are refused."""
    res = run(attack("""
import fcntl, struct
fd = os.open(os.__file__, os.O_RDONLY)
lock = struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 0, 1, 0)
out["setlk"] = err(lambda: fcntl.fcntl(fd, fcntl.F_SETLK, lock))
out["getlk"] = err(lambda: fcntl.fcntl(fd, fcntl.F_GETLK, lock))
out["ofd_setlk"] = err(lambda: fcntl.fcntl(fd, 37, lock))
out["flock"] = err(lambda: fcntl.flock(fd, fcntl.LOCK_SH))
out["lease"] = err(lambda: fcntl.fcntl(fd, 1024, fcntl.F_RDLCK))
out["notify"] = err(lambda: fcntl.fcntl(fd, 1026, 1))
out["fadvise"] = err(lambda: os.posix_fadvise(fd, 0, 4096, os.POSIX_FADV_DONTNEED))
out["preadv2"] = err(lambda: os.preadv(fd, [bytearray(16)], 0, os.RWF_NOWAIT))
inotify_init1 = libc.inotify_init1
ctypes.set_errno(0)
out["inotify"] = 0 if inotify_init1(0) >= 0 else ctypes.get_errno()
"""))
    o = outcome(res)
    assert {k: v for k, v in o.items() if v != errno.EPERM} == {}, o


def test_shared_buffers_cannot_be_resized_reopened_or_resealed():
    """The decoder's output memfd is writable by it, but sealed at its size and owned by the
    evaluator: no truncation (the evaluator's mapping would fault), no growth or writes past
    the end (data would outlive the zeroing), no reopening the read-only input for writing,
    no seals of its own against the next candidate."""
    res = run(HEADER + """
import fcntl
def encode(frames, quality):
    return b"x"
def decode(data):
    out = {}
    for fd in range(3, 64):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "codecnb-buffer" not in target:
            continue
        size = os.fstat(fd).st_size
        writable = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR
        tag = "out" if writable else "in"
        out[tag + "_truncate"] = err(lambda: os.ftruncate(fd, 0))
        out[tag + "_reopen_rw"] = err(lambda: os.open(f"/proc/self/fd/{fd}", os.O_RDWR))
        out[tag + "_seal"] = err(lambda: fcntl.fcntl(fd, 1033, 0x0008))
        if writable:
            out["out_write_past_end"] = err(lambda: os.pwrite(fd, b"x", size + 4096))
            out["out_grow"] = err(lambda: os.posix_fallocate(fd, 0, size + (1 << 20)))
    report(out)
""")
    o = outcome(res)
    assert set(o) >= {"in_truncate", "in_reopen_rw", "out_truncate", "out_write_past_end",
                      "out_grow", "out_seal"}, o
    assert o["in_truncate"] in (errno.EINVAL, errno.EPERM, errno.EBADF)  # read-only fd
    assert o["in_reopen_rw"] == errno.EACCES and o["out_reopen_rw"] == errno.EACCES
    assert o["out_truncate"] == errno.EPERM and o["out_write_past_end"] == errno.EPERM
    assert o["out_grow"] == errno.EPERM and o["out_seal"] == errno.EPERM


@pytest.mark.parametrize("how", ["exit-97", "bwrap-text"])
def test_a_candidate_cannot_pass_for_a_broken_sandbox(how):
    """Set-up failures are told apart by the bootstrap's boot message, sent before any of
    the program's code runs: a program that imitates one is the candidate's crash."""
    imitation = {"exit-97": "os._exit(97)",
                 "bwrap-text": "os.write(2, b'bwrap: Creating new namespace failed\\\\n'); "
                               "os._exit(1)"}[how]
    res = run(HEADER + f"{imitation}\ndef encode(frames, quality):\n    return b''\n"
              "def decode(data):\n    return None\n")
    assert not res.ok and res.failure.kind == "crash" and res.failure.stage == "load"


def test_the_jail_shows_nothing_of_the_host_in_proc():
    host = [str(ROOT), str(Path.cwd()), "/var/cache/codecnb"]
    res = run(attack(f"""
texts = {{"cmdline": open("/proc/1/cmdline", "rb").read(),
          "environ": open("/proc/1/environ", "rb").read(),
          "mounts": open("/proc/self/mountinfo", "rb").read()}}
for name, text in texts.items():
    out[name] = [h for h in {host!r} if h.encode() in text]
"""))
    o = outcome(res)
    assert o["cmdline"] == [] and o["environ"] == []
    assert str(ROOT) not in o["mounts"], o  # the runtime folder is named; the checkout not


# -- what a result reports ------------------------------------------------------------------------
EVERY_LAYER = {"allowlist-root", "private-tmpfs", "unprivileged-host-uid", "no-capabilities",
               "no-new-privs", "user-namespace", "pid-namespace", "net-namespace",
               "ipc-namespace", "uts-namespace", "mount-namespace", "cgroup-namespace",
               "proc-sys-read-only", "seccomp", "env-allowlist", "die-with-parent",
               "cgroup-memory", "cgroup-pids", "exclusive-scheduling", "memfd-transport",
               "rlimits"}


def test_every_layer_of_the_docs_is_verified_here():
    """On this machine (root, cgroup v1, bubblewrap) every layer of docs/security.md is
    verified, and nothing else is claimed: the Python guards are reported apart."""
    res = evaluate("import numpy as np\ndef encode(frames, quality):\n    return b'x'\n"
                   "def decode(data):\n    return np.zeros((4, 48, 64, 3), np.uint8)\n",
                   SOURCE, frames=4, qualities=[50], segment_frames=4, baselines=())
    assert res.ok, res.failure
    assert set(res.isolation) == EVERY_LAYER
    assert res.sandbox == {"weak": False, "missing": [], "python_guards": True}
    docs = (ROOT / "docs" / "security.md").read_text()
    for layer in EVERY_LAYER:
        name = layer.replace("-namespace", "") if layer.endswith("-namespace") else layer
        assert f"`{name}" in docs, layer


def test_a_layer_that_does_not_hold_stops_the_evaluation(monkeypatch):
    """If a candidate process were not in its namespaces (here: the outside view is told
    so), the evaluation stops with a SandboxError instead of reporting the layer."""
    from codecnb.errors import SandboxError
    assert "net-namespace" in verify.probe_layers(sandbox_plan())  # probed before the lie
    real = verify.outside_view
    monkeypatch.setattr(verify, "outside_view",
                        lambda pid, cg: real(pid, cg) - {"net-namespace"})
    with pytest.raises(SandboxError, match="net-namespace"):
        evaluate("def encode(frames, quality):\n    return b''\n"
                 "def decode(data):\n    return None\n", SOURCE, frames=4, qualities=[50],
                 segment_frames=4, baselines=())


def test_stale_groups_of_dead_evaluators_are_swept():
    from codecnb.sandbox import cgroups
    h = sandbox_plan().cgroups
    stale = [parent.parent / "codecnb-999999-deadbeef" for parent in h.parents.values()]
    for folder in stale:
        (folder / "decode-1").mkdir(parents=True, exist_ok=True)
    assert cgroups.sweep_stale(h, min_age_s=-60) >= 2 * len(stale)
    assert not any(folder.exists() for folder in stale)


def _group_with_a_sleeper(h, folder: str, group: str):
    """A group ``folder/group`` in every hierarchy of ``h`` holding a ``sleep 600``
    process: (the groups, the process)."""
    groups = [parent.parent / folder / group for parent in h.parents.values()]
    for g in groups:
        g.mkdir(parents=True, exist_ok=True)
    files = " ".join(str(g / "cgroup.procs") for g in groups)
    sleeper = subprocess.Popen(["sh", "-c", f"for f in {files}; do echo $$ > $f; done; "
                                "exec sleep 600"])
    time.sleep(0.3)
    return groups, sleeper


def test_frozen_groups_of_an_evaluator_without_janitor_are_killed_and_swept():
    """An evaluator killed together with its janitor leaves frozen processes, which the
    parent-death kill cannot reach: older than any evaluation may last, they are thawed,
    killed and removed at the next start."""
    from codecnb.sandbox import cgroups
    h = sandbox_plan().cgroups
    groups, sleeper = _group_with_a_sleeper(h, "codecnb-999998-0badc0de", "decode-1")
    freezer = next((g for g in groups if (g / "freezer.state").exists()), None)
    if freezer is not None:
        (freezer / "freezer.state").write_text("FROZEN")
    assert cgroups.sweep_stale(h, kill_age_s=-1) >= 1
    assert sleeper.wait(timeout=15) == -signal.SIGKILL
    assert not any(g.parent.exists() for g in groups)


def test_groups_of_a_live_evaluator_are_never_killed_by_another():
    """However old its groups look, an evaluator that still runs (the pid in the folder's
    name, started before the folder) keeps its processes: another evaluator's start-up
    sweep, or this suite run beside a campaign, never kills them."""
    from codecnb.sandbox import cgroups
    h = sandbox_plan().cgroups
    # this process: alive, started before the folder
    groups, sleeper = _group_with_a_sleeper(h, f"codecnb-{os.getpid()}-0badc0d1", "encode-1")
    try:
        cgroups.sweep_stale(h, kill_age_s=-1)
        assert sleeper.poll() is None and all(g.exists() for g in groups)
    finally:
        sleeper.kill()
        sleeper.wait()
        for g in groups:
            for _ in range(100):
                try:
                    g.rmdir()
                    g.parent.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)


def test_program_size_is_logged_with_every_run(campaign_store):
    from codecnb.tracking import client
    from codecnb.tracking import runs as R
    c = client(campaign_store.uri)
    kids = R.children(c, campaign_store.experiment_id, campaign_store.campaign)
    sizes = [k.data.metrics.get("program_bytes") for k in kids
             if k.data.tags.get("codecnb.status")]
    assert sizes and all(s and s > 0 for s in sizes), sizes
    assert all(k.data.tags.get("codecnb.sandbox") == "full" for k in kids
               if k.data.tags.get("codecnb.status"))


@pytest.mark.parametrize("where", ["encode", "decode"])
@pytest.mark.parametrize("body", [
    'out["x"] = err(lambda: write("/proc/sys/kernel/core_pattern", "|/x"))',
    'out["x"] = sys_call("keyctl", 1, 0)',
    'out["x"] = err(lambda: socket.socket(socket.AF_UNIX))',
    'out["x"] = sorted(os.listdir("/"))',
    'out["x"] = open("/proc/1/environ").read()',
], ids=["proc-sys", "keyring", "unix-socket", "list-root", "proc-environ"])
def test_with_the_python_layers_on_each_class_is_refused_by_them(where, body):
    """The same attacks with the Python layers on (every module still allowed statically):
    the audit hook refuses them first, with kind isolation, in the encoder and the
    decoder."""
    res = run(attack(body, where), audit=True)
    assert res.failure is not None and res.failure.kind == "isolation", res.failure
    assert res.failure.message.startswith("refused by the sandbox")


def test_no_two_jails_share_a_folder():
    """The kernel caches the names looked up in a folder, found or not, and a lookup's time
    tells whether it was cached: two jails that shared a folder could pass bits. Each jail's
    runtime folders are its own (private copies of hard links), in one evaluation and
    across evaluations."""
    program = HEADER + """
def folders():
    import numpy
    return [os.stat(os.path.dirname(m.__file__)).st_ino for m in (os, numpy)]
def encode(frames, quality):
    return json.dumps(folders()).encode()
def decode(data):
    report({"encoder": json.loads(data), "decoder": folders()})
"""
    first, second = outcome(run(program, frames=4)), outcome(run(program, frames=4))
    inodes = [first["encoder"], first["decoder"], second["encoder"], second["decoder"]]
    for i in range(2):
        assert len({ino[i] for ino in inodes}) == 4, inodes


@pytest.mark.parametrize("how", ["blank-argv", "exit-after-0ms", "exit-after-1ms",
                                 "exit-after-5ms", "exit-after-20ms"])
def test_a_process_that_hides_or_ends_while_loading_is_the_candidates_crash(how):
    """Verification finds the candidate's process by its pid in the jail, which it cannot
    change; a process that is gone, or exiting (it leaves its cgroup before it becomes a
    zombie), is the candidate's crash, not a sandbox failure."""
    if how == "blank-argv":
        trick = ("stat = open('/proc/self/stat').read().rsplit(')', 1)[1].split()\n"
                 "start, end = int(stat[45]), int(stat[46])\n"
                 "ctypes.memset(start, 0, end - start)\n")
    else:
        delay = int(how.split("-")[-1][:-2]) / 1000
        trick = ("import threading, time\n"
                 f"threading.Thread(target=lambda: (time.sleep({delay}), "
                 "os._exit(0))).start()\n")
    res = run(HEADER + trick + "def encode(frames, quality):\n    return b'x'\n"
              "def decode(data):\n    return np.zeros((4, 48, 64, 3), np.uint8)\n", frames=4)
    if how == "blank-argv":
        assert res.ok, res.failure  # hiding its name changes nothing
    elif how == "exit-after-0ms":
        assert not res.ok and res.failure.kind == "crash", res.failure
    else:  # a later exit may come after the whole (tiny) evaluation; never a SandboxError
        assert res.ok or res.failure.kind == "crash", res.failure


def test_programs_load_one_at_a_time():
    """Module-level code of the encoder and of each decoder never runs at once."""
    program = HEADER + """
import time
T0 = time.monotonic()
while time.monotonic() - T0 < 0.2:
    pass
T1 = time.monotonic()
def encode(frames, quality):
    return json.dumps([T0, T1]).encode()
def decode(data):
    a0, a1 = json.loads(data)
    report({"overlap": min(a1, T1) - max(a0, T0)})
"""
    assert outcome(run(program, frames=4))["overlap"] < 0


def test_machine_wide_counters_are_hidden():
    res = run(attack("""
for name in ("stat", "loadavg", "meminfo", "cmdline", "version", "vmstat", "uptime",
             "config.gz", "kallsyms", "modules", "kmsg", "filesystems"):
    try:
        out[name] = len(open(f"/proc/{name}").read())
    except OSError as e:
        out[name] = 0 if e.errno in (errno.EACCES, errno.ENOENT) else e.errno
out["sys"] = sorted(os.listdir("/proc/sys"))
out["pressure"] = sorted(os.listdir("/proc/pressure"))
"""))
    o = outcome(res)
    assert all(v == 0 or v == [] for v in o.values()), o


def test_a_failure_message_cannot_drive_the_terminal():
    res = run("def encode(frames, quality):\n"
              "    raise RuntimeError('\\r\\x1b[1A\\x1b[2KPASSED\\x1b[8m\\x07')\n"
              "def decode(data):\n    return None\n", audit=True)
    assert res.failure.kind == "exception"
    assert not any(ord(c) < 32 and c not in "\n\t" for c in res.failure.message)
    assert "\x1b" not in res.to_json() and "PASSED" in res.failure.message


def test_credits_for_waiting_cannot_add_up_past_the_evaluations_limit(monkeypatch):
    """Every call overruns its limit while its threads (as far as the evaluator can tell)
    wait for a CPU the whole time: each call's credit is capped at MAX_CREDIT of its own
    limit, and all of them together at MAX_CREDIT of the evaluation's, so the evaluation
    stops within (1 + MAX_CREDIT) of its limit, not after (calls x 4 limits). (A real
    program gets near this with a few dozen spinning helpers pinned to one CPU; the wait
    is simulated here so the test does not depend on the scheduler.)"""
    from codecnb.sandbox import cpuwait
    t0 = time.monotonic()
    monkeypatch.setattr(cpuwait, "runqueue_wait", lambda pids: time.monotonic() - t0)
    program = HEADER + """
import time
def encode(frames, quality):
    time.sleep(1.53)  # just past the third credit: almost all of the call is credited
    return frames.tobytes()
def decode(data):
    time.sleep(1.53)
    return np.frombuffer(data, np.uint8).reshape(1, 48, 64, 3)
"""
    limits = Limits(segment_timeout_s=0.5, evaluation_timeout_s=2.0, startup_timeout_s=30)
    start = time.monotonic()
    res = run(program, limits=limits, segment_frames=1)  # 16 calls of 1.53 s each
    took = time.monotonic() - start
    assert not res.ok and res.failure.kind == "timeout", res.failure
    assert took < (1 + cpuwait.MAX_CREDIT) * limits.evaluation_timeout_s + 3, took  # was 25 s, "ok"


def test_a_boot_credited_for_waiting_leaves_the_load_its_time(monkeypatch):
    """On a machine so busy that the bootstrap's "boot" comes after the start-up deadline
    (credited: it was waiting for a CPU), the load that follows is not timed out at once
    for the deadline the credit had moved (an honest program failed with a load timeout)."""
    from codecnb.sandbox import cpuwait
    from codecnb.sandbox.process import SandboxProcess
    t0 = time.monotonic()
    monkeypatch.setattr(cpuwait, "runqueue_wait", lambda pids: time.monotonic() - t0)
    receive = SandboxProcess.receive

    def late_boot(self, deadline, stage):
        if not self.booted:  # the boot arrives 0.3 s after the deadline
            time.sleep(max(0.0, deadline - time.monotonic()) + 0.3)
        return receive(self, deadline, stage)
    monkeypatch.setattr(SandboxProcess, "receive", late_boot)
    res = run(HEADER + "def encode(frames, quality):\n    return frames.tobytes()\n"
              "def decode(data):\n    return np.frombuffer(data, np.uint8).reshape(4, 48, 64, 3)\n",
              frames=4, limits=Limits(segment_timeout_s=8, evaluation_timeout_s=60,
                                      startup_timeout_s=0.5))
    assert res.ok, res.failure
