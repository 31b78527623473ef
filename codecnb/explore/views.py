"""What the explorer shows, without widgets: a candidate's program, its evaluation and its
decoded frames, from an MLflow run or from a program typed in.

Decoded frames are not stored in MLflow (only frame 0 as an image); a run's frames are
reproduced by evaluating its logged program again, in the sandbox, on the run's own
source window.
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from codecnb.analysis.records import CandidateRecord, load_result
from codecnb.evaluation import EVALUATOR_VERSION, EvaluationResult, evaluate
from codecnb.generators.candidate import Candidate
from codecnb.sources import open_source
from codecnb.sources.identity import source_sha256
from codecnb.tracking import retry_locked
from codecnb.tracking import runs as R

log = logging.getLogger(__name__)

DEFAULT_QUALITIES = (25, 50, 75, 90)


@dataclass
class Window:
    """Which frames a program is evaluated on.

    Attributes
    ----------
    source : str
        Source URI.
    frames : int
        Frames from ``start``.
    qualities : sequence of int
    segment_frames : int
        Frames per ``encode`` call.
    start : int
        First frame of the window (0-based).
    resize : (int, int) or None
        Width and height (px) frames are scaled to; None for the native size.
    """

    source: str = "sample:bigbuckbunny"
    frames: int = 8
    qualities: Sequence[int] = DEFAULT_QUALITIES
    segment_frames: int = 16
    start: int = 0
    resize: tuple[int, int] | None = None

    @classmethod
    def of_run(cls, run) -> "Window":
        """The window a one-clip candidate run was measured on, from its params (a run of
        the whole clip, ``frames = all``, is looked at on its first ``frames`` frames)."""
        p = run.data.params
        frames, resize = p.get("frames", ""), p.get("resize", "native")
        return cls(source=p.get("source", cls.source),
                   frames=int(frames) if frames.isdigit() else cls.frames,
                   qualities=[int(q) for q in p.get("qualities", "25,50,75,90").split(",")],
                   segment_frames=int(p.get("segment_frames", cls.segment_frames)),
                   start=int(p.get("start", 0) or 0),
                   resize=None if resize in ("", "native") else
                   tuple(int(v) for v in resize.split("x")))

    @classmethod
    def of_spec(cls, spec) -> "Window":
        """The first training clip of an :class:`~codecnb.spec.EvaluationSpec` (the clip a
        suite campaign's candidates show their frames of)."""
        clip = spec.clip
        return cls(source=clip.uri, frames=clip.frames or cls.frames,
                   qualities=list(spec.qualities), segment_frames=spec.segment_frames,
                   start=clip.start, resize=clip.resize)


@dataclass
class View:
    """One candidate as the explorer shows it.

    Attributes
    ----------
    label : str
    program : str
    window : Window
    result : EvaluationResult or None
        None only when a run has no result (it failed before evaluation).
    run_id : str or None
        The MLflow run it came from or was logged as.
    frames : dict
        ``"original"`` and each quality -> uint8 (T, H, W, 3); empty when failed.
    """

    label: str
    program: str
    window: Window
    result: EvaluationResult | None
    run_id: str | None = None
    frames: dict = field(default_factory=dict, repr=False)

    @property
    def qualities(self) -> list[int]:
        return [p.quality for p in self.result.points] if self.result else []


Progress = Callable[[int, int], None]  # called with (frames done, frames in all)


def evaluate_program(program: str, window: Window, label: str = "try-it",
                     progress: Progress | None = None) -> View:
    """Evaluate ``program`` in the sandbox on ``window``, keeping every decoded frame.

    ``progress`` is called with (frame-quality pairs done, pairs in all) as it goes.
    """
    total, done = window.frames * len(window.qualities), 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        progress(done, max(total, done))
    if progress:
        progress(0, total)
    result = evaluate(program, window.source, frames=window.frames, start=window.start,
                      resize=window.resize, qualities=list(window.qualities),
                      segment_frames=window.segment_frames,
                      progress=step if progress else None, keep_frames=window.frames)
    return View(label, program, window, result, frames=result.frames)


def window_of_run(c, record: CandidateRecord, run) -> Window:
    """The window to look at a candidate run on: its own clip window, or for a suite
    campaign's candidate the first training clip of the campaign's stored spec."""
    if record.suite and record.campaign:
        spec = R.spec_of(c, retry_locked(c.get_run, record.campaign))
        if spec is not None:
            return Window.of_spec(spec)
    return Window.of_run(run)


def view_of_run(c, record: CandidateRecord, progress: Progress | None = None) -> View:
    """A candidate run: its program re-evaluated for its frames when it had passed (on its
    window; a suite campaign's candidate on its first training clip), else its logged
    result (failure and all)."""
    run = retry_locked(c.get_run, record.run_id)
    program = R.program_of(c, run) or ""
    window = window_of_run(c, record, run)
    label = f"iteration {record.iteration} ({record.run_id[:8]})"
    if record.ok and program:
        view = evaluate_program(program, window, label, progress)
        view.run_id = record.run_id
        return view
    return View(label, program, window, load_result(c, record.run_id), record.run_id)


def log_view(c, experiment_id: str, view: View) -> str:
    """Log an evaluated program as a candidate run of its own (generator ``explorer``):
    params, metrics, per-frame steps, result.json, RD and frame images; ended FINISHED
    or FAILED from its result. Returns the run id."""
    from codecnb.plots.candidate import candidate_figures
    cand = Candidate(view.program, "explorer")
    w = view.window
    src = open_source(w.source, start=w.start, frames=w.frames, resize=w.resize)
    rid = R.create_candidate_run(
        c, experiment_id, None, 0, cand,
        {"qualities": ",".join(map(str, w.qualities)), "source": w.source, "start": w.start,
         "frames": w.frames, "resize": f"{w.resize[0]}x{w.resize[1]}" if w.resize else "native",
         "segment_frames": w.segment_frames, "evaluator_version": EVALUATOR_VERSION,
         "source_sha256": source_sha256(src)}, [], run_name=f"explorer-{cand.sha256[:8]}")
    status = "FAILED"
    try:
        R.log_result(c, rid, view.result)
        with tempfile.TemporaryDirectory() as tmp:
            for path in candidate_figures(view.result, Path(tmp)).values():
                retry_locked(c.log_artifact, rid, str(path))
        status = "FINISHED" if view.result.ok else "FAILED"
    finally:
        R.end_run(c, rid, status)
    view.run_id = rid
    return rid
