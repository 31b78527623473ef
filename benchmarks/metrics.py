"""Throughput of the standard metric pass on 1920x1080 frames: this one, the previous one,
scikit-image and ffmpeg, in one run on the same frames.

Frames: the first N frames of ../shared/testdata/street_1080p.h264 (reference) and the same
frames through x264 at CRF 32 (distorted), both decoded to RGB as the evaluator sees them,
in segments of 16 frames as the evaluator reads them.

* new: ``to_planes(segment)`` once per segment (4:2:0 planes of the source and the Gaussian
  statistics of its Y plane), then ``score_rgb`` per decoded segment (BT.601 4:2:0
  conversion of the decoded RGB, MSE of Y, U, V and RGB, Wang SSIM of Y) on all cores (the
  ``threads`` setting, ``CODECNB_THREADS``);
* old: the pass of commit 92cb9a8 (whole-frame conversion, Wang SSIM with four float64
  filters per frame), kept below for comparison, on the same thread pool;
* scikit-image: ``structural_similarity`` (Wang settings) of Y plus
  ``peak_signal_noise_ratio`` of Y, U, V and RGB on our planes, frame by frame (it has no
  BT.601 conversion, so it does less work than the passes above);
* ffmpeg: its ``ssim`` and ``psnr`` filters on the yuv420p files of the same frames
  (another SSIM convention; its time includes reading the files).

"per decoded frame" is what every quality point costs; "with reference / 4" adds the
reference preparation shared by 4 quality points. Checks that the new values equal
scikit-image's within 1e-6 and the old pass's conversion exactly. Targets: per decoded frame
<= 25 ms and >= 15x scikit-image's throughput.

    python benchmarks/metrics.py [--frames N]
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import STREET  # noqa: E402

from codecnb import config  # noqa: E402
from codecnb.ffmpeg import run_ffmpeg  # noqa: E402
from codecnb.metrics import Planes, psnr_from_mse  # noqa: E402
from codecnb.metrics.psnr import mse  # noqa: E402
from codecnb.metrics.quality import FrameScores, parallel_map, score_rgb, to_planes  # noqa: E402
from codecnb.sources import open_source  # noqa: E402

W, H = 1920, 1080
SEGMENT = 16
QUALITIES = 4


# --- the previous pass (commit 92cb9a8), verbatim but for names -------------------------
_BT601 = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0],
                   [112.0, -93.786, -18.214]], dtype=np.float32) / 255.0
_R = 5
_K = cv2.getGaussianKernel(2 * _R + 1, 1.5, ktype=cv2.CV_64F)
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def old_rgb_to_yuv420(frame):
    ycc = cv2.transform(frame.astype(np.float32), _BT601)
    ycc += np.asarray((16.0, 128.0, 128.0), np.float32)
    h, w = frame.shape[:2]
    y = np.clip(np.rint(ycc[..., 0]), 0, 255).astype(np.uint8)
    chroma = cv2.resize(ycc[..., 1:], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    chroma = np.clip(np.rint(chroma), 0, 255).astype(np.uint8)
    return Planes(y, np.ascontiguousarray(chroma[..., 0]), np.ascontiguousarray(chroma[..., 1]))


def _old_blur(x):
    out = cv2.sepFilter2D(x, cv2.CV_64F, _K, _K, borderType=cv2.BORDER_REFLECT)
    return out[_R:-_R, _R:-_R]


def old_ssim_wang(a, b):
    f32 = cv2.CV_32F
    mx, my = _old_blur(a), _old_blur(b)
    sq = cv2.add(cv2.multiply(a, a, dtype=f32), cv2.multiply(b, b, dtype=f32))
    e_sq, e_xy = _old_blur(sq), _old_blur(cv2.multiply(a, b, dtype=f32))
    mxy = cv2.multiply(mx, my)
    msq = cv2.add(cv2.multiply(mx, mx), cv2.multiply(my, my))
    s_xy = cv2.subtract(e_xy, mxy, dtype=f32)
    s_sq = cv2.subtract(e_sq, msq, dtype=f32)
    num = cv2.multiply(cv2.add(mxy.astype(np.float32), _C1 / 2), cv2.add(s_xy, _C2 / 2))
    den = cv2.multiply(cv2.add(msq.astype(np.float32), _C1), cv2.add(s_sq, _C2))
    return 4.0 * cv2.mean(cv2.divide(num, den))[0]


def old_to_planes(frames):
    return parallel_map(old_rgb_to_yuv420, list(frames))


def old_score_rgb(ref_planes, ref_rgb, dis_rgb):
    def one(i):
        r, d = ref_planes[i], old_rgb_to_yuv420(dis_rgb[i])
        return FrameScores(mse(r.y, d.y), mse(r.u, d.u), mse(r.v, d.v), old_ssim_wang(r.y, d.y),
                           mse(ref_rgb[i], dis_rgb[i])), d
    pairs = parallel_map(one, range(len(dis_rgb)))
    return [p[0] for p in pairs], [p[1] for p in pairs]
# ------------------------------------------------------------------------------------------


def make_clips(folder: Path, frames: int) -> tuple[Path, Path, Path]:
    """yuv420p files of the reference and the distorted frames, and the distorted stream."""
    ref, dis, stream = folder / "ref.yuv", folder / "dis.yuv", folder / "dis.264"
    run_ffmpeg(["-i", str(STREET), "-frames:v", str(frames), "-f", "rawvideo",
                "-pix_fmt", "yuv420p", str(ref)])
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{W}x{H}"]
    run_ffmpeg([*raw, "-i", str(ref), "-c:v", "libx264", "-preset", "veryfast", "-crf", "32",
                str(stream)])
    run_ffmpeg(["-i", str(stream), "-f", "rawvideo", "-pix_fmt", "yuv420p", str(dis)])
    return ref, dis, stream


def timed(fn):
    """(wall seconds, CPU seconds of this process and its children, result) of ``fn()``."""
    def cpu() -> float:
        child = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + child.ru_utime + child.ru_stime
    t0, c0 = time.perf_counter(), cpu()
    out = fn()
    return np.array([time.perf_counter() - t0, cpu() - c0]), out


def run_pass(prepare, score, segments, repeat: int):
    """Best-of-``repeat`` (wall, CPU) seconds of preparing the references and of scoring,
    and the scores and planes."""
    best_ref = best_dis = np.array([math.inf, math.inf])
    scores, planes = [], []
    for _ in range(repeat):
        t_ref = t_dis = np.zeros(2)
        scores, planes = [], []
        for ref, dis in segments:
            dt, refs = timed(lambda: prepare(ref))
            t_ref = t_ref + dt
            dt, (s, p) = timed(lambda: score(refs, ref, dis))
            t_dis = t_dis + dt
            scores += s
            planes += [(getattr(r, "planes", r), q) for r, q in zip(refs, p)]
            del refs
        best_ref, best_dis = np.minimum(best_ref, t_ref), np.minimum(best_dis, t_dis)
    return best_ref, best_dis, scores, planes


def skimage_pass(planes, segments):
    rgb = [(r, d) for ref, dis in segments for r, d in zip(ref, dis)]
    out = []
    for (r, d), (a, b) in zip(planes, rgb):
        ssim = structural_similarity(r.y, d.y, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=255)
        psnr = [peak_signal_noise_ratio(x, y, data_range=255) for x, y in zip(r, d)]
        out.append((ssim, *psnr, peak_signal_noise_ratio(a, b, data_range=255)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs (ours)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref_path, dis_path, stream = make_clips(Path(tmp), args.frames)
        refs = open_source(str(STREET), frames=args.frames).read()
        diss = open_source(str(stream), frames=args.frames).read()
        n = len(refs)
        segments = [(refs[i:i + SEGMENT], diss[i:i + SEGMENT]) for i in range(0, n, SEGMENT)]
        run_pass(to_planes, score_rgb, segments[:1], 1)  # warm the pool and the buffers
        new_ref, new_dis, new, planes = run_pass(to_planes, score_rgb, segments, args.repeat)
        old_ref, old_dis, old, old_planes = run_pass(old_to_planes, old_score_rgb, segments,
                                                     args.repeat)
        t_sk, sk = timed(lambda: skimage_pass(planes, segments))
        raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{W}x{H}"]
        t_ff = np.min([timed(lambda: run_ffmpeg(
            [*raw, "-i", str(dis_path), *raw, "-i", str(ref_path), "-lavfi",
             "[0:v]split[a][b];[1:v]split[c][d];[a][c]ssim;[b][d]psnr", "-f", "null", "-"]))[0]
            for _ in range(3)], axis=0)

    def close(a: float, b: float) -> float:
        return 0.0 if a == b else abs(a - b)
    d_ssim = max(abs(o.ssim_y - s[0]) for o, s in zip(new, sk))
    d_psnr = max(close(psnr_from_mse(m), p) for o, s in zip(new, sk)
                 for m, p in zip((o.mse_y, o.mse_u, o.mse_v, o.mse_rgb), s[1:]))
    same_planes = all(np.array_equal(a, b) for (r, d), (ro, do) in zip(planes, old_planes)
                      for a, b in zip((*r, *d), (*ro, *do)))
    d_old = max(abs(a.ssim_y - b.ssim_y) for a, b in zip(new, old))
    threads = config.resolve("threads")
    rows = {"new per decoded frame": new_dis, "new reference (once)": new_ref,
            f"new with reference / {QUALITIES}": new_dis + new_ref / QUALITIES,
            "old per decoded frame": old_dis, "old reference (once)": old_ref,
            f"old with reference / {QUALITIES}": old_dis + old_ref / QUALITIES,
            "scikit-image (planes)": t_sk, "ffmpeg ssim+psnr": t_ff}
    rows = {k: 1000 * v / n for k, v in rows.items()}
    print(f"metric pass, {n} frames of {W}x{H}, {threads} threads, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine slows the wall "
          f"clock; CPU time is less disturbed)")
    print(f"  {'':<28} {'wall ms/frame':>13} {'CPU ms/frame':>13} {'CPU / threads':>13}")
    for name, (wall, cpu) in rows.items():
        par = threads if name.startswith(("new", "old")) else 1
        print(f"  {name:<28} {wall:13.1f} {cpu:13.1f} {cpu / par:13.1f}")
    for clock, k in (("wall clock", 0), (f"CPU time / {threads} threads", 1)):
        div = 1 if k == 0 else threads
        new_ms = rows["new per decoded frame"][k] / div
        old_ms = rows["old per decoded frame"][k] / div
        amort = rows[f"new with reference / {QUALITIES}"][k] / div
        sk_ms, ff_ms = rows["scikit-image (planes)"][k], rows["ffmpeg ssim+psnr"][k]
        print(f"{clock}: new {new_ms:.1f} ms per decoded frame ({amort:.1f} with the reference "
              f"/ {QUALITIES}), old {old_ms:.1f} ms: {old_ms / new_ms:.1f}x faster; "
              f"vs scikit-image {sk_ms / new_ms:.1f}x ({sk_ms / amort:.1f}x with the reference, "
              f"old {sk_ms / old_ms:.1f}x); vs ffmpeg {ff_ms / new_ms:.2f}x "
              f"(ffmpeg {new_ms / ff_ms:.1f}x faster)")
        if k == 0:
            ok_wall = new_ms <= 25 and sk_ms >= 15 * new_ms
        else:
            ok_cpu = new_ms <= 25 and sk_ms >= 15 * new_ms
    print(f"max |difference| to scikit-image: SSIM {d_ssim:.1e}, PSNR {d_psnr:.1e} "
          f"(tolerance 1e-6); to the old pass: SSIM {d_old:.1e}, planes "
          f"{'identical' if same_planes else 'DIFFERENT'}")
    exact = d_ssim <= 1e-6 and d_psnr <= 1e-6 and same_planes
    print("target (<= 25 ms a decoded frame, >= 15x scikit-image, within 1e-6): "
          f"wall clock {'met' if ok_wall and exact else 'MISSED'}, "
          f"CPU time {'met' if ok_cpu and exact else 'MISSED'}")
    return 0 if exact and (ok_wall or ok_cpu) else 1


if __name__ == "__main__":
    sys.exit(main())
