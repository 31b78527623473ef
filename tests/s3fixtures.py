"""Starting the S3 test server (tests/s3server.py) as a real process on loopback."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    """A running server: its URL, request log, fault file and process."""

    url: str
    log: Path
    faults: Path
    proc: subprocess.Popen
    env: dict = field(default_factory=dict)

    def requests(self, method: str = "GET", path: str | None = None) -> list[str]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [ln for ln in lines if ln.startswith(method + " ")
                and (path is None or ln.split()[1] == path)]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_server(folder: Path, auth: bool = False) -> S3Server:
    port = free_port()
    log, faults = folder / "requests.log", folder / "faults.json"
    env = {**os.environ, "MOTO_PORT": str(port)}
    if auth:  # every request needs credentials that this server knows (none are known)
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    proc = subprocess.Popen([sys.executable, str(HERE / "s3server.py"), str(port), str(log),
                             str(faults)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("the S3 test server did not start")
    url = f"http://127.0.0.1:{port}"
    return S3Server(url, log, faults, proc, {
        "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"})
