"""A history-guided search over a family of block-transform codecs; no network, no key.

Every candidate is the program ``templates/family.py`` with its parameter block set, so it
is a complete standalone program that goes through the same evaluator as LLM code. With
probability ``explore`` a candidate is a random member of the family; otherwise a parent is
picked by tournament among the best (by BD-rate against JPEG) and one or two of its
parameters move to a neighbouring value. The same seed and history give the same proposal.
"""
from __future__ import annotations

import random

from codecnb.codecs.base import program_hash
from codecnb.generators.candidate import Candidate
from codecnb.generators.family_space import (SPACE, STARTER, active_keys, effective,
                                             family_template, params_of, render)
from codecnb.generators.history import History, HistoryEntry

__all__ = ["OfflineGenerator", "SPACE", "STARTER", "active_keys", "effective",
           "family_template", "params_of", "render"]


class OfflineGenerator:
    """Pattern search over the codec family, guided by the history's BD-rates."""

    name = "offline"

    def __init__(self, seed: int = 0, explore: float = 0.15):
        self.seed, self.explore = seed, explore

    def settings(self) -> dict:
        return {"seed": self.seed, "explore": self.explore}

    @staticmethod
    def _step(params: dict, key: str, direction: int) -> dict | None:
        values = SPACE[key]
        i = values.index(params[key]) if params[key] in values else len(values) // 2
        if not 0 <= i + direction < len(values):
            return None
        return effective({**params, key: values[i + direction]})

    def _moves(self, entry: HistoryEntry | None, params: dict, history: History,
               rng: random.Random) -> list[tuple[str, dict]]:
        """Neighbours of ``params`` (one parameter one step), the most promising first: the
        step that made ``entry`` better than its own parent is repeated first."""
        moves = [(f"{k}{d:+d}", child) for k in active_keys(params) for d in (-1, 1)
                 if (child := self._step(params, k, d)) is not None]
        rng.shuffle(moves)
        by_sha = {e.sha256: e for e in history.entries}
        parent = by_sha.get(entry.parents[0]) if entry and entry.parents else None
        before = params_of(parent.program) if parent else (STARTER if entry else None)
        if before:
            momentum = [f"{k}{(+1 if SPACE[k].index(params[k]) > SPACE[k].index(before[k]) else -1):+d}"
                        for k in active_keys(params)
                        if params[k] != before.get(k) and before.get(k) in SPACE[k]]
            moves.sort(key=lambda m: m[0] not in momentum)
        return moves

    def propose(self, history: History) -> Candidate:
        rng = random.Random(f"{self.seed}:{len(history)}")
        seen = history.shas() | {program_hash(render(STARTER))}  # the seed itself is known
        ranked = [(e, p) for e in history.best(len(history) or 1)
                  if (p := params_of(e.program)) is not None] or [(None, dict(STARTER))]
        if rng.random() >= self.explore:
            for entry, params in ranked:
                for move, child in self._moves(entry, params, history, rng):
                    program = render(child)
                    if program_hash(program) not in seen:
                        return Candidate(program, self.name, [entry.sha256] if entry else [],
                                         {**self.settings(), "mode": f"step {move}",
                                          "params": effective(child)})
        for _ in range(100):  # exploration, or every neighbour has been tried
            params = effective({k: rng.choice(v) for k, v in SPACE.items()})
            program = render(params)
            if program_hash(program) not in seen:
                break
        return Candidate(program, self.name, [], {**self.settings(), "mode": "explore",
                                                  "params": params})
