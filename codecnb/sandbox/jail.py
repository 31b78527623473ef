"""The command line that starts one candidate process in its jail (bubblewrap).

The process is started as::

    sh -c 'join cgroups' ... -- [setpriv --reuid=U ...] bwrap [jail options] -- python child.py

1. ``sh`` writes ``0`` into each ``cgroup.procs`` of the process's group, so it and
   everything it will ever start are in the group before anything else runs;
2. when the evaluator is root, ``setpriv`` switches to a fresh unprivileged host uid and gid
   (never 0) with no supplementary groups; a non-root evaluator's own uid is used as is;
3. ``bwrap`` builds the jail: new user, PID, network, IPC, UTS, mount and cgroup namespaces
   (no further user namespaces), a root file system from the runtime allowlist only, a fresh
   ``/proc`` (with ``sys``, ``sysrq-trigger`` and the like read-only), ``/dev/null``,
   ``/dev/zero``, ``/dev/urandom``, a private size-capped tmpfs ``/sandbox`` as the working
   directory and ``$HOME``, every capability dropped, ``no_new_privs``, a new session, the
   seccomp filter, death with its parent (the evaluator), and an environment from an
   allowlist only.
"""
from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass

from codecnb.sandbox.runtime import CHILD_PATH, Runtime

#: The working directory (and $HOME, $TMPDIR) inside the jail.
WORKDIR = "/sandbox"
#: The uid and gid the candidate sees inside its user namespace.
INSIDE_ID = 65534
#: Exit status of the launcher when the process could not join its cgroup.
JOIN_FAILED = 97
#: Environment of a candidate: nothing else from the caller's environment passes.
ENV_ALLOWLIST_VALUES = {
    "PATH": "/nonexistent", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
    "HOME": WORKDIR, "TMPDIR": WORKDIR, "PWD": WORKDIR,
    # large bitstreams and frames: transparent huge pages make their page faults cheap
    "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1",
}
#: Files of the jail's /proc that show machine-wide counters or host facts (kernel command
#: line, load, memory, slab, interrupts, locks...): each jail has /dev/null bound over them
#: on a nodev mount, which cannot be opened, so they can neither identify the host nor
#: carry bits between jails. /proc/sys and
#: /proc/pressure are hidden under empty folders.
PROC_MASKED_FILES = ("cmdline", "version", "stat", "loadavg", "meminfo", "vmstat",
                     "zoneinfo", "slabinfo", "buddyinfo", "pagetypeinfo", "diskstats",
                     "interrupts", "softirqs", "schedstat", "sched_debug", "timer_list",
                     "kallsyms", "modules", "swaps", "uptime", "locks", "keys", "key-users",
                     "vmallocinfo", "iomem", "ioports", "partitions", "cgroups", "crypto",
                     "devices", "misc", "latency_stats", "consoles", "execdomains", "kpageflags",
                     "kpagecount", "kpagecgroup", "mtrr", "sysrq-trigger", "kcore",
                     "config.gz", "kmsg", "dma", "filesystems")
PROC_MASKED_DIRS = ("sys", "pressure", "fs", "driver", "tty", "bus", "irq", "acpi", "scsi",
                    "dynamic_debug")
_JOIN = ('while [ "$1" != -- ]; do echo 0 > "$1" || exit %d; shift; done; shift; exec "$@"'
         % JOIN_FAILED)
#: Base of the host uids given to sandboxes when the evaluator is root (a range no
#: distribution assigns); each sandbox process draws its own at random (unique even across
#: evaluators in different PID namespaces, for all practical purposes).
UID_BASE = 1_800_000_000


def tools() -> dict[str, str | None]:
    """Paths of the tools the jail needs (None where missing)."""
    return {name: shutil.which(name) for name in ("bwrap", "setpriv", "sh")}


def next_host_id() -> int | None:
    """A fresh unprivileged host uid/gid for the next sandbox, or None when not root (the
    sandbox then keeps the evaluator's own unprivileged uid)."""
    if os.geteuid() != 0:
        return None
    return UID_BASE + secrets.randbelow(100_000_000)


@dataclass(frozen=True)
class JailSpec:
    """What one jailed process gets.

    Attributes
    ----------
    runtime : Runtime
        The read-only allowlist.
    tmpfs_bytes : int
        Size of the private working-directory tmpfs.
    seccomp_fd : int or None
        Descriptor of the compiled seccomp filter (None: no filter, for tests of the other
        layers only).
    host_id : int or None
        Host uid and gid to switch to (evaluator is root), else None.
    cgroup_files : tuple of str
        ``cgroup.procs`` files to join before anything runs.
    farm : dict or None
        This jail's private copies of the runtime's folders (:class:`~codecnb.sandbox.runtime.Farms`).
    """

    runtime: Runtime
    tmpfs_bytes: int
    seccomp_fd: int | None
    host_id: int | None
    cgroup_files: tuple[str, ...] = ()
    farm: dict | None = None

    def command(self, args: list[str], script: str = CHILD_PATH) -> tuple[list[str], int]:
        """The command line that runs ``python SCRIPT ARGS`` in the jail (``script`` is a
        path inside it: the bootstrap, or the isolation probe), and a descriptor holding
        bubblewrap's options (pass it to the process, close it once spawned). The options
        travel through the descriptor so that the jail's ``/proc/1/cmdline`` shows only
        the interpreter's path."""
        bwrap = ["--unshare-all", "--unshare-user", "--disable-userns",
                 "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                 "--uid", str(INSIDE_ID), "--gid", str(INSIDE_ID), "--hostname", "sandbox",
                 "--clearenv"]
        for key, value in ENV_ALLOWLIST_VALUES.items():
            bwrap += ["--setenv", key, value]
        bwrap += self.runtime.bwrap_args(self.farm)
        bwrap += ["--proc", "/proc"]
        for name in PROC_MASKED_FILES:
            if os.path.exists(f"/proc/{name}"):
                bwrap += ["--ro-bind", "/dev/null", f"/proc/{name}"]
        for name in PROC_MASKED_DIRS:
            if os.path.isdir(f"/proc/{name}"):
                bwrap += ["--perms", "0555", "--size", "4096", "--tmpfs", f"/proc/{name}"]
        bwrap += ["--dir", "/dev"]
        for dev in ("null", "zero", "urandom"):
            bwrap += ["--dev-bind", f"/dev/{dev}", f"/dev/{dev}"]
        bwrap += ["--perms", "0700", "--size", str(self.tmpfs_bytes), "--tmpfs", WORKDIR,
                  "--chdir", WORKDIR, "--remount-ro", "/"]
        if self.seccomp_fd is not None:
            bwrap += ["--seccomp", str(self.seccomp_fd)]
        fd = os.memfd_create("codecnb-jail", os.MFD_CLOEXEC)
        os.write(fd, b"".join(a.encode() + b"\0" for a in bwrap))
        os.lseek(fd, 0, os.SEEK_SET)
        drop = []
        if self.host_id is not None:
            drop = ["setpriv", f"--reuid={self.host_id}", f"--regid={self.host_id}",
                    "--clear-groups"]
        argv = ["sh", "-c", _JOIN, "sh", *self.cgroup_files, "--", *drop,
                "bwrap", "--args", str(fd), "--", self.runtime.executable, "-I", "-S", "-B",
                script, *args]
        return argv, fd
