"""Candidate generators: ``propose(history) -> Candidate``.

``anthropic`` (Claude, through the official SDK), ``offline`` (a seeded, history-guided
search over a codec family; no network) and ``replay:PATH`` (known programs).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

from codecnb.errors import BudgetExhausted, ConfigError, GeneratorExhausted
from codecnb.generators.candidate import Candidate
from codecnb.generators.claude import KEY_ENV, AnthropicGenerator
from codecnb.generators.history import History, HistoryEntry
from codecnb.generators.offline import OfflineGenerator
from codecnb.generators.pricing import Budget
from codecnb.generators.replay import ReplayGenerator

log = logging.getLogger(__name__)


class Generator(Protocol):
    name: str

    def propose(self, history: History) -> Candidate: ...

    def settings(self) -> dict: ...


def default_generator_name() -> str:
    """``anthropic`` when ANTHROPIC_API_KEY is set, else ``offline``."""
    return "anthropic" if os.environ.get(KEY_ENV) else "offline"


def make_generator(spec: str | None, *, seed: int = 0, tracking_uri: str | None = None,
                   **anthropic_options) -> Generator:
    """Build a generator from ``offline``, ``anthropic``, ``replay:PATH`` or
    ``replay:mlflow:EXPERIMENT[:N]`` (None: the default); ``tracking_uri`` is the store a
    ``replay:mlflow:`` generator reads (None: the configured one)."""
    spec = spec or default_generator_name()
    if spec == "offline" or spec.startswith("offline:"):
        return OfflineGenerator(seed=seed, algorithm=spec.partition(":")[2] or "optuna")
    if spec == "anthropic":
        return AnthropicGenerator(seed=seed, **anthropic_options)
    if spec.startswith("replay:mlflow:"):
        experiment, _, top = spec[len("replay:mlflow:"):].partition(":")
        return ReplayGenerator.from_experiment(experiment, int(top) if top.isdigit() else 5,
                                               tracking_uri=tracking_uri)
    if spec.startswith("replay:"):
        return ReplayGenerator(Path(spec.split(":", 1)[1]))
    raise ConfigError(f"unknown generator {spec!r} (offline, offline:pattern, anthropic or "
                      f"replay:PATH)")


__all__ = ["AnthropicGenerator", "Budget", "BudgetExhausted", "Candidate", "Generator",
           "GeneratorExhausted", "History", "HistoryEntry", "OfflineGenerator",
           "ReplayGenerator", "default_generator_name", "make_generator"]
