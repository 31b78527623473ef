"""Candidates from Anthropic's Claude through the official ``anthropic`` SDK, chosen by a
search that learns like program-evolution systems (docs/search.md).

Each proposal: the program database is rebuilt from the history (islands, niches, elites;
:mod:`codecnb.search.database`); a bandit picks the model (:mod:`codecnb.search.bandit`);
a parent is drawn from the island whose turn it is, by a power law over rank; the prompt
carries inspirations, recent failures with their line, the parent's measured feedback and,
every few candidates, a model-written summary of what has worked. The model answers with a
complete program (new ideas, rewrites) or SEARCH/REPLACE blocks (edits), which are applied
exactly; an edit that does not apply, a program that fails the static check and a program
that is not novel go back to the model. A program that declares tunable parameters is tuned
by an Optuna study on a short evaluation before it becomes the candidate.

The key comes from ``ANTHROPIC_API_KEY`` only (never from a flag, so it stays out of shell
history and process lists) and never appears in logs, artifacts or error messages;
``ANTHROPIC_BASE_URL`` is honoured by the SDK. The static system prompt (contract, policy,
objective, starter codec) is sent with ``cache_control`` so repeated calls read it from the
prompt cache. Rate limits (429), overload (529), 5xx and timeouts are retried by the SDK
with exponential backoff; an authentication error stops the campaign at once.
"""
from __future__ import annotations

import json
import logging
import os
import random
import time
from typing import Callable

from codecnb.errors import (CodecnbError, ConfigError, EditError, GeneratorAuthError,
                            GeneratorUnavailable)
from codecnb.generators.candidate import Candidate
from codecnb.generators.extract import extract_program
from codecnb.generators.history import History
from codecnb.generators.pricing import Budget, Price, load_prices, price_of
from codecnb.generators.providers import PROVIDERS
from codecnb.generators.prompting import (rejection_prompt, repair_prompt, summary_prompt,
                                          system_prompt, task_prompt)
from codecnb.sandbox.failures import Failure
from codecnb.sandbox.policy import ImportPolicy, static_check
from codecnb.search.bandit import choose_model
from codecnb.search.database import ProgramDatabase
from codecnb.search.diff import apply_blocks, parse_blocks
from codecnb.search.novelty import NoveltyFilter
from codecnb.search.settings import SearchSettings
from codecnb.search.tuning import parse_tunables, smoke_objective, tune

log = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-sonnet-5-5"
KEY_ENV = PROVIDERS["anthropic"].key_env


