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
    assert_user_error(run_cli("baselines", "--source", f"{raw}?pix_fmt=yuv410p"),
                      "unsupported pixel format 'yuv410p'")


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


# -- real clips the project had never seen (made from the bunny clip by ffmpeg) ------------
from clips import damaged_copy, make_clip, x264  # noqa: E402


def test_rotated_mp4_is_delivered_as_displayed(testdata, tmp_path):
    """A display matrix of 90 degrees: ffmpeg rotates the frames, so the size is swapped
    (it was read as 64x36 and scrambled)."""
    from codecnb.ffmpeg import run_ffmpeg
    plain = make_clip(testdata, tmp_path / "plain.mp4", *x264(), frames=2)
    rotated = tmp_path / "rotated.mp4"
    run_ffmpeg(["-display_rotation", "90", "-i", str(plain), "-c", "copy", str(rotated)])
    src = open_source(str(rotated))
    assert (src.info.width, src.info.height) == (36, 64)
    frames, upright = src.read(), open_source(str(plain)).read()
    assert frames.shape == (2, 64, 36, 3)
    assert np.array_equal(frames[0], np.rot90(upright[0], 1))


def test_tiny_frame_sizes_are_named_and_can_be_resized(testdata, tmp_path):
    """One-digit sizes (6x4) were "a video stream without a frame size", and 2x2 passed
    the source check to fail deep in the metric pass ("ssim_wang needs planes of at least
    11x11") after the sandbox had started."""
    clip = make_clip(testdata, tmp_path / "tiny.y4m", "-pix_fmt", "yuv420p", size="6x4")
    with pytest.raises(SourceError, match=r"tiny\.y4m': frames of 6x4 are too small.*12x12"):
        open_source(str(clip))
    assert open_source(str(clip), resize=(12, 12)).read().shape == (4, 12, 12, 3)
    with pytest.raises(SourceError, match="too small"):
        open_source("synthetic:pan?size=10x10&frames=2")
    odd = make_clip(testdata, tmp_path / "odd.y4m", "-pix_fmt", "yuv444p", size="7x5")
    with pytest.raises(SourceError, match="odd dimensions 7x5.*--resize"):
        open_source(str(odd))
    assert open_source(str(odd), resize=(16, 12)).read().shape == (4, 12, 16, 3)


def test_a_damaged_stream_is_refused_not_concealed(testdata, tmp_path):
    """ffmpeg conceals decoding errors differently from one read to the next (threads), so
    a damaged clip gave different reference frames each time; now the read stops."""
    from codecnb.sources.validate import check_window
    good = make_clip(testdata, tmp_path / "good.mp4", *x264("-g", "1"), size="320x180",
                     frames=6)
    bad = damaged_copy(good, tmp_path / "bad.mp4")
    with pytest.raises(SourceError, match=r"bad\.mp4'.*decoding failed.*damaged"):
        check_window(str(bad), 0, 6)
    assert len(open_source(str(good)).read()) == 6


def test_raw_yuv_frame_size_of_odd_sizes_and_of_10_bit(testdata, tmp_path):
    """Chroma planes of odd sizes round up (the count was wrong: int(w*h*1.5)); 10-bit raw
    files are read like 10-bit containers; a file too small for one frame is named."""
    y4m = make_clip(testdata, tmp_path / "odd.y4m", "-pix_fmt", "yuv420p", size="33x19",
                    frames=5)
    raw = make_clip(testdata, tmp_path / "odd.yuv", "-pix_fmt", "yuv420p", "-f", "rawvideo",
                    size="33x19", frames=5)
    src = open_source(f"{raw}?size=33x19", resize=(32, 18))
    assert src.info.frames == 5
    assert np.array_equal(src.read(), open_source(str(y4m), resize=(32, 18)).read())
    ten = make_clip(testdata, tmp_path / "ten.yuv", "-pix_fmt", "yuv420p10le", "-f",
                    "rawvideo", frames=3)
    ten_mkv = make_clip(testdata, tmp_path / "ten.mkv", "-pix_fmt", "yuv420p10le", "-c:v",
                        "ffv1", frames=3)
    a = open_source(f"{ten}?size=64x36&pix_fmt=yuv420p10le")
    assert a.info.frames == 3
    assert np.array_equal(a.read(), open_source(str(ten_mkv)).read())
    small = tmp_path / "small_64x36.yuv"
    small.write_bytes(bytes(100))
    with pytest.raises(SourceError, match="100 bytes hold no whole 64x36 yuv420p frame"):
        open_source(str(small))
    gray = tmp_path / "g_64x36.gray"
    gray.write_bytes(bytes(range(256)) * 9 * 2)   # two 64x36 gray frames
    assert open_source(str(gray)).info.frames == 2


