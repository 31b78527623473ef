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


def open_from_args(args: argparse.Namespace) -> Source:
    uri = config.resolve("source", args.source)
    resize = parse_size(args.resize, "--resize", uri) if args.resize else None
    return open_source(uri, start=args.start, frames=config.resolve("frames", args.frames),
                       resize=resize)
