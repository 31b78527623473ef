"""How a candidate failed: a kind, and a message a person or an LLM can act on."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Every failure kind, and what it means.
KINDS: dict[str, str] = {
    "syntax": "the program does not parse",
    "contract": "encode(frames, quality) / decode(data) missing or mis-declared",
    "import": "an import refused by the import policy",
    "exception": "encode or decode raised an exception",
    "timeout": "wall-clock or CPU time limit exceeded",
    "memory": "the memory limit was exceeded",
    "crash": "the process died (signal) or exited instead of returning",
    "output": "encode did not return bytes, or decode returned the wrong shape, dtype, "
              "frame count or non-finite values",
    "too_large": "the bitstream is larger than the limit (the raw size by default)",
    "isolation": "the program attempted an operation the sandbox refuses",
    "generation": "the generator produced no program that passes the static checks",
    "protocol": "the candidate's process sent a malformed or impossible control message "
                "(garbled, oversized, a byte count outside the buffer, an unknown kind)",
    "program-size": "the program's source is larger than the program-size cap",
    "rd-curve": "the RD points break the curve rules (rate must rise with quality, no point "
                "dominated by another, points far enough apart): see docs/metrics.md",
}
#: The kinds a candidate's own process may report about itself; any other kind it sends is
#: a ``protocol`` failure.
CHILD_KINDS = frozenset({"exception", "memory", "output", "too_large", "isolation", "crash"})


@dataclass(frozen=True)
class Failure:
    """A classified failure.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    message : str
        One or two lines saying what happened, where, and (if known) the offending code.
    stage : str or None
        ``"static"``, ``"encode"`` or ``"decode"``.
    line : int or None
        Line of the candidate program involved, when known.
    code : str or None
        That line's text.
    detail : dict
        Extra facts (exception type, signal, quality, segment...).
    """

    kind: str
    message: str
    stage: str | None = None
    line: int | None = None
    code: str | None = None
    detail: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown failure kind {self.kind!r}")

    def to_dict(self) -> dict:
        return asdict(self)


