"""Which model to call: a UCB bandit on improvement per dollar, and what each model bought.

Each candidate records the model that wrote it and what it cost (its settings ``model`` and
``cost_usd``). A candidate's improvement is how far it lowered the BD-rate against JPEG
below its parent's (below the best known before it when it has no parent), in percentage
points, 0 if it did not or failed, or if its per-clip BD-rates cannot tell it from that
reference (a paired tie, :func:`codecnb.metrics.uncertainty.paired_tie`: on a suite,
what is within the clips' noise is no improvement). A model's value is its total improvement divided by its
total cost, scaled so the best model's is 1; the bandit calls the model with the highest

    value_i + c * sqrt(ln N / n_i)

where n_i counts model i's candidates (those in flight included) and N all of them; a model
not yet tried goes first. Everything is recomputed from the history, so it survives a
resume.

References
----------
Auer, Cesa-Bianchi & Fischer, "Finite-time analysis of the multiarmed bandit problem",
Machine Learning 47, 2002 (UCB1). Lange et al., "ShinkaEvolve", arXiv:2509.19349, 2025
(a UCB bandit over LLMs).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from codecnb.metrics.uncertainty import paired_tie

if TYPE_CHECKING:
    from codecnb.generators.history import History



@dataclass
class ModelStats:
    """What one model's candidates did: counts, USD spent, improvement bought (percentage
    points of BD-rate against JPEG) and the best BD-rate it reached."""

    model: str
    candidates: int = 0
    in_flight: int = 0
    ok: int = 0
    failed: int = 0
    improved: int = 0
    improvement_pp: float = 0.0
    cost_usd: float = 0.0
    best_bd_rate: float | None = None

    @property
    def per_dollar(self) -> float:
        """Percentage points of BD-rate improvement per USD (0 when nothing was spent)."""
        return self.improvement_pp / self.cost_usd if self.cost_usd > 0 else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "per_dollar": self.per_dollar}


def model_stats(history: History, models: list[str] | None = None) -> dict[str, ModelStats]:
    """Per-model statistics of a history (models listed first, in order, even if unused)."""
    stats = {m: ModelStats(m) for m in models or []}
    scored = {e.sha256: e for e in history.entries if e.score is not None}
    best = None
    for e in history.entries:
        model = e.settings.get("model") if isinstance(e.settings, dict) else None
        if model:
            s = stats.setdefault(model, ModelStats(model))
            s.candidates += 1
            s.cost_usd += float(e.settings.get("cost_usd", 0.0) or 0.0)
            if e.status == "running":
                s.in_flight += 1
            elif e.score is None:
                s.failed += 1
            else:
                s.ok += 1
                parent = next((scored[p] for p in e.parents if p in scored), None)
                ref = parent if parent is not None else best
                gain = 100 * (ref.score - e.score) if ref is not None else 0.0
                if gain > 0 and not paired_tie(e.per_clip, ref.per_clip):
                    s.improved += 1
                    s.improvement_pp += gain
                if s.best_bd_rate is None or e.score < s.best_bd_rate:
                    s.best_bd_rate = e.score
        if e.score is not None and (best is None or e.score < best.score):
            best = e
    return stats


def choose_model(history: History, models: list[str], c: float = 1.0) -> tuple[str, dict]:
    """The model for the next call, and each model's UCB index (for the candidate's log)."""
    if len(models) == 1:
        return models[0], {}
    stats = model_stats(history, models)
    top = max((stats[m].per_dollar for m in models), default=0.0)
    total = sum(stats[m].candidates for m in models)
    index = {}
    for m in models:
        n = stats[m].candidates
        if n == 0:
            index[m] = math.inf
            continue
        value = stats[m].per_dollar / top if top > 0 else 0.0
        index[m] = value + c * math.sqrt(math.log(max(total, 1)) / n)
    chosen = max(models, key=lambda m: index[m])   # first of equals: the order given
    return chosen, {m: (round(v, 4) if math.isfinite(v) else "untried") for m, v in index.items()}


def format_model_table(stats: dict[str, ModelStats]) -> str:
    """A plain-text table of what each model bought."""
    rows = ["model                     cands  ok  fail  improved  gain pp   cost $   pp/$"
            "    best BD vs JPEG"]
    for s in stats.values():
        best = "-" if s.best_bd_rate is None else f"{100 * s.best_bd_rate:+.2f} %"
        rows.append(f"{s.model[:25]:25s} {s.candidates:5d} {s.ok:3d} {s.failed:5d} "
                    f"{s.improved:9d} {s.improvement_pp:8.2f} {s.cost_usd:8.4f} "
                    f"{s.per_dollar:6.1f}    {best}")
    return "\n".join(rows)
