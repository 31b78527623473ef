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


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("propose", help="print one candidate program from a generator",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_generator_args(p)
    p.add_argument("--history", type=Path,
                   help="JSON history of earlier candidates (as saved by a campaign)")
    p.set_defaults(run=run)


def add_generator_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("generator")
    g.add_argument("--generator", help="offline, anthropic, replay:PATH or "
                   "replay:mlflow:EXPERIMENT[:N] "
                   "(default: anthropic when ANTHROPIC_API_KEY is set, else offline)")
    g.add_argument("--seed", type=int, default=0, help="seed of the generator's choices")
    g.add_argument("--model", default=DEFAULT_MODEL, help="Claude model id")
    g.add_argument("--budget-usd", type=float, help="stop generating before this is spent")
    g.add_argument("--budget-tokens", type=int, help="stop generating before this many tokens")
    g.add_argument("--prices", type=Path, help="JSON price table overriding the built-in one")
    g.add_argument("--repairs", type=int, default=2,
                   help="round-trips that quote static-check errors back to the model")


def generator_from_args(args: argparse.Namespace, **options):
    spec = args.generator
    extra = {}
    if (spec or default_generator_name()) == "anthropic":
        extra = dict(model=args.model, budget=Budget(args.budget_usd, args.budget_tokens),
                     prices=load_prices(args.prices), repairs=args.repairs, **options)
    return make_generator(spec, seed=args.seed, **extra)


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
