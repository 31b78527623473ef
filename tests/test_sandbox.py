"""Hostile and broken programs: each is classified, leaks nothing, leaves nothing behind.

Every case runs with the full sandbox. Cases marked ``deep`` run a second time with the
Python audit hook switched off, to show that the operating-system layers alone still hold.
After every case: no secret in the result, no byte reached the listener, no process
survived, and no file outside the sandbox changed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess

import numpy as np
import pytest

from codecnb.evaluation import evaluate
from codecnb.rd import measure
from codecnb.codecs import ProgramCodec, builtin_program
from codecnb.sandbox.isolation import plan as sandbox_plan
from codecnb.sandbox.limits import Limits
from codecnb.sandbox.policy import ImportPolicy
from codecnb.sandbox.reaper import descendants
from codecnb.sources import open_source
from conftest import ROOT, Listener, janitors

SECRET_ENV = {"ANTHROPIC_API_KEY": "sk-ant-api03-SECRET-c0dec-7d1f",
              "AWS_SECRET_ACCESS_KEY": "aws-SECRET-55aa-c0dec"}
SECRET_FILE_TEXT = "file-SECRET-9b9b-c0dec"
SOURCE = "synthetic:pan?size=64x48&frames=4"
FAST = Limits(segment_timeout_s=4, evaluation_timeout_s=30, startup_timeout_s=30)


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture
def guard(monkeypatch, tmp_path, listener):
    """Plant secrets, snapshot files and processes; check everything after the case."""
    for k, v in SECRET_ENV.items():
        monkeypatch.setenv(k, v)
    secret_file = tmp_path / "credentials"
    secret_file.write_text(SECRET_FILE_TEXT)
    sentinel = ROOT / "mlruns" / f"sentinel-{os.getpid()}.txt"
    sentinel.write_text("untouched")
    digest = lambda: hashlib.sha256(sentinel.read_bytes()).hexdigest()  # noqa: E731
    before = (digest(), sentinel.stat().st_mtime_ns)
    ctx = {"secret_file": str(secret_file), "sentinel": str(sentinel), "port": listener.port}
    already = descendants(os.getpid()) | janitors()  # e.g. other tests' Dask clusters
    yield ctx
    try:
        assert (digest(), sentinel.stat().st_mtime_ns) == before, "a file outside changed"
    finally:
        sentinel.unlink()
    assert listener.received == b"" and listener.connections == 0, "the listener was reached"
    assert not descendants(os.getpid()) - already - janitors(), "a sandbox process survived"
    survivors = subprocess.run(["pgrep", "-f", "98765"], capture_output=True, text=True)
    assert survivors.stdout.strip() == "", "a detached child survived"
    text = ctx["result"].to_json()
    for secret in [*SECRET_ENV.values(), SECRET_FILE_TEXT]:
        assert secret not in text, "a secret leaked into the result"


def run(program: str, guard: dict, *, allow=(), audit=True, limits=FAST, source=SOURCE,
        frames=None):
    program = program.format(**guard)
    plan = dataclasses.replace(sandbox_plan(), audit=audit)
    res = evaluate(program, source, qualities=[50], segment_frames=4, frames=frames,
                   baselines=(), limits=limits, policy=ImportPolicy().widened(*allow),
                   isolation=plan)
    guard["result"] = res
    return res


def no_score(res) -> bool:
    """The cheat did not pay: failed, or its reconstruction is garbage."""
    return not res.ok or all(p.psnr_y < 20 for p in res.points)


def _file_channel(path: str) -> str:
    """An encoder that hides the frames in a file, and a decoder that reads them back."""
    return f"""
import numpy as np
def encode(frames, quality):
    try:
        with open("{path}", "wb") as f:
            f.write(frames.tobytes())
    except OSError:
        pass
    return b"x"
def decode(data):
    try:
        return np.frombuffer(open("{path}", "rb").read(), np.uint8).reshape(4, 48, 64, 3)
    except OSError:
        return np.zeros((4, 48, 64, 3), np.uint8)
""".replace("{", "{{").replace("}", "}}")

CASES = {
    # name: (program, allowed imports, expected failure kind or "no-score", deep)
    "secret-env-os": ("""
