"""Building prompts from the templates in ``codecnb/generators/prompts/`` and the history.

The per-call prompt carries what the search knows: the inspirations (the best programs and
diverse ones, with their BD-rates, per-clip BD-rates, RD points and speed), the recent
failures with the line that failed, the latest summary of what has worked, and the
instruction: a new idea, a complete rewrite of a parent, or an edit of it as SEARCH/REPLACE
blocks. A parent comes with its feedback: RD points per quality, BD-rate per training clip,
and encode and decode time against the time limit.
"""
from __future__ import annotations

import difflib
import math
from importlib import resources
from string import Template

from codecnb.codecs.base import builtin_program
from codecnb.generators.history import History, HistoryEntry
from codecnb.sandbox.policy import ImportPolicy


def template(name: str) -> Template:
    return Template((resources.files("codecnb.generators") / "prompts" / f"{name}.md").read_text())


def system_prompt(policy: ImportPolicy, qualities: list[int], segment_frames: int,
                  memory_gb: float, segment_timeout: float) -> str:
    """The static part: contract, policy, objective, answer formats, the starter codec. Sent
    with prompt caching, so it is paid for once."""
    return template("system").substitute(
        segment_frames=segment_frames, allowed_imports=", ".join(policy.to_dict()["allowed"]),
        memory_gb=f"{memory_gb:g}", segment_timeout=f"{segment_timeout:g}",
        qualities=", ".join(map(str, qualities)), starter=builtin_program("starter").rstrip())


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    if math.isinf(x):
        return "inf"
    return f"{100 * x:+.2f} %" if pct else f"{x:.2f}"


def _points(e: HistoryEntry) -> str:
    return "; ".join(f"q{p['quality']}: {p['kbps']:.0f} kbps, PSNR-Y {_fmt(p['psnr_y'])} dB"
                     + (f", SSIM-Y {p['ssim_y']:.4f}" if p.get("ssim_y") is not None else "")
                     for p in e.points if p.get("kbps") is not None)


def _speed(e: HistoryEntry) -> str | None:
    t = e.timing
    if t.get("encode_fps") is None:
        return None
    return f"encode {t['encode_fps']:.1f} fps, decode {t.get('decode_fps', 0):.1f} fps"


def _describe(e: HistoryEntry) -> str:
    bd = ", ".join(f"vs {k} {_fmt(v, True)}" for k, v in e.bd_rate.items())
    lines = [f"- program {e.sha256[:12]} ({e.generator}): BD-rate {bd}"]
    if e.per_clip:
        lines.append("  per clip: " + ", ".join(f"{k} {_fmt(v, True)}"
                                                for k, v in e.per_clip.items()))
    if e.points:
        lines.append(f"  RD points: {_points(e)}")
    if _speed(e):
        lines.append(f"  speed: {_speed(e)}")
    return "\n".join(lines)


def feedback(e: HistoryEntry, segment_frames: int = 16, segment_timeout: float = 120.0) -> str:
    """What the evaluator measured of a parent: BD-rates, per clip, RD points per quality,
    encode and decode time against the per-call limit."""
    lines = ["What the evaluator measured of it:",
             "- BD-rate: " + ", ".join(f"vs {k} {_fmt(v, True)}" for k, v in e.bd_rate.items())]
    if e.per_clip:
        lines.append("- BD-rate vs jpeg per training clip: " + ", ".join(
            f"{k} {_fmt(v, True)}" for k, v in e.per_clip.items()))
    for p in e.points:
        if p.get("kbps") is not None:
            lines.append(f"- quality {p['quality']}: {p['kbps']:.1f} kbps, PSNR-Y "
                         f"{_fmt(p['psnr_y'])} dB"
                         + (f", SSIM-Y {p['ssim_y']:.4f}" if p.get("ssim_y") is not None else ""))
    t = e.timing
    if t.get("encode_fps"):
        per_call = segment_frames / t["encode_fps"]
        lines.append(f"- speed: encode {t['encode_fps']:.1f} fps, decode "
                     f"{t.get('decode_fps', 0):.1f} fps; a {segment_frames}-frame segment "
                     f"takes about {per_call:.1f} s to encode, against a limit of "
                     f"{segment_timeout:g} s per call ({100 * per_call / segment_timeout:.0f} %"
                     f" of it)")
    return "\n".join(lines)


