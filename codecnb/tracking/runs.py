"""The layout of a campaign in MLflow, and every read and write of it.

One parent run per campaign (tag ``codecnb.role=campaign``) and one child run per candidate
(``codecnb.role=candidate``, ``mlflow.parentRunId``), created by the orchestrator before the
candidate is dispatched, so it shows RUNNING while it runs, and ended by the orchestrator
from the real outcome.

Candidate runs hold
  params    generator, model, qualities, source, source_sha256, frames, segment_frames,
            evaluator_version
  tags      codecnb.iteration, codecnb.program_sha256, codecnb.parents,
            codecnb.parent_runs, codecnb.failure_kind, codecnb.failure_message
  metrics   kbps_q{Q}, psnr_y_q{Q}, ssim_y_q{Q}, bd_rate_{jpeg,x264}, bd_psnr_{...},
            encode_fps, decode_fps, tokens_*, cost_usd, latency_s, eval_s, wall_s,
            rejected (proposals rejected as not novel before this one);
            per-frame frame_psnr_y_q{Q} and frame_ssim_y_q{Q} as steps
  artifacts candidate.py, prompt.txt, response.txt, result.json, rd.png, frames.png,
            iteration.ipynb (executed), iteration.html; per_frame_nonfinite.json: the
            per-frame steps MLflow cannot hold (lossless frames: PSNR "inf"), as
            {metric: [[step, "inf"], ...]}, named by the tag codecnb.per_frame_nonfinite; rejections.json and the
            generator's own artifacts (search summary, tuning study) when it made them
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

from codecnb import jsonio
from codecnb.generators.candidate import Candidate
from codecnb.generators.history import History, HistoryEntry
from codecnb.tracking.store import retry_locked

ROLE, ITERATION, SHA = "codecnb.role", "codecnb.iteration", "codecnb.program_sha256"
PARENT = "mlflow.parentRunId"
FAILURE_KIND, FAILURE_MESSAGE = "codecnb.failure_kind", "codecnb.failure_message"
WORKER = "codecnb.worker"                    # host (and Dask address) running a candidate
STOP_REASON = "codecnb.stop_reason"          # on a parent run: why generation stopped early
GENERATOR_SETTINGS = "codecnb.generator_settings"
GROUP_PARAM = "spec_group"                   # equal for comparable results
NONFINITE = "codecnb.per_frame_nonfinite"    # per-frame metrics with "inf" steps (artifact)
TERMINAL = ("FINISHED", "FAILED", "KILLED")


def metric(key: str, value: float | None, step: int = 0, ts: int | None = None):
    from mlflow.entities import Metric
    if value is None or not math.isfinite(value):
        return None  # MLflow has no infinity; lossless points are marked by a tag instead
    return Metric(key, float(value), ts or int(time.time() * 1000), step)


def log_batch(c, run_id: str, metrics=(), params: dict | None = None,
              tags: dict | None = None) -> None:
    """Metrics (None dropped), params and tags in as few transactions as MLflow allows."""
    from mlflow.entities import Param, RunTag
    metrics = [m for m in metrics if m is not None]
    params = [Param(k, str(v)[:6000]) for k, v in (params or {}).items()]
    tags = [RunTag(k, str(v)[:5000]) for k, v in (tags or {}).items()]
    for i in range(0, max(len(metrics), 1), 1000):  # MLflow's limit per batch
        retry_locked(c.log_batch, run_id, metrics=metrics[i:i + 1000],
                     params=params if i == 0 else [], tags=tags if i == 0 else [])


def log_text(c, run_id: str, text: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text)
        retry_locked(c.log_artifact, run_id, str(path))


def spec_params(spec) -> dict:
    """The params that say what a candidate was measured on (an EvaluationSpec's group:
    evaluator version, clips and windows, qualities, segment size), readable in the UI."""
    clip = spec.clip
    if len(spec.suite.clips) > 1:   # a suite: its name, and every clip with its window
        return {"source": f"suite:{spec.suite.name}",
                "clips": ";".join(f"{c.name}={c.uri}|{c.start}|{c.frames}|{c.role}"
                                  for c in spec.suite.clips),
                "qualities": ",".join(map(str, spec.qualities)),
                "segment_frames": spec.segment_frames,
                "evaluator_version": spec.evaluator_version, GROUP_PARAM: spec_group_key(spec)}
    return {"source": clip.uri, "start": clip.start, "frames": clip.frames or "all",
            "resize": f"{clip.resize[0]}x{clip.resize[1]}" if clip.resize else "native",
            "qualities": ",".join(map(str, spec.qualities)),
            "segment_frames": spec.segment_frames,
            "evaluator_version": spec.evaluator_version, GROUP_PARAM: spec_group_key(spec)}


def spec_group_key(spec) -> str:
    """A short key equal for exactly the specs whose results may be compared."""
    import hashlib
    return hashlib.sha256(json.dumps(spec.group(), sort_keys=True).encode()).hexdigest()[:16]


def start_campaign(c, experiment_id: str, name: str, spec, generator: dict,
                   params: dict) -> str:
    """The parent run of a new campaign, RUNNING: its evaluation spec whole (``spec.json``
    and the tag ``codecnb.spec``), the generator's settings and ``params``."""
    run = retry_locked(c.create_run, experiment_id, run_name=name,
                       tags={ROLE: "campaign", "codecnb.campaign": name})
    rid = run.info.run_id
    log_batch(c, rid, params={**params, **spec_params(spec)},
              tags={GENERATOR_SETTINGS: json.dumps(generator, sort_keys=True)})
    log_text(c, rid, spec.to_json(), "spec.json")
    return rid