import os, numpy as np
def encode(frames, quality):
    raise RuntimeError(repr(dict(os.environ)))
def decode(data):
    return None
""", ["os"], "exception", True),
    "secret-env-dynamic-import": ("""
def encode(frames, quality):
    os = __import__("os")
    raise RuntimeError(str(os.environ))
def decode(data):
    return None
""", [], "isolation", False),
    "secret-proc-environ": ("""
def encode(frames, quality):
    raise RuntimeError(open("/proc/1/environ").read() + open("/proc/self/environ").read())
def decode(data):
    return None
""", [], "isolation", True),
    "secret-file": ("""
def encode(frames, quality):
    raise RuntimeError(open("{secret_file}").read())
def decode(data):
    return None
""", [], "isolation", True),
    "network-dynamic-import": ("""
def encode(frames, quality):
    s = __import__("socket").create_connection(("127.0.0.1", {port}), timeout=2)
    s.sendall(frames.tobytes()[:1000])
    return b"x"
def decode(data):
    return None
""", [], "isolation", False),
    "network-socket-allowed": ("""
import socket
def encode(frames, quality):
    s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
    s.sendall(frames.tobytes()[:1000])
    return b"x"
def decode(data):
    return None
""", ["socket"], "isolation", True),
    "side-channel-tmp": (_file_channel("/tmp/leak.bin"), [], "isolation", True),
    "side-channel-dev-shm": (_file_channel("/dev/shm/leak.bin"), [], "isolation", True),
    "side-channel-home-and-workdir": ("""
import numpy as np
def encode(frames, quality):
    with open("leak.bin", "wb") as f:      # the private working directory (= $HOME)
        f.write(frames.tobytes())
    return b"x"
def decode(data):
    try:
        return np.frombuffer(open("leak.bin", "rb").read(), np.uint8).reshape(4, 48, 64, 3)
    except OSError:
        return np.zeros((4, 48, 64, 3), np.uint8)
""", [], "no-score", True),
    "side-channel-globals": ("""
import numpy as np
KEPT = []
def encode(frames, quality):
    KEPT.append(frames.copy())
    return b"x"
def decode(data):
    return KEPT[-1] if KEPT else np.zeros((4, 48, 64, 3), np.uint8)
""", [], "no-score", False),
    "side-channel-builtins": ("""
import numpy as np
def encode(frames, quality):
    __builtins__["_leak"] = frames.copy()
    return b"x"
def decode(data):
    return __builtins__.get("_leak", np.zeros((4, 48, 64, 3), np.uint8))
""", [], "no-score", False),
    "tamper-outside-file": ("""
def encode(frames, quality):
    try:
        with open("{sentinel}", "w") as f:
            f.write("tampered")
    except OSError:
        pass
    return b"x"
def decode(data):
    import numpy as np
    return np.zeros((4, 48, 64, 3), np.uint8)
""", [], "isolation", True),
    "infinite-loop": ("""
def encode(frames, quality):
    while True:
        pass
def decode(data):
    return None
""", [], "timeout", False),
    "ignores-sigterm": ("""
import signal
def encode(frames, quality):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass
def decode(data):
    return None
""", ["signal"], "timeout", False),
    "holds-8-gib": ("""
import numpy as np
def encode(frames, quality):
    hog = np.ones(8 << 30, np.uint8)
    return hog[:10].tobytes()
def decode(data):
    return None
""", [], "memory", False),
    "detached-children": ("""
import subprocess
def encode(frames, quality):
    subprocess.Popen(["sleep", "98765"], start_new_session=True)
    return b"x"
def decode(data):
    import numpy as np
    return np.zeros((4, 48, 64, 3), np.uint8)
""", ["subprocess"], "isolation", True),
    "fork-setsid": ("""
import os
def encode(frames, quality):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "98765"])
        os._exit(0)
    return b"x"
def decode(data):
    import numpy as np
    return np.zeros((4, 48, 64, 3), np.uint8)
""", ["os"], "isolation", True),
    "wrong-shape": ("""
import numpy as np
def encode(frames, quality):
    return frames[:, ::2, ::2].tobytes()
