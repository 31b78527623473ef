"""``codecnb lab``: JupyterLab on the notebooks, with this Python as the kernel.

Serves notebooks/ (explore.ipynb, compare.ipynb, iteration.ipynb) on 127.0.0.1. The
kernel is this installation's Python, so the notebooks import this codecnb; the MLflow
store is passed on as MLFLOW_TRACKING_URI (default: mlruns/mlflow.db in the current
folder, made absolute), so notebooks find it wherever their kernel starts.
"""
from __future__ import annotations

import argparse
import os
import sys

from codecnb import config
from codecnb.notebook.locate import notebook_dir
from codecnb.tracking.store import tracking_uri


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise ValueError("must be within 1..65535")
    return port


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="open JupyterLab on the notebooks (127.0.0.1)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tracking-uri", help=config.cli_help("tracking_uri"))
    p.add_argument("--port", type=config.cli_parser(_port), default=8888,
                   help="TCP port on 127.0.0.1, 1..65535 [default 8888]")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.set_defaults(run=run)


def command(port: int, no_browser: bool) -> list[str]:
    cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={notebook_dir()}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:  # containers and CI machines often run as root
        cmd.append("--ServerApp.allow_root=True")
    return cmd + (["--no-browser"] if no_browser else [])


def run(args: argparse.Namespace) -> int:
    from codecnb.errors import CodecnbError
    if not notebook_dir().is_dir():
        raise CodecnbError(f"notebooks folder {notebook_dir()} not found; run from a codecnb "
                           f"checkout or set CODECNB_NOTEBOOKS")
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri(args.tracking_uri)
    cmd = command(args.port, args.no_browser)
    print(f"JupyterLab on http://127.0.0.1:{args.port}/lab (store "
          f"{os.environ['MLFLOW_TRACKING_URI']}); Ctrl-C to stop", file=sys.stderr)
    os.execv(cmd[0], cmd)