def spec_of(c, run):
    """The EvaluationSpec stored on a campaign's parent run (None for campaigns of older
    versions, which stored none)."""
    from codecnb.spec import EvaluationSpec
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = retry_locked(c.download_artifacts, run.info.run_id, "spec.json", tmp)
            return EvaluationSpec.from_json(Path(path).read_text())
    except Exception:  # noqa: BLE001 - missing artifact
        return None


def generator_settings_of(run) -> dict:
    """The generator settings stored on a campaign's parent run."""
    return jsonio.loads(run.data.tags.get(GENERATOR_SETTINGS, "{}"))


def latest_campaign(c, experiment_id: str):
    runs = retry_locked(c.search_runs, [experiment_id], f"tags.`{ROLE}` = 'campaign'",
                        max_results=1, order_by=["attributes.start_time DESC"])
    return runs[0] if runs else None


def campaigns(c, experiment_id: str) -> list:
    """Every campaign of an experiment, newest first."""
    return sorted(search_all(c, experiment_id, f"tags.`{ROLE}` = 'campaign'"),
                  key=lambda r: r.info.start_time, reverse=True)


def find_campaign(c, experiment_id: str, run_id: str):
    """The parent run ``run_id`` of a campaign of this experiment.

    Raises
    ------
    CodecnbError
        When no such campaign exists there (exit 2).
    """
    from codecnb.errors import CodecnbError
    try:
        run = retry_locked(c.get_run, run_id)
    except Exception:  # noqa: BLE001 - MlflowException RESOURCE_DOES_NOT_EXIST
        run = None
    if (run is None or run.info.experiment_id != experiment_id
            or run.data.tags.get(ROLE) != "campaign"):
        raise CodecnbError(f"campaign {run_id!r} not found in this experiment (codecnb "
                           f"status lists the latest; the MLflow UI lists all)")
    return run


def search_all(c, experiment_ids: str | list[str], filter_string: str) -> list:
    """Every run matching ``filter_string`` (all pages)."""
    ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
    out, token = [], None
    while True:
        page = retry_locked(c.search_runs, ids, filter_string, max_results=1000,
                            page_token=token)
        out += list(page)
        token = page.token
        if not token:
            return out


def children(c, experiment_id: str, parent_id: str) -> list:
    """Candidate runs of a campaign, by iteration."""
    return sorted(search_all(c, experiment_id, f"tags.`{PARENT}` = '{parent_id}'"),
                  key=lambda r: int(r.data.tags.get(ITERATION, 0)))


def create_candidate_run(c, experiment_id: str, parent_id: str | None, iteration: int,
                         cand: Candidate, params: dict, parent_runs: list[str],
                         run_name: str | None = None) -> str:
    """The run of a candidate, RUNNING, with its program, prompt and response: a child of
    campaign ``parent_id``, or a run of its own when ``parent_id`` is None."""
    tags = {ROLE: "candidate", ITERATION: str(iteration), SHA: cand.sha256,
            "codecnb.generator": cand.generator, "codecnb.parents": ",".join(cand.parents),
            "codecnb.parent_runs": ",".join(parent_runs)}
    if parent_id:
        tags[PARENT] = parent_id
    run = retry_locked(c.create_run, experiment_id,
                       run_name=run_name or f"iteration-{iteration:04d}", tags=tags)
    rid = run.info.run_id
    log_batch(c, rid, metrics=[
        metric("tokens_input", cand.input_tokens), metric("tokens_output", cand.output_tokens),
        metric("tokens_cache_write", cand.cache_creation_tokens),
        metric("tokens_cache_read", cand.cache_read_tokens), metric("cost_usd", cand.cost_usd),
        metric("latency_s", cand.latency_s)],
        params={"generator": cand.generator, "model": cand.model or "-", **params},
        tags={"codecnb.generator_settings": json.dumps(cand.settings, default=str)})
    log_text(c, rid, cand.program, "candidate.py")
    if cand.prompt:
        log_text(c, rid, cand.prompt, "prompt.txt")
    if cand.response:
        log_text(c, rid, cand.response, "response.txt")
    if cand.rejected:   # proposals rejected before evaluation: not failures
        log_text(c, rid, json.dumps(cand.rejected, indent=1, default=str), "rejections.json")
        log_batch(c, rid, [metric("rejected", len(cand.rejected))])
    for name, text in (cand.artifacts or {}).items():
        log_text(c, rid, text, name)
    if cand.failure:
        log_failure(c, rid, cand.failure.kind, cand.failure.message)
    return rid


