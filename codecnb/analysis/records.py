"""Candidate runs of MLflow as plain records (see :mod:`codecnb.tracking.runs` for the
layout they are read from)."""
from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from codecnb import jsonio
from codecnb.evaluation.result import EvaluationResult
from codecnb.rd import RDCurve, RDPoint
from codecnb.tracking import open_experiment, retry_locked
from codecnb.tracking import runs as R

log = logging.getLogger(__name__)
TOKEN_METRICS = ("tokens_input", "tokens_output", "tokens_cache_write", "tokens_cache_read")


@dataclass
class CandidateRecord:
    """One candidate run.

    Attributes
    ----------
    run_id, campaign : str
        The run and its campaign's (parent) run; ``campaign`` is "" for runs logged
        outside a campaign (e.g. from the explorer).
    iteration : int
        Position in its campaign, from 1.
    status : {"FINISHED", "FAILED", "KILLED", "RUNNING"}
        The MLflow run status (FINISHED = the candidate passed).
    start_ms : int
        Start time, milliseconds since the epoch.
    generator, model, source : str
    program_sha256 : str
        SHA-256 of the program's text.
    parent_runs : list of str
        Run ids of the candidates this one was derived from.
    bd_rate : dict of str to float
        BD-rate (fraction, PSNR-Y) against each baseline; missing when undefined.
    points : list of dict
        ``quality``, ``kbps``, ``psnr_y`` (dB; ``inf`` when lossless), ``ssim_y``.
    encode_fps, decode_fps : float or None
        Frames per second over all qualities.
    tokens : int
        LLM tokens of the proposal (input, output, cache write and read).
    cost_usd, wall_s : float
        The proposal's cost; the iteration's wall time on its worker (seconds).
    failure_kind, failure_message : str or None
    heldout : dict of str to float
        Held-out check (``codecnb verify``): ``bd_rate_{B}`` and ``gap_{B}`` (held-out
        minus training BD-rate) per baseline; empty when the candidate was not checked.
    per_clip : dict of str to dict
        Suite campaigns: training clip -> baseline -> BD-rate (fraction), from the
        ``clip.{NAME}.bd_rate_{B}`` metrics; empty for one clip.
    validation : dict of str to float
        Validation clips (evaluated with the training clips, never shown to a generator):
        ``bd_rate_{B}`` and ``gap_{B}`` (validation minus training BD-rate) per baseline;
        empty when the suite has no validation clip.
    validation_clips : dict of str to dict
        Validation clip -> baseline -> BD-rate (fraction), from the
        ``validation.{NAME}.bd_rate_{B}`` metrics.
    heldout_clips : dict of str to dict
        Held-out clip -> baseline -> BD-rate (fraction), from the
        ``heldout.{NAME}.bd_rate_{B}`` metrics of the held-out check; empty when the
        candidate was not checked.
    clips : list of (str, str)
        Suite campaigns: every clip of the suite as (name, role), in suite order (the
        ``clips`` param); empty for one clip.
    group : str
        What makes results comparable: evaluator version, source, window, qualities (the
        ``spec_group`` param; rebuilt from the params for runs of older versions).
    """

    run_id: str
    campaign: str
    iteration: int
    status: str
    start_ms: int
    generator: str
    model: str
    source: str
    program_sha256: str = ""
    parent_runs: list[str] = field(default_factory=list)
    bd_rate: dict[str, float] = field(default_factory=dict)
    points: list[dict] = field(default_factory=list)
    encode_fps: float | None = None
    decode_fps: float | None = None
    tokens: int = 0
    cost_usd: float = 0.0
    wall_s: float | None = None
    failure_kind: str | None = None
    failure_message: str | None = None
    group: str = ""
    heldout: dict[str, float] = field(default_factory=dict)
    per_clip: dict[str, dict[str, float]] = field(default_factory=dict)
    heldout_clips: dict[str, dict[str, float]] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    validation_clips: dict[str, dict[str, float]] = field(default_factory=dict)
    clips: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"

    @property
    def suite(self) -> str:
        """The suite's name when the candidate was measured on a suite (source param
        ``suite:NAME``), else ""."""
        return self.source[len("suite:"):] if self.source.startswith("suite:") else ""

    def selection_bd_rate(self, baseline: str) -> float | None:
        """The BD-rate against ``baseline`` that choices which must generalise use (the
        reported best, the leaderboard's order): the validation clips' mean when the suite
        has validation clips, else the training score (fraction; None when undefined)."""
        if self.validation or any(role == "validation" for _, role in self.clips):
            return self.validation.get(f"bd_rate_{baseline}")
        return self.bd_rate.get(baseline)

    @classmethod
    def from_run(cls, run) -> "CandidateRecord":
        tags, m, p = run.data.tags, run.data.metrics, run.data.params
        qualities = sorted({int(k[len("kbps_q"):]) for k in m if k.startswith("kbps_q")})
        lossless = tags.get("codecnb.lossless") == "true"
        points = [{"quality": q, "kbps": m[f"kbps_q{q}"],
                   "psnr_y": m.get(f"psnr_y_q{q}", math.inf if lossless else math.nan),
                   "ssim_y": m.get(f"ssim_y_q{q}", math.nan)} for q in qualities]
        return cls(
            run_id=run.info.run_id, campaign=tags.get(R.PARENT, ""),
            iteration=int(tags.get(R.ITERATION, 0)), status=run.info.status,
            start_ms=int(run.info.start_time or 0),
            generator=tags.get("codecnb.generator", p.get("generator", "")),
            model=p.get("model", "-"), source=p.get("source", ""),
            program_sha256=tags.get(R.SHA, ""),
            parent_runs=[r for r in tags.get("codecnb.parent_runs", "").split(",") if r],
            bd_rate={k[len("bd_rate_"):]: v for k, v in m.items() if k.startswith("bd_rate_")},
            points=points, encode_fps=m.get("encode_fps"), decode_fps=m.get("decode_fps"),
            tokens=int(sum(m.get(k, 0) for k in TOKEN_METRICS)),
            cost_usd=float(m.get("cost_usd", 0.0)), wall_s=m.get("wall_s"),
            failure_kind=tags.get(R.FAILURE_KIND), failure_message=tags.get(R.FAILURE_MESSAGE),
            heldout={k[len("heldout_"):]: v for k, v in m.items()
                     if k.startswith(("heldout_bd_rate_", "heldout_gap_"))},
            per_clip=_per_clip(m, "clip."), heldout_clips=_per_clip(m, "heldout."),
            validation={k[len("validation_"):]: v for k, v in m.items()
                        if k.startswith(("validation_bd_rate_", "validation_gap_"))},
            validation_clips=_per_clip(m, "validation."),
            clips=_clips(p.get("clips", "")),
            group=p.get(R.GROUP_PARAM) or "|".join(
                p.get(k, "?") for k in ("evaluator_version", "source", "start", "frames",
                                        "resize", "qualities", "segment_frames")))

    def curve(self, name: str | None = None) -> RDCurve:
        """The candidate's RD curve from its logged metrics (kbps, PSNR-Y, SSIM-Y only)."""
        nan = math.nan
        pts = [RDPoint(quality=d["quality"], bytes=0, kbps=d["kbps"], bpp=nan,
                       psnr_y=d["psnr_y"], psnr_u=nan, psnr_v=nan, psnr_avg=nan, psnr_rgb=nan,
                       ssim_y=d["ssim_y"], encode_s=nan, decode_s=nan, encode_fps=nan,
                       decode_fps=nan, frames=0) for d in self.points]
        return RDCurve(name or f"iteration {self.iteration}", "quality", pts)


