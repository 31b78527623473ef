"""Peak memory of reading a 1080p clip of more than 1,000 frames through codecnb.sources.

Prints the frames read, the peak resident memory of this process and of the ffmpeg decoder,
and the size the clip would take in memory at once. Target: peak under 1 GB.

    python benchmarks/memory.py
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import long_street  # noqa: E402

from codecnb.sources import open_source  # noqa: E402


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM of its own image). Not ru_maxrss: that one
    keeps the high-water mark of whatever process exec'd into this one (e.g. pytest)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path, expected = long_street(Path(tmp))
        t0 = time.perf_counter()
        n = 0
        checksum = 0
        for seg in open_source(str(path)).segments(16):
            n += len(seg)
            checksum += int(seg[:, ::64, ::64].sum())
        dt = time.perf_counter() - t0
    self_mb = peak_rss_mib()
    # ru_maxrss of children is an upper bound: Linux carries the parent's high-water mark
    # into a child started with vfork+exec, as subprocess does.
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    whole = n * 1920 * 1080 * 3 / 2**20
    print(f"frames read: {n} (expected {expected}) in {dt:.1f} s ({n / dt:.0f} fps)")
    print(f"peak RSS: python {self_mb:.0f} MiB, ffmpeg decoder at most {child_mb:.0f} MiB")
    print(f"the clip at once would be {whole:.0f} MiB; ratio peak/whole = {self_mb / whole:.3f}")
    ok = n == expected and self_mb < 1000 and child_mb < 1000
    print("target (< 1 GB peak):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
