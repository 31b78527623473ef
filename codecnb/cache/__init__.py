"""The S3 source cache: ``s3://bucket/key`` sources resolve to verified local files.

Importing this module registers the ``s3`` scheme with :mod:`codecnb.sources`.
"""
from pathlib import Path

from codecnb.cache.client import CacheError
from codecnb.cache.fetch import STATS, CacheStats, fetch
from codecnb.cache.s3uri import S3Object, parse_s3
from codecnb.cache.store import Store
from codecnb.sources.open import register_scheme
from codecnb.sources.uri import SourceURI


def _resolve(u: SourceURI) -> Path:
    return fetch(parse_s3(u.target, u.options, u.raw))


register_scheme("s3", _resolve)

__all__ = ["CacheError", "CacheStats", "S3Object", "STATS", "Store", "fetch", "parse_s3"]
