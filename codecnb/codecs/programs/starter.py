"""Starter codec: a small H.264-style hybrid video codec in numpy + constriction.

A readable seed for codec search, and the worked example shown to the LLM. Every tool is
its own function, with what it buys, and can be switched off by the flags below (the
ablation benchmark, ``benchmarks/codec_tools.py``, measures each one).

Pipeline, per segment of frames (the first frame, and any scene cut, is intra):

1. Colour: RGB to full-range Y'CbCr (BT.601), chroma averaged over 2x2 (4:2:0); planes
   padded by edge replication to a multiple of 16 (luma) / 8 (chroma) pixels.
2. Prediction, closed loop (from the *reconstructed* frames, as the decoder sees them):
   intra frames predict each 8x8 block from its reconstructed top/left neighbours (DC,
   horizontal, vertical or planar, chosen by rate-distortion cost); inter frames use
   quarter-pel motion compensation from the previous frame, 16x16 blocks that may split
   into four 8x8 blocks.
3. Transform and quantisation: orthonormal 8x8 DCT, uniform step from ``quality`` (the
   H.264 QP scale), dead-zone rounding and rate-distortion zeroing of whole blocks, with
   lambda = 0.13 * step**2 (distortion in squared pixel error, rate in bits).
4. In-loop deblocking of the 8x8 block edges (the filtered frame is the next reference).
5. Entropy coding with constriction's range coder: adaptive frequency tables per context
   (coefficient band x neighbourhood magnitude, last-coefficient position, modes, motion
   vector differences), learned on the fly by encoder and decoder alike.

Contract: ``encode(frames, quality) -> bytes`` (frames uint8 (T, H, W, 3) RGB, quality
0..100) and ``decode(data) -> uint8 (T, H, W, 3)``.
"""
import struct

import constriction
import numpy as np
from scipy.ndimage import correlate1d

# --- parameters --- (tools: set one to False to measure what it buys)
INTRA_PRED = True  # DC/H/V/planar prediction of intra blocks (else a flat 128)
MOTION = True  # motion compensation (else: difference from the previous frame)
SUBPEL = True  # quarter-pel motion vectors (else whole pixels)
SPLIT = True  # 16x16 motion blocks may split into four 8x8 blocks
DEBLOCK = True  # in-loop deblocking filter
RDO = True  # rate-distortion decisions (modes, dead zone, block zeroing, scene cuts)
CONTEXTS = True  # context modelling of coefficients (else one adaptive table per plane)
LAMBDA_SCALE = 1.0  # multiplies the rate-distortion lambda
CHROMA_STEP = 1.25  # chroma quantiser step relative to luma
INTRA_STEP = 0.75  # intra frames' step relative to inter frames' (they are referenced most)
RADIUS = 7  # coarse motion search range, in pixels at quarter resolution
# --- end parameters ---

MAGIC = b"SC02"
B = 8           # transform and intra block size
MB = 16         # motion block size (luma)
PAD = 48        # reference padding (luma pixels); motion vectors stay within +-40 pixels
ESC = 17        # symbols 0..16 coded directly, 17 = escape (Elias-gamma remainder)

_QUEUE = constriction.stream.queue
_CAT = constriction.stream.model.Categorical


