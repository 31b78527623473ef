"""Resolve an S3 object to a verified local file: one download per machine, then reuse.

A hit costs one HEAD request (or nothing within the TTL) and returns the cached file's path
in place: nothing is copied. A miss or a changed object (other ETag, size or version) is
downloaded with parallel ranged GETs into a temporary file inside the entry's folder,
verified, made read-only and renamed into place, under a cross-process lock so that
processes asking for the same object at once download it once.
"""
from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from codecnb import config
from codecnb.cache.client import TRANSIENT, UNREACHABLE, CacheError, explain, s3_client
from codecnb.cache.s3uri import S3Object
from codecnb.cache.store import Meta, Store
from codecnb.cache.verify import verify
from codecnb.progress import progress_bar

log = logging.getLogger(__name__)

#: Tuned for large video files: 16 MiB ranged GETs, 16 at a time.
PART_BYTES = 16 << 20
CONCURRENCY = 16
ATTEMPTS = 4


@dataclass
class CacheStats:
    """Counters of this process, for a campaign to record."""

    hits: int = 0
    misses: int = 0
    stale_used: int = 0
    bytes_downloaded: int = 0
    download_seconds: float = 0.0
    validate_seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


STATS = CacheStats()


def _matches(meta: Meta, head: dict) -> bool:
    version = head.get("VersionId")
    return (meta.etag == head.get("ETag", "").strip('"') and meta.size == head["ContentLength"]
            and (not version or version == "null" or meta.version_id in (None, version)))


def _head(obj: S3Object) -> dict:
    args = {"Bucket": obj.bucket, "Key": obj.key, "ChecksumMode": "ENABLED"}
    if obj.version_id:
        args["VersionId"] = obj.version_id
    return s3_client().head_object(**args)


def part_sizes(obj: S3Object, head: dict, parts: int) -> list[int] | None:
    """The byte sizes of a multipart object's ``parts`` parts, as S3 reports them:
    ``GetObjectAttributes`` (ObjectParts), else a HEAD with ``PartNumber`` per part; None
    when the server says neither."""
    client = s3_client()
    version = {"VersionId": obj.version_id} if obj.version_id else {}
    try:
        attrs = client.get_object_attributes(Bucket=obj.bucket, Key=obj.key,
                                             ObjectAttributes=["ObjectParts"],
                                             MaxParts=1000, **version)
        listed = [p["Size"] for p in attrs.get("ObjectParts", {}).get("Parts", [])
                  if "Size" in p]
        if len(listed) == parts:
            return listed
    except Exception as exc:  # noqa: BLE001 - not implemented by every S3 server
        log.debug("GetObjectAttributes %s: %s", obj.uri, exc)
    sizes = []
    try:
        for n in range(1, parts + 1):
            r = client.head_object(Bucket=obj.bucket, Key=obj.key, PartNumber=n, **version)
            if r.get("PartsCount") not in (None, parts):
                return None
            sizes.append(int(r["ContentLength"]))
    except Exception as exc:  # noqa: BLE001
        log.debug("HEAD PartNumber %s: %s", obj.uri, exc)
        return None
    if sum(sizes) != head["ContentLength"]:
        return None
    return sizes


def _bucket_exists(bucket: str) -> bool:
    """A HEAD of a missing object says 404 whether the key or the bucket is missing."""
    try:
        s3_client().head_bucket(Bucket=bucket)
        return True
    except Exception as exc:  # noqa: BLE001
        return explain(exc, bucket)[0] != "missing"


def _download(obj: S3Object, head: dict, folder: Path) -> Path:
    """Download into ``folder/.tmp-<pid>-<rand>`` and verify; the caller renames it."""
    from boto3.s3.transfer import TransferConfig
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{os.getpid()}-{random.getrandbits(32):08x}"
    # A change of the object during the download is caught by verify() below.
    extra = {"VersionId": obj.version_id} if obj.version_id else {}
    cfg = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES,
                         max_concurrency=CONCURRENCY, num_download_attempts=ATTEMPTS)
    with progress_bar(head["ContentLength"], f"download {obj.name}", unit="B") as bar:
        bar.unit_scale = True
        s3_client().download_file(obj.bucket, obj.key, str(tmp), ExtraArgs=extra, Config=cfg,
                                  Callback=bar.update)
    problem = verify(tmp, head, lambda n: part_sizes(obj, head, n))
    if problem:
        tmp.unlink(missing_ok=True)
        raise CacheError(f"source {obj.uri!r}: the download does not match the object "
                         f"({problem}); it was discarded")
    return tmp


