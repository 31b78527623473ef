"""Starter codec: 8x8 block DCT with closed-loop temporal prediction.

A readable seed for codec search, and the worked example shown to the LLM.

Pipeline (per segment of frames):

1. Colour: RGB to full-range Y'CbCr (JPEG's BT.601 matrix); Cb and Cr are averaged over
   2x2 blocks (4:2:0). Planes are padded to a multiple of 16 pixels by edge replication.
2. Prediction: the first frame is coded on its own (intra, around 128); every later frame
   codes its difference from the *reconstructed* previous frame (closed loop, so the decoder
   predicts from exactly what the encoder predicted from and errors do not drift).
3. Transform: orthonormal 8x8 DCT-II of every block.
4. Quantisation: JPEG's Annex K tables scaled by ``quality`` as libjpeg does (quality 50 is
   the table itself); residual frames use a dead zone that sends small values to zero.
5. Entropy stage: coefficients are grouped by frequency across all blocks, split into a
   significance bitmap and the non-zero values, and compressed with LZMA (preset 2: fast;
   higher presets save about 10 % more at five times the time).

Only numpy and the standard library are used.
"""
import lzma
import struct

import numpy as np

MAGIC = b"SC01"
B = 8  # block size

_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], np.float32).reshape(B, B)
_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
], np.float32).reshape(B, B)


def _dct_matrix(n=B):
    k = np.arange(n)[:, None]
    m = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


_D = _dct_matrix()


def _qtable(base, quality):
    """libjpeg's quality scaling of a quantisation table."""
    q = min(max(int(quality), 1), 100)
    scale = 5000 / q if q < 50 else 200 - 2 * q
    return np.clip(np.floor((base * scale + 50) / 100), 1, 255).astype(np.float32)


def _transform(blocks, left, right):
    """left @ block @ right for every 8x8 block, as two large matrix products."""
    shape = blocks.shape
    x = (blocks.reshape(-1, B) @ right).reshape(shape)
    return (x.swapaxes(-1, -2).reshape(-1, B) @ left.T).reshape(shape).swapaxes(-1, -2)


def _to_blocks(plane):
    h, w = plane.shape
    return plane.reshape(h // B, B, w // B, B).transpose(0, 2, 1, 3)


def _from_blocks(blocks):
    nh, nw = blocks.shape[:2]
    return blocks.transpose(0, 2, 1, 3).reshape(nh * B, nw * B)


def _rgb_to_planes(frame):
    """One RGB frame to padded Y, Cb, Cr float32 planes (4:2:0)."""
    f = frame.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    cb, cr = (0.25 * (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2])
              for c in (cb, cr))
    return [np.pad(p, ((0, -p.shape[0] % B), (0, -p.shape[1] % B)), mode="edge")
            for p in (y, cb, cr)]


def _planes_to_rgb(y, cb, cr, out):
    """Padded Y, Cb, Cr planes to one RGB frame, written into ``out`` (H, W, 3) uint8."""
    h, w = out.shape[:2]
    y = y[:h, :w]
    cb = cb[:h // 2, :w // 2].repeat(2, axis=0).repeat(2, axis=1) - 128
    cr = cr[:h // 2, :w // 2].repeat(2, axis=0).repeat(2, axis=1) - 128
    for c, v in enumerate((y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb)):
        out[..., c] = np.clip(np.rint(v), 0, 255)


def _code(residual, qtab, intra):
    """Quantised DCT coefficients of one residual plane."""
    dct = _transform(_to_blocks(residual), _D, _D.T) / qtab
    if intra:
        return np.rint(dct).astype(np.int16)
    # dead zone: residual coefficients below 0.6 of a step are dropped
    return np.trunc(dct + np.copysign(0.4, dct)).astype(np.int16)


def _reconstruct(pred, q, qtab):
    rec = pred + _from_blocks(_transform(q.astype(np.float32) * qtab, _D.T, _D))
    return np.clip(np.rint(rec), 0, 255)


def _pack(coeffs):
    """Frequency-major layout, significance bitmap plus non-zero values."""
    by_freq = coeffs.reshape(-1, B * B).T.ravel()  # all DC terms, then each AC position
    nonzero = by_freq != 0
    values = by_freq[nonzero]
    small = np.all(np.abs(values) < 128)
    body = np.packbits(nonzero).tobytes() + (values.astype(np.int8 if small else np.int16)
                                             .tobytes())
    return struct.pack("<B", 1 if small else 2) + body


def encode(frames, quality):
    t, h, w, _ = frames.shape
    tables = [_qtable(_LUMA, quality)] + [_qtable(_CHROMA, quality)] * 2
    coeffs = [[], [], []]  # per plane, per frame
    prev = None
    for i in range(t):
        planes = _rgb_to_planes(frames[i])
        if prev is None:
            prev = [np.full_like(p, 128.0) for p in planes]
        for c, (plane, tab) in enumerate(zip(planes, tables)):
            q = _code(plane - prev[c], tab, intra=(i == 0))
            coeffs[c].append(q)
            prev[c] = _reconstruct(prev[c], q, tab)
    chunks = [_pack(np.stack(c)) for c in coeffs]
    header = MAGIC + struct.pack("<HHHB", t, h, w, quality)
    lengths = struct.pack("<3I", *(len(c) for c in chunks))
    return header + lzma.compress(lengths + b"".join(chunks), preset=2)


def _unpack(chunk, shape):
    width = chunk[0]
    n = int(np.prod(shape))
    bitmap_len = (n + 7) // 8
    nonzero = np.unpackbits(np.frombuffer(chunk, np.uint8, bitmap_len, 1))[:n].astype(bool)
    values = np.frombuffer(chunk, np.int8 if width == 1 else np.int16, offset=1 + bitmap_len)
    by_freq = np.zeros(n, np.int16)
    by_freq[nonzero] = values
    return by_freq.reshape(B * B, -1).T.reshape(shape)


def decode(data):
    if data[:4] != MAGIC:
        raise ValueError("not a starter-codec bitstream")
    t, h, w, quality = struct.unpack_from("<HHHB", data, 4)
    body = lzma.decompress(data[11:])
    lengths = struct.unpack_from("<3I", body)
    tables = [_qtable(_LUMA, quality)] + [_qtable(_CHROMA, quality)] * 2
    sizes = [(h + -h % B, w + -w % B)] + [(h // 2 + -(h // 2) % B, w // 2 + -(w // 2) % B)] * 2
    coeffs, pos = [], 12
    for n, (ph, pw) in zip(lengths, sizes):
        coeffs.append(_unpack(body[pos:pos + n], (t, ph // B, pw // B, B, B)))
        pos += n
    out = np.empty((t, h, w, 3), np.uint8)
    prev = [np.full(size, 128.0, np.float32) for size in sizes]
    for i in range(t):
        prev = [_reconstruct(prev[c], coeffs[c][i], tables[c]) for c in range(3)]
        _planes_to_rgb(*prev, out[i])
    return out
