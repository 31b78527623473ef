"""Deterministic generated clips for tests: ``synthetic:KIND?size=WxH&frames=N&fps=F&seed=S``.

Kinds
-----
``pan`` (default)
    A colour texture (sinusoidal gratings plus smoothed noise) panning diagonally, with a
    bright disc moving across it: texture, motion and edges, like real footage.
``static``
    The same texture, not moving: every frame equal (temporal prediction is perfect).
``noise``
    Independent uniform noise in every frame: incompressible.
"""
from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np

from codecnb.errors import SourceError
from codecnb.sources.base import Source, SourceInfo, Window, check_frame_size
from codecnb.sources.uri import parse_number, parse_size

KINDS = ("pan", "static", "noise")
DEFAULTS = {"size": "320x240", "frames": "30", "fps": "25", "seed": "0"}


def _texture(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((h, w, 3), np.float32)
    for c in range(3):
        fx, fy = rng.uniform(0.01, 0.08, 2)
        phase = rng.uniform(0, 2 * np.pi)
        grating = 60 * np.sin(2 * np.pi * (fx * xx + fy * yy) + phase)
        noise = cv2.GaussianBlur(rng.normal(0, 40, (h, w)).astype(np.float32), (0, 0), 2.0)
        out[..., c] = 128 + grating + noise
    return np.clip(out, 0, 255)


#: Bump when the generated pixels of any kind change (part of a generated clip's identity).
GENERATOR_VERSION = "1"


class SyntheticSource(Source):
    """A generated clip; the same URI always gives the same frames."""

    def canonical(self) -> dict:
        """What the clip's pixels depend on, with defaults filled in: the generator and its
        version, kind, size, length, frame rate and seed (not the URI's spelling)."""
        return {"generator": "codecnb.synthetic", "version": GENERATOR_VERSION,
                "kind": self.kind, "size": [self.width, self.height], "frames": self.total,
                "fps": self.info.fps, "seed": self.seed}

    def __init__(self, kind: str, uri: str, window: Window, options: dict[str, str]):
        kind = kind or "pan"
        if kind not in KINDS:
            raise SourceError(f"source {uri!r}: unknown synthetic kind {kind!r} "
                              f"(known: {', '.join(KINDS)})")
        opts = {**DEFAULTS, **options}
        self.kind = kind
        self.width, self.height = parse_size(opts["size"], "size", uri)
        self.total = int(parse_number(opts["frames"], "frames", uri))
        fps = float(parse_number(opts["fps"], "fps", uri, float))
        self.seed = int(parse_number(opts["seed"], "seed", uri))
        if self.total < 0 or fps <= 0:
            raise SourceError(f"source {uri!r}: frames must be >= 0 and fps > 0")
        self.window = window
        width, height = window.resize or (self.width, self.height)
        check_frame_size(uri, width, height)
        frames = max(0, self.total - window.start)
        if window.frames is not None:
            frames = min(frames, window.frames)
        self.info = SourceInfo(uri=uri, width=width, height=height, fps=fps,
                               codec="synthetic", pix_fmt="rgb24", frames=frames)

    def _frames(self) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        h, w = self.height, self.width
        pad = 2 * self.total + 2
        tex = _texture(h + pad, w + pad, rng) if self.kind != "noise" else None
        yy, xx = np.mgrid[0:h, 0:w]
        radius = max(2, min(h, w) // 8)
        stop = self.total if self.window.frames is None else min(
            self.total, self.window.start + self.window.frames)
        for t in range(stop):
            if self.kind == "noise":
                frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            else:
                d = 0 if self.kind == "static" else 2 * t
                frame = tex[d // 2 + d % 2: d // 2 + d % 2 + h, d: d + w].copy()
                if self.kind == "pan":
                    cx = (w // 4 + 3 * t) % w
                    cy = h // 2 + int(h // 6 * np.sin(t / 5))
                    disc = (xx - cx) ** 2 + (yy - cy) ** 2 < radius ** 2
                    frame[disc] = (240, 220, 40)
                frame = frame.astype(np.uint8)
            if t < self.window.start:
                continue
            if self.window.resize:
                frame = cv2.resize(frame, self.window.resize, interpolation=cv2.INTER_AREA)
            yield frame