def _fetch_locked(obj: S3Object, head: dict, store: Store) -> Path:
    folder = store.folder(obj)
    entry = store.valid_entry(obj)
    if entry and _matches(entry[1], head):  # another process finished it while we waited
        STATS.hits += 1
        store.touch(folder)
        return entry[0]
    store.clean_temporaries(folder) if folder.exists() else None
    STATS.misses += 1
    t0 = time.perf_counter()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            tmp = _download(obj, head, folder)
            break
        except CacheError:
            raise
        except Exception as exc:  # noqa: BLE001 - boto3 raises many kinds
            kind, msg = explain(exc, obj.uri)
            for leftover in folder.glob(f".tmp-{os.getpid()}-*"):
                leftover.unlink(missing_ok=True)
            if attempt == ATTEMPTS or kind not in (UNREACHABLE, TRANSIENT):
                raise CacheError(msg) from None
            delay = min(8.0, 0.5 * 2 ** attempt) * (0.5 + random.random())
            log.warning("%s; retrying in %.1f s (attempt %d/%d)", msg, delay, attempt, ATTEMPTS)
            time.sleep(delay)
    seconds = time.perf_counter() - t0
    path = folder / obj.name
    (folder / "meta.json").unlink(missing_ok=True)  # nobody trusts a half-replaced entry
    os.chmod(tmp, 0o444)
    os.replace(tmp, path)
    now = time.time()
    checksums = {k: v for k, v in head.items() if k.startswith("Checksum") and isinstance(v, str)}
    store.write_meta(folder, Meta(obj.bucket, obj.key, obj.version_id or head.get("VersionId"),
                                  head["ETag"].strip('"'), head["ContentLength"], obj.name,
                                  now, now, checksums))
    STATS.bytes_downloaded += head["ContentLength"]
    STATS.download_seconds += seconds
    log.info("cache: downloaded %s (%d bytes in %.2f s, %.0f MB/s)", obj.uri,
             head["ContentLength"], seconds, head["ContentLength"] / max(seconds, 1e-9) / 1e6)
    return path


def fetch(obj: S3Object, *, cache_dir: Path | None = None, strict: bool | None = None,
          ttl_s: float | None = None, max_bytes: int | None = None) -> Path:
    """Local path of ``obj``'s content, from the cache or downloaded into it.

    Parameters
    ----------
    obj : S3Object
    cache_dir : Path, optional
        Defaults to the ``cache_dir`` setting (``--cache-dir``, ``CODECNB_CACHE_DIR``).
    strict : bool, optional
        When S3 is unreachable, fail instead of using a cached copy that cannot be checked
        (``--strict``, ``CODECNB_CACHE_STRICT``).
    ttl_s : float, optional
        Trust an entry validated less than this many seconds ago without a HEAD
        (``CODECNB_CACHE_TTL``; default 0: always check).
    max_bytes : int, optional
        Size cap of the cache; least-recently-used entries are evicted beyond it.

    Returns
    -------
    Path
        The cached file, read-only. Use it in place; do not modify it.

    Raises
    ------
    CacheError
        Missing bucket or key, denied access, unreachable endpoint without a usable copy,
        or a download that fails verification.
    """
    store = Store(Path(cache_dir or config.resolve("cache_dir")))
    strict = config.resolve("cache_strict", strict)
    ttl_s = config.resolve("cache_ttl_s", ttl_s)
    max_bytes = config.resolve("cache_max_bytes", max_bytes)
    entry = store.valid_entry(obj)
    if entry and ttl_s and time.time() - entry[1].validated_at < ttl_s:
        STATS.hits += 1
        store.touch(store.folder(obj))
        return entry[0]
    t0 = time.perf_counter()
    try:
        head = _head(obj)
    except Exception as exc:  # noqa: BLE001
        kind, msg = explain(exc, obj.uri)
        if kind == UNREACHABLE and entry:
            if strict:
                raise CacheError(f"{msg}; a cached copy exists but --strict refuses to use it "
                                 f"unchecked") from None
            log.warning("%s; using the cached copy downloaded %s", msg,
                        time.strftime("%Y-%m-%d %H:%M", time.localtime(entry[1].downloaded_at)))
            STATS.stale_used += 1
            return entry[0]
        if kind == "missing" and not _bucket_exists(obj.bucket):
            msg = f"source {obj.uri!r}: bucket {obj.bucket!r} does not exist"
        raise CacheError(msg) from None
    finally:
        STATS.validate_seconds += time.perf_counter() - t0
    if entry and _matches(entry[1], head):
        STATS.hits += 1
        if ttl_s:
            store.write_meta(store.folder(obj), Meta(**{**asdict(entry[1]),
                                                        "validated_at": time.time()}))
        else:
            store.touch(store.folder(obj))
        log.info("cache: hit %s", obj.uri)
        return entry[0]
    with store.lock(obj):
        path = _fetch_locked(obj, head, store)
    store.evict(max_bytes, keep=store.folder(obj))
    return path


