"""Shared fixtures: the real test videos of ../shared/testdata and a CLI runner."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("CODECNB_TESTDATA", ROOT.parent / "shared" / "testdata"))


@pytest.fixture(scope="session")
def testdata() -> Path:
    """Folder of the real test videos (CODECNB_TESTDATA overrides ../shared/testdata)."""
    if not (TESTDATA / "SOURCES.md").exists():
        pytest.fail(f"test videos not found in {TESTDATA}; set CODECNB_TESTDATA")
    return TESTDATA


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m codecnb ARGS`` as a user would, capturing text output."""
    return subprocess.run([sys.executable, "-m", "codecnb", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd or ROOT,
                          timeout=timeout)


def assert_user_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """A user mistake: exit 2, one line on stderr naming the problem, no traceback."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("codecnb: error: "), err
    for needle in needles:
        assert needle in err, (needle, err)