def test_10_bit_444_422_and_gray_follow_the_8_bit_convention(testdata, tmp_path):
    """10-bit samples are rounded to 8 bits in their own layout, then converted like 8-bit
    ones: a 10-bit copy (y4m, mkv, lossless mp4) of an 8-bit 4:4:4, 4:2:2 or 4:2:0 clip gives
    the very same frames (directly to RGB, 4:2:0 differed by up to 20 at edges); gray gives
    gray RGB of the same luma."""
    from codecnb.ffmpeg import run_ffmpeg
    base = make_clip(testdata, tmp_path / "base.y4m", "-pix_fmt", "yuv444p", frames=2)
    ref = open_source(str(base)).read().astype(int)
    for name, chroma, args in [("a.y4m", "444", ["-strict", "-1"]),
                               ("b.mkv", "422", ["-c:v", "ffv1"]),
                               ("c.mp4", "420", ["-c:v", "libx264", "-qp", "0"])]:
        eight = tmp_path / f"{chroma}.y4m"
        run_ffmpeg(["-i", str(base), "-pix_fmt", f"yuv{chroma}p", str(eight)])
        run_ffmpeg(["-i", str(eight), "-pix_fmt", f"yuv{chroma}p10le", *args,
                    str(tmp_path / name)])
        src = open_source(str(tmp_path / name))
        assert src.info.pix_fmt == f"yuv{chroma}p10le", src.info
        assert np.array_equal(src.read(), open_source(str(eight)).read()), name
    run_ffmpeg(["-i", str(base), "-pix_fmt", "gray", str(tmp_path / "g.y4m")])
    gray = open_source(str(tmp_path / "g.y4m")).read()
    assert np.array_equal(gray[..., 0], gray[..., 1])          # no colour from nowhere
    luma = 16 + ref @ np.array([65.481, 128.553, 24.966]) / 255
    back = 16 + gray[..., 0].astype(float) * 219 / 255     # limited-range gray from RGB
    assert np.abs(back - luma).mean() < 1.5


def test_source_identity_separates_windows_resizes_and_raw_layouts(testdata, tmp_path):
    """Baseline caches are keyed by the identity: a raw file read at another frame rate or
    pixel format (same bytes, other frames or bitrates) must not share an entry."""
    from codecnb.sources.identity import source_identity
    raw = make_clip(testdata, tmp_path / "c_64x36.yuv", "-pix_fmt", "yuv420p", "-f",
                    "rawvideo", frames=4)
    p = str(raw)
    ids = [source_identity(open_source(u, **kw)) for u, kw in [
        (p, {}), (f"{p}?fps=50", {}), (f"{p}?pix_fmt=nv12", {}), (p, {"frames": 2}),
        (p, {"start": 1}), (p, {"resize": (32, 18)}), (f"{p}?resize=32x18&start=1", {})]]
    assert len(set(ids)) == len(ids)
    assert source_identity(open_source(p)) == ids[0]
    mp4 = str(make_clip(testdata, tmp_path / "c.mp4", *x264()))
    assert (source_identity(open_source(mp4, frames=2))
            != source_identity(open_source(mp4, frames=2, resize=(32, 18))))
    # 10-bit clips were converted directly to RGB before: their cached baselines are stale
    ten = make_clip(testdata, tmp_path / "ten.y4m", "-pix_fmt", "yuv420p10le", "-strict", "-1")
    assert "|yuv420p10le->yuv420p|" in source_identity(open_source(str(ten)))


def test_paths_with_spaces_colons_question_marks_and_unicode(testdata, tmp_path):
    clip = make_clip(testdata, tmp_path / "my clip: ünï?cøde.y4m", "-pix_fmt", "yuv420p")
    assert len(open_source(str(clip)).read()) == 4
    assert len(open_source(f"{clip}?frames=2&start=1").read()) == 2
    raw = make_clip(testdata, tmp_path / "raw: ü.yuv", "-pix_fmt", "yuv420p", "-f", "rawvideo")
    src = open_source(f"{raw}?size=64x36&fps=30")
    assert (src.info.width, src.info.fps, len(src.read())) == (64, 30.0, 4)


