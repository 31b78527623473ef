"""The system-call filter of every candidate process (libseccomp, loaded by bubblewrap).

The filter allows ordinary computation and refuses, with ``EPERM``, every call that reaches
kernel state shared beyond the process or that widens what it can do:

* kernel keyrings (``add_key``, ``keyctl``, ``request_key``): a channel between processes of
  one user;
* new namespaces (``unshare``, ``setns``, ``clone`` with any ``CLONE_NEW*`` flag; ``clone3``
  answers ``ENOSYS`` so that the C library falls back to ``clone``, whose flags can be
  checked);
* mounts (``mount``, ``umount2``, ``pivot_root``, ``chroot``, the new mount API);
* other processes' memory (``ptrace``, ``process_vm_readv``/``writev``, ``pidfd_getfd``,
  ``kcmp``);
* kernel attack surface (``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring_*``,
  ``open_by_handle_at``, module, reboot, kexec, swap, accounting, clock and ``syslog``
  calls);
* every socket (``socket``, ``socketpair``): the transport is pipes and memfds;
* machine-wide facts and memory of other processes that a deny-list had missed:
  ``sysinfo`` (its ``sharedram``, uptime, load, RAM and thread count are the whole
  machine's: a live channel between processes and a host fact), ``process_madvise``
  (the page-cache advice ``madvise`` is refused), ``memfd_secret``, ``listmount``,
  ``statmount``, ``quotactl_fd`` (by number where libseccomp does not know the name);
* state shared through the inodes of the read-only runtime, which every jail binds from the
  same files: record and lease locks (``fcntl`` with ``F_GETLK``/``F_SETLK``/``F_SETLKW``,
  their open-file-description forms, ``F_SETLEASE``, ``F_NOTIFY``; ``flock``), file-change
  notification (``inotify_*``), and the page-cache state of those files (``fadvise64``,
  ``readahead``, ``mincore``, ``preadv2``/``pwritev2`` with their ``RWF_NOWAIT`` probe,
  ``madvise`` with ``MADV_WILLNEED``, ``MADV_COLD`` or ``MADV_PAGEOUT``).

Calls of another architecture's ABI (32-bit ``int 0x80``, x32) kill the process
(libseccomp's default for a foreign architecture).

References
----------
.. [1] seccomp_rule_add(3), libseccomp. https://github.com/seccomp/libseccomp
.. [2] bwrap(1), ``--seccomp FD``.
"""
from __future__ import annotations

import errno
import functools
import logging
import os
import tempfile

log = logging.getLogger(__name__)

#: Every CLONE_NEW* flag (namespaces, including CLONE_NEWTIME and CLONE_NEWCGROUP).
CLONE_NEW_ANY = (0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000
                 | 0x10000000 | 0x20000000 | 0x40000000)

#: Calls refused outright with EPERM.
REFUSED: tuple[str, ...] = (
    "add_key", "keyctl", "request_key",
    "unshare", "setns",
    "mount", "umount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl",
    "open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "socket", "socketpair",
    "personality", "vhangup", "fanotify_init", "iopl", "ioperm",
    "flock", "inotify_init", "inotify_init1", "inotify_add_watch",
    "fadvise64", "readahead", "mincore", "preadv2", "pwritev2",
    "remap_file_pages",
    # issue 21: machine-wide facts and calls a deny-list had missed
    "sysinfo", "process_madvise", "memfd_secret", "listmount", "statmount", "quotactl_fd",
)
#: System-call numbers of refused calls that an older libseccomp may not know by name
#: (x86_64 and the generic table of aarch64 agree on these).
REFUSED_NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {"sysinfo": 99, "process_madvise": 440, "quotactl_fd": 443,
               "memfd_secret": 447, "statmount": 457, "listmount": 458},
    "aarch64": {"sysinfo": 179, "process_madvise": 440, "quotactl_fd": 443,
                "memfd_secret": 447, "statmount": 457, "listmount": 458},
}
#: fcntl commands that lock, lease or watch a file (F_GETLK, F_SETLK, F_SETLKW,
#: F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLEASE, F_GETLEASE, F_NOTIFY).
FCNTL_REFUSED = (5, 6, 7, 36, 37, 38, 1024, 1025, 1026)
#: madvise advice that moves file pages in or out of the page cache (MADV_WILLNEED,
#: MADV_COLD, MADV_PAGEOUT, MADV_POPULATE_READ is kept: it only maps what is cached).
MADVISE_REFUSED = (3, 20, 21)


@functools.lru_cache(maxsize=1)
def bpf_program() -> bytes:
    """The compiled filter (classic BPF, as bubblewrap's ``--seccomp`` reads it).

    Raises
    ------
    ImportError or OSError
        libseccomp (or its bindings) is not available.
    """
    import pyseccomp as seccomp

    filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    refuse = seccomp.ERRNO(errno.EPERM)
    numbers = REFUSED_NUMBERS.get(os.uname().machine, {})
    for name in REFUSED:
        try:
            filt.add_rule(refuse, name)
        except (RuntimeError, ValueError, OSError):  # unknown to this libseccomp
            if name in numbers:
                filt.add_rule(refuse, numbers[name])
    for flag in _bits(CLONE_NEW_ANY):
        filt.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    filt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for cmd in FCNTL_REFUSED:
        filt.add_rule(refuse, "fcntl", seccomp.Arg(1, seccomp.EQ, cmd))
    for advice in MADVISE_REFUSED:
        filt.add_rule(refuse, "madvise", seccomp.Arg(2, seccomp.EQ, advice))
    with tempfile.TemporaryFile() as f:
        filt.export_bpf(f)
        f.seek(0)
        return f.read()


def _bits(mask: int) -> list[int]:
    return [1 << i for i in range(mask.bit_length()) if mask >> i & 1]


def program_fd() -> int:
    """A fresh read-only descriptor holding :func:`bpf_program` (bwrap reads it once)."""
    fd = os.memfd_create("codecnb-seccomp", 0)
    data = bpf_program()
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def available() -> bool:
    """Whether the filter can be built here."""
    try:
        bpf_program()
        return True
    except (ImportError, OSError, RuntimeError) as exc:
        log.warning("seccomp filter unavailable: %s", exc)
        return False
