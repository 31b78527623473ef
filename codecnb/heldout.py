"""Held-out checks of a campaign: its best candidates evaluated on the held-out clips of
its suite, the numbers logged into their runs beside the training score.

Runs after the generators are done with these candidates (at the end of a campaign, or on
demand with ``codecnb verify``); nothing here feeds a generator. Metrics logged into each
candidate run: ``heldout_bd_rate_{B}``, ``heldout_gap_{B}`` (held-out minus training
BD-rate: positive = worse on unseen clips), ``heldout.{CLIP}.bd_rate_{B}``, and the tag
``codecnb.heldout_status`` (with the failure in ``codecnb.heldout_failure``).
"""
from __future__ import annotations

import logging
from typing import Callable

from codecnb.errors import CodecnbError, SuiteError
from codecnb.evaluation.suite import SuiteResult, evaluate_heldout, heldout_metrics
from codecnb.generators.history import OBJECTIVE
from codecnb.suites import Suite
from codecnb.suites.suite import HELDOUT_TOP  # noqa: F401 - the campaign's default, here too
from codecnb.tracking import runs as R

log = logging.getLogger(__name__)
HELDOUT_STATUS, HELDOUT_FAILURE = "codecnb.heldout_status", "codecnb.heldout_failure"


def best_runs(c, experiment_id: str, parent_id: str, top: int) -> list:
    """The ``top`` finished candidate runs of a campaign by training BD-rate against the
    objective baseline (lowest first)."""
    key = f"bd_rate_{OBJECTIVE}"
    done = [r for r in R.children(c, experiment_id, parent_id)
            if r.info.status == "FINISHED" and key in r.data.metrics]
    return sorted(done, key=lambda r: r.data.metrics[key])[:max(0, top)]


def log_heldout(c, run_id: str, result: SuiteResult, train: dict[str, float | None]) -> None:
    """Log a held-out result into candidate run ``run_id`` (its training BD-rates
    ``train`` give the gap)."""
    ms = [R.metric(k, v) for k, v in heldout_metrics(result.heldout_bd_rate, train).items()]
    for cr in result.heldout:
        for b, v in cr.result.bd_rate.items():
            ms.append(R.metric(f"heldout.{cr.name}.bd_rate_{b}", v))
    tags = {HELDOUT_STATUS: result.status}
    if result.failure:
        tags[HELDOUT_FAILURE] = f"{result.failure.kind}: {result.failure.message}"[:4000]
    R.log_batch(c, run_id, ms, tags=tags)


def verify_campaign(c, experiment_id: str, parent_id: str, top: int = 3, *,
                    suite: Suite | None = None, log_results: bool = True,
                    on_result: Callable[[dict], None] | None = None, **evaluate_kw
                    ) -> list[dict]:
    """Evaluate the best ``top`` candidates of a campaign on the held-out clips.

    Parameters
    ----------
    c, experiment_id, parent_id
        MLflow client, experiment and the campaign's parent run.
    top : int
        How many candidates, best training score first.
    suite : Suite, optional
        Whose held-out clips to use; default the campaign's own suite (from its stored
        evaluation spec).
    log_results : bool
        Log the numbers into the candidate runs.
    on_result : callable, optional
        Called with each row as soon as it is known.
    **evaluate_kw
        Passed to :func:`~codecnb.evaluation.suite.evaluate_heldout` (e.g. ``client``).

    Returns
    -------
    list of dict
        Per candidate: ``run_id``, ``iteration``, ``bd_rate_{B}`` (training),
        ``heldout_bd_rate_{B}``, ``heldout_gap_{B}``, ``heldout_status`` and
        ``heldout_failure``.

    Raises
    ------
    CodecnbError
        The campaign stored no evaluation spec; SuiteError when the suite has no held-out
        clip.
    """
    parent = c.get_run(parent_id)
    spec = R.spec_of(c, parent)
    if spec is None:
        raise CodecnbError(f"campaign {parent_id}: no evaluation spec stored (a campaign of an "
                           f"older version); pass --suite")
    suite = suite or spec.suite
    if not suite.heldout:
        raise SuiteError(f"suite {suite.name!r} of campaign {parent_id} has no held-out clip "
                         f"(run the campaign with --suite default, or verify with --suite)")
    rows = []
    for run in best_runs(c, experiment_id, parent_id, top):
        program = R.program_of(c, run)
        if program is None:
            log.warning("run %s has no candidate.py; skipped", run.info.run_id)
            continue
        result = evaluate_heldout(program, suite, qualities=spec.qualities,
                                  segment_frames=spec.segment_frames, limits=spec.limits(),
                                  policy=spec.policy(), baselines=spec.baselines,
                                  **evaluate_kw)
        train = {k[len("bd_rate_"):]: v for k, v in run.data.metrics.items()
                 if k.startswith("bd_rate_")}
        if log_results:
            log_heldout(c, run.info.run_id, result, train)
        row = {"run_id": run.info.run_id,
               "iteration": int(run.data.tags.get(R.ITERATION, 0)),
               **{f"bd_rate_{b}": v for b, v in train.items()},
               **heldout_metrics(result.heldout_bd_rate, train),
               "heldout_status": result.status,
               "heldout_failure": (f"{result.failure.kind}: {result.failure.message}"
                                   if result.failure else None),
               "heldout_clips": [clip.name for clip in suite.heldout]}
        rows.append(row)
        if on_result:
            on_result(row)
    return rows