def log_failure(c, run_id: str, kind: str, message: str) -> None:
    log_batch(c, run_id, tags={FAILURE_KIND: kind, FAILURE_MESSAGE: message})


def log_result(c, run_id: str, result) -> None:
    """Metrics, per-frame steps, failure tags and result.json of an EvaluationResult."""
    ms = []
    infinite: dict[str, list] = {}   # per-frame values MLflow cannot hold (lossless frames)
    for p in result.points:
        q = p.quality
        ms += [metric(f"kbps_q{q}", p.kbps), metric(f"psnr_y_q{q}", p.psnr_y),
               metric(f"ssim_y_q{q}", p.ssim_y), metric(f"bytes_q{q}", p.bytes)]
        for name in ("psnr_y", "ssim_y"):
            for i, v in enumerate(p.per_frame.get(name, [])):
                if v is None or not math.isfinite(v):
                    infinite.setdefault(f"frame_{name}_q{q}", []).append([i, v])
                else:
                    ms.append(metric(f"frame_{name}_q{q}", v, step=i))
    for name, v in result.bd_rate.items():
        ms.append(metric(f"bd_rate_{name}", v))
    for name, v in result.bd_psnr.items():
        ms.append(metric(f"bd_psnr_{name}", v))
    if result.points:
        n = sum(p.frames for p in result.points)
        ms += [metric("encode_fps", n / max(1e-9, sum(p.encode_s for p in result.points))),
               metric("decode_fps", n / max(1e-9, sum(p.decode_s for p in result.points)))]
    ms.append(metric("eval_s", result.timings.get("total")))
    ms.append(metric("program_bytes", result.program_bytes))
    tags = {"codecnb.status": result.status, "codecnb.isolation": ",".join(result.isolation),
            "codecnb.sandbox": "weak" if result.sandbox.get("weak") else "full"}
    if any(math.isinf(p.psnr_y) for p in result.points):
        tags["codecnb.lossless"] = "true"
    if infinite:  # kept, in the JSON form of docs/metrics.md ("inf"); also in result.json
        log_text(c, run_id, jsonio.dumps(infinite), "per_frame_nonfinite.json")
        tags[NONFINITE] = ",".join(sorted(infinite))
    log_batch(c, run_id, ms, params={"evaluator_version": result.evaluator_version}, tags=tags)
    if result.failure:
        log_failure(c, run_id, result.failure.kind, result.failure.message)
    log_text(c, run_id, result.to_json(indent=1), "result.json")


def end_run(c, run_id: str, status: str) -> None:
    retry_locked(c.set_terminated, run_id, status)


def program_of(c, run) -> str | None:
    """The candidate program logged with a run."""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = retry_locked(c.download_artifacts, run.info.run_id, "candidate.py", tmp)
            return Path(path).read_text()
    except Exception:  # noqa: BLE001 - missing artifact
        return None


def history_of(c, runs) -> History:
    """The generator history of finished candidate runs, rebuilt from MLflow."""
    h = History()
    for r in runs:
        if r.info.status not in ("FINISHED", "FAILED"):
            continue
        program = program_of(c, r) or ""
        tags, metrics = r.data.tags, r.data.metrics
        qualities = sorted({int(k.split("_q")[1]) for k in metrics if k.startswith("kbps_q")})
        points = [{"quality": q, "kbps": metrics.get(f"kbps_q{q}"),
                   "psnr_y": metrics.get(f"psnr_y_q{q}", math.inf),
                   "ssim_y": metrics.get(f"ssim_y_q{q}")} for q in qualities]
        failure = ({"kind": tags[FAILURE_KIND], "message": tags.get(FAILURE_MESSAGE, "")}
                   if FAILURE_KIND in tags else None)
        settings = jsonio.loads(tags.get("codecnb.generator_settings", "{}"))
        h.entries.append(HistoryEntry(
            sha256=tags.get(SHA, ""), program=program, generator=tags.get("codecnb.generator", ""),
            parents=[p for p in tags.get("codecnb.parents", "").split(",") if p],
            status="ok" if r.info.status == "FINISHED" else "failed",
            bd_rate={k[len("bd_rate_"):]: v for k, v in metrics.items()
                     if k.startswith("bd_rate_")},
            points=points, failure=failure, settings=settings,
            timing={k: metrics[k] for k in ("encode_fps", "decode_fps") if k in metrics},
            per_clip={k[len("clip."):-len(".bd_rate_jpeg")]: v for k, v in metrics.items()
                      if k.startswith("clip.") and k.endswith(".bd_rate_jpeg")}))
    return h
