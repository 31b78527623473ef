"""Block-transform codec of the offline search family: its "classic" engine
(codecnb.generators.family_space; the "hybrid" engine is the starter codec itself).

Built from the earlier starter codec's ideas; the parameters below select the variant:

- BLOCK: DCT block size (4, 8 or 16);
- QTABLE: quantisation matrix ("jpeg": JPEG Annex K tables mapped to the block size by
  frequency, "flat", or "slope": 1 + SLOPE * (u + v) relative steps), QSCALE multiplies it;
- CHROMA: "420" (2x2 averaged) or "444";
- COLOR: "ycbcr" (JPEG full range) or "ycocg" (lifting, exactly invertible in floats);
- PREDICT: "intra" (every frame alone), "previous" (difference from the reconstructed
  previous frame) or "motion" (16x16 block matching against it, +-SEARCH pixels);
- DEADZONE: rounding offset of residual coefficients (0.5 = plain rounding);
- ENTROPY and LEVEL: the general-purpose compressor of the coefficient streams.

Prediction is closed-loop: encoder and decoder predict from the same reconstruction.
"""
import bz2
import lzma
import struct
import zlib

import numpy as np

# --- parameters ---
BLOCK = 8
QTABLE = "jpeg"
SLOPE = 0.5
QSCALE = 1.0
CHROMA = "420"
COLOR = "ycbcr"
PREDICT = "previous"
SEARCH = 4
DEADZONE = 0.4
ENTROPY = "lzma"
LEVEL = 2
# --- end parameters ---

MAGIC = b"CF01"
MB = 16  # motion block size (luma)

_JPEG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], np.float32).reshape(8, 8)
_JPEG_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
] + [99] * 32, np.float32).reshape(8, 8)


def _dct_matrix(n):
    k = np.arange(n)[:, None]
    m = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


_D = _dct_matrix(BLOCK)


def _base_table(chroma):
    if QTABLE == "flat":
        return np.full((BLOCK, BLOCK), 16.0, np.float32)
    if QTABLE == "slope":
        u = np.arange(BLOCK)
        return (12.0 * (1 + SLOPE * (u[:, None] + u[None, :]) * 8 / BLOCK)).astype(np.float32)
    src = _JPEG_CHROMA if chroma else _JPEG_LUMA
    idx = np.arange(BLOCK) * 8 // BLOCK
    return src[np.ix_(idx, idx)]


def _qtable(quality, chroma):
    q = min(max(int(quality), 1), 100)
    scale = (5000 / q if q < 50 else 200 - 2 * q) * QSCALE
    return np.clip(np.floor((_base_table(chroma) * scale + 50) / 100), 1, 255).astype(np.float32)


def _transform(blocks, left, right):
    shape = blocks.shape
    x = (blocks.reshape(-1, BLOCK) @ right).reshape(shape)
    return (x.swapaxes(-1, -2).reshape(-1, BLOCK) @ left.T).reshape(shape).swapaxes(-1, -2)


def _to_blocks(plane):
    h, w = plane.shape
    return plane.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3)


def _from_blocks(blocks):
    nh, nw = blocks.shape[:2]
    return blocks.transpose(0, 2, 1, 3).reshape(nh * BLOCK, nw * BLOCK)


def _pad_to(plane, mult):
    return np.pad(plane, ((0, -plane.shape[0] % mult), (0, -plane.shape[1] % mult)), mode="edge")


