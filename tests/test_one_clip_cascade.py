"""One-clip campaigns (``codecnb run --source``) go through the suite path: a candidate that
crashes on its first frame is stopped by the smoke stage, and one that passes logs exactly
what a plain one-clip evaluation logs (metric names, BD-rates, RD points)."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from codecnb.evaluation import evaluate
from codecnb.evaluation.suite import SMOKE_TIMEOUT_S
from codecnb.sources import open_source
from codecnb.sources.identity import source_sha256
from codecnb.spec import build_spec
from codecnb.tracking import client, ensure_experiment
from codecnb.tracking import runs as R
from codecnb.tracking.candidate_log import log_evaluation
from programs import GOOD, SOURCE

#: What a campaign logs into a candidate run besides the evaluation: the proposal's cost,
#: the task's wall time, and how the full stage was fanned out over the workers.
ORCHESTRATOR = {"tokens_input", "tokens_output", "tokens_cache_write", "tokens_cache_read",
                "cost_usd", "latency_s", "wall_s", "rejected", "fanout_tasks"}


def runs_of(store):
    c = client(store.uri)
    return c, R.children(c, store.experiment_id, store.campaign)


def result_json(c, run_id: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return json.loads(Path(c.download_artifacts(run_id, "result.json", tmp)).read_text())


def test_a_first_frame_crash_fails_at_the_smoke_stage(campaign_store):
    c, kids = runs_of(campaign_store)
    crash = kids[1]                        # BROADCAST: raises in its first encode call
    assert crash.info.status == "FAILED"
    assert crash.data.tags[R.FAILURE_KIND] == "exception"
    result = result_json(c, crash.info.run_id)
    assert result["stage"] == "smoke" and result["clips"] == []
    assert result["failure"]["detail"]["stage_of_suite"] == "smoke"
    assert result["smoke"]["frames"] == 0 and result["smoke"]["quality"] == 60
    assert result["timings"]["full"] == 0.0 and result["timings"]["smoke"] < SMOKE_TIMEOUT_S
    assert crash.data.metrics["smoke_ok"] == 0.0
    assert "bd_rate_jpeg" not in crash.data.metrics


def test_a_passing_candidate_logs_what_a_plain_evaluation_logs(campaign_store, tmp_path):
    c, kids = runs_of(campaign_store)
    good = kids[0]                         # GOOD, iteration 1
    assert good.info.status == "FINISHED"
    # the one-clip evaluation as it was before the cascade, logged into a fresh store
    spec = build_spec(source=SOURCE, frames=4, qualities=(10, 30, 60))
    src = open_source(SOURCE, frames=4)
    plain = evaluate(GOOD, src, qualities=spec.qualities, segment_frames=spec.segment_frames,
                     limits=spec.limits(), policy=spec.policy(), baselines=spec.baselines)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    fresh = client(uri)
    rid = fresh.create_run(ensure_experiment(fresh, "x")).info.run_id
    log_evaluation(uri, rid, plain, source_sha256(src), {})
    expected = fresh.get_run(rid).data
    logged = good.data
    assert set(logged.metrics) - ORCHESTRATOR == set(expected.metrics)
    assert not any(k.startswith(("clip.", "smoke")) for k in logged.metrics)
    assert "suite" not in logged.params
    for key, value in expected.metrics.items():
        if key.startswith(("kbps_", "psnr_", "ssim_", "bytes_", "bd_rate_", "bd_psnr_")):
            assert logged.metrics[key] == pytest.approx(value, rel=1e-9), key
    assert logged.metrics["bd_rate_jpeg"] == pytest.approx(plain.bd_rate["jpeg"], rel=1e-9)
    for key in ("frame_psnr_y_q30", "frame_ssim_y_q60"):
        steps = [{m.step: m.value for m in cl.get_metric_history(r, key)}
                 for cl, r in ((c, good.info.run_id), (fresh, rid))]
        assert sorted(steps[0]) == [0, 1, 2, 3] and steps[0] == pytest.approx(steps[1]), key
    result = result_json(c, good.info.run_id)
    assert "stage" not in result and "clips" not in result      # a one-clip result
    assert 0 < result["timings"]["smoke"] < result["timings"]["total"]
