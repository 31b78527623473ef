"""The parameter space of the offline codec family: the choices of each parameter, the
starter's choices, and the rendering of a parameter set into a program and back.

The family has two engines, chosen by ``ENGINE``:

- ``"hybrid"``: the starter codec (``codecs/programs/starter.py``: range coding with
  adaptive contexts, intra prediction, quarter-pel motion with variable block sizes, in-loop
  deblocking, RD decisions); its tools (``INTRA_PRED`` ... ``CONTEXTS``) switch on and off
  and its tunables (``LAMBDA_SCALE``, ``CHROMA_STEP``, ``INTRA_STEP``, ``RADIUS``) move;
- ``"classic"``: the block-transform codec of ``templates/family.py`` with the earlier
  choices (block size, quantisation matrix, 4:2:0/4:4:4, YCbCr/YCoCg, intra / previous /
  whole-pixel motion prediction, dead zone, zlib/bz2/lzma).

Generators (``offline.py``) decide *which* parameters to try; this module owns *what* can
be tried.
"""
from __future__ import annotations

import ast
import re
from importlib import resources

#: Parameters of the classic engine (templates/family.py), ordered choices.
CLASSIC: dict[str, list] = {
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
#: Parameters of the hybrid engine (the starter codec's parameter block), ordered choices.
HYBRID: dict[str, list] = {
    "INTRA_PRED": [False, True],
    "MOTION": [False, True],
    "SUBPEL": [False, True],
    "SPLIT": [False, True],
    "DEBLOCK": [False, True],
    "RDO": [False, True],
    "CONTEXTS": [False, True],
    "LAMBDA_SCALE": [0.5, 0.7, 1.0, 1.4, 2.0],
    "CHROMA_STEP": [1.0, 1.25, 1.5, 2.0],
    "INTRA_STEP": [0.6, 0.75, 0.9, 1.0],
    "RADIUS": [3, 5, 7, 9],
}
#: Ordered choices of each parameter (neighbours are adjacent entries).
SPACE: dict[str, list] = {"ENGINE": ["classic", "hybrid"], **CLASSIC, **HYBRID}
#: The starter codec's choices: where the search starts (the classic values are those of
#: the earlier starter, the classic engine's seed).
STARTER: dict = {"ENGINE": "hybrid",
                 "BLOCK": 8, "QTABLE": "jpeg", "SLOPE": 0.5, "QSCALE": 1.0, "CHROMA": "420",
                 "COLOR": "ycbcr", "PREDICT": "previous", "SEARCH": 4, "DEADZONE": 0.4,
                 "ENTROPY": "lzma", "LEVEL": 2,
                 "INTRA_PRED": True, "MOTION": True, "SUBPEL": True, "SPLIT": True,
                 "DEBLOCK": True, "RDO": True, "CONTEXTS": True, "LAMBDA_SCALE": 1.0,
                 "CHROMA_STEP": 1.25, "INTRA_STEP": 0.75, "RADIUS": 7}
_PARAM_BLOCK = re.compile(r"# --- parameters ---[^\n]*\n(.*?)# --- end parameters ---", re.S)
_CLASSIC_MAGIC, _HYBRID_MAGIC = 'MAGIC = b"CF01"', 'MAGIC = b"SC02"'


def _engine_keys(engine: str) -> dict[str, list]:
    return CLASSIC if engine == "classic" else HYBRID


def effective(params: dict) -> dict:
    """``params`` with the parameters that have no effect set to the starter's, so that
    equivalent programs are the same text (and are not evaluated twice)."""
    out = {**STARTER, **params}
    other = HYBRID if out["ENGINE"] == "classic" else CLASSIC
    out.update({k: STARTER[k] for k in other})
    if out["QTABLE"] != "slope":
        out["SLOPE"] = STARTER["SLOPE"]
    if out["PREDICT"] != "motion":
        out["SEARCH"] = STARTER["SEARCH"]
    if not out["MOTION"]:
        out["SUBPEL"], out["SPLIT"], out["RADIUS"] = (STARTER[k] for k in
                                                      ("SUBPEL", "SPLIT", "RADIUS"))
    return out


def active_keys(params: dict) -> list[str]:
    """The parameters that change the program's behaviour given the others."""
    p = {**STARTER, **params}
    keys = ["ENGINE"] + list(_engine_keys(p["ENGINE"]))
    idle = set()
    if p["ENGINE"] == "classic":
        if p["QTABLE"] != "slope":
            idle.add("SLOPE")
        if p["PREDICT"] != "motion":
            idle.add("SEARCH")
    elif not p["MOTION"]:
        idle |= {"SUBPEL", "SPLIT", "RADIUS"}
    return [k for k in keys if k not in idle]


def family_template() -> str:
    """The classic engine's program text (templates/family.py)."""
    return (resources.files("codecnb.generators") / "templates" / "family.py").read_text()


def hybrid_template() -> str:
    """The hybrid engine's program text: the starter codec."""
    return (resources.files("codecnb.codecs") / "programs" / "starter.py").read_text()


def render(params: dict) -> str:
    """The family program with ``params`` written into its parameter block (the hybrid
    engine keeps the comments of the starter's block)."""
    params = effective(params)
    if params["ENGINE"] == "classic":
        lines = "".join(f"{k} = {params[k]!r}\n" for k in CLASSIC)
        return _PARAM_BLOCK.sub(
            lambda _: f"# --- parameters ---\n{lines}# --- end parameters ---",
            family_template())

    def block(m: re.Match) -> str:
        body = m.group(1)
        for k in HYBRID:
            body = re.sub(rf"^{k} = [^#\n]*?(\s*#.*)?$",
                          lambda mm, k=k: f"{k} = {params[k]!r}{mm.group(1) or ''}", body,
                          count=1, flags=re.M)
        return m.group(0).replace(m.group(1), body)

    return _PARAM_BLOCK.sub(block, hybrid_template(), count=1)


def params_of(program: str) -> dict | None:
    """The parameters of a family program (either engine), or None for any other program."""
    m = _PARAM_BLOCK.search(program)
    if not m:
        return None
    if _CLASSIC_MAGIC in program:
        engine = "classic"
    elif _HYBRID_MAGIC in program:
        engine = "hybrid"
    else:
        return None
    keys = _engine_keys(engine)
    out = {"ENGINE": engine}
    for line in m.group(1).splitlines():
        key, _, value = line.partition(" = ")
        if key in keys:
            try:
                out[key] = ast.literal_eval(value.split("#", 1)[0].strip())
            except (ValueError, SyntaxError):
                return None
    if set(out) != set(keys) | {"ENGINE"}:
        return None
    return {**STARTER, **out}
