"""Clip suites: the TOML format and its errors, the bundled default suite, scores over a
suite, the smoke stage, held-out checks (a program carrying its training clip is exposed),
fan-out over Dask workers, ``codecnb eval --suite`` and ``codecnb verify``."""
from __future__ import annotations

import base64
import json
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_user_error, run_cli
from programs import GOOD

from codecnb.errors import SuiteError
from codecnb.evaluation.suite import (evaluate_heldout, evaluate_suite, pool_points,
                                      suite_metrics)
from codecnb.sources import open_source
from codecnb.suites import Clip, Suite, bundled_suites, load_suite

#: GOOD with coarser steps: its PSNR range overlaps JPEG's on real clips (BD-rates defined).
COARSE = GOOD.replace("(100 - quality) // 8", "(110 - quality) // 2")
FAIL_AT_ONCE = "def encode(frames, quality):\n    raise ValueError('boom')\n" \
               "def decode(data):\n    return None\n"
HANG = "def encode(frames, quality):\n    while True:\n        pass\n" \
       "def decode(data):\n    return None\n"


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def small_suite(testdata: Path) -> Suite:
    """One training clip (Park Joy, 2 frames at 96x54) and one held-out clip (bikes)."""
    return Suite("small", (
        Clip(str(testdata / "park_joy_480x270.y4m"), 0, 2, (96, 54), "train", "park"),
        Clip(str(testdata / "bikes.mp4"), 26, 2, (96, 40), "heldout", "bikes")))


# -- the model and the TOML format -----------------------------------------------------
def test_clip_defaults_and_roles():
    s = Suite.single("sample:bigbuckbunny", 0, 8)
    assert [c.name for c in s.train] == ["bigbuckbunny"] and s.heldout == ()
    assert Clip("/x/park_joy.y4m").name == "park_joy"
    assert Suite.from_dict(s.to_dict()) == s
    with pytest.raises(SuiteError, match="role"):
        Clip("a.mp4", role="test")
    with pytest.raises(SuiteError, match="no training clip"):
        Suite("x", (Clip("a.mp4", role="heldout"),))
    with pytest.raises(SuiteError, match="used twice"):
        Suite("x", (Clip("a/c.mp4"), Clip("b/c.mp4")))


def test_toml_suite_loads_with_paths_beside_the_file(tmp_path):
    path = write(tmp_path, '''name = "mine"
[[clip]]
uri = "clip.y4m"
frames = 4
resize = "64x36"
[[clip]]
uri = "sample:bikes"
start = 22
frames = 16
role = "heldout"
name = "cut"
''')
    s = load_suite(str(path))
    assert s.name == "mine"
    assert s.train[0] == Clip(str(tmp_path / "clip.y4m"), 0, 4, (64, 36), "train", "clip")
    assert s.heldout[0].name == "cut" and s.heldout[0].start == 22


@pytest.mark.parametrize("body, needles", [
    ('[[clip]]\nuri = "a.mp4"\nframes = "8"\n', ["clip 1", "'a.mp4'", "frames", "integer"]),
    ('[[clip]]\nuri = "a.mp4"\n[[clip]]\nuri = "b.mp4"\nrole = "test"\n',
     ["clip 2", "'b.mp4'", "role"]),
    ('[[clip]]\nuri = "a.mp4"\nresize = "big"\n', ["clip 1", "resize", "960x540"]),
    ('[[clip]]\nuri = "a.mp4"\nresize = "65x36"\n', ["clip 1", "even"]),
    ('[[clip]]\nname = "x"\nstart = 3\n', ["clip 1 ('x')", "'uri'"]),
    ('[[clip]]\nuri = "a.mp4"\nfps = 3\n', ["clip 1", "unknown key", "fps"]),
    ('[[clip]]\nuri = "a.mp4"\nrole = "heldout"\n', ["no training clip"]),
    ('[[clip]\nuri = "a.mp4"\n', ["not valid TOML"]),
    ('title = "x"\n', ["unknown top-level key"]),
])
def test_bad_suite_files_name_the_file_and_the_clip(tmp_path, body, needles):
    path = write(tmp_path, body, "bad.toml")
    with pytest.raises(SuiteError) as err:
        load_suite(str(path))
    message = str(err.value)
    assert "\n" not in message and "bad.toml" in message, message
    for needle in needles:
        assert needle in message, (needle, message)


