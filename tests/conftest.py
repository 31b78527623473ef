"""Shared fixtures: the real test videos of ../shared/testdata and a CLI runner.

Hermetic by construction: before any test (and any fixture or subprocess a test starts)
runs, the caller's ``ANTHROPIC_*``, ``AWS_*``, ``MLFLOW_*`` and ``CODECNB_*`` variables are
removed from this process's environment, and the cache folders point at a temporary folder
of this session (never ``~/.cache/codecnb``). Tests that need one of these set it
themselves (``monkeypatch.setenv`` or ``run_cli(env=...)``).

Slow tests (more than a few seconds) are marked ``slow``: ``pytest -m "not slow"`` is the
quick day-to-day subset; CI runs everything.
"""
from __future__ import annotations

import os
import socket
import shutil
import subprocess
import threading
import sys
import tempfile
from pathlib import Path

from dataclasses import dataclass

import pytest

from programs import BROADCAST, GOOD, SOURCE, SYNTAX

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("CODECNB_TESTDATA", ROOT.parent / "shared" / "testdata"))
#: Prefixes of the environment variables no test may inherit from the caller.
SCRUBBED = ("ANTHROPIC_", "OPENAI_", "AWS_", "MLFLOW_", "CODECNB_")
#: Of those, the ones this suite or codecnb itself sets (never the caller's values).
OWN = {"CODECNB_CACHE_DIR", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"}
_SESSION_TMP: Path | None = None

#: Whole modules that are slow (campaigns, browsers, long clips, notebooks executed).
SLOW_MODULES = {"test_browser", "test_memory", "test_notebooks", "test_explore"}
#: Fixtures whose users are slow (a real campaign behind them).
SLOW_FIXTURES = {"campaign_store"}
#: Single slow tests in modules owned by others (measured: 107 s and 9 s on 2 busy cores).
SLOW_TESTS = {"test_offline_search_learns_on_the_bundled_clip",
              "test_starter_beats_jpeg_on_the_bundled_clip"}


def scrub_environment(environ: dict | os._Environ = os.environ) -> None:
    """Remove the caller's ANTHROPIC_*, OPENAI_*, AWS_*, MLFLOW_*, CODECNB_* variables."""
    for key in [k for k in environ if k.startswith(SCRUBBED)]:
        del environ[key]


def pytest_configure(config):
    global _SESSION_TMP
    scrub_environment()
    _SESSION_TMP = Path(tempfile.mkdtemp(prefix="codecnb-tests-"))
    os.environ["CODECNB_CACHE_DIR"] = str(_SESSION_TMP / "cache")
    os.environ["XDG_CACHE_HOME"] = str(_SESSION_TMP / "xdg-cache")


def pytest_unconfigure(config):
    if _SESSION_TMP is not None:
        shutil.rmtree(_SESSION_TMP, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    import pytest as _pytest
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if (module in SLOW_MODULES or item.originalname in SLOW_TESTS
                or SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(_pytest.mark.slow)


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


def janitors() -> set[int]:
    """This test process's sandbox janitors (one per evaluating process, by design: see
    codecnb.sandbox.janitor); not a survivor of any test."""
    from codecnb.sandbox.isolation import _JANITORS
    return {j.pid for j in _JANITORS}


class Listener:
    """A TCP listener on 127.0.0.1 that records every byte it receives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                while chunk := conn.recv(65536):
                    self.received += chunk

    def close(self):
        self.sock.close()
