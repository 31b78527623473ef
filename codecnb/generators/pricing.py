"""Cost of LLM calls from their token usage, and the budget that stops generation."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from codecnb.errors import BudgetExhausted, ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    def cost(self, input_tokens: int, output_tokens: int, cache_write: int = 0,
             cache_read: int = 0) -> float:
        """USD for one call's usage (``input_tokens`` excludes cached tokens, as the API
        reports them)."""
        return (input_tokens * self.input + output_tokens * self.output
                + cache_write * self.cache_write + cache_read * self.cache_read) / 1e6


def load_prices(path: Path | None = None) -> dict[str, Price]:
    """The built-in price table, updated by the JSON file at ``path`` if given."""
    table = json.loads((resources.files("codecnb.generators") / "prices.json").read_text())
    if path:
        try:
            table.update(json.loads(Path(path).read_text()))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"price table {str(path)!r}: {exc}") from None
    try:
        return {k: Price(**v) for k, v in table.items() if not k.startswith("_")}
    except TypeError as exc:
        raise ConfigError(f"price table: each model needs input, output, cache_write, "
                          f"cache_read ({exc})") from None


def price_of(model: str, prices: dict[str, Price]) -> Price:
    """The model's price; an unknown model is charged the most expensive known price."""
    for name, price in prices.items():
        if model == name or model.startswith(name + "-"):  # dated ids: claude-x-4-5-2025...
            return price
    worst = max(prices.values(), key=lambda p: p.output)
    log.warning("no price known for model %s: budgeting with the highest known price", model)
    return worst


@dataclass
class Budget:
    """Hard limits on spending; checked before each call against its worst case."""

    usd: float | None = None
    tokens: int | None = None
    spent_usd: float = 0.0
    spent_tokens: int = 0

    def check(self, worst_usd: float, worst_tokens: int) -> None:
        if self.usd is not None and self.spent_usd + worst_usd > self.usd:
            raise BudgetExhausted(f"the next call could cost up to ${worst_usd:.4f}; spent "
                                  f"${self.spent_usd:.4f} of ${self.usd:.4f}")
        if self.tokens is not None and self.spent_tokens + worst_tokens > self.tokens:
            raise BudgetExhausted(f"the next call could use up to {worst_tokens} tokens; "
                                  f"used {self.spent_tokens} of {self.tokens}")

    def charge(self, usd: float, tokens: int) -> None:
        self.spent_usd += usd
        self.spent_tokens += tokens
