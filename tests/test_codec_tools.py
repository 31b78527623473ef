"""The starter codec's tools and the offline family's parameter space.

The starter is run in this process (trusted built-in program) on small real and synthetic
clips: every tool switched off in turn still gives a faithful, decodable stream; encoder
and decoder agree (no drift over frames); coding is causal; the RD trade-off moves with
``quality``; each tool buys something on real footage. The family renders both engines and
reads its parameters back.
"""
from __future__ import annotations

import random
import re

import numpy as np
import pytest

from codecnb.codecs import ProgramCodec
from codecnb.codecs.base import builtin_program
from codecnb.generators.family_space import (CLASSIC, HYBRID, SPACE, STARTER, active_keys,
                                             effective, params_of, render)
from codecnb.metrics import psnr_from_mse
from codecnb.sources import open_source

TOOLS = ["INTRA_PRED", "MOTION", "SUBPEL", "SPLIT", "DEBLOCK", "RDO", "CONTEXTS"]


def psnr_y(a: np.ndarray, b: np.ndarray) -> float:
    w = np.array([0.299, 0.587, 0.114])
    return psnr_from_mse(float(np.mean((a.astype(np.float64) @ w - b.astype(np.float64) @ w) ** 2)))


@pytest.fixture(scope="module")
def real():
    """5 frames of real footage with camera motion (the bundled street clip), 128x72."""
    return open_source("sample:street", frames=5, resize=(128, 72)).read()


@pytest.fixture(scope="module")
def moving():
    """6 frames of the street clip at 240x136."""
    return open_source("sample:street", frames=6, resize=(240, 136)).read()


def starter(**flags) -> ProgramCodec:
    return ProgramCodec(render({**STARTER, **flags}), "starter")


def test_render_of_the_starter_is_the_starter_program():
    assert render(STARTER) == builtin_program("starter")
    assert params_of(builtin_program("starter")) == STARTER


def test_family_parameters_round_trip_for_both_engines():
    rng = random.Random(0)
    engines = set()
    for _ in range(30):
        params = effective({k: rng.choice(v) for k, v in SPACE.items()})
        program = render(params)
        assert params_of(program) == params and render(params_of(program)) == program
        assert effective(params) == params
        engines.add(params["ENGINE"])
        compile(program, "<family>", "exec")
    assert engines == {"classic", "hybrid"}
    classic = render({**STARTER, "ENGINE": "classic"})
    assert 'MAGIC = b"CF01"' in classic and "import constriction" not in classic
    assert set(active_keys({**STARTER, "ENGINE": "classic"})) <= {"ENGINE", *CLASSIC}
    assert set(active_keys(STARTER)) == {"ENGINE", *HYBRID}
    assert params_of("def encode(f, q): pass") is None


def test_hybrid_render_changes_only_the_parameter_values():
    program = render({**STARTER, "DEBLOCK": False, "LAMBDA_SCALE": 1.4})
    assert re.search(r"^DEBLOCK = False  # in-loop deblocking filter$", program, re.M)
    assert re.search(r"^LAMBDA_SCALE = 1.4  #", program, re.M)
    assert len(program.splitlines()) == len(builtin_program("starter").splitlines())


@pytest.mark.parametrize("off", [None] + TOOLS)
def test_every_tool_off_still_round_trips_without_drift(real, off):
    codec = starter(**({off: False} if off else {}))
    out = codec.decode(codec.encode(real, 60))
    assert out.shape == real.shape and out.dtype == np.uint8
    per_frame = [psnr_y(real[i], out[i]) for i in range(len(real))]
    assert min(per_frame) > 28, per_frame  # dB
    # closed loop: a mismatch between encoder and decoder would grow frame after frame
    # (frame 0 is intra, quantised finer; compare inter frames)
    assert per_frame[-1] > per_frame[1] - 1.5, per_frame


@pytest.mark.slow
def test_quality_trades_bits_for_fidelity(real):
    codec = ProgramCodec.builtin("starter")
    sizes, psnrs = [], []
    for q in (10, 50, 95):
        data = codec.encode(real, q)
        sizes.append(len(data))
        psnrs.append(psnr_y(real, codec.decode(data)))
    assert sizes == sorted(sizes) and psnrs == sorted(psnrs), (sizes, psnrs)
    assert psnrs[-1] > psnrs[0] + 8  # dB


def test_coding_is_causal_and_deterministic(real):
    codec = ProgramCodec.builtin("starter")
    whole = codec.encode(real, 50)
    assert codec.encode(real, 50) == whole
    np.testing.assert_array_equal(codec.decode(codec.encode(real[:3], 50)),
                                  codec.decode(whole)[:3])


@pytest.mark.parametrize("shape", [(1, 2, 2), (2, 8, 8), (3, 18, 34), (2, 40, 16), (2, 50, 70)])
def test_odd_sizes(shape):
    frames = np.random.default_rng(1).integers(0, 256, shape + (3,), dtype=np.uint8)
    codec = ProgramCodec.builtin("starter")
    for q in (0, 100):
        assert codec.decode(codec.encode(frames, q)).shape == frames.shape


def test_a_scene_cut_is_coded_as_intra(real):
    """A cut to unrelated content: no drift, and fewer bits than without the RD frame-type
    decision (motion compensation from the previous scene would be useless)."""
    other = np.ascontiguousarray(real[:, ::-1, ::-1])
    clip = np.concatenate([real[:3], other[3:]])
    with_rdo, without = ProgramCodec.builtin("starter"), starter(RDO=False)
    data = with_rdo.encode(clip, 60)
    out = with_rdo.decode(data)
    assert psnr_y(clip[3], out[3]) > 28
    assert len(data) < len(without.encode(clip, 60))


@pytest.mark.slow
def test_tools_buy_bits_on_real_footage(moving):
    """At equal quality setting, the full starter spends fewer bits than with motion
    compensation or context modelling off, at no worse PSNR-Y (within 0.3 dB)."""
    full = ProgramCodec.builtin("starter")
    data = full.encode(moving, 60)
    ref = psnr_y(moving, full.decode(data))
    for off in ("MOTION", "CONTEXTS"):
        codec = starter(**{off: False})
        other = codec.encode(moving, 60)
        assert len(data) < len(other), off
        assert ref > psnr_y(moving, codec.decode(other)) - 0.3, off
