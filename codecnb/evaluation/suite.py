"""Evaluate a candidate over a clip suite: a smoke stage, then every training clip (and the
held-out clips only when asked), per-clip RD points and BD-rates, and the suite score.

Built on :func:`codecnb.evaluation.evaluate`: one evaluation per clip, or, with a Dask
client, one per (clip, segment, quality) task spread over the workers and merged into the
same per-clip result (see :mod:`codecnb.evaluation.fanout`).

The suite score against a baseline is the mean of the training clips' BD-rates against it
(None when any of them is undefined). Held-out clips never count in it: they are evaluated
only by :func:`evaluate_heldout` (``codecnb verify``), so generators never see them.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Sequence

import numpy as np

from codecnb import jsonio
from codecnb.codecs.base import program_hash
from codecnb.evaluation.evaluator import (DEFAULT_BASELINES, DEFAULT_QUALITIES,
                                          EVALUATOR_VERSION, evaluate)
from codecnb.evaluation.result import EvaluationResult
from codecnb.metrics.psnr import PEAK, average_psnr, psnr_from_mse
from codecnb.rd import RDCurve, RDPoint
from codecnb.sandbox.failures import Failure
from codecnb.sandbox.limits import Limits
from codecnb.sandbox.policy import ImportPolicy
from codecnb.sources import DEFAULT_SEGMENT_FRAMES
from codecnb.suites import Clip, Suite

log = logging.getLogger(__name__)

#: Frames of the smoke stage (of the first training clip, at one quality).
SMOKE_FRAMES = 2
#: Wall-clock seconds the smoke stage allows the candidate (start-up included): a program
#: that hangs is stopped after this, not after the full evaluation's timeout.
SMOKE_TIMEOUT_S = 10.0


# -- pooling RD points -------------------------------------------------------------------
def _mse(psnr: float) -> float:
    return 0.0 if math.isinf(psnr) else PEAK * PEAK / 10.0 ** (psnr / 10.0)


def pool_points(parts: Sequence[tuple[RDPoint, int, int, float]]) -> RDPoint:
    """One RD point from points of the same quality measured on disjoint frame sets.

    Parameters
    ----------
    parts : sequence of (RDPoint, width, height, fps)
        Each part's point and the size (px) and frame rate (frames/s) of its frames.

    Returns
    -------
    RDPoint
        Bytes, frames and seconds summed; kbps over the summed duration; bpp over the summed
        luma pixels; PSNR per plane of the pixel-weighted mean MSE (ffmpeg's convention, as
        for one clip: each part's clip PSNR is the PSNR of its mean MSE, so parts of one
        clip give the point the whole window gives, to rounding); SSIM-Y and VMAF the mean
        over frames; per-frame values concatenated in order when every part has them.
    """
    if not parts:
        raise ValueError("no RD points to pool")
    q = parts[0][0].quality
    n = sum(p.frames for p, *_ in parts)
    total = sum(p.bytes for p, *_ in parts)
    seconds = sum(p.frames / fps for p, _, _, fps in parts)
    pixels = sum(p.frames * w * h for p, w, h, _ in parts)

    def pooled_mse(attr: str) -> float:
        return sum(p.frames * w * h * _mse(getattr(p, attr)) for p, w, h, _ in parts) / pixels
    my, mu, mv, mrgb = (pooled_mse(a) for a in ("psnr_y", "psnr_u", "psnr_v", "psnr_rgb"))
    per_frame: dict[str, list[float]] = {}
    for key in parts[0][0].per_frame:
        if all(key in p.per_frame for p, *_ in parts):
            per_frame[key] = [v for p, *_ in parts for v in p.per_frame[key]]
    vmaf = None
    if all(p.vmaf is not None for p, *_ in parts):
        vmaf = sum(p.frames * p.vmaf for p, *_ in parts) / n
    enc = sum(p.encode_s for p, *_ in parts)
    dec = sum(p.decode_s for p, *_ in parts)
    return RDPoint(
        quality=q, bytes=total, kbps=8.0 * total / seconds / 1000.0, bpp=8.0 * total / pixels,
        psnr_y=psnr_from_mse(my), psnr_u=psnr_from_mse(mu), psnr_v=psnr_from_mse(mv),
        psnr_avg=average_psnr(my, mu, mv), psnr_rgb=psnr_from_mse(mrgb),
        ssim_y=sum(p.frames * p.ssim_y for p, *_ in parts) / n, encode_s=enc, decode_s=dec,
        encode_fps=n / enc if enc else float("inf"), decode_fps=n / dec if dec else float("inf"),
        frames=n, vmaf=vmaf, per_frame=per_frame)


def pool_curves(parts: Sequence[tuple[RDCurve, int, int, float]], name: str) -> RDCurve:
    """One RD curve from curves of one codec on several clips (same knob values, in the
    same order): :func:`pool_points` per knob value."""
    first = parts[0][0]
    return RDCurve(name, first.knob, [pool_points([(c.points[i], w, h, fps)
                                                  for c, w, h, fps in parts])
                                     for i in range(len(first.points))])


def _mean_or_none(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return float(np.mean(values))


# -- the result --------------------------------------------------------------------------
@dataclass
class ClipResult:
    """One clip's evaluation within a suite evaluation."""

    clip: Clip
    result: EvaluationResult

    @property
    def name(self) -> str:
        return self.clip.name

    def to_dict(self, per_frame: bool = True) -> dict:
        return {"name": self.clip.name, "role": self.clip.role, "clip": self.clip.to_dict(),
                "result": self.result.to_dict(per_frame)}

    @classmethod
    def from_dict(cls, d: dict) -> "ClipResult":
        return cls(Clip.from_dict(d["clip"]), EvaluationResult.from_dict(d["result"]))


