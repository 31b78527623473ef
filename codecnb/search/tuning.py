"""Tuned parameters: a program declares numeric parameters with ranges, an Optuna study
tunes them on a short (smoke) evaluation, and the tuned program is the candidate.

A program declares them in one block, one parameter a line::

    # --- tunable ---
    QSTEP = 12.0      # 4.0 .. 40.0
    SEARCH = 4        # 1 .. 8
    LAMBDA = 0.1      # 0.01 .. 1.0 log
    # --- end tunable ---

Integers (value and both bounds written without a point) are tuned as integers; ``log``
samples on a log scale. The study starts from the declared values, so the tuned program is
never worse than the declared one on the smoke evaluation.

References
----------
Akiba et al., "Optuna: a next-generation hyperparameter optimization framework", KDD 2019.
Bergstra et al., "Algorithms for hyper-parameter optimization", NeurIPS 2011 (TPE).
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Callable

from codecnb.errors import EditError

log = logging.getLogger(__name__)

_BLOCK = re.compile(r"^# --- tunable ---[ \t]*\n(.*?)^# --- end tunable ---", re.S | re.M)
_LINE = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>[-+0-9.eE]+)\s*#\s*"
                   r"(?P<low>[-+0-9.eE]+)\s*\.\.\s*(?P<high>[-+0-9.eE]+)\s*(?P<log>log)?\s*$")


@dataclass(frozen=True)
class Tunable:
    """One declared parameter: its value and inclusive range."""

    name: str
    value: float
    low: float
    high: float
    log: bool = False
    integer: bool = False


def _number(text: str) -> tuple[float, bool]:
    is_int = re.fullmatch(r"[-+]?\d+", text) is not None
    return (int(text) if is_int else float(text)), is_int


def parse_tunables(program: str) -> list[Tunable]:
    """The tunable block of a program ([] if it has none).

    Raises
    ------
    EditError
        A line of the block that is not ``NAME = value  # low .. high [log]`` with
        low <= value <= high (and low > 0 for log).
    """
    m = _BLOCK.search(program)
    if not m:
        return []
    out = []
    for line in m.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        lm = _LINE.match(line.strip())
        if not lm:
            raise EditError(f"tunable line {line.strip()!r}: expected NAME = value  "
                            f"# low .. high [log]")
        try:
            (value, vi), (low, li), (high, hi) = (_number(lm.group(k))
                                                  for k in ("value", "low", "high"))
        except ValueError:
            raise EditError(f"tunable line {line.strip()!r}: not a number") from None
        if not low <= value <= high or (lm.group("log") and low <= 0):
            raise EditError(f"tunable {lm.group('name')}: needs low <= value <= high"
                            f"{' and low > 0 for log' if lm.group('log') else ''}")
        out.append(Tunable(lm.group("name"), value, low, high, bool(lm.group("log")),
                           vi and li and hi))
    return out


def set_tunables(program: str, values: dict[str, float]) -> str:
    """``program`` with the tunable block's values replaced (ranges kept)."""
    m = _BLOCK.search(program)
    if not m:
        return program

    def line(ln: str) -> str:
        lm = _LINE.match(ln.strip())
        if not lm or lm.group("name") not in values:
            return ln
        v = values[lm.group("name")]
        text = repr(int(v)) if isinstance(v, int) else repr(float(v))
        return re.sub(r"=\s*[-+0-9.eE]+", f"= {text}", ln, count=1)

    body = "\n".join(line(ln) for ln in m.group(1).split("\n"))
    return program[:m.start(1)] + body + program[m.end(1):]


@dataclass
class TuningResult:
    """The study: every trial's parameters and score (None: failed), and the best."""

    program: str
    params: dict
    value: float | None
    declared_value: float | None
    trials: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("program")
        return d


def tune(program: str, objective: Callable[[str], float | None], trials: int,
         seed: int = 0) -> TuningResult | None:
    """Tune the program's tunable block with Optuna's TPE sampler.

    Parameters
    ----------
    program : str
        A program with a tunable block.
    objective : callable
        Program text -> score to minimise (BD-rate against JPEG on the smoke stage), None
        when the program failed.
    trials : int
        Evaluations the study may spend (the first is the declared values).
    seed : int

    Returns
    -------
    TuningResult or None
        None when the program has no tunable block (nothing is evaluated).
    """
    import optuna
    params = parse_tunables(program)
    if not params or trials < 1:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed,
                                                                   n_startup_trials=3))
    study.enqueue_trial({p.name: p.value for p in params})
    record = []
    for _ in range(trials):
        trial = study.ask()
        values = {p.name: (trial.suggest_int(p.name, int(p.low), int(p.high), log=p.log)
                           if p.integer else
                           trial.suggest_float(p.name, float(p.low), float(p.high), log=p.log))
                  for p in params}
        score = objective(set_tunables(program, values))
        if score is None or not math.isfinite(score):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, score)
        record.append({"params": values, "value": score})
        log.info("tuning trial %d: %s -> %s", len(record), values, score)
    declared = record[0]["value"]
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        return TuningResult(program, {p.name: p.value for p in params}, None, None, record)
    best = min(done, key=lambda t: t.value)
    return TuningResult(set_tunables(program, best.params), dict(best.params), best.value,
                        declared, record)


def smoke_objective(clips: list[dict], frames: int, qualities: list[int],
                    segment_frames: int = 16) -> Callable[[str], float | None]:
    """The smoke stage as an objective: the mean over ``clips`` (training clips only;
    held-out clips must never be used here) of a program's BD-rate against JPEG on the
    first ``frames`` frames of each clip's window; None when it fails on any clip.

    Parameters
    ----------
    clips : list of dict
        ``uri`` and optionally ``start`` (frame) and ``resize`` ((width, height) pixels).
    frames : int
    qualities : list of int
    segment_frames : int
    """
    def objective(program: str) -> float | None:
        from codecnb.evaluation import evaluate
        scores = []
        for clip in clips:
            result = evaluate(program, clip["uri"], start=clip.get("start") or 0,
                              frames=frames, resize=clip.get("resize"), qualities=qualities,
                              segment_frames=segment_frames, baselines=("jpeg",))
            score = result.bd_rate.get("jpeg") if result.status == "ok" else None
            if score is None or not math.isfinite(score):
                return None
            scores.append(score)
        return sum(scores) / len(scores) if scores else None
    return objective
