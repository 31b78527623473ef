"""One iteration of a campaign: what ``notebooks/iteration.ipynb`` calls, and the worker task
that executes that notebook with papermill.

The orchestrator has already created the candidate's MLflow run (RUNNING) and logged the
program; the notebook evaluates it, shows and logs the results; the task logs the executed
notebook and its HTML render; the orchestrator ends the run from the outcome. The
notebook never ends the run (MLflow's atexit hook would end it FINISHED whatever happened).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codecnb import jsonio
from codecnb.errors import CodecnbError

log = logging.getLogger(__name__)


# -- called by the notebook --------------------------------------------------------------
def load_program(program: str) -> str:
    """A program parameter is either the program's text or a path to it ("" = starter)."""
    from codecnb.codecs import builtin_program
    if not program:
        return builtin_program("starter")
    if "\n" not in program and Path(program).is_file():
        return Path(program).read_text()
    return program


def evaluate_candidate(program: str, source: str, frames: int, qualities: list[int],
                       segment_frames: int, memory_gb: float, timeout_s: float):
    """Evaluate in the sandbox; returns (EvaluationResult, opened source, its SHA-256)."""
    from codecnb.evaluation import evaluate
    from codecnb.sandbox.limits import GiB, Limits
    from codecnb.sources import open_source
    from codecnb.sources.identity import source_sha256
    src = open_source(source, frames=frames or None)
    limits = Limits(memory_bytes=int(memory_gb * GiB), evaluation_timeout_s=timeout_s)
    result = evaluate(program, src, qualities=qualities, segment_frames=segment_frames,
                      limits=limits)
    return result, src, source_sha256(src)


def figures(result, out_dir: Path) -> dict[str, Path]:
    """RD plot, and for a passing candidate the frame comparison at the middle quality,
    saved as PNG in ``out_dir``."""
    from codecnb.plots import frame_figure, rd_figure, save_png
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"rd.png": out_dir / "rd.png"}
    curves = ({"candidate": result.curve(), **result.baselines} if result.ok
              else dict(result.baselines))
    save_png(rd_figure(curves, title=f"RD: candidate {result.program_sha256[:10]} vs baselines"),
             paths["rd.png"])
    if result.ok and result.frames:
        q = result.qualities[len(result.qualities) // 2]
        paths["frames.png"] = out_dir / "frames.png"
        save_png(frame_figure(result.frames["original"][0], result.frames[q][0],
                              title=f"frame 0 at quality {q}"), paths["frames.png"])
    return paths


def log_to_mlflow(tracking_uri: str, run_id: str, result, source_sha256: str,
                  images: dict[str, Path]) -> None:
    """Metrics, per-frame steps, failure, result.json and images into the candidate run."""
    from codecnb.tracking import client, retry_locked
    from codecnb.tracking.runs import log_batch, log_result
    c = client(tracking_uri)
    log_result(c, run_id, result)
    log_batch(c, run_id, params={"source_sha256": source_sha256})
    for path in images.values():
        retry_locked(c.log_artifact, run_id, str(path))


@dataclass
class Outcome:
    """What the worker reports back to the orchestrator."""

    status: str                          # ok, failed (the candidate), error (the iteration)
    failure: dict | None = None
    bd_rate: dict = field(default_factory=dict)
    points: list = field(default_factory=list)   # quality, kbps, psnr_y, ssim_y
    eval_s: float = 0.0
    wall_s: float = 0.0
    worker: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def write_outcome(out_dir: Path, result) -> None:
    points = [{"quality": p.quality, "kbps": p.kbps, "psnr_y": p.psnr_y, "ssim_y": p.ssim_y,
               "encode_s": p.encode_s, "decode_s": p.decode_s, "frames": p.frames}
              for p in result.points]
    o = Outcome(result.status, result.failure.to_dict() if result.failure else None,
                dict(result.bd_rate), points, result.timings.get("total", 0.0))
    (Path(out_dir) / "outcome.json").write_text(jsonio.dumps(o.to_dict()))


# -- the worker task -----------------------------------------------------------------------
def run_task(task: dict) -> dict:
    """Execute the iteration notebook for one candidate on this worker (a Dask task).

    ``task`` holds the notebook parameters and ``work_dir``. Never raises for a failing
    candidate or notebook: the outcome says what happened.
    """
    from codecnb.notebook import NotebookFailed, execute
    t0 = time.perf_counter()
    work = Path(task.pop("work_dir"))
    work.mkdir(parents=True, exist_ok=True)
    executed = work / "iteration.ipynb"
    error = None
    try:
        execute("iteration", executed, {**task, "output_dir": str(work)}, cwd=work,
                timeout_s=float(task["timeout_s"]) + 600, warm=True)
    except NotebookFailed as exc:
        error = {"kind": "crash", "message": f"the iteration {exc}"}
    except CodecnbError as exc:
        error = {"kind": "crash", "message": str(exc)}
    _log_notebook(task, executed)
    outcome_file = work / "outcome.json"
    if error is None and outcome_file.exists():
        outcome = Outcome(**jsonio.loads(outcome_file.read_text()))
    else:
        outcome = Outcome("error", error or {"kind": "crash",
                                             "message": "the notebook wrote no outcome"})
    outcome.wall_s = time.perf_counter() - t0
    outcome.worker = os.uname().nodename
    return outcome.to_dict()


def _log_notebook(task: dict, executed: Path) -> None:
    """The executed notebook and its HTML render, as artifacts of the candidate run."""
    if not executed.exists() or not task.get("run_id"):
        return
    from codecnb.notebook import to_html
    from codecnb.tracking import client, retry_locked
    html = executed.with_suffix(".html")
    try:
        html.write_text(to_html(executed))
    except Exception as exc:  # noqa: BLE001 - a broken notebook still gets logged
        log.warning("could not render %s to HTML: %s", executed, exc)
    c = client(task["tracking_uri"])
    for path in (executed, html):
        if path.exists():
            retry_locked(c.log_artifact, task["run_id"], str(path))