@dataclass
class SuiteResult:
    """What :func:`evaluate_suite` returns; shaped like an :class:`EvaluationResult` where
    that makes sense (``status``, ``failure``, ``bd_rate``, ``points``, ``timings``), so code
    written for one clip keeps working on a suite.

    Attributes
    ----------
    suite : Suite
        The suite that was evaluated (all of its clips, whichever were run).
    status : {"ok", "failed"}
    failure : Failure or None
        The first failure; its message starts with ``clip NAME:`` and its ``detail`` has
        ``clip`` and ``stage_of_suite`` ("smoke" or "full").
    stage : {"smoke", "full"}
        How far the evaluation got.
    clips : list of ClipResult
        Per evaluated clip, in suite order (training clips, then held-out ones if asked).
    bd_rate, bd_psnr : dict of str to float or None
        The suite score: mean over the training clips of their BD-rate (fraction) and
        BD-PSNR (dB) against each baseline; None when any clip's value is undefined.
    validation_bd_rate, validation_bd_psnr : dict of str to float or None
        The same over the validation clips; empty unless they were evaluated. Never shown to
        a generator or the tuner; it chooses the campaign's reported best.
    heldout_bd_rate, heldout_bd_psnr : dict of str to float or None
        The same over the held-out clips; empty unless they were evaluated.
    points : list of RDPoint
        Per quality, the training clips pooled (:func:`pool_points`): bytes and seconds
        summed, PSNR of the pixel-weighted mean MSE. For sizes, speeds and a suite-wide RD
        plot; the score is the mean of per-clip BD-rates, not a BD-rate of pooled curves.
    baselines : dict of str to RDCurve
        The baselines' curves pooled the same way over the training clips.
    smoke : dict or None
        The smoke stage: ``status``, ``clip``, ``frames``, ``quality``, ``seconds``.
    timings : dict of str to float
        Seconds: ``smoke``, ``full``, ``total`` (wall clock), ``candidate`` (inside
        encode/decode, summed over tasks).
    fanout : dict
        When the full stage was fanned out: ``tasks`` (per task: clip, segment, start,
        quality, frames, status, the ``worker`` address that ran it, ``seconds`` and
        ``candidate_s``) and ``workers`` (address -> tasks run); empty otherwise.
    """

    suite: Suite
    status: str
    failure: Failure | None
    stage: str
    clips: list[ClipResult]
    bd_rate: dict[str, float | None]
    bd_psnr: dict[str, float | None]
    qualities: list[int]
    program_sha256: str
    heldout_bd_rate: dict[str, float | None] = field(default_factory=dict)
    heldout_bd_psnr: dict[str, float | None] = field(default_factory=dict)
    validation_bd_rate: dict[str, float | None] = field(default_factory=dict)
    validation_bd_psnr: dict[str, float | None] = field(default_factory=dict)
    points: list[RDPoint] = field(default_factory=list)
    smoke: dict | None = None
    isolation: list[str] = field(default_factory=list)
    evaluator_version: str = EVALUATOR_VERSION
    timings: dict[str, float] = field(default_factory=dict)
    baselines: dict[str, RDCurve] = field(default_factory=dict)
    #: The sandbox's report and the limits, as for one clip (from the first evaluation).
    sandbox: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)
    #: Size of the program's UTF-8 text, bytes.
    program_bytes: int = 0
    fanout: dict = field(default_factory=dict)
    #: The first training clip's first frame, original and decoded per quality (uint8 RGB,
    #: (1, H, W, 3)), when it was evaluated in this process; not serialised.
    frames: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def curve(self, name: str = "candidate") -> RDCurve:
        """The pooled training curve (see :attr:`points`)."""
        return RDCurve(name, "quality", self.points)

    @property
    def source(self) -> dict:
        """What was measured: the suite's name, its evaluated clips and their frames."""
        return {"suite": self.suite.name, "clips": [c.name for c in self.clips],
                "frames": sum(c.result.source.get("frames", 0) for c in self.clips)}

    @property
    def train(self) -> list[ClipResult]:
        return [c for c in self.clips if c.clip.role == "train"]

    @property
    def validation(self) -> list[ClipResult]:
        return [c for c in self.clips if c.clip.validation]

    @property
    def heldout(self) -> list[ClipResult]:
        return [c for c in self.clips if c.clip.heldout]

    @property
    def per_clip(self) -> dict[str, dict[str, float | None]]:
        """Training clip name -> its BD-rates against each baseline (never held-out)."""
        return {c.name: dict(c.result.bd_rate) for c in self.train if c.result.ok}

    def clip(self, name: str) -> EvaluationResult:
        """The result of the clip called ``name``."""
        for c in self.clips:
            if c.name == name:
                return c.result
        raise KeyError(f"no result for clip {name!r}")

    def to_dict(self, per_frame: bool = True) -> dict:
        return {"suite": self.suite.to_dict(), "status": self.status,
                "failure": self.failure.to_dict() if self.failure else None,
                "stage": self.stage, "bd_rate": self.bd_rate, "bd_psnr": self.bd_psnr,
                "heldout_bd_rate": self.heldout_bd_rate,
                "heldout_bd_psnr": self.heldout_bd_psnr,
                "validation_bd_rate": self.validation_bd_rate,
                "validation_bd_psnr": self.validation_bd_psnr,
                "clips": [c.to_dict(per_frame) for c in self.clips],
                "points": [p.to_dict(per_frame) for p in self.points],
                "smoke": self.smoke, "qualities": self.qualities,
                "isolation": self.isolation, "evaluator_version": self.evaluator_version,
                "program_sha256": self.program_sha256, "timings": self.timings,
                "sandbox": self.sandbox, "limits": self.limits,
                "program_bytes": self.program_bytes, "fanout": self.fanout,
                "baselines": {k: v.to_dict(per_frame=False) for k, v in self.baselines.items()},
                # with "points" and "baselines" (pooled), readable as an EvaluationResult
                "source": self.source}

    def to_json(self, per_frame: bool = True, **kw) -> str:
        return jsonio.dumps(self.to_dict(per_frame), **kw)

    @classmethod
    def from_dict(cls, d: dict) -> "SuiteResult":
        return cls(suite=Suite.from_dict(d["suite"]), status=d["status"],
                   failure=Failure(**d["failure"]) if d["failure"] else None,
                   stage=d["stage"], clips=[ClipResult.from_dict(c) for c in d["clips"]],
                   bd_rate=d["bd_rate"], bd_psnr=d["bd_psnr"], qualities=d["qualities"],
                   program_sha256=d["program_sha256"],
                   heldout_bd_rate=d.get("heldout_bd_rate", {}),
                   heldout_bd_psnr=d.get("heldout_bd_psnr", {}),
                   validation_bd_rate=d.get("validation_bd_rate", {}),
                   validation_bd_psnr=d.get("validation_bd_psnr", {}),
                   points=[RDPoint(**p) for p in d.get("points", [])], smoke=d.get("smoke"),
                   isolation=d.get("isolation", []),
                   evaluator_version=d.get("evaluator_version", EVALUATOR_VERSION),
                   timings=d.get("timings", {}), sandbox=d.get("sandbox", {}),
                   limits=d.get("limits", {}), program_bytes=d.get("program_bytes", 0),
                   fanout=d.get("fanout", {}),
                   baselines={k: RDCurve.from_dict(v)
                              for k, v in d.get("baselines", {}).items()})


