"""The test suite is hermetic: the caller's ANTHROPIC_*, OPENAI_*, AWS_*, MLFLOW_*, CODECNB_* never
reach a test, a subprocess, a server or a cache folder."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import OWN, ROOT, SCRUBBED, Listener

HERE = Path(__file__).resolve().parent


def test_the_session_environment_is_scrubbed():
    leaked = [k for k in os.environ if k.startswith(SCRUBBED) and k not in OWN]
    assert leaked == []
    cache = Path(os.environ["CODECNB_CACHE_DIR"])
    assert not str(cache).startswith(str(Path.home() / ".cache"))
    from codecnb import config
    assert config.resolve("cache_dir") == str(cache)


@pytest.mark.slow
def test_bogus_caller_environment_reaches_nothing(tmp_path):
    rec = Listener()
    url = f"http://127.0.0.1:{rec.port}"
    bogus_cache = tmp_path / "bogus-cache"
    env = {**os.environ,
           "ANTHROPIC_API_KEY": "sk-ant-bogus", "ANTHROPIC_BASE_URL": url,
           "MLFLOW_TRACKING_URI": url, "AWS_ENDPOINT_URL": url,
           "AWS_ACCESS_KEY_ID": "AKIABOGUS", "AWS_SECRET_ACCESS_KEY": "bogus",
           "CODECNB_CACHE_DIR": str(bogus_cache), "CODECNB_FRAMES": "not-a-number",
           "CODECNB_S3_ENDPOINT_URL": url}
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               str(HERE / "hermetic_probe.py")], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    finally:
        rec.close()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert rec.connections == 0
    assert not bogus_cache.exists()
