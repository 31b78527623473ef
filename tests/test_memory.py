"""Reading a 1080p clip of 1,000+ frames keeps peak memory under 1 GB."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_long_1080p_clip_streams_in_bounded_memory(testdata):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "memory.py")],
                          capture_output=True, text=True, timeout=900,
                          env={"CODECNB_TESTDATA": str(testdata), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "frames read: 1026 (expected 1026)" in proc.stdout
