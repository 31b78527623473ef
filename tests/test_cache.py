"""The S3 source cache against a real S3-compatible server (moto) over HTTP on loopback."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time

import boto3
import pytest

from codecnb.cache import STATS, CacheError, S3Object, Store, fetch
from codecnb.cache.client import _client
from conftest import ROOT, assert_user_error, run_cli
from s3fixtures import free_port, start_server

BUCKET = "clips"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("s3"))
    yield srv
    srv.stop()


@pytest.fixture
def s3(server, monkeypatch, tmp_path):
    """Environment pointing at the server, a fresh cache folder, and a put() helper."""
    for k, v in server.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("CODECNB_CACHE_DIR", str(tmp_path / "cache"))
    _client.cache_clear()
    client = boto3.client("s3", endpoint_url=server.url)
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    server.faults.write_text("{}")

    def put(key: str, data: bytes) -> S3Object:
        client.put_object(Bucket=BUCKET, Key=key, Body=data)
        return S3Object(BUCKET, key)

    yield put, client, tmp_path / "cache"
    server.faults.write_text("{}")


def data_of(size: int, seed: int) -> bytes:
    return (hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1))[:size]


def test_cold_miss_then_hit_in_place(s3, server):
    put, _, cache = s3
    obj = put("a/clip.mp4", data_of(3_000_000, 1))
    before = dict(STATS.to_dict())
    path = fetch(obj)
    assert path.read_bytes() == data_of(3_000_000, 1)
    assert path.parent.parent.parent == cache and path.name == "clip.mp4"
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    gets = len(server.requests("GET", f"/{BUCKET}/a/clip.mp4"))
    heads = len(server.requests("HEAD", f"/{BUCKET}/a/clip.mp4"))
    inode = path.stat().st_ino
    again = fetch(obj)
    assert again == path and again.stat().st_ino == inode          # used in place
    assert len(server.requests("GET", f"/{BUCKET}/a/clip.mp4")) == gets == 1
    assert len(server.requests("HEAD", f"/{BUCKET}/a/clip.mp4")) == heads + 1
    assert STATS.misses == before["misses"] + 1 and STATS.hits == before["hits"] + 1
    assert STATS.bytes_downloaded == before["bytes_downloaded"] + 3_000_000


def test_changed_object_of_same_size_is_downloaded_again(s3, server):
    put, _, _ = s3
    obj = put("same-size.bin", data_of(1_000_000, 1))
    assert fetch(obj).read_bytes() == data_of(1_000_000, 1)
    put("same-size.bin", data_of(1_000_000, 2))
    assert fetch(obj).read_bytes() == data_of(1_000_000, 2)
    assert len(server.requests("GET", f"/{BUCKET}/same-size.bin")) == 2


def test_ttl_skips_the_head_request(s3, server):
    put, _, _ = s3
    obj = put("ttl.bin", data_of(10_000, 3))
    fetch(obj, ttl_s=60)
    heads = len(server.requests("HEAD", f"/{BUCKET}/ttl.bin"))
    fetch(obj, ttl_s=60)
    assert len(server.requests("HEAD", f"/{BUCKET}/ttl.bin")) == heads


def test_four_processes_cold_start_download_once(s3, server, tmp_path):
    put, _, _ = s3
    put("shared.bin", data_of(4_000_000, 4))
    go = tmp_path / "go"
    script = (f"import sys, time, hashlib, pathlib\nsys.path.insert(0, {str(ROOT)!r})\n"
              "from codecnb.cache import fetch, S3Object\n"
              f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.005)\n"
              f"p = fetch(S3Object({BUCKET!r}, 'shared.bin'))\n"
              "print(p, hashlib.sha256(p.read_bytes()).hexdigest())\n")
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    time.sleep(1.0)
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o[0] for o in outs}) == 1                       # same path, same content
    assert outs[0][0].split()[1] == hashlib.sha256(data_of(4_000_000, 4)).hexdigest()
    assert len(server.requests("GET", f"/{BUCKET}/shared.bin")) == 1


def test_connection_cut_midway_is_retried(s3, server):
    put, _, _ = s3
    obj = put("cut.bin", data_of(6_000_000, 5))
    server.faults.write_text(json.dumps({"cut_after": 1_000_000, "times": 2}))
    path = fetch(obj)
    assert path.read_bytes() == data_of(6_000_000, 5)
    assert len(server.requests("GET", f"/{BUCKET}/cut.bin")) >= 2


def test_download_that_always_breaks_serves_nothing(s3, server):
    put, _, _ = s3
    obj = put("broken.bin", data_of(3_000_000, 6))
    server.faults.write_text(json.dumps({"cut_after": 100_000, "times": 1000}))
    with pytest.raises(CacheError):
        fetch(obj)
    store = Store(s3[2])
    assert store.valid_entry(obj) is None
    assert not list(store.folder(obj).glob(".tmp-*"))


def test_download_killed_with_sigkill_then_fresh_request(s3, server):
    put, _, cache = s3
    obj = put("killed.bin", data_of(8_000_000, 7))
    server.faults.write_text(json.dumps({"slow": 1.0}))          # 1 s per MiB
    script = (f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
              "from codecnb.cache import fetch, S3Object\n"
              f"fetch(S3Object({BUCKET!r}, 'killed.bin'))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
    folder = Store(cache).folder(obj)
    deadline = time.time() + 30
    while time.time() < deadline and not any(
            f.stat().st_size > 0 for f in folder.glob(".tmp-*")):
        time.sleep(0.1)
    assert list(folder.glob(".tmp-*")), "the download never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert Store(cache).valid_entry(obj) is None                  # nothing served
    server.faults.write_text("{}")
    path = fetch(obj)
    assert path.read_bytes() == data_of(8_000_000, 7)
    assert not list(folder.glob(".tmp-*"))                        # stale temp cleaned up


@pytest.mark.slow
def test_unreachable_with_and_without_a_cached_copy(s3, monkeypatch, caplog):
    put, _, _ = s3
    obj = put("offline.bin", data_of(50_000, 8))
    path = fetch(obj)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    _client.cache_clear()
    with caplog.at_level(logging.WARNING):
        assert fetch(obj) == path
    assert "unreachable" in caplog.text and "cached copy" in caplog.text
    with pytest.raises(CacheError, match="--strict"):
        fetch(obj, strict=True)
    with pytest.raises(CacheError, match="unreachable"):
        fetch(S3Object(BUCKET, "never-cached.bin"))


def test_missing_key_bucket_and_bad_credentials(s3, tmp_path_factory, monkeypatch):
    with pytest.raises(CacheError, match="no such object"):
        fetch(S3Object(BUCKET, "nope.bin"))
    with pytest.raises(CacheError, match="bucket .no-such-bucket. does not exist"):
        fetch(S3Object("no-such-bucket", "x.bin"))
    auth = start_server(tmp_path_factory.mktemp("s3auth"), auth=True)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", auth.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
        _client.cache_clear()
        with pytest.raises(CacheError, match="access denied"):
            fetch(S3Object(BUCKET, "x.bin"))
    finally:
        auth.stop()


def test_eviction_under_the_size_cap(s3):
    put, _, cache = s3
    objs = [put(f"evict/{i}.bin", data_of(1_000_000, 10 + i)) for i in range(3)]
    fetch(objs[0], max_bytes=2_500_000)
    fetch(objs[1], max_bytes=2_500_000)
    fetch(objs[0], max_bytes=2_500_000)      # 0 is now more recently used than 1
    time.sleep(0.01)
    fetch(objs[2], max_bytes=2_500_000)      # over the cap: the least recently used goes
    store = Store(cache)
    assert store.valid_entry(objs[1]) is None
    assert store.valid_entry(objs[0]) and store.valid_entry(objs[2])
    assert store.total_bytes() <= 2_500_000


@pytest.mark.slow
def test_cli_accepts_s3_sources_and_reports_errors(s3, server, testdata):
    put, _, cache = s3
    put("park_joy_480x270.y4m", (testdata / "park_joy_480x270.y4m").read_bytes())
    proc = run_cli("baselines", "--source", f"s3://{BUCKET}/park_joy_480x270.y4m", "--frames",
                   "4", "--codec", "jpeg", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["source"]["frames"] == 4
    prog = cache.parent / "lossless.py"
    prog.write_text("import zlib\nimport numpy as np\n"
                    "def encode(frames, quality):\n"
                    "    return np.array(frames.shape, np.int32).tobytes() + "
                    "zlib.compress(frames.tobytes())\n"
                    "def decode(data):\n"
                    "    s = tuple(np.frombuffer(data[:16], np.int32))\n"
                    "    return np.frombuffer(zlib.decompress(data[16:]), np.uint8).reshape(s)\n")
    proc = run_cli("eval", str(prog), "--source", f"s3://{BUCKET}/park_joy_480x270.y4m",
                   "--frames", "4", "--quality", "50", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "ok"
    listing = run_cli("cache", "ls")
    assert f"s3://{BUCKET}/park_joy_480x270.y4m" in listing.stdout
    assert_user_error(run_cli("baselines", "--source", f"s3://{BUCKET}/missing.mp4"),
                      "no such object")
    assert_user_error(run_cli("baselines", "--source", f"s3://{BUCKET}/x.mp4", "--endpoint-url",
                              f"http://127.0.0.1:{free_port()}"), "unreachable")
    cleared = run_cli("cache", "clear")
    assert cleared.returncode == 0 and "removed" in cleared.stdout


def _multipart(client, key: str, data: bytes, part: int) -> S3Object:
    up = client.create_multipart_upload(Bucket=BUCKET, Key=key)
    parts = []
    for i in range(0, len(data), part):
        r = client.upload_part(Bucket=BUCKET, Key=key, PartNumber=len(parts) + 1,
                               UploadId=up["UploadId"], Body=data[i:i + part])
        parts.append({"PartNumber": len(parts) + 1, "ETag": r["ETag"]})
    client.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up["UploadId"],
                                     MultipartUpload={"Parts": parts})
    return S3Object(BUCKET, key)


@pytest.mark.parametrize("kind", ["single-part", "multipart"])
def test_corrupt_object_of_the_right_size_is_refused(s3, server, kind):
    """A flipped byte in transit: the MD5 ETag (single part) or the multipart ETag checked
    part by part (6 MiB parts, a size none of the usual guesses fits, learnt by HEAD with
    PartNumber) refuses it; nothing is cached. Untouched, the same object passes."""
    put, client, cache = s3
    data = data_of(13 << 20, 7)
    obj = (put("one/clip.bin", data) if kind == "single-part"
           else _multipart(client, "multi/clip.bin", data, 6 << 20))
    etag = client.head_object(Bucket=BUCKET, Key=obj.key)["ETag"]
    assert ("-3" in etag) == (kind == "multipart")
    server.faults.write_text(json.dumps({"flip_at": 9_000_000}))
    # (boto3 itself may catch a single-part object first, by its CRC32 checksum)
    with pytest.raises(CacheError, match="does not match the object|did not match"):
        fetch(obj)
    assert not Store(cache).valid_entry(obj)
    server.faults.write_text("{}")
    assert fetch(obj).read_bytes() == data
