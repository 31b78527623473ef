"""A history-guided search over a family of block-transform codecs; no network, no key.

Every candidate is the program ``templates/family.py`` with its parameter block set
(:mod:`codecnb.generators.family_space`), so it is a complete standalone program that goes
through the same evaluator as LLM code. Two algorithms, the same seed and history giving
the same proposal:

``optuna`` (default)
    Optuna's TPE sampler over the family's parameters, with a low prior weight (0.2) so
    that proposals stay near the best programs found. The study is rebuilt from the
    history at every proposal (each evaluated family program is a finished trial, a failed
    one a failed trial), so resume and replay see the same study. The first trial is the
    starter's parameters; a proposal whose effective parameters are already known (the
    same program) is not evaluated again: the study is told the known result and asked
    again, and the rejection is recorded with the candidate.
``pattern``
    The earlier pattern search: with probability ``explore`` a random member of the family;
    otherwise a parent is taken from the best (by BD-rate against JPEG) and one parameter
    moves to a neighbouring value, the step that improved it first.

References
----------
Bergstra et al., "Algorithms for hyper-parameter optimization", NeurIPS 2011 (TPE).
Akiba et al., "Optuna", KDD 2019.
"""
from __future__ import annotations

import logging
import random
import warnings

from codecnb.codecs.base import program_hash
from codecnb.errors import ConfigError
from codecnb.generators.candidate import Candidate
from codecnb.generators.family_space import (SPACE, STARTER, active_keys, effective,
                                             family_template, params_of, render)
from codecnb.generators.history import History, HistoryEntry

log = logging.getLogger(__name__)

__all__ = ["ALGORITHMS", "OfflineGenerator", "SPACE", "STARTER", "active_keys", "effective",
           "family_template", "params_of", "render"]

ALGORITHMS = ("optuna", "pattern")


