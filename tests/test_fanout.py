"""Fan-out in campaigns: ``codecnb run`` with 2 workers spreads each candidate's full stage
over both (the per-task worker recorded and logged), the merged result equals the unsplit
evaluation, a crash on the second clip fails the candidate as the unsplit evaluation
would; and the fan-out setting (flag > CODECNB_FANOUT > default)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from programs import GOOD

from codecnb.suites import Clip, Suite

#: GOOD with coarser steps: its PSNR range overlaps JPEG's on real clips (BD-rates defined).
COARSE = GOOD.replace("(100 - quality) // 8", "(110 - quality) // 2")
#: COARSE, except that its encoder dies (SystemExit: kind crash) on the second clip (40
#: rows) at the higher quality, in every segment: the first failure of the unsplit
#: evaluation is segment 0's encode at quality 80.
CRASH_ON_CLIP_2 = COARSE.replace(
    "def encode(frames, quality):\n",
    "def encode(frames, quality):\n"
    "    if frames.shape[1] == 40 and quality > 50:\n"
    "        raise SystemExit(3)\n")
QUALITIES = (30, 80)
SEGMENT = 2


def two_clips(testdata: Path) -> Suite:
    """Two training clips of 4 frames (2 segments each) and a held-out one."""
    return Suite("two", (
        Clip(str(testdata / "park_joy_480x270.y4m"), 0, 4, (96, 54), "train", "park"),
        Clip(str(testdata / "bikes.mp4"), 0, 4, (96, 40), "train", "bikes"),
        Clip(str(testdata / "bikes.mp4"), 26, 2, (96, 40), "heldout", "cut")))


def assert_same_bd(got: dict, want: dict) -> None:
    """Equal BD tables: the same baselines, None (undefined: too little PSNR overlap with
    that baseline) where the other is None, numbers equal to 1e-9."""
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert (got[k] is None) == (v is None), (k, got[k], v)
        if v is not None:
            assert got[k] == pytest.approx(v, rel=1e-9), k


def suite_toml(suite: Suite) -> str:
    out = []
    for c in suite.clips:
        out.append(f'[[clip]]\nname = "{c.name}"\nuri = "{c.uri}"\nstart = {c.start}\n'
                   f'frames = {c.frames}\nresize = "{c.resize[0]}x{c.resize[1]}"\n'
                   f'role = "{c.role}"\n')
    return "\n".join(out)


def codecnb(*args, cwd: Path, env: dict | None = None, timeout: float = 900):
    return subprocess.run([sys.executable, "-m", "codecnb", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


# -- the setting -------------------------------------------------------------------------
def test_fanout_setting_flag_over_environment_over_default(monkeypatch):
    from codecnb.errors import ConfigError
    from codecnb.spec import EvaluationSpec, build_spec
    src = "synthetic:pan?size=64x48&frames=4"
    assert build_spec(source=src).fanout is False                       # one worker
    on = build_spec(source=src, fanout_default=True)                    # more than one
    assert on.fanout is True
    assert build_spec(source=src, fanout=False, fanout_default=True).fanout is False
    assert EvaluationSpec.from_json(on.to_json()) == on
    assert on.group() == on.with_changes(fanout=False).group()          # numbers unchanged
    old = json.loads(on.to_json())
    del old["fanout"]                                                   # an older campaign's
    assert EvaluationSpec.from_dict(old).fanout is False
    monkeypatch.setenv("CODECNB_FANOUT", "0")
    assert build_spec(source=src, fanout_default=True).fanout is False
    monkeypatch.setenv("CODECNB_FANOUT", "1")
    assert build_spec(source=src).fanout is True
    assert build_spec(source=src, fanout=False).fanout is False         # the flag wins
    monkeypatch.setenv("CODECNB_FANOUT", "maybe")
    with pytest.raises(ConfigError, match="CODECNB_FANOUT"):
        build_spec(source=src)


def test_run_flag_no_fanout_and_workers_decide_the_spec(monkeypatch):
    from codecnb.cli.main import build_parser
    from codecnb.cli.run import _spec_from_args
    parser = build_parser()
    args = parser.parse_args(["run", "--source", "synthetic:pan?size=64x48&frames=4"])
    assert args.fanout is None and _spec_from_args(args, fanout_default=True).fanout
    args = parser.parse_args(["run", "--no-fanout", "--source",
                              "synthetic:pan?size=64x48&frames=4"])
    assert _spec_from_args(args, fanout_default=True).fanout is False


# -- the worker slot ---------------------------------------------------------------------
@pytest.mark.slow
def test_an_iteration_holds_its_slot_until_it_releases_it_and_gets_it_back():
    """On one worker of one thread: a task submitted while the iteration holds the slot
    waits for the release, tasks run meanwhile (no deadlock), and the iteration takes the
    slot back before it goes on."""
    from codecnb.campaign.executor import dask_client

    def iteration(address: str) -> dict:
        import time as t
        from distributed import Client
        from codecnb.campaign import slot
        name = slot.new_name("test")

        def work() -> dict:            # what the kernel does
            c = Client(address, set_as_default=False, timeout="30s")
            try:
                early = c.submit(t.time, pure=False)      # the slot is held: it waits
                t.sleep(2.0)
                released_at = t.time()
                with slot.released(c, name):
                    started = early.result(timeout=60)
                    inner = c.submit(t.time, pure=False).result(timeout=60)
                return {"started": started, "released_at": released_at, "inner": inner,
                        "back_at": t.time()}
            finally:
                c.close()
        return slot.hold(name, work)

    with dask_client(1) as dc:
        out = dc.submit(iteration, dc.scheduler.address, pure=False).result(timeout=180)
    assert out["started"] >= out["released_at"]        # not while the slot was held
    assert out["released_at"] <= out["inner"] <= out["back_at"]


# -- a campaign --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_campaign_fans_out_over_both_workers_and_a_crash_on_clip_2_fails_it(testdata,
                                                                           tmp_path):
    from codecnb.evaluation.suite import SuiteResult, evaluate_suite
    from codecnb.tracking import client
    from codecnb.tracking import runs as R
    suite = two_clips(testdata)
    (tmp_path / "two.toml").write_text(suite_toml(suite))
    programs = tmp_path / "programs"
    programs.mkdir()
    (programs / "1_coarse.py").write_text(COARSE)
    (programs / "2_crash.py").write_text(CRASH_ON_CLIP_2)
    (programs / "3_good.py").write_text(GOOD)
    proc = codecnb("run", "--suite", str(tmp_path / "two.toml"), "--workers", "2",
                   "--generator", f"replay:{programs}", "--iterations", "3",
                   "--qualities", ",".join(map(str, QUALITIES)),
                   "--segment-frames", str(SEGMENT), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    c = client(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    exp = c.get_experiment_by_name("codecnb").experiment_id
    parent = R.latest_campaign(c, exp)
    assert parent.info.status == "FINISHED"
    assert R.spec_of(c, parent).fanout is True
    kids = {k.data.tags[R.ITERATION]: k for k in R.children(c, exp, parent.info.run_id)}
    ok, crash = kids["1"], kids["2"]

    def artifact(run, name: str) -> str:
        path = Path(run.info.artifact_uri.replace("file://", "")) / name
        return path.read_text()

    # the passing candidates: their 8 segment tasks (2 clips x 2 segments x 2 qualities)
    # ran on the campaign's workers, both of them (a candidate whose fan-out meets the
    # other worker busy with another iteration's notebook may use one), and each says so
    assert ok.info.status == "FINISHED", ok.data.tags.get(R.FAILURE_MESSAGE)
    assert kids["3"].info.status == "FINISHED", kids["3"].data.tags.get(R.FAILURE_MESSAGE)
    used = set()
    for run in (ok, kids["3"]):
        fan = json.loads(artifact(run, "fanout.json"))
        assert len(fan["tasks"]) == 8 and run.data.metrics["fanout_tasks"] == 8
        assert sum(fan["workers"].values()) == 8
        assert {t["worker"] for t in fan["tasks"]} == set(fan["workers"])
        tag = dict(w.rsplit("=", 1) for w in run.data.tags["codecnb.fanout_workers"].split(","))
        assert {k: int(v) for k, v in tag.items()} == fan["workers"]
        used |= set(fan["workers"])
    assert len(used) == 2, used
    fan = json.loads(artifact(ok, "fanout.json"))
    result = SuiteResult.from_dict(json.loads(artifact(ok, "result.json")))
    assert result.fanout == fan
    # the candidate's seconds are its tasks' summed (and the smoke stage's)
    tasks_s = sum(t["candidate_s"] for t in fan["tasks"])
    assert tasks_s > 0 and sum(x.result.timings["candidate"] for x in result.clips) == \
        pytest.approx(tasks_s, rel=1e-9)
    assert result.timings["candidate"] > tasks_s
    assert "frames.png" in {a.path for a in c.list_artifacts(ok.info.run_id)}

    # ... and its numbers are the unsplit evaluation's (held-out clip left out, as unsplit)
    kw = dict(qualities=QUALITIES, segment_frames=SEGMENT)
    here = evaluate_suite(COARSE, suite, **kw)
    assert here.ok and [x.name for x in result.clips] == ["park", "bikes"]
    for a, b in zip(here.clips, result.clips):
        for pa, pb in zip(a.result.points, b.result.points):
            assert (pa.bytes, pa.frames) == (pb.bytes, pb.frames)
            assert pb.psnr_y == pytest.approx(pa.psnr_y, rel=1e-9)
            assert pb.ssim_y == pytest.approx(pa.ssim_y, rel=1e-9)
        assert_same_bd(b.result.bd_rate, a.result.bd_rate)
    assert_same_bd(result.bd_rate, here.bd_rate)
    assert ok.data.metrics["bd_rate_jpeg"] == pytest.approx(here.bd_rate["jpeg"], rel=1e-9)

    # the candidate crashing on clip 2 fails as the unsplit evaluation fails it
    alone = evaluate_suite(CRASH_ON_CLIP_2, suite, **kw)
    assert alone.failure.kind == "crash"
    assert crash.info.status == "FAILED", crash.data.tags
    assert crash.data.tags[R.FAILURE_KIND] == "crash"
    assert crash.data.tags[R.FAILURE_MESSAGE].startswith("clip bikes:")
    failed = SuiteResult.from_dict(json.loads(artifact(crash, "result.json")))
    # kind, stage, message and detail (quality 80, clip bikes, stage of suite "full")
    assert failed.failure == alone.failure and alone.failure.detail["quality"] == 80
    assert [x.name for x in failed.clips] == ["park", "bikes"], failed.clips
    assert failed.clips[0].result.ok, failed.clips[0].result.failure

    # at most 2 iterations were ever in flight (no point in time inside three runs' lives)
    assert kids["3"].info.status == "FINISHED", kids["3"].data.tags.get(R.FAILURE_MESSAGE)
    spans = [(k.info.start_time, k.info.end_time) for k in kids.values()]
    assert all(sum(s <= t < e for s, e in spans) <= 2 for t, _ in spans)


# -- results taken before the merge --------------------------------------------------------
#: (start, frames) of each finished task of the test below (an in-process cluster shares it)
FINISHED: list = []


def _counted_segment_task(*args, **kw):
    from codecnb.evaluation import fanout
    out = fanout._real_segment_task(*args, **kw)
    FINISHED.append(args[2:4])
    return out


def _wait_for_every_task(frames: int) -> None:
    deadline = time.monotonic() + 120
    while len(FINISHED) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)


def test_every_task_result_is_merged_when_tasks_finish_together(monkeypatch):
    """Tasks that finished while the first result was being handled were counted as done
    but never taken, and the merge then lacked them (IndexError or "no RD points to pool"
    in campaigns on a busy machine). Here the first result's handling waits until every
    task has finished: all four must still be merged, equal to the unsplit evaluation."""
    from distributed import Client, LocalCluster

    from codecnb.evaluation import evaluate, fanout
    source = "synthetic:pan?size=64x48&frames=4"
    clip = Clip(source, 0, 4, None, "train", "pan")
    FINISHED.clear()
    monkeypatch.setattr(fanout, "_real_segment_task", fanout._segment_task, raising=False)
    monkeypatch.setattr(fanout, "_segment_task", _counted_segment_task)
    with LocalCluster(n_workers=1, threads_per_worker=4, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        got = fanout.evaluate_clips(client, GOOD, [clip], qualities=QUALITIES,
                                    segment_frames=SEGMENT, progress=_wait_for_every_task)
    assert len(got.tasks) == 4 and len(FINISHED) == 4
    (_, merged), = got.pairs
    whole = evaluate(GOOD, source, qualities=list(QUALITIES), segment_frames=SEGMENT,
                     baselines=())
    assert merged.ok and [p.bytes for p in merged.points] == [p.bytes for p in whole.points]