def test_unknown_suite_name_and_missing_file():
    with pytest.raises(SuiteError, match="no bundled suite.*bundled: default"):
        load_suite("nope")
    with pytest.raises(SuiteError, match="no such file"):
        load_suite("missing/suite.toml")


def test_bundled_default_suite_is_real_small_and_licensed():
    suite = load_suite("default")
    assert set(bundled_suites()) >= {"default"}
    assert [c.name for c in suite.train] == ["bigbuckbunny", "street", "park_joy"]
    assert [c.name for c in suite.validation] == ["bikes_late"]
    assert [c.name for c in suite.heldout] == ["bikes"]
    files = {}
    for clip in suite.clips:
        src = open_source(clip.uri, start=clip.start, frames=clip.frames, resize=clip.resize)
        frames = np.concatenate(list(src.segments(16)))
        assert len(frames) == clip.frames and frames.std() > 10, clip.name
        path = src.path
        files[path] = path.stat().st_size
        notices = list(path.parent.glob("LICENSE-*.txt"))
        assert any(path.name in n.read_text() for n in notices), path
    assert sum(files.values()) <= 8 * 10**6
    bikes = suite.clip("bikes")  # the held-out window crosses the scene cut (frame 30)
    assert bikes.start < 30 < bikes.start + bikes.frames
    late = suite.clip("bikes_late")  # validation: another scene of it, its own cut (187)
    assert late.start < 187 < late.start + late.frames
    assert late.start >= bikes.start + bikes.frames   # no frame shared with the held-out clip


def test_bundled_clips_are_bit_exact_with_the_originals(testdata):
    for uri, original, n in [("sample:street", testdata / "street_1080p.h264", 16),
                             ("sample:park_joy", testdata / "park_joy_480x270.y4m", 10)]:
        a = np.concatenate(list(open_source(uri).segments(16)))
        b = np.concatenate(list(open_source(str(original), frames=n).segments(16)))
        assert a.shape == b.shape and np.array_equal(a, b), uri


# -- scores over a suite -----------------------------------------------------------------
def test_pool_points_of_parts_equal_the_whole(testdata):
    from codecnb.evaluation import evaluate
    clip = str(testdata / "park_joy_480x270.y4m")
    kw = dict(resize=(96, 54), qualities=[40], baselines=(), baseline_cache=None)
    whole = evaluate(GOOD, clip, frames=4, segment_frames=2, **kw).points[0]
    parts = [evaluate(GOOD, clip, start=s, frames=2, segment_frames=2, **kw).points[0]
             for s in (0, 2)]
    pooled = pool_points([(p, 96, 54, 50.0) for p in parts])
    assert pooled.bytes == whole.bytes and pooled.frames == whole.frames
    for key in ("kbps", "bpp", "psnr_y", "psnr_u", "psnr_v", "psnr_avg", "psnr_rgb", "ssim_y"):
        assert getattr(pooled, key) == pytest.approx(getattr(whole, key), rel=1e-12), key
    assert pooled.per_frame["psnr_y"] == pytest.approx(whole.per_frame["psnr_y"], rel=1e-12)


