"""Quality and rate metrics, each with its convention stated (see ``docs/metrics.md``)."""
from codecnb.metrics.bdrate import bd_psnr, bd_rate
from codecnb.metrics.bitrate import bits_per_pixel, kbps
from codecnb.metrics.color import Planes, rgb_to_yuv420, yuv420_from_bytes
from codecnb.metrics.psnr import average_psnr, clip_psnr, mean_frame_psnr, mse, psnr_from_mse
from codecnb.metrics.quality import ClipQuality, FrameScores, QualityAccumulator, score_planes
from codecnb.metrics.ssim import WangReference, ssim_wang
from codecnb.metrics.ssim_ffmpeg import ssim_ffmpeg
from codecnb.metrics.vmaf import VmafAccumulator, vmaf_files

__all__ = ["ClipQuality", "FrameScores", "Planes", "QualityAccumulator", "VmafAccumulator",
           "WangReference", "average_psnr", "bd_psnr", "bd_rate", "bits_per_pixel",
           "clip_psnr", "kbps", "mean_frame_psnr", "mse", "psnr_from_mse", "rgb_to_yuv420",
           "score_planes", "ssim_ffmpeg", "ssim_wang", "vmaf_files", "yuv420_from_bytes"]