# -- evaluating --------------------------------------------------------------------------
def _clip_failure(clip: Clip, failure: Failure, stage: str) -> Failure:
    return dataclasses.replace(failure, message=f"clip {clip.name}: {failure.message}",
                               detail={**failure.detail, "clip": clip.name,
                                       "stage_of_suite": stage})


def smoke_test(program: str, suite: Suite, *, quality: int, limits: Limits = Limits(),
               policy: ImportPolicy = ImportPolicy(), timeout_s: float = SMOKE_TIMEOUT_S,
               frames: int = SMOKE_FRAMES, isolation=None) -> EvaluationResult:
    """The smoke stage: ``frames`` frames of the suite's first training clip at one quality,
    no baselines, at most ``timeout_s`` seconds of the candidate's wall clock.

    It rejects programs that do not parse, crash, raise, hang or return wrong output at a
    small fraction of the cost of a full evaluation.
    """
    clip = suite.train[0]
    n = min(frames, clip.frames) if clip.frames else frames
    quick = dataclasses.replace(limits, evaluation_timeout_s=min(limits.evaluation_timeout_s,
                                                                 timeout_s),
                                segment_timeout_s=min(limits.segment_timeout_s, timeout_s),
                                startup_timeout_s=min(limits.startup_timeout_s, timeout_s))
    return evaluate(program, clip.uri, start=clip.start, frames=n, resize=clip.resize,
                    qualities=[quality], segment_frames=n, limits=quick, policy=policy,
                    baselines=(), baseline_cache=None, keep_frames=0, isolation=isolation)


