"""The ``codecnb`` command: parses arguments, sets up logging, maps errors to exit codes.

Exit codes: 0 success; 1 a measured candidate failed; 2 bad usage or input (one line on
stderr, no traceback); 130 interrupted.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys

from codecnb import __version__
from codecnb.cli import (baselines, cache, eval as eval_cmd, lab, propose, report, run, status,
                         ui, verify)
from codecnb.errors import CodecnbError

COMMANDS = [run, status, baselines, eval_cmd, propose, cache, report, ui, lab, verify]


class Parser(argparse.ArgumentParser):
    """argparse with errors as one line, ``codecnb: error: ...``, exit 2 (like every other
    user error); ``--help`` still shows the usage."""

    def error(self, message: str):  # type: ignore[override]
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        where = f"{command}: " if command else ""
        hint = f" (see codecnb {command + ' ' if command else ''}--help)"
        self.exit(2, f"codecnb: error: {where}{message}{hint}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="codecnb", description="LLM-driven video-codec research: measure, evaluate, search.")
    parser.add_argument("--version", action="version", version=f"codecnb {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output on stderr (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _terminated(signum, frame):
    """SIGTERM unwinds like an error: every sandbox, cgroup and temporary file is removed
    by the code that made it, then the process exits with 128 + 15."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminated)
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="codecnb: %(levelname)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("distributed", "tornado", "mlflow", "alembic", "papermill", "traitlets",
                  "botocore", "urllib3", "httpx", "anthropic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    try:
        return args.run(args)
    except CodecnbError as exc:
        print(f"codecnb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("codecnb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
