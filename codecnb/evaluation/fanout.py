"""Fan-out: one candidate's evaluation split into independent (clip, segment, quality) tasks
over Dask workers, and merged back into one :class:`EvaluationResult` per clip.

Each task is an ordinary :func:`codecnb.evaluation.evaluate` of one segment window at one
quality (one encoder and one decoder process, only one of them running), so a worker with
one thread runs one candidate process at a time and timings stay comparable. A segment
task sees exactly the frames the whole-window evaluation would pass to that ``encode``
call, so for a program without state across calls the merged result equals the whole
evaluation's (PSNR to rounding: per-frame values are pooled through their MSEs).

Baselines are measured once per clip window, in a task of their own, and cached exactly as
:func:`~codecnb.evaluation.evaluate` caches them (source identity, window, segment size,
sweeps, evaluator version).

Limits apply per task: ``evaluation_timeout_s`` bounds one task, not the whole candidate.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Sequence

from codecnb import config
from codecnb.baselines import SWEEPS, baseline_codecs
from codecnb.evaluation.baseline_cache import BaselineCache
from codecnb.evaluation.evaluator import EVALUATOR_VERSION, evaluate
from codecnb.evaluation.result import EvaluationResult
from codecnb.metrics.bdrate import bd_psnr, bd_rate
from codecnb.rd import RDCurve, bd_or_none, measure
from codecnb.sources import open_source
from codecnb.sources.identity import source_identity
from codecnb.suites import Clip

log = logging.getLogger(__name__)


def clip_baselines(clip: Clip, names: Sequence[str], segment_frames: int,
                   baseline_cache=True) -> tuple[dict[str, RDCurve], dict, float]:
    """The baselines' RD curves on a clip's window (cached), its source description and the
    seconds it took.

    Returns
    -------
    curves : dict of str to RDCurve
    source : dict
        :class:`~codecnb.sources.SourceInfo` fields plus ``identity`` and ``frames`` (the
        window's frame count when known without decoding, else None).
    seconds : float
    """
    t0 = time.perf_counter()
    src = open_source(clip.uri, start=clip.start, frames=clip.frames, resize=clip.resize)
    source = {**src.info.to_dict(), "identity": source_identity(src)}
    names = list(names)
    curves: dict[str, RDCurve] = {}
    if names:
        def compute() -> dict[str, RDCurve]:
            fresh = open_source(clip.uri, start=clip.start, frames=clip.frames,
                                resize=clip.resize)
            return measure(baseline_codecs(src.info.fps, names),
                           {n: SWEEPS[n] for n in names}, fresh, segment_frames=segment_frames)
        cache = (BaselineCache(Path(config.resolve("cache_dir")) / "baselines")
                 if baseline_cache is True else baseline_cache or None)
        if cache is None:
            curves = compute()
        else:
            key = {"source": source["identity"], "segment_frames": segment_frames,
                   "baselines": {n: SWEEPS[n] for n in names}, "evaluator": EVALUATOR_VERSION}
            curves, _ = cache.get_or_compute(key, compute)
    return curves, source, time.perf_counter() - t0


def _segment_task(text: str, clip: Clip, start: int, frames: int | None, quality: int,
                  kw: dict) -> EvaluationResult:
    return evaluate(text, clip.uri, start=start, frames=frames, resize=clip.resize,
                    qualities=[quality], baselines=(), baseline_cache=None, keep_frames=0,
                    **kw)


def _windows(frames: int | None, start: int, segment_frames: int
             ) -> list[tuple[int, int | None]]:
    if frames is None:
        return [(start, None)]
    return [(start + s, min(segment_frames, frames - s)) for s in range(0, frames, segment_frames)]


def merge_clip(clip: Clip, parts: dict[int, list[EvaluationResult]],
               baselines: dict[str, RDCurve], source: dict, baseline_s: float
               ) -> EvaluationResult:
    """One clip's result from its passing segment tasks (quality -> results in frame order)
    and its baselines."""
    from codecnb.evaluation.suite import pool_points
    qualities = sorted(parts)
    first = parts[qualities[0]][0]
    points = [pool_points([(r.points[0], r.source["width"], r.source["height"],
                            r.source["fps"]) for r in parts[q]]) for q in qualities]
    curve = RDCurve("candidate", "quality", points)
    timings: dict[str, float] = {}
    for results in parts.values():
        for r in results:
            for k, v in r.timings.items():
                if k != "baselines":
                    timings[k] = timings.get(k, 0.0) + v
    timings["baselines"] = baseline_s
    timings["total"] = timings.get("total", 0.0) + baseline_s
    return EvaluationResult(
        status="ok", failure=None, points=points,
        bd_rate={n: bd_or_none(bd_rate, b, curve) for n, b in baselines.items()},
        bd_psnr={n: bd_or_none(bd_psnr, b, curve) for n, b in baselines.items()},
        baselines=baselines, isolation=first.isolation,
        evaluator_version=first.evaluator_version, program_sha256=first.program_sha256,
        source={**source, "frames": points[0].frames}, qualities=qualities,
        timings=timings, limits=first.limits)


def evaluate_clips(client, program: str, clips: Sequence[Clip], *,
                   qualities: Sequence[int], segment_frames: int,
                   baselines: Sequence[str] = (), baseline_cache=True,
                   progress: Callable[[int], None] | None = None,
                   **evaluate_kw) -> list[tuple[Clip, EvaluationResult]]:
    """Evaluate ``program`` on ``clips`` as (clip, segment, quality) tasks on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
        The cluster; each task is one :func:`~codecnb.evaluation.evaluate` call, submitted
        with ``pure=False``.
    program : str
        The program's text.
    clips : sequence of Clip
    qualities, segment_frames, baselines, baseline_cache
        As for :func:`~codecnb.evaluation.evaluate`; segments are ``segment_frames`` long.
    progress : callable, optional
        Called with the frames of each finished task.
    **evaluate_kw
        ``limits``, ``policy``, ``isolation`` for every task.

    Returns
    -------
    list of (Clip, EvaluationResult)
        In clip order, up to and including the first clip with a failed task (that clip's
        entry is the failed task's result; the other tasks are cancelled).
    """
    from distributed import as_completed
    qualities = [int(q) for q in qualities]
    base_futs = {c.name: client.submit(clip_baselines, c, tuple(baselines), segment_frames,
                                       baseline_cache, pure=False, priority=10)
                 for c in clips}
    # The task list needs each window's length: known from the clip, or (to the end of the
    # clip) from the baseline task's look at the source.
    futures = {}
    for ci, clip in enumerate(clips):
        frames = clip.frames
        if frames is None:
            frames = base_futs[clip.name].result()[1].get("frames")
        for si, (start, n) in enumerate(_windows(frames, clip.start, segment_frames)):
            for q in qualities:
                fut = client.submit(_segment_task, program, clip, start, n, q, evaluate_kw,
                                    pure=False, priority=-ci)
                futures[fut] = (ci, si, q)
    done: dict[tuple[int, int, int], EvaluationResult] = {}
    first_failed: int | None = None
    ac = as_completed(list(futures))
    for fut in ac:
        ci, si, q = futures[fut]
        res = fut.result()
        done[ci, si, q] = res
        if progress and res.ok:
            progress(res.source.get("frames", 0))
        if not res.ok and (first_failed is None or ci < first_failed):
            first_failed = ci
            log.info("fan-out task (%s, segment %d, q%d) failed: %s", clips[ci].name, si, q,
                     res.failure.message)
            for other, (cj, _, _) in futures.items():
                if cj >= ci and not other.done():
                    other.cancel()
            # tasks of earlier clips still run: their results complete the earlier clips
            remaining = [f for f, (cj, _, _) in futures.items() if cj < ci and not f.done()]
            for f in remaining:
                cj, sj, qj = futures[f]
                done[cj, sj, qj] = f.result()
            break
    out: list[tuple[Clip, EvaluationResult]] = []
    for ci, clip in enumerate(clips):
        keys = sorted(k for k in done if k[0] == ci)
        failed = [done[k] for k in keys if not done[k].ok]
        if failed or ci == first_failed:
            out.append((clip, failed[0]))
            for f in base_futs.values():
                f.cancel()
            return out
        curves, source, secs = base_futs[clip.name].result()
        parts = {q: [done[k] for k in keys if k[2] == q] for q in qualities}
        out.append((clip, merge_clip(clip, parts, curves, source, secs)))
    return out
