"""Shared fixtures: the real test videos of ../shared/testdata and a CLI runner."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dataclasses import dataclass

import pytest

from programs import BROADCAST, GOOD, SOURCE, SYNTAX

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


@dataclass
class Store:
    """An MLflow store filled by a real campaign."""

    root: Path          # the folder the campaign ran in (mlruns/ inside)
    uri: str
    experiment_id: str
    campaign: str       # the campaign's parent run id


@pytest.fixture(scope="session")
def campaign_store(tmp_path_factory) -> Store:
    """A real short campaign (papermill on 2 Dask workers, sqlite store) of 4 replayed
    candidates on a tiny clip: two pass, one raises the broadcast error, one does not
    parse. Read it, do not write to it (tests that log copy it first)."""
    root = tmp_path_factory.mktemp("campaign")
    programs = root / "programs"
    programs.mkdir()
    for name, text in [("1_good.py", GOOD), ("2_broadcast.py", BROADCAST),
                       ("3_good.py", GOOD.replace("// 8)", "// 5)")), ("4_syntax.py", SYNTAX)]:
        (programs / name).write_text(text)
    proc = run_cli("run", "--generator", f"replay:{programs}", "--iterations", "4",
                   "--source", SOURCE, "--frames", "4", "--qualities", "10,30,60", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from codecnb.tracking import client
    from codecnb.tracking import runs as R
    uri = f"sqlite:///{root}/mlruns/mlflow.db"
    c = client(uri)
    exp = c.get_experiment_by_name("codecnb").experiment_id
    return Store(root, uri, exp, R.latest_campaign(c, exp).info.run_id)
