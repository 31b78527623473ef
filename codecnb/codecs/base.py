"""The codec contract, and loading a trusted program file that implements it.

A codec turns a segment of frames into bytes and back::

    encode(frames: np.ndarray, quality: int) -> bytes   # frames: uint8 (T, H, W, 3) RGB
    decode(data: bytes) -> np.ndarray                   # uint8 (T, H, W, 3) RGB

``quality`` is the codec's own knob (0..100 for programs and JPEG, CRF for x264). Generated
programs are untrusted and run only in the sandbox (:mod:`codecnb.sandbox`);
:func:`load_program` is for code that ships with codecnb, like the starter codec.
"""
from __future__ import annotations

import hashlib
import types
from importlib import resources
from typing import Protocol, runtime_checkable

import numpy as np

from codecnb.errors import CodecError


@runtime_checkable
class Codec(Protocol):
    """What the measuring pipeline needs from a codec."""

    name: str
    knob: str  # what ``quality`` means for this codec, e.g. "quality" or "crf"

    def encode(self, frames: np.ndarray, quality: int) -> bytes: ...

    def decode(self, data: bytes) -> np.ndarray: ...


def program_hash(text: str) -> str:
    """SHA-256 of a program's text (UTF-8), hex: the identity of a candidate."""
    return hashlib.sha256(text.encode()).hexdigest()


def builtin_program(name: str) -> str:
    """Text of a program bundled in ``codecnb/codecs/programs/`` (e.g. ``"starter"``)."""
    path = resources.files("codecnb.codecs") / "programs" / f"{name}.py"
    if not path.is_file():
        raise CodecError(f"no built-in program named {name!r}")
    return path.read_text()


class ProgramCodec:
    """A *trusted* program (module text with ``encode`` and ``decode``) run in this process.

    Only for programs that ship with codecnb; candidates go through the sandbox.
    """

    knob = "quality"

    def __init__(self, text: str, name: str = "program"):
        self.name, self.text, self.sha256 = name, text, program_hash(text)
        module = types.ModuleType(f"codecnb_program_{name}")
        exec(compile(text, f"<{name}>", "exec"), module.__dict__)  # trusted code only
        for fn in ("encode", "decode"):
            if not callable(getattr(module, fn, None)):
                raise CodecError(f"program {name!r} does not define {fn}()")
        self._module = module

    @classmethod
    def builtin(cls, name: str) -> "ProgramCodec":
        return cls(builtin_program(name), name)

    def encode(self, frames: np.ndarray, quality: int) -> bytes:
        return bytes(self._module.encode(frames, quality))

    def decode(self, data: bytes) -> np.ndarray:
        return self._module.decode(data)


def check_decoded(out: object, expected: tuple[int, ...], who: str) -> np.ndarray:
    """Return ``out`` if it is a uint8 array of shape ``expected``, else raise CodecError.

    The message says what was wrong in terms a person or an LLM can act on.
    """
    if not isinstance(out, np.ndarray):
        raise CodecError(f"{who}: decode returned {type(out).__name__}, expected a numpy array")
    if out.shape != expected:
        raise CodecError(f"{who}: decode returned shape {out.shape}, expected {expected} "
                         f"(frames, height, width, 3)")
    if out.dtype != np.uint8:
        if np.issubdtype(out.dtype, np.floating) and not np.all(np.isfinite(out)):
            raise CodecError(f"{who}: decode returned NaN or infinite values ({out.dtype})")
        raise CodecError(f"{who}: decode returned dtype {out.dtype}, expected uint8")
    return out