class OfflineGenerator:
    """Search over the codec family, guided by the history's BD-rates.

    Parameters
    ----------
    seed : int
    explore : float
        Pattern search only: probability of a random family member.
    algorithm : {"optuna", "pattern"}
    startup : int
        Optuna only: trials (the starter's parameters first, then random ones) before TPE
        models the results.
    prior_weight : float
        Optuna only: weight of the uniform prior in TPE's estimate of good parameters
        (Optuna's default is 1.0; lower keeps proposals closer to the best programs).
    """

    name = "offline"

    def __init__(self, seed: int = 0, explore: float = 0.15, algorithm: str = "optuna",
                 startup: int = 1, prior_weight: float = 0.2):
        if algorithm not in ALGORITHMS:
            raise ConfigError(f"offline algorithm {algorithm!r}: expected one of "
                              f"{', '.join(ALGORITHMS)}")
        self.seed, self.explore, self.algorithm, self.startup = seed, explore, algorithm, startup
        self.prior_weight = prior_weight

    def settings(self) -> dict:
        out = {"seed": self.seed, "algorithm": self.algorithm}
        out.update({"explore": self.explore} if self.algorithm == "pattern"
                   else {"startup": self.startup, "prior_weight": self.prior_weight})
        return out

    def propose(self, history: History) -> Candidate:
        if self.algorithm == "optuna":
            return self._propose_optuna(history)
        return self._propose_pattern(history)

    # -- Optuna ---------------------------------------------------------------------------
    def _propose_optuna(self, history: History) -> Candidate:
        import optuna
        from optuna.distributions import CategoricalDistribution
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        dists = {k: CategoricalDistribution(v) for k, v in SPACE.items()}
        seed = random.Random(f"{self.seed}:{len(history)}").getrandbits(31)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # multivariate TPE is marked experimental
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.startup,
                                                 prior_weight=self.prior_weight,
                                                 multivariate=True, group=True,
                                                 constant_liar=True)
        study = optuna.create_study(direction="minimize", sampler=sampler)
        known: dict[str, HistoryEntry] = {}
        for e in history.entries:
            params = params_of(e.program)
            known.setdefault(e.sha256, e)
            if params is None or any(params.get(k) not in v for k, v in SPACE.items()):
                continue
            params = {k: params[k] for k in SPACE}
            if e.status == "running":
                state, value = optuna.trial.TrialState.RUNNING, None
            elif e.score is None:
                state, value = optuna.trial.TrialState.FAIL, None
            else:
                state, value = optuna.trial.TrialState.COMPLETE, e.score
            study.add_trial(optuna.trial.create_trial(params=params, distributions=dists,
                                                      state=state, value=value))
        if not study.trials:
            study.enqueue_trial(dict(STARTER))
        rejected = []
        for _ in range(200):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trial = study.ask(dists)
            params = effective(trial.params)
            program = render(params)
            sha = program_hash(program)
            if sha not in known:
                return Candidate(program, self.name, self._parents(history, params),
                                 {**self.settings(), "mode": "tpe", "params": params,
                                  "rejected": len(rejected)}, rejected=rejected)
            e = known[sha]   # same effective parameters: the behaviour is already known
            rejected.append({"reason": "same-behaviour", "known": sha, "similarity": 1.0,
                             "known_score": e.score})
            if e.score is not None:
                study.tell(trial, e.score)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        log.warning("the sampler kept proposing known programs: a random family member")
        return self._random(history, random.Random(seed), rejected)

    @staticmethod
    def _parents(history: History, params: dict) -> list[str]:
        """The closest known family program (fewest differing parameters), as the lineage."""
        best, parent = None, []
        for e in history.best(len(history) or 1):
            p = params_of(e.program)
            if p is None:
                continue
            d = sum(p.get(k) != v for k, v in params.items())
            if best is None or d < best:
                best, parent = d, [e.sha256]
        return parent

    def _random(self, history: History, rng: random.Random, rejected: list) -> Candidate:
        seen = history.shas() | {program_hash(render(STARTER))}
        for _ in range(100):
            params = effective({k: rng.choice(v) for k, v in SPACE.items()})
            program = render(params)
            if program_hash(program) not in seen:
                break
        return Candidate(program, self.name, [], {**self.settings(), "mode": "explore",
                                                  "params": params}, rejected=rejected)

    # -- pattern search -------------------------------------------------------------------
    @staticmethod
    def _step(params: dict, key: str, direction: int) -> dict | None:
        values = SPACE[key]
        i = values.index(params[key]) if params[key] in values else len(values) // 2
        if not 0 <= i + direction < len(values):
            return None
        return effective({**params, key: values[i + direction]})

    def _moves(self, entry: HistoryEntry | None, params: dict, history: History,
               rng: random.Random) -> list[tuple[str, dict]]:
        """Neighbours of ``params`` (one parameter one step), the most promising first: the
        step that made ``entry`` better than its own parent is repeated first."""
        moves = [(f"{k}{d:+d}", child) for k in active_keys(params) for d in (-1, 1)
                 if (child := self._step(params, k, d)) is not None]
        rng.shuffle(moves)
        by_sha = {e.sha256: e for e in history.entries}
        parent = by_sha.get(entry.parents[0]) if entry and entry.parents else None
        before = params_of(parent.program) if parent else (STARTER if entry else None)
        if before:
            momentum = [f"{k}{(+1 if SPACE[k].index(params[k]) > SPACE[k].index(before[k]) else -1):+d}"
                        for k in active_keys(params)
                        if params[k] != before.get(k) and before.get(k) in SPACE[k]]
            moves.sort(key=lambda m: m[0] not in momentum)
        return moves

    def _propose_pattern(self, history: History) -> Candidate:
        rng = random.Random(f"{self.seed}:{len(history)}")
        seen = history.shas() | {program_hash(render(STARTER))}  # the seed itself is known
        ranked = [(e, p) for e in history.best(len(history) or 1)
                  if (p := params_of(e.program)) is not None] or [(None, dict(STARTER))]
        if rng.random() >= self.explore:
            for entry, params in ranked:
                for move, child in self._moves(entry, params, history, rng):
                    program = render(child)
                    if program_hash(program) not in seen:
                        return Candidate(program, self.name, [entry.sha256] if entry else [],
                                         {**self.settings(), "mode": f"step {move}",
                                          "params": effective(child)})
        return self._random(history, rng, [])
