"""Novelty before evaluation: a proposal that is a program already known, or nearly so, is
rejected without spending an evaluation on it.

Three checks, cheapest first:

1. **Same behaviour.** Two programs of the offline codec family with the same effective
   parameters, or two programs whose normalised code is identical, behave identically.
2. **Normalised-code hash.** Comments, docstrings, formatting and local variable names do
   not change what a program does: code is parsed, docstrings dropped, names of function
   arguments and locals renamed in order of appearance, and unparsed; its SHA-256 is
   compared with every known program's.
3. **Similarity.** ``difflib``'s ratio over the normalised code's tokens; at or above the
   threshold the proposal is a near-duplicate of the most similar known program.

References
----------
Lange et al., "ShinkaEvolve", arXiv:2509.19349, 2025 (novelty rejection sampling).
"""
from __future__ import annotations

import ast
import builtins
import difflib
import functools
import hashlib
import io
import re
import tokenize
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codecnb.generators.history import History


_BUILTINS = set(dir(builtins))


class _Canonical(ast.NodeTransformer):
    """Drops docstrings and renames each function's arguments and local variables to
    v0, v1, ... in order of first appearance (globals, attributes and builtins keep their
    names)."""

    def visit_FunctionDef(self, node):
        names: dict[str, str] = {}
        for a in (node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                  + [x for x in (node.args.vararg, node.args.kwarg) if x]):
            names.setdefault(a.arg, f"v{len(names)}")
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.setdefault(sub.id, f"v{len(names)}")
        for sub in ast.walk(node):
            if isinstance(sub, ast.arg) and sub.arg in names:
                sub.arg = names[sub.arg]
            elif isinstance(sub, ast.Name) and sub.id in names and sub.id not in _BUILTINS:
                sub.id = names[sub.id]
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def generic_visit(self, node):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
        return super().generic_visit(node)


def normalise(program: str) -> str:
    """The program without comments, docstrings, formatting or local names (the text itself
    when it does not parse)."""
    try:
        tree = _Canonical().visit(ast.parse(program))
        return ast.unparse(ast.fix_missing_locations(tree))
    except (SyntaxError, ValueError, RecursionError):
        return program


def code_hash(program: str) -> str:
    """SHA-256 of the normalised program."""
    return hashlib.sha256(normalise(program).encode()).hexdigest()


def _tokens(normalised: str) -> list[str]:
    try:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(normalised).readline)
                if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                  tokenize.DEDENT, tokenize.ENDMARKER)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return normalised.split()


def similarity(a: str, b: str, at_least: float = 0.0) -> float:
    """difflib ratio (0..1) between the normalised token sequences of two programs; when an
    upper bound already shows it is below ``at_least``, that bound is returned instead."""
    m = difflib.SequenceMatcher(None, _tokens(normalise(a)), _tokens(normalise(b)),
                                autojunk=False)
    bound = m.quick_ratio()
    return bound if bound < at_least else m.ratio()


@dataclass(frozen=True)
class Rejection:
    """Why a proposal is not evaluated: ``reason`` is ``duplicate``, ``same-behaviour`` or
    ``near-duplicate``; ``known`` is the SHA-256 of the known program it matches."""

    reason: str
    known: str
    similarity: float
    known_score: float | None

    def to_dict(self) -> dict:
        return {"reason": self.reason, "known": self.known, "similarity": self.similarity,
                "known_score": self.known_score}

    def message(self) -> str:
        score = ("" if self.known_score is None else
                 f", BD-rate vs JPEG {100 * self.known_score:+.2f} %")
        what = {"duplicate": "is the same program as",
                "same-behaviour": "behaves exactly like",
                "near-duplicate": f"is {100 * self.similarity:.1f} % similar to"}[self.reason]
        return f"this program {what} program {self.known[:12]}{score}, already known"


_PARAMS = re.compile(r"# --- parameters ---[^\n]*\n.*?# --- end parameters ---", re.S)


@functools.lru_cache(maxsize=8)
def _family_body(engine: str | None) -> str:
    """Normalised hash of the family program of an engine outside its parameter block."""
    from codecnb.generators.family_space import STARTER, render
    params = dict(STARTER) if engine is None else {**STARTER, "ENGINE": engine}
    return code_hash(_PARAMS.sub("", render(params)))


def behaviour_key(program: str) -> str | None:
    """A key equal for programs known to behave the same: the effective parameters of a
    program of the offline codec family (the family's code, any parameter values); None for
    other programs (their normalised hash covers them)."""
    from codecnb.generators.family_space import effective, params_of
    params = params_of(program)
    if params is None:
        return None
    try:
        if code_hash(_PARAMS.sub("", program)) != _family_body(params.get("ENGINE")):
            return None          # the family's parameter block, but other code around it
        params = effective(params)
    except (KeyError, ValueError):
        return None
    return "family:" + repr(sorted(params.items()))


class NoveltyFilter:
    """Known programs of a history (evaluated, failed or in flight) and the checks above.

    Parameters
    ----------
    history : History
    threshold : float
        Similarity at or above which a proposal is a near-duplicate (1: exact only).
    compare_last : int
        Near-duplicate similarity is computed against at most this many known programs
        (the best and the most recent), to bound its cost.
    """

    def __init__(self, history: History, threshold: float = 0.999, compare_last: int = 40):
        self.threshold = threshold
        self.known: dict[str, tuple[str, float | None]] = {}      # normalised hash -> (sha, score)
        self.behaviours: dict[str, tuple[str, float | None]] = {}
        self.programs: list[tuple[str, str, float | None]] = []  # (sha, program, score)
        for e in history.entries:
            if not e.program:
                continue
            self.add(e.sha256, e.program, e.score)
        scored = sorted((p for p in self.programs if p[2] is not None), key=lambda p: p[2])
        keep = {p[0] for p in scored[:compare_last // 2]} | {
            p[0] for p in self.programs[-(compare_last - compare_last // 2):]}
        self.programs = [p for p in self.programs if p[0] in keep]

    def add(self, sha: str, program: str, score: float | None) -> None:
        h = code_hash(program)
        if h not in self.known or (score is not None and self.known[h][1] is None):
            self.known[h] = (sha, score)
        b = behaviour_key(program)
        if b and (b not in self.behaviours or (score is not None
                                               and self.behaviours[b][1] is None)):
            self.behaviours[b] = (sha, score)
        self.programs.append((sha, program, score))

    def check(self, program: str) -> Rejection | None:
        """None if ``program`` is new, else why it is rejected."""
        h = code_hash(program)
        if h in self.known:
            sha, score = self.known[h]
            return Rejection("duplicate", sha, 1.0, score)
        b = behaviour_key(program)
        if b and b in self.behaviours:
            sha, score = self.behaviours[b]
            return Rejection("same-behaviour", sha, 1.0, score)
        if self.threshold < 1.0:
            best = max(((similarity(program, p, self.threshold), sha, score) for sha, p, score in self.programs),
                       default=None)
            if best and best[0] >= self.threshold:
                return Rejection("near-duplicate", best[1], round(best[0], 4), best[2])
        return None
