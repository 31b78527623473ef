"""A candidate program and where it came from."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from codecnb.codecs.base import program_hash
from codecnb.sandbox.failures import Failure


@dataclass
class Candidate:
    """What a generator proposes.

    Attributes
    ----------
    program : str
        The program's text ("" when generation failed).
    generator : str
        ``offline``, ``anthropic`` or ``replay``.
    parents : list of str
        SHA-256 of the program(s) it was derived from.
    settings : dict
        The generator's settings and choices for this candidate (seed, parameters, mode).
    model, prompt, response : str or None
        For LLM generators: the model id, the full prompt and the raw reply.
    input_tokens, output_tokens, cache_creation_tokens, cache_read_tokens : int
        Token usage summed over every call made for this candidate (repairs included).
    cost_usd : float
        Cost of those calls from the price table.
    latency_s : float
        Wall-clock seconds spent waiting for the model.
    failure : Failure or None
        Set when no usable program came out (kind ``generation``).
    rejected : list of dict
        Proposals rejected before evaluation on the way to this one (novelty: reason,
        known program, similarity); their cost is included above.
    artifacts : dict of str to str
        Extra text files to log with the candidate's run (name -> content), e.g. the
        search's summary of what worked, or a tuning study.
    """

    program: str
    generator: str
    parents: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    model: str | None = None
    prompt: str | None = None
    response: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    failure: Failure | None = None
    rejected: list = field(default_factory=list)
    artifacts: dict = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return program_hash(self.program)

    @property
    def tokens(self) -> int:
        return (self.input_tokens + self.output_tokens + self.cache_creation_tokens
                + self.cache_read_tokens)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sha256"] = self.sha256
        return d
