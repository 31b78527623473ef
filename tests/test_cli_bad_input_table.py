"""Every command, a table of bad inputs: exit 2, one line on stderr, no traceback, and the
working folder (which holds a store) exactly as it was: nothing created, moved or locked."""
from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import pytest

from conftest import assert_user_error, run_cli
from programs import GOOD, SOURCE

pytestmark = pytest.mark.slow   # 33 commands, each a fresh interpreter (~5 s under load)


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DEAD = _free_port()


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with its content hash (folders as 'dir')."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), folder)] = "dir"
        for f in files:
            p = os.path.join(root, f)
            out[os.path.relpath(p, folder)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return out


#: (command line, words the one line must hold). In the working folder: junk.mp4 (not a
#: database), a_file, a_dir/, good.py, latin1.py (not UTF-8).
TABLE = [
    (["status", "--tracking-uri", "foo://bar"], ["foo://bar", "unknown scheme"]),
    (["run", "--tracking-uri", "foo://bar"], ["foo://bar", "unknown scheme"]),
    (["status", "--tracking-uri", "sqlite:///junk.mp4"], ["junk.mp4", "not a SQLite database"]),
    (["leaderboard", "--tracking-uri", "sqlite:///a_dir"], ["a_dir", "is a folder"]),
    (["status", "--tracking-uri", f"http://127.0.0.1:{DEAD}"], ["unreachable"]),
    (["report", "--tracking-uri", f"http://127.0.0.1:{DEAD}"], ["unreachable"]),
    (["verify", "--tracking-uri", "sqlite:///a_file/x.db"], ["a_file", "is a file"]),
    (["ui", "--tracking-uri", "foo://bar"], ["unknown scheme"]),
    (["ui"], ["no MLflow store"]),
    (["ui", "--port", "0"], ["--port"]),
    (["lab", "--port", "70000"], ["--port"]),
    (["report", "-o", "a_dir"], ["a_dir", "is a folder"]),
    (["report", "-o", "nowhere/r.html"], ["does not exist"]),
    (["report", "--target-kbps", "-5"], ["--target-kbps"]),
    (["report", "--target-kbps", "nan"], ["--target-kbps"]),
    (["report", "--top", "0"], ["--top"]),
    (["run", "--workers", "100000"], ["--workers", "per core"]),
    (["run", "--qualities", "50"], ["--qualities", "at least two"]),
    (["run", "--memory-gb", "1e12"], ["--memory-gb", "machine"]),
    (["run", "--scheduler", f"tcp://127.0.0.1:{DEAD}"], ["--scheduler", "unreachable"]),
    (["run", "--scheduler", "http://x"], ["--scheduler", "tcp://"]),
    (["propose", "--generator", "replay:mlflow:nope"], ["no MLflow store"]),
    (["cache", "ls", "--cache-dir", "a_file"], ["a_file", "not a folder"]),
    (["cache", "clear", "--cache-dir", "a_file/sub"], ["a_file", "not a folder"]),
    (["eval", "good.py", "--memory-gb", "-1"], ["--memory-gb"]),
    (["eval", "good.py", "--memory-gb", "1e12"], ["--memory-gb", "machine"]),
    (["eval", "good.py", "--timeout", "0"], ["--timeout"]),
    (["eval", "good.py", "--timeout", "nan"], ["--timeout"]),
    (["eval", "good.py", "--segment-timeout", "inf"], ["--segment-timeout"]),
    (["eval", "good.py", "--source", SOURCE, "--resize", "100000x100000"], ["--resize", "GiB"]),
    (["eval", "latin1.py"], ["latin1.py", "not UTF-8"]),
    (["baselines", "--source", SOURCE, "--resize", "100000x100000"], ["--resize"]),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    (tmp_path / "a_file").write_text("not a folder\n")
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "latin1.py").write_bytes("# caf\xe9\n".encode("latin-1") + GOOD.encode())
    return tmp_path


@pytest.mark.parametrize("args, needles", TABLE, ids=[" ".join(a) for a, _ in TABLE])
def test_bad_input_is_one_line_and_changes_nothing(folder, args, needles):
    before = snapshot(folder)
    tmp = folder / "a_dir"    # TMPDIR: nothing may be left in the temporary folder either
    proc = run_cli(*args, cwd=folder, env={"TMPDIR": str(tmp)}, timeout=120)
    assert_user_error(proc, *needles)
    assert snapshot(folder) == before


def test_bad_tracking_uri_in_the_environment_is_refused_the_same(folder):
    before = snapshot(folder)
    proc = run_cli("status", cwd=folder, env={"MLFLOW_TRACKING_URI": "foo://bar"})
    assert_user_error(proc, "foo://bar")
    assert snapshot(folder) == before