def _dct_matrix(n=B):
    k = np.arange(n)[:, None]
    m = np.cos(np.pi * (2 * np.arange(n)[None, :] + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


_D = _dct_matrix()
# zigzag scan: low frequencies first, so that trailing zeros end a block early
_ZZ = np.array(sorted(range(64), key=lambda i: (i // 8 + i % 8,
                                                 (i % 8) if (i // 8 + i % 8) % 2 else i // 8)))
_BAND = np.minimum(_ZZ // 8 + _ZZ % 8, 7)   # band group (anti-diagonal) of each scan index


def _step(quality):
    """Quantiser step (pixel units of the orthonormal DCT): H.264's 0.625 * 2**(QP/6), QP
    running from 50 at quality 0 to 20 at quality 100."""
    qp = 50.0 - 0.3 * min(max(float(quality), 0.0), 100.0)
    return 0.625 * 2.0 ** (qp / 6.0)


def _lambda(step):
    """Lagrange multiplier of rate (bits) against squared error, H.264's mode lambda."""
    return 0.13 * LAMBDA_SCALE * step * step


# ---------------------------------------------------------------- colour and planes

def _to_planes(frame):
    f = frame.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    h, w = y.shape
    y = np.pad(y, ((0, -h % MB), (0, -w % MB)), mode="edge")
    out = [y]
    for c in (cb, cr):
        c = np.pad(c, ((0, h % 2), (0, w % 2)), mode="edge")
        c = 0.25 * (c[0::2, 0::2] + c[1::2, 0::2] + c[0::2, 1::2] + c[1::2, 1::2])
        out.append(np.pad(c, ((0, y.shape[0] // 2 - c.shape[0]), (0, y.shape[1] // 2 - c.shape[1])),
                          mode="edge"))
    return out


def _to_rgb(planes, out):
    h, w = out.shape[:2]
    y = planes[0][:h, :w]
    cb, cr = (p.repeat(2, axis=0).repeat(2, axis=1)[:h, :w] - 128 for p in planes[1:])
    for c, v in enumerate((y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb)):
        out[..., c] = np.clip(np.rint(v), 0, 255)


def _blocks(plane, n=B):
    h, w = plane.shape
    return plane.reshape(h // n, n, w // n, n).transpose(0, 2, 1, 3)


def _unblocks(blocks):
    nh, nw, n, _ = blocks.shape
    return blocks.transpose(0, 2, 1, 3).reshape(nh * n, nw * n)


def _dct(x):
    return _D @ x @ _D.T


def _idct(c):
    return _D.T @ c @ _D


# ------------------------------------------------------- quantisation with RD decisions

def _rate(q):
    """Estimated bits of quantised blocks (..., 8, 8): a cheap proxy of the entropy coder
    used by the rate-distortion decisions (per block, not per coefficient)."""
    a = np.abs(q)
    nz = a > 0
    return 1.0 + (nz * (2.5 + 2.0 * np.log2(1 + a))).sum(axis=(-1, -2))


def _quantise(coefs, step, lam, intra):
    """Quantised levels of DCT blocks (..., 8, 8) and their RD cost.

    Dead-zone rounding (offset 1/3 intra, 1/6 inter, as H.264's reference encoder) keeps
    coefficients that are barely worth their bits at zero; a block whose coefficients cost
    more bits than the distortion they remove (weighted by lambda) is dropped whole.
    Without RDO: plain rounding and no block decisions."""
    x = coefs / step
    offset = (1 / 3 if intra else 1 / 6) if RDO else 0.5
    q = np.sign(x) * np.floor(np.abs(x) + offset)
    err = ((coefs - q * step) ** 2).sum(axis=(-1, -2))
    cost = err + lam * _rate(q)
    if RDO:
        zero_cost = (coefs ** 2).sum(axis=(-1, -2)) + lam * 1.0
        drop = zero_cost <= cost
        q[drop] = 0
        cost = np.where(drop, zero_cost, cost)
    return q.astype(np.int32), cost


# --------------------------------------------------------------------- intra prediction

def _intra_modes(top, left, n=B):
    """The four intra predictions (N, 4, n, n) of N blocks from their top row and left
    column (N, n): DC, horizontal, vertical, planar. Prediction from reconstructed
    neighbours removes most of a smooth block's energy before the transform."""
    dc = 0.5 * (top.mean(1) + left.mean(1))
    i = np.arange(n, dtype=np.float32)
    tr, bl = top[:, -1:], left[:, -1:]
    planar = (((n - 1 - i)[None, None, :] * left[:, :, None] + (i + 1)[None, None, :] * tr[:, :, None])
              + ((n - 1 - i)[None, :, None] * top[:, None, :] + (i + 1)[None, :, None] * bl[:, :, None])
              + n) / (2 * n)
    out = np.empty((len(top), 4, n, n), np.float32)
    out[:, 0] = dc[:, None, None]
    out[:, 1] = left[:, :, None]
    out[:, 2] = top[:, None, :]
    out[:, 3] = planar
    return out


def _neighbours(rec, r, c, n=B):
    """Top rows and left columns (N, n) of blocks (r, c); a missing side copies the other,
    a block with neither gets 128."""
    cols = c[:, None] * n + np.arange(n)
    rows = r[:, None] * n + np.arange(n)
    top = rec[np.maximum(r * n - 1, 0)[:, None], cols]
    left = rec[rows, np.maximum(c * n - 1, 0)[:, None]]
    has_top, has_left = (r > 0)[:, None], (c > 0)[:, None]
    top2 = np.where(has_top, top, np.where(has_left, left, 128.0))
    left2 = np.where(has_left, left, np.where(has_top, top, 128.0))
    return top2.astype(np.float32), left2.astype(np.float32)


def _diagonals(nby, nbx):
    """Blocks in wavefront order: every block of one anti-diagonal has its top and left
    neighbours reconstructed, so a whole diagonal is predicted at once."""
    for d in range(nby + nbx - 1):
        r = np.arange(max(0, d - nbx + 1), min(d, nby - 1) + 1)
        yield r, d - r


def _intra_encode(plane, step, lam):
    """Intra-code one plane; returns (modes (nby, nbx), levels (nby, nbx, 8, 8), rec)."""
    nby, nbx = plane.shape[0] // B, plane.shape[1] // B
    orig = _blocks(plane)
    rec = np.zeros_like(plane)
    modes = np.zeros((nby, nbx), np.int32)
    levels = np.zeros((nby, nbx, B, B), np.int32)
    for r, c in _diagonals(nby, nbx):
        if INTRA_PRED:
            pred = _intra_modes(*_neighbours(rec, r, c))
        else:
            pred = np.full((len(r), 1, B, B), 128.0, np.float32)
        coefs = _dct(orig[r, c][:, None] - pred)
        q, cost = _quantise(coefs, step, lam, intra=True)
        best = cost.argmin(1) if RDO else np.zeros(len(r), int)
        k = np.arange(len(r))
        modes[r, c], levels[r, c] = best, q[k, best]
        rec_blocks = np.clip(pred[k, best] + _idct(q[k, best] * step), 0, 255)
        rec.reshape(nby, B, nbx, B)[r, :, c, :] = rec_blocks
    return modes, levels, rec


def _intra_decode(modes, levels, step, shape):
    nby, nbx = shape[0] // B, shape[1] // B
    rec = np.zeros(shape, np.float32)
    for r, c in _diagonals(nby, nbx):
        k = np.arange(len(r))
        if INTRA_PRED:
            pred = _intra_modes(*_neighbours(rec, r, c))[k, modes[r, c]]
        else:
            pred = np.full((len(r), B, B), 128.0, np.float32)
        rec.reshape(nby, B, nbx, B)[r, :, c, :] = np.clip(pred + _idct(levels[r, c] * step), 0, 255)
    return rec


# ----------------------------------------------------------------- motion compensation

_TAPS = np.array([1, -5, 20, 20, -5, 1], np.float32) / 32


def _half(a, axis):
    """H.264's six-tap half-sample interpolation between each sample and the next along
    ``axis`` (edge samples repeat); sharper than bilinear, so sub-pel prediction keeps
    texture."""
    return correlate1d(a, _TAPS, axis=axis, mode="nearest", origin=-1)


def _upsample(ref, pad):
    """The padded reference at half-pel resolution (2H', 2W'): quarter-pel samples are the
    average of the two nearest half-pel samples, as in H.264."""
    r = np.pad(ref, pad, mode="edge")
    h = _half(r, 1)
    v = _half(r, 0)
    hv = _half(h, 0)
    up = np.empty((2 * r.shape[0], 2 * r.shape[1]), np.float32)
    up[0::2, 0::2], up[0::2, 1::2] = r, np.clip(h, 0, 255)
    up[1::2, 0::2], up[1::2, 1::2] = np.clip(v, 0, 255), np.clip(hv, 0, 255)
    return up


def _mc(up, mv, n, pad):
    """Prediction blocks (nby, nbx, n, n) for vectors ``mv`` (nby, nbx, 2) in quarter
    pixels, from the half-pel plane ``up``."""
    nby, nbx = mv.shape[:2]
    i = np.arange(n)
    y4 = ((np.arange(nby)[:, None, None] * n + i + pad) * 4 + mv[..., 0:1])
    x4 = ((np.arange(nbx)[None, :, None] * n + i + pad) * 4 + mv[..., 1:2])
    ya, xa = y4 >> 1, x4 >> 1
    if not (mv & 1).any():  # whole and half pixels are samples of ``up`` itself
        return up[ya[..., :, None], xa[..., None, :]]
    yb, xb = (y4 + 1) >> 1, (x4 + 1) >> 1
    return 0.5 * (up[ya[..., :, None], xa[..., None, :]] + up[yb[..., :, None], xb[..., None, :]])


def _sad(cur_blocks, pred):
    return np.abs(cur_blocks - pred).sum(axis=(-1, -2))


def _coarse_search(cur, ref, radius):
    """Whole-pixel vectors (quarter-pel units) per 16x16 block from a full search at
    quarter resolution (+-4*radius pixels): finds large motion cheaply."""
    def down(p):
        return p.reshape(p.shape[0] // 4, 4, p.shape[1] // 4, 4).mean(axis=(1, 3))
    c, r = down(cur), np.pad(down(ref), radius, mode="edge")
    h, w = c.shape
    best = np.full((h // 4, w // 4), np.inf, np.float32)
    mv = np.zeros((h // 4, w // 4, 2), np.int32)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            sad = np.abs(c - r[radius + dy:radius + dy + h, radius + dx:radius + dx + w])
            sad = sad.reshape(h // 4, 4, w // 4, 4).sum(axis=(1, 3)) + 0.1 * (abs(dy) + abs(dx))
            better = sad < best
            best[better] = sad[better]
            mv[better] = (16 * dy, 16 * dx)
    return mv


def _mv_bits(d):
    """Estimated bits of motion vector differences (..., 2) in quarter pixels."""
    return (1 + 2 * np.log2(1 + np.abs(d))).sum(-1)


def _mv_pred(field):
    """H.264's vector predictor for every block of a field (nby, nbx, 2): the median of
    the left, top and top-right neighbours (top-left at the last column); the first row
    uses the left neighbour. Smooth motion then costs almost nothing to send."""
    z = np.zeros_like(field[:1])
    left = np.concatenate([np.zeros_like(field[:, :1]), field[:, :-1]], 1)
    top = np.concatenate([z, field[:-1]], 0)
    tr = np.concatenate([top[:, 1:], top[:, -2:-1] if field.shape[1] > 1 else top[:, :1]], 1)
    med = np.maximum(np.minimum(left, top), np.minimum(np.maximum(left, top), tr))
    med[0] = left[0]
    return med


def _motion_search(cur, up, lam_mv):
    """Quarter-pel motion of 16x16 blocks and of their 8x8 quarters.

    Coarse search, then per block a descent over +-1 whole, half and quarter pixel steps
    minimising SAD + lambda * (bits of the vector's difference from its predictor); the 8x8
    quarters keep their own best SAD among the same candidates, at no extra cost.
    Returns (mv16 (nby, nbx, 2), sad16, mv8 (nby, nbx, 2, 2, 2), sad8 (nby, nbx, 2, 2))."""
    cb = _blocks(cur, MB)
    nby, nbx = cb.shape[:2]
    cand = [np.zeros((nby, nbx, 2), np.int32)]
    if MOTION:
        cand.append(_coarse_search(cur, up[0::2, 0::2][PAD:-PAD, PAD:-PAD], RADIUS))
    best = best_cost = best_sad = best8 = sad8 = None
    pred = np.zeros((nby, nbx, 2), np.int32)

    def consider(mv):
        nonlocal best, best_cost, best_sad, best8, sad8
        mv = np.clip(mv, -160, 160)
        d = np.abs(cb - _mc(up, mv, MB, PAD))
        s8 = d.reshape(nby, nbx, 2, 8, 2, 8).sum(axis=(3, 5))
        s = s8.sum(axis=(2, 3))
        cost = s + lam_mv * _mv_bits(mv - pred)
        if best is None:
            best, best_cost, best_sad, sad8 = mv, cost, s, s8
            best8 = np.broadcast_to(mv[:, :, None, None], (nby, nbx, 2, 2, 2)).copy()
            return
        better = cost < best_cost
        best = np.where(better[..., None], mv, best)
        best_cost, best_sad = np.where(better, cost, best_cost), np.where(better, s, best_sad)
        b8 = s8 < sad8
        best8 = np.where(b8[..., None], mv[:, :, None, None], best8)
        sad8 = np.where(b8, s8, sad8)

    for mv in cand:
        consider(mv)
    steps = ([4, 4, 2, 1] if SUBPEL else [4, 4]) if MOTION else []
    for step in steps:
        pred = _mv_pred(best)
        best_cost = best_sad + lam_mv * _mv_bits(best - pred)
        centre = best
        for dy in (-step, 0, step):
            for dx in (-step, 0, step):
                if dy or dx:
                    consider(centre + np.array([dy, dx], np.int32))
    return best, best_sad, best8, sad8


def _split_decision(sad16, mv16, sad8, mv8, lam_mv):
    """Split a 16x16 block when four 8x8 vectors save more prediction error than the
    three extra vectors cost (SAD + lambda * bits): variable block size follows object
    boundaries."""
    if not (SPLIT and MOTION):
        return np.zeros(sad16.shape, bool)
    bits = _mv_bits(mv8 - mv16[:, :, None, None]).sum(axis=(2, 3))
    return sad8.sum(axis=(2, 3)) + lam_mv * bits < sad16


def _mv_field(mv16, split, mv8):
    """Per-8x8 vector field (2*nby, 2*nbx, 2)."""
    f = np.where(split[:, :, None, None, None], mv8, mv16[:, :, None, None])
    return f.transpose(0, 2, 1, 3, 4).reshape(2 * mv16.shape[0], 2 * mv16.shape[1], 2)


def _predict_planes(refs_up, field):
    """Motion-compensated prediction of the three planes from the per-8x8 vector field;
    chroma uses the luma vectors halved (quarter-pel of the half-size plane)."""
    y = _unblocks(_mc(refs_up[0], field, B, PAD))
    cf = field // 2 if SUBPEL else (field // 8) * 4
    return [y] + [_unblocks(_mc(u, cf, B // 2, PAD // 2)) for u in refs_up[1:]]


# ---------------------------------------------------------------------------- deblocking

def _deblock(plane, step):
    """In-loop deblocking of the 8x8 block edges (H.264's normal filter, simplified).

    Where the step across an edge is small enough to be a coding artefact (below
    alpha) and both sides are smooth (below beta), the two pixels next to the edge move
    towards each other by at most tc. Removes blocking, so the reference predicts better
    and PSNR rises."""
    if not DEBLOCK:
        return plane
    alpha, beta, tc = min(1.6 * step, 80.0), max(0.5 * step, 1.0), max(step / 6.0, 1.0)
    out = plane.copy()
    for axis in (1, 0):
        a = out if axis == 1 else out.T
        e = np.arange(B, a.shape[1], B)
        p1, p0, q0, q1 = a[:, e - 2], a[:, e - 1], a[:, e], a[:, e + 1]
        on = (np.abs(p0 - q0) < alpha) & (np.abs(p1 - p0) < beta) & (np.abs(q1 - q0) < beta)
        delta = np.clip(((q0 - p0) * 4 + (p1 - q1)) / 8, -tc, tc) * on
        a[:, e - 1] = np.clip(p0 + delta, 0, 255)
        a[:, e] = np.clip(q0 - delta, 0, 255)
    return out


# ----------------------------------------------------------------------- entropy coding

class _Tables:
    """Adaptive frequency tables, one per context: both sides start from the same counts
    and update them after every batch, so the model follows the statistics of the video
    without sending them (what CABAC buys over fixed codes)."""

    def __init__(self, contexts, symbols, prior=None):
        # a weak prior (a few symbols' worth) so that a new context learns quickly
        prior = np.full(symbols, 1.0 / symbols) if prior is None else prior / prior.sum()
        self.counts = np.tile(3.0 * prior, (contexts, 1))
        self.escape = symbols - 1  # the last symbol announces a larger value

    def model(self, ctx):
        c = self.counts[ctx]
        return _CAT(c / c.sum(), perfect=False)

    def update(self, ctx, symbols):
        c = self.counts[ctx]
        c += np.bincount(symbols, minlength=len(c))
        if c.sum() > 4096:  # forget old statistics slowly
            c *= 0.5


class _Coder:
    """One range-coded stream plus raw bits (signs, escape remainders). ``ints`` codes
    non-negative integers by context; encoder and decoder call the same sequence."""

    def __init__(self, data=None):
        self.reading = data is not None
        if self.reading:
            nwords, nbits = struct.unpack_from("<II", data)
            words = np.frombuffer(data, np.uint32, nwords, 8).copy()
            self.range = _QUEUE.RangeDecoder(words)
            self.raw = np.unpackbits(np.frombuffer(data, np.uint8, offset=8 + 4 * nwords))[:nbits]
            self.pos = 0
        else:
            self.range = _QUEUE.RangeEncoder()
            self.raw = []
        self.escapes = _Tables(1, 24)

    def bits(self, values, n):
        if self.reading:
            out = self.raw[self.pos:self.pos + n]
            self.pos += n
            return out.astype(np.int64)
        self.raw.append(np.asarray(values, np.uint8))
        return values

    def symbols(self, tables, ctx, values, n):
        """Symbols in [0, alphabet) with one table per context value in ``ctx``."""
        ctx = np.broadcast_to(np.asarray(ctx), (n,)) if np.ndim(ctx) == 0 else ctx
        order = np.argsort(ctx, kind="stable")
        keys, starts = np.unique(ctx[order], return_index=True)
        out = np.empty(n, np.int32) if self.reading else values
        for k, a, b in zip(keys, starts, list(starts[1:]) + [n]):
            idx = order[a:b]
            if self.reading:
                out[idx] = self.range.decode(tables.model(k), b - a)
            else:
                self.range.encode(values[idx].astype(np.int32), tables.model(k))
            tables.update(k, out[idx])
        return out

    def ints(self, tables, ctx, values=None, n=None):
        """Non-negative integers: below the table's escape symbol directly, larger ones as
        the escape followed by the bit length of the remainder (adaptive) and its bits
        (raw)."""
        n = n if self.reading else len(values)
        esc = tables.escape
        sym = None if self.reading else np.minimum(values, esc).astype(np.int32)
        sym = self.symbols(tables, ctx, sym, n)
        big = np.nonzero(sym == esc)[0]
        if len(big) == 0:
            return sym.astype(np.int64)
        rem = None if self.reading else values[big] - esc + 1
        nb = None if self.reading else np.floor(np.log2(rem)).astype(np.int32)
        nb = self.symbols(self.escapes, 0, nb, len(big))
        total = int(nb.sum())
        if self.reading:
            bits = self.bits(None, total)
            rem = np.ones(len(big), np.int64)
            pos = 0
            for j, k in enumerate(nb):
                for bit in bits[pos:pos + k]:
                    rem[j] = 2 * rem[j] + int(bit)
                pos += k
            out = sym.astype(np.int64)
            out[big] = rem + esc - 1
            return out
        self.bits(np.concatenate([[(int(v) >> s) & 1 for s in range(k - 1, -1, -1)]
                                  for v, k in zip(rem, nb)] + [[]]).astype(np.uint8), total)
        return values

    def signed(self, tables, ctx, values=None, n=None):
        """Signed integers mapped to 0, -1, 1, -2, 2, ... -> 0, 1, 2, 3, 4, ..."""
        u = None if self.reading else np.where(values > 0, 2 * values - 1, -2 * values)
        u = self.ints(tables, ctx, u, n)
        return np.where(u % 2 == 1, (u + 1) // 2, -(u // 2))

    def finish(self):
        words = self.range.get_compressed()
        raw = np.concatenate(self.raw + [np.zeros(0, np.uint8)])
        return (struct.pack("<II", len(words), len(raw)) + words.tobytes()
                + np.packbits(raw).tobytes())


def _new_tables():
    geometric = 0.5 ** np.arange(ESC + 1)  # small magnitudes are the most likely
    return {"coef": _Tables(2 * 2 * 8 * 5 * 4, ESC + 1, geometric), "coded": _Tables(4 * 4 * 2, 3), "previous": {},
            "last": _Tables(4 * 4, 65, 0.93 ** np.arange(65)),
            "mode": _Tables(10, 5), "split": _Tables(1, 3), "mv": _Tables(9, ESC + 1, geometric),
            "ftype": _Tables(1, 3)}


_ACT = np.array([0, 1, 2, 3, 3] + [4] * 1000)
_REST = np.array([0, 1, 1, 2, 2, 2, 2] + [3] * 57)  # coefficients left before the last one


_SIZE = np.array([0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2] + [3] * 54)  # bucket of a last position


def _last_positions(io, tables, last, kind, grid, plane):
    """Each block's last non-zero position + 1 (0: no coefficients), block row by block
    row: first whether the block is coded at all, in a context of how many of its three
    upper neighbours are coded and whether the same block was coded in the previous frame;
    then the position, in a context of the upper neighbour's. Coded blocks cluster in space
    and time, so this costs far less than coding the positions independently."""
    nby, nbx = grid
    out = np.zeros(grid, np.int64) if io.reading else last.reshape(grid).astype(np.int64)
    before = tables["previous"].get(plane)
    before = np.zeros(grid, bool) if before is None or not CONTEXTS else before
    for r in range(nby):
        if r and CONTEXTS:
            up = out[r - 1] > 0
            near = up + np.r_[up[:1], up[:-1]] + np.r_[up[1:], up[-1:]]
            pos = _SIZE[np.minimum(out[r - 1], 64)]
        else:
            near, pos = np.zeros(nbx, int), np.zeros(nbx, int)
        ctx = (kind * 4 + near) * 2 + before[r]
        coded = io.ints(tables["coded"], ctx, None if io.reading else (out[r] > 0).astype(np.int64), nbx)
        j = np.nonzero(coded)[0]
        value = io.ints(tables["last"], kind * 4 + pos[j], None if io.reading else out[r, j] - 1, len(j))
        if io.reading:
            out[r, j] = value + 1
    tables["previous"][plane] = out > 0
    return out.ravel()


def _coefficients(io, tables, levels, kind, grid, plane):
    """Levels of the blocks of a plane (N, 64), zigzag order: each block's last non-zero
    position (:func:`_last_positions`), then band by band the magnitudes of the blocks
    still open, in a context of band group x magnitude of the two previous coefficients x
    distance to the last one (context-adaptive coding), then signs."""
    n = grid[0] * grid[1]
    if io.reading:
        levels = np.zeros((n, 64), np.int64)
        last = _last_positions(io, tables, None, kind, grid, plane)
    else:
        nz = levels != 0
        last = _last_positions(io, tables, np.where(nz.any(1), 64 - np.argmax(nz[:, ::-1], axis=1), 0),
                               kind, grid, plane)
    for k in range(int(last.max()) if n else 0):
        idx = np.nonzero(last > k)[0]
        if CONTEXTS:
            act = np.abs(levels[idx, k - 1]) + np.abs(levels[idx, k - 2]) if k >= 2 else (
                np.abs(levels[idx, 0]) * 2 if k == 1 else np.zeros(len(idx), int))
            ctx = (((kind * 8 + _BAND[k]) * 5 + _ACT[np.minimum(act, 1000)]) * 4
                   + _REST[np.minimum(last[idx] - 1 - k, 63)])
        else:
            ctx = np.full(len(idx), kind * 160)
        mag = io.ints(tables["coef"], ctx, None if io.reading else np.abs(levels[idx, k]), len(idx))
        nzi = np.nonzero(mag)[0]
        if io.reading:
            sign = io.bits(None, len(nzi))
            levels[idx[nzi], k] = np.where(sign == 1, -mag[nzi], mag[nzi])
        else:
            io.bits((levels[idx[nzi], k] < 0).astype(np.uint8), len(nzi))
    return levels


def _zigzag(levels):
    return levels.reshape(-1, 64)[:, _ZZ]


def _unzigzag(z, shape):
    out = np.zeros((len(z), 64), np.int32)
    out[:, _ZZ] = z
    return out.reshape(shape)


_MVD = np.array([0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2] + [3] * 1000)


def _mv_differences(io, tables, d, nby, nbx):
    """Vector differences (nby, nbx, 2), block row by block row, per component in a
    context of the upper neighbour's difference: busy motion clusters (as in CABAC)."""
    out = np.zeros((nby, nbx, 2), np.int64) if io.reading else d
    for r in range(nby):
        near = (_MVD[np.minimum(np.abs(out[r - 1]), 1000)] if r and CONTEXTS
                else np.zeros((nbx, 2), int))
        ctx = (near * 2 + np.array([0, 1])).reshape(-1)
        row = io.signed(tables["mv"], ctx, None if io.reading else out[r].reshape(-1), 2 * nbx)
        if io.reading:
            out[r] = row.reshape(nbx, 2)
    return out


def _motion_syntax(io, tables, mv16, split, mv8, nby, nbx):
    """Split flags, then vectors coded differentially: each block's vector against its
    median predictor (:func:`_mv_pred`), the quarters of a split block against their
    block's vector. The decoder rebuilds the vectors in wavefronts (2 * row + column),
    so every block's left, top and top-right neighbours are known before it."""
    n = nby * nbx
    split = io.ints(tables["split"], 0, None if io.reading else split.ravel().astype(np.int64),
                    n).reshape(nby, nbx).astype(bool)
    d = _mv_differences(io, tables, None if io.reading else mv16 - _mv_pred(mv16), nby, nbx)
    if io.reading:
        mv16 = np.zeros((nby, nbx, 2), np.int64)
        for w in range(2 * nby + nbx):
            r = np.arange(max(0, (w - nbx + 2) // 2), min(nby - 1, w // 2) + 1)
            c = w - 2 * r
            r, c = r[(c >= 0) & (c < nbx)], c[(c >= 0) & (c < nbx)]
            if len(r):
                left = np.where((c > 0)[:, None], mv16[r, np.maximum(c - 1, 0)], 0)
                top = np.where((r > 0)[:, None], mv16[np.maximum(r - 1, 0), c], 0)
                cr = np.where(c + 1 < nbx, c + 1, np.maximum(c - 1, 0)) if nbx > 1 else c
                tr = np.where((r > 0)[:, None], mv16[np.maximum(r - 1, 0), cr], 0)
                med = np.maximum(np.minimum(left, top), np.minimum(np.maximum(left, top), tr))
                mv16[r, c] = np.where((r == 0)[:, None], left, med) + d[r, c]
    k = int(split.sum())
    if io.reading:
        d8 = io.signed(tables["mv"], 8, n=8 * k).reshape(k, 2, 2, 2)
        mv8 = np.broadcast_to(mv16[:, :, None, None], (nby, nbx, 2, 2, 2)).copy()
        mv8[split] += d8
    else:
        io.signed(tables["mv"], 8, (mv8[split] - mv16[split][:, None, None]).reshape(-1))
    return mv16.astype(np.int32), split, mv8.astype(np.int32)


# ------------------------------------------------------------------------- the codec

def _is_scene_cut(planes, preds):
    """Code a frame as intra when motion compensation leaves more error than the frame's
    own detail (an RD decision at frame level: scene cuts)."""
    y, p = planes[0], preds[0]
    inter = np.abs(y - p).mean()
    intra = np.abs(_blocks(y) - _blocks(y).mean(axis=(2, 3), keepdims=True)).mean()
    return RDO and inter > 0.9 * intra


def _intra_mode_syntax(io, tables, modes, kind, grid):
    """Intra modes block row by block row, in a context of the upper neighbour's mode
    (edges and gradients continue downwards)."""
    out = np.zeros(grid, np.int64) if io.reading else modes
    for r in range(grid[0]):
        ctx = kind * 5 + (out[r - 1] if r and CONTEXTS else 4)
        row = io.ints(tables["mode"], ctx, None if io.reading else out[r], grid[1])
        if io.reading:
            out[r] = row
    return out


def _encode_intra(io, tables, planes, steps, lam):
    rec = []
    for c, plane in enumerate(planes):
        modes, levels, r = _intra_encode(plane, steps[c], lam[c])
        kind = min(c, 1)
        if INTRA_PRED and RDO:
            _intra_mode_syntax(io, tables, modes.astype(np.int64), kind, modes.shape)
        _coefficients(io, tables, _zigzag(levels), 2 * kind, levels.shape[:2], c)
        rec.append(_deblock(r, steps[c]))
    return rec


def _decode_intra(io, tables, shapes, steps):
    rec = []
    for c, shape in enumerate(shapes):
        nby, nbx = shape[0] // B, shape[1] // B
        kind = min(c, 1)
        modes = (_intra_mode_syntax(io, tables, None, kind, (nby, nbx))
                 if INTRA_PRED and RDO else np.zeros((nby, nbx), int))
        levels = _unzigzag(_coefficients(io, tables, None, 2 * kind, (nby, nbx), c),
                           (nby, nbx, B, B))
        rec.append(_deblock(_intra_decode(modes, levels, steps[c], shape), steps[c]))
    return rec


def _encode_inter(io, tables, planes, prev, steps, lam):
    ups = [_upsample(p, PAD if c == 0 else PAD // 2) for c, p in enumerate(prev)]
    lam_mv = np.sqrt(lam[0])
    mv16, sad16, mv8, sad8 = _motion_search(planes[0], ups[0], lam_mv)
    split = _split_decision(sad16, mv16, sad8, mv8, lam_mv)
    preds = _predict_planes(ups, _mv_field(mv16, split, mv8))
    if _is_scene_cut(planes, preds):
        return None
    io.ints(tables["ftype"], 0, np.array([1]))
    _motion_syntax(io, tables, mv16, split, mv8, *mv16.shape[:2])
    rec = []
    for c, (plane, pred) in enumerate(zip(planes, preds)):
        q, _ = _quantise(_dct(_blocks(plane - pred)), steps[c], lam[c], intra=False)
        _coefficients(io, tables, _zigzag(q), 2 * min(c, 1) + 1, q.shape[:2], c)
        rec.append(_deblock(np.clip(pred + _unblocks(_idct(q * steps[c])), 0, 255), steps[c]))
    return rec


def _decode_inter(io, tables, shapes, prev, steps):
    ups = [_upsample(p, PAD if c == 0 else PAD // 2) for c, p in enumerate(prev)]
    nby, nbx = shapes[0][0] // MB, shapes[0][1] // MB
    mv16, split, mv8 = _motion_syntax(io, tables, None, None, None, nby, nbx)
    preds = _predict_planes(ups, _mv_field(mv16, split, mv8))
    rec = []
    for c, (shape, pred) in enumerate(zip(shapes, preds)):
        nb = (shape[0] // B, shape[1] // B)
        q = _unzigzag(_coefficients(io, tables, None, 2 * min(c, 1) + 1, nb, c), nb + (B, B))
        rec.append(_deblock(np.clip(pred + _unblocks(_idct(q * steps[c])), 0, 255), steps[c]))
    return rec


def _steps(quality, intra):
    """Quantiser steps of Y, Cb, Cr: chroma matters less to the eye; intra frames are the
    reference of everything after them, so finer quantisation there pays off (x264's
    ip_ratio)."""
    s = _step(quality) * (INTRA_STEP if intra else 1.0)
    return [s, CHROMA_STEP * s, CHROMA_STEP * s]


def encode(frames, quality):
    t, h, w, _ = frames.shape
    steps, isteps = _steps(quality, False), _steps(quality, True)
    lam, ilam = [_lambda(s) for s in steps], [_lambda(s) for s in isteps]
    io, tables, prev = _Coder(), _new_tables(), None
    for i in range(t):
        planes = _to_planes(frames[i])
        rec = None if prev is None else _encode_inter(io, tables, planes, prev, steps, lam)
        if rec is None:
            if prev is not None:
                io.ints(tables["ftype"], 0, np.array([0]))
            rec = _encode_intra(io, tables, planes, isteps, ilam)
        prev = rec
    return MAGIC + struct.pack("<HHHB", t, h, w, int(quality)) + io.finish()


def decode(data):
    if data[:4] != MAGIC:
        raise ValueError("not a starter-codec bitstream")
    t, h, w, quality = struct.unpack_from("<HHHB", data, 4)
    steps, isteps = _steps(quality, False), _steps(quality, True)
    io, tables = _Coder(data[11:]), _new_tables()
    hp, wp = h + -h % MB, w + -w % MB
    shapes = [(hp, wp), (hp // 2, wp // 2), (hp // 2, wp // 2)]
    out = np.empty((t, h, w, 3), np.uint8)
    prev = None
    for i in range(t):
        inter = prev is not None and io.ints(tables["ftype"], 0, n=1)[0] == 1
        prev = (_decode_inter(io, tables, shapes, prev, steps) if inter
                else _decode_intra(io, tables, shapes, isteps))
        _to_rgb(prev, out[i])
    return out