class AnthropicGenerator:
    """Propose programs with Claude, learning from the history, within a budget.

    Parameters
    ----------
    model : str
        Model id (default :data:`DEFAULT_MODEL`), used when ``models`` is not given.
    models : list of str, optional
        Several model ids: each call's model is chosen by a UCB bandit on improvement per
        dollar.
    budget : Budget, optional
        USD and token limits; the generator raises
        :class:`~codecnb.generators.pricing.BudgetExhausted` before a call that could pass them.
    prices : dict of str to Price, optional
        Price table (``prices.json`` by default).
    max_tokens : int
        Output limit of each call.
    repairs : int
        Round-trips that send a static-check error or an edit that does not apply back to
        the model before giving up.
    search : SearchSettings
        Islands, migration, parent selection, inspirations, edit modes, novelty, summaries,
        tuning, bandit (docs/search.md).
    explore : float, optional
        Overrides ``search.explore`` (probability of a new idea).
    tuner : callable, optional
        Program text -> score to minimise, for tuning tunable blocks (default: the mean
        BD-rate against JPEG on the first ``search.tune_frames`` frames of ``tune_clips``).
    tune_clips : list of dict, optional
        The training clips of the default tuner (``uri``, ``start``, ``resize``; default
        the bundled clip).
    """

    name = "anthropic"

    def __init__(self, model: str = DEFAULT_MODEL, *, models: list[str] | None = None,
                 budget: Budget | None = None, prices: dict[str, Price] | None = None,
                 max_tokens: int = 16000, repairs: int = 2, explore: float | None = None,
                 seed: int = 0, search: SearchSettings | None = None,
                 policy: ImportPolicy = ImportPolicy(), qualities: list[int] | None = None,
                 segment_frames: int = 16, memory_gb: float = 4.0,
                 segment_timeout: float = 120.0, timeout_s: float = 600.0,
                 max_retries: int = 5, tuner: Callable[[str], float | None] | None = None,
                 tune_clips: list[dict] | None = None):
        import anthropic
        key = os.environ.get(KEY_ENV)
        if not key:
            raise CodecnbError(f"{KEY_ENV} is not set: the anthropic generator needs it "
                               f"(or use --generator offline)")
        self._key = key
        self.client = anthropic.Anthropic(api_key=key, max_retries=max_retries,
                                          timeout=timeout_s)
        self.models = [m.strip() for m in (models or [model]) if m.strip()]
        if not self.models or len(set(self.models)) != len(self.models):
            raise ConfigError(f"--models {','.join(models or [])!r}: give distinct model ids")
        self.model = self.models[0]
        self.max_tokens, self.repairs, self.seed, self.policy = max_tokens, repairs, seed, policy
        search = search or SearchSettings()
        if explore is not None:
            search = SearchSettings(**{**search.to_dict(), "explore": explore})
        self.search = search
        table = prices or load_prices()
        self.prices = {m: price_of(m, table) for m in self.models}
        self.price = self.prices[self.model]
        self.budget = budget or Budget()
        self.qualities = qualities or [25, 50, 75, 90]
        self.segment_frames, self.segment_timeout = segment_frames, segment_timeout
        self.tuner = tuner or smoke_objective(tune_clips or [{"uri": "sample:bigbuckbunny"}],
                                              search.tune_frames, self.qualities,
                                              segment_frames)
        self.system = system_prompt(policy, self.qualities, segment_frames, memory_gb,
                                    segment_timeout)

    def settings(self) -> dict:
        return {"models": ",".join(self.models), "max_tokens": self.max_tokens,
                "repairs": self.repairs, "seed": self.seed, **self.search.to_dict()}

    def _clean(self, text: str) -> str:
        return text.replace(self._key, "[ANTHROPIC_API_KEY]")

    # -- one call -------------------------------------------------------------------------
    def worst_case(self, model: str, messages: list[dict],
                   max_tokens: int | None = None) -> tuple[float, int]:
        """The most a call could cost: (USD, tokens), with the prompt over-estimated at two
        characters a token (about 3.5 in practice) and charged at the dearer of the input
        and cache-write prices, plus every output token allowed."""
        price, max_tokens = self.prices[model], max_tokens or self.max_tokens
        chars = len(self.system) + sum(len(m["content"]) for m in messages)
        worst_in = chars // 2 + 64
        return (worst_in * max(price.input, price.cache_write) / 1e6
                + max_tokens * price.output / 1e6, worst_in + max_tokens)

    def _call(self, model: str, messages: list[dict], cand: Candidate,
              max_tokens: int | None = None) -> str:
        """One Messages call, checked against the budget first and charged to ``cand``."""
        import anthropic
        max_tokens = max_tokens or self.max_tokens
        self.budget.check(*self.worst_case(model, messages, max_tokens))
        t0 = time.perf_counter()
        try:
            resp = self.client.messages.create(
                model=model, max_tokens=max_tokens, messages=messages,
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
        cand.latency_s += time.perf_counter() - t0
        usage = resp.usage
        u = {k: getattr(usage, k, 0) or 0 for k in ("input_tokens", "output_tokens",
             "cache_creation_input_tokens", "cache_read_input_tokens")}
        cost = self.prices[model].cost(u["input_tokens"], u["output_tokens"],
                          u["cache_creation_input_tokens"], u["cache_read_input_tokens"])
        self.budget.charge(cost, sum(u.values()))
        cand.input_tokens += u["input_tokens"]
        cand.output_tokens += u["output_tokens"]
        cand.cache_creation_tokens += u["cache_creation_input_tokens"]
        cand.cache_read_tokens += u["cache_read_input_tokens"]
        cand.cost_usd += cost
        return "".join(getattr(b, "text", "") for b in resp.content)

    # -- the summary of what worked --------------------------------------------------------
    def _summary(self, history: History, model: str, cand: Candidate) -> str | None:
        """The latest summary; a new one (written by ``model``, charged to ``cand``) when
        ``summary_every`` more candidates have been evaluated since the last one."""
        k = self.search.summary_every
        latest, latest_at = None, 0
        for e in history.entries:
            if isinstance(e.settings, dict) and e.settings.get("summary"):
                latest, latest_at = e.settings["summary"], int(e.settings.get("summary_at", 0))
        evaluated = sum(e.status != "running" for e in history.entries)
        if not k or evaluated < k or evaluated // k <= latest_at // k:
            return latest
        text = self._call(model, [{"role": "user", "content": summary_prompt(
            history, recent=k, previous=latest)}], cand, max_tokens=1024).strip()
        text = text[:1500]   # the settings tag that carries it holds 5000 characters
        cand.settings.update(summary=text, summary_at=evaluated)
        cand.artifacts["summary.md"] = (f"# What has worked (after {evaluated} candidates, "
                                        f"written by {model})\n\n{text}\n")
        return text

    # -- a proposal -----------------------------------------------------------------------
    def _program_of(self, text: str, parent_program: str | None) -> tuple[str | None, str | None,
                                                                           bool]:
        """(program, problem, was_an_edit) from a reply."""
        blocks = parse_blocks(text)
        if blocks:
            if parent_program is None:
                return None, ("SEARCH/REPLACE blocks need a program to edit: reply with a "
                              "complete program"), False
            try:
                return apply_blocks(parent_program, blocks), None, True
            except EditError as exc:
                return None, str(exc), True
        program = extract_program(text)
        if program is None:
            return None, "the reply contains no Python program with encode() and decode()", False
        return program, None, False

    def propose(self, history: History) -> Candidate:
        s = self.search
        rng = random.Random(f"{self.seed}:{len(history)}")
        db = ProgramDatabase.from_history(history, s)
        model, ucb = choose_model(history, self.models, s.bandit_c)
        island = db.next_island()
        parent = db.select_parent(island, rng)
        if parent is None or rng.random() < s.explore:
            mode = "new idea"
        else:
            mode = "diff" if rng.random() < s.diff else "rewrite"
        base = parent if mode != "new idea" else None
        inspirations = db.inspirations(base)
        cand = Candidate("", self.name, [base.sha256] if base else [],
                         {"model": model, "island": island, "mode": mode,
                          "inspirations": [e.sha256[:12] for e in inspirations],
                          **({"ucb": ucb} if ucb else {}),
                          "database": db.summary()},
                         model=model)
        summary = self._summary(history, model, cand)
        messages = [{"role": "user", "content": task_prompt(
            history, base, inspirations=inspirations, mode=mode, summary=summary,
            segment_frames=self.segment_frames, segment_timeout=self.segment_timeout)}]
        novelty = NoveltyFilter(history, s.novelty_threshold)
        repairs = rejections = 0
        problem = "no reply"
        while True:
            text = self._call(model, messages, cand)
            cand.response = text
            program, problem, edited = self._program_of(text, base.program if base else None)
            if program is not None:
                cand.program = program
                failure = static_check(program, self.policy)
                problem = failure.message if failure else None
                if problem is None:
                    try:
                        parse_tunables(program)
                    except EditError as exc:
                        problem = str(exc)
            if problem is None:
                rejection = novelty.check(program)
                if rejection is None:
                    cand.settings["edit"] = "diff" if edited else "full"
                    break
                cand.rejected.append({**rejection.to_dict(), "model": model,
                                      "program_sha256": cand.sha256})
                log.info("proposal rejected before evaluation: %s", rejection.message())
                if rejections >= s.novelty_retries:
                    problem = f"after {rejections} retries, still not novel: " \
                              f"{rejection.message()}"
                    break
                rejections += 1
                messages += [{"role": "assistant", "content": text},
                             {"role": "user", "content": rejection_prompt(rejection.message())}]
                continue
            if repairs >= self.repairs:
                problem = f"after {self.repairs} repair round-trips: {problem}"
                break
            repairs += 1
            log.info("candidate needs repair (%d/%d): %s", repairs, self.repairs, problem)
            messages += [{"role": "assistant", "content": text},
                         {"role": "user", "content": repair_prompt(problem, edit=edited)}]
        cand.settings.update(repairs=repairs, rejected=len(cand.rejected))
        if problem is not None:
            cand.failure = Failure("generation", problem, stage="generate")
        elif s.tune_trials and parse_tunables(cand.program):
            self._tune(cand)
        cand.settings["cost_usd"] = cand.cost_usd
        cand.prompt = self.system + "\n\n" + "\n\n".join(
            f"[{m['role']}]\n{m['content']}" for m in messages)
        return cand

    def _tune(self, cand: Candidate) -> None:
        """Replace the candidate's tunable values by the best an Optuna study finds."""
        declared = cand.program
        try:
            result = tune(declared, self.tuner, self.search.tune_trials,
                          seed=random.Random(cand.sha256).getrandbits(31))
        except CodecnbError as exc:   # e.g. the sandbox cannot be built here: keep it as is
            log.warning("tuning skipped: %s", exc)
            cand.settings["tuning"] = {"error": str(exc)[:300]}
            return
        if result is None:
            return
        cand.program = result.program
        cand.settings["tuning"] = {"trials": len(result.trials), "params": result.params,
                                   "smoke_bd_rate": result.value,
                                   "declared_smoke_bd_rate": result.declared_value}
        cand.artifacts["tuning.json"] = json.dumps(
            {**result.to_dict(), "declared_program_sha256": Candidate(declared, "").sha256},
            indent=1, default=str)
        cand.artifacts["declared.py"] = declared
