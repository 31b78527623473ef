"""The CLI refuses bad input before any work: one line, exit 2, nothing created; unknown
campaigns; help in units; a failed campaign never hides a good one silently."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecnb.generators.candidate import Candidate
from codecnb.spec import build_spec
from codecnb.tracking import client, ensure_experiment
from codecnb.tracking import runs as R
from conftest import assert_user_error, run_cli
from programs import GOOD, SOURCE


def refused(tmp_path: Path, *args: str, needles=()) -> None:
    proc = run_cli(*args, cwd=tmp_path)
    assert_user_error(proc, *needles)
    assert not (tmp_path / "mlruns").exists()      # nothing created in the store
    assert "Dask" not in proc.stderr


@pytest.mark.parametrize("args, needles", [
    (["--source", "/nonexistent.mp4"], ["/nonexistent.mp4", "no such file"]),
    (["--frames", "-3"], ["--frames", "must be >= 1"]),
    (["--source", SOURCE, "--frames", "8"], ["only 4 frames", "8 requested"]),
    (["--source", SOURCE, "--start", "6", "--frames", "1"], ["no frames"]),
    (["--source", SOURCE, "--resize", "33x20"], ["--resize", "even"]),
    (["--qualities", "25,abc"], ["--qualities"]),
    (["--workers", "0"], ["--workers"]),
    (["--iterations", "x"], ["--iterations"]),
    (["--timeout", "-1"], ["--timeout"]),
    (["--bogus-flag"], ["unrecognized arguments: --bogus-flag"]),
    (["--campaign", "abc"], ["--campaign is for --resume"]),
    (["--resume"], ["no MLflow store"]),
])
def test_run_refuses_bad_input_before_any_work(tmp_path, args, needles):
    refused(tmp_path, "run", *args, needles=needles)


def test_bad_environment_value_is_one_line(tmp_path):
    proc = run_cli("run", env={"CODECNB_QUALITIES": "1,2,300"}, cwd=tmp_path)
    assert_user_error(proc, "CODECNB_QUALITIES", "0..100")
    assert not (tmp_path / "mlruns").exists()


def test_other_commands_check_the_window_too(tmp_path):
    assert_user_error(run_cli("eval", "x.py", cwd=tmp_path), "x.py")
    (tmp_path / "good.py").write_text(GOOD)
    assert_user_error(run_cli("eval", str(tmp_path / "good.py"), "--source", SOURCE, "--frames",
                              "9", cwd=tmp_path), "only 4 frames")
    assert_user_error(run_cli("baselines", "--source", SOURCE, "--start", "2", "--frames", "3",
                              cwd=tmp_path), "only 2 frames from frame 2")


def test_help_shows_each_default_in_its_unit():
    out = run_cli("run", "--help").stdout
    flat = " ".join(out.split())
    assert "default 50 GiB" in flat and str(50 << 30) not in flat
    for text in ("default 8 frames", "default 25,50,75,90", "default 4 GiB", "default 1800 s",
                 "default 6", "default 16 frames", "default frame 0", "default: the native size",
                 "default claude-"):
        assert text in flat, text
    assert "default None" not in flat


# -- a store with campaigns made directly through the tracking layer (no campaign run) --------
def _store(tmp_path: Path):
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    c = client(uri)
    return uri, c, ensure_experiment(c, "codecnb")


def _campaign(c, exp, spec, kids: list[tuple[str, bool]], iterations: int = 2) -> str:
    """A parent run with children (status, has candidate.py); the parent ends FINISHED."""
    parent = R.start_campaign(c, exp, "campaign-test", spec, {"generator": "offline", "seed": 0},
                              {"iterations": iterations, "generator": "offline"})
    for i, (status, with_program) in enumerate(kids, 1):
        cand = Candidate(program=GOOD.replace("6)", f"{i})"), generator="offline")
        rid = R.create_candidate_run(c, exp, parent, i, cand, R.spec_params(spec), [])
        if not with_program:
            path = Path(c.get_run(rid).info.artifact_uri.replace("file://", "")) / "candidate.py"
            path.unlink()
        if status == "FINISHED":
            R.log_batch(c, rid, [R.metric("bd_rate_jpeg", -0.1 * i)])
        if status != "RUNNING":
            R.end_run(c, rid, status)
    R.end_run(c, parent, "FINISHED")
    return parent


@pytest.fixture(scope="module")
def two_campaigns(tmp_path_factory):
    """A store holding a good campaign, then a later one whose only candidate failed."""
    tmp = tmp_path_factory.mktemp("store")
    uri, c, exp = _store(tmp)
    spec = build_spec(source=SOURCE, frames=2, qualities=(30, 70))
    good = _campaign(c, exp, spec, [("FINISHED", True)])
    bad = _campaign(c, exp, spec, [("FAILED", True)])
    return uri, c, exp, good, bad


@pytest.mark.slow  # each command opens the MLflow store (5-8 s on busy cores)
def test_unknown_campaign_is_refused(two_campaigns):
    uri = two_campaigns[0]
    for cmd in ("status", "leaderboard"):
        assert_user_error(run_cli(cmd, "--tracking-uri", uri, "--campaign", "doesnotexist"),
                          "doesnotexist", "not found")
    assert_user_error(run_cli("run", "--resume", "--campaign", "doesnotexist", "--tracking-uri",
                              uri), "doesnotexist")


@pytest.mark.slow  # each command opens the MLflow store (5-8 s on busy cores)
def test_a_failed_campaign_does_not_hide_the_good_one_silently(two_campaigns):
    uri, c, exp, good, bad = two_campaigns
    for cmd in ("status", "leaderboard"):
        proc = run_cli(cmd, "--tracking-uri", uri)
        assert proc.returncode == 0, proc.stderr
        assert bad in proc.stdout
        assert f"--campaign {good}" in proc.stderr and "no successful candidate" in proc.stderr
    board = json.loads(run_cli("leaderboard", "--tracking-uri", uri, "--campaign", good,
                               "--json").stdout)
    assert len(board) == 1


@pytest.mark.slow  # each command opens the MLflow store (5-8 s on busy cores)
def test_resume_refuses_flags_that_conflict_with_the_stored_spec(two_campaigns, tmp_path):
    uri, c, exp, good, bad = two_campaigns
    for args, needle in [(["--frames", "3"], "--frames 3 conflicts with the resumed "
                                             "campaign's 2"),
                         (["--qualities", "30,60"], "campaign's 30,70"),
                         (["--source", "synthetic:static?size=64x48&frames=4"], "--source"),
                         (["--generator", "anthropic"], "--generator anthropic conflicts"),
                         (["--seed", "3"], "--seed 3 conflicts")]:
        proc = run_cli("run", "--resume", "--tracking-uri", uri, *args, cwd=tmp_path)
        assert_user_error(proc, needle)
    kids = R.children(c, exp, bad)
    assert len(kids) == 1 and c.get_run(bad).info.status == "FINISHED"   # nothing touched


# -- clips the project had never seen: refused in one line before any work ----------------
@pytest.fixture(scope="module")
def unseen(testdata, tmp_path_factory) -> dict[str, str]:
    """Small real clips of the kinds an outside checker brings (made from the bunny clip)."""
    from clips import damaged_copy, make_clip, x264
    from codecnb.ffmpeg import run_ffmpeg
    d = tmp_path_factory.mktemp("unseen clips")
    good = make_clip(testdata, d / "good.mp4", *x264("-g", "1"), size="320x180", frames=6)
    full = make_clip(testdata, d / "full.mp4", *x264(), size="320x180", frames=8)
    cut = d / "cut: ü.mp4"
    cut.write_bytes(full.read_bytes()[:full.stat().st_size // 2])
    audio = d / "tone.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=0.2", "-c:a", "aac",
                str(audio)])
    return {"damaged": str(damaged_copy(good, d / "damaged.mp4")), "cut": str(cut),
            "audio": str(audio), "good": str(good),
            "tiny": str(make_clip(testdata, d / "tiny.y4m", "-pix_fmt", "yuv420p", size="6x4")),
            "short": str(make_clip(testdata, d / "short.mp4", *x264(), frames=2))}


@pytest.mark.parametrize("clip, extra, needles", [
    ("damaged", ["--frames", "4"], ["damaged.mp4", "decoding failed", "damaged or truncated"]),
    ("cut", [], ["cut: ü.mp4", "moov atom not found"]),
    ("audio", [], ["tone.m4a", "no video stream"]),
    ("tiny", [], ["tiny.y4m", "6x4 are too small", "--resize"]),
    ("short", ["--frames", "8"], ["short.mp4", "only 2 frames", "8 requested"]),
    ("good", ["--frames", "4", "--uri-opts", "frames=2"], ["frames=2 in the URI but 4"]),
])
def test_unseen_clips_are_refused_before_any_work(tmp_path, unseen, clip, extra, needles):
    """Before: the damaged clip ran (its frames concealed differently on each read), the
    truncated one said only "Invalid data found", the 6x4 one "no frame size", and a
    window in the URI was silently replaced by the flags'."""
    source = unseen[clip]
    if "--uri-opts" in extra:
        i = extra.index("--uri-opts")
        source, extra = f"{source}?{extra[i + 1]}", extra[:i]
    refused(tmp_path, "run", "--source", source, "--iterations", "1", *extra,
            "--tracking-uri", f"sqlite:///{tmp_path}/mlruns/m.db", needles=needles)


@pytest.mark.slow  # one sandboxed evaluation through the CLI (10 s on the shared cores)
def test_eval_takes_the_window_of_the_uri_and_refuses_unseen_clips(tmp_path, unseen):
    (tmp_path / "good.py").write_text(GOOD)
    proc = run_cli("eval", str(tmp_path / "good.py"), "--source",
                   f"{unseen['good']}?start=5&frames=1", "--quality", "50", "--json",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    source = json.loads(proc.stdout)["source"]
    assert source["frames"] == 1 and "start=5" in source["identity"]    # was frames 0..7
    assert_user_error(run_cli("eval", str(tmp_path / "good.py"), "--source", unseen["damaged"],
                              "--frames", "4", cwd=tmp_path), "decoding failed")