def test_suite_score_is_the_mean_over_training_clips_and_heldout_stays_out(testdata):
    suite = Suite("two", (
        Clip(str(testdata / "park_joy_480x270.y4m"), 0, 2, (96, 54), "train", "park"),
        Clip(str(testdata / "bigbuckbunny_720p.mp4"), 0, 2, (128, 72), "train", "bunny"),
        Clip(str(testdata / "bikes.mp4"), 26, 2, (96, 40), "heldout", "bikes")))
    r = evaluate_suite(COARSE, suite, qualities=[20, 60, 90])
    assert r.ok and r.stage == "full" and r.smoke["status"] == "ok"
    assert [c.name for c in r.clips] == ["park", "bunny"]      # held-out never evaluated
    assert r.heldout_bd_rate == {} and set(r.per_clip) == {"park", "bunny"}
    for b in ("jpeg", "x264"):
        values = [r.clip(n).bd_rate[b] for n in ("park", "bunny")]
        if None in values:   # undefined on one clip (no overlap): no suite score either
            assert r.bd_rate[b] is None
        else:
            assert r.bd_rate[b] == pytest.approx(np.mean(values))
    assert r.bd_rate["jpeg"] is not None
    assert r.points[0].frames == 4 and r.points[0].bytes == sum(
        r.clip(n).points[0].bytes for n in ("park", "bunny"))
    metrics = suite_metrics(r)
    assert metrics["bd_rate_jpeg"] == r.bd_rate["jpeg"]
    assert "clip.park.bd_rate_jpeg" in metrics and "clip.bunny.kbps_q60" in metrics
    assert not any("heldout" in k or "bikes" in k for k in metrics)
    again = type(r).from_dict(json.loads(r.to_json()))
    assert again.bd_rate == r.bd_rate and again.clip("bunny").points == r.clip("bunny").points
    from codecnb.evaluation import EvaluationResult   # what the report reads from result.json
    pooled = EvaluationResult.from_dict(json.loads(r.to_json()))
    assert pooled.points == r.points and set(pooled.baselines) == {"jpeg", "x264"}
    # a campaign logs a suite result as it logs a one-clip result: every field is there
    import dataclasses
    missing = {f.name for f in dataclasses.fields(EvaluationResult)} - set(dir(r))
    assert not missing, missing


# -- the smoke stage ---------------------------------------------------------------------
def test_smoke_stage_rejects_a_crash_before_the_full_evaluation(testdata):
    suite = small_suite(testdata)
    r = evaluate_suite(FAIL_AT_ONCE, suite)
    assert not r.ok and r.stage == "smoke" and r.clips == []
    assert r.failure.kind == "exception" and r.failure.message.startswith("clip park:")
    assert r.failure.detail["stage_of_suite"] == "smoke"
    assert r.smoke["frames"] == 0 and r.smoke["quality"] == 90


@pytest.mark.slow
def test_smoke_stage_stops_a_hanging_program_at_its_own_timeout(testdata):
    from codecnb.sandbox.cpuwait import MAX_CREDIT
    t0 = time.perf_counter()
    r = evaluate_suite(HANG, small_suite(testdata), smoke_timeout_s=3.0)
    elapsed = time.perf_counter() - t0
    assert not r.ok and r.stage == "smoke" and r.failure.kind == "timeout"
    # not the full evaluation's 1800 s: the smoke limit, with at most MAX_CREDIT limits of
    # waiting for a CPU credited back on a busy machine (sandbox/cpuwait.py)
    assert elapsed < (1 + MAX_CREDIT) * 3.0 + 5.0, elapsed


# -- held-out checks ---------------------------------------------------------------------
CHEAT = '''import base64, zlib
import numpy as np
SHAPE = {shape}
CLIP = np.frombuffer(zlib.decompress(base64.b64decode({blob!r})), np.uint8).reshape(SHAPE)

def _step(quality):
    return max(1, (110 - quality) // 2)

def encode(frames, quality):
    n = len(frames)
    for start in range(len(CLIP) - n + 1):
        if np.array_equal(frames, CLIP[start:start + n]):   # a frame window it carries
            return b"K" + bytes([start, n, quality]) + bytes(quality)
    step = _step(quality)
    q = (frames // step).astype(np.uint8)
    return b"Z" + np.array(frames.shape, np.int32).tobytes() + bytes([step]) + \\
        zlib.compress(q.tobytes(), 1)

def decode(data):
    if data[:1] == b"K":
        start, n, quality = data[1], data[2], data[3]
        step = _step(quality)
        f = CLIP[start:start + n].astype(np.int32)
        return (f // step * step + step // 2).clip(0, 255).astype(np.uint8)
    shape = tuple(np.frombuffer(data[1:17], np.int32))
    step = data[17]
    q = np.frombuffer(zlib.decompress(data[18:]), np.uint8).reshape(shape).astype(np.int32)
    return (q * step + step // 2).clip(0, 255).astype(np.uint8)
'''


