"""Evaluate a candidate program: static checks, sandboxed encode/decode over segments and
qualities, metrics, BD-rates against the baselines on the same frames.

One encoder process serves every quality; each quality has its own fresh decoder process,
so a decoder can only ever see bitstreams of its own quality. Only one of them runs at a
time (the others are stopped). Any failure ends the evaluation with a classified
:class:`~codecnb.sandbox.failures.Failure`; the processes are always killed and reaped.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Sequence, TypeVar

import numpy as np

from codecnb import config
from codecnb.baselines import SWEEPS, baseline_codecs, baseline_identity
from codecnb.codecs.base import program_hash
from codecnb.errors import CandidateFailed
from codecnb.evaluation.baseline_cache import BaselineCache
from codecnb.evaluation.result import EvaluationResult
from codecnb.metrics.bdrate import bd_psnr
from codecnb.metrics.rdcheck import curve_problem, robust_bd_rate
from codecnb.metrics.quality import score_rgb, to_planes
from codecnb.rd import RDCurve, Track, bd_or_none, measure
from codecnb.sandbox import verify
from codecnb.sandbox.cpuwait import MAX_CREDIT, CreditBudget
from codecnb.sandbox.failures import Failure
from codecnb.sandbox.isolation import SandboxPlan, plan as sandbox_plan
from codecnb.sandbox.limits import Limits
from codecnb.sandbox.policy import ImportPolicy, size_check, static_check
from codecnb.sandbox.process import SandboxProcess, copy_bytes
from codecnb.sources import DEFAULT_SEGMENT_FRAMES, DEFAULT_SOURCE, Source, open_source
from codecnb.sources.identity import source_identity

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Bump when anything that changes measured numbers changes; results of different versions
#: are never compared (baseline caches are keyed by it too).
EVALUATOR_VERSION = "2"
#: Layers checked on every candidate process from outside (verify.check_process).
_PER_PROCESS = frozenset({"unprivileged-host-uid", "no-capabilities", "no-new-privs", "seccomp",
                          "user-namespace", "pid-namespace", "net-namespace", "ipc-namespace",
                          "uts-namespace", "mount-namespace", "cgroup-namespace"})
DEFAULT_QUALITIES = (25, 50, 75, 90)
DEFAULT_BASELINES = ("jpeg", "x264")


def _baselines(source: Source, names: Sequence[str], segment_frames: int,
               cache: BaselineCache | None) -> tuple[dict[str, RDCurve], bool]:
    def compute() -> dict[str, RDCurve]:
        fresh = open_source(source.info.uri, start=source.window.start,
                            frames=source.window.frames, resize=source.window.resize)
        codecs = baseline_codecs(source.info.fps, list(names))
        return measure(codecs, {n: SWEEPS[n] for n in names}, fresh,
                       segment_frames=segment_frames)
    if not names:
        return {}, False
    if cache is None:
        return compute(), False
    key = {"source": source_identity(source), "segment_frames": segment_frames,
           "baselines": baseline_identity(list(names), source.info.fps),
                   "evaluator": EVALUATOR_VERSION}
    return cache.get_or_compute(key, compute)


def _in_background(fn: Callable[[], T]) -> "Future[T]":
    """``fn()`` in a daemon thread; its result (or exception) in the returned future."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed over to whoever waits
            future.set_exception(exc)
    threading.Thread(target=run, daemon=True, name=f"codecnb-{fn.__name__}").start()
    return future


def score_points(baselines: dict[str, RDCurve], points, check: bool = True
                 ) -> tuple[Failure | None, dict, dict]:
    """A candidate's RD points scored against the baselines: the curve rules first
    (:func:`codecnb.metrics.rdcheck.curve_problem`; a broken curve is an ``rd-curve``
    failure and has no BD values), then BD-rate with the overlap rule and the interpolation
    its points cannot bend (:func:`~codecnb.metrics.rdcheck.robust_bd_rate`) and plain PCHIP
    BD-PSNR, per baseline (fraction; dB; None where undefined). Used by the unsplit and the
    fanned-out evaluation alike; ``check=False`` skips the rules (a result already failed).
    """
    problem = (curve_problem([(p.quality, p.kbps, p.psnr_y) for p in points])
               if points and check else None)
    if problem:
        return Failure("rd-curve", f"RD curve rejected: {problem}", "score"), {}, {}
    if not points:
        return None, {}, {}
    curve = RDCurve("candidate", "quality", points)
    return (None, {n: bd_or_none(robust_bd_rate, b, curve) for n, b in baselines.items()},
            {n: bd_or_none(bd_psnr, b, curve) for n, b in baselines.items()})


