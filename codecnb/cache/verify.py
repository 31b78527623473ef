"""Checking a downloaded file against what S3 says about the object.

* size: always;
* a single-part ETag (32 hex digits, no ``-``) is the MD5 of the content: always checked;
* an S3 checksum of the whole object (``ChecksumSHA256``, ``ChecksumSHA1``,
  ``ChecksumCRC32``): checked when it is known to cover the whole object, i.e.
  ``ChecksumType`` is ``FULL_OBJECT`` or the object was a single PUT (single-part ETag);
  a multipart object's checksum may be a composite of its parts (servers differ in how they
  mark that), so it is not used then;
* a multipart ETag (``md5-of-part-md5s-N``) is checked part by part: with the part sizes
  S3 reports (``GetObjectAttributes`` ObjectParts, else HEAD with ``PartNumber``), and a
  mismatch is an error; when S3 reports none, against the usual part sizes (8, 5, 16, 32,
  64, 100 MiB), and when none of those fits, size and checksum decide (logged).
"""
from __future__ import annotations

import base64
import hashlib
import logging
import re
import zlib
from pathlib import Path
from typing import Callable, Sequence

log = logging.getLogger(__name__)

_CHUNK = 1 << 22
_PART_SIZES = [8 << 20, 5 << 20, 16 << 20, 32 << 20, 64 << 20, 100 << 20]


def _read(path: Path):
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            yield block


def _multipart_etag(path: Path, part_size: int, parts: int) -> str | None:
    size = path.stat().st_size
    if -(-size // part_size) != parts:
        return None
    digests = []
    with open(path, "rb") as f:
        for _ in range(parts):
            h = hashlib.md5()
            left = part_size
            while left and (block := f.read(min(_CHUNK, left))):
                h.update(block)
                left -= len(block)
            digests.append(h.digest())
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{parts}"


def _etag_of_parts(path: Path, sizes: Sequence[int]) -> tuple[str, int | None]:
    """(multipart ETag of ``path`` cut into parts of ``sizes``, index of the first part
    whose bytes run short or None)."""
    digests = []
    with open(path, "rb") as f:
        for i, size in enumerate(sizes):
            h = hashlib.md5()
            left = size
            while left and (block := f.read(min(_CHUNK, left))):
                h.update(block)
                left -= len(block)
            if left:
                return "", i
            digests.append(h.digest())
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(sizes)}", None


def verify(path: Path, head: dict,
           part_sizes: Callable[[int], Sequence[int] | None] | None = None) -> str | None:
    """None when ``path`` matches the object described by a HeadObject response, else the
    reason it does not.

    Parameters
    ----------
    part_sizes : callable, optional
        ``part_sizes(n)`` -> the byte sizes of the object's ``n`` parts as S3 reports them,
        or None when it cannot say; used for a multipart ETag.
    """
    size = path.stat().st_size
    if size != head["ContentLength"]:
        return f"size {size} != {head['ContentLength']}"
    etag = head.get("ETag", "").strip('"')
    single_part = re.fullmatch(r"[0-9a-f]{32}", etag) is not None
    whole = head.get("ChecksumType") == "FULL_OBJECT" or (
        single_part and head.get("ChecksumType") in (None, "FULL_OBJECT"))
    checks = []
    if single_part:
        checks.append(("md5", etag, hashlib.md5))
    for field, fn in (("ChecksumSHA256", hashlib.sha256), ("ChecksumSHA1", hashlib.sha1)):
        value = head.get(field)
        if whole and value and "-" not in value:
            checks.append((field, value, fn))
    crc = head.get("ChecksumCRC32") if whole else None
    if checks or (crc and "-" not in crc):
        hashers = [(name, want, fn()) for name, want, fn in checks]
        c32 = 0
        for block in _read(path):
            for _, _, h in hashers:
                h.update(block)
            if crc:
                c32 = zlib.crc32(block, c32)
        for name, want, h in hashers:
            got = h.hexdigest() if name == "md5" else base64.b64encode(h.digest()).decode()
            if got != want:
                return f"{name} {got} != {want}"
        if crc and "-" not in crc and base64.b64encode(c32.to_bytes(4, "big")).decode() != crc:
            return "CRC32 mismatch"
        return None
    m = re.fullmatch(r"[0-9a-f]{32}-(\d+)", etag)
    if m:
        parts = int(m.group(1))
        sizes = part_sizes(parts) if part_sizes else None
        if sizes:
            if len(sizes) != parts or sum(sizes) != size:
                return f"parts {list(sizes)} do not add up to the object ({parts} parts, {size} B)"
            got, short = _etag_of_parts(path, sizes)
            if short is not None:
                return f"part {short + 1} is short"
            return None if got == etag else f"multipart ETag {got} != {etag}"
        for part in _PART_SIZES:
            got = _multipart_etag(path, part, parts)
            if got == etag:
                return None
        log.warning("%s: multipart ETag %s not verifiable (part size unknown); size matched",
                    path, etag)
    return None  # size matched; nothing stronger is known about this object