def test_audio_only_truncated_and_short_clips_are_one_line_errors(testdata, tmp_path):
    from codecnb.ffmpeg import run_ffmpeg
    from codecnb.sources.validate import check_window
    audio = tmp_path / "tone.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=0.2", "-c:a", "aac",
                str(audio)])
    with pytest.raises(SourceError, match=r"tone\.m4a'.*no video stream"):
        open_source(str(audio))
    full = make_clip(testdata, tmp_path / "full.mp4", *x264(), size="320x180", frames=8)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[:len(full.read_bytes()) // 2])   # moov at the end: gone
    with pytest.raises(SourceError, match="cut.mp4'.*moov atom not found"):
        open_source(str(cut))
    short = make_clip(testdata, tmp_path / "short.mp4", *x264(), frames=2)
    with pytest.raises(SourceError, match="only 2 frames from frame 0, 8 requested"):
        check_window(str(short), 0, 8)


def test_several_video_streams_read_the_default_one_and_say_so(testdata, tmp_path, caplog):
    """A still (cover art kept as a video track) before the clip: the stream marked default
    is read (the still was, silently), consistently in size, frames and rate; without a
    default, the first."""
    from codecnb.ffmpeg import run_ffmpeg
    clip = make_clip(testdata, tmp_path / "clip.mp4", *x264(), frames=3)
    still = make_clip(testdata, tmp_path / "still.png", size="32x32", frames=1)
    for name, disposition, shape in [("default.mkv", ["0", "default"], (3, 36, 64, 3)),
                                     ("none.mkv", ["0", "0"], (1, 32, 32, 3))]:
        both = tmp_path / name
        run_ffmpeg(["-i", str(still), "-i", str(clip), "-map", "0", "-map", "1:v", "-c:v",
                    "copy", "-disposition:v:0", disposition[0], "-disposition:v:1",
                    disposition[1], str(both)])
        with caplog.at_level("WARNING", logger="codecnb.ffmpeg"):
            src = open_source(str(both))
        assert (src.info.height, src.info.width) == shape[1:3], name
        assert src.read().shape == shape, name
        assert f"{name} has 2 video streams; reading #0:" in caplog.text


def test_file_names_ffmpeg_would_take_for_protocols_or_options(testdata, tmp_path,
                                                               monkeypatch):
    """Relative names such as 'pipe:3.mp4' or 'concat:x.mp4' were handed to ffmpeg as they
    are and read as its protocols ("Invalid argument", "No such file")."""
    clip = make_clip(testdata, tmp_path / "c.mp4", *x264(), frames=2)
    monkeypatch.chdir(tmp_path)
    for name in ("pipe:3.mp4", "concat:x.mp4", "-dash.mp4"):
        (tmp_path / name).write_bytes(clip.read_bytes())
        assert open_source(name).read().shape == (2, 36, 64, 3), name


def test_variable_frame_rate_is_the_average_of_the_timestamps(testdata, tmp_path):
    """12 of 20 frames kept with their timestamps (0.00 to 0.68 s): 11 intervals in 0.68 s
    whatever the container. Before, the header's rate was taken: 25 fps for mkv and webm
    (kbps 1.5x too high), 15.8 for mp4 (its header rate)."""
    from codecnb.ffmpeg import run_ffmpeg
    base = make_clip(testdata, tmp_path / "base.mp4", *x264(), frames=20)
    rates = {}
    for name, codec in [("v.mp4", "libx264"), ("v.mkv", "libx264"), ("v.webm", "libvpx")]:
        run_ffmpeg(["-i", str(base), "-vf", "select='lt(mod(n\\,5)\\,3)'", "-fps_mode", "vfr",
                    "-c:v", codec, str(tmp_path / name)])
        src = open_source(str(tmp_path / name))
        rates[name] = src.info.fps
        assert len(src.read()) == 12, name
    assert rates == pytest.approx({n: 11 / 0.68 for n in rates}, rel=1e-6), rates
    assert open_source(str(base)).info.fps == 25.0          # constant rates unchanged
    from codecnb.sources.identity import source_identity
    assert f"|fps={rates['v.mkv']!r}|" in source_identity(open_source(str(tmp_path / "v.mkv")))
    assert "|fps=" not in source_identity(open_source(str(base)))
