"""Sources: real files of every kind, samples, synthetic clips, windows and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from codecnb.errors import SourceError
from codecnb.sources import open_source
from conftest import assert_user_error, run_cli

REAL = [("bigbuckbunny_720p.mp4", 132, (1280, 720), 25.0),
        ("street_1080p.h264", 54, (1920, 1080), 25.0),
        ("park_joy_480x270.y4m", 10, (480, 270), 50.0),
        ("dark_scene_1920x1080_420p_ref.yuv", 1, (1920, 1080), 25.0)]


@pytest.mark.parametrize("name,count,size,fps", REAL)
def test_real_files_frame_counts(testdata, name, count, size, fps):
    src = open_source(str(testdata / name))
    assert (src.info.width, src.info.height) == size
    assert src.info.fps == fps
    n = 0
    for seg in src.segments(16):
        assert seg.dtype == np.uint8 and seg.shape[1:] == (size[1], size[0], 3)
        assert len(seg) <= 16
        n += len(seg)
    assert n == count


def test_raw_yuv_reads_the_planes_as_written(testdata):
    """The first frame of the raw file decodes to RGB whose luma matches the file's Y."""
    frame = open_source(str(testdata / "dark_scene_1920x1080_420p_ref.yuv")).read()[0]
    y = np.fromfile(testdata / "dark_scene_1920x1080_420p_ref.yuv", np.uint8,
                    1920 * 1080).reshape(1080, 1920).astype(float)
    # BT.601 limited range back from RGB: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255
    y_back = 16 + frame.astype(float) @ np.array([65.481, 128.553, 24.966]) / 255
    assert np.abs(y_back - y).mean() < 1.0


def test_raw_yuv_options_in_uri(testdata, tmp_path):
    raw = (testdata / "dark_scene_1920x1080_420p_ref.yuv").read_bytes()
    path = tmp_path / "clip.yuv"
    path.write_bytes(raw * 3)
    src = open_source(f"{path}?size=1920x1080&fps=30&pix_fmt=yuv420p")
    assert (src.info.width, src.info.fps, src.info.frames) == (1920, 30.0, 3)
    assert len(src.read()) == 3


def test_sample_and_window():
    src = open_source("sample:bigbuckbunny", start=128, frames=10, resize=(320, 180))
    frames = src.read()
    assert frames.shape == (4, 180, 320, 3)  # only 4 frames remain after frame 128
    full = open_source("sample:bigbuckbunny", frames=130).read()
    again = open_source("sample:bigbuckbunny?start=129&frames=1").read()
    assert np.array_equal(again[0], full[129])


def test_synthetic_is_deterministic_textured_and_moving():
    a = open_source("synthetic:pan?size=96x64&frames=6&seed=3").read()
    b = open_source("synthetic:pan?size=96x64&frames=6&seed=3").read()
    c = open_source("synthetic:pan?size=96x64&frames=6&seed=4").read()
    assert a.shape == (6, 64, 96, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a[0].std() > 20                      # textured
    assert np.abs(a[1].astype(int) - a[0]).mean() > 5   # moving
    static = open_source("synthetic:static?size=96x64&frames=3").read()
    assert np.array_equal(static[0], static[2])


def test_synthetic_window_matches_full_clip():
    full = open_source("synthetic:?frames=10").read()
    part = open_source("synthetic:?frames=10", start=4, frames=3).read()
    assert np.array_equal(part, full[4:7])


def test_segments_bound_memory_and_cover_the_clip():
    src = open_source("synthetic:noise?size=64x48&frames=37")
    sizes = [len(s) for s in src.segments(8)]
    assert sizes == [8, 8, 8, 8, 5]


def test_zero_frames_is_an_error():
    with pytest.raises(SourceError, match="no frames"):
        list(open_source("sample:bigbuckbunny", start=500).segments())


# Every bad input of the foundation issue, through the real CLI: exit 2, one clear line.
def test_cli_missing_file():
    assert_user_error(run_cli("baselines", "--source", "nope/missing.mp4"),
                      "missing.mp4", "no such file")


def test_cli_not_a_video(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n")
    assert_user_error(run_cli("baselines", "--source", str(bad)), "notes.mp4", "not a video")


def test_cli_zero_frames():
    assert_user_error(run_cli("baselines", "--source", "sample:bigbuckbunny", "--start", "999",
                              "--codec", "jpeg"), "no frames")


def test_cli_unknown_scheme():
    assert_user_error(run_cli("baselines", "--source", "ftp://host/clip.mp4"),
                      "unknown scheme 'ftp'")


def test_cli_raw_yuv_without_size(tmp_path):
    raw = tmp_path / "clip.yuv"
    raw.write_bytes(bytes(96 * 64 * 3 // 2))
    assert_user_error(run_cli("baselines", "--source", str(raw)), "clip.yuv", "frame size")


def test_cli_unsupported_pixel_format(tmp_path):
    raw = tmp_path / "clip_96x64.yuv"
    raw.write_bytes(bytes(96 * 64 * 3))
    assert_user_error(run_cli("baselines", "--source", f"{raw}?pix_fmt=yuv420p10le"),
                      "unsupported pixel format 'yuv420p10le'")


def test_cli_odd_dimensions():
    assert_user_error(run_cli("baselines", "--source", "synthetic:pan?size=97x64"),
                      "odd dimensions 97x64")


def test_cli_bad_environment_variable():
    assert_user_error(run_cli("baselines", env={"CODECNB_FRAMES": "many"}), "CODECNB_FRAMES")


def test_generated_source_identity_is_its_canonical_parameters():
    import hashlib
    from codecnb.sources.identity import source_identity, source_sha256
    from codecnb.sources.synthetic import GENERATOR_VERSION
    a = open_source("synthetic:pan?size=64x48&frames=4")
    same = open_source("synthetic:pan?frames=4&seed=0&fps=25&size=64x48")
    other = open_source("synthetic:pan?size=64x48&frames=4&seed=1")
    assert source_sha256(a) == source_sha256(same) != source_sha256(other)
    assert source_sha256(a) != hashlib.sha256(a.info.uri.encode()).hexdigest()
    assert f'"version": "{GENERATOR_VERSION}"' in source_identity(a)
    assert source_identity(a) == source_identity(same)
