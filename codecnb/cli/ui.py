"""``codecnb ui``: the MLflow UI on the local store, bound to 127.0.0.1."""
from __future__ import annotations

import argparse
import os
import sys

from codecnb import config
from codecnb.errors import CodecnbError
from codecnb.tracking.store import artifact_root, store_exists, tracking_uri


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError("must be within 1..65535")
    return port


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ui", help="start mlflow server on the local store (127.0.0.1)",
                       description=__doc__)
    p.add_argument("--tracking-uri", help=config.cli_help("tracking_uri"))
    p.add_argument("--port", type=config.cli_parser(_port), default=5000,
                   help="TCP port on 127.0.0.1, 1..65535 [default 5000]")
    p.set_defaults(run=run)


def command(uri: str, port: int) -> list[str]:
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri,
           "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    root = artifact_root(uri)
    if root:
        cmd += ["--default-artifact-root", root]
    return cmd


def run(args: argparse.Namespace) -> int:
    uri = tracking_uri(args.tracking_uri)
    if not store_exists(uri):   # serving would create an empty store
        raise CodecnbError(f"no MLflow store at {uri[len('sqlite:///'):]}; `codecnb run` "
                           f"creates one (or pass --tracking-uri)")
    cmd = command(uri, args.port)
    print(f"MLflow UI on http://127.0.0.1:{args.port} (store {uri}); Ctrl-C to stop",
          file=sys.stderr)
    os.execv(cmd[0], cmd)
