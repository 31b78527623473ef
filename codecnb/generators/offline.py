"""A history-guided search over a family of block-transform codecs; no network, no key.

Every candidate is the program ``templates/family.py`` with its parameter block set, so it
is a complete standalone program that goes through the same evaluator as LLM code. With
probability ``explore`` a candidate is a random member of the family; otherwise a parent is
picked by tournament among the best (by BD-rate against JPEG) and one or two of its
parameters move to a neighbouring value. The same seed and history give the same proposal.
"""
from __future__ import annotations

import ast
import random
import re
from importlib import resources

from codecnb.codecs.base import program_hash
from codecnb.generators.candidate import Candidate
from codecnb.generators.history import History, HistoryEntry

#: Ordered choices of each parameter (neighbours are adjacent entries).
SPACE: dict[str, list] = {
    "BLOCK": [4, 8, 16],
    "QTABLE": ["jpeg", "slope", "flat"],
    "SLOPE": [0.25, 0.5, 1.0, 1.5],
    "QSCALE": [0.7, 0.85, 1.0, 1.2, 1.5],
    "CHROMA": ["420", "444"],
    "COLOR": ["ycbcr", "ycocg"],
    "PREDICT": ["intra", "previous", "motion"],
    "SEARCH": [2, 4, 6],
    "DEADZONE": [0.2, 0.3, 0.4, 0.5],
    "ENTROPY": ["zlib", "bz2", "lzma"],
    "LEVEL": [1, 2, 4, 6, 9],
}
#: The starter codec's choices: where the search starts.
STARTER: dict = {"BLOCK": 8, "QTABLE": "jpeg", "SLOPE": 0.5, "QSCALE": 1.0, "CHROMA": "420",
                 "COLOR": "ycbcr", "PREDICT": "previous", "SEARCH": 4, "DEADZONE": 0.4,
                 "ENTROPY": "lzma", "LEVEL": 2}
_PARAM_BLOCK = re.compile(r"# --- parameters ---\n(.*?)# --- end parameters ---", re.S)


def effective(params: dict) -> dict:
    """``params`` with the parameters that have no effect set to the starter's, so that
    equivalent programs are the same text (and are not evaluated twice)."""
    out = dict(params)
    if out["QTABLE"] != "slope":
        out["SLOPE"] = STARTER["SLOPE"]
    if out["PREDICT"] != "motion":
        out["SEARCH"] = STARTER["SEARCH"]
    return out


def active_keys(params: dict) -> list[str]:
    """The parameters that change the program's behaviour given the others."""
    return [k for k in SPACE if not ((k == "SLOPE" and params["QTABLE"] != "slope")
                                     or (k == "SEARCH" and params["PREDICT"] != "motion"))]


def family_template() -> str:
    return (resources.files("codecnb.generators") / "templates" / "family.py").read_text()


def render(params: dict) -> str:
    """The family program with ``params`` written into its parameter block."""
    params = effective(params)
    lines = "".join(f"{k} = {params[k]!r}\n" for k in SPACE)
    return _PARAM_BLOCK.sub(lambda _: f"# --- parameters ---\n{lines}# --- end parameters ---",
                            family_template())


def params_of(program: str) -> dict | None:
    """The parameters of a family program, or None for any other program."""
    m = _PARAM_BLOCK.search(program)
    if not m or "MAGIC = b\"CF01\"" not in program:
        return None
    out = {}
    for line in m.group(1).splitlines():
        key, _, value = line.partition(" = ")
        if key in SPACE:
            try:
                out[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return None
    return out if set(out) == set(SPACE) else None


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