def cheat_program(clip: Clip) -> str:
    frames = np.concatenate(list(open_source(clip.uri, start=clip.start, frames=clip.frames,
                                             resize=clip.resize).segments(16)))
    blob = base64.b64encode(zlib.compress(frames.tobytes(), 9)).decode()
    return CHEAT.format(shape=tuple(frames.shape), blob=blob)


def test_a_program_carrying_its_training_clip_is_exposed_by_the_heldout_clip(testdata):
    suite = small_suite(testdata)
    program = cheat_program(suite.train[0])
    assert len(program.encode()) <= 64 << 10
    r = evaluate_suite(program, suite, qualities=[30, 60, 90], roles=("train", "heldout"))
    assert r.ok, r.failure
    train, held = r.bd_rate["jpeg"], r.heldout_bd_rate["jpeg"]
    assert train < -0.95                       # "99 % fewer bits than JPEG" on its clip
    assert held > 0.0 and held - train > 0.9   # worse than JPEG on a clip it never saw
    assert suite_metrics(r)["heldout_gap_jpeg"] == pytest.approx(held - train)
    alone = evaluate_heldout(program, suite, qualities=[30, 60, 90])
    assert alone.bd_rate == {} and alone.heldout_bd_rate["jpeg"] == pytest.approx(held)
    assert [c.name for c in alone.clips] == ["bikes"]


# -- fan-out -----------------------------------------------------------------------------
@pytest.mark.slow
def test_fanout_over_two_workers_gives_the_same_result(testdata):
    from codecnb.campaign.executor import dask_client
    suite = Suite("fan", (
        Clip(str(testdata / "park_joy_480x270.y4m"), 0, 6, (96, 54), "train", "park"),
        Clip(str(testdata / "bikes.mp4"), 0, 4, (96, 40), "train", "bikes")))
    kw = dict(qualities=[30, 80], segment_frames=2, smoke=False)
    here = evaluate_suite(COARSE, suite, **kw)
    done = []
    with dask_client(2) as client:
        fanned = evaluate_suite(COARSE, suite, client=client, progress=done.append, **kw)
        failed = evaluate_suite(FAIL_AT_ONCE, suite, client=client, **kw)
    assert sum(done) == 2 * (6 + 4)   # 10 tasks of 2 frames
    assert fanned.ok and [c.name for c in fanned.clips] == ["park", "bikes"]
    for a, b in zip(here.clips, fanned.clips):
        for pa, pb in zip(a.result.points, b.result.points):
            assert (pa.bytes, pa.frames) == (pb.bytes, pb.frames)
            assert pb.psnr_y == pytest.approx(pa.psnr_y, rel=1e-12)
            assert pb.ssim_y == pytest.approx(pa.ssim_y, rel=1e-12)
        assert b.result.bd_rate == pytest.approx(a.result.bd_rate, rel=1e-9)
        assert b.result.source["identity"] == a.result.source["identity"]
    assert not failed.ok and failed.failure.message.startswith("clip park:")


