"""The source options shared by every command that reads video."""
from __future__ import annotations

import argparse

from codecnb import config
from codecnb.cli.checks import memory_bytes
from codecnb.errors import ConfigError, SourceError
from codecnb.sources import Source, open_source
from codecnb.sources.uri import parse_size
from codecnb.suites import Suite


def add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", help=config.cli_help("source"))
    p.add_argument("--frames", type=config.cli_type("frames"), help=config.cli_help("frames"))
    p.add_argument("--start", type=config.cli_type("start"), help=config.cli_help("start"))
    p.add_argument("--resize", metavar="WxH",
                   help="scale frames to this size [default: the native size]")
    p.add_argument("--segment-frames", type=config.cli_type("segment_frames"),
                   help=config.cli_help("segment_frames"))
    add_cache_args(p)


def add_cache_args(p: argparse.ArgumentParser) -> None:
    """Options of the S3 source cache."""
    g = p.add_argument_group("S3 source cache")
    g.add_argument("--cache-dir", help=config.cli_help("cache_dir"))
    g.add_argument("--endpoint-url", dest="s3_endpoint_url", help=config.cli_help("s3_endpoint_url"))
    g.add_argument("--strict", dest="cache_strict", action="store_const", const=True,
                   help=config.cli_help("cache_strict"))
    g.add_argument("--cache-max-gb", dest="cache_max_bytes", metavar="GB",
                   type=config.cli_type("cache_max_bytes"),
                   help=config.cli_help("cache_max_bytes"))
    p.set_defaults(apply_cache_args=apply_cache_args)


def cache_flags(args: argparse.Namespace) -> dict:
    """The cache options as given on the command line (None = not given)."""
    return {"cache_dir": args.cache_dir, "s3_endpoint_url": args.s3_endpoint_url,
            "cache_strict": args.cache_strict, "cache_max_bytes": args.cache_max_bytes}


def apply_cache_args(args: argparse.Namespace) -> None:
    config.set_from_cli(**cache_flags(args))


def parse_resize(text: str, uri: str) -> tuple[int, int]:
    """``--resize WxH`` as (width, height); both even and at least 2."""
    size = parse_size(text, "--resize", uri)
    if min(size) < 2 or size[0] % 2 or size[1] % 2:
        raise ConfigError(f"--resize {text!r}: width and height must be even and at least 2")
    frame = size[0] * size[1] * 3                       # one RGB frame, bytes
    segment = config.resolve("segment_frames")
    memory = memory_bytes()
    if memory and frame * segment * FRAME_COPIES > memory:
        raise ConfigError(f"--resize {text!r}: {segment} frames of it (a segment, held "
                          f"{FRAME_COPIES} times over) need more than this machine's "
                          f"{memory / (1 << 30):.0f} GiB")
    return size


#: Copies of a segment's frames an evaluation holds at once (source, reconstruction,
#: metric planes, transport), the bound of --resize against memory.
FRAME_COPIES = 4


def open_from_args(args: argparse.Namespace) -> Source:
    """The source of the command line, checked first: it opens, decodes and holds the
    window (one line and exit 2 otherwise)."""
    from codecnb.sources.uri import merge_window
    from codecnb.sources.validate import check_window
    apply_cache_args(args)
    uri = config.resolve("source", args.source)
    resize = parse_resize(args.resize, uri) if args.resize else None
    start = config.resolve("start", args.start)
    frames = config.resolve("frames", args.frames)
    start, frames, resize = merge_window(uri, start, frames, resize)
    check_window(uri, start, frames, resize)
    return open_source(uri, start=start, frames=frames, resize=resize)


def check_suite(suite: Suite) -> None:
    """Every clip of ``suite`` opens, decodes and holds its window, before any work: a bad
    clip is one line naming the suite, the clip and the problem (exit 2)."""
    from codecnb.sources.validate import check_window
    for clip in suite.clips:
        try:
            check_window(clip.uri, clip.start, clip.frames, clip.resize)
        except SourceError as exc:
            raise SourceError(f"suite {suite.name!r}, clip {clip.name!r} ({clip.role}): "
                              f"{exc}") from None