class _Scorer:
    """The metric pass, overlapped with the candidate's own work.

    Jobs run one at a time, in order, in one background thread (the pass itself uses the
    ``threads`` setting inside): a segment's reference planes while the encoder works, and
    each (segment, quality) while the next call runs. Before a decoder is called again,
    its previous output must be scored (:meth:`wait`), so at most one segment per quality
    is in flight and memory stays bounded. ``timings["metrics"]`` is the time the pass
    took; ``timings["metrics_wait"]`` the part the evaluation waited for it.
    """

    def __init__(self, timings: dict, progress: Callable[[int], None] | None):
        self.timings, self.progress = timings, progress
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="codecnb-metrics")
        self.pending: dict[int, Future] = {}

    def _timed(self, fn: Callable[[], T]) -> Callable[[], T]:
        def job() -> T:
            t0 = time.perf_counter()
            try:
                return fn()
            finally:
                self.timings["metrics"] += time.perf_counter() - t0
        return job

    def reference(self, segment: np.ndarray) -> "Future":
        return self.pool.submit(self._timed(lambda: to_planes(segment)))

    def score(self, q: int, track: Track, ref: "Future", segment: np.ndarray,
              decoded: np.ndarray) -> None:
        def job() -> int:
            refs = ref.result()
            scores, dis_planes = score_rgb(refs, segment, decoded)
            track.add(scores, refs, dis_planes)
            return len(segment)
        self.pending[q] = self.pool.submit(self._timed(job))

    def wait(self, q: int | None = None) -> None:
        """Until quality ``q``'s last job (or every job) is done; its errors raise here."""
        for key in ([q] if q is not None else list(self.pending)):
            future = self.pending.pop(key, None)
            if future is None:
                continue
            t0 = time.perf_counter()
            frames = future.result()
            self.timings["metrics_wait"] += time.perf_counter() - t0
            if self.progress:
                self.progress(frames)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Run:
    """The processes and running totals of one evaluation."""

    def __init__(self, program: str, qualities: Sequence[int], source: Source,
                 segment_frames: int, plan: SandboxPlan, limits: Limits,
                 policy: ImportPolicy, vmaf: bool):
        i = source.info
        self.raw = segment_frames * i.height * i.width * 3
        self.max_bits = limits.max_bitstream(self.raw)
        self.plan, self.limits = plan, limits
        self.layers: set[str] | None = None
        common = dict(plan=plan, limits=limits, policy=policy)
        # every credit of every process draws on this: the evaluation (and its start-up,
        # below) lasts at most 1 + MAX_CREDIT times its limit, however many calls overrun
        self.budget = CreditBudget(MAX_CREDIT * limits.evaluation_timeout_s)
        self.procs: list[SandboxProcess] = []
        self.encoder = self._spawn("encode", program, self.raw, self.max_bits, common)
        self.decoders = {q: self._spawn("decode", program, self.max_bits, self.raw, common)
                         for q in qualities}
        self.tracks = {q: Track(source, vmaf) for q in qualities}
        self.ready = False

    def _spawn(self, role, program, in_size, out_size, common) -> SandboxProcess:
        p = SandboxProcess(role, program, in_size=in_size, out_size=out_size, **common)
        p.wait_credit.budget = self.budget
        self.procs.append(p)
        return p

    def wait_ready(self, deadline: float) -> None:
        """Once: wait until every process has loaded the program, verify from outside that
        its layers hold, then stop them all. Called after the first segment is read, so
        that start-up overlaps it."""
        if not self.ready:
            rlimits = self.limits.rlimits(own_uid=self.plan.jail)
            loading = CreditBudget(MAX_CREDIT * self.limits.startup_timeout_s, self.budget)
            for p in self.procs:  # each loads the program alone, then is frozen
                p.wait_credit.budget = loading
                p.wait_ready(deadline + self.credit())
                p.wait_credit.budget = self.budget
                held = set(verify.check_process(p.proc.pid, p.cgroup, self.plan,
                                                self.limits, rlimits))
                self.layers = held if self.layers is None else self.layers & held
                p.freeze()
            self.ready = True

    def credit(self) -> float:
        """Seconds the processes waited for a CPU that were added to their deadlines
        (:mod:`codecnb.sandbox.cpuwait`); the whole evaluation's deadline grows by them."""
        return self.budget.spent

    def close(self) -> None:
        for p in self.procs:
            p.close()
        for track in self.tracks.values():
            track.close()


