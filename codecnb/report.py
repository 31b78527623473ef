"""The comparison report: ``notebooks/compare.ipynb`` executed with papermill and rendered
to one standalone HTML file (images embedded, nothing fetched when it opens)."""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from codecnb.errors import CodecnbError
from codecnb.notebook import execute, to_html
from codecnb.tracking import open_experiment, retry_locked, tracking_uri

log = logging.getLogger(__name__)


def build_report(output: str | Path, experiment: str = "codecnb", campaign: str = "",
                 uri: str | None = None, with_code: bool = False, top_k: int = 5,
                 target_kbps: float = 0.0) -> Path:
    """Execute the comparison notebook on an experiment and write it as HTML.

    Parameters
    ----------
    output : str or Path
        The HTML file to write. It appears whole or not at all (written to a temporary
        file beside it, then renamed).
    experiment : str
        MLflow experiment name.
    campaign : str
        A campaign's parent run id; "" for every candidate of the experiment.
    uri : str, optional
        Tracking URI (default: the configured or local store).
    with_code : bool
        Show the notebook's code cells.
    top_k : int
        Candidates in the leaderboard and the RD plot.
    target_kbps : float
        Bitrate of the "PSNR-Y at target" column; 0 picks one inside most candidates'
        ranges.

    Returns
    -------
    Path
        The written file.
    """
    output = Path(output).resolve()
    if not output.parent.is_dir():
        raise CodecnbError(f"cannot write the report to {output}: folder {output.parent} "
                           f"does not exist")
    uri = tracking_uri(uri)
    c, _ = open_experiment(experiment, uri)
    if campaign:
        try:
            retry_locked(c.get_run, campaign)
        except Exception:  # noqa: BLE001 - MlflowException RESOURCE_DOES_NOT_EXIST
            raise CodecnbError(f"campaign {campaign!r} not found in {uri}") from None
    with tempfile.TemporaryDirectory(prefix="codecnb-report-") as tmp:
        executed = Path(tmp) / "compare.ipynb"
        execute("compare", executed, {"experiment": experiment, "campaign": campaign,
                                      "tracking_uri": uri, "top_k": top_k,
                                      "target_kbps": float(target_kbps)}, cwd=Path(tmp))
        html = to_html(executed, with_code=with_code)
    fd, part = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html)
        os.chmod(part, 0o644)
        os.replace(part, output)
    except BaseException:
        os.unlink(part)
        raise
    log.info("report written to %s (%d kB)", output, len(html) // 1024)
    return output
