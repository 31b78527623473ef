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
    # "C:" style drive letters are paths, and so is an existing file named "clip:1.mp4"
    if m is None or len(m.group("scheme")) < 2 or Path(body).is_file():
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


def merge_window(uri: str, start: int = 0, frames: int | None = None,
                 resize: tuple[int, int] | None = None
                 ) -> tuple[int, int | None, tuple[int, int] | None]:
    """The window of ``uri``: its own ``start``, ``frames`` and ``resize`` options merged
    with the values given beside it (flags, suite fields).

    A value left unset (start 0, frames None, resize None) takes the URI's; a set value
    that differs from the URI's is refused, so that neither is silently ignored. For
    ``synthetic:`` URIs ``frames`` sizes the generated clip and is not a window option.

    Returns
    -------
    (start, frames, resize)

    Raises
    ------
    SourceError
        When the URI and the given values disagree, or an option does not parse.
    """
    u = parse_uri(uri)
    opts = u.options
    given: dict[str, object] = {}
    if "start" in opts:
        given["start"] = int(parse_number(opts["start"], "start", uri))
    if "frames" in opts and u.scheme != "synthetic":
        given["frames"] = int(parse_number(opts["frames"], "frames", uri))
    if "resize" in opts:
        given["resize"] = parse_size(opts["resize"], "resize", uri)
    current = {"start": start, "frames": frames, "resize": resize}
    unset = {"start": 0, "frames": None, "resize": None}
    for key, value in given.items():
        if current[key] == unset[key]:
            current[key] = value
        elif current[key] != value:
            def show(v):
                return f"{v[0]}x{v[1]}" if isinstance(v, tuple) else str(v)
            raise SourceError(f"source {uri!r}: {key}={show(value)} in the URI but "
                              f"{show(current[key])} beside it (--{key}, its default or a "
                              f"suite clip's {key}); give it once")
    return current["start"], current["frames"], current["resize"]
