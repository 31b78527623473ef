"""The operating-system layers around a candidate process, probed once per machine.

With Linux namespaces (root, or unprivileged user namespaces), every candidate process gets:

* new network, PID, mount, IPC and UTS namespaces (no network at all, not even loopback;
  no other process visible; no System V / POSIX IPC shared with anyone);
* a private tmpfs on ``/tmp`` holding an empty working directory, gone when the process
  ends (the host's ``/tmp`` is not visible);
* ``/root``, ``/home``, ``/etc/shadow``, the source's folder, the codecnb package and the
  source cache hidden under empty mounts, with only the Python installation bound back;
* every other mount remounted read-only, then every capability dropped and
  ``no_new_privs`` set, so nothing can be remounted, written or escalated;
* when the Python installation is readable by ``nobody``, the unprivileged uid 65534.

Without namespaces the remaining layers are the rlimits, the environment allowlist, a
private working directory, the audit hook, the import guard, the static policy and process
reaping (docs/security.md says what that leaves open).
"""
from __future__ import annotations

import functools
import logging
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CHILD = Path(__file__).with_name("child.py")
NOBODY = 65534
#: Exit status of the namespace set-up script when the sandbox itself could not be built.
SETUP_FAILED = 97
#: The candidate's private working directory inside the namespaces.
WORKDIR = "/tmp/work"
#: Environment of a candidate: nothing else from the caller's environment passes.
ENV_ALLOWLIST_VALUES = {
    "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
    # large bitstreams and frames: transparent huge pages make their page faults cheap
    "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1",
}
_NS_FLAGS = ["--net", "--pid", "--mount", "--ipc", "--uts", "--fork",
             "--kill-child=SIGKILL", "--mount-proc"]


@dataclass(frozen=True)
class IsolationPlan:
    """Which OS layers this machine allows.

    Attributes
    ----------
    namespaces : bool
        unshare works; ``userns`` says whether it needs a user namespace (not root).
    drop_uid : bool
        The candidate runs as uid/gid 65534.
    audit : bool
        The Python audit hook and import guard are installed (always, unless disabled for
        testing the deeper layers).
    """

    namespaces: bool
    userns: bool
    drop_uid: bool
    audit: bool = True

    def layers(self) -> list[str]:
        """Names of the active layers, as reported in every result."""
        out = ["static-policy", "import-guard" if self.audit else None,
               "audit-hook" if self.audit else None, "env-allowlist", "private-workdir",
               "rlimits", "wall-timeout", "process-reaping", "exclusive-scheduling",
               "memfd-transport"]
        if self.namespaces:
            out += ["user-namespace" if self.userns else None, "net-namespace",
                    "pid-namespace", "mount-namespace", "ipc-namespace", "private-tmpfs",
                    "hidden-paths", "read-only-root", "no-capabilities", "no-new-privs"]
        if self.drop_uid:
            out.append("uid-nobody")
        return [x for x in out if x]


def python_roots() -> list[Path]:
    """Folders the candidate's Python needs to read: its installation and site-packages."""
    return list(_python_roots())


@functools.lru_cache(maxsize=1)
def _python_roots() -> tuple[Path, ...]:  # fixed for the life of the process
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(sys.executable).resolve().parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            paths.add(Path(p).resolve())
    import numpy
    paths.add(Path(numpy.__file__).resolve().parents[1])
    paths.add(CHILD.resolve().parent)
    return tuple(sorted(paths))


def _world_readable(path: Path) -> bool:
    """Whether uid 65534 can read ``path`` (walks the folders above it)."""
    p = path.resolve()
    for part in [p, *p.parents]:
        try:
            mode = part.stat().st_mode
        except OSError:
            return False
        if part.is_dir() and not mode & 0o001:
            return False
        if part == p and not mode & 0o004 and not part.is_dir():
            return False
    return True