def evaluate_suite(program: str | Path, suite: Suite, *,
                   qualities: Sequence[int] = DEFAULT_QUALITIES,
                   segment_frames: int = DEFAULT_SEGMENT_FRAMES, limits: Limits = Limits(),
                   policy: ImportPolicy = ImportPolicy(),
                   baselines: Sequence[str] = DEFAULT_BASELINES,
                   baseline_cache=True, roles: Sequence[str] = ("train", "validation"),
                   smoke: bool = True, smoke_timeout_s: float = SMOKE_TIMEOUT_S,
                   client=None, progress: Callable[[int], None] | None = None,
                   isolation=None, vmaf: bool = False,
                   prepare: Callable[[], None] | None = None,
                   released: Callable[[], ContextManager] | None = None) -> SuiteResult:
    """Evaluate a candidate program over a suite of clips, in the sandbox.

    Parameters
    ----------
    program : str or Path
        The program's text, or a path to it.
    suite : Suite
        The clips; their windows (start, frames, resize) come with them.
    qualities, segment_frames, limits, policy, baselines, baseline_cache, isolation
        As for :func:`codecnb.evaluation.evaluate`, applied to every clip.
    roles : sequence of {"train", "validation", "heldout"}
        Which clips to evaluate. Campaigns use the default (training and validation clips):
        validation numbers choose the reported best but never reach a generator or the
        tuner, and held-out numbers only come from ``codecnb verify``. ``("train",
        "validation", "heldout")`` for a user's look at everything (``codecnb eval
        --suite``).
    smoke : bool
        Run the smoke stage (:func:`smoke_test`) first and stop there if it fails.
    smoke_timeout_s : float
        The smoke stage's wall-clock limit for the candidate, seconds.
    client : distributed.Client, optional
        Fan the evaluation out over this Dask cluster's workers, one task per (clip,
        segment, quality) (:func:`codecnb.evaluation.fanout.evaluate_clips`). The caller must
        not hold a worker thread while waiting (call from outside the workers, or
        ``distributed.secede()`` first, e.g. in ``released``), or the tasks may wait for it
        forever. The smoke stage still runs here, in this process.
    progress : callable, optional
        Called with a number of frames done, per (segment, quality) or per task.
    vmaf : bool
        Also measure VMAF per point (slow). Fanned out, each segment's VMAF starts afresh
        (its motion feature is 0 on a segment's first frame).
    prepare : callable, optional
        With ``client``: called in the worker before each task (e.g.
        ``EvaluationSpec.apply``); must be picklable.
    released : callable, optional
        With ``client``: returns a context manager entered around the fanned-out full
        stage only (after the smoke stage), e.g. one that gives up the caller's own Dask
        worker slot while the tasks run (:func:`codecnb.campaign.slot.released`).

    Returns
    -------
    SuiteResult
        Failed at the first clip that fails (later clips are not evaluated).
    """
    t0 = time.perf_counter()
    text = Path(program).read_text() if isinstance(program, Path) else program
    qualities = [int(q) for q in qualities]
    clips = list(suite.clips_of(roles))
    timings: dict[str, float] = {"smoke": 0.0, "full": 0.0, "candidate": 0.0}
    smoke_info = None
    fanout: dict = {}

    def done(status, failure, stage, results: list[ClipResult], ref: EvaluationResult | None
             ) -> SuiteResult:
        timings["total"] = time.perf_counter() - t0
        res = _summarise(suite, text, qualities, status, failure, stage, results,
                         smoke_info, ref.isolation if ref else [], timings)
        res.fanout = fanout
        if ref is not None:   # the sandbox as the evaluations ran it
            res.sandbox = dict(getattr(ref, "sandbox", {}) or {})
            res.limits = dict(getattr(ref, "limits", {}) or {})
        return res

    if smoke:
        quality = max(qualities)
        r = smoke_test(text, suite, quality=quality, limits=limits, policy=policy,
                       timeout_s=smoke_timeout_s, isolation=isolation)
        timings["smoke"] = r.timings.get("total", 0.0)
        timings["candidate"] += r.timings.get("candidate", 0.0)
        smoke_info = {"status": r.status, "clip": suite.train[0].name,
                      "frames": r.source.get("frames", 0), "quality": quality,
                      "seconds": round(timings["smoke"], 4)}
        if not r.ok:
            log.info("smoke stage failed: %s", r.failure.message)
            return done("failed", _clip_failure(suite.train[0], r.failure, "smoke"), "smoke",
                        [], r)
    t1 = time.perf_counter()
    common = dict(qualities=qualities, segment_frames=segment_frames, limits=limits,
                  policy=policy, baselines=tuple(baselines), baseline_cache=baseline_cache,
                  isolation=isolation, vmaf=vmaf)
    if client is not None:
        from codecnb.evaluation.fanout import evaluate_clips
        keep = 1 if clips and clips[0].role == "train" else 0   # a look at the first clip
        with released() if released is not None else contextlib.nullcontext():
            fanned = evaluate_clips(client, text, clips, progress=progress, prepare=prepare,
                                    keep_frames=keep, **common)
        pairs, fanout = fanned.pairs, fanned.to_dict()
    else:
        pairs = []
        for i, clip in enumerate(clips):
            keep = 1 if i == 0 and clip.role == "train" else 0   # a look at the first clip
            res = evaluate(text, clip.uri, start=clip.start, frames=clip.frames,
                           resize=clip.resize, progress=progress, keep_frames=keep, **common)
            pairs.append((clip, res))
            if not res.ok:
                break
    timings["full"] = time.perf_counter() - t1
    results = [ClipResult(c, r) for c, r in pairs]
    timings["candidate"] += sum(r.result.timings.get("candidate", 0.0) for r in results)
    ref = results[0].result if results else None
    for cr in results:
        if not cr.result.ok:
            return done("failed", _clip_failure(cr.clip, cr.result.failure, "full"), "full",
                        results, ref)
    return done("ok", None, "full", results, ref)


