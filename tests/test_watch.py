"""``codecnb status --watch``: the live dashboard, refreshed until interrupted."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from codecnb.generators.candidate import Candidate
from codecnb.spec import build_spec
from codecnb.tracking import client, ensure_experiment
from codecnb.tracking import runs as R
from conftest import ROOT
from programs import SOURCE


@pytest.mark.slow
def test_watch_refreshes_the_dashboard_until_interrupted(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    c = client(uri)
    exp = ensure_experiment(c, "codecnb")
    spec = build_spec(source=SOURCE, frames=2)
    parent = R.start_campaign(c, exp, "c", spec, {}, {"iterations": 5})
    rows = [("FINISHED", None, -0.25, 0.01), ("FAILED", "exception", None, 0.02),
            ("FAILED", "timeout", None, 0.0), ("RUNNING", None, None, 0.0)]
    for i, (status, kind, bd, cost) in enumerate(rows, 1):
        rid = R.create_candidate_run(c, exp, parent, i, Candidate(f"# {i}", "offline",
                                                                  cost_usd=cost),
                                     R.spec_params(spec), [])
        if kind:
            R.log_failure(c, rid, kind, "it broke")
        if bd is not None:
            R.log_batch(c, rid, [R.metric("bd_rate_jpeg", bd)])
        if status == "RUNNING":
            R.log_batch(c, rid, tags={R.WORKER: "hostA tcp://127.0.0.1:4242"})
        else:
            R.end_run(c, rid, status)
    proc = subprocess.Popen([sys.executable, "-m", "codecnb", "status", "--watch",
                             "--interval", "0.5", "--tracking-uri", uri], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")),
                              daemon=True)
    reader.start()
    try:
        deadline = time.time() + 120
        while time.time() < deadline and "".join(lines).count("campaign ") < 2:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        reader.join(10)
    out = "".join(lines)
    assert proc.returncode == 0, err
    assert out.count(f"campaign {parent}") >= 2                  # refreshed
    first = out.split("\n\n")[0]
    assert "successful      1" in first and "in progress     1" in first
    assert "failed          2   (exception 1, timeout 1)" in first
    assert "total           4 of 5" in first and "-25.00 %" in first
    assert "$0.0300" in first
    assert "iteration    4  on hostA tcp://127.0.0.1:4242" in first


@pytest.mark.slow
def test_the_dashboard_lists_the_schedulers_workers(tmp_path):
    from distributed import LocalCluster
    from codecnb.cli.watch import dashboard
    c = client(f"sqlite:///{tmp_path}/mlflow.db")
    exp = ensure_experiment(c, "codecnb")
    parent = R.start_campaign(c, exp, "c", build_spec(source=SOURCE, frames=2), {},
                              {"iterations": 1})
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster:
        text = dashboard(c, exp, parent, scheduler=cluster.scheduler_address)
        address = next(iter(cluster.scheduler_info["workers"]))
    assert f"Dask workers 1 at {cluster.scheduler_address}" in text
    assert address in text and "threads 1" in text
    assert "unreachable" in dashboard(c, exp, parent, scheduler="tcp://127.0.0.1:9")
