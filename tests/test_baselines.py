"""Baselines and RD measurement through the same pipeline as candidates."""
from __future__ import annotations

import json

import numpy as np
import pytest

from codecnb.baselines import SWEEPS, baseline_codecs
from codecnb.codecs import JpegCodec, ProgramCodec, X264Codec
from codecnb.errors import CodecError
from codecnb.metrics import mse, psnr_from_mse
from codecnb.rd import bd_table, measure
from codecnb.sources import open_source
from conftest import run_cli


@pytest.fixture(scope="module")
def clip():
    return open_source("synthetic:pan?size=128x96&frames=12").read()


@pytest.mark.parametrize("codec,q", [(JpegCodec(), 75), (X264Codec(), 23),
                                     (ProgramCodec.builtin("starter"), 75)])
def test_codecs_round_trip(clip, codec, q):
    data = codec.encode(clip, q)
    out = codec.decode(data)
    assert isinstance(data, bytes) and 0 < len(data) < clip.nbytes
    assert out.shape == clip.shape and out.dtype == np.uint8
    assert psnr_from_mse(mse(clip, out)) > 25  # dB: a faithful, lossy reconstruction


def test_starter_handles_sizes_that_are_not_multiples_of_16():
    frames = open_source("synthetic:pan?size=70x38&frames=3").read()
    starter = ProgramCodec.builtin("starter")
    assert starter.decode(starter.encode(frames, 50)).shape == frames.shape


def test_measure_gives_monotone_curves_and_real_byte_counts():
    src = open_source("synthetic:pan?size=128x96&frames=10&fps=10")
    codecs = baseline_codecs(src.info.fps)
    curves = measure(codecs, SWEEPS, src, segment_frames=4)
    for name, curve in curves.items():
        rates = [p.kbps for p in curve.points]
        psnrs = [p.psnr_y for p in curve.points]
        order = np.argsort(rates)
        assert np.all(np.diff(np.array(psnrs)[order]) > 0), (name, rates, psnrs)
        for p in curve.points:
            assert p.frames == 10 and len(p.per_frame["psnr_y"]) == 10
            assert p.kbps == pytest.approx(8 * p.bytes * 10 / 10 / 1000)
    # Bytes are the real bitstream: re-encode one point by hand, segment by segment.
    frames = src.read()
    jpeg = JpegCodec()
    manual = sum(len(jpeg.encode(frames[i:i + 4], 50)) for i in range(0, 10, 4))
    assert curves["jpeg"].points[1].bytes == manual


def test_broken_codec_output_is_a_clear_error():
    class Shrinking(JpegCodec):
        name = "shrinking"

        def decode(self, data):
            return super().decode(data)[:-1]

    with pytest.raises(CodecError, match=r"shape \(3, 48, 64, 3\), expected \(4, 48, 64, 3\)"):
        measure({"s": Shrinking()}, {"s": [50]}, open_source("synthetic:?size=64x48&frames=4"))


def test_starter_beats_jpeg_on_the_bundled_clip():
    src = open_source("sample:bigbuckbunny", frames=16)
    codecs = baseline_codecs(src.info.fps, ["jpeg", "starter"])
    curves = measure(codecs, {k: SWEEPS[k] for k in codecs}, src)
    bd = bd_table(curves, "jpeg")
    assert bd["starter"]["bd_rate"] < -0.2, bd


def test_cli_json_is_clean_and_complete():
    proc = run_cli("baselines", "--source", "synthetic:pan?size=64x48&frames=6", "--json",
                   "--codec", "jpeg", "--codec", "starter", "--per-frame")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["source"]["frames"] == 6 and out["anchor"] == "jpeg"
    point = out["curves"]["starter"]["points"][0]
    for key in ("quality", "bytes", "kbps", "psnr_y", "ssim_y", "encode_s", "decode_s"):
        assert key in point
    assert len(point["per_frame"]["ssim_y"]) == 6
    assert out["bd"]["starter"]["bd_rate"] is not None


def test_cli_table():
    proc = run_cli("baselines", "--source", "synthetic:?size=64x48&frames=4", "--codec", "jpeg",
                   "--codec", "x264")
    assert proc.returncode == 0, proc.stderr
    assert "crf=38" in proc.stdout and "quality=90" in proc.stdout
    assert "BD-rate against jpeg" in proc.stdout
