"""Campaigns end to end: papermill on Dask workers, MLflow runs whose states are true,
real dask scheduler/worker and mlflow server processes, resume after SIGKILL, and four
workers writing to the sqlite store at once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codecnb.campaign.executor import dask_client
from codecnb.codecs import builtin_program
from codecnb.tracking import client
from codecnb.tracking import runs as R
from programs import BROADCAST, GOOD, SHAPE, SOURCE, SYNTAX
from s3fixtures import free_port

# every test here starts Dask workers or a whole campaign; on 2 cores shared with other
# work a campaign can take minutes
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def codecnb(*args, cwd: Path, env: dict | None = None, timeout: float = 900):
    return subprocess.run([sys.executable, "-m", "codecnb", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def candidate_runs(c, parent=None):
    exp = c.get_experiment_by_name("codecnb").experiment_id
    parent = parent or R.latest_campaign(c, exp).info.run_id
    return exp, parent, R.children(c, exp, parent)


def test_default_campaign_records_everything(tmp_path):
    proc = codecnb("run", "--iterations", "3", "--frames", "2", "--source", SOURCE,
                   "--qualities", "25,50,90", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "generator offline" in proc.stderr and "BD-rate vs JPEG" in proc.stdout
    c = client(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    exp, parent, kids = candidate_runs(c)
    assert c.get_run(parent).info.status == "FINISHED"
    assert [k.info.status for k in kids] == ["FINISHED"] * 3
    parent_metrics = c.get_run(parent).data.metrics
    assert parent_metrics["iterations_done"] == 3 and parent_metrics["successes"] == 3
    k = kids[0]
    arts = {a.path for a in c.list_artifacts(k.info.run_id)}
    assert {"candidate.py", "iteration.ipynb", "iteration.html", "result.json",
            "rd.png", "frames.png"} <= arts
    assert {"kbps_q25", "psnr_y_q50", "ssim_y_q90", "bd_rate_jpeg", "encode_fps",
            "wall_s"} <= set(k.data.metrics)
    assert len(c.get_metric_history(k.info.run_id, "frame_psnr_y_q50")) == 2
    assert {"generator", "model", "qualities", "source", "source_sha256", "frames",
            "evaluator_version"} <= set(k.data.params)
    assert k.data.tags[R.ITERATION] == "1" and k.data.tags[R.PARENT] == parent
    status = json.loads(codecnb("status", "--json", cwd=tmp_path).stdout)
    assert (status["successful"], status["failed"], status["in_progress"], status["total"]) \
        == (3, 0, 0, 3)
    board = json.loads(codecnb("leaderboard", "--json", cwd=tmp_path).stdout)
    assert len(board) == 3 and board[0]["bd_rate_jpeg"] <= board[-1]["bd_rate_jpeg"]


def test_replay_the_best_of_an_earlier_experiment(tmp_path):
    # a store other than the default: replay:mlflow must read the one --tracking-uri names
    uri = f"sqlite:///{tmp_path}/elsewhere/mlflow.db"
    first = codecnb("run", "--iterations", "3", "--frames", "2", "--source", SOURCE,
                    "--experiment", "first", "--tracking-uri", uri, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    again = codecnb("run", "--generator", "replay:mlflow:first:2", "--iterations", "5",
                    "--frames", "2", "--source", "synthetic:static?size=64x48&frames=4",
                    "--experiment", "second", "--tracking-uri", uri, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not (tmp_path / "mlruns").exists()
    c = client(uri)
    best = json.loads(codecnb("leaderboard", "--json", "--experiment", "first",
                              "--tracking-uri", uri, cwd=tmp_path).stdout)
    exp = c.get_experiment_by_name("second").experiment_id
    kids = R.children(c, exp, R.latest_campaign(c, exp).info.run_id)
    assert len(kids) == 2                   # the replay list ran out after the best two
    assert [k.data.tags[R.SHA] for k in kids] == [r["program_sha256"] for r in best[:2]]


def test_s3_source_with_cache_flags_reaches_the_workers(tmp_path, testdata):
    """--endpoint-url and --cache-dir given only as flags: the 2 workers fetch from that
    endpoint into that folder, and the object is downloaded exactly once."""
    import boto3
    from s3fixtures import start_server
    server = start_server(tmp_path)
    try:
        s3 = boto3.client("s3", endpoint_url=server.url, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
        s3.create_bucket(Bucket="clips")
        s3.put_object(Bucket="clips", Key="park.y4m",
                      Body=(testdata / "park_joy_480x270.y4m").read_bytes())
        cache = tmp_path / "flag-cache"
        creds = {k: v for k, v in server.env.items() if k != "AWS_ENDPOINT_URL"}
        tmp = tmp_path / "tmp"
        tmp.mkdir()
        proc = codecnb("run", "--source", "s3://clips/park.y4m", "--frames", "2",
                       "--resize", "240x136", "--qualities", "30,70", "--iterations", "4",
                       "--workers", "2", "--generator", "offline",
                       "--endpoint-url", server.url, "--cache-dir", str(cache), cwd=tmp_path,
                       env={**creds, "TMPDIR": str(tmp)})
        assert proc.returncode == 0, proc.stderr[-3000:]
        c = client(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
        _, parent, kids = candidate_runs(c)
        assert len(kids) == 4
        assert all(k.data.params["source"] == "s3://clips/park.y4m" for k in kids)
        assert {k.data.tags.get(R.FAILURE_KIND) for k in kids} <= {None, "exception", "output"}
        assert sum(k.info.status == "FINISHED" for k in kids) >= 1, \
            [k.data.tags.get(R.FAILURE_MESSAGE) for k in kids]
        assert len(server.requests("GET", "/clips/park.y4m")) == 1
        assert any(cache.rglob("*")) and not list((Path.home() / ".cache").glob("codecnb*/s3*"))
        spec = R.spec_of(c, c.get_run(parent))
        assert spec.cache.cache_dir == str(cache) and spec.cache.s3_endpoint_url == server.url
        assert spec.clip.resize == (240, 136)
        assert list(tmp.glob("codecnb-campaign-*")) == []        # temp folders removed
    finally:
        server.stop()


def test_workers_never_receive_any_providers_key(monkeypatch):
    from codecnb.generators.providers import PROVIDERS, SECRETS
    planted = {env: f"NOT-FOR-WORKERS-{env}" for env in SECRETS}
    for env, value in planted.items():
        monkeypatch.setenv(env, value)
    assert {"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"} <= set(planted)
    assert all(p.key_env in SECRETS for p in PROVIDERS.values())
    with dask_client(1) as dc:
        seen = dc.run(lambda: {k: v for k, v in os.environ.items() if "NOT-FOR-WORKERS" in v
                               or k.startswith(("ANTHROPIC_", "OPENAI_"))})
    assert list(seen.values()) == [{}]
    assert {env: os.environ[env] for env in planted} == planted  # restored


def test_local_workers_keep_metrics_to_their_thread(monkeypatch):
    monkeypatch.delenv("CODECNB_THREADS", raising=False)
    with dask_client(2) as dc:
        seen = dc.run(lambda: os.environ.get("CODECNB_THREADS"))
        assert set(dc.nthreads().values()) == {1}
    assert set(seen.values()) == {"1"}
    monkeypatch.setenv("CODECNB_THREADS", "3")                # the user's choice wins
    with dask_client(1) as dc:
        assert set(dc.run(lambda: os.environ.get("CODECNB_THREADS")).values()) == {"3"}


def _wait_port(port: int, proc, what: str, timeout: float = 60):
    import socket
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {proc.stderr.read()[-2000:] if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {port}")


def test_distributed_campaign_with_real_scheduler_workers_and_mlflow_server(tmp_path):
    programs = tmp_path / "programs"
    programs.mkdir()
    for name, text in [("1_good.py", GOOD), ("2_broadcast.py", BROADCAST),
                       ("3_starter.py", builtin_program("starter")), ("4_syntax.py", SYNTAX),
                       ("5_shape.py", SHAPE), ("6_good.py", GOOD.replace("6)", "9)"))]:
        (programs / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    bin_ = Path(sys.executable).parent
    sport, mport = free_port(), free_port()
    procs = []
    try:
        sched = subprocess.Popen([str(bin_ / "dask"), "scheduler", "--host", "127.0.0.1",
                                  "--port", str(sport), "--no-dashboard"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(sched)
        _wait_port(sport, sched, "dask scheduler")
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(bin_ / "dask"), "worker", f"tcp://127.0.0.1:{sport}", "--nthreads", "1",
                 "--nworkers", "1", "--host", "127.0.0.1", "--no-dashboard"], env=env, cwd=tmp_path,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
             f"sqlite:///{tmp_path}/server.db", "--artifacts-destination",
             (tmp_path / "server-artifacts").as_uri(), "--host", "127.0.0.1", "--port",
             str(mport), "--workers", "1"], env=env, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(server)
        _wait_port(mport, server, "mlflow server", timeout=120)
        from distributed import Client
        with Client(f"tcp://127.0.0.1:{sport}", timeout=30) as dc:
            dc.wait_for_workers(2, timeout=60)
        uri = f"http://127.0.0.1:{mport}"
        proc = codecnb("run", "--scheduler", f"tcp://127.0.0.1:{sport}", "--tracking-uri", uri,
                       "--generator", f"replay:{programs}", "--iterations", "6", "--frames",
                       "2", "--source", SOURCE, "--qualities", "25,60,90", cwd=tmp_path,
                       env={"ANTHROPIC_API_KEY": ""})
        assert proc.returncode == 0, proc.stderr[-3000:]
        c = client(uri)
        exp, parent, kids = candidate_runs(c)
        assert c.get_run(parent).info.status == "FINISHED" and len(kids) == 6
        states = {k.data.tags[R.ITERATION]: (k.info.status, k.data.tags.get(R.FAILURE_KIND),
                                             k.data.tags.get(R.FAILURE_MESSAGE, ""))
                  for k in kids}
        assert states["1"][:2] == ("FINISHED", None)
        assert states["2"][:2] == ("FAILED", "exception")
        assert "operands could not be broadcast together with shapes (16,16) (8,8)" in states["2"][2]
        assert states["3"][:2] == ("FINISHED", None)
        assert states["4"][:2] == ("FAILED", "syntax") and "line 1" in states["4"][2]
        assert states["5"][:2] == ("FAILED", "output") and "shape" in states["5"][2]
        assert states["6"][:2] == ("FINISHED", None)
        workers = {k.data.tags.get("codecnb.worker") for k in kids}
        assert workers and "" not in workers
        arts = {a.path for a in c.list_artifacts(kids[0].info.run_id)}
        assert {"iteration.ipynb", "iteration.html", "rd.png"} <= arts
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_resume_after_sigkill_gives_exactly_n_runs(tmp_path):
    args = ["run", "--iterations", "6", "--workers", "2", "--frames", "2", "--source", SOURCE,
            "--qualities", "30,70"]
    orch = subprocess.Popen([sys.executable, "-m", "codecnb", *args], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    db = tmp_path / "mlruns" / "mlflow.db"
    deadline = time.time() + 300
    c = None
    try:
        while time.time() < deadline:
            time.sleep(1)
            if not db.exists():
                continue
            c = client(f"sqlite:///{db}")
            exp = c.get_experiment_by_name("codecnb")
            camp = exp and R.latest_campaign(c, exp.experiment_id)
            if not camp:
                continue
            kids = R.children(c, exp.experiment_id, camp.info.run_id)
            if sum(k.info.status == "FINISHED" for k in kids) >= 2 and sum(
                    k.info.status == "RUNNING" for k in kids) >= 2:
                break
        else:
            pytest.fail("the campaign never reached a point to kill it")
        os.kill(orch.pid, signal.SIGKILL)        # the orchestrator dies mid-campaign
        orch.wait()
    finally:
        try:
            os.killpg(orch.pid, signal.SIGKILL)  # and its local workers with it
        except ProcessLookupError:
            pass
    _, parent, kids = candidate_runs(c)
    orphans = [k for k in kids if k.info.status == "RUNNING"]  # still shown RUNNING
    proc = codecnb("run", "--resume", cwd=tmp_path)     # no other flag: the campaign's own
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ("orphaned" in proc.stderr) == bool(orphans)
    _, parent2, kids = candidate_runs(c)
    assert parent2 == parent
    assert len(kids) == 6
    assert sorted(int(k.data.tags[R.ITERATION]) for k in kids) == [1, 2, 3, 4, 5, 6]
    assert all(k.info.status == "FINISHED" for k in kids), [(k.info.status, k.data.tags.get(R.FAILURE_MESSAGE)) for k in kids if k.info.status != "FINISHED"]
    assert c.get_run(parent).info.status == "FINISHED"
    assert {(k.data.params["source"], k.data.params["frames"], k.data.params["qualities"])
            for k in kids} == {(SOURCE, "2", "30,70")}


def test_resume_fails_an_orphan_without_its_program_and_runs_nothing_in_its_place(tmp_path):
    from codecnb.generators.candidate import Candidate
    from codecnb.spec import build_spec
    from codecnb.tracking import ensure_experiment
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    c = client(uri)
    exp = ensure_experiment(c, "codecnb")
    spec = build_spec(source=SOURCE, frames=2, qualities=(30, 70))
    parent = R.start_campaign(c, exp, "campaign-x", spec, {"generator": "offline"},
                              {"iterations": 2, "generator": "offline"})
    orphan = R.create_candidate_run(c, exp, parent, 1, Candidate(GOOD, "offline"),
                                    R.spec_params(spec), [])
    artifact = Path(c.get_run(orphan).info.artifact_uri.replace("file://", "")) / "candidate.py"
    artifact.unlink()                                  # its program is lost
    proc = codecnb("run", "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    kids = R.children(c, exp, parent)
    assert [k.data.tags[R.ITERATION] for k in kids] == ["1", "2"]
    first = c.get_run(orphan)
    assert first.info.status == "FAILED"
    assert "candidate.py is missing" in first.data.tags[R.FAILURE_MESSAGE]
    assert "eval_s" not in first.data.metrics          # it was not evaluated again
    assert kids[1].data.tags[R.SHA] != first.data.tags[R.SHA]


def test_four_workers_on_sqlite_for_24_iterations(tmp_path):
    proc = codecnb("run", "--iterations", "24", "--workers", "4", "--frames", "2", "--source",
                   "synthetic:pan?size=64x48&frames=2", "--qualities", "40,80", cwd=tmp_path,
                   timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    c = client(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    _, parent, kids = candidate_runs(c)
    assert len(kids) == 24
    messages = [k.data.tags.get(R.FAILURE_MESSAGE, "") for k in kids]
    assert not any("locked" in m for m in messages), messages
    assert all(k.info.status == "FINISHED" for k in kids), [(k.info.status, k.data.tags.get(R.FAILURE_MESSAGE)) for k in kids if k.info.status != "FINISHED"]
    assert "database is locked" not in proc.stderr


def _claude_env(api) -> dict:
    return {"ANTHROPIC_API_KEY": "sk-ant-api03-TEST-campaign-key", "ANTHROPIC_BASE_URL": api.url}


def test_claude_campaign_budget_runs_out_and_resume_continues_with_what_is_left(tmp_path):
    """Against the local Messages-API server: prompts, replies, tokens and cost are logged;
    the USD budget runs out mid-campaign (the parent says so); --resume alone continues the
    same campaign with what is left, which buys nothing more here."""
    from fake_anthropic import FakeAnthropic, text_reply
    api = FakeAnthropic()
    try:
        # each reply costs $0.089 (8000 output tokens); a call's worst case is about $0.2
        usage = {"input_tokens": 1200, "output_tokens": 8000,
                 "cache_creation_input_tokens": 2500, "cache_read_input_tokens": 0}
        api.script = [text_reply(f"Idea {k}.\n\n```python\n"
                                 f"{GOOD.replace('// 8)', f'// {k})')}```\n", usage)
                      for k in range(3, 13)]
        args = ["--source", SOURCE, "--frames", "2", "--qualities", "30,70"]
        proc = codecnb("run", "--generator", "anthropic", "--iterations", "6", "--budget-usd",
                       "0.35", *args, cwd=tmp_path, env=_claude_env(api))
        assert proc.returncode == 0, proc.stderr[-3000:]
        c = client(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
        exp, parent, kids = candidate_runs(c)
        calls = len(api.requests)
        assert 1 <= len(kids) < 6 and calls >= 1
        run = c.get_run(parent)
        assert "budget" in run.data.tags[R.STOP_REASON].lower()
        assert "stopped early" in proc.stdout
        k = kids[0]
        assert {"prompt.txt", "response.txt", "candidate.py"} <= \
            {a.path for a in c.list_artifacts(k.info.run_id)}
        assert k.data.metrics["tokens_output"] == 8000 and k.data.metrics["cost_usd"] > 0
        spent = sum(x.data.metrics["cost_usd"] for x in kids)
        assert spent <= 0.35 and run.data.metrics["cost_usd"] == pytest.approx(spent)
        again = codecnb("run", "--resume", cwd=tmp_path, env=_claude_env(api))
        assert again.returncode == 0, again.stderr[-3000:]
        assert len(api.requests) == calls           # what is left buys no further call
        _, parent2, kids2 = candidate_runs(c)
        assert parent2 == parent and len(kids2) == len(kids)
        assert "budget" in c.get_run(parent).data.tags[R.STOP_REASON].lower()
    finally:
        api.close()


def test_claude_campaign_stops_at_once_on_an_authentication_error(tmp_path):
    from fake_anthropic import FakeAnthropic, error_reply
    api = FakeAnthropic()
    try:
        api.script = [error_reply(401, "authentication_error", "invalid x-api-key")] * 5
        proc = codecnb("run", "--generator", "anthropic", "--iterations", "3", "--source",
                       SOURCE, "--frames", "2", cwd=tmp_path, env=_claude_env(api))
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert "codecnb: error:" in proc.stderr and "refused the key" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert len(api.requests) == 1                 # no retry, no second proposal
        c = client(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
        exp = c.get_experiment_by_name("codecnb").experiment_id
        run = R.latest_campaign(c, exp)
        assert run.info.status == "FAILED"
        assert "refused the key" in run.data.tags[R.STOP_REASON]
    finally:
        api.close()
