#!/usr/bin/env python3
"""The two commands of the quickstart, with their own set-up.

    python3 dev.py run  [ARGS...]   run the main job (``codecnb run``: a short campaign)
    python3 dev.py test [ARGS...]   run the whole test suite (extra ARGS go to pytest)

The first call creates ``.venv`` next to this file and installs the project into it with
its test dependencies; later calls reinstall only when ``pyproject.toml`` changed. System
packages that the tests need (Debian names in ``SYSTEM_PACKAGES``) are installed with
apt-get when missing and we are root; otherwise the command that would install them is
printed. Only the Python standard library is used here, so it runs on a bare machine.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = ROOT / ".dev-stamp"
PY = VENV / "bin" / "python"

# Debian packages, keyed by the file that shows they are there. The sandbox that runs
# candidates (both commands) needs bubblewrap, setpriv and libseccomp; the browser tests
# drive Debian's Chromium (never a downloaded one).
SANDBOX_PACKAGES: dict[str, str] = {"bwrap": "bubblewrap", "setpriv": "util-linux",
                                    "libseccomp.so.2": "libseccomp2"}
SYSTEM_PACKAGES: dict[str, str] = {"chromium": "chromium"}


def fail(message: str) -> "NoReturn":  # noqa: F821 - annotation only
    print(f"dev.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def sh(*cmd: str | Path, **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    if subprocess.call([str(c) for c in cmd], **kw) != 0:
        fail(f"command failed: {' '.join(str(c) for c in cmd)}")


def apt_install(packages: list[str], why: str) -> None:
    if not packages:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        fail(f"{why} needs Debian packages {' '.join(packages)}: "
             f"run `sudo apt-get install -y {' '.join(packages)}` and try again")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sh("apt-get", "update", "-qq", env=env)
    sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages, env=env)


def ensure_venv() -> None:
    if sys.version_info < (3, 10):
        fail(f"Python >= 3.10 is required, this is {sys.version.split()[0]}")
    if not PY.exists():
        probe = subprocess.run([sys.executable, "-m", "venv", "--help"], capture_output=True)
        has_ensurepip = subprocess.run([sys.executable, "-c", "import ensurepip"],
                                       capture_output=True).returncode == 0
        if probe.returncode != 0 or not has_ensurepip:
            ver = f"{sys.version_info.major}.{sys.version_info.minor}"
            apt_install([f"python{ver}-venv"], "creating .venv")
        sh(sys.executable, "-m", "venv", VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        sh(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
        sh(PY, "-m", "pip", "install", "-q", "-e", f"{ROOT}[dev]")
        STAMP.write_text(wanted + "\n")


def _present(name: str) -> bool:
    if name.endswith((".so", ".so.2")) or ".so." in name:
        import ctypes.util
        return ctypes.util.find_library(name.split(".so")[0].removeprefix("lib")) is not None
    return shutil.which(name) is not None


def ensure_system_packages(packages: dict[str, str], why: str) -> None:
    missing = sorted({pkg for name, pkg in packages.items() if not _present(name)})
    apt_install(missing, why)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__, file=sys.stderr)
        return 2
    what, rest = argv[0], argv[1:]
    ensure_venv()
    env = dict(os.environ)
    os.chdir(ROOT)
    ensure_system_packages(SANDBOX_PACKAGES, "the candidate sandbox")
    if what == "run":  # the caller's PATH: the hints it prints work as typed afterwards
        cmd = [str(VENV / "bin" / "codecnb"), *(rest or ["run"])]
    else:
        ensure_system_packages(SYSTEM_PACKAGES, "the test suite")
        env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        cmd = [str(PY), "-m", "pytest", *rest]
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
