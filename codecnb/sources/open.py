"""From a URI to a :class:`~codecnb.sources.base.Source`: the table of schemes.

Schemes that fetch remote objects resolve to a local path (e.g. from a cache), which is then
read like any local file. ``s3`` is a plugin named in :data:`PLUGINS` (imported on first
use; the cache imports nothing from here, so there is no cycle); others can be added with
:func:`register_scheme`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from codecnb.errors import SourceError
from codecnb.sources.base import Source, Window
from codecnb.sources.ffmpeg_source import FFmpegSource
from codecnb.sources.samples import sample_path
from codecnb.sources.synthetic import SyntheticSource
from codecnb.sources.uri import SourceURI, parse_number, parse_size, parse_uri

DEFAULT_SOURCE = "sample:bigbuckbunny"

#: scheme -> function(parsed URI) -> local path. ``file`` and ``sample`` are built in.
_RESOLVERS: dict[str, Callable[[SourceURI], Path]] = {
    "file": lambda u: Path(u.target).expanduser(),
    "sample": lambda u: sample_path(u.target),
}
_WINDOW_KEYS = {"start", "frames", "resize"}
#: scheme -> "module:function(target, options, raw URI) -> local Path", imported when needed.
PLUGINS = {"s3": "codecnb.cache:resolve"}


def register_scheme(scheme: str, resolver: Callable[[SourceURI], Path]) -> None:
    """Make ``scheme:`` URIs openable: ``resolver`` maps the parsed URI to a local file."""
    _RESOLVERS[scheme] = resolver


def _resolver(u: SourceURI) -> Callable[[SourceURI], Path]:
    if u.scheme in PLUGINS and u.scheme not in _RESOLVERS:
        import importlib
        module, _, name = PLUGINS[u.scheme].partition(":")
        fn = getattr(importlib.import_module(module), name)
        register_scheme(u.scheme, lambda v: fn(v.target, v.options, v.raw))
    try:
        return _RESOLVERS[u.scheme]
    except KeyError:
        known = ", ".join(f"{s}:" for s in sorted({*_RESOLVERS, *PLUGINS, "synthetic"}
                                                  - {"file"}))
        raise SourceError(f"source {u.raw!r}: unknown scheme {u.scheme!r} "
                          f"(known: {known} or a local path)") from None


def open_source(uri: str, *, start: int | None = None, frames: int | None = None,
                resize: tuple[int, int] | None = None, **options: str) -> Source:
    """Open a video source for streaming.

    Parameters
    ----------
    uri : str
        A local path (mp4/mkv/avi/mov/webm, raw ``.h264``/``.h265``, ``.y4m``, raw ``.yuv``),
        ``sample:NAME``, ``synthetic:KIND`` or ``s3://bucket/key``. Options may follow a
        ``?``: ``start``, ``frames``, ``resize=WxH``; for raw files ``size=WxH``, ``fps``,
        ``pix_fmt``; for synthetic clips ``size``, ``frames``, ``fps``, ``seed``.
    start, frames, resize
        The window: first frame, frame count (None: to the end), output size (width, height).
        Keyword arguments override URI options.
    **options
        Further options, as in the URI.

    Returns
    -------
    Source
        Call ``.segments(n)`` for RGB uint8 frames of shape (T, H, W, 3).

    Raises
    ------
    SourceError
        Missing file, not a video, unknown scheme, raw video without a size, unsupported
        pixel format, odd dimensions; zero frames is raised when segments are read.
    """
    u = parse_uri(uri)
    opts = {**u.options, **{k: str(v) for k, v in options.items()}}
    win_opts = {k: opts.pop(k) for k in list(opts) if k in _WINDOW_KEYS}
    if u.scheme == "synthetic":
        # For generated clips "frames" sizes the clip; the window takes the keyword only.
        if "frames" in win_opts:
            opts["frames"] = win_opts.pop("frames")
    if start is None:
        start = int(parse_number(win_opts.get("start", "0"), "start", uri))
    if frames is None and "frames" in win_opts:
        frames = int(parse_number(win_opts["frames"], "frames", uri))
    if resize is None and "resize" in win_opts:
        resize = parse_size(win_opts["resize"], "resize", uri)
    window = Window(start=start, frames=frames, resize=resize)
    if u.scheme == "synthetic":
        return SyntheticSource(u.target, uri, window, opts)
    return FFmpegSource(_resolver(u)(u), uri, window, opts)
