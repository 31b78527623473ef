"""The search's settings: every mechanism can be tuned or switched off, each has a default
that works on a short campaign (see docs/search.md)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from codecnb.errors import ConfigError


@dataclass(frozen=True)
class SearchSettings:
    """How the LLM search picks parents, asks for edits and spends its models.

    Attributes
    ----------
    islands : int
        Sub-populations that evolve apart; proposals visit them in turn.
    migration_interval : int
        Every this many evaluated candidates, each island's elites are copied to the next
        island (a ring). 0 disables migration.
    migrants : int
        Elites copied per island at each migration.
    parent_power : float
        Power-law exponent of parent selection: the program of rank r (0 = best) in the
        island is picked with probability proportional to ``(r + 1) ** -parent_power``
        (0: uniform; large: always the best).
    inspirations_best, inspirations_diverse : int
        Programs shown beside the parent: the global best ones, and elites of niches other
        than the parent's (the most distant in feature space first).
    explore : float
        Probability of asking for a new idea (a full program) instead of editing a parent.
    diff : float
        When editing a parent, probability of asking for SEARCH/REPLACE blocks rather than
        a full rewrite.
    novelty_threshold : float
        Similarity (0..1, difflib ratio over normalised code tokens) at or above which a
        proposal is rejected as a near-duplicate of a known program (0.999: a change of
        one token in a program of a thousand; such small numeric changes are the tuner's
        job). 1 rejects exact duplicates (after normalisation) only.
    novelty_retries : int
        Times a rejected proposal goes back to the model before the call gives up.
    summary_every : int
        Every this many evaluated candidates the model writes a short summary of what has
        worked, which later prompts carry. 0 disables it.
    tune_trials : int
        Evaluations an Optuna study may spend tuning a program's tunable block; 0 disables
        tuning.
    tune_frames : int
        Frames of the smoke evaluation that tuning uses.
    bandit_c : float
        Exploration weight of the UCB bandit over models.
    """

    islands: int = 3
    migration_interval: int = 6
    migrants: int = 1
    parent_power: float = 1.0
    inspirations_best: int = 2
    inspirations_diverse: int = 1
    explore: float = 0.2
    diff: float = 0.7
    novelty_threshold: float = 0.999
    novelty_retries: int = 1
    summary_every: int = 8
    tune_trials: int = 6
    tune_frames: int = 4
    bandit_c: float = 1.0

    def __post_init__(self):
        if self.islands < 1:
            raise ConfigError(f"search setting islands={self.islands}: must be at least 1")
        for name in ("explore", "diff", "novelty_threshold"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"search setting {name}={v}: must be between 0 and 1")
        for name in ("migration_interval", "migrants", "inspirations_best",
                     "inspirations_diverse", "novelty_retries", "summary_every",
                     "tune_trials", "tune_frames"):
            if getattr(self, name) < 0:
                raise ConfigError(f"search setting {name}={getattr(self, name)}: must not be "
                                  f"negative")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def parse(cls, text: str | None) -> "SearchSettings":
        """Settings from ``"islands=4,diff=0.5"`` (unnamed settings keep their default)."""
        if not text:
            return cls()
        types = {f.name: f.type for f in fields(cls)}
        values = {}
        for item in text.split(","):
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or key not in types:
                raise ConfigError(f"search setting {item.strip()!r}: expected NAME=VALUE with "
                                  f"NAME one of {', '.join(types)}")
            try:
                values[key] = int(value) if types[key] == "int" else float(value)
            except ValueError:
                raise ConfigError(f"search setting {key}={value!r}: not a number") from None
        return cls(**values)
