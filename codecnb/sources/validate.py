"""Checking a source window up front, before any work is started on it."""
from __future__ import annotations

import logging

from codecnb.errors import SourceError
from codecnb.sources.base import SourceInfo
from codecnb.sources.open import open_source

log = logging.getLogger(__name__)


def check_window(uri: str, start: int = 0, frames: int | None = None,
                 resize: tuple[int, int] | None = None) -> SourceInfo:
    """Open ``uri`` and check that its window can be delivered: the source exists, is
    readable and decodable, and holds ``frames`` frames from frame ``start``.

    The first frame is always decoded; the frames are counted by decoding only when the
    container does not say how many it holds (then up to ``frames`` are decoded).

    Returns
    -------
    SourceInfo
        The source as it will be delivered.

    Raises
    ------
    SourceError
        One line naming the URI and the problem.
    """
    src = open_source(uri, start=start, frames=frames, resize=resize)
    known = src.info.frames
    if known is not None and frames is not None and known < frames:
        raise _too_few(uri, start, frames, known)
    if known == 0:
        raise SourceError(f"source {uri!r} has no frames from frame {start}")
    count_all = known is None and frames is not None
    delivered = 0
    segments = src.segments(16 if count_all else 1)
    try:
        for seg in segments:
            delivered += len(seg)
            if not count_all:
                break
    finally:
        segments.close()
    if count_all and delivered < frames:
        raise _too_few(uri, start, frames, delivered)
    return src.info


def _too_few(uri: str, start: int, wanted: int, have: int) -> SourceError:
    if have == 0:
        return SourceError(f"source {uri!r} has no frames from frame {start} (--start)")
    return SourceError(f"source {uri!r} has only {have} frame{'s' if have > 1 else ''} from "
                       f"frame {start}, {wanted} requested (--frames/--start)")
