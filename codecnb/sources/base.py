"""What every source is: a description and a stream of RGB frame segments."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np

from codecnb.errors import SourceError

#: Frames per segment when the caller does not say: 16 frames of 1080p RGB are 100 MB.
DEFAULT_SEGMENT_FRAMES = 16
#: Smallest width and height delivered, in pixels: Wang SSIM's 11x11 window must fit the
#: luma plane, and sizes are even.
MIN_SIDE = 12


@dataclass(frozen=True)
class Window:
    """Which frames of a clip to deliver, and at what size.

    Attributes
    ----------
    start : int
        Index of the first frame (0-based, in decode order).
    frames : int or None
        How many frames at most; ``None`` means to the end of the clip.
    resize : (int, int) or None
        Output (width, height) in pixels, or ``None`` for the native size.
    """

    start: int = 0
    frames: int | None = None
    resize: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.start < 0:
            raise SourceError(f"start frame must be >= 0, got {self.start}")
        if self.frames is not None and self.frames < 1:
            raise SourceError(f"frame count must be >= 1, got {self.frames}")
        if self.resize is not None and min(self.resize) < 2:
            raise SourceError(f"resize must be at least 2x2, got {self.resize[0]}x{self.resize[1]}")


@dataclass(frozen=True)
class SourceInfo:
    """Description of a source as it will be delivered (after resizing).

    Attributes
    ----------
    uri : str
        The URI the source was opened from.
    width, height : int
        Frame size in pixels; always even (4:2:0 metrics need it).
    fps : float
        Frame rate in frames per second, used for bitrates.
    codec, pix_fmt : str
        What the underlying stream is (``"synthetic"`` for generated clips).
    frames : int or None
        Number of frames the window will deliver when known without decoding, else None.
    """

    uri: str
    width: int
    height: int
    fps: float
    codec: str
    pix_fmt: str
    frames: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class Source(ABC):
    """A video source: :attr:`info`, then frames as uint8 RGB arrays of shape (T, H, W, 3).

    Frames are produced segment by segment, so memory is bounded by the segment size and not
    by the clip length.
    """

    info: SourceInfo

    @abstractmethod
    def _frames(self) -> Iterator[np.ndarray]:
        """Yield the window's frames one by one, each (H, W, 3) uint8 RGB."""

    def segments(self, segment_frames: int = DEFAULT_SEGMENT_FRAMES) -> Iterator[np.ndarray]:
        """Yield the window's frames in segments of at most ``segment_frames`` frames.

        Raises
        ------
        SourceError
            When the window holds no frame at all.
        """
        if segment_frames < 1:
            raise SourceError(f"segment_frames must be >= 1, got {segment_frames}")
        h, w = self.info.height, self.info.width
        seg = np.empty((segment_frames, h, w, 3), np.uint8)  # handed over, not copied
        n = total = 0
        for frame in self._frames():
            seg[n] = frame
            n += 1
            if n == segment_frames:
                total += n
                yield seg
                seg = np.empty((segment_frames, h, w, 3), np.uint8)
                n = 0
        total += n
        if n:
            yield seg[:n]
        if total == 0:
            raise SourceError(f"source {self.info.uri!r} has no frames in the requested window")

    def read(self) -> np.ndarray:
        """All frames of the window at once, (T, H, W, 3) uint8. Mind the memory."""
        return np.concatenate(list(self.segments()), axis=0)


def check_frame_size(uri: str, width: int, height: int) -> None:
    """Refuse frame sizes the metrics cannot measure: odd ones (4:2:0 chroma planes need
    even width and height) and ones below :data:`MIN_SIDE` (SSIM's 11x11 window)."""
    hint = ("resize it to an even size of at least {0}x{0}: --resize WxH, or resize=WxH in "
            "the URI or the suite's clip").format(MIN_SIDE)
    if width % 2 or height % 2:
        raise SourceError(f"source {uri!r} has odd dimensions {width}x{height}; 4:2:0 needs "
                          f"even ones ({hint})")
    if min(width, height) < MIN_SIDE:
        raise SourceError(f"source {uri!r}: frames of {width}x{height} are too small; SSIM's "
                          f"11x11 window needs at least {MIN_SIDE}x{MIN_SIDE} ({hint})")
