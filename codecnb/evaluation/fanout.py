"""Fan-out: one candidate's evaluation split into independent (clip, segment, quality) tasks
over Dask workers, and merged back into one :class:`EvaluationResult` per clip.

Each task is an ordinary :func:`codecnb.evaluation.evaluate` of one segment window at one
quality (one encoder and one decoder process, only one of them running), so a worker with
one thread runs one candidate process at a time and timings stay comparable. A segment
task sees exactly the frames the whole-window evaluation would pass to that ``encode``
call, so for a program without state across calls (the contract: ``decode`` works from the
bytes alone) the merged result equals the whole evaluation's (PSNR to rounding: per-frame
values are pooled through their MSEs). Timings are summed over the tasks: a merged clip's
``candidate`` seconds are the candidate's own encode and decode time, as unsplit.

Baselines are measured once per clip window, in a task of their own, and cached exactly as
:func:`~codecnb.evaluation.evaluate` caches them (source identity, window, segment size,
sweeps, evaluator version).

A failed task fails its clip with the failure the whole-window evaluation would have
reported: the first in that evaluation's order (segment, then the encodes of every quality,
then the decodes). Limits apply per task: ``evaluation_timeout_s`` bounds one task, not the
whole candidate; ``segment_timeout_s`` bounds each call, as unsplit.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from codecnb import config
from codecnb.baselines import SWEEPS, baseline_codecs, baseline_identity
from codecnb.evaluation.baseline_cache import BaselineCache
from codecnb.evaluation.evaluator import EVALUATOR_VERSION, evaluate, score_points
from codecnb.evaluation.result import EvaluationResult
from codecnb.rd import RDCurve, measure
from codecnb.sources import open_source
from codecnb.sources.identity import source_identity
from codecnb.suites import Clip

log = logging.getLogger(__name__)

#: Order of a failure's stage within one segment of the whole-window evaluation: the
#: static check, then every quality's encode, then every quality's decode.
_STAGE_ORDER = {"static": 0, "encode": 1, "decode": 2}


def clip_baselines(clip: Clip, names: Sequence[str], segment_frames: int,
                   baseline_cache=True, prepare: Callable[[], None] | None = None
                   ) -> tuple[dict[str, RDCurve], dict, float]:
    """The baselines' RD curves on a clip's window (cached), its source description and the
    seconds it took.

    Parameters
    ----------
    prepare : callable, optional
        Called first, in the process that runs this (e.g. ``EvaluationSpec.apply``).

    Returns
    -------
    curves : dict of str to RDCurve
    source : dict
        :class:`~codecnb.sources.SourceInfo` fields plus ``identity`` and ``frames`` (the
        window's frame count when known without decoding, else None).
    seconds : float
    """
    if prepare is not None:
        prepare()
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
                   "baselines": baseline_identity(list(names), src.info.fps),
                   "evaluator": EVALUATOR_VERSION}
            curves, _ = cache.get_or_compute(key, compute)
    return curves, source, time.perf_counter() - t0


def current_worker():
    """The Dask worker running this code, or None outside one."""
    try:
        from distributed import get_worker
        return get_worker()
    except (ImportError, ValueError):
        return None


def _worker_address() -> str:
    worker = current_worker()
    return worker.address if worker is not None else ""


def _segment_task(text: str, clip: Clip, start: int, frames: int | None, quality: int,
                  keep_frames: int, kw: dict, prepare: Callable[[], None] | None = None
                  ) -> tuple[EvaluationResult, str]:
    """One task: (the segment's result at one quality, the address of the worker)."""
    if prepare is not None:
        prepare()
    res = evaluate(text, clip.uri, start=start, frames=frames, resize=clip.resize,
                   qualities=[quality], baselines=(), baseline_cache=None,
                   keep_frames=keep_frames, **kw)
    return res, _worker_address()


def _windows(frames: int | None, start: int, segment_frames: int
             ) -> list[tuple[int, int | None]]:
    if frames is None:
        return [(start, None)]
    return [(start + s, min(segment_frames, frames - s)) for s in range(0, frames, segment_frames)]


def merge_clip(clip: Clip, parts: dict[int, list[EvaluationResult]],
               baselines: dict[str, RDCurve], source: dict, baseline_s: float
               ) -> EvaluationResult:
    """One clip's result from its passing segment tasks (quality -> results in frame order)
    and its baselines; timings are summed over the tasks (seconds)."""
    from codecnb.evaluation.suite import pool_points
    qualities = sorted(parts)
    first = parts[qualities[0]][0]
    points = [pool_points([(r.points[0], r.source["width"], r.source["height"],
                            r.source["fps"]) for r in parts[q]]) for q in qualities]
    timings: dict[str, float] = {}
    for results in parts.values():
        for r in results:
            for k, v in r.timings.items():
                if k != "baselines":
                    timings[k] = timings.get(k, 0.0) + v
    timings["baselines"] = baseline_s
    timings["total"] = timings.get("total", 0.0) + baseline_s
    frames = {}
    for q in qualities:                    # the first segment's kept frames, if any
        kept = parts[q][0].frames
        if "original" in kept and q in kept:
            frames.setdefault("original", kept["original"])
            frames[q] = kept[q]
    problem, bd_rates, bd_psnrs = score_points(baselines, points)
    return EvaluationResult(
        status="failed" if problem else "ok", failure=problem, points=points,
        bd_rate=bd_rates, bd_psnr=bd_psnrs,
        baselines=baselines,
        isolation=sorted(set.intersection(*(set(r.isolation) for rs in parts.values()
                                             for r in rs))),
        evaluator_version=first.evaluator_version, program_sha256=first.program_sha256,
        source={**source, "frames": points[0].frames}, qualities=qualities,
        timings=timings, limits=first.limits, sandbox=first.sandbox,
        program_bytes=first.program_bytes,
        frames=frames if len(frames) == len(qualities) + 1 else {})


@dataclass
class TaskRecord:
    """One fanned-out task as it ran.

    Attributes
    ----------
    clip : str
        The clip's name.
    segment : int
        Index of the segment within the clip's window.
    start : int
        First frame of the segment (0-based, in the source).
    quality : int
    frames : int
        Frames evaluated (0 when failed early).
    status : {"ok", "failed"}
    worker : str
        Address of the Dask worker that ran it.
    seconds : float
        The task's evaluation, wall clock (``timings["total"]``).
    candidate_s : float
        Inside the candidate's encode and decode calls.
    """

    clip: str
    segment: int
    start: int
    quality: int
    frames: int
    status: str
    worker: str
    seconds: float
    candidate_s: float

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class Fanout:
    """What :func:`evaluate_clips` returns.

    Attributes
    ----------
    pairs : list of (Clip, EvaluationResult)
        In clip order, up to and including the first clip that failed (its entry is the
        failed task's result).
    tasks : list of TaskRecord
        Every task that finished (cancelled ones are not listed), in clip, segment,
        quality order.
    """

    pairs: list[tuple[Clip, EvaluationResult]]
    tasks: list[TaskRecord] = field(default_factory=list)

    @property
    def workers(self) -> dict[str, int]:
        """Worker address -> tasks it ran."""
        return dict(Counter(t.worker for t in self.tasks))

    def to_dict(self) -> dict:
        return {"tasks": [t.to_dict() for t in self.tasks], "workers": self.workers}


def _order(key: tuple[int, int, int], res: EvaluationResult) -> tuple:
    """Where a failed task's failure falls in the whole-window evaluation's order."""
    ci, si, q = key
    return ci, si, _STAGE_ORDER.get(res.failure.stage or "", 3), q


def evaluate_clips(client, program: str, clips: Sequence[Clip], *,
                   qualities: Sequence[int], segment_frames: int,
                   baselines: Sequence[str] = (), baseline_cache=True,
                   progress: Callable[[int], None] | None = None,
                   prepare: Callable[[], None] | None = None, keep_frames: int = 0,
                   **evaluate_kw) -> Fanout:
    """Evaluate ``program`` on ``clips`` as (clip, segment, quality) tasks on a Dask cluster.

    Parameters
    ----------
    client : distributed.Client
        The cluster; each task is one :func:`~codecnb.evaluation.evaluate` call, submitted
        with ``pure=False``. The caller must not hold one of its worker threads while this
        waits (or the tasks may wait for it).
    program : str
        The program's text.
    clips : sequence of Clip
    qualities, segment_frames, baselines, baseline_cache
        As for :func:`~codecnb.evaluation.evaluate`; segments are ``segment_frames`` long.
    progress : callable, optional
        Called with the frames of each finished task.
    prepare : callable, optional
        Called in the worker before each task, e.g. ``EvaluationSpec.apply`` (the cache
        and sandbox settings of a campaign); must be picklable.
    keep_frames : int
        Frames of the first clip's first segment to keep, as ``evaluate(keep_frames=)``
        (the first clip's merged result then has them).
    **evaluate_kw
        ``limits``, ``policy``, ``isolation``, ``vmaf`` for every task.

    Returns
    -------
    Fanout
        Per clip results in clip order, up to and including the first clip with a failed
        task (that clip's entry is the failed task's result: the failure the whole-window
        evaluation would have met first; later clips' tasks are cancelled), and a record
        of every finished task (its worker, its seconds).
    """
    from distributed import as_completed
    qualities = [int(q) for q in qualities]
    base_futs = {c.name: client.submit(clip_baselines, c, tuple(baselines), segment_frames,
                                       baseline_cache, prepare, pure=False, priority=10)
                 for c in clips}
    # The task list needs each window's length: known from the clip, or (to the end of the
    # clip) from the baseline task's look at the source.
    futures = {}
    starts: dict[tuple[int, int], int] = {}
    for ci, clip in enumerate(clips):
        frames = clip.frames
        if frames is None:
            frames = base_futs[clip.name].result()[1].get("frames")
        for si, (start, n) in enumerate(_windows(frames, clip.start, segment_frames)):
            starts[ci, si] = start
            keep = keep_frames if ci == 0 and si == 0 else 0
            for q in qualities:
                fut = client.submit(_segment_task, program, clip, start, n, q, keep,
                                    evaluate_kw, prepare, pure=False, priority=-ci)
                futures[fut] = (ci, si, q)
    done: dict[tuple[int, int, int], tuple[EvaluationResult, str]] = {}
    first: tuple | None = None      # the earliest failure seen so far, in unsplit order

    def needed(key: tuple[int, int, int]) -> bool:
        """Can this task still change the outcome (a failure earlier than ``first``)?"""
        return first is None or (key[0], key[1]) <= first[:2]

    try:
        for fut in as_completed(list(futures), loop=client.loop):
            key = futures[fut]
            if fut.cancelled():
                continue
            res, worker = fut.result()
            done[key] = res, worker
            if progress and res.ok:
                progress(res.source.get("frames", 0))
            if not res.ok and (first is None or _order(key, res) < first):
                first = _order(key, res)
                log.info("fan-out task (%s, segment %d, q%d) failed: %s", clips[key[0]].name,
                         key[1], key[2], res.failure.message)
                for other, k in futures.items():   # tasks that can no longer matter
                    if not needed(k) and not other.done():
                        other.cancel()
            # every result that can still matter has been taken (not merely finished: a
            # finished future not yet yielded here would be missing from the merge)
            if all(k in done or not needed(k) for k in futures.values()):
                break
    except BaseException:   # a task raised (not a candidate's failure): stop the rest
        client.cancel(list(futures) + list(base_futs.values()))
        raise
    tasks = [TaskRecord(clips[ci].name, si, starts[ci, si], q,
                        int(r.source.get("frames", 0)), r.status, w,
                        float(r.timings.get("total", 0.0)),
                        float(r.timings.get("candidate", 0.0)))
             for (ci, si, q), (r, w) in sorted(done.items())]
    result = Fanout([], tasks)
    for addr, n in result.workers.items():
        log.info("fan-out: %d tasks on worker %s", n, addr)
    out = result.pairs
    for ci, clip in enumerate(clips):
        if first is not None and ci == first[0]:
            failed = min(((k, r) for k, (r, _) in done.items() if k[0] == ci and not r.ok),
                         key=lambda kr: _order(*kr))
            out.append((clip, failed[1]))
            for f in base_futs.values():
                f.cancel()
            return result
        keys = sorted(k for k in done if k[0] == ci)
        curves, source, secs = base_futs[clip.name].result()
        parts = {q: [done[k][0] for k in keys if k[2] == q] for q in qualities}
        out.append((clip, merge_clip(clip, parts, curves, source, secs)))
    return result