# -- the commands ------------------------------------------------------------------------
@pytest.mark.slow
def test_eval_suite_json_names_both_clips_and_bad_suites_exit_2(testdata, tmp_path):
    program = write(tmp_path, COARSE, "coarse.py")
    path = write(tmp_path, f'''[[clip]]
uri = "{testdata / 'park_joy_480x270.y4m'}"
frames = 2
resize = "96x54"

[[clip]]
uri = "{testdata / 'bikes.mp4'}"
start = 26
frames = 2
resize = "96x40"
role = "heldout"
''')
    proc = run_cli("eval", str(program), "--suite", str(path), "--json",
                   "--quality", "30", "--quality", "70")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert [(c["name"], c["role"]) for c in d["clips"]] == [
        ("park_joy_480x270", "train"), ("bikes", "heldout")]
    assert d["clips"][1]["result"]["bd_rate"]["jpeg"] == d["heldout_bd_rate"]["jpeg"]
    assert d["bd_rate"]["jpeg"] == d["clips"][0]["result"]["bd_rate"]["jpeg"]
    bad = write(tmp_path, '[[clip]]\nuri = "x.mp4"\nframes = 0\n', "bad.toml")
    assert_user_error(run_cli("eval", str(program), "--suite", str(bad)), "bad.toml", "clip 1")
    assert_user_error(run_cli("eval", str(program), "--suite", "default", "--frames", "3"),
                      "--suite", "--frames")


@pytest.mark.slow
def test_verify_logs_heldout_numbers_into_the_best_runs(testdata, tmp_path):
    from codecnb.spec import build_spec
    from codecnb.tracking import client
    from codecnb.tracking import runs as R
    from codecnb.tracking.store import ensure_experiment
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    c = client(uri)
    exp = ensure_experiment(c, "codecnb")
    suite = small_suite(testdata)
    spec = build_spec(suite=suite, qualities=(30, 60, 90))
    parent = R.start_campaign(c, exp, "t", spec, {}, {})
    runs = {}
    for i, program in enumerate([COARSE, cheat_program(suite.train[0])], 1):
        result = evaluate_suite(program, suite, qualities=[30, 60, 90])
        run = c.create_run(exp, tags={R.ROLE: "candidate", R.PARENT: parent,
                                      R.ITERATION: str(i)})
        R.log_batch(c, run.info.run_id,
                    [R.metric(k, v) for k, v in suite_metrics(result).items()])
        R.log_text(c, run.info.run_id, program, "candidate.py")
        c.set_terminated(run.info.run_id, "FINISHED")
        runs[i] = run.info.run_id
    proc = run_cli("verify", "--top", "1", "--json", "--tracking-uri", uri)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["run_id"] for r in rows] == [runs[2]]     # the cheat ranks first on training
    assert rows[0]["heldout_gap_jpeg"] > 0.9 and rows[0]["heldout_status"] == "ok"
    logged = c.get_run(runs[2]).data
    assert logged.metrics["heldout_bd_rate_jpeg"] == pytest.approx(
        rows[0]["heldout_bd_rate_jpeg"])
    assert "heldout.bikes.bd_rate_jpeg" in logged.metrics
    assert logged.tags["codecnb.heldout_status"] == "ok"
    assert "heldout_bd_rate_jpeg" not in c.get_run(runs[1]).data.metrics
    assert_user_error(run_cli("verify", "--top", "0", "--tracking-uri", uri), "--top")


