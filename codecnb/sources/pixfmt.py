"""Pixel formats of more than 8 bits a sample, and the 8-bit layout they are reduced to.

Convention (docs/architecture.md, "Sources"): a source whose samples have more than 8 bits
(10-bit HDR-less video, 12-bit, 16-bit) is first rounded to 8 bits in its own layout
(same chroma subsampling, matrix and range): ``round(v / 2**(depth - 8))``, half up, no
dither (swscale with ``sws_dither=none``). From there it is delivered exactly as the
8-bit clip of that layout would be, so a 10-bit copy of an 8-bit clip gives the same frames.
"""
from __future__ import annotations

import re

_DEEP = re.compile(r"^(?P<base>[a-z0-9]*?[a-z])(?P<depth>9|10|12|14|16)(?P<endian>le|be)$")
#: Semi-planar and packed deep formats whose 8-bit sibling is not their name minus the depth.
_SPECIAL = {"p010": "nv12", "p012": "nv12", "p016": "nv12", "p210": "nv16", "p216": "nv16",
            "p410": "nv24", "p416": "nv24", "rgb48": "rgb24", "bgr48": "bgr24",
            "rgba64": "rgba", "bgra64": "bgra", "y210": "yuyv422", "y212": "yuyv422"}
#: 8-bit formats that ``_DEEP`` names give and ffmpeg has.
_EIGHT = {"yuv420p", "yuv422p", "yuv444p", "yuv440p", "yuv411p", "yuva420p", "yuva422p",
          "yuva444p", "gray", "gbrp", "gbrap", "nv12", "nv16", "nv24", "rgb24", "bgr24",
          "rgba", "bgra", "yuyv422"}


def eight_bit_layout(pix_fmt: str) -> str | None:
    """The 8-bit pixel format a deeper ``pix_fmt`` is rounded to, or None when ``pix_fmt``
    already has 8 bits (or is not a deep format we know: it is then converted directly).

    >>> eight_bit_layout("yuv420p10le"), eight_bit_layout("gray12le"), eight_bit_layout("p010le")
    ('yuv420p', 'gray', 'nv12')
    >>> eight_bit_layout("yuv420p") is None
    True
    """
    stem = pix_fmt[:-2] if pix_fmt.endswith(("le", "be")) else pix_fmt
    if stem in _SPECIAL:
        return _SPECIAL[stem]
    m = _DEEP.match(pix_fmt)
    if m is None:
        return None
    base = m.group("base")
    return base if base in _EIGHT else None


def reduce_filter(pix_fmt: str) -> list[str]:
    """ffmpeg filters that round a deep ``pix_fmt`` to its 8-bit layout ([] when 8-bit)."""
    target = eight_bit_layout(pix_fmt)
    return [f"scale=sws_dither=none,format={target}"] if target else []
