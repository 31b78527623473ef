"""Baselines and RD measurement through the same pipeline as candidates."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from codecnb.baselines import SWEEPS, baseline_codecs, baseline_identity
from codecnb.codecs import JpegCodec, ProgramCodec, X264Codec
from codecnb.codecs.ffmpeg_video import FFMPEG_PREFIX
from codecnb.evaluation.baseline_cache import BaselineCache
from codecnb.ffmpeg import ffmpeg_exe
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
    codecs = baseline_codecs(src.info.fps, ["jpeg", "x264", "starter"])
    curves = measure(codecs, {n: SWEEPS[n] for n in codecs}, src, segment_frames=4)
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


ANCHORS = ["x264-veryslow", "x265", "svtav1", "vp9"]


@pytest.fixture(scope="module")
def real_clip():
    """4 frames of the bundled Big Buck Bunny at 320x180 (a real clip, tiny window)."""
    return open_source("sample:bigbuckbunny", frames=4, resize=(320, 180))


@pytest.mark.slow
@pytest.mark.parametrize("name", ANCHORS)
def test_anchor_gives_a_monotone_rd_curve_overlapping_x264(real_clip, name):
    codecs = baseline_codecs(real_clip.info.fps, ["x264", name])
    curves = measure(codecs, {n: SWEEPS[n] for n in codecs}, real_clip, segment_frames=4)
    pts = sorted(curves[name].points, key=lambda p: p.kbps)
    assert len(pts) == len(SWEEPS[name])
    assert all(b.kbps > a.kbps and b.psnr_y > a.psnr_y for a, b in zip(pts, pts[1:])), pts
    ref = [p.psnr_y for p in curves["x264"].points]
    lo, hi = max(min(ref), pts[0].psnr_y), min(max(ref), pts[-1].psnr_y)
    assert hi - lo > 3  # dB of PSNR-Y shared with x264: BD-rate is defined
    assert bd_table(curves, "x264")[name]["bd_rate"] is not None


@pytest.mark.slow
@pytest.mark.parametrize("name", ["x264", *ANCHORS])
def test_recorded_command_is_the_one_run_and_its_output_file_has_the_counted_bytes(
        real_clip, name, tmp_path):
    codec = baseline_codecs(real_clip.info.fps, [name])[name]
    frames = real_clip.read()
    q = SWEEPS[name][1]
    counted = measure({name: codec}, {name: [q]}, open_source(
        "sample:bigbuckbunny", frames=4, resize=(320, 180)), segment_frames=4)[name].points[0]
    # The recorded template, filled in, is the argument list encode() runs.
    text = baseline_identity([name], real_clip.info.fps)[name]["command"]
    argv = text.replace("{W}x{H}", "320x180").replace("{Q}", str(q)).split()
    assert argv == ["ffmpeg", *FFMPEG_PREFIX, *codec.command(320, 180, q)]
    # Run that command line with ffmpeg writing a file: its size is the bytes counted.
    out = tmp_path / "stream.bin"
    argv = [ffmpeg_exe(), *argv[1:-1], "-y", str(out)]
    subprocess.run(argv, input=np.ascontiguousarray(frames).tobytes(), check=True)
    assert out.stat().st_size == counted.bytes
    assert counted.kbps == pytest.approx(8 * counted.bytes * real_clip.info.fps / 4 / 1000)


def test_cache_key_changes_with_the_command_line(tmp_path, monkeypatch):
    import codecnb.baselines as b
    key = baseline_identity(["x265", "svtav1"], 25.0)
    assert "libx265" in key["x265"]["command"] and key["x265"]["ffmpeg"].startswith("ffmpeg")
    assert "-preset 8" in key["svtav1"]["command"]
    monkeypatch.setitem(b.SWEEPS, "svtav1", [60, 50])
    assert baseline_identity(["svtav1"], 25.0)["svtav1"] != key["svtav1"]
    monkeypatch.undo()
    from codecnb.codecs import ffmpeg_video
    monkeypatch.setattr(ffmpeg_video, "svtav1", lambda fps: ffmpeg_video.FfmpegVideoCodec(
        "svtav1", "libsvtav1", "crf", ("-preset", "10"), "obu", fps))
    monkeypatch.setattr(b, "svtav1", ffmpeg_video.svtav1)
    changed = baseline_identity(["svtav1"], 25.0)["svtav1"]
    assert "-preset 10" in changed["command"] and changed != key["svtav1"]
    cache, calls = BaselineCache(tmp_path), []
    def compute():
        calls.append(1)
        return {}
    cache.get_or_compute({"baselines": key}, compute)
    cache.get_or_compute({"baselines": key}, compute)
    cache.get_or_compute({"baselines": {**key, "svtav1": changed}}, compute)
    assert len(calls) == 2  # same command: cached; changed command: recomputed