def decode(data):
    return np.frombuffer(data, np.uint8).reshape(4, 24, 32, 3)
""", [], "output", False),
    "nan-output": ("""
import numpy as np
def encode(frames, quality):
    return b"x"
def decode(data):
    return np.full((4, 48, 64, 3), np.nan)
""", [], "output", False),
    "os-exit": ("""
import os
def encode(frames, quality):
    os._exit(0)
def decode(data):
    return None
""", ["os"], "crash", False),
    "sys-exit": ("""
def encode(frames, quality):
    raise SystemExit(3)
def decode(data):
    return None
""", [], "crash", False),
    "segfault": ("""
import numpy as np
def encode(frames, quality):
    bad = np.lib.stride_tricks.as_strided(frames.ravel(), shape=(10,), strides=(1 << 40,))
    return bytes([int(bad.sum()) % 256])
def decode(data):
    return None
""", [], "crash", False),
    "bitstream-3gb": ("""
def encode(frames, quality):
    return bytes(3_000_000_000)
def decode(data):
    return None
""", [], "too_large", False),
    "syntax-error": ("""
def encode(frames, quality)
    return b""
""", [], "syntax", False),
    "missing-decode": ("""
def encode(frames, quality):
    return b""
""", [], "contract", False),
    "static-import-os": ("""
import os
def encode(frames, quality):
    return b""
def decode(data):
    return None
""", [], "import", False),
    "ctypes-dynamic": ("""
def encode(frames, quality):
    ctypes = __import__("ctypes")
    return ctypes.string_at(0, 1)
def decode(data):
    return None
""", [], "isolation", False),
    "broadcast-error": ("""
import numpy as np
def encode(frames, quality):
    block = np.zeros((16, 16))
    basis = np.zeros((8, 8))
    return (block * basis).tobytes()
def decode(data):
    return None
""", [], "exception", False),
}


def _params():
    for name, (_, _, _, deep) in CASES.items():
        yield pytest.param(name, True, id=name)
        if deep:
            yield pytest.param(name, False, id=f"{name}-no-audit-hook")


@pytest.mark.parametrize("name,audit", list(_params()))
def test_hostile_program(name, audit, guard):
    program, allow, expected, _ = CASES[name]
    res = run(program, guard, allow=allow, audit=audit)
    if expected == "no-score" or not audit:
        # Without the audit hook the OS layers stop the attempt; it fails some other way or
        # runs to a reconstruction that does not score.
        assert no_score(res), (res.status, res.failure, [p.psnr_y for p in res.points])
        if not res.ok:
            assert res.failure.kind in {"exception", "crash", "output", "timeout", "isolation"}
    else:
        assert res.status == "failed" and res.failure.kind == expected, res.failure
        assert res.failure.message


def test_broadcast_error_names_the_line_and_shapes(guard):
    res = run(CASES["broadcast-error"][0], guard)
    f = res.failure
    assert f.kind == "exception" and f.stage == "encode" and f.line == 6
    assert "operands could not be broadcast together with shapes (16,16) (8,8)" in f.message
    assert f.code == "return (block * basis).tobytes()"


def test_decoder_cannot_find_the_source_on_disk(guard, testdata):
    """A decoder that reads the source file directly: refused, or hidden without the hook."""
    clip = testdata / "park_joy_480x270.y4m"
    cheat = f'''
import numpy as np
def encode(frames, quality):
    return b"x"
def decode(data):
    raw = open({str(clip)!r}, "rb").read()
    frames, pos = [], raw.index(b"\\n") + 1
    for _ in range(4):
        pos = raw.index(b"\\n", pos) + 1
        y = np.frombuffer(raw, np.uint8, 480 * 270, pos).reshape(270, 480)
        frames.append(np.repeat(y[..., None], 3, axis=2))
        pos += 480 * 270 * 3 // 2
    return np.stack(frames)
'''
    for audit in (True, False):
        res = run(cheat.replace("{", "{{").replace("}", "}}"), guard, audit=audit,
                  source=str(clip), frames=4)
        assert not res.ok and res.failure.kind in ({"isolation"} if audit else {"exception"})


LOSSLESS = """
import zlib
import numpy as np