def _summarise(suite, text, qualities, status, failure, stage, results, smoke_info, layers,
               timings) -> SuiteResult:
    def score(group: list[ClipResult], attr: str) -> dict[str, float | None]:
        if not group or any(not c.result.ok for c in group):
            return {}
        names = list(getattr(group[0].result, attr))
        return {b: _mean_or_none([getattr(c.result, attr).get(b) for c in group]) for b in names}

    train = [c for c in results if c.clip.role == "train"]
    valid = [c for c in results if c.clip.validation]
    held = [c for c in results if c.clip.heldout]
    ok = status == "ok"
    points, bases = [], {}
    if ok and train:
        def size(c: ClipResult) -> tuple[int, int, float]:
            return c.result.source["width"], c.result.source["height"], c.result.source["fps"]
        points = pool_curves([(c.result.curve(), *size(c)) for c in train], "candidate").points
        bases = {b: pool_curves([(c.result.baselines[b], *size(c)) for c in train], b)
                 for b in train[0].result.baselines}
    return SuiteResult(
        suite=suite, status=status, failure=failure, stage=stage, clips=results,
        bd_rate=score(train, "bd_rate") if ok else {},
        bd_psnr=score(train, "bd_psnr") if ok else {},
        heldout_bd_rate=score(held, "bd_rate") if ok else {},
        heldout_bd_psnr=score(held, "bd_psnr") if ok else {},
        validation_bd_rate=score(valid, "bd_rate") if ok else {},
        validation_bd_psnr=score(valid, "bd_psnr") if ok else {},
        qualities=list(qualities), program_sha256=program_hash(text),
        program_bytes=len(text.encode()), points=points,
        smoke=smoke_info, isolation=list(layers), timings=timings, baselines=bases,
        frames=results[0].result.frames if results and results[0].result.ok else {})


