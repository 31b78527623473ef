"""The cache folder: one entry per (bucket, key, version), used in place, never copied.

Layout under ``<cache_dir>/s3/``::

    <digest>/<name>        the object, read-only (0444), named like the key's last part
    <digest>/meta.json     bucket, key, version, ETag, size, checksums, times
    <digest>/.tmp-<pid>-*  a download in progress (never served)
    <digest>.lock          the entry's cross-process lock (flock)

``meta.json`` is written only after the object is verified and renamed into place, so an
entry without it is not valid. Its modification time is the entry's last use (LRU).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from codecnb.cache.s3uri import S3Object
from codecnb.pids import alive

log = logging.getLogger(__name__)


@dataclass
class Meta:
    """What is known about a cached object."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int
    name: str
    downloaded_at: float
    validated_at: float
    checksums: dict


class Store:
    """Entries of the S3 cache under ``root`` (created on first use)."""

    def __init__(self, root: Path):
        self.root = Path(root) / "s3"

    def folder(self, obj: S3Object) -> Path:
        ident = f"{obj.bucket}\0{obj.key}\0{obj.version_id or ''}"
        return self.root / hashlib.sha256(ident.encode()).hexdigest()[:40]

    def data_path(self, obj: S3Object) -> Path:
        return self.folder(obj) / obj.name

    # -- metadata ---------------------------------------------------------------------
    def read_meta(self, folder: Path) -> Meta | None:
        try:
            return Meta(**json.loads((folder / "meta.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def write_meta(self, folder: Path, meta: Meta) -> None:
        tmp = folder / f".meta-{os.getpid()}.json"
        tmp.write_text(json.dumps(asdict(meta)))
        os.replace(tmp, folder / "meta.json")
        self.touch(folder)

    def touch(self, folder: Path) -> None:
        """Record a use (LRU order), with the precise clock: file times from the kernel's
        coarse clock can tie between two uses a few milliseconds apart."""
        now = time.time_ns()
        with contextlib.suppress(OSError):
            os.utime(folder / "meta.json", ns=(now, now))

    def valid_entry(self, obj: S3Object) -> tuple[Path, Meta] | None:
        """The cached file and its metadata, if the entry is complete."""
        folder = self.folder(obj)
        meta = self.read_meta(folder)
        path = folder / obj.name
        if meta is None or not path.is_file() or path.stat().st_size != meta.size:
            return None
        return path, meta

    # -- locking and clean-up ---------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, obj: S3Object) -> Iterator[None]:
        """Exclusive cross-process lock of one entry; released even if the holder dies."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.folder(obj).with_suffix(".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def clean_temporaries(self, folder: Path) -> int:
        """Remove downloads left by dead processes (call with the entry's lock held)."""
        removed = 0
        for tmp in folder.glob(".tmp-*"):
            pid = tmp.name.split("-")[1]
            if pid.isdigit() and alive(int(pid)) and int(pid) != os.getpid():
                continue
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed += 1
        return removed

    # -- listing and eviction ---------------------------------------------------------
    def entries(self) -> list[tuple[Path, Meta, float]]:
        """Complete entries as (folder, meta, last used), most recently used first."""
        out = []
        if self.root.is_dir():
            for folder in self.root.iterdir():
                meta = folder.is_dir() and self.read_meta(folder)
                if meta:
                    out.append((folder, meta, (folder / "meta.json").stat().st_mtime))
        return sorted(out, key=lambda e: -e[2])

    def total_bytes(self) -> int:
        return sum(m.size for _, m, _ in self.entries())

    def remove(self, folder: Path) -> None:
        """Delete an entry (a process reading its file keeps reading it: POSIX unlink)."""
        for p in folder.glob("*"):
            with contextlib.suppress(OSError):
                p.chmod(0o644)
        shutil.rmtree(folder, ignore_errors=True)

    def evict(self, max_bytes: int, keep: Path | None = None) -> list[Meta]:
        """Remove least-recently-used entries until the total is at most ``max_bytes``.

        ``keep`` (the entry just fetched) is never evicted; entries whose lock is held by
        another process (a download in progress) are skipped.
        """
        entries = self.entries()
        total = sum(m.size for _, m, _ in entries)
        evicted = []
        for folder, meta, _ in reversed(entries):
            if total <= max_bytes:
                break
            if folder == keep or not self._try_lock_free(folder):
                continue
            self.remove(folder)
            total -= meta.size
            evicted.append(meta)
            log.info("cache: evicted s3://%s/%s (%d bytes)", meta.bucket, meta.key, meta.size)
        return evicted

    def _try_lock_free(self, folder: Path) -> bool:
        path = folder.with_suffix(".lock")
        if not path.exists():
            return True
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return True
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            raise
        finally:
            os.close(fd)

    def prune(self) -> int:
        """Remove incomplete entries, stale downloads and unused lock files. Returns count."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for folder in self.root.iterdir():
            if folder.is_dir():
                removed += self.clean_temporaries(folder)
                if self.read_meta(folder) is None and self._try_lock_free(folder):
                    self.remove(folder)
                    removed += 1
            elif folder.suffix == ".lock" and not folder.with_suffix("").exists():
                if self._try_lock_free(folder.with_suffix("")):
                    with contextlib.suppress(OSError):
                        folder.unlink()
                        removed += 1
        return removed

    def clear(self) -> int:
        """Remove every entry. Returns how many."""
        n = len(self.entries())
        if self.root.exists():
            for folder in list(self.root.iterdir()):
                if folder.is_dir():
                    self.remove(folder)
                else:
                    with contextlib.suppress(OSError):
                        folder.unlink()
        return n

