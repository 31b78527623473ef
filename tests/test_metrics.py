"""Every metric against the outside references of ../shared/REFERENCE.md."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import skimage.data
from skimage.metrics import structural_similarity

from codecnb import jsonio
from codecnb.errors import MetricError
from codecnb.codecs import JpegCodec
from codecnb.metrics import (WangReference, average_psnr, bd_psnr, bd_rate, kbps, mse,
                             psnr_from_mse, rgb_to_yuv420, ssim_ffmpeg, ssim_wang, vmaf_files,
                             yuv420_from_bytes)
from codecnb.metrics import ssim as ssim_module
from codecnb.metrics.quality import QualityAccumulator, score_planes, score_rgb, to_planes
from codecnb.rd import measure
from codecnb.sources import open_source

W, H = 1920, 1080


@pytest.fixture(scope="module")
def camera():
    cam = skimage.data.camera()
    np.random.seed(5)
    noisy = np.clip(cam + 20.0 * np.random.randn(*cam.shape), 0, 255).astype(np.uint8)
    return cam, noisy


@pytest.fixture(scope="module")
def street(testdata):
    return open_source(str(testdata / "street_1080p.h264"), frames=6).read()


def skimage_ssim(a, b):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255)


@pytest.fixture(scope="module")
def dark(testdata):
    read = lambda n: yuv420_from_bytes((testdata / f"dark_scene_1920x1080_420p_{n}.yuv")
                                       .read_bytes(), W, H)
    return read("ref"), read("dis")


def test_camera_reference_values(camera):
    cam, noisy = camera
    assert ssim_wang(cam, noisy) == pytest.approx(0.3579642362365813, abs=1e-6)
    assert psnr_from_mse(mse(cam, noisy)) == pytest.approx(22.40935284991332, abs=1e-6)
    assert ssim_ffmpeg(cam, noisy) == pytest.approx(0.376385, abs=1e-6)


def test_dark_scene_ffmpeg_psnr(dark):
    ref, dis = dark
    mses = [mse(a, b) for a, b in zip(ref, dis)]
    got = [psnr_from_mse(m) for m in mses] + [average_psnr(*mses)]
    for value, want in zip(got, [49.462113, 49.969811, 53.676191, 50.026647]):
        assert value == pytest.approx(want, abs=1e-5)


def test_dark_scene_ssim_both_conventions(dark):
    ref, dis = dark
    assert ssim_wang(ref.y, dis.y) == pytest.approx(0.9921506640085643, abs=1e-6)
    planes = [ssim_ffmpeg(a, b) for a, b in zip(ref, dis)]
    for value, want in zip(planes, [0.991355, 0.998347, 0.997781]):
        assert value == pytest.approx(want, abs=1e-6)
    everything = (4 * planes[0] + planes[1] + planes[2]) / 6
    assert everything == pytest.approx(0.993592, abs=1e-6)


def test_dark_scene_vmaf(testdata):
    score, frames = vmaf_files(testdata / "dark_scene_1920x1080_420p_ref.yuv",
                               testdata / "dark_scene_1920x1080_420p_dis.yuv", W, H)
    assert score == pytest.approx(84.572870, abs=1e-3)
    assert frames == [pytest.approx(score)]


@pytest.mark.parametrize("rms", [0.0, math.inf], ids=["float64", "float32"])
def test_ssim_wang_equals_scikit_image_on_real_frames(street, rms, monkeypatch):
    # Strips with a difference RMS above rms are filtered in float64: both paths are exact.
    monkeypatch.setattr(ssim_module, "_F64_RMS", rms)
    ys = [rgb_to_yuv420(f).y for f in street]
    for a, b in [(ys[0], ys[3]), (ys[1], ys[5])]:
        assert ssim_wang(a, b) == pytest.approx(skimage_ssim(a, b), abs=1e-6)
    assert ssim_wang(ys[2], ys[2]) == 1.0


def _hard_pairs():
    """Pairs where float32 filtering of x^2 and y^2 would miss 1e-6: large, smooth errors,
    extremes. 150 rows: strips of 64, 64 and 12 valid rows; an odd width."""
    rng = np.random.default_rng(3)
    h, w = 150, 203
    ramp = np.tile(np.linspace(0, 255, w), (h, 1)).astype(np.uint8)
    flat = np.full((h, w), 250, np.uint8)
    binary = (rng.integers(0, 2, (h, w)) * 255).astype(np.uint8)
    return {"ramp vs constant": (ramp, np.full_like(ramp, 16)),
            "constant offset": (ramp, np.clip(ramp.astype(int) + 40, 0, 255).astype(np.uint8)),
            "black output": (ramp, np.zeros_like(ramp)),
            "inverted binary": (binary, 255 - binary),
            "bright flat with noise": (flat, (flat - rng.integers(0, 3, (h, w))).astype(np.uint8)),
            "unrelated noise": (rng.integers(0, 256, (h, w), dtype=np.uint8),
                                rng.integers(0, 256, (h, w), dtype=np.uint8))}


@pytest.mark.parametrize("name", list(_hard_pairs()))
def test_ssim_wang_equals_scikit_image_on_hard_pairs(name):
    a, b = _hard_pairs()[name]
    assert ssim_wang(a, b) == pytest.approx(skimage_ssim(a, b), abs=1e-6)


def test_wang_reference_scores_many_planes_and_keeps_its_plane(street):
    ys = [np.ascontiguousarray(rgb_to_yuv420(f).y[100:260, 300:520]) for f in street[:4]]
    kept = ys[0].copy()
    ref = WangReference(ys[0])
    assert ref.nbytes == 8 * 150 * 210  # mu_x and 2 sigma_x^2 + C2, float32, valid region
    for b in ys:
        assert ref.ssim(b) == pytest.approx(skimage_ssim(ys[0], b), abs=1e-6)
    assert np.array_equal(ys[0], kept)
    with pytest.raises(MetricError, match="equal 2-D uint8"):
        ref.ssim(ys[1][:-1])
    with pytest.raises(MetricError, match="at least 11x11"):
        WangReference(ys[0][:10])


def test_score_rgb_against_prepared_references(street):
    seg = np.ascontiguousarray(street[:3, 200:320, 400:560])
    dec = JpegCodec().decode(JpegCodec().encode(seg, 30))
    refs = to_planes(seg)
    scores, planes = score_rgb(refs, seg, dec)
    for ref, s, p, f, g in zip(refs, scores, planes, seg, dec):
        want_ref, want_dis = rgb_to_yuv420(f), rgb_to_yuv420(g)
        for got, want in zip((*ref.planes, *p), (*want_ref, *want_dis)):
            np.testing.assert_array_equal(got, want)
        assert (s.mse_y, s.mse_u, s.mse_v, s.mse_rgb) == (
            mse(want_ref.y, want_dis.y), mse(want_ref.u, want_dis.u),
            mse(want_ref.v, want_dis.v), mse(f, g))
        assert 0 < s.mse_y and s.ssim_y == pytest.approx(skimage_ssim(want_ref.y, want_dis.y),
                                                         abs=1e-6)


def test_measure_with_vmaf_passes_reference_planes_to_vmaf():
    src = open_source("synthetic:pan?size=64x48&frames=3&fps=10")
    point = measure({"jpeg": JpegCodec()}, {"jpeg": [40]}, src, vmaf=True)["jpeg"].points[0]
    assert 0 < point.vmaf <= 100 and len(point.per_frame["vmaf"]) == 3


def test_bd_rate_reference_vector():
    anchor = [(108048.8736, 43.6471), (61279.976, 40.3953), (33905.6656, 37.247),
              (18883.6928, 34.2911)]
    test = [(108061.2784, 43.6768), (61299.9936, 40.4232), (33928.7472, 37.2761),
            (18910.912, 34.3147)]
    assert bd_rate(anchor, test) == pytest.approx(-0.00465215420752807, abs=1e-9)
    assert bd_rate(anchor, anchor) == pytest.approx(0.0, abs=1e-12)


def test_bd_rate_and_psnr_of_known_shifts():
    anchor = [(100.0, 30.0), (200.0, 33.0), (400.0, 36.0), (800.0, 38.5)]
    half = [(r / 2, q) for r, q in anchor]            # same quality at half the rate
    better = [(r, q + 1.5) for r, q in anchor]        # 1.5 dB more at the same rate
    assert bd_rate(anchor, half) == pytest.approx(-0.5, abs=1e-12)
    assert bd_psnr(anchor, better) == pytest.approx(1.5, abs=1e-12)
    assert bd_psnr(anchor, half) > 0


def test_bd_rate_refuses_bad_curves():
    a = [(100.0, 30.0), (200.0, 33.0)]
    with pytest.raises(MetricError, match="at least 2"):
        bd_rate(a, [(100.0, 30.0)])
    with pytest.raises(MetricError, match="do not overlap"):
        bd_rate(a, [(100.0, 40.0), (200.0, 42.0)])
    with pytest.raises(MetricError, match="finite"):
        bd_rate(a, [(100.0, math.inf), (200.0, 42.0)])


def test_kbps_from_bytes():
    assert kbps(125_000, 25, 25.0) == pytest.approx(1000.0)  # 1 Mbit in one second
    assert kbps(1000, 50, 50.0) == pytest.approx(8.0)
    with pytest.raises(MetricError):
        kbps(10, 0, 25.0)


def test_identical_input_gives_json_safe_infinity(dark):
    ref, _ = dark
    acc = QualityAccumulator()
    acc.add(score_planes([ref], [ref]))
    res = acc.result()
    assert res.psnr_y == math.inf and res.ssim_y == pytest.approx(1.0)
    text = jsonio.dumps(res)
    assert '"psnr_y": "inf"' in text and "Infinity" not in text
    assert jsonio.loads(text)["psnr_y"] == math.inf


def test_clip_psnr_is_psnr_of_mean_mse_not_mean_psnr():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2, 32, 32), dtype=np.uint8)
    b = a.copy()
    b[1] ^= 1  # frame 0 identical, frame 1 off by one in every sample
    planes = [rgb_to_yuv420(np.repeat(x[..., None], 3, axis=2)) for x in a]
    planes_b = [rgb_to_yuv420(np.repeat(x[..., None], 3, axis=2)) for x in b]
    acc = QualityAccumulator()
    acc.add(score_planes(planes, planes_b))
    res = acc.result()
    mses = [mse(p.y, q.y) for p, q in zip(planes, planes_b)]
    assert res.psnr_y == pytest.approx(psnr_from_mse(np.mean(mses)))
    assert res.per_frame["psnr_y"][0] == math.inf


def _whole_frame_yuv420(frame):
    """The conversion as one whole-frame computation (codecnb before strips)."""
    m = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0],
                  [112.0, -93.786, -18.214]], dtype=np.float32) / 255.0
    ycc = cv2.transform(frame.astype(np.float32), m)
    ycc += np.asarray((16.0, 128.0, 128.0), np.float32)
    h, w = frame.shape[:2]
    y = np.clip(np.rint(ycc[..., 0]), 0, 255).astype(np.uint8)
    chroma = cv2.resize(ycc[..., 1:], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    chroma = np.clip(np.rint(chroma), 0, 255).astype(np.uint8)
    return y, chroma[..., 0], chroma[..., 1]


@pytest.mark.parametrize("w,h", [(1920, 1080), (1282, 66), (34, 18), (64, 2), (2, 2)])
def test_rgb_to_yuv420_in_strips_is_bit_identical_to_whole_frame(w, h):
    frame = np.random.default_rng(w * h).integers(0, 256, (h, w, 3), dtype=np.uint8)
    for got, want in zip(rgb_to_yuv420(frame), _whole_frame_yuv420(frame)):
        np.testing.assert_array_equal(got, want)


def test_rgb_to_yuv420_of_real_frames_is_bit_identical_to_whole_frame(street):
    for frame in street[:2]:
        for got, want in zip(rgb_to_yuv420(frame), _whole_frame_yuv420(frame)):
            np.testing.assert_array_equal(got, want)


def test_rgb_to_yuv420_known_colours():
    frame = np.zeros((4, 4, 3), np.uint8)
    frame[:2] = (255, 255, 255)
    p = rgb_to_yuv420(frame)
    assert p.y[0, 0] == 235 and p.y[3, 3] == 16          # BT.601 limited range
    assert np.all(p.u == 128) and np.all(p.v == 128)    # greys have no chroma
    red = rgb_to_yuv420(np.full((2, 2, 3), (255, 0, 0), np.uint8))
    assert (red.y[0, 0], red.u[0, 0], red.v[0, 0]) == (81, 90, 240)


def test_metric_pass_keeps_to_the_threads_setting():
    # A fresh process (the pool is made once per process); 1 thread, not one per core.
    code = """
import threading
import cv2
import numpy as np
from codecnb.metrics.quality import score_rgb, to_planes
seg = np.random.default_rng(0).integers(0, 256, (6, 48, 64, 3), dtype=np.uint8)
score_rgb(to_planes(seg), seg, seg[::-1].copy())
print(sum(t.name.startswith("codecnb-metric") for t in threading.enumerate()),
      cv2.getNumThreads())
"""
    env = {"PATH": os.environ["PATH"], "CODECNB_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1"]
