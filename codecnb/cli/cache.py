"""``codecnb cache ls|prune|clear``: look after the S3 source cache."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from codecnb import config
from codecnb.cache import Store
from codecnb.cli.source_args import add_cache_args, apply_cache_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cache", help="list, prune or clear the S3 source cache",
                       description=__doc__)
    p.add_argument("action", choices=["ls", "prune", "clear"],
                   help="ls: entries with size, ETag and last use; prune: remove incomplete "
                        "entries, stale downloads and evict beyond the size cap; clear: "
                        "remove everything")
    add_cache_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    apply_cache_args(args)
    store = Store(Path(config.resolve("cache_dir")))
    if args.action == "ls":
        entries = store.entries()
        print(f"{'size MB':>10}  {'last used':<16}  {'etag':<34}  object")
        for folder, meta, used in entries:
            version = f"?versionId={meta.version_id}" if meta.version_id else ""
            print(f"{meta.size / 1e6:10.1f}  {time.strftime('%Y-%m-%d %H:%M', time.localtime(used))}"
                  f"  {meta.etag:<34}  s3://{meta.bucket}/{meta.key}{version}")
        total = sum(m.size for _, m, _ in entries)
        print(f"{len(entries)} entries, {total / 1e6:.1f} MB in {store.root}")
    elif args.action == "prune":
        removed = store.prune()
        evicted = store.evict(config.resolve("cache_max_bytes"))
        print(f"removed {removed} stale items, evicted {len(evicted)} entries over the size cap")
    else:
        print(f"removed {store.clear()} entries from {store.root}")
    return 0
