"""The S3 source cache: ``s3://bucket/key`` sources resolve to verified local files.

:func:`resolve` is what :mod:`codecnb.sources` calls for the ``s3`` scheme (named in its
plugin table); this package imports nothing from :mod:`codecnb.sources`.
"""
from pathlib import Path

from codecnb.cache.client import CacheError
from codecnb.cache.fetch import STATS, CacheStats, fetch
from codecnb.cache.s3uri import S3Object, parse_s3
from codecnb.cache.store import Store


def resolve(target: str, options: dict[str, str], raw: str) -> Path:
    """The local, verified copy of ``s3://TARGET?OPTIONS`` (``raw``: the URI as given)."""
    return fetch(parse_s3(target, options, raw))


__all__ = ["CacheError", "CacheStats", "S3Object", "STATS", "Store", "fetch", "parse_s3",
           "resolve"]