@pytest.mark.slow
def test_run_suite_scores_training_clips_and_leaderboard_shows_heldout(testdata, tmp_path):
    suite = small_suite(testdata)
    programs = tmp_path / "programs"
    programs.mkdir()
    (programs / "1_coarse.py").write_text(COARSE)
    (programs / "2_cheat.py").write_text(cheat_program(suite.train[0]))
    path = write(tmp_path, "\n".join(
        f'[[clip]]\nname = "{c.name}"\nuri = "{c.uri}"\nstart = {c.start}\n'
        f'frames = {c.frames}\nresize = "{c.resize[0]}x{c.resize[1]}"\nrole = "{c.role}"\n'
        for c in suite.clips))
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    proc = run_cli("run", "--generator", f"replay:{programs}", "--iterations", "2",
                   "--workers", "1", "--suite", str(path), "--qualities", "30,60,90",
                   "--tracking-uri", uri, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "held-out check of the best 3 on bikes" in proc.stdout
    assert "held-out vs JPEG" in proc.stdout
    board = run_cli("leaderboard", "--json", "--tracking-uri", uri, cwd=tmp_path)
    rows = json.loads(board.stdout)
    assert [r["iteration"] for r in rows] == [2, 1]          # the cheat ranks first ...
    assert rows[0]["bd_rate_jpeg"] < -0.95
    assert rows[0]["heldout_gap_jpeg"] > 0.9                 # ... and is exposed
    assert all(r["heldout_bd_rate_jpeg"] is not None for r in rows)
    from codecnb.tracking import client
    metrics = client(uri).get_run(rows[1]["run_id"]).data.metrics
    assert "clip.park.bd_rate_jpeg" in metrics and "clip.park.kbps_q60" in metrics
    assert not any(k.startswith("clip.bikes") for k in metrics)


# -- user suites of clips the project had never seen ----------------------------------------
def _unseen_folder(testdata: Path, folder: Path) -> Path:
    """Beside a suite file: a rotated mp4 and a 10-bit y4m with ':', '?', spaces, unicode."""
    from clips import make_clip, x264
    from codecnb.ffmpeg import run_ffmpeg
    plain = make_clip(testdata, folder / "plain.mp4", *x264(), frames=3)
    run_ffmpeg(["-display_rotation", "90", "-i", str(plain), "-c", "copy",
                str(folder / "rot: ü.mp4")])
    make_clip(testdata, folder / "held?out 10.y4m", "-pix_fmt", "yuv420p10le", "-strict", "-1",
              frames=4)
    make_clip(testdata, folder / "short:2.mp4", *x264(), frames=2)
    return folder


def test_relative_paths_with_colons_and_question_marks_and_uri_windows(testdata, tmp_path):
    """'short:2.mp4?frames=2' beside the suite was taken for an unknown scheme 'short', and
    a window in the URI (?start=1) was replaced by the clip's default start 0."""
    _unseen_folder(testdata, tmp_path)
    s = load_suite(write(tmp_path, '''[[clip]]
uri = "short:2.mp4?frames=2"
[[clip]]
uri = "held?out 10.y4m?start=1"
frames = 2
role = "heldout"
name = "held"
'''))
    assert s.train[0].uri == f"{tmp_path / 'short:2.mp4'}?frames=2"
    assert (s.train[0].start, s.train[0].frames) == (0, 2)
    assert (s.heldout[0].start, s.heldout[0].frames) == (1, 2)
    path = write(tmp_path, '[[clip]]\nuri = "short:2.mp4?frames=2"\nframes = 3\n', "two.toml")
    with pytest.raises(SuiteError, match=r"two\.toml.*clip 1.*frames=2 in the URI but 3"):
        load_suite(str(path))


def test_eval_suite_checks_every_clip_before_any_work(testdata, tmp_path):
    """A held-out clip too short for its window was found only after the training clips had
    been evaluated; now the suite is refused first, naming the clip."""
    _unseen_folder(testdata, tmp_path)
    program = write(tmp_path, COARSE, "coarse.py")
    path = write(tmp_path, '''[[clip]]
uri = "rot: ü.mp4"
frames = 2
[[clip]]
uri = "short:2.mp4"
frames = 4
role = "heldout"
''')
    t0 = time.monotonic()
    proc = run_cli("eval", str(program), "--suite", str(path), "--quality", "50", cwd=tmp_path)
    assert_user_error(proc, "suite 's', clip 'short_2' (heldout)", "only 2 frames")
    assert "smoke" not in proc.stdout and time.monotonic() - t0 < 60


@pytest.mark.slow  # two sandboxed evaluations through the CLI (20-40 s on the shared cores)
def test_eval_suite_of_unseen_clips_names_both_and_delivers_them_right(testdata, tmp_path):
    _unseen_folder(testdata, tmp_path)
    program = write(tmp_path, COARSE, "coarse.py")
    path = write(tmp_path, '''[[clip]]
uri = "rot: ü.mp4"
frames = 3
[[clip]]
uri = "held?out 10.y4m?start=1"
frames = 2
role = "heldout"
name = "held"
''')
    proc = run_cli("eval", str(program), "--suite", str(path), "--json", "--quality", "30",
                   "--quality", "70")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert [(c["name"], c["role"]) for c in d["clips"]] == [("rot", "train"),
                                                           ("held", "heldout")]
    rot, held = (c["result"]["source"] for c in d["clips"])
    assert (rot["width"], rot["height"], rot["frames"]) == (36, 64, 3)     # upright
    assert (held["pix_fmt"], held["frames"]) == ("yuv420p10le", 2)
    assert "start=1" in held["identity"] and "yuv420p10le->yuv420p" in held["identity"]
    for c in d["clips"]:
        for p in c["result"]["points"]:
            assert 20 < p["psnr_y"] < 60 and p["bytes"] > 0
            assert p["kbps"] == pytest.approx(8 * p["bytes"] * 25 / p["frames"] / 1000)


# -- validation clips ----------------------------------------------------------------------
def test_the_loader_takes_validation_clips_and_keeps_them_apart(tmp_path):
    path = write(tmp_path, '[[clip]]\nuri = "a.mp4"\n[[clip]]\nuri = "b.mp4"\n'
                           'role = "validation"\n[[clip]]\nuri = "c.mp4"\nrole = "heldout"\n')
    suite = load_suite(path)
    assert [c.name for c in suite.train] == ["a"]
    assert [c.name for c in suite.validation] == ["b"] and suite.validation[0].validation
    assert [c.name for c in suite.heldout] == ["c"]
    assert [c.name for c in suite.clips_of(("validation", "train"))] == ["a", "b"]
    assert Suite.from_dict(suite.to_dict()) == suite
    with pytest.raises(SuiteError, match="no training clip"):
        Suite("x", (Clip("a.mp4", role="validation"),))


def test_validation_numbers_are_measured_but_never_reach_a_prompt_or_the_tuner(testdata):
    from codecnb.generators.candidate import Candidate
    from codecnb.generators.history import History
    from codecnb.generators.prompting import feedback, task_prompt
    from codecnb.spec import build_spec
    suite = Suite("val", (
        Clip(str(testdata / "park_joy_480x270.y4m"), 0, 2, (96, 54), "train", "park"),
        Clip(str(testdata / "bikes.mp4"), 26, 2, (96, 40), "validation", "secretclip")))
    r = evaluate_suite(COARSE, suite, qualities=[30, 60, 90])   # a campaign's default roles
    assert r.ok, r.failure
    assert [(c.name, c.clip.role) for c in r.clips] == [("park", "train"),
                                                        ("secretclip", "validation")]
    assert [c.name for c in r.train] == ["park"] and list(r.per_clip) == ["park"]
    val = r.validation_bd_rate["jpeg"]
    assert val == pytest.approx(r.clips[1].result.bd_rate["jpeg"]) and val != r.bd_rate["jpeg"]
    # the score, the pooled points and the history are the training clip's alone
    assert r.bd_rate["jpeg"] == pytest.approx(r.clips[0].result.bd_rate["jpeg"])
    assert [p.bytes for p in r.points] == [p.bytes for p in r.clips[0].result.points]
    m = suite_metrics(r)
    assert m["validation_bd_rate_jpeg"] == pytest.approx(val)
    assert m["validation_gap_jpeg"] == pytest.approx(val - r.bd_rate["jpeg"])
    assert any(k.startswith("validation.secretclip.") for k in m)
    assert not any(k.startswith("clip.secretclip.") for k in m)
    history = History()
    entry = history.add(Candidate(program=COARSE, generator="offline", parents=[]), r)
    text = task_prompt(history, entry, mode="rewrite") + feedback(entry)
    assert "secretclip" not in text and "validation" not in text
    for v in r.clips[1].result.bd_rate.values():
        if v is not None:
            assert f"{100 * v:+.2f}" not in text
    # the tuner's clips and the smoke stage are training clips only
    spec = build_spec(suite=suite, qualities=[30, 60, 90])
    assert [c.name for c in spec.suite.train] == ["park"] and spec.clip.name == "park"
