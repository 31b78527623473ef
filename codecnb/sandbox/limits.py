"""Resource limits of a candidate process, and how they map to rlimits."""
from __future__ import annotations

from dataclasses import asdict, dataclass

GiB = 1 << 30
MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Limits applied to every encoder and decoder process of a candidate.

    Attributes
    ----------
    memory_bytes : int
        Memory of each sandboxed process and everything it starts (its cgroup: anonymous
        memory, tmpfs files and memfds), and its address space (RLIMIT_AS); 4 GiB.
    cpu_seconds : int
        CPU-time limit per process (RLIMIT_CPU).
    file_bytes : int
        Largest file the process may write (RLIMIT_FSIZE), also the size of its private
        tmpfs.
    open_files : int
        RLIMIT_NOFILE.
    processes : int
        Processes and threads of one sandboxed process's whole tree (its cgroup's
        ``pids.max``; also RLIMIT_NPROC of its own host uid).
    segment_timeout_s : float
        Wall-clock seconds for one encode or decode call.
    evaluation_timeout_s : float
        Wall-clock seconds for the whole evaluation of a candidate.
    startup_timeout_s : float
        Wall-clock seconds for a process to load the program.
    bitstream_ratio : float
        Largest bitstream of a segment, as a fraction of the segment's raw RGB size (plus
        4 KiB for headers).
    program_bytes : int
        Largest program source, bytes (UTF-8), 64 KiB: a program that carries more fails
        with kind ``program-size`` before anything runs.
    """

    memory_bytes: int = 4 * GiB
    cpu_seconds: int = 900
    file_bytes: int = 256 * MiB
    open_files: int = 64
    processes: int = 256
    segment_timeout_s: float = 120.0
    evaluation_timeout_s: float = 1800.0
    startup_timeout_s: float = 60.0
    bitstream_ratio: float = 1.0
    program_bytes: int = 64 << 10

    def rlimits(self, own_uid: bool) -> dict[str, int]:
        """The rlimits the child sets on itself (soft = hard)."""
        out = {"RLIMIT_AS": self.memory_bytes, "RLIMIT_CPU": self.cpu_seconds,
               "RLIMIT_FSIZE": self.file_bytes, "RLIMIT_NOFILE": self.open_files,
               "RLIMIT_CORE": 0}
        if own_uid:
            out["RLIMIT_NPROC"] = self.processes
        return out

    def max_bitstream(self, raw_bytes: int) -> int:
        return int(raw_bytes * self.bitstream_ratio) + 4096

    def to_dict(self) -> dict:
        return asdict(self)
