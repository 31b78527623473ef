"""Building prompts from the templates in ``codecnb/generators/prompts/`` and the history."""
from __future__ import annotations

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
    """The static part: contract, policy, objective, the starter codec. Sent with prompt
    caching, so it is paid for once."""
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


def _describe(e: HistoryEntry) -> str:
    bd = ", ".join(f"vs {k} {_fmt(v, True)}" for k, v in e.bd_rate.items())
    pts = "; ".join(f"q{p['quality']}: {p['kbps']:.0f} kbps, PSNR-Y {_fmt(p['psnr_y'])} dB"
                    for p in e.points)
    return f"- program {e.sha256[:12]} ({e.generator}): BD-rate {bd}\n  RD points: {pts}"


def task_prompt(history: History, parent: HistoryEntry | None) -> str:
    """The per-call part: best programs, recent failures, and what to do."""
    best = "\n".join(_describe(e) for e in history.best(3)) or "(none yet: beat the starter)"
    fails = "\n".join(
        f"- program {e.sha256[:12]} failed ({e.failure['kind']}): {e.failure['message']}"
        for e in history.recent_failures(3) if e.failure) or "(none)"
    if parent is not None:
        instruction = template("improve").substitute(score=_fmt(parent.score, True),
                                                      code=parent.program.rstrip())
    else:
        instruction = template("new_idea").substitute()
    return template("task").substitute(best=best, failures=fails, instruction=instruction)


def repair_prompt(problem: str) -> str:
    return template("repair").substitute(problem=problem)