def evaluate(program: str | Path, source: str | Source = DEFAULT_SOURCE, *,
             qualities: Sequence[int] = DEFAULT_QUALITIES, frames: int | None = None,
             start: int | None = None, resize: tuple[int, int] | None = None,
             segment_frames: int = DEFAULT_SEGMENT_FRAMES, limits: Limits = Limits(),
             policy: ImportPolicy = ImportPolicy(), baselines: Sequence[str] = DEFAULT_BASELINES,
             baseline_cache: BaselineCache | None | bool = True,
             isolation: SandboxPlan | None = None,
             progress: Callable[[int], None] | None = None,
             keep_frames: int = 1, vmaf: bool = False) -> EvaluationResult:
    """Evaluate a candidate codec program on a source, in the sandbox.

    Parameters
    ----------
    program : str or Path
        The program's text, or a path to it.
    source : str or Source
        Source URI (see :func:`codecnb.sources.open_source`) or an opened source.
    qualities : sequence of int
        Quality values 0..100 passed to ``encode``; one RD point each.
    frames, start, resize
        The source window.
    segment_frames : int
        Frames per ``encode`` call.
    limits : Limits
        Memory, CPU, file size, timeouts, largest bitstream.
    policy : ImportPolicy
        What the program may import.
    baselines : sequence of str
        Baselines to compute BD-rates against (measured once per source and cached).
    baseline_cache : BaselineCache, True or None
        True: the default cache under the cache folder; None/False: no caching.
    isolation : SandboxPlan, optional
        Override the sandbox plan (for tests of the deeper layers); default: the full
        sandbox, or the weaker one the ``weak_sandbox`` setting accepts.
    progress : callable, optional
        Called with the number of frames of each (segment, quality) done.
    keep_frames : int
        Keep the first ``keep_frames`` source frames and their decoded versions in
        :attr:`EvaluationResult.frames`, for looking at (uint8 RGB, in memory).
    vmaf : bool
        Also measure VMAF per point (libvmaf, model vmaf_v0.6.1; slow; see
        :mod:`codecnb.metrics.vmaf`). Counted in the ``metrics`` time.

    Returns
    -------
    EvaluationResult
        ``status`` "ok" with points and BD-rates, or "failed" with a classified failure.
        User errors in the inputs (bad source, unreadable program file) raise
        :class:`~codecnb.errors.CodecnbError` instead; a sandbox that cannot be built
        raises :class:`~codecnb.errors.SandboxError`.
    """
    t_start = time.perf_counter()
    # The sandbox plan and its isolation probe (once per process, about a second) run
    # while the source is opened and the baselines are looked up.
    plan = isolation or sandbox_plan(allow_weak=bool(config.resolve("weak_sandbox")))
    probing = _in_background(lambda: verify.probe_layers(plan))
    text = Path(program).read_text() if isinstance(program, Path) else program
    src = source if isinstance(source, Source) else open_source(
        source, start=start, frames=frames, resize=resize)
    qualities = [int(q) for q in qualities]
    cache = (BaselineCache(Path(config.resolve("cache_dir")) / "baselines")
             if baseline_cache is True else baseline_cache or None)
    timings = {"candidate": 0.0, "candidate_cpu": 0.0, "metrics": 0.0, "metrics_wait": 0.0,
               "source": 0.0}

    def result(status: str, failure: Failure | None, points, bases, frames_done: int,
               layers: set[str] | None = None):
        problem, bd_rates, bd_psnrs = score_points(bases, points, check=status == "ok")
        if problem:
            status, failure = "failed", problem
        verified = set(probing.result())
        if layers is not None:  # what every candidate process showed from outside, too
            verified = (verified - _PER_PROCESS) | (verified & layers) | (layers & {"rlimits"})
        timings["total"] = time.perf_counter() - t_start
        timings["overhead"] = timings["total"] - sum(
            timings[k] for k in ("candidate", "metrics_wait", "source", "baselines"))
        return EvaluationResult(
            status=status, failure=failure, points=points,
            bd_rate=bd_rates, bd_psnr=bd_psnrs,
            baselines=bases, isolation=sorted(verified - {"python-audit-hook"}),
            sandbox={"weak": plan.weak, "missing": list(plan.missing),
                     "python_guards": "python-audit-hook" in verified},
            evaluator_version=EVALUATOR_VERSION,
            program_sha256=program_hash(text), program_bytes=len(text.encode()),
            source={**src.info.to_dict(), "frames": frames_done,
                    "identity": source_identity(src)},
            qualities=qualities, timings=timings, limits=limits.to_dict())

    t0 = time.perf_counter()
    bases, cached = _baselines(src, baselines, segment_frames, cache)
    timings["baselines"] = time.perf_counter() - t0
    log.info("baselines %s (%s)", ", ".join(bases), "cached" if cached else "computed")
    failure = size_check(text, limits.program_bytes) or static_check(text, policy)
    if failure:
        failure = Failure(failure.kind, failure.message, "static", failure.line, failure.code)
        return result("failed", failure, [], bases, 0)
    run = _Run(text, qualities, src, segment_frames, plan, limits, policy, vmaf)
    scorer = _Scorer(timings, progress)
    frames_done = 0
    kept: dict = {}
    try:
        deadline = time.monotonic() + limits.evaluation_timeout_s
        startup = min(deadline, time.monotonic() + limits.startup_timeout_s)
        t_src = time.perf_counter()
        for segment in src.segments(segment_frames):
            timings["source"] += time.perf_counter() - t_src
            ref = scorer.reference(segment)  # computed while the encoder works
            keep = max(0, min(keep_frames - frames_done, len(segment)))
            if keep:
                kept.setdefault("original", []).append(segment[:keep].copy())
            run.wait_ready(startup)  # the processes started while the segment was read
            copy_bytes(memoryview(segment).cast("B"), run.encoder.inp, segment.nbytes)
            lengths = {}
            run.encoder.thaw()
            for q in qualities:
                seg_deadline = min(deadline + run.credit(),
                                   time.monotonic() + limits.segment_timeout_s)
                n, spent = run.encoder.encode(segment.shape, q, seg_deadline)
                run.tracks[q].encode_s += spent.wall_s
                timings["candidate"] += spent.wall_s
                timings["candidate_cpu"] += spent.cpu_s or 0.0
                copy_bytes(run.encoder.out, run.decoders[q].inp, n)
                lengths[q] = n
            run.encoder.freeze()
            for q in qualities:
                dec = run.decoders[q]
                scorer.wait(q)  # the decoder's output still holds the last segment's frames
                dec.thaw()
                seg_deadline = min(deadline + run.credit(),
                                   time.monotonic() + limits.segment_timeout_s)
                decoded, spent = dec.decode(lengths[q], segment.shape, seg_deadline)
                dec.freeze()
                if keep:
                    kept.setdefault(q, []).append(decoded[:keep].copy())
                track = run.tracks[q]
                track.decode_s += spent.wall_s
                track.bytes += lengths[q]
                timings["candidate"] += spent.wall_s
                timings["candidate_cpu"] += spent.cpu_s or 0.0
                scorer.score(q, track, ref, segment, decoded)  # while the next call runs
                del decoded
            frames_done += len(segment)
            t_src = time.perf_counter()
        scorer.wait()
        outcome = ("ok", None, [run.tracks[q].point(q, src) for q in qualities])
    except CandidateFailed as exc:
        log.info("candidate failed: %s", exc.failure.message)
        outcome = ("failed", exc.failure, [])
    finally:
        scorer.close()  # no metric job may still read a mapping the processes release
        run.close()  # teardown counts in the timings: the result is built after it
    res = result(*outcome, bases, frames_done, run.layers)
    if res.ok:
        res.frames = {k: np.concatenate(v) for k, v in kept.items()}
    return res

