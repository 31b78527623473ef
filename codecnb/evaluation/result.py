"""The result of evaluating one candidate program: JSON-serialisable, never mixed across
evaluator versions."""
from __future__ import annotations

from dataclasses import dataclass, field

from codecnb import jsonio
from codecnb.rd import RDCurve, RDPoint
from codecnb.sandbox.failures import Failure


@dataclass
class EvaluationResult:
    """What :func:`codecnb.evaluation.evaluate` returns.

    Attributes
    ----------
    status : {"ok", "failed"}
    failure : Failure or None
        Kind and message when ``status == "failed"``.
    points : list of RDPoint
        One per quality, with per-frame PSNR and SSIM; empty when failed.
    bd_rate, bd_psnr : dict of str to float or None
        Against each baseline (fraction; dB), on PSNR-Y; None when undefined.
    baselines : dict of str to RDCurve
        The baselines' curves on the same frames.
    isolation : list of str
        The sandbox layers that were verified at run time (docs/security.md).
    sandbox : dict
        ``{"weak": bool, "missing": [...], "python_guards": bool}``: whether a weaker
        sandbox was accepted, the layers it lacked, and whether the Python-level guards
        (audit hook, import guard) were installed and seen to refuse. Those guards are
        defence in depth that a program can switch off, so they are not in ``isolation``.
    evaluator_version, program_sha256 : str
        Results with different evaluator versions must not be compared.
    program_bytes : int
        Size of the program's UTF-8 source.
    source : dict
        Source description, identity and frame count.
    timings : dict of str to float
        Seconds: ``total``; ``candidate`` (wall time of every encode and decode call, measured
        by the evaluator) and ``candidate_cpu`` (CPU time of the candidate's process groups
        meanwhile, 0 without cgroups); ``metrics`` (the metric pass, which runs beside the
        candidate) and ``metrics_wait`` (the part the evaluation waited for it);
        ``source``; ``baselines``; ``overhead`` (the rest: start-up, transport, teardown).
    """

    status: str
    failure: Failure | None
    points: list[RDPoint]
    bd_rate: dict[str, float | None]
    bd_psnr: dict[str, float | None]
    baselines: dict[str, RDCurve]
    isolation: list[str]
    evaluator_version: str
    program_sha256: str
    source: dict
    qualities: list[int]
    timings: dict[str, float] = field(default_factory=dict)
    limits: dict = field(default_factory=dict)
    sandbox: dict = field(default_factory=lambda: {"weak": False, "missing": [],
                                                   "python_guards": False})
    program_bytes: int = 0
    #: The first ``keep_frames`` frames of the source ("original") and their decoded
    #: versions per quality, uint8 RGB arrays of shape (T, H, W, 3), for looking at; not
    #: serialised.
    frames: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def curve(self, name: str = "candidate") -> RDCurve:
        return RDCurve(name, "quality", self.points)

    def to_dict(self, per_frame: bool = True) -> dict:
        return {"status": self.status,
                "failure": self.failure.to_dict() if self.failure else None,
                "points": [p.to_dict(per_frame) for p in self.points],
                "bd_rate": self.bd_rate, "bd_psnr": self.bd_psnr,
                "baselines": {k: v.to_dict(per_frame=False) for k, v in self.baselines.items()},
                "isolation": self.isolation, "evaluator_version": self.evaluator_version,
                "program_sha256": self.program_sha256, "source": self.source,
                "qualities": self.qualities, "timings": self.timings, "limits": self.limits,
                "sandbox": self.sandbox, "program_bytes": self.program_bytes}

    def to_json(self, per_frame: bool = True, **kw) -> str:
        return jsonio.dumps(self.to_dict(per_frame), **kw)

    @classmethod
    def from_dict(cls, d: dict) -> "EvaluationResult":
        return cls(status=d["status"], failure=Failure(**d["failure"]) if d["failure"] else None,
                   points=[RDPoint(**p) for p in d["points"]], bd_rate=d["bd_rate"],
                   bd_psnr=d["bd_psnr"],
                   baselines={k: RDCurve.from_dict(v) for k, v in d["baselines"].items()},
                   isolation=d["isolation"], evaluator_version=d["evaluator_version"],
                   program_sha256=d["program_sha256"], source=d["source"],
                   qualities=d["qualities"], timings=d.get("timings", {}),
                   limits=d.get("limits", {}),
                   sandbox=d.get("sandbox", {"weak": False, "missing": [],
                                             "python_guards": False}),
                   program_bytes=d.get("program_bytes", 0))
