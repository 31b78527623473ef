"""JPEG per frame with OpenCV (libjpeg): the intra-only anchor of every BD-rate."""
from __future__ import annotations

import struct

import cv2
import numpy as np

from codecnb.errors import CodecError


class JpegCodec:
    """Each frame a baseline JPEG (4:2:0, optimised Huffman tables), length-prefixed.

    ``quality`` is libjpeg's quality 1..100. The 4-byte length of each frame is part of the
    bitstream and counted in the bitrate.
    """

    name = "jpeg"
    knob = "quality"

    def encode(self, frames: np.ndarray, quality: int) -> bytes:
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_OPTIMIZE, 1,
                  cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420]
        out = bytearray()
        for frame in frames:
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), params)
            if not ok:
                raise CodecError("jpeg: OpenCV could not encode a frame")
            out += struct.pack("<I", len(buf)) + buf.tobytes()
        return bytes(out)

    def decode(self, data: bytes) -> np.ndarray:
        frames, pos = [], 0
        while pos < len(data):
            (n,) = struct.unpack_from("<I", data, pos)
            img = cv2.imdecode(np.frombuffer(data, np.uint8, n, pos + 4), cv2.IMREAD_COLOR)
            if img is None:
                raise CodecError("jpeg: corrupt frame in bitstream")
            frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            pos += 4 + n
        return np.stack(frames)