def encode(frames, quality):
    header = np.array(frames.shape, np.int32).tobytes()
    return header + zlib.compress(frames.tobytes(), 6)

def decode(data):
    shape = tuple(np.frombuffer(data[:16], np.int32))
    return np.frombuffer(zlib.decompress(data[16:]), np.uint8).reshape(shape)
"""


def test_lossless_program_is_exact_and_json_safe():
    res = evaluate(LOSSLESS, SOURCE, qualities=[10, 90], segment_frames=4)
    assert res.ok, res.failure
    for p in res.points:
        assert p.psnr_y == p.psnr_u == p.psnr_v == float("inf") and p.ssim_y == 1.0
        assert p.bytes < 4 * 48 * 64 * 3
    assert '"psnr_y": "inf"' in res.to_json()
    assert res.bd_rate.keys() == {"jpeg", "x264"}
    assert "net-namespace" in res.isolation and res.sandbox["python_guards"] is True
    assert res.evaluator_version and len(res.program_sha256) == 64


def test_starter_in_sandbox_matches_trusted_measurement():
    src = "synthetic:pan?size=96x64&frames=6"
    res = evaluate(builtin_program("starter"), src, qualities=[30, 70], segment_frames=4)
    assert res.ok, res.failure
    trusted = measure({"s": ProgramCodec.builtin("starter")}, {"s": [30, 70]},
                      open_source(src), segment_frames=4)["s"]
    for got, want in zip(res.points, trusted.points):
        assert got.bytes == want.bytes
        assert got.psnr_y == pytest.approx(want.psnr_y, abs=1e-9)
        assert got.ssim_y == pytest.approx(want.ssim_y, abs=1e-12)
        assert len(got.per_frame["psnr_y"]) == 6
    assert res.bd_rate["jpeg"] is not None and res.bd_rate["jpeg"] < 0


def test_vmaf_in_the_sandbox_matches_trusted_measurement(tmp_path):
    from conftest import run_cli
    import json
    src = "synthetic:pan?size=96x64&frames=4"
    res = evaluate(builtin_program("starter"), src, qualities=[30, 70], vmaf=True)
    trusted = measure({"s": ProgramCodec.builtin("starter")}, {"s": [30, 70]},
                      open_source(src), vmaf=True)["s"]
    assert [p.vmaf for p in res.points] == pytest.approx([p.vmaf for p in trusted.points],
                                                         abs=1e-6)
    assert all(0 < p.vmaf <= 100 for p in res.points)
    assert res.points[0].vmaf < res.points[1].vmaf
    assert len(res.points[0].per_frame["vmaf"]) == 4
    (tmp_path / "starter.py").write_text(builtin_program("starter"))
    proc = run_cli("eval", str(tmp_path / "starter.py"), "--source", src, "--quality", "70",
                   "--vmaf", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["points"][0]["vmaf"] == pytest.approx(res.points[1].vmaf)


def test_cli_eval_json_and_exit_codes(tmp_path):
    from conftest import run_cli
    import json
    good = tmp_path / "lossless.py"
    good.write_text(LOSSLESS)
    proc = run_cli("eval", str(good), "--source", SOURCE, "--quality", "50", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "ok" and out["failure"] is None
    assert set(out["points"][0]) >= {"quality", "bytes", "kbps", "psnr_y", "ssim_y",
                                     "encode_s", "decode_s"}
    assert out["points"][0]["psnr_y"] == "inf" and "jpeg" in out["bd_rate"]
    assert isinstance(out["isolation"], list) and out["isolation"]
    bad = tmp_path / "bad.py"
    bad.write_text(CASES["broadcast-error"][0])
    proc = run_cli("eval", str(bad), "--source", SOURCE, "--quality", "50", "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["failure"]["kind"] == "exception"
    proc = run_cli("eval", str(tmp_path / "missing.py"))
    assert proc.returncode == 2 and "missing.py" in proc.stderr


def test_reused_buffers_hold_no_previous_frames():
    """Pooled shared buffers are zeroed before reuse: no candidate sees another's data."""
    from codecnb.sandbox.process import POOL
    res = evaluate(LOSSLESS, SOURCE, qualities=[50], segment_frames=4, baselines=())
    assert res.ok
    assert POOL._idle, "buffers should be pooled after an evaluation"
    for buf in POOL._idle:
        assert not np.frombuffer(buf.map, np.uint8).any()