def _failure(e: HistoryEntry) -> str:
    f = e.failure or {}
    where = ""
    if f.get("line"):
        where = f" at line {f['line']}" + (f": `{f['code'].strip()}`" if f.get("code") else "")
    return f"- program {e.sha256[:12]} failed ({f.get('kind')}{where}): {f.get('message')}"


def task_prompt(history: History, parent: HistoryEntry | None, *,
                inspirations: list[HistoryEntry] | None = None, mode: str = "rewrite",
                summary: str | None = None, segment_frames: int = 16,
                segment_timeout: float = 120.0) -> str:
    """The per-call part: the summary, inspirations, recent failures, and what to do.

    Parameters
    ----------
    history : History
    parent : HistoryEntry or None
        The program to improve (None: a new idea).
    inspirations : list of HistoryEntry, optional
        Programs to show (default: the three best).
    mode : {"diff", "rewrite", "new idea"}
    summary : str, optional
        The latest model-written summary of what has worked.
    """
    shown = inspirations if inspirations is not None else history.best(3)
    best = "\n".join(_describe(e) for e in shown) or (
        "(none yet: beat the starter)" if parent is None else "(none but the one below)")
    fails = "\n".join(_failure(e) for e in history.recent_failures(3) if e.failure) or "(none)"
    if parent is not None and mode != "new idea":
        instruction = template("improve_diff" if mode == "diff" else "improve").substitute(
            feedback=feedback(parent, segment_frames, segment_timeout),
            code=parent.program.rstrip())
    else:
        instruction = template("new_idea").substitute()
    head = f"## What has worked so far\n\n{summary.strip()}\n\n" if summary else ""
    return template("task").substitute(summary=head, inspirations=best, failures=fails,
                                       instruction=instruction)


def repair_prompt(problem: str, edit: bool = False) -> str:
    """The message that sends a broken program (or an edit that does not apply) back."""
    return template("repair_diff" if edit else "repair").substitute(problem=problem)


def rejection_prompt(problem: str) -> str:
    """The message that sends a proposal rejected as not novel back to the model."""
    return template("rejected").substitute(problem=problem)


def _change(e: HistoryEntry, by_sha: dict[str, HistoryEntry], max_lines: int = 30) -> str:
    parent = next((by_sha[p] for p in e.parents if p in by_sha), None)
    if parent is None:
        return "  (a new program, no parent)"
    diff = [ln for ln in difflib.unified_diff(parent.program.splitlines(),
                                              e.program.splitlines(), lineterm="", n=0)
            if not ln.startswith(("---", "+++", "@@"))]
    body = "\n".join("    " + ln for ln in diff[:max_lines])
    more = f"\n    ... ({len(diff) - max_lines} more changed lines)" if len(diff) > max_lines else ""
    return f"  parent {parent.sha256[:12]} ({_fmt(parent.score, True)}); changed:\n{body}{more}"


def summary_prompt(history: History, recent: int = 8, previous: str | None = None) -> str:
    """The request for a short summary of what has worked, from the last ``recent``
    evaluated candidates and the best ones."""
    by_sha = {e.sha256: e for e in history.entries}
    done = [e for e in history.entries if e.status != "running"][-recent:]
    cands = "\n".join(
        (f"- {e.sha256[:12]}: BD-rate vs jpeg {_fmt(e.score, True)}" if e.score is not None
         else _failure(e)) + "\n" + _change(e, by_sha) for e in done) or "(none)"
    best = "\n".join(_describe(e) for e in history.best(3)) or "(none)"
    prev = f"## Your previous summary\n\n{previous.strip()}\n\n" if previous else ""
    return template("summary").substitute(previous=prev, candidates=cands, best=best)
