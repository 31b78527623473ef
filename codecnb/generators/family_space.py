"""The parameter space of the offline codec family: the choices of each parameter, the
starter's choices, and the rendering of a parameter set into the family program
(``templates/family.py``) and back.

Generators (``offline.py``) decide *which* parameters to try; this module owns *what* can
be tried.
"""
from __future__ import annotations

import ast
import re
from importlib import resources

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
