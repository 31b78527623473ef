"""The campaign loop: propose, record, dispatch, collect, repeat; resume after a crash.

Generation is steady-state: ``workers`` candidates are in flight, and the next one is
proposed from the freshest history as soon as one finishes. Every candidate's run is
created RUNNING before dispatch and ended FINISHED, FAILED or KILLED by this loop from the
real outcome; the parent run keeps running totals.
"""
from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from codecnb.campaign.executor import (ITERATION_RESOURCE, dask_client,
                                       one_iteration_per_worker, scrubbed_environment)
from codecnb.campaign.workdir import make_workdir
from codecnb.campaign.iteration import Outcome, Task, run_task
from codecnb.spec import EvaluationSpec
from codecnb.generators import BudgetExhausted, GeneratorExhausted, History
from codecnb.tracking import client as tracking_client, ensure_experiment, tracking_uri
from codecnb.tracking import runs as R

log = logging.getLogger(__name__)


@dataclass
class CampaignSettings:
    """Everything a campaign needs besides its generator; see ``codecnb run --help``.

    Attributes
    ----------
    spec : EvaluationSpec
        What every candidate is measured on; sent whole with every task.
    iterations : int
        Candidate runs in total.
    workers : int
        Local Dask workers (ignored with ``scheduler``).
    scheduler : str or None
        An existing Dask scheduler, ``tcp://host:8786``.
    tracking_uri : str or None
        MLflow store (None: the configured one).
    experiment : str
        MLflow experiment name.
    resume : str or None
        Parent run id of the campaign to continue (None: a new campaign).
    generator : dict
        The generator's settings (name, seed, model, budgets...), stored on the parent run
        so that a resume proposes with the same ones.
    work_dir : str or None
        Folder for the iterations' files (None: a temporary folder, removed at the end).
    """

    spec: EvaluationSpec
    iterations: int = 6
    workers: int = 2
    scheduler: str | None = None
    tracking_uri: str | None = None
    experiment: str = "codecnb"
    resume: str | None = None
    generator: dict = field(default_factory=dict)
    work_dir: str | None = None


@dataclass
class Totals:
    """The dashboard figures of a campaign."""

    done: int = 0
    ok: int = 0
    failed: int = 0
    in_progress: int = 0
    best_bd_rate_jpeg: float | None = None
    best_run: str | None = None
    cost_usd: float = 0.0
    tokens: int = 0
    rejected: int = 0       # proposals rejected as not novel (never evaluated, not failures)

    def record(self, ok: bool, bd: float | None, run_id: str) -> None:
        self.done += 1
        self.ok += ok
        self.failed += not ok
        if ok and bd is not None and (self.best_bd_rate_jpeg is None or bd < self.best_bd_rate_jpeg):
            self.best_bd_rate_jpeg, self.best_run = bd, run_id

    def metrics(self) -> dict:
        out = {"iterations_done": self.done, "successes": self.ok, "failures": self.failed,
               "in_progress": self.in_progress, "cost_usd": self.cost_usd,
               "tokens": self.tokens, "rejected": self.rejected}
        if self.best_bd_rate_jpeg is not None:
            out["best_bd_rate_jpeg"] = self.best_bd_rate_jpeg
        return out