def evaluate_heldout(program: str | Path, suite: Suite, **kw) -> SuiteResult:
    """The held-out check: evaluate a candidate on the suite's held-out clips only (no
    smoke stage). Its ``heldout_bd_rate`` is the held-out score; ``bd_rate`` stays empty.

    Takes the keyword arguments of :func:`evaluate_suite` except ``roles``/``smoke``.

    Raises
    ------
    SuiteError
        The suite has no held-out clip.
    """
    from codecnb.errors import SuiteError
    if not suite.heldout:
        raise SuiteError(f"suite {suite.name!r}: no held-out clip (role = 'heldout')")
    return evaluate_suite(program, suite, roles=("heldout",), smoke=False, **kw)


def evaluate_spec(program: str | Path, spec, **kw) -> SuiteResult:
    """:func:`evaluate_suite` with everything taken from an
    :class:`~codecnb.spec.EvaluationSpec` (suite, qualities, segment size, limits, import
    policy, baselines); ``kw`` adds ``roles``, ``smoke``, ``client``, ``progress``...
    With a ``client``, every fanned-out task applies the spec in its worker first."""
    if kw.get("client") is not None:
        kw.setdefault("prepare", spec.apply)
    return evaluate_suite(program, spec.suite, qualities=spec.qualities,
                          segment_frames=spec.segment_frames, limits=spec.limits(),
                          policy=spec.policy(), baselines=spec.baselines, **kw)


# -- names for tracking ------------------------------------------------------------------
#: The MLflow key prefix of a clip's own metrics, per role.
_METRIC_PREFIX = {"train": "clip", "validation": "validation", "heldout": "heldout"}

def suite_metrics(result: SuiteResult) -> dict[str, float]:
    """Flat metric name -> value for MLflow (None values are left out).

    ``bd_rate_{B}`` / ``bd_psnr_{B}``: the suite score (as for one clip, so single-clip
    tooling keeps working); ``clip.{NAME}.bd_rate_{B}``, ``clip.{NAME}.kbps_q{Q}``,
    ``clip.{NAME}.psnr_y_q{Q}``, ``clip.{NAME}.ssim_y_q{Q}`` per training clip;
    validation clips as ``validation.{NAME}.…`` and their mean as ``validation_bd_rate_{B}``
    with ``validation_gap_{B}``; held-out clips as ``heldout.{NAME}.…`` and their mean as
    ``heldout_bd_rate_{B}``, with ``heldout_gap_{B}`` = held-out minus training score
    (positive: worse on unseen clips);
    ``smoke_s``, ``smoke_ok``.
    """
    out: dict[str, float | None] = {}
    for b, v in result.bd_rate.items():
        out[f"bd_rate_{b}"] = v
    for b, v in result.bd_psnr.items():
        out[f"bd_psnr_{b}"] = v
    for c in result.clips:
        prefix = f"{_METRIC_PREFIX[c.clip.role]}.{c.name}."
        r = c.result
        for b, v in r.bd_rate.items():
            out[prefix + f"bd_rate_{b}"] = v
        for p in r.points:
            out[prefix + f"kbps_q{p.quality}"] = p.kbps
            out[prefix + f"psnr_y_q{p.quality}"] = p.psnr_y
            out[prefix + f"ssim_y_q{p.quality}"] = p.ssim_y
    out.update(heldout_metrics(result.heldout_bd_rate, result.bd_rate))
    out.update(heldout_metrics(result.validation_bd_rate, result.bd_rate, "validation"))
    if result.smoke:
        out["smoke_s"] = result.smoke["seconds"]
        out["smoke_ok"] = 1.0 if result.smoke["status"] == "ok" else 0.0
    return {k: float(v) for k, v in out.items() if v is not None and math.isfinite(v)}


def heldout_metrics(heldout: dict[str, float | None], train: dict[str, float | None],
                    role: str = "heldout") -> dict[str, float]:
    """``{role}_bd_rate_{B}`` and ``{role}_gap_{B}`` (that role's score minus the training
    BD-rate, fraction; positive = worse on clips the generators never saw) for each baseline
    where both are known; ``role`` is "heldout" or "validation"."""
    out = {}
    for b, v in heldout.items():
        if v is None:
            continue
        out[f"{role}_bd_rate_{b}"] = v
        if train.get(b) is not None:
            out[f"{role}_gap_{b}"] = v - train[b]
    return out
