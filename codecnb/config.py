"""Configuration in one place: a CLI flag beats an environment variable beats the default.

Every setting is declared once in :data:`SETTINGS` with its environment variable, default,
parser and help text; the CLI builds its flags' help from here and calls :func:`resolve`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from codecnb.errors import ConfigError


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be >= 1")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


@dataclass(frozen=True)
class Setting:
    env: str
    default: Any  # a value, or a function that computes it
    parse: Callable[[str], Any]
    help: str
    shown: str | None = None  # the default as help shows it, in the flag's own unit


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "codecnb")


def _flag(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _gigabytes(text: str) -> int:
    value = float(text)
    if value <= 0:
        raise ValueError("must be > 0")
    return int(value * (1 << 30))


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a finite number > 0")
    return value


positive_float = _positive_float
positive_int = _positive_int


def _qualities(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(q) for q in text.split(",") if q.strip())
    except ValueError:
        raise ValueError("must be integers like 25,50,75") from None
    if not values:
        raise ValueError("must hold at least one quality")
    if any(not 0 <= q <= 100 for q in values):
        raise ValueError("each quality must be within 0..100")
    if len(set(values)) != len(values):
        raise ValueError("qualities must be distinct")
    return tuple(sorted(values))


SETTINGS: dict[str, Setting] = {
    "cache_dir": Setting("CODECNB_CACHE_DIR", _default_cache_dir, str,
                         "cache folder for S3 sources and baseline results "
                         "(default $XDG_CACHE_HOME/codecnb or ~/.cache/codecnb)"),
    "cache_max_bytes": Setting("CODECNB_CACHE_MAX_GB", 50 << 30, _gigabytes,
                               "size cap of the S3 cache in GiB; least recently used entries "
                               "are evicted", shown="50 GiB"),
    "cache_ttl_s": Setting("CODECNB_CACHE_TTL", 0.0, _seconds,
                           "seconds to trust a validated cache entry without a HEAD request",
                           shown="0 s"),
    "cache_strict": Setting("CODECNB_CACHE_STRICT", False, _flag,
                            "refuse an unverifiable cached copy when S3 is unreachable",
                            shown="off"),
    "s3_endpoint_url": Setting("CODECNB_S3_ENDPOINT_URL", None, str,
                               "S3 endpoint (MinIO etc.); boto3 also honours AWS_ENDPOINT_URL",
                               shown="AWS's own"),
    "tracking_uri": Setting("MLFLOW_TRACKING_URI", None, str,
                            "MLflow tracking URI (artifacts of the local store in "
                            "mlruns/artifacts)",
                            shown="sqlite:///mlruns/mlflow.db in the current folder"),
    "experiment": Setting("CODECNB_EXPERIMENT", "codecnb", str, "MLflow experiment name"),
    "source": Setting("CODECNB_SOURCE", "sample:bigbuckbunny", str,
                      "source URI: a path, sample:NAME, synthetic:KIND or s3://bucket/key"),
    "frames": Setting("CODECNB_FRAMES", None, _positive_int,
                      "number of frames to use", shown="the whole clip"),
    "start": Setting("CODECNB_START", 0, _non_negative_int, "first frame of the window (0-based)",
                     shown="frame 0"),
    "segment_frames": Setting("CODECNB_SEGMENT_FRAMES", 16, _positive_int,
                              "frames per encode call; memory grows with it",
                              shown="16 frames"),
    "qualities": Setting("CODECNB_QUALITIES", (25, 50, 75, 90), _qualities,
                         "comma-separated qualities 0..100, one RD point each",
                         shown="25,50,75,90"),
    "memory_gb": Setting("CODECNB_MEMORY_GB", 4.0, _positive_float,
                         "address-space limit per sandboxed process, in GiB", shown="4 GiB"),
    "timeout_s": Setting("CODECNB_TIMEOUT", 1800.0, _positive_float,
                         "wall-clock seconds for one candidate's whole evaluation",
                         shown="1800 s"),
    "segment_timeout_s": Setting("CODECNB_SEGMENT_TIMEOUT", 120.0, _positive_float,
                                 "wall-clock seconds for one encode or decode call",
                                 shown="120 s"),
    "threads": Setting("CODECNB_THREADS", lambda: os.cpu_count() or 1, _positive_int,
                       "threads of the metric pass (default: one per core; 1 in a local "
                       "campaign's workers, which are one thread of work each)"),
    "program_kib": Setting("CODECNB_PROGRAM_KIB", 64, _positive_int,
                           "largest candidate program, in KiB of source (larger ones fail "
                           "with kind program-size)", shown="64 KiB"),
    # None: on with more than one worker or a scheduler (build_spec's fanout_default)
    "fanout": Setting("CODECNB_FANOUT", None, _flag,
                      "spread each candidate's full stage (clip x segment x quality tasks) "
                      "over the campaign's workers",
                      shown="on with more than one worker or a scheduler"),
    "weak_sandbox": Setting("CODECNB_WEAK_SANDBOX", False, _flag,
                            "accept a weaker sandbox when bubblewrap, user namespaces, "
                            "seccomp or cgroups are missing (every result says so)"),
    "runtime_dir": Setting("CODECNB_RUNTIME_DIR", None, str,
                           "folder of the sandbox's mirrored Python runtime (default "
                           "/var/cache/codecnb/runtime as root, else CACHE_DIR/runtime)"),
    "cgroup_parent": Setting("CODECNB_CGROUP_PARENT", None, str,
                             "delegated cgroup under which sandbox groups are made (default: "
                             "the evaluator's own group)"),
}


#: Values given as command-line flags for this process (see :func:`set_from_cli`).
_CLI: dict[str, Any] = {}


def set_from_cli(**values: Any) -> None:
    """Record settings given as CLI flags (None means "not given"), so that code deep in the
    library resolves them without threading arguments through every call."""
    for name, value in values.items():
        if name not in SETTINGS:
            raise KeyError(name)
        if value is not None:
            _CLI[name] = value


def resolve(name: str, cli_value: Any = None) -> Any:
    """Value of setting ``name``: ``cli_value`` (or a flag recorded by :func:`set_from_cli`)
    if given, else its environment variable, else its default.

    Raises
    ------
    ConfigError
        When the environment variable does not parse.
    """
    s = SETTINGS[name]
    if cli_value is not None:
        return cli_value
    if name in _CLI:
        return _CLI[name]
    text = os.environ.get(s.env)
    if text is None or text == "":
        return s.default() if callable(s.default) else s.default
    try:
        return s.parse(text)
    except ValueError as exc:
        raise ConfigError(f"environment variable {s.env}={text!r}: {exc}") from None


def cli_type(name: str) -> Callable[[str], Any]:
    """An argparse ``type=`` for setting ``name`` (same parser as its environment variable)."""
    convert = cli_parser(SETTINGS[name].parse)
    convert.__name__ = name
    return convert


def cli_parser(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type=`` of a parser such as :func:`positive_float` (its ValueError
    becomes the flag's one-line error)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            import argparse
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    convert.__name__ = getattr(parse, "__name__", "value").lstrip("_")
    return convert


def cli_help(name: str, default: str | None = None) -> str:
    """Help text of setting ``name``, with its environment variable and its default in the
    flag's own unit (``default`` overrides the setting's when a command has its own)."""
    s = SETTINGS[name]
    if default is None:
        default = s.shown
    if default is None:
        default = s.default() if callable(s.default) else s.default
    return f"{s.help} [env {s.env}; default {default}]"


def overrides() -> dict[str, Any]:
    """The settings given as CLI flags in this process (a copy)."""
    return dict(_CLI)


def replace_overrides(values: dict[str, Any]) -> None:
    """Make ``values`` (None entries dropped) the only CLI-given settings of this process:
    how a worker applies the settings an evaluation spec carries, so nothing of an earlier
    spec survives in a long-lived (warm) process."""
    for name in values:
        if name not in SETTINGS:
            raise KeyError(name)
    _CLI.clear()
    _CLI.update({k: v for k, v in values.items() if v is not None})