class Campaign:
    """One campaign: its MLflow parent run, its history and its generator."""

    def __init__(self, settings: CampaignSettings, generator, progress=None):
        self.s, self.gen, self.progress = settings, generator, progress
        self.spec_json = settings.spec.to_json()
        self.uri = tracking_uri(settings.tracking_uri)
        self.c = tracking_client(self.uri)
        self.exp = ensure_experiment(self.c, settings.experiment)
        self.totals = Totals()
        self.sha_run: dict[str, str] = {}
        self.rerun: list = []
        self._candidates: dict[str, object] = {}  # run id -> Candidate, while in flight
        if settings.resume:
            self._resume(settings.resume)
        else:
            name = f"campaign-{time.strftime('%Y%m%d-%H%M%S')}"
            self.parent = R.start_campaign(self.c, self.exp, name, settings.spec,
                                           settings.generator, {
                "iterations": settings.iterations, "generator": generator.name,
                "workers": settings.workers, "scheduler": settings.scheduler or "local"})
            self.history, self.next_iteration = History(), 1
        self._own_work = settings.work_dir is None
        self.work = Path(settings.work_dir) if settings.work_dir else make_workdir()

    # -- resume ---------------------------------------------------------------------------
    def _resume(self, parent: str) -> None:
        self.parent = parent
        run = self.c.get_run(parent)
        if run.info.status != "RUNNING":
            self.c.update_run(self.parent, status="RUNNING")
        kids = R.children(self.c, self.exp, self.parent)
        for k in kids:
            if k.info.status not in ("RUNNING", "KILLED"):
                continue
            it = k.data.tags.get(R.ITERATION)
            if R.program_of(self.c, k) is None:
                # nothing else is ever run in its place: the orphan failed, and says why
                R.log_failure(self.c, k.info.run_id, "crash", "resume: the run's program "
                              "artifact candidate.py is missing; it cannot be run again")
                R.end_run(self.c, k.info.run_id, "FAILED")
                log.warning("iteration %s has no candidate.py: marked FAILED", it)
                continue
            if k.info.status == "RUNNING":   # its orchestrator died: the run was killed
                R.end_run(self.c, k.info.run_id, "KILLED")
                log.warning("iteration %s was orphaned: marked KILLED, will run again", it)
            self.rerun.append(k)
        kids = R.children(self.c, self.exp, self.parent)
        finished = [k for k in kids if k.info.status in ("FINISHED", "FAILED")]
        self.history = R.history_of(self.c, finished)
        for k in kids:
            m = k.data.metrics
            self.totals.cost_usd += m.get("cost_usd", 0.0)
            self.totals.tokens += int(sum(m.get(f"tokens_{t}", 0) for t in
                                          ("input", "output", "cache_write", "cache_read")))
            if k.info.status in ("FINISHED", "FAILED"):
                self.totals.record(k.info.status == "FINISHED",
                                   m.get("validation_bd_rate_jpeg", m.get("bd_rate_jpeg")),
                                   k.info.run_id)
        self.sha_run = {k.data.tags.get(R.SHA, ""): k.info.run_id for k in kids}
        self.next_iteration = 1 + max([int(k.data.tags.get(R.ITERATION, 0)) for k in kids],
                                      default=0)
        log.info("resuming campaign %s: %d done, %d to run again", self.parent,
                 self.totals.done, len(self.rerun))

    # -- one candidate --------------------------------------------------------------------
    def _params(self) -> dict:
        return R.spec_params(self.s.spec)

    def _task(self, run_id: str, program: str, iteration: int) -> Task:
        return Task(run_id, program, self.spec_json, self.uri,
                    str(self.work / f"it{iteration:04d}"))

    def _next(self) -> tuple[str, dict] | None:
        """The next (run id, task) to dispatch: a re-run, a new candidate, or None."""
        if self.rerun:
            run = self.rerun.pop(0)
            program = R.program_of(self.c, run) or ""
            self.c.update_run(run.info.run_id, status="RUNNING")
            return run.info.run_id, self._task(run.info.run_id, program,
                                               int(run.data.tags[R.ITERATION]))
        if self.next_iteration > self.s.iterations:
            return None
        cand = self.gen.propose(self.history)
        iteration = self.next_iteration
        self.next_iteration += 1
        parent_runs = [self.sha_run[p] for p in cand.parents if p in self.sha_run]
        rid = R.create_candidate_run(self.c, self.exp, self.parent, iteration, cand,
                                     self._params(), parent_runs)
        self.sha_run[cand.sha256] = rid
        self.totals.cost_usd += cand.cost_usd
        self.totals.rejected += len(cand.rejected)
        self.totals.tokens += cand.tokens
        self._candidates[rid] = cand
        if cand.failure:   # no program to evaluate: the iteration failed at generation
            self._finish(rid, Outcome("failed", cand.failure.to_dict(),
                                      wall_s=cand.latency_s))
            return self._next()
        self.history.add_pending(cand)
        return rid, self._task(rid, cand.program, iteration)

    def _finish(self, rid: str, outcome: Outcome) -> None:
        if outcome.status == "error" and outcome.failure:
            R.log_failure(self.c, rid, outcome.failure["kind"], outcome.failure["message"])
        R.log_batch(self.c, rid, [R.metric("wall_s", outcome.wall_s)],
                    tags={"codecnb.worker": outcome.worker})
        R.end_run(self.c, rid, "FINISHED" if outcome.ok else "FAILED")
        cand = self._candidates.pop(rid, None)
        if cand is not None:
            self.history.add(cand, _OutcomeResult(outcome))
        else:  # a re-run of an orphan: rebuild its entry from MLflow
            self.history.entries += R.history_of(self.c, [self.c.get_run(rid)]).entries
        self.totals.record(outcome.ok, outcome.selection_bd_rate("jpeg"), rid)
        self._log_totals()
        if self.progress:
            self.progress(self.totals)

    def _log_totals(self) -> None:
        """The running totals as metrics of the parent run (step = iterations done)."""
        R.log_batch(self.c, self.parent, [R.metric(k, v, step=self.totals.done)
                                          for k, v in self.totals.metrics().items()])

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> Totals:
        from distributed import as_completed
        self.stop_reason = ""
        in_flight: dict = {}
        status = "FINISHED"
        try:
            with dask_client(self.s.workers, self.s.scheduler) as dc, scrubbed_environment():
                slots = self.s.workers if not self.s.scheduler else max(
                    1, len(dc.scheduler_info().get("workers", {})))
                pending = as_completed()
                stop = False
                resources = None
                if self.s.spec.fanout:   # a seceded iteration must not let another in
                    one_iteration_per_worker(dc)
                    resources = {ITERATION_RESOURCE: 1}

                def fill():
                    nonlocal stop
                    while not stop and len(in_flight) < slots:
                        try:
                            nxt = self._next()
                        except (BudgetExhausted, GeneratorExhausted) as exc:
                            log.warning("generation stops: %s", exc)
                            why = ("budget exhausted" if isinstance(exc, BudgetExhausted)
                                   else "generator exhausted")
                            self.stop_reason = f"generation stopped, {why}: {exc}"
                            stop = True
                            return
                        if nxt is None:
                            stop = True
                            return
                        rid, task = nxt
                        fut = dc.submit(run_task, task, pure=False, retries=0,
                                        resources=resources)
                        in_flight[fut] = rid
                        pending.add(fut)
                    self.totals.in_progress = len(in_flight)

                fill()
                for fut in pending:
                    rid = in_flight.pop(fut)
                    try:
                        outcome = fut.result()
                    except Exception as exc:  # noqa: BLE001 - worker lost too often, etc.
                        outcome = Outcome.error(f"the iteration task failed: {exc}")
                    self._finish(rid, outcome)
                    fill()
        except KeyboardInterrupt:
            status, self.stop_reason = "KILLED", "interrupted"
            raise
        except BaseException as exc:
            status, self.stop_reason = "FAILED", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            for rid in in_flight.values():
                R.end_run(self.c, rid, "KILLED")
            self.totals.in_progress = 0
            self._log_totals()
            if self.stop_reason:
                R.log_batch(self.c, self.parent, tags={R.STOP_REASON: self.stop_reason})
            R.end_run(self.c, self.parent, status)
            if self._own_work:
                shutil.rmtree(self.work, ignore_errors=True)
        return self.totals


class _OutcomeResult:
    """Just enough of an EvaluationResult for History.add, from a worker's outcome."""

    def __init__(self, outcome: Outcome):
        from codecnb.sandbox.failures import Failure
        self.status = "ok" if outcome.ok else "failed"
        f = outcome.failure
        self.failure = Failure(**{k: f[k] for k in ("kind", "message", "stage", "line", "code")
                                  if f.get(k) is not None}) if f else None
        self.bd_rate = outcome.bd_rate
        self.points = outcome.points
        self.per_clip = getattr(outcome, "per_clip", None) or {}   # training clips only