def mount_script(plan: IsolationPlan, hide: list[Path], keep: list[Path], tmpfs_bytes: int,
                 command: list[str]) -> str:
    """The shell script that PID 1 of the new namespaces runs before the candidate.

    Order matters: kept paths (the Python installation) that lie under a covered folder are
    first bound to a staging tmpfs on /mnt; then ``/tmp`` gets a private tmpfs and the hidden
    folders get empty ones; the kept paths are moved back; hidden paths inside kept ones are
    covered last; finally every other mount is remounted read-only. Set-up failures exit
    with :data:`SETUP_FAILED`. The script stays PID 1 (the candidate is its child), so a
    signal that kills the candidate shows as exit status 128+N.
    """
    q = shlex.quote
    tmp = Path("/tmp")
    hidden = [h for h in hide if h.is_dir() or h.is_file()]
    covered = [tmp] + hidden

    def under(p: Path, roots: list[Path]) -> bool:
        return any(r == p or r in p.parents for r in roots)

    keep = [k for k in keep if not any(o in k.parents for o in keep)]  # outermost only
    moved = [(i, k) for i, k in enumerate(keep) if under(k, covered)]
    moved_paths = [k for _, k in moved]
    # A hide under another covered path is already hidden, unless a kept path re-exposed
    # its surroundings (then it is covered again after the kept paths are back).
    needed = [h for h in hidden
              if not any(c in h.parents for c in covered) or under(h, moved_paths)]
    outer = [h for h in needed if any(h == k or h in k.parents for k in moved_paths)]
    inner = [h for h in needed if h not in outer]

    def cover(h: Path) -> str:
        if h.is_dir():
            return f"mount -t tmpfs -o size=4k,mode=0755 hidden {q(str(h))}"
        return f"mount --bind /dev/null {q(str(h))}"

    lines = ["mount --make-rprivate /", "mount -t tmpfs -o size=1m stage /mnt"]
    for i, k in moved:
        lines += [f"mkdir -p /mnt/{i}", f"mount --bind {q(str(k))} /mnt/{i}"]
    lines.append(f"mount -t tmpfs -o size={tmpfs_bytes},mode=0755 codecnb /tmp")
    lines += [cover(h) for h in outer]
    for i, k in moved:
        lines += [f"mkdir -p {q(str(k))}", f"mount --move /mnt/{i} {q(str(k))}"]
    lines += [cover(h) for h in inner]
    lines += ["umount /mnt", "mkdir -m 0700 /tmp/work"]
    if plan.drop_uid:
        lines.append(f"chown {NOBODY}:{NOBODY} /tmp/work")
    lines = [f"{line} || exit {SETUP_FAILED}" for line in lines]
    lines += ["for mp in $(awk '{print $5}' /proc/self/mountinfo); do",
              "  case \"$mp\" in /tmp|/proc|/proc/*) ;; "
              "*) mount -o remount,bind,ro \"$mp\" 2>/dev/null || true;; esac", "done"]
    setpriv = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs"]
    if plan.drop_uid:
        setpriv += [f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    lines += ["cd /tmp/work", " ".join(q(c) for c in setpriv + command), "exit $?"]
    return "\n".join(lines)


def wrap(plan: IsolationPlan, command: list[str], hide: list[Path],
         tmpfs_bytes: int) -> list[str]:
    """The full argv that runs ``command`` inside the plan's namespaces."""
    if not plan.namespaces:
        return command
    script = mount_script(plan, hide, python_roots(), tmpfs_bytes, command)
    user = ["--user", "--map-root-user"] if plan.userns else []
    return ["unshare", *user, *_NS_FLAGS, "sh", "-c", script]


def default_hidden(extra: list[Path]) -> list[Path]:
    """Paths a candidate must never see: homes, the codecnb package, plus ``extra``.

    For a file in ``extra`` (a source video) its whole folder is hidden, so that sibling
    clips cannot be found either, unless that folder holds the Python installation.
    """
    import codecnb
    roots = python_roots()
    out = [Path("/root"), Path("/home"), Path("/etc/shadow"), Path("/etc/gshadow"),
           Path(codecnb.__file__).resolve().parent]
    for p in (e.resolve() for e in extra if e.exists()):
        if p.is_file() and not any(p.parent == r or p.parent in r.parents for r in roots):
            p = p.parent
        out.append(p)
    return [p.resolve() for p in out if p.exists()]


@functools.lru_cache(maxsize=None)
def probe(audit: bool = True) -> IsolationPlan:
    """Find out once which layers work here by starting a trivial sandboxed process."""
    from codecnb.sandbox.reaper import enable_subreaper
    enable_subreaper()  # orphans of candidates are re-parented to this process, then reaped
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        log.warning("unshare/setpriv not found: candidates run without namespaces")
        return IsolationPlan(False, False, False, audit)
    root = os.geteuid() == 0
    drop = root and all(_world_readable(p) for p in python_roots())
    for userns in ([False] if root else [True]):
        plan = IsolationPlan(True, userns, drop, audit)
        cmd = wrap(plan, [sys.executable, "-I", "-c",
                          "import numpy, os; open('/tmp/work/x', 'w').close()"],
                   default_hidden([]), 1 << 20)
        try:
            res = subprocess.run(cmd, capture_output=True, timeout=30, env=ENV_ALLOWLIST_VALUES)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("namespace probe failed: %s", exc)
            continue
        if res.returncode == 0:
            return plan
        log.warning("namespaces unavailable (%s): candidates run without them",
                    res.stderr.decode(errors="replace").strip().splitlines()[-1:])
    return IsolationPlan(False, False, False, audit)
