"""``codecnb propose``: print one candidate program from a generator, to try it by hand.

The program goes to stdout (redirect it to a file and ``codecnb eval`` it); what the
generator did (mode, parents, tokens, cost) goes to stderr.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codecnb.errors import CodecnbError
from codecnb.generators import (Budget, BudgetExhausted, History, default_generator_name,
                                make_generator)
from codecnb.generators.claude import DEFAULT_MODEL
from codecnb.generators.pricing import load_prices
from codecnb.search.settings import SearchSettings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("propose", help="print one candidate program from a generator",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_generator_args(p)
    p.add_argument("--history", type=Path,
                   help="JSON history of earlier candidates (as saved by a campaign) "
                        "[default: none]")
    p.set_defaults(run=run)


def add_generator_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("generator")
    g.add_argument("--generator", help="offline (Optuna over the codec family), "
                   "offline:pattern (the earlier pattern search), anthropic, replay:PATH or "
                   "replay:mlflow:EXPERIMENT[:N] "
                   "[default: anthropic when ANTHROPIC_API_KEY is set, else offline]")
    g.add_argument("--seed", type=int, help="seed of the generator's choices [default 0]")
    g.add_argument("--model", help=f"Claude model id [default {DEFAULT_MODEL}]")
    g.add_argument("--budget-usd", type=_non_negative(float),
                   help="stop generating before this many US dollars are spent [default: "
                        "no limit]")
    g.add_argument("--budget-tokens", type=_non_negative(int),
                   help="stop generating before this many tokens are used [default: no "
                        "limit]")
    g.add_argument("--prices", type=Path, help="JSON price table overriding the built-in one "
                                               "[default: the built-in prices.json]")
    g.add_argument("--repairs", type=_non_negative(int),
                   help="round-trips that quote static-check errors back to the model "
                        "[default 2]")
    g.add_argument("--models", help="comma-separated Claude model ids (priced in prices.json); "
                   "a bandit on improvement per dollar picks one per call [default: --model]")
    g.add_argument("--search", help="search settings NAME=VALUE,... e.g. islands=4,diff=0.5 "
                   "(see docs/search.md) [default: every setting's default]")


def _non_negative(kind):
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: not a number") from None
        if not value >= 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number >= 0")
        return value
    convert.__name__ = kind.__name__
    return convert


#: Generator settings and their defaults (None: no limit / built-in).
GENERATOR_DEFAULTS = {"generator": None, "seed": 0, "model": DEFAULT_MODEL, "budget_usd": None,
                      "budget_tokens": None, "prices": None, "repairs": 2, "models": None,
                      "search": None}


def generator_settings(args: argparse.Namespace, stored: dict | None = None) -> dict:
    """The generator's settings: the flags over ``stored`` (a resumed campaign's, where a
    differing flag is refused) over the defaults; ``generator`` is resolved to a name."""
    from codecnb.errors import ConfigError
    out = dict(GENERATOR_DEFAULTS)
    if stored:
        out.update({k: v for k, v in stored.items() if k in out})
    for key in GENERATOR_DEFAULTS:
        given = getattr(args, key)
        if key == "prices" and given is not None:
            given = str(Path(given).resolve())
        if given is None:
            continue
        if stored and key in stored and stored[key] != given:
            flag = "--" + key.replace("_", "-")
            raise ConfigError(f"{flag} {given} conflicts with the resumed campaign's "
                              f"{stored[key]} (drop the flag, or start a new campaign)")
        out[key] = given
    out["generator"] = out["generator"] or default_generator_name()
    return out


def make_from_settings(settings: dict, spent: tuple[float, int] = (0.0, 0),
                       tracking_uri: str | None = None, **options):
    """The generator of ``settings`` (see :func:`generator_settings`); ``spent`` (US
    dollars, tokens) already counts against its budget."""
    extra = {}
    if settings["generator"] == "anthropic":
        budget = Budget(settings["budget_usd"], settings["budget_tokens"],
                        spent_usd=spent[0], spent_tokens=spent[1])
        prices = Path(settings["prices"]) if settings["prices"] else None
        models = settings.get("models")
        extra = dict(model=settings["model"], budget=budget, prices=load_prices(prices),
                     repairs=settings["repairs"],
                     models=models.split(",") if models else None,
                     search=SearchSettings.parse(settings.get("search")), **options)
    return make_generator(settings["generator"], seed=settings["seed"],
                          tracking_uri=tracking_uri, **extra)


def generator_from_args(args: argparse.Namespace, **options):
    return make_from_settings(generator_settings(args), **options)


def run(args: argparse.Namespace) -> int:
    try:
        history = History.load(args.history) if args.history else History()
    except (OSError, ValueError, TypeError) as exc:
        raise CodecnbError(f"history {str(args.history)!r}: {exc}") from None
    gen = generator_from_args(args)
    try:
        cand = gen.propose(history)
    except BudgetExhausted as exc:
        raise CodecnbError(f"budget reached: {exc}") from None
    info = [f"generator: {cand.generator}", f"sha256: {cand.sha256[:16]}",
            f"mode: {cand.settings.get('mode', '-')}",
            f"parents: {', '.join(p[:12] for p in cand.parents) or '-'}"]
    if cand.model:
        info += [f"model: {cand.model}", f"tokens in/out/cache-write/cache-read: "
                 f"{cand.input_tokens}/{cand.output_tokens}/{cand.cache_creation_tokens}/"
                 f"{cand.cache_read_tokens}", f"cost: ${cand.cost_usd:.4f}"]
    print("\n".join(info), file=sys.stderr)
    if cand.failure:
        print(f"generation failed: {cand.failure.message}", file=sys.stderr)
        return 1
    sys.stdout.write(cand.program)
    return 0
