"""What an iteration logs into its candidate's MLflow run: the evaluation (metrics, per-frame
steps, failure, result.json, figures), the worker running it, the executed notebook."""
from __future__ import annotations

import logging
from pathlib import Path

from codecnb.tracking.runs import WORKER, log_batch, log_result, metric
from codecnb.tracking.store import client, retry_locked

log = logging.getLogger(__name__)


def log_evaluation(tracking_uri: str | None, run_id: str, result, source_sha256: str,
                   images: dict[str, Path]) -> None:
    """Metrics, per-frame steps, failure, result.json and images into the candidate run."""
    c = client(tracking_uri)
    log_result(c, run_id, result)
    if hasattr(result, "suite"):   # a suite: per-clip metrics (training clips only)
        from codecnb.evaluation.suite import suite_metrics
        log_batch(c, run_id, [metric(k, v) for k, v in suite_metrics(result).items()],
                  params={"suite": result.suite.name})
    log_batch(c, run_id, params={"source_sha256": source_sha256})
    for path in images.values():
        retry_locked(c.log_artifact, run_id, str(path))


def log_worker(tracking_uri: str | None, run_id: str, worker: str) -> None:
    """Say on the candidate's run which worker runs it (``codecnb status --watch``)."""
    log_batch(client(tracking_uri), run_id, tags={WORKER: worker})


def log_notebook(tracking_uri: str | None, run_id: str, executed: Path) -> None:
    """The executed notebook and its HTML render, as artifacts of the candidate run."""
    if not executed.exists():
        return
    from codecnb.notebook import to_html
    html = executed.with_suffix(".html")
    try:
        html.write_text(to_html(executed))
    except Exception as exc:  # noqa: BLE001 - a broken notebook still gets logged
        log.warning("could not render %s to HTML: %s", executed, exc)
    c = client(tracking_uri)
    for path in (executed, html):
        if path.exists():
            retry_locked(c.log_artifact, run_id, str(path))