def _per_clip(metrics: dict, prefix: str) -> dict[str, dict[str, float]]:
    """``{prefix}{NAME}.bd_rate_{B}`` metrics as NAME -> B -> value (clips in the order
    of their names)."""
    out: dict[str, dict[str, float]] = {}
    for k, v in sorted(metrics.items()):
        if k.startswith(prefix) and ".bd_rate_" in k:
            name, _, base = k[len(prefix):].rpartition(".bd_rate_")
            out.setdefault(name, {})[base] = v
    return out


def _clips(param: str) -> list[tuple[str, str]]:
    """The ``clips`` param (``NAME=URI|START|FRAMES|ROLE;...``) as [(NAME, ROLE), ...]."""
    out = []
    for item in filter(None, param.split(";")):
        name, _, rest = item.partition("=")
        out.append((name, rest.rpartition("|")[2]))
    return out


def load_candidates(c, experiment_id: str, campaign: str | None = None) -> list[CandidateRecord]:
    """Candidate runs of an experiment (or of one campaign), in start order.

    Parameters
    ----------
    c : MlflowClient
    experiment_id : str
    campaign : str, optional
        A campaign's parent run id; None for every candidate of the experiment.
    """
    if campaign:
        runs = R.children(c, experiment_id, campaign)
    else:
        runs = R.search_all(c, experiment_id, f"tags.`{R.ROLE}` = 'candidate'")
    return sorted((CandidateRecord.from_run(r) for r in runs),
                  key=lambda r: (r.start_ms, r.iteration))