def _to_planes(frame):
    f = frame.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    if COLOR == "ycocg":
        co = r - b
        t = b + co / 2
        cg = g - t
        y, c1, c2 = t + cg / 2, co + 128, cg + 128
    else:
        y = 0.299 * r + 0.587 * g + 0.114 * b
        c1 = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
        c2 = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    if CHROMA == "420":
        c1, c2 = (0.25 * (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2])
                  for c in (c1, c2))
    chroma_pad = max(BLOCK, MB // 2) if CHROMA == "420" else MB
    return [_pad_to(y, MB), _pad_to(c1, chroma_pad), _pad_to(c2, chroma_pad)]


def _to_rgb(planes, out):
    h, w = out.shape[:2]
    y = planes[0][:h, :w]
    c1, c2 = planes[1], planes[2]
    if CHROMA == "420":
        c1 = c1.repeat(2, axis=0).repeat(2, axis=1)
        c2 = c2.repeat(2, axis=0).repeat(2, axis=1)
    c1, c2 = c1[:h, :w] - 128, c2[:h, :w] - 128
    if COLOR == "ycocg":
        t = y - c2 / 2
        g = c2 + t
        b = t - c1 / 2
        rgb = (b + c1, g, b)
    else:
        rgb = (y + 1.402 * c2, y - 0.344136 * c1 - 0.714136 * c2, y + 1.772 * c1)
    for c, v in enumerate(rgb):
        out[..., c] = np.clip(np.rint(v), 0, 255)


def _motion_search(cur, ref):
    """Per 16x16 block, the (dy, dx) in +-SEARCH minimising the SAD against ``ref``."""
    h, w = cur.shape
    s = SEARCH
    padded = np.pad(ref, s, mode="edge")
    best = np.full((h // MB, w // MB), np.inf, np.float32)
    mv = np.zeros((h // MB, w // MB, 2), np.int8)
    for dy in range(-s, s + 1):
        for dx in range(-s, s + 1):
            diff = np.abs(cur - padded[s + dy:s + dy + h, s + dx:s + dx + w])
            sad = diff.reshape(h // MB, MB, w // MB, MB).sum(axis=(1, 3))
            sad += 0.5 * (abs(dy) + abs(dx))  # prefer small vectors on ties
            better = sad < best
            best[better] = sad[better]
            mv[better] = (dy, dx)
    return mv


def _predict(ref, mv, scale):
    """Motion-compensated prediction of a plane from vectors on a (MB/scale) grid."""
    h, w = ref.shape
    bs = MB // scale
    s = SEARCH
    padded = np.pad(ref, s, mode="edge")
    vy, vx = (np.repeat(np.repeat(mv[..., i] // scale, bs, axis=0), bs, axis=1)
              for i in (0, 1))
    grow = ((0, max(0, h - vy.shape[0])), (0, max(0, w - vy.shape[1])))
    vy, vx = (np.pad(v, grow, mode="edge")[:h, :w] for v in (vy, vx))
    rows = np.arange(h)[:, None] + s + vy
    cols = np.arange(w)[None, :] + s + vx
    return padded[rows, cols]


def _quantise(residual, qtab, intra):
    c = _transform(_to_blocks(residual), _D, _D.T) / qtab
    if intra:
        return np.rint(c).astype(np.int16)
    return np.trunc(c + np.copysign(DEADZONE, c)).astype(np.int16)


def _reconstruct(pred, q, qtab):
    rec = pred + _from_blocks(_transform(q.astype(np.float32) * qtab, _D.T, _D))
    return np.clip(np.rint(rec), 0, 255)


def _predictions(prev, mv):
    if mv is None:
        return prev
    scale = 2 if CHROMA == "420" else 1
    return [_predict(prev[0], mv, 1)] + [_predict(p, mv, scale) for p in prev[1:]]


def _pack(coeffs):
    by_freq = coeffs.reshape(-1, BLOCK * BLOCK).T.ravel()
    nonzero = by_freq != 0
    values = by_freq[nonzero]
    small = np.all(np.abs(values) < 128)
    return (struct.pack("<B", 1 if small else 2) + np.packbits(nonzero).tobytes()
            + values.astype(np.int8 if small else np.int16).tobytes())


def _unpack(chunk, shape):
    n = int(np.prod(shape))
    nbits = (n + 7) // 8
    nonzero = np.unpackbits(np.frombuffer(chunk, np.uint8, nbits, 1))[:n].astype(bool)
    values = np.frombuffer(chunk, np.int8 if chunk[0] == 1 else np.int16, offset=1 + nbits)
    out = np.zeros(n, np.int16)
    out[nonzero] = values
    return out.reshape(BLOCK * BLOCK, -1).T.reshape(shape)


def _compress(data):
    if ENTROPY == "zlib":
        return zlib.compress(data, min(int(LEVEL), 9))
    if ENTROPY == "bz2":
        return bz2.compress(data, max(1, min(int(LEVEL), 9)))
    return lzma.compress(data, preset=min(int(LEVEL), 9))


def _decompress(data):
    if ENTROPY == "zlib":
        return zlib.decompress(data)
    if ENTROPY == "bz2":
        return bz2.decompress(data)
    return lzma.decompress(data)


def encode(frames, quality):
    t, h, w, _ = frames.shape
    tables = [_qtable(quality, False), _qtable(quality, True), _qtable(quality, True)]
    coeffs, vectors, prev = [[], [], []], [], None
    for i in range(t):
        planes = _to_planes(frames[i])
        intra = prev is None or PREDICT == "intra"
        mv = None
        if not intra and PREDICT == "motion":
            mv = _motion_search(planes[0], prev[0])
            vectors.append(mv)
        preds = [np.full_like(p, 128.0) for p in planes] if intra else _predictions(prev, mv)
        prev = []
        for c, (plane, pred, tab) in enumerate(zip(planes, preds, tables)):
            q = _quantise(plane - pred, tab, intra)
            coeffs[c].append(q)
            prev.append(_reconstruct(pred, q, tab))
    chunks = [_pack(np.stack(c)) for c in coeffs]
    chunks.append(np.stack(vectors).tobytes() if vectors else b"")
    head = MAGIC + struct.pack("<HHHB", t, h, w, int(quality))
    lengths = struct.pack("<4I", *(len(c) for c in chunks))
    return head + _compress(lengths + b"".join(chunks))


def decode(data):
    if data[:4] != MAGIC:
        raise ValueError("not a family-codec bitstream")
    t, h, w, quality = struct.unpack_from("<HHHB", data, 4)
    body = _decompress(data[11:])
    lengths = struct.unpack_from("<4I", body)
    tables = [_qtable(quality, False), _qtable(quality, True), _qtable(quality, True)]
    shapes = [p.shape for p in _to_planes(np.zeros((h, w, 3), np.uint8))]
    pos, coeffs = 16, []
    for n, shape in zip(lengths[:3], shapes):
        coeffs.append(_unpack(body[pos:pos + n], (t, shape[0] // BLOCK, shape[1] // BLOCK,
                                                  BLOCK, BLOCK)))
        pos += n
    mvs = np.frombuffer(body, np.int8, lengths[3], pos).reshape(
        -1, shapes[0][0] // MB, shapes[0][1] // MB, 2) if lengths[3] else None
    out = np.empty((t, h, w, 3), np.uint8)
    prev, k = None, 0
    for i in range(t):
        intra = prev is None or PREDICT == "intra"
        mv = None
        if not intra and PREDICT == "motion":
            mv, k = mvs[k], k + 1
        preds = ([np.full(s, 128.0, np.float32) for s in shapes] if intra
                 else _predictions(prev, mv))
        prev = [_reconstruct(p, coeffs[c][i], tables[c]) for c, p in enumerate(preds)]
        _to_rgb(prev, out[i])
    return out
