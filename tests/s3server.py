"""A real S3-compatible HTTP server for the tests: moto's server app on 127.0.0.1, wrapped in
a middleware that logs every request and injects faults on demand.

    python tests/s3server.py PORT LOGFILE FAULTFILE

Faults are read from FAULTFILE (JSON) at each object GET:
``{"cut_after": N, "times": K}`` cuts the connection after N body bytes, K times;
``{"slow": seconds_per_mib}`` streams the body slowly;
``{"flip_at": N}`` flips the bits of body byte N (a corrupt object of the right size).
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

_lock = threading.Lock()


def make_app(log: Path, faults: Path):
    app = DomainDispatcherApplication(create_backend_app)

    def middleware(environ, start_response):
        method = environ["REQUEST_METHOD"]
        line = f"{method} {environ.get('PATH_INFO')} {environ.get('HTTP_RANGE', '-')}\n"
        with _lock, open(log, "a") as f:
            f.write(line)
        body = app(environ, start_response)
        if method != "GET" or environ.get("QUERY_STRING") or not faults.exists():
            return body
        with _lock:
            fault = json.loads(faults.read_text() or "{}")
            cut = fault.get("cut_after")
            if cut is not None and fault.get("times", 0) > 0:
                fault["times"] -= 1
                faults.write_text(json.dumps(fault))
            else:
                cut = None
        slow = fault.get("slow")
        flip = fault.get("flip_at")
        if cut is None and not slow and flip is None:
            return body

        def stream():
            sent = 0
            for chunk in body:
                for i in range(0, len(chunk), 1 << 16):
                    piece = chunk[i:i + (1 << 16)]
                    if cut is not None and sent + len(piece) > cut:
                        yield piece[:max(0, cut - sent)]
                        raise ConnectionAbortedError("fault injected: connection cut")
                    if slow:
                        time.sleep(slow * len(piece) / (1 << 20))
                    if flip is not None and sent <= flip < sent + len(piece):
                        piece = bytearray(piece)
                        piece[flip - sent] ^= 0xFF
                        piece = bytes(piece)
                    sent += len(piece)
                    yield piece
        return stream()

    return middleware


if __name__ == "__main__":
    port, log, faults = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    run_simple("127.0.0.1", port, make_app(log, faults), threaded=True)