def split_by_group(records: list[CandidateRecord], group: str | None = None
                   ) -> tuple[list[CandidateRecord], str]:
    """The records of one comparable group (``group``, default: that of the newest record),
    and a sentence saying what was left out ("" when nothing was).

    Results of different evaluator versions, sources, windows or qualities are never ranked
    together: their numbers do not mean the same thing.
    """
    if not records:
        return [], ""
    group = group or records[-1].group
    kept = [r for r in records if r.group == group]
    others = [r for r in records if r.group != group]
    if not others:
        return kept, ""
    sources = sorted({r.source for r in others})
    note = (f"left out {len(others)} candidate(s) measured on another evaluator version, "
            f"source, window or qualities ({len({r.group for r in others})} other group(s); "
            f"sources {', '.join(sources[:3])}{' ...' if len(sources) > 3 else ''}); pick one "
            f"campaign to see them")
    return kept, note


def load_result(c, run_id: str) -> EvaluationResult | None:
    """The full evaluation result (``result.json``) logged with a candidate run, or None."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = retry_locked(c.download_artifacts, run_id, "result.json", tmp)
        except Exception:  # noqa: BLE001 - no such artifact (e.g. failed before evaluation)
            return None
        return EvaluationResult.from_dict(jsonio.loads(Path(path).read_text()))


def open_records(experiment: str, campaign: str = "", uri: str = "",
                 ) -> tuple[object, list[CandidateRecord]]:
    """(MLflow client, candidate records) of an experiment, or of one of its campaigns:
    those comparable with the newest (:func:`split_by_group`; what is left out is logged as
    a warning).

    Raises
    ------
    CodecnbError
        When the store or the experiment does not exist.
    """
    c, exp = open_experiment(experiment, uri or None)
    records = load_candidates(c, exp, campaign or None)
    kept, note = split_by_group(records)
    if note:
        log.warning("%s", note)
    return c, kept


def top_curves(c, records: list[CandidateRecord], board: list[dict]) -> dict[str, RDCurve]:
    """RD curves of the leaderboard's candidates beside the baselines they were measured
    against: those of the best candidate's ``result.json``. Candidates measured on another
    source than the best one are left out (their curves are not comparable)."""
    if not board:
        return {}
    by_id = {r.run_id: r for r in records}
    best = by_id[board[0]["run_id"]]
    result = load_result(c, best.run_id)
    curves = {f"#{row['rank']} iteration {row['iteration']}": by_id[row["run_id"]].curve()
              for row in board if by_id[row["run_id"]].source == best.source}
    return {**curves, **(result.baselines if result else {})}
