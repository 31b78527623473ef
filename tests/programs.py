"""Candidate programs shared by the tests: honest ones and typical LLM mistakes."""

#: A tiny synthetic clip: campaigns on it take seconds.
SOURCE = "synthetic:pan?size=64x48&frames=4"
GOOD = '''import zlib
import numpy as np

def encode(frames, quality):
    shape = np.array(frames.shape, np.int32).tobytes()
    step = max(1, (100 - quality) // 8)
    return shape + zlib.compress((frames // step).astype(np.uint8).tobytes(), 6) + bytes([step])

def decode(data):
    shape = tuple(np.frombuffer(data[:16], np.int32))
    step = data[-1]
    q = np.frombuffer(zlib.decompress(data[16:-1]), np.uint8).reshape(shape)
    return (q.astype(np.int32) * step + step // 2).clip(0, 255).astype(np.uint8)
'''
BROADCAST = GOOD.replace("step = max(1, (100 - quality) // 8)",
                         "step = (np.zeros((16, 16)) + np.zeros((8, 8))).sum()")
SYNTAX = "def encode(frames, quality)\n    return b''\n"
SHAPE = GOOD.replace("return (q.astype", "return (q[:, ::2].astype")
