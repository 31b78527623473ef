"""Video sources: turn a source URI into a stream of RGB frame segments.

>>> from codecnb.sources import open_source
>>> src = open_source("sample:bigbuckbunny", frames=8)
>>> src.info.width, src.info.height
(1280, 720)
>>> sum(len(seg) for seg in src.segments(4))
8
"""
from codecnb.sources.base import DEFAULT_SEGMENT_FRAMES, Source, SourceInfo, Window
from codecnb.sources.open import DEFAULT_SOURCE, open_source, register_scheme

__all__ = ["DEFAULT_SEGMENT_FRAMES", "DEFAULT_SOURCE", "Source", "SourceInfo", "Window",
           "open_source", "register_scheme"]
