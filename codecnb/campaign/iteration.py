"""One iteration of a campaign: what ``notebooks/iteration.ipynb`` calls to evaluate, and the
worker task that executes that notebook with papermill (its figures come from
:mod:`codecnb.plots.candidate`, its MLflow logging from :mod:`codecnb.tracking.candidate_log`).

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
from typing import TYPE_CHECKING

from codecnb import jsonio
from codecnb.errors import CodecnbError

if TYPE_CHECKING:
    from codecnb.spec import EvaluationSpec

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


def spec_for(spec_json: str = "", **by_hand) -> "EvaluationSpec":
    """The evaluation spec of this iteration: the campaign's (``spec_json``, sent whole with
    the task), or, for a notebook run by hand, one built from its parameters (``source``,
    ``frames``, ``qualities``, ``segment_frames``, ``memory_gb``, ``timeout_s``)."""
    from codecnb.spec import EvaluationSpec, build_spec
    if spec_json:
        return EvaluationSpec.from_json(spec_json)
    frames = by_hand.pop("frames", None) or None
    qualities = by_hand.pop("qualities", None)
    return build_spec(frames=frames, default_frames=None,
                      qualities=tuple(qualities) if qualities else None, **by_hand)


def evaluate_candidate(program: str, spec: "EvaluationSpec", scheduler: str = "",
                       slot: str = ""):
    """Apply ``spec`` in this process (cache settings, evaluator version), then evaluate
    ``program`` in the sandbox over the spec's training clips, smoke stage first (never the
    held-out ones); returns (result, opened source, the source's identity SHA-256), the
    source being the first training clip.

    A spec of several clips gives the :class:`~codecnb.evaluation.suite.SuiteResult`. A
    one-clip spec (``--source``) goes through the same cascade, and once the smoke stage has
    passed gives its clip's :class:`~codecnb.evaluation.EvaluationResult` (so its logged
    metrics, result.json and outcome are those of a one-clip evaluation, as before;
    ``timings["smoke"]``, seconds, is added and counted in ``timings["total"]``); a
    candidate that fails the smoke stage gives the SuiteResult of ``stage == "smoke"``.

    With ``spec.fanout`` and a ``scheduler`` address (tcp://host:port), the full stage runs
    as (clip, segment, quality) tasks on that cluster's workers, after the smoke stage here;
    ``slot`` names the events through which this iteration's own task gives its worker slot
    up meanwhile (:mod:`codecnb.campaign.slot`; empty: it holds none). The result's
    ``fanout`` attribute then says which worker ran each task (also for a one-clip spec)."""
    from codecnb.evaluation.suite import evaluate_spec
    from codecnb.sources import open_source
    from codecnb.sources.identity import source_sha256
    spec.apply()   # before anything is fetched
    clip = spec.clip
    src = open_source(clip.uri, start=clip.start, frames=clip.frames, resize=clip.resize)
    kw = {}
    if spec.fanout and scheduler:
        from codecnb.campaign.slot import client_for, released
        client = client_for(scheduler)
        kw = {"client": client, "released": lambda: released(client, slot)}
    result = evaluate_spec(program, spec, **kw)
    if len(spec.suite.clips) == 1 and result.clips:   # past the smoke stage: the clip's own
        one, smoke_s = result.clips[0].result, result.timings.get("smoke", 0.0)
        one.timings = {**one.timings, "smoke": smoke_s,
                       "total": one.timings.get("total", 0.0) + smoke_s}
        one.fanout = result.fanout   # not a field of EvaluationResult: log_fanout logs it
        result = one
    return result, src, source_sha256(src)


@dataclass(frozen=True)
class Point:
    """One RD point of a candidate as the orchestrator and the generators see it.

    ``psnr_y`` is ``math.inf`` for a lossless point (written "inf" in JSON)."""

    quality: int
    kbps: float
    psnr_y: float
    ssim_y: float
    encode_s: float | None = None    # seconds over the whole window (for the search's
    decode_s: float | None = None    # feedback and niches), None when not measured
    frames: int | None = None


@dataclass
class Outcome:
    """What the worker reports back to the orchestrator.

    Attributes
    ----------
    status : {"ok", "failed", "error"}
        ``failed``: the candidate failed; ``error``: the iteration itself did (a crash of
        the notebook, a lost worker).
    failure : dict or None
        ``{"kind", "message"}``.
    bd_rate : dict
        Baseline name -> BD-rate (fraction; negative = fewer bits), None when undefined.
    points : list of Point
    eval_s, wall_s : float
        Seconds of the evaluation, and of the whole task.
    worker : str
        Host name of the worker.
    """

    status: str
    failure: dict | None = None
    bd_rate: dict = field(default_factory=dict)
    points: list[Point] = field(default_factory=list)
    eval_s: float = 0.0
    wall_s: float = 0.0
    worker: str = ""
    #: suite clip -> baseline -> BD-rate, training clips only ({} for one clip)
    per_clip: dict = field(default_factory=dict)
    #: baseline -> mean BD-rate over the suite's validation clips ({} without them); for
    #: the campaign's reported best only, never handed to a generator
    validation_bd_rate: dict = field(default_factory=dict)

    def selection_bd_rate(self, baseline: str) -> float | None:
        """The BD-rate a choice that must generalise uses: validation when measured."""
        scores = self.validation_bd_rate or self.bd_rate
        return scores.get(baseline)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Outcome":
        return cls(**{**d, "points": [Point(**p) for p in d.get("points", [])]})

    @classmethod
    def error(cls, message: str, kind: str = "crash") -> "Outcome":
        return cls("error", {"kind": kind, "message": message})


def write_outcome(out_dir: Path, result) -> None:
    points = [Point(p.quality, p.kbps, p.psnr_y, p.ssim_y, p.encode_s, p.decode_s, p.frames)
              for p in result.points]
    o = Outcome(result.status, result.failure.to_dict() if result.failure else None,
                dict(result.bd_rate), points, result.timings.get("total", 0.0),
                per_clip=dict(getattr(result, "per_clip", None) or {}),
                validation_bd_rate=dict(getattr(result, "validation_bd_rate", None) or {}))
    (Path(out_dir) / "outcome.json").write_text(jsonio.dumps(o.to_dict()))


# -- the worker task -----------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One candidate's iteration, as sent to a worker.

    Attributes
    ----------
    run_id : str
        The candidate's MLflow run (created RUNNING by the orchestrator).
    program : str
        The program's text.
    spec_json : str
        The campaign's :class:`~codecnb.spec.EvaluationSpec`, whole, as JSON.
    tracking_uri : str
    work_dir : str
        Folder of this iteration's files on the worker (removed when the task ends).
    """

    run_id: str
    program: str
    spec_json: str
    tracking_uri: str
    work_dir: str

    def parameters(self, scheduler: str = "", slot: str = "") -> dict:
        """The papermill parameters of ``notebooks/iteration.ipynb`` (``scheduler`` and
        ``slot``: for a fanned-out iteration, see :func:`evaluate_candidate`)."""
        return {"run_id": self.run_id, "program": self.program, "spec_json": self.spec_json,
                "tracking_uri": self.tracking_uri, "output_dir": self.work_dir,
                "scheduler": scheduler, "slot": slot}


def run_task(task: Task) -> Outcome:
    """Execute the iteration notebook for one candidate on this worker (a Dask task).

    Never raises for a failing candidate or notebook: the outcome says what happened. The
    iteration's folder is removed once its files are logged. When the spec fans out, the
    notebook gets this worker's scheduler address and runs in the worker's iteration thread
    while this task gives its slot up for the fan-out (:func:`codecnb.campaign.slot.hold`).
    """
    import shutil
    from codecnb.notebook import NotebookFailed, execute
    from codecnb.tracking.candidate_log import log_notebook, log_worker
    from codecnb.spec import EvaluationSpec
    t0 = time.perf_counter()
    work = Path(task.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    executed = work / "iteration.ipynb"
    error = None
    worker = worker_name()
    try:
        if task.run_id:
            log_worker(task.tracking_uri, task.run_id, worker)
        spec = EvaluationSpec.from_json(task.spec_json)
        scheduler = _scheduler_address() if spec.fanout else ""

        def notebook(params: dict) -> None:
            execute("iteration", executed, params, cwd=work,
                    timeout_s=spec.timeout_s + 600, warm=True)
        if scheduler:
            from codecnb.campaign import slot
            name = slot.new_name(task.run_id)
            slot.hold(name, lambda: notebook(task.parameters(scheduler, name)))
        else:
            notebook(task.parameters())
    except NotebookFailed as exc:
        error = Outcome.error(f"the iteration {exc}")
    except CodecnbError as exc:
        error = Outcome.error(str(exc))
    try:
        if task.run_id:
            log_notebook(task.tracking_uri, task.run_id, executed)
        outcome_file = work / "outcome.json"
        if error is None and outcome_file.exists():
            outcome = Outcome.from_dict(jsonio.loads(outcome_file.read_text()))
        else:
            outcome = error or Outcome.error("the notebook wrote no outcome")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    outcome.wall_s = time.perf_counter() - t0
    outcome.worker = worker
    return outcome


def _scheduler_address() -> str:
    """The scheduler of the Dask worker running this, or "" outside a worker."""
    from codecnb.evaluation.fanout import current_worker
    worker = current_worker()
    return worker.scheduler.address if worker is not None else ""


#: Tag of a fanned-out candidate's run: worker address=tasks it ran, comma separated.
FANOUT_WORKERS = "codecnb.fanout_workers"


def log_fanout(tracking_uri: str | None, run_id: str, result) -> None:
    """Say on the candidate's run how its full stage was fanned out: the metric
    ``fanout_tasks``, the tag :data:`FANOUT_WORKERS` and ``fanout.json`` (per task: clip,
    segment, quality, the worker that ran it, its seconds). Nothing for an unsplit one."""
    fan = getattr(result, "fanout", None) or {}
    if not run_id or not fan:
        return
    from codecnb.tracking.runs import log_batch, log_text, metric
    from codecnb.tracking.store import client
    c = client(tracking_uri)
    workers = ",".join(f"{w}={n}" for w, n in sorted(fan["workers"].items()))
    log_batch(c, run_id, [metric("fanout_tasks", len(fan["tasks"]))],
              tags={FANOUT_WORKERS: workers})
    log_text(c, run_id, jsonio.dumps(fan, indent=1), "fanout.json")


def worker_name() -> str:
    """This host's name, with the Dask worker's address when run by one."""
    try:
        from distributed import get_worker
        return f"{os.uname().nodename} {get_worker().address}"
    except (ImportError, ValueError):
        return os.uname().nodename
