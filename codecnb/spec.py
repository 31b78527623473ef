"""The evaluation spec: everything that decides what a candidate's numbers mean, in one
frozen, typed, JSON-serialisable object.

A campaign builds it once (:func:`build_spec`: CLI flags over ``CODECNB_*`` environment
variables over defaults, all resolved by :mod:`codecnb.config`), stores it whole on the
campaign's parent run, and sends it whole with every task; the worker applies it
(:meth:`EvaluationSpec.apply`: the cache settings) before anything is fetched, and the
evaluation reads every number from it. Two results are comparable exactly when their
specs' :meth:`EvaluationSpec.group` keys are equal.

>>> spec = build_spec(source="synthetic:pan?size=64x48&frames=4", frames=2,
...                   qualities=(30, 70), cache_dir="/tmp/c")
>>> EvaluationSpec.from_json(spec.to_json()) == spec
True
>>> spec.clip.frames, spec.qualities
(2, (30, 70))
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from codecnb import config
from codecnb.errors import ConfigError
from codecnb.suites import Clip, Suite

#: Frames a campaign evaluates when neither ``--frames`` nor ``CODECNB_FRAMES`` is given.
RUN_FRAMES = 8
#: The baselines every candidate is compared with (BD-rate anchors).
DEFAULT_BASELINES = ("jpeg", "x264")
_CACHE_FIELDS = ("cache_dir", "cache_max_bytes", "cache_ttl_s", "cache_strict",
                 "s3_endpoint_url")
#: Sandbox settings that decide how a candidate is run (and so what its result means):
#: resolved once by the orchestrator and applied in every worker (those this version of
#: :mod:`codecnb.config` declares).
SANDBOX_SETTINGS = ("weak_sandbox", "program_kib")

def _evaluator_version() -> str:
    from codecnb.evaluation.evaluator import EVALUATOR_VERSION
    return EVALUATOR_VERSION


@dataclass(frozen=True)
class CacheSpec:
    """The S3 source cache settings a worker must use.

    Each field is ``None`` when neither a flag nor an environment variable gave it: the
    worker then uses its own default (a remote worker keeps its own cache folder).

    Attributes
    ----------
    cache_dir : str or None
        Absolute cache folder.
    cache_max_bytes : int or None
        Size cap in bytes.
    cache_ttl_s : float or None
        Seconds a validated entry is trusted without a HEAD request.
    cache_strict : bool or None
        Refuse an unverifiable cached copy when S3 is unreachable.
    s3_endpoint_url : str or None
        S3 endpoint URL.
    """

    cache_dir: str | None = None
    cache_max_bytes: int | None = None
    cache_ttl_s: float | None = None
    cache_strict: bool | None = None
    s3_endpoint_url: str | None = None

    def apply(self) -> None:
        """Make these the settings of this process (nothing of an earlier spec survives)."""
        config.replace_overrides({k: v for k, v in asdict(self).items()})
        from codecnb.cache.client import _client
        _client.cache_clear()


@dataclass(frozen=True)
class EvaluationSpec:
    """What every candidate of a campaign is measured on, and how.

    Attributes
    ----------
    suite : Suite
        The clips (a ``--source`` is the one-clip suite); each clip carries its window
        (start frame, frame count, resize).
    qualities : tuple of int
        Quality values 0..100, one RD point each, ascending.
    segment_frames : int
        Frames per ``encode`` call.
    memory_gb : float
        Address-space limit per sandboxed process, GiB.
    timeout_s, segment_timeout_s : float
        Wall-clock seconds for the whole evaluation, and for one encode or decode call.
    allow_imports : tuple of str
        Modules added to the sandbox's import policy.
    baselines : tuple of str
        Baseline codecs for BD-rates.
    cache : CacheSpec
        The S3 cache settings the worker applies before fetching.
    sandbox : tuple of (str, value)
        The sandbox settings of :data:`SANDBOX_SETTINGS` (name, value), applied in the
        worker.
    evaluator_version : str
        :data:`codecnb.evaluation.evaluator.EVALUATOR_VERSION` of the orchestrator; a worker
        of another version refuses the task.
    fanout : bool
        Evaluate a suite's full stage as (clip, segment, quality) tasks over the campaign's
        workers (:mod:`codecnb.evaluation.fanout`). It changes how long a candidate takes,
        not its numbers, so it is not part of :meth:`group`.
    """

    suite: Suite
    qualities: tuple[int, ...] = (25, 50, 75, 90)
    segment_frames: int = 16
    memory_gb: float = 4.0
    timeout_s: float = 1800.0
    segment_timeout_s: float = 120.0
    allow_imports: tuple[str, ...] = ()
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    cache: CacheSpec = field(default_factory=CacheSpec)
    sandbox: tuple[tuple[str, Any], ...] = ()
    evaluator_version: str = field(default_factory=_evaluator_version)
    fanout: bool = False

    @property
    def clip(self) -> Clip:
        """The first training clip (the only one of a ``--source`` spec)."""
        return self.suite.train[0]

    # -- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"suite": self.suite.to_dict(), "qualities": list(self.qualities),
                "segment_frames": self.segment_frames, "memory_gb": self.memory_gb,
                "timeout_s": self.timeout_s, "segment_timeout_s": self.segment_timeout_s,
                "allow_imports": list(self.allow_imports), "baselines": list(self.baselines),
                "cache": asdict(self.cache), "sandbox": dict(self.sandbox),
                "evaluator_version": self.evaluator_version, "fanout": self.fanout}

    def to_json(self) -> str:
        """The whole spec as one JSON object (keys sorted: equal specs, equal text)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EvaluationSpec":
        try:
            return cls(suite=Suite.from_dict(d["suite"]),
                       qualities=tuple(int(q) for q in d["qualities"]),
                       segment_frames=int(d["segment_frames"]),
                       memory_gb=float(d["memory_gb"]), timeout_s=float(d["timeout_s"]),
                       segment_timeout_s=float(d.get("segment_timeout_s", 120.0)),
                       allow_imports=tuple(d.get("allow_imports", ())),
                       baselines=tuple(d.get("baselines", DEFAULT_BASELINES)),
                       cache=CacheSpec(**d.get("cache", {})),
                       sandbox=tuple(sorted(d.get("sandbox", {}).items())),
                       evaluator_version=str(d["evaluator_version"]),
                       fanout=bool(d.get("fanout", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"evaluation spec: missing or invalid field ({exc})") from None

    @classmethod
    def from_json(cls, text: str) -> "EvaluationSpec":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"evaluation spec: not JSON ({exc})") from None

    # -- use ---------------------------------------------------------------------------
    def apply(self) -> None:
        """Apply the spec in this (worker) process, before anything is fetched: its cache
        settings become the process's, and a worker of another evaluator version refuses.

        Raises
        ------
        ConfigError
            When this worker's evaluator version differs from the spec's.
        """
        here = _evaluator_version()
        if here != self.evaluator_version:
            raise ConfigError(f"evaluation spec: evaluator version {self.evaluator_version} "
                              f"expected, this worker has {here} (update its checkout)")
        self.cache.apply()
        config.set_from_cli(**{k: v for k, v in self.sandbox if k in config.SETTINGS})

    def limits(self):
        """The sandbox :class:`~codecnb.sandbox.limits.Limits` of this spec."""
        from codecnb.sandbox.limits import GiB, Limits
        program_kib = dict(self.sandbox).get("program_kib") or config.resolve("program_kib")
        return Limits(memory_bytes=int(self.memory_gb * GiB), evaluation_timeout_s=self.timeout_s,
                      segment_timeout_s=self.segment_timeout_s,
                      program_bytes=int(program_kib) << 10)

    def policy(self):
        """The sandbox import policy of this spec."""
        from codecnb.sandbox.policy import ImportPolicy
        return ImportPolicy().widened(*self.allow_imports)

    def group(self) -> dict[str, str]:
        """What makes results comparable: evaluator version, the training and validation
        clips and their windows, qualities and segment size (limits and cache settings do
        not change numbers; held-out clips are only checked afterwards)."""
        clips = ";".join(f"{c.uri}|{c.start}|{c.frames}|{c.resize}"
                         for c in self.suite.clips_of(("train", "validation")))
        return {"evaluator_version": self.evaluator_version, "clips": clips,
                "qualities": ",".join(map(str, self.qualities)),
                "segment_frames": str(self.segment_frames)}

    def with_changes(self, **changes: Any) -> "EvaluationSpec":
        return replace(self, **changes)


def build_cache_spec(**flags: Any) -> CacheSpec:
    """The cache settings given by flags (``None`` = not given) or environment variables;
    what neither gives stays ``None`` (the worker's own default). A cache folder is made
    absolute."""
    values = {}
    for name in _CACHE_FIELDS:
        given = flags.get(name)
        if given is None and os.environ.get(config.SETTINGS[name].env, "") != "":
            given = config.resolve(name)
        values[name] = given
    if values["cache_dir"]:
        values["cache_dir"] = os.path.abspath(os.path.expanduser(values["cache_dir"]))
    return CacheSpec(**values)


def build_spec(*, source: str | None = None, suite: Suite | None = None,
               start: int | None = None, frames: int | None = None,
               resize: tuple[int, int] | None = None, qualities: tuple[int, ...] | None = None,
               segment_frames: int | None = None, memory_gb: float | None = None,
               timeout_s: float | None = None, segment_timeout_s: float | None = None,
               allow_imports: tuple[str, ...] = (), default_frames: int | None = RUN_FRAMES,
               fanout: bool | None = None, fanout_default: bool = False,
               **cache_flags: Any) -> EvaluationSpec:
    """The spec from CLI flags (``None`` = not given) over ``CODECNB_*`` variables over
    defaults, resolved by :func:`codecnb.config.resolve`.

    Parameters
    ----------
    source : str, optional
        Source URI (``CODECNB_SOURCE``, default the bundled clip); ignored when ``suite``
        is given.
    suite : Suite, optional
        The clips, when the campaign runs on a suite.
    start, frames, resize
        The window of ``source``: first frame, frame count (``default_frames`` when neither
        flag nor ``CODECNB_FRAMES`` gives it; ``None`` = the whole clip), output size (W, H).
    qualities, segment_frames, memory_gb, timeout_s, segment_timeout_s
        See :class:`EvaluationSpec`.
    fanout : bool, optional
        The fan-out flag (``--no-fanout`` gives False), over ``CODECNB_FANOUT``, over
        ``fanout_default`` (a campaign: more than one worker, or a scheduler).
    **cache_flags
        ``cache_dir``, ``cache_max_bytes``, ``cache_ttl_s``, ``cache_strict``,
        ``s3_endpoint_url``.
    """
    unknown = set(cache_flags) - set(_CACHE_FIELDS)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}")
    if suite is None:
        frames = config.resolve("frames", frames)
        suite = Suite.single(config.resolve("source", source), config.resolve("start", start),
                             frames if frames is not None else default_frames, resize)
    return EvaluationSpec(
        suite=suite, qualities=tuple(config.resolve("qualities", qualities)),
        segment_frames=config.resolve("segment_frames", segment_frames),
        memory_gb=config.resolve("memory_gb", memory_gb),
        timeout_s=config.resolve("timeout_s", timeout_s),
        segment_timeout_s=config.resolve("segment_timeout_s", segment_timeout_s),
        allow_imports=tuple(allow_imports), cache=build_cache_spec(**cache_flags),
        sandbox=tuple(sorted((name, config.resolve(name)) for name in SANDBOX_SETTINGS
                             if name in config.SETTINGS)),
        fanout=resolve_fanout(fanout, fanout_default))


def resolve_fanout(flag: bool | None, default: bool) -> bool:
    """The fan-out setting: ``flag`` if given, else ``CODECNB_FANOUT``, else ``default``.

    Raises
    ------
    ConfigError
        When ``CODECNB_FANOUT`` is not a boolean.
    """
    value = config.resolve("fanout", flag)
    return bool(default if value is None else value)