# -- any exit is the candidate's failure, cleanly (issue 21) -----------------------------
def test_every_exit_status_and_signal_is_one_clean_candidate_failure():
    """Unit level: every return code a process can end with (exit statuses 0-255, killed
    by any signal 1-64), jailed (bubblewrap reports a signal as 128 + N) or not, is one
    failure of a candidate kind with a description true of that code."""
    import signal as _signal

    from codecnb.sandbox.failures import Failure
    from codecnb.sandbox.process import death_failure
    codes = [*range(256), *(-s for s in range(1, 65))]
    for jailed in (True, False):
        for code in codes:
            for stage in ("load", "encode", "decode"):
                f = death_failure(code, stage, jailed=jailed, limits=FAST)
                assert isinstance(f, Failure) and f.stage == stage
                assert f.kind in {"crash", "timeout"}, (code, f)
                assert str(code if code >= 0 else -code) in f.message, (code, f.message)
                if code >= 0 and not (jailed and code > 128):
                    assert f.kind == "crash" and f"status {code}" in f.message
                    assert "signal" not in f.detail
                if code < 0:
                    assert f.detail["signal"] == -code
                    assert "died" in f.message or code == -_signal.SIGXCPU
                if jailed and code > 128:  # either, and it says so
                    assert f"exit({code})" in f.message and f.detail["signal"] == code - 128
    f = death_failure(-int(_signal.SIGXCPU), "encode", jailed=True, limits=FAST)
    assert f.kind == "timeout"
    f = death_failure(165, "encode", jailed=True, oom=True, limits=FAST)
    assert f.kind == "memory"
    assert "signal 37" in death_failure(165, "encode", jailed=True).message
    assert "signal 11 (SIGSEGV, segmentation fault)" in death_failure(-11, "decode", jailed=True).message


_EXIT_AT = {
    "load": "import os\nos._exit({status})\ndef encode(frames, quality):\n    return b'x'\n"
            "def decode(data):\n    return None\n",
    "encode": "import os\ndef encode(frames, quality):\n    os._exit({status})\n"
              "def decode(data):\n    return None\n",
    "decode": "import os\nimport numpy as np\ndef encode(frames, quality):\n    return b'x'\n"
              "def decode(data):\n    os._exit({status})\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("stage,status", [("load", 165), ("encode", 255), ("encode", 37),
                                          ("decode", 1), ("decode", 200)])
def test_a_plain_exit_status_at_any_stage_is_a_clean_crash(stage, status, guard):
    """Real processes: ``os._exit(N)`` at load, encode and decode (statuses that bubblewrap's
    128 + signal convention makes look like signals, and one that is not a signal number)
    end in one failed result of kind ``crash`` naming the status, never an exception."""
    program = _EXIT_AT[stage].replace("{status}", str(status))
    res = run(program.replace("{", "{{").replace("}", "}}"), guard, allow=["os"])
    assert res.status == "failed" and res.failure.kind == "crash", res.failure
    assert res.failure.stage == stage and str(status) in res.failure.message, res.failure


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["encode", "decode"])
def test_a_signal_at_any_stage_is_a_clean_crash(stage, guard):
    """A process that kills itself with a real-time signal (no name in Python's
    ``signal.Signals``, once an exception out of the evaluator) at encode or decode."""
    body = "os.kill(os.getpid(), 37)\n    time.sleep(5)"
    program = ("import os, time\nimport numpy as np\n"
               f"def encode(frames, quality):\n    {body if stage == 'encode' else 'pass'}\n"
               "    return b'x'\n"
               f"def decode(data):\n    {body if stage == 'decode' else 'pass'}\n"
               "    return None\n")
    res = run(program.replace("{", "{{").replace("}", "}}"), guard, allow=["os", "time"],
              audit=False)
    assert res.status == "failed" and res.failure.kind == "crash", res.failure
    assert res.failure.stage == stage and "37" in res.failure.message, res.failure
