"""The ``codecnb`` command: parses arguments, sets up logging, maps errors to exit codes.

Exit codes: 0 success; 1 a measured candidate failed; 2 bad usage or input (one line on
stderr, no traceback); 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys

from codecnb import __version__
from codecnb.errors import CodecnbError

#: Command name -> the module of codecnb.cli that defines it (in the order of --help). Only
#: the module of the command given is imported, so that a command starts (and refuses bad
#: input) without loading what the others need (MLflow, Dask, papermill).
COMMANDS = {"run": "run", "status": "status", "leaderboard": "status",
            "baselines": "baselines", "eval": "eval", "propose": "propose", "cache": "cache",
            "report": "report", "ui": "ui", "lab": "lab", "verify": "verify"}


class Parser(argparse.ArgumentParser):
    """argparse with errors as one line, ``codecnb: error: ...``, exit 2 (like every other
    user error); ``--help`` still shows the usage."""

    def error(self, message: str):  # type: ignore[override]
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        where = f"{command}: " if command else ""
        hint = f" (see codecnb {command + ' ' if command else ''}--help)"
        self.exit(2, f"codecnb: error: {where}{message}{hint}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``command`` alone when it is one."""
    parser = Parser(
        prog="codecnb", description="LLM-driven video-codec research: measure, evaluate, search.")
    parser.add_argument("--version", action="version", version=f"codecnb {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output on stderr (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = [COMMANDS[command]] if command in COMMANDS else dict.fromkeys(COMMANDS.values())
    for name in names:
        importlib.import_module(f"codecnb.cli.{name}").add_parser(sub)
    return parser


def _terminated(signum, frame):
    """SIGTERM unwinds like an error: every sandbox, cgroup and temporary file is removed
    by the code that made it, then the process exits with 128 + 15."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminated)
    # Ctrl-C unwinds too, even when the parent started us with SIGINT ignored (a
    # background job of a script): every sandbox and temporary file is removed on the way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="codecnb: %(levelname)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("distributed", "tornado", "mlflow", "alembic", "papermill", "traitlets",
                  "botocore", "urllib3", "httpx", "anthropic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    try:
        from codecnb.cli.checks import check_args
        check_args(args)
        return args.run(args)
    except CodecnbError as exc:
        print(f"codecnb: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("codecnb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
