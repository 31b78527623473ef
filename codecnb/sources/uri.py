"""Parsing source URIs: ``scheme:target?key=value&...`` or a local path with options.

Schemes: a local path (no scheme), ``sample:NAME``, ``synthetic:KIND``, ``s3://bucket/key``.
Options after ``?`` apply to every scheme: ``start``, ``frames``, ``resize=WxH``, and for raw
``.yuv`` files ``size=WxH``, ``fps`` and ``pix_fmt``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from codecnb.errors import SourceError

_SCHEME = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]+):(?P<rest>.*)$")


@dataclass(frozen=True)
class SourceURI:
    """A parsed source URI.

    Attributes
    ----------
    raw : str
        The URI exactly as given.
    scheme : str
        ``"file"`` for local paths, else the scheme before the colon.
    target : str
        The path, sample name, synthetic kind, or ``bucket/key`` for S3.
    options : dict of str to str
        Query options, still as strings.
    """

    raw: str
    scheme: str
    target: str
    options: dict[str, str] = field(default_factory=dict)


def parse_uri(uri: str) -> SourceURI:
    """Split ``uri`` into scheme, target and options.

    A string that names an existing local file is always a path, even if it contains ``:``
    or ``?``; so is the part before a ``?`` that names one (``my clip: 1.yuv?size=64x48``,
    ``what?.mp4?frames=4``), the rest being its options.
    """
    uri = str(uri)
    if not uri.strip():
        raise SourceError("empty source URI")
    if Path(uri).exists():
        return SourceURI(uri, "file", uri)
    cut = uri.find("?")
    while cut >= 0 and not Path(uri[:cut]).is_file():
        cut = uri.find("?", cut + 1)
    if cut < 0:
        cut = uri.find("?")
    body, query = (uri[:cut], uri[cut + 1:]) if cut >= 0 else (uri, "")
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise SourceError(f"source {uri!r}: cannot parse options {query!r} (use key=value&...)")
    m = _SCHEME.match(body)
    if m is None or len(m.group("scheme")) < 2 or Path(body).is_file():  # "C:" style drive letters are paths
        return SourceURI(uri, "file", body, options)
    scheme, rest = m.group("scheme").lower(), m.group("rest")
    if scheme == "s3":
        rest = rest.removeprefix("//")
    return SourceURI(uri, scheme, rest, options)


def parse_size(text: str, what: str, uri: str) -> tuple[int, int]:
    """Parse ``"WxH"`` into (width, height)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not m:
        raise SourceError(f"source {uri!r}: {what} must look like 1920x1080, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def parse_number(text: str, what: str, uri: str, kind: type = int) -> float | int:
    """Parse an option value as ``kind`` (int or float), with a clear error."""
    try:
        value = kind(text)
    except ValueError:
        raise SourceError(f"source {uri!r}: {what} must be a number, got {text!r}") from None
    return value
