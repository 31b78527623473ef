"""Candidates from Anthropic's Claude through the official ``anthropic`` SDK.

The key comes from ``ANTHROPIC_API_KEY`` only (never from a flag, so it stays out of shell
history and process lists) and never appears in logs, artifacts or error messages;
``ANTHROPIC_BASE_URL`` is honoured by the SDK. The static system prompt (contract, policy,
objective, starter codec) is sent with ``cache_control`` so repeated calls read it from the
prompt cache. Rate limits (429), overload (529), 5xx and timeouts are retried by the SDK
with exponential backoff; an authentication error stops the campaign at once.
"""
from __future__ import annotations

import logging
import os
import random
import time

from codecnb.errors import CodecnbError
from codecnb.generators.candidate import Candidate
from codecnb.generators.extract import extract_program
from codecnb.generators.history import History
from codecnb.generators.pricing import Budget, Price, load_prices, price_of
from codecnb.generators.prompting import repair_prompt, system_prompt, task_prompt
from codecnb.sandbox.failures import Failure
from codecnb.sandbox.policy import ImportPolicy, static_check

log = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-sonnet-5-5"
KEY_ENV = "ANTHROPIC_API_KEY"


class GeneratorAuthError(CodecnbError):
    """The API refused the key: the campaign must stop."""


class GeneratorUnavailable(CodecnbError):
    """The API could not be reached or kept failing after its retries."""


class AnthropicGenerator:
    """Propose programs with Claude, learning from the history, within a budget.

    Parameters
    ----------
    model : str
        Model id (default :data:`DEFAULT_MODEL`).
    budget : Budget, optional
        USD and token limits; the generator raises
        :class:`~codecnb.generators.pricing.BudgetExhausted` before a call that could pass them.
    prices : dict of str to Price, optional
        Price table (``prices.json`` by default).
    max_tokens : int
        Output limit of each call.
    repairs : int
        Round-trips that quote a static-check error back to the model before giving up.
    explore : float
        Probability of asking for a new idea instead of improving the best program.
    """

    name = "anthropic"

    def __init__(self, model: str = DEFAULT_MODEL, *, budget: Budget | None = None,
                 prices: dict[str, Price] | None = None, max_tokens: int = 16000,
                 repairs: int = 2, explore: float = 0.3, seed: int = 0,
                 policy: ImportPolicy = ImportPolicy(), qualities: list[int] | None = None,
                 segment_frames: int = 16, memory_gb: float = 4.0,
                 segment_timeout: float = 120.0, timeout_s: float = 600.0, max_retries: int = 5):
        import anthropic
        key = os.environ.get(KEY_ENV)
        if not key:
            raise CodecnbError(f"{KEY_ENV} is not set: the anthropic generator needs it "
                               f"(or use --generator offline)")
        self._key = key
        self.client = anthropic.Anthropic(api_key=key, max_retries=max_retries,
                                          timeout=timeout_s)
        self.model, self.max_tokens, self.repairs = model, max_tokens, repairs
        self.explore, self.seed, self.policy = explore, seed, policy
        self.price = price_of(model, prices or load_prices())
        self.budget = budget or Budget()
        self.system = system_prompt(policy, qualities or [25, 50, 75, 90], segment_frames,
                                    memory_gb, segment_timeout)

    def settings(self) -> dict:
        return {"model": self.model, "max_tokens": self.max_tokens, "repairs": self.repairs,
                "explore": self.explore, "seed": self.seed}

    def _clean(self, text: str) -> str:
        return text.replace(self._key, "[ANTHROPIC_API_KEY]")

    def _call(self, messages: list[dict]) -> tuple[str, object, float]:
        import anthropic
        chars = len(self.system) + sum(len(m["content"]) for m in messages)
        worst_in = chars // 2 + 64   # a generous over-estimate (~3.5 characters per token)
        self.budget.check(worst_in * max(self.price.input, self.price.cache_write) / 1e6
                          + self.max_tokens * self.price.output / 1e6,
                          worst_in + self.max_tokens)
        t0 = time.perf_counter()
        try:
            resp = self.client.messages.create(
                model=self.model, max_tokens=self.max_tokens, messages=messages,
                system=[{"type": "text", "text": self.system,
                         "cache_control": {"type": "ephemeral"}}])
        except anthropic.AuthenticationError as exc:
            raise GeneratorAuthError(f"the Anthropic API refused the key in {KEY_ENV} "
                                     f"(401): {self._clean(str(exc))[:200]}") from None
        except anthropic.PermissionDeniedError as exc:
            raise GeneratorAuthError(f"the Anthropic API denied access (403): "
                                     f"{self._clean(str(exc))[:200]}") from None
        except (anthropic.APIConnectionError, anthropic.APIStatusError) as exc:
            raise GeneratorUnavailable(f"the Anthropic API failed after retries: "
                                       f"{self._clean(str(exc))[:300]}") from None
        latency = time.perf_counter() - t0
        text = "".join(getattr(b, "text", "") for b in resp.content)
        return text, resp.usage, latency

    def propose(self, history: History) -> Candidate:
        rng = random.Random(f"{self.seed}:{len(history)}")
        best = history.best(1)
        parent = best[0] if best and rng.random() >= self.explore else None
        messages = [{"role": "user", "content": task_prompt(history, parent)}]
        cand = Candidate("", self.name, [parent.sha256] if parent else [],
                         {**self.settings(), "mode": "improve" if parent else "new idea"},
                         model=self.model)
        problem = "no reply"
        for attempt in range(1 + self.repairs):
            text, usage, latency = self._call(messages)
            u = {k: getattr(usage, k, 0) or 0 for k in ("input_tokens", "output_tokens",
                 "cache_creation_input_tokens", "cache_read_input_tokens")}
            cost = self.price.cost(u["input_tokens"], u["output_tokens"],
                                   u["cache_creation_input_tokens"], u["cache_read_input_tokens"])
            self.budget.charge(cost, sum(u.values()))
            cand.input_tokens += u["input_tokens"]
            cand.output_tokens += u["output_tokens"]
            cand.cache_creation_tokens += u["cache_creation_input_tokens"]
            cand.cache_read_tokens += u["cache_read_input_tokens"]
            cand.cost_usd += cost
            cand.latency_s += latency
            cand.response = text
            program = extract_program(text)
            if program is None:
                problem = "the reply contains no Python program with encode() and decode()"
            else:
                cand.program = program
                failure = static_check(program, self.policy)
                if failure is None:
                    break
                problem = failure.message
            log.info("candidate needs repair (%d/%d): %s", attempt + 1, self.repairs, problem)
            messages += [{"role": "assistant", "content": text},
                         {"role": "user", "content": repair_prompt(problem)}]
        else:
            cand.failure = Failure("generation", f"after {self.repairs} repair round-trips: "
                                   f"{problem}", stage="generate")
        cand.prompt = self.system + "\n\n" + "\n\n".join(
            f"[{m['role']}]\n{m['content']}" for m in messages)
        return cand
