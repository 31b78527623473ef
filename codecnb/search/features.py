"""What a codec designer tells programs apart by: BD-rate, encode speed, size and the coding
tools a program uses. The database's niches are cells over these features."""
from __future__ import annotations

import ast
import math
import re

#: Coding tools recognised in a program's text (name -> regular expression).
TOOLS: dict[str, str] = {
    "dct": r"\bdct|_dct|dctn|cos\(",
    "wavelet": r"wavelet|haar|lifting",
    "motion": r"motion|\bmv\b|block_match|search_range|SEARCH\b",
    "temporal": r"prev|reference|ref_frame|PREDICT",
    "intra_pred": r"intra|predict_dc|planar",
    "chroma_sub": r"420|subsampl|CHROMA",
    "deadzone": r"dead_?zone|DEADZONE",
    "lzma": r"\blzma\b",
    "zlib": r"\bzlib\b",
    "bz2": r"\bbz2\b",
    "arith": r"arithmetic|range_coder|rans|\bcabac\b",
    "adaptive_q": r"adaptive|variance|activity|aq_",
}


def tools_of(program: str) -> tuple[str, ...]:
    """The coding tools a program appears to use, sorted (a textual heuristic)."""
    return tuple(sorted(t for t, rx in TOOLS.items() if re.search(rx, program, re.I)))


def size_of(program: str) -> int:
    """Program size in AST nodes (independent of comments and formatting); the line count
    if the program does not parse."""
    try:
        return sum(1 for _ in ast.walk(ast.parse(program)))
    except SyntaxError:
        return program.count("\n") + 1


def speed_bin(encode_fps: float | None) -> int:
    """Encode speed class: -1 unknown, 0 below 2 fps, 1 below 8, 2 below 32, 3 faster."""
    if encode_fps is None or not math.isfinite(encode_fps):
        return -1
    return sum(encode_fps >= t for t in (2.0, 8.0, 32.0))


def size_bin(nodes: int) -> int:
    """Program size class by AST nodes: 0 below 800, 1 below 1600, 2 below 3200, 3 larger."""
    return sum(nodes >= t for t in (800, 1600, 3200))


def niche_of(program: str, encode_fps: float | None) -> tuple:
    """The MAP-Elites cell of a program: (speed class, size class, tools used). BD-rate is
    the fitness that decides the elite of a cell."""
    return (speed_bin(encode_fps), size_bin(size_of(program)), tools_of(program))


def feature_vector(program: str, score: float | None, encode_fps: float | None) -> list[float]:
    """Features scaled to comparable ranges, for distances between programs: BD-rate in
    tens of percent, log2 of encode fps, log2 of size, and one 0/1 entry per tool."""
    tools = set(tools_of(program))
    return ([10.0 * (score if score is not None else 0.0),
             math.log2(encode_fps) if encode_fps else 0.0,
             math.log2(max(size_of(program), 1))]
            + [1.0 if t in tools else 0.0 for t in TOOLS])


def distance(a: list[float], b: list[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
