"""Helpers for tests (and docs/screenshots.py) that look at pages in Debian's headless
Chromium, driven by Playwright; no browser is ever downloaded."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

# Chromium flags for a closed network and a root user (see the probe of this machine).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def browser(width: int = 1400, height: int = 900) -> Iterator[object]:
    """A Playwright page in headless Debian Chromium."""
    from playwright.sync_api import sync_playwright
    if chromium_path() is None:
        raise RuntimeError("Debian's chromium is not installed: `python3 dev.py test` installs "
                           "it, or `apt-get install chromium`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                              headless=True)
        try:
            page = b.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            yield page
        finally:
            b.close()


@contextlib.contextmanager
def serve(args: list[str], url: str, env: dict | None = None, cwd: Path | None = None,
          timeout: float = 120) -> Iterator[subprocess.Popen]:
    """Start ``python -m codecnb ARGS`` (a server) and wait until ``url`` answers; stop
    the server and its children afterwards."""
    log = open(os.devnull, "w")
    proc = subprocess.Popen([sys.executable, "-m", "codecnb", *args], cwd=cwd, stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{args[0]} exited with {proc.returncode}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{url} did not answer in {timeout} s") from None
                time.sleep(0.5)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def spread(png: bytes) -> float:
    """Standard deviation of a PNG's grey levels: near 0 for a blank image."""
    import numpy as np
    from PIL import Image
    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float).std())
