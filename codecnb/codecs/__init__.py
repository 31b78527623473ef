"""Codecs in the contract of :mod:`codecnb.codecs.base`: the baselines (JPEG, x264) and the
built-in programs (the starter codec)."""
from codecnb.codecs.base import Codec, ProgramCodec, builtin_program, program_hash
from codecnb.codecs.jpeg import JpegCodec
from codecnb.codecs.x264 import X264Codec

__all__ = ["Codec", "JpegCodec", "ProgramCodec", "X264Codec", "builtin_program", "program_hash"]
