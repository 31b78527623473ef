"""Decoded frames of a candidate, for looking at them (run in the sandbox, like evaluate)."""
from __future__ import annotations

import time

import numpy as np

from codecnb.sandbox.isolation import default_hidden, probe
from codecnb.sandbox.limits import Limits
from codecnb.sandbox.policy import ImportPolicy
from codecnb.sandbox.process import SandboxProcess, copy_bytes
from codecnb.sources import Source


def decode_segment(program: str, source: Source, quality: int, frames: int = 8,
                   limits: Limits = Limits(), policy: ImportPolicy = ImportPolicy(),
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(original, decoded) uint8 RGB arrays of the source's first ``frames`` frames.

    Raises :class:`~codecnb.sandbox.failures.CandidateFailed` like the evaluator does.
    """
    segment = next(source.segments(frames))
    hide = default_hidden([p for p in [getattr(source, "path", None)] if p is not None])
    plan = probe()
    raw = segment.nbytes
    bits = limits.max_bitstream(raw)
    enc = SandboxProcess("encode", program, in_size=raw, out_size=bits, plan=plan,
                         limits=limits, policy=policy, hide=hide)
    dec = SandboxProcess("decode", program, in_size=bits, out_size=raw, plan=plan,
                         limits=limits, policy=policy, hide=hide)
    try:
        deadline = time.monotonic() + limits.segment_timeout_s + limits.startup_timeout_s
        enc.wait_ready(deadline)
        dec.wait_ready(deadline)
        dec.freeze()
        copy_bytes(memoryview(segment).cast("B"), enc.inp, raw)
        n, _ = enc.encode(segment.shape, quality, deadline)
        copy_bytes(enc.out, dec.inp, n)
        enc.freeze()
        dec.thaw()
        view, _ = dec.decode(n, segment.shape, deadline)
        decoded = view.copy()
        del view
        return segment, decoded
    finally:
        enc.close()
        dec.close()
