"""The source options shared by every command that reads video."""
from __future__ import annotations

import argparse

from codecnb import config
from codecnb.sources import Source, open_source
from codecnb.sources.uri import parse_size


def add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", help=config.cli_help("source"))
    p.add_argument("--frames", type=config.cli_type("frames"), help=config.cli_help("frames"))
    p.add_argument("--start", type=int, default=None, help="first frame (default 0)")
    p.add_argument("--resize", metavar="WxH", help="scale frames to this size")
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
    g.add_argument("--cache-max-gb", dest="cache_max_bytes", type=config.cli_type("cache_max_bytes"),
                   help=config.cli_help("cache_max_bytes"))
    p.set_defaults(apply_cache_args=apply_cache_args)


def apply_cache_args(args: argparse.Namespace) -> None:
    config.set_from_cli(cache_dir=args.cache_dir, s3_endpoint_url=args.s3_endpoint_url,
                        cache_strict=args.cache_strict, cache_max_bytes=args.cache_max_bytes)


def open_from_args(args: argparse.Namespace) -> Source:
    apply_cache_args(args)
    uri = config.resolve("source", args.source)
    resize = parse_size(args.resize, "--resize", uri) if args.resize else None
    return open_source(uri, start=args.start, frames=config.resolve("frames", args.frames),
                       resize=resize)
