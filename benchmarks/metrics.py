"""Throughput of the standard metric pass (PSNR Y/U/V + Wang SSIM of Y) on 1920x1080.

Same frames for all three: the 54 frames of ../shared/testdata/street_1080p.h264 decoded to
yuv420p (reference) and the same clip through x264 at CRF 32 (distorted).

* ours: ``codecnb.metrics.score_planes`` on all cores;
* scikit-image: ``structural_similarity`` (Wang settings) on Y plus
  ``peak_signal_noise_ratio`` on Y, U and V, frame by frame;
* ffmpeg: the ``ssim`` and ``psnr`` filters of the imageio-ffmpeg binary on the raw files
  (its SSIM is another convention; its time includes reading the files).

Prints frames/s of each and the ratios; checks that ours equals scikit-image to 1e-6.
Target: ours >= 5x scikit-image.

    python benchmarks/metrics.py [--frames N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from skimage.metrics import peak_signal_noise_ratio, structural_similarity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import STREET  # noqa: E402

from codecnb.ffmpeg import run_ffmpeg  # noqa: E402
from codecnb.metrics import psnr_from_mse, score_planes, yuv420_from_bytes  # noqa: E402

W, H = 1920, 1080
FRAME = W * H * 3 // 2


def make_clips(folder: Path, frames: int) -> tuple[Path, Path]:
    ref, dis, mp4 = folder / "ref.yuv", folder / "dis.yuv", folder / "dis.264"
    run_ffmpeg(["-i", str(STREET), "-frames:v", str(frames), "-f", "rawvideo",
                "-pix_fmt", "yuv420p", str(ref)])
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{W}x{H}"]
    run_ffmpeg([*raw, "-i", str(ref), "-c:v", "libx264", "-preset", "veryfast", "-crf", "32",
                str(mp4)])
    run_ffmpeg(["-i", str(mp4), "-f", "rawvideo", "-pix_fmt", "yuv420p", str(dis)])
    return ref, dis


def load(path: Path) -> list:
    data = path.read_bytes()
    return [yuv420_from_bytes(data[i:i + FRAME], W, H) for i in range(0, len(data), FRAME)]


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def skimage_pass(refs, diss):
    out = []
    for r, d in zip(refs, diss):
        ssim = structural_similarity(r.y, d.y, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=255)
        psnr = [peak_signal_noise_ratio(a, b, data_range=255) for a, b in zip(r, d)]
        out.append((ssim, *psnr))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=54)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref_path, dis_path = make_clips(Path(tmp), args.frames)
        refs, diss = load(ref_path), load(dis_path)
        n = len(refs)
        score_planes(refs[:2], diss[:2])  # warm the thread pool
        t_ours, ours = best_of(lambda: score_planes(refs, diss), 3)
        t_sk, sk = best_of(lambda: skimage_pass(refs, diss), 1)
        raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{W}x{H}"]
        t_ff, _ = best_of(lambda: run_ffmpeg(
            [*raw, "-i", str(dis_path), *raw, "-i", str(ref_path), "-lavfi",
             "[0:v]split[a][b];[1:v]split[c][d];[a][c]ssim;[b][d]psnr", "-f", "null", "-"]), 3)
    d_ssim = max(abs(o.ssim_y - s[0]) for o, s in zip(ours, sk))
    d_psnr = max(abs(psnr_from_mse(m) - p) for o, s in zip(ours, sk)
                 for m, p in zip((o.mse_y, o.mse_u, o.mse_v), s[1:]))
    fps = {"codecnb": n / t_ours, "scikit-image": n / t_sk, "ffmpeg": n / t_ff}
    print(f"standard metric pass, {n} frames of {W}x{H} yuv420p, {os.cpu_count()} cores")
    for name, v in fps.items():
        print(f"  {name:<13} {v:8.1f} frames/s  ({1000 / v:6.1f} ms/frame)")
    print(f"ratio codecnb / scikit-image: {fps['codecnb'] / fps['scikit-image']:.2f}x "
          f"(target >= 5x)")
    print(f"ratio codecnb / ffmpeg:       {fps['codecnb'] / fps['ffmpeg']:.2f}x")
    print(f"max |difference| to scikit-image: SSIM {d_ssim:.2e}, PSNR {d_psnr:.2e} "
          f"(tolerance 1e-6)")
    ok = fps["codecnb"] >= 5 * fps["scikit-image"] and d_ssim <= 1e-6 and d_psnr <= 1e-6
    print("target:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
