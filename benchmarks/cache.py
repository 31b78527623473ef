"""The S3 source cache against a local S3-compatible server (moto, HTTP on 127.0.0.1).

Prints three comparisons, each with its ratio:

1. warm hit of a 700 MB object (one HEAD, file used in place) against copying the cached
   file (what the old fix did). Target: under 50 ms and at least 20x faster.
2. warm hit of a 7 MB object against the 700 MB one. Target: flat, not proportional to size.
3. cold download throughput (including verification) against boto3's default
   ``download_file`` and ``aws s3 cp`` when installed. Target: no slower.

    python benchmarks/cache.py [--mb 700]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _clips import STREET  # noqa: E402
from s3fixtures import start_server  # noqa: E402


def make_object(path: Path, size: int) -> None:
    """A file of ``size`` bytes made of real video data (the street clip, repeated)."""
    chunk = STREET.read_bytes()
    with open(path, "wb") as f:
        left = size
        while left:
            piece = chunk[:left]
            f.write(piece)
            left -= len(piece)


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=700)
    args = ap.parse_args()
    big, small = args.mb * 1_000_000, args.mb * 10_000
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        srv = start_server(tmp)
        os.environ.update(srv.env)
        os.environ["CODECNB_CACHE_DIR"] = str(tmp / "cache")
        import boto3
        from codecnb.cache import S3Object, Store, fetch
        client = boto3.client("s3", endpoint_url=srv.url)
        client.create_bucket(Bucket="bench")
        for name, size in (("big.bin", big), ("small.bin", small)):
            make_object(tmp / name, size)
            client.upload_file(str(tmp / name), "bench", name)
        big_obj, small_obj = S3Object("bench", "big.bin"), S3Object("bench", "small.bin")
        try:
            t_cold, path = timed(lambda: fetch(big_obj))
            fetch(small_obj)
            t_hit, _ = timed(lambda: fetch(big_obj), repeat=20)
            t_hit_small, _ = timed(lambda: fetch(small_obj), repeat=20)
            t_copy, _ = timed(lambda: shutil.copyfile(path, tmp / "copy.bin"), repeat=3)
            (tmp / "copy.bin").unlink()
            t_boto, _ = timed(lambda: client.download_file("bench", "big.bin",
                                                           str(tmp / "boto.bin")))
            (tmp / "boto.bin").unlink()
            t_aws = None
            if shutil.which("aws"):
                t_aws, _ = timed(lambda: subprocess.run(
                    ["aws", "s3", "cp", "--quiet", "--endpoint-url", srv.url,
                     "s3://bench/big.bin", str(tmp / "aws.bin")], check=True))
            Store(tmp / "cache").clear()
        finally:
            srv.stop()
    mbps = lambda t: big / t / 1e6  # noqa: E731
    print(f"object sizes: {big / 1e6:.0f} MB and {small / 1e6:.0f} MB, server: moto on loopback")
    print(f"1. warm hit {args.mb} MB: {t_hit * 1000:.1f} ms; copying the cached file: "
          f"{t_copy * 1000:.0f} ms; ratio copy/hit = {t_copy / t_hit:.0f}x "
          f"(target < 50 ms and >= 20x)")
    print(f"2. warm hit {small / 1e6:.0f} MB: {t_hit_small * 1000:.1f} ms vs {big / 1e6:.0f} MB: "
          f"{t_hit * 1000:.1f} ms; ratio big/small = {t_hit / t_hit_small:.2f} (target ~1, flat)")
    line = (f"3. cold download {big / 1e6:.0f} MB incl. verification: codecnb {mbps(t_cold):.0f} MB/s "
            f"({t_cold:.1f} s); boto3 download_file default {mbps(t_boto):.0f} MB/s "
            f"({t_boto:.1f} s), ratio {t_boto / t_cold:.2f}")
    if t_aws:
        line += f"; aws s3 cp {mbps(t_aws):.0f} MB/s ({t_aws:.1f} s), ratio {t_aws / t_cold:.2f}"
    print(line + " (ratio >= 1: codecnb no slower)")
    ok = (t_hit < 0.05 and t_copy / t_hit >= 20 and t_hit / t_hit_small < 2
          and t_cold <= t_boto * 1.05 and (t_aws is None or t_cold <= t_aws * 1.05))
    print("targets:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
