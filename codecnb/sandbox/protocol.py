"""The evaluator's side of the control protocol: nothing a candidate sends is trusted.

Messages are a 4-byte little-endian length and a JSON object. From the evaluator: the
configuration, then ``{"op": "encode", "quality": q, "shape": [T, H, W, 3]}`` or
``{"op": "decode", "nbytes": n}``. From the child: ``{"ready": true}``,
``{"ok": true, "nbytes": n}`` (encode), ``{"ok": true, "shape": [...]}`` (decode), or a
failure report ``{"ok": false, "kind": ..., "message": ..., "line": ..., "code": ...}``.

Everything the child writes is checked: a reply is at most :data:`MAX_REPLY` bytes of
well-formed JSON holding an object; a byte count is an integer within the shared buffer; a
shape is four integers; a failure kind is one a child may report; messages and code are
cut to a bounded length. Anything else is a candidate failure of kind ``protocol``, never
an exception out of the evaluator. Writes to the child are non-blocking and under the same
deadline as reads. Times are never taken from the child: the evaluator measures them.
"""
from __future__ import annotations

import errno
import json
import os
import select
import struct
import time
from typing import Callable

from codecnb.errors import CandidateFailed
from codecnb.sandbox.failures import CHILD_KINDS, Failure

#: Largest reply a child may send, bytes.
MAX_REPLY = 64 << 10
#: Longest message or code line kept from a child's failure report, characters.
MAX_TEXT = 2000


def protocol_failure(stage: str, what: str) -> CandidateFailed:
    return CandidateFailed(Failure("protocol", f"{stage}: {what}", stage=stage))


def timeout_failure(stage: str) -> CandidateFailed:
    return CandidateFailed(Failure("timeout", f"{stage} did not finish within its wall-clock "
                                   f"limit", stage=stage))


def write_all(fd: int, data: bytes, deadline: float, stage: str,
              on_timeout: Callable[[], None]) -> bool:
    """Write ``data`` to the non-blocking ``fd`` before ``deadline``. False if the reader
    has gone (its death is reported by the next read)."""
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            on_timeout()
            raise timeout_failure(stage)
        _, ready, _ = select.select([], [fd], [], left)
        if not ready:
            continue
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            continue
        except OSError as exc:
            if exc.errno in (errno.EPIPE, errno.EBADF):
                return False
            raise
        view = view[n:]
    return True


def frame(obj: dict) -> bytes:
    data = json.dumps(obj).encode()
    return struct.pack("<I", len(data)) + data


def decode_reply(raw: bytes, stage: str) -> dict:
    """The JSON object in ``raw``, or a ``protocol`` failure."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        raise protocol_failure(stage, "the reply is not well-formed JSON") from None
    if not isinstance(obj, dict):
        raise protocol_failure(stage, "the reply is not a JSON object")
    return obj


def _int(value, stage: str, what: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise protocol_failure(stage, f"{what} {str(value)[:40]!r} is not an integer in "
                               f"[{low}, {high}]")
    return value


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters, without control characters (but newline and
    tab): a candidate's message shown on a terminal cannot move the cursor, clear lines or
    hide what follows."""
    return "".join(ch for ch in text[:limit]
                   if ch in "\n\t" or not (ord(ch) < 32 or 127 <= ord(ch) < 160))


def _text(value) -> str | None:
    return clean_text(value) if isinstance(value, str) else None


def check_failure(reply: dict, stage: str, **detail) -> None:
    """Raise the child's own failure report, if the reply is one (validated)."""
    if reply.get("ok", True) is True and "kind" not in reply:
        return
    kind = reply.get("kind")
    if kind not in CHILD_KINDS:
        raise protocol_failure(stage, f"failure report of unknown kind {str(kind)[:40]!r}")
    line = reply.get("line")
    line = line if type(line) is int and 0 < line < 1 << 20 else None
    rstage = reply.get("stage")
    rstage = rstage if rstage in ("load", "encode", "decode") else stage
    extra = {}
    rdetail = reply.get("detail")
    if isinstance(rdetail, dict):
        extra = {clean_text(k): clean_text(v) if isinstance(v, str) else v
                 for k, v in list(rdetail.items())[:8]
                 if isinstance(k, str) and len(k) < 40
                 and (type(v) in (int, float, bool) or (isinstance(v, str) and len(v) < 300))}
    raise CandidateFailed(Failure(kind, _text(reply.get("message")) or f"{kind} in {stage}",
                                  stage=rstage, line=line, code=_text(reply.get("code")),
                                  detail={**extra, **detail}))


def check_boot(reply: dict) -> None:
    if reply != {"boot": True}:
        raise protocol_failure("load", "expected the boot message")


def check_ready(reply: dict) -> None:
    check_failure(reply, "load")
    if reply.get("ready") is not True:
        raise protocol_failure("load", "expected the ready message")


def check_encoded(reply: dict, capacity: int, **detail) -> int:
    """The bitstream length of an encode reply: an integer 0 <= n <= capacity."""
    check_failure(reply, "encode", **detail)
    if reply.get("ok") is not True:
        raise protocol_failure("encode", "the reply does not say ok")
    return _int(reply.get("nbytes"), "encode", "byte count", 0, capacity)


def check_decoded(reply: dict, expected: tuple[int, ...]) -> tuple[int, ...]:
    """The frame shape of a decode reply; it must equal ``expected``."""
    check_failure(reply, "decode")
    shape = reply.get("shape")
    if reply.get("ok") is not True or not isinstance(shape, list) or len(shape) > 8:
        raise protocol_failure("decode", "the reply carries no frame shape")
    shape = tuple(_int(s, "decode", "dimension", 0, 1 << 31) for s in shape)
    if shape != tuple(expected):
        raise CandidateFailed(Failure(
            "output", f"decode returned shape {shape}, expected {tuple(expected)} "
            f"(frames, height, width, 3)", stage="decode", detail={"shape": list(shape)}))
    return shape
