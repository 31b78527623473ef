"""``codecnb eval PROGRAM.py``: evaluate a codec program in the sandbox.

Prints the RD table with the baselines and the BD-rates, or the failure. With ``--json``,
one JSON object. With ``--suite FILE|NAME``, every clip of the suite (training and held
out) after a smoke stage, per-clip tables and the suite scores. Exit status: 0 the
candidate passed, 1 it failed, 2 bad usage or input.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codecnb import config
from codecnb.progress import progress_bar
from codecnb.cli.source_args import add_source_args, check_suite, open_from_args
from codecnb.analysis.tables import fmt, pct, rd_table, source_line
from codecnb.errors import CodecnbError
from codecnb.evaluation import evaluate
from codecnb.evaluation.evaluator import DEFAULT_QUALITIES
from codecnb.sandbox.limits import GiB, Limits
from codecnb.sandbox.policy import ImportPolicy


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a codec program in the sandbox",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("program", type=Path, help="Python file defining encode() and decode()")
    add_source_args(p)
    p.add_argument("--suite", metavar="FILE|NAME",
                   help="evaluate on a clip suite (a TOML file or a bundled name such as "
                        "'default') instead of --source: every clip, training and held out")
    p.add_argument("--quality", type=int, action="append", dest="qualities", metavar="Q",
                   help=f"quality 0..100 (repeatable; default {list(DEFAULT_QUALITIES)})")
    p.add_argument("--allow-import", action="append", default=[], metavar="MODULE",
                   help="widen the import policy (repeatable) [default: none]")
    p.add_argument("--memory-gb", type=config.cli_type("memory_gb"), default=4.0,
                   help="address-space limit per process, at most this machine's memory "
                        "[default 4 GiB]")
    p.add_argument("--timeout", type=config.cli_type("timeout_s"), default=1800.0,
                   help="wall-clock seconds for the whole evaluation [default 1800 s]")
    p.add_argument("--segment-timeout", type=config.cli_type("segment_timeout_s"),
                   default=120.0,
                   help="wall-clock seconds for one encode or decode call [default 120 s]")
    p.add_argument("--weak-sandbox", action="store_true", default=None,
                   help=config.cli_help("weak_sandbox"))
    p.add_argument("--vmaf", action="store_true",
                   help="also measure VMAF per point (libvmaf vmaf_v0.6.1; slow)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        text = args.program.read_text(encoding="utf-8")
    except OSError as exc:
        raise CodecnbError(f"program {str(args.program)!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CodecnbError(f"program {str(args.program)!r}: not UTF-8 text (byte "
                           f"{exc.start})") from None
    qualities = args.qualities or list(DEFAULT_QUALITIES)
    if any(not 0 <= q <= 100 for q in qualities):
        raise CodecnbError(f"--quality must be within 0..100, got {qualities}")
    config.set_from_cli(weak_sandbox=args.weak_sandbox)
    limits = Limits(memory_bytes=int(args.memory_gb * GiB), evaluation_timeout_s=args.timeout,
                    segment_timeout_s=args.segment_timeout,
                    program_bytes=config.resolve("program_kib") << 10)
    if args.suite:
        return _run_suite(args, text, qualities, limits)
    source = open_from_args(args)
    total = source.info.frames and source.info.frames * len(qualities)
    with progress_bar(total, f"eval {args.program.name}") as bar:
        result = evaluate(text, source, qualities=qualities, limits=limits,
                          policy=ImportPolicy().widened(*args.allow_import),
                          segment_frames=config.resolve("segment_frames", args.segment_frames),
                          progress=bar.update, vmaf=args.vmaf)
    if args.json:
        sys.stdout.write(result.to_json() + "\n")
    else:
        print(source_line(source.info, result.source["frames"]))
        if result.ok:
            print(rd_table({"candidate": result.curve(), **result.baselines}))
            print()
            for name in result.bd_rate:
                print(f"BD-rate against {name:<6} {pct(result.bd_rate[name])}"
                      f"   BD-PSNR {fmt(result.bd_psnr[name], '+.3f')} dB")
        else:
            f = result.failure
            print(f"FAILED ({f.kind}): {f.message}")
        print(f"sandbox layers (verified): {', '.join(result.isolation)}")
        if result.sandbox["weak"]:
            print(f"WEAK SANDBOX, missing: {'; '.join(result.sandbox['missing'])}")
    return 0 if result.ok else 1


def _run_suite(args: argparse.Namespace, text: str, qualities: list[int],
               limits: Limits) -> int:
    from codecnb.evaluation.suite import evaluate_suite, heldout_metrics
    from codecnb.suites import load_suite
    from codecnb.suites.suite import ROLES
    given = [f for f in ("source", "frames", "start", "resize") if getattr(args, f) is not None]
    if given:
        raise CodecnbError(f"--suite and --{given[0]} exclude each other (a suite gives each "
                           f"clip its own window)")
    args.apply_cache_args(args)
    suite = load_suite(args.suite)
    check_suite(suite)
    result = evaluate_suite(text, suite, qualities=qualities, limits=limits,
                            policy=ImportPolicy().widened(*args.allow_import),
                            segment_frames=config.resolve("segment_frames", args.segment_frames),
                            roles=ROLES, vmaf=args.vmaf)
    if args.json:
        sys.stdout.write(result.to_json() + "\n")
        return 0 if result.ok else 1
    print(f"suite {suite.name}: {len(suite.train)} training, {len(suite.validation)} "
          f"validation, {len(suite.heldout)} held-out clips")
    if result.smoke:
        sm = result.smoke
        print(f"smoke stage: {sm['status']} in {sm['seconds']:.2f} s ({sm['frames']} frames of "
              f"{sm['clip']} at quality {sm['quality']})")
    for c in result.clips:
        r = c.result
        print(f"\nclip {c.name} ({c.clip.role}): {r.source.get('uri')} "
              f"{r.source.get('width')}x{r.source.get('height')}, frames "
              f"{c.clip.start}..{c.clip.start + r.source.get('frames', 0) - 1}")
        if r.ok:
            print(rd_table({"candidate": r.curve(), **r.baselines}))
            for name in r.bd_rate:
                print(f"BD-rate against {name:<6} {pct(r.bd_rate[name])}"
                      f"   BD-PSNR {fmt(r.bd_psnr[name], '+.3f')} dB")
    print()
    if result.ok:
        gaps = {**heldout_metrics(result.validation_bd_rate, result.bd_rate, "validation"),
                **heldout_metrics(result.heldout_bd_rate, result.bd_rate)}
        for name in result.bd_rate:
            line = (f"suite score against {name:<6} {pct(result.bd_rate[name])} (mean over "
                    f"{len(result.train)} training clips)")
            for role, label, scores in (("validation", "validation", result.validation_bd_rate),
                                        ("heldout", "held-out", result.heldout_bd_rate)):
                if name in scores:
                    line += (f"   {label} {pct(scores[name])}"
                             f"   gap {pct(gaps.get(f'{role}_gap_{name}'))}")
            print(line)
    else:
        f = result.failure
        print(f"FAILED at the {result.stage} stage ({f.kind}): {f.message}")
    print(f"sandbox layers: {', '.join(result.isolation)}")
    return 0 if result.ok else 1
