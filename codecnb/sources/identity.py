"""A stable identity for the content behind a source URI, for cache keys and provenance."""
from __future__ import annotations

import hashlib
from pathlib import Path

from codecnb.sources.base import Source
from codecnb.sources.pixfmt import eight_bit_layout


def source_identity(source: Source) -> str:
    """Identity of the frames a source delivers: the file (real path, size, modification
    time; for a raw file also the layout it is read with: size, pixel format, frame rate;
    for samples of more than 8 bits the 8-bit layout they are rounded to; a variable frame
    rate taken from timestamps) or the generator's canonical parameters, plus the window
    and the delivered size. Equal identities mean equal frames at equal frame rates."""
    path: Path | None = getattr(source, "path", None)
    if path is not None:
        st = path.stat()
        what = f"file:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        raw = getattr(source, "raw_format", None)
        if raw is not None:
            what += f"|raw={raw.width}x{raw.height}:{raw.pix_fmt}:{raw.fps!r}"
        timed = getattr(source, "timed_fps", None)
        if timed is not None:  # a variable rate from timestamps (the header's before)
            what += f"|fps={timed!r}"
        reduced = eight_bit_layout(source.info.pix_fmt)
        if reduced:  # deep samples rounded to 8 bits first (read directly before)
            what += f"|{source.info.pix_fmt}->{reduced}"
    else:
        what = f"generated:{_canonical_json(source)}"
    window = getattr(source, "window", None)
    return f"{what}|{window}|{source.info.width}x{source.info.height}"


def _canonical_json(source: Source) -> str:
    import json
    canonical = getattr(source, "canonical", None)
    if canonical is None:  # a generated source without canonical parameters: its URI
        return json.dumps({"uri": source.info.uri})
    return json.dumps(canonical(), sort_keys=True)


def content_sha256(path: Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes, hex (reads the whole file)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def source_sha256(source: Source) -> str:
    """SHA-256 of a source's file content (remembered per file identity in the cache folder,
    so a large file is hashed once per machine), or for a generated source of its canonical
    parameters and generator version (sorted-key JSON), whatever the URI's spelling."""
    import json
    import os
    from codecnb import config
    path: Path | None = getattr(source, "path", None)
    if path is None:
        return hashlib.sha256(_canonical_json(source).encode()).hexdigest()
    st = path.stat()
    ident = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    memo = Path(config.resolve("cache_dir")) / "hashes.json"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if ident not in known:
        known[ident] = content_sha256(path)
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known))
        os.replace(tmp, memo)
    return known[ident]
