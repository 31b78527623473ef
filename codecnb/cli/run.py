"""``codecnb run``: an experiment campaign.

A generator proposes candidate programs; each one is evaluated by papermill executing
notebooks/iteration.ipynb on a Dask worker; every result, failure and artifact lands in
MLflow. With no options: a short campaign on the bundled clip with the offline generator
(Claude when ANTHROPIC_API_KEY is set), 2 local workers, the local store mlruns/.

Everything is checked before any work starts: the source (exists, decodes, holds the
window), the numbers, and with --resume the campaign and the flags against its stored
settings. `--resume` alone continues the latest campaign with its own source, window,
qualities, iteration count, generator and remaining budget.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from codecnb import config
from codecnb.errors import CodecnbError
from codecnb.campaign import Campaign, CampaignSettings, Totals
from codecnb.cli.propose import add_generator_args, generator_settings, make_from_settings
from codecnb.cli.source_args import add_cache_args, cache_flags, parse_resize
from codecnb.cli.status import print_leaderboard
from codecnb.errors import ConfigError
from codecnb.spec import RUN_FRAMES, EvaluationSpec, build_spec, resolve_fanout

#: Candidates of a new campaign unless --iterations says otherwise.
RUN_ITERATIONS = 6
#: Rows of the leaderboard printed at the end of a campaign.
TOP = 5


def _positive_int(text: str) -> int:
    return config.cli_type("segment_frames")(text)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run an experiment campaign", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=_positive_int,
                   help=f"candidate runs in total [default {RUN_ITERATIONS}; with --resume, "
                        f"the campaign's own]")
    g = p.add_argument_group("what every candidate is measured on (stored with the campaign)")
    g.add_argument("--source", help=config.cli_help("source"))
    g.add_argument("--suite", metavar="FILE|NAME",
                   help="score candidates on a clip suite (a TOML file or a bundled name such "
                        "as 'default') instead of --source; its held-out clips check the "
                        "best candidates at the end (codecnb verify)")
    g.add_argument("--start", type=config.cli_type("start"), help=config.cli_help("start"))
    g.add_argument("--frames", type=config.cli_type("frames"),
                   help=config.cli_help("frames", default=f"{RUN_FRAMES} frames"))
    g.add_argument("--resize", metavar="WxH",
                   help="scale frames to this size [default: the native size]")
    g.add_argument("--qualities", type=config.cli_type("qualities"),
                   help=config.cli_help("qualities"))
    g.add_argument("--segment-frames", type=config.cli_type("segment_frames"),
                   help=config.cli_help("segment_frames"))
    g.add_argument("--timeout", type=config.cli_type("timeout_s"),
                   help=config.cli_help("timeout_s"))
    g.add_argument("--memory-gb", type=config.cli_type("memory_gb"),
                   help=config.cli_help("memory_gb"))
    p.add_argument("--workers", type=_positive_int,
                   help="local Dask workers, one thread of work each [default: 2, or the "
                        "cores if fewer]")
    p.add_argument("--scheduler", help="an existing Dask scheduler, tcp://host:8786 "
                                       "[default: a local cluster]")
    p.add_argument("--no-fanout", dest="fanout", action="store_const", const=False,
                   help="evaluate each candidate whole on one worker, instead of spreading "
                        "its full stage over the workers as (clip x segment x quality) "
                        f"tasks [env {config.SETTINGS['fanout'].env}=0; default: fan-out "
                        f"{config.SETTINGS['fanout'].shown}]")
    p.add_argument("--tracking-uri", help=config.cli_help("tracking_uri"))
    p.add_argument("--experiment", help=config.cli_help("experiment"))
    p.add_argument("--resume", action="store_true",
                   help="continue a campaign (the latest, or --campaign) with its own "
                        "settings; flags that conflict with them are refused")
    p.add_argument("--campaign", help="with --resume: the parent run id to continue "
                                      "[default: the latest campaign]")
    add_generator_args(p)
    add_cache_args(p)
    p.set_defaults(run=run)


_SPEC_FLAGS = {"source": "--source", "start": "--start", "frames": "--frames",
               "resize": "--resize", "qualities": "--qualities",
               "segment_frames": "--segment-frames", "timeout_s": "--timeout",
               "memory_gb": "--memory-gb"}


def _spec_from_args(args, fanout_default: bool) -> EvaluationSpec:
    fan = dict(fanout=args.fanout, fanout_default=fanout_default)
    if getattr(args, "suite", None):
        from codecnb.suites import load_suite
        clash = next((f for f in ("source", "start", "frames", "resize")
                      if getattr(args, f) is not None), None)
        if clash:
            raise ConfigError(f"--suite and --{clash} exclude each other (a suite gives each "
                              f"clip its own window)")
        return build_spec(suite=load_suite(args.suite), qualities=args.qualities,
                          segment_frames=args.segment_frames, memory_gb=args.memory_gb,
                          timeout_s=args.timeout, **fan, **cache_flags(args))
    resize = parse_resize(args.resize, args.source or "") if args.resize else None
    return build_spec(source=args.source, start=args.start, frames=args.frames, resize=resize,
                      qualities=args.qualities, segment_frames=args.segment_frames,
                      memory_gb=args.memory_gb, timeout_s=args.timeout, **fan,
                      **cache_flags(args))


def _check_against(stored: EvaluationSpec, args) -> EvaluationSpec:
    """The stored spec, with this machine's cache flags; a flag that would change what
    candidates are measured on is refused."""
    clip = stored.clip
    have = {"source": clip.uri, "start": clip.start, "frames": clip.frames,
            "resize": clip.resize, "qualities": stored.qualities,
            "segment_frames": stored.segment_frames, "timeout_s": stored.timeout_s,
            "memory_gb": stored.memory_gb}
    given = {"source": args.source, "start": args.start, "frames": args.frames,
             "resize": parse_resize(args.resize, clip.uri) if args.resize else None,
             "qualities": args.qualities, "segment_frames": args.segment_frames,
             "timeout_s": args.timeout, "memory_gb": args.memory_gb}
    for name, value in given.items():
        if value is not None and value != have[name]:
            raise ConfigError(f"{_SPEC_FLAGS[name]} {_show(name, value)} conflicts with the "
                              f"resumed campaign's {_show(name, have[name])} (drop the flag, "
                              f"or start a new campaign)")
    cache = build_spec(**cache_flags(args)).cache
    return stored.with_changes(cache=cache) if cache != type(cache)() else stored


def _show(name: str, value) -> str:
    if name == "resize":
        return "native size" if value is None else f"{value[0]}x{value[1]}"
    if name == "qualities":
        return ",".join(map(str, value))
    return "the whole clip" if value is None else f"{value:g}" if isinstance(value, float) \
        else str(value)


def _resume_target(args):
    """(parent run, stored spec, stored generator settings) of the campaign to resume."""
    from codecnb.tracking import open_experiment
    from codecnb.tracking import runs as R
    experiment = config.resolve("experiment", args.experiment)
    c, exp = open_experiment(experiment, args.tracking_uri)
    if args.campaign:
        run = R.find_campaign(c, exp, args.campaign)
    else:
        run = R.latest_campaign(c, exp)
        if run is None:
            raise ConfigError(f"nothing to resume: experiment {experiment!r} has no campaign")
    spec = R.spec_of(c, run)
    if spec is None:
        raise ConfigError(f"campaign {run.info.run_id} stored no evaluation spec (made by an "
                          f"older codecnb); it cannot be resumed")
    return run, spec, R.generator_settings_of(run)


def _spent(run, c, exp) -> tuple[float, int]:
    from codecnb.tracking import runs as R
    usd, tokens = 0.0, 0
    for k in R.children(c, exp, run.info.run_id):
        m = k.data.metrics
        usd += m.get("cost_usd", 0.0)
        tokens += int(sum(m.get(f"tokens_{t}", 0) for t in
                          ("input", "output", "cache_write", "cache_read")))
    return usd, tokens


def codecnb_command() -> str:
    """How to type ``codecnb`` in this installation (the venv's script, or python -m)."""
    script = Path(sys.executable).parent / "codecnb"
    if shutil.which("codecnb") == str(script):
        return "codecnb"
    return str(script) if script.exists() else f"{sys.executable} -m codecnb"


def store_flags(args: argparse.Namespace) -> str:
    """The flags a printed hint needs to reach this run's store and experiment as typed
    (the tracking URI given by flag or variable, a non-default experiment)."""
    import shlex
    flags = ""
    given = config.resolve("tracking_uri", args.tracking_uri)
    if given:
        from codecnb.tracking import tracking_uri
        flags += f" --tracking-uri {shlex.quote(tracking_uri(given))}"
    experiment = config.resolve("experiment", args.experiment)
    if experiment != config.SETTINGS["experiment"].default:
        flags += f" --experiment {shlex.quote(experiment)}"
    return flags


def run(args: argparse.Namespace) -> int:
    if args.campaign and not args.resume:
        raise ConfigError("--campaign is for --resume (status and leaderboard take it too)")
    workers = args.workers or min(2, os.cpu_count() or 1)
    fanout_default = workers > 1 or bool(args.scheduler)
    if args.resume:
        parent, spec, gen_settings = _resume_target(args)
        spec = _check_against(spec, args)
        # how candidates are spread over workers is this run's choice, not the campaign's
        spec = spec.with_changes(fanout=resolve_fanout(args.fanout, fanout_default))
        gen_settings = generator_settings(args, stored=gen_settings)
        iterations = args.iterations or int(parent.data.params.get("iterations",
                                                                   RUN_ITERATIONS))
    else:
        parent, spec = None, _spec_from_args(args, fanout_default)
        gen_settings = generator_settings(args)
        iterations = args.iterations or RUN_ITERATIONS
    _validate(spec)
    settings = CampaignSettings(
        spec=spec, iterations=iterations, workers=workers, scheduler=args.scheduler,
        tracking_uri=args.tracking_uri,
        experiment=config.resolve("experiment", args.experiment),
        resume=parent.info.run_id if parent else None, generator=gen_settings)
    spent = (0.0, 0)
    if parent is not None:
        from codecnb.tracking import client, tracking_uri
        c = client(tracking_uri(args.tracking_uri))
        spent = _spent(parent, c, parent.info.experiment_id)
    gen = make_from_settings(gen_settings, spent=spent, tracking_uri=args.tracking_uri,
                             qualities=list(spec.qualities), memory_gb=spec.memory_gb,
                             segment_frames=spec.segment_frames,
                             segment_timeout=spec.segment_timeout_s,
                             tune_clips=[{"uri": c.uri, "start": c.start, "resize": c.resize}
                                         for c in spec.suite.train])
    print(f"codecnb run: generator {gen.name}"
          + ("" if gen.name != "offline" or args.generator else
             " (no ANTHROPIC_API_KEY: the offline search)")
          + (f"; resuming campaign {parent.info.run_id}" if parent else ""), file=sys.stderr)
    from tqdm import tqdm
    tty = sys.stderr.isatty()
    bar = tqdm(total=iterations, desc="campaign", unit="it", file=sys.stderr,
               disable=not tty, dynamic_ncols=True)

    def progress(t: Totals) -> None:
        best = "-" if t.best_bd_rate_jpeg is None else f"{100 * t.best_bd_rate_jpeg:+.1f}%"
        if not tty:  # a log: one line per finished candidate
            print(f"codecnb run: {t.done}/{iterations} done, {t.ok} ok, {t.failed} failed, "
                  f"best BD-rate vs JPEG {best}, cost ${t.cost_usd:.4f}", file=sys.stderr,
                  flush=True)
            return
        bar.n = t.done
        bar.set_postfix(ok=t.ok, failed=t.failed, best_bd_jpeg=best, cost=f"${t.cost_usd:.3f}")
        bar.refresh()

    campaign = Campaign(settings, gen, progress)
    if settings.resume:
        progress(campaign.totals)
    try:
        totals = campaign.run()
    finally:
        bar.close()
    print(f"campaign {campaign.parent}: {totals.done} iterations, {totals.ok} ok, "
          f"{totals.failed} failed, cost ${totals.cost_usd:.4f}")
    if campaign.stop_reason:
        print(f"stopped early: {campaign.stop_reason}")
    if spec.suite.heldout and totals.ok:   # after the generators are done with them
        from codecnb.heldout import HELDOUT_TOP, verify_campaign
        print(f"held-out check of the best {HELDOUT_TOP} on "
              f"{', '.join(c.name for c in spec.suite.heldout)} ...", flush=True)
        verify_campaign(campaign.c, campaign.exp, campaign.parent, HELDOUT_TOP)
    shown = print_leaderboard(campaign.c, campaign.exp, campaign.parent, top=TOP)
    if totals.rejected:
        print(f"{totals.rejected} proposals were rejected as not novel before evaluation")
    cmd = codecnb_command()
    where = store_flags(args)
    if shown >= TOP:
        print(f"(the top {TOP}; all of them: {cmd} leaderboard{where} --campaign "
              f"{campaign.parent} --top {totals.done})")
    print(f"\nOpen the MLflow UI: {cmd} ui{where}   (or: mlflow server --backend-store-uri "
          f"{campaign.uri} --host 127.0.0.1)")
    return 0


def _validate(spec: EvaluationSpec) -> None:
    """Every clip of the spec opens, decodes and holds its window (before Dask or the store
    are touched); applies the spec's cache settings here, as the workers will."""
    from codecnb.sources.validate import check_window
    if len(spec.qualities) < 2:
        raise CodecnbError(f"--qualities {','.join(map(str, spec.qualities))}: a campaign "
                           f"needs at least two (BD-rate ranks candidates on two or more "
                           f"RD points)")
    config.set_from_cli(**{k: v for k, v in vars(spec.cache).items()})
    for clip in spec.suite.clips:
        check_window(clip.uri, clip.start, clip.frames, clip.resize)
