"""What generators learn from: earlier candidates, their RD results and failures."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from codecnb import jsonio
from codecnb.evaluation.result import EvaluationResult
from codecnb.generators.candidate import Candidate

#: The objective: BD-rate against this baseline (lower is better).
OBJECTIVE = "jpeg"


@dataclass
class HistoryEntry:
    """One evaluated (or failed) candidate, reduced to what a generator needs."""

    sha256: str
    program: str
    generator: str
    parents: list[str]
    status: str                      # "ok", "failed", or "running" (dispatched, no result yet)
    bd_rate: dict[str, float | None] = field(default_factory=dict)
    points: list[dict] = field(default_factory=list)   # quality, kbps, psnr_y, ssim_y
    failure: dict | None = None                       # kind, message, stage, line, code
    settings: dict = field(default_factory=dict)
    #: encode_s, decode_s (seconds over all qualities), frames, encode_fps, decode_fps
    timing: dict = field(default_factory=dict)
    #: suite clip name -> BD-rate against the objective (training clips only)
    per_clip: dict = field(default_factory=dict)

    @property
    def score(self) -> float | None:
        """BD-rate against the objective baseline, None if failed or undefined."""
        return self.bd_rate.get(OBJECTIVE) if self.status == "ok" else None

    @classmethod
    def of(cls, cand: Candidate, result: EvaluationResult | None) -> "HistoryEntry":
        if result is None:  # generation failed: nothing was evaluated
            f = cand.failure
            return cls(cand.sha256, cand.program, cand.generator, cand.parents, "failed",
                       failure=f.to_dict() if f else None, settings=cand.settings)
        points = [{"quality": p.quality, "kbps": round(p.kbps, 2), "psnr_y": p.psnr_y,
                   "ssim_y": p.ssim_y} for p in result.points]
        return cls(cand.sha256, cand.program, cand.generator, cand.parents, result.status,
                   dict(result.bd_rate), points,
                   result.failure.to_dict() if result.failure else None, cand.settings,
                   timing_of(result.points), per_clip_of(result))


def per_clip_of(result) -> dict:
    """Training clip name -> BD-rate against the objective, from a suite result's
    ``per_clip`` (clip -> baseline -> BD-rate, or clip -> BD-rate); {} for one clip. Held-out
    clips are never in it."""
    out = {}
    for name, v in (getattr(result, "per_clip", None) or {}).items():
        out[name] = v.get(OBJECTIVE) if isinstance(v, dict) else v
    return out


def timing_of(points) -> dict:
    """Encode and decode seconds summed over the RD points (objects or dicts with
    ``encode_s``, ``decode_s``, ``frames``), and the frame rates they imply; {} if unknown."""
    get = (lambda p, k: p.get(k) if isinstance(p, dict) else getattr(p, k, None))
    enc = [get(p, "encode_s") for p in points]
    dec = [get(p, "decode_s") for p in points]
    frames = [get(p, "frames") for p in points]
    if not points or None in enc or None in dec or None in frames:
        return {}
    n = sum(frames)
    out = {"encode_s": round(sum(enc), 4), "decode_s": round(sum(dec), 4), "frames": n}
    out["encode_fps"] = n / max(sum(enc), 1e-9)
    out["decode_fps"] = n / max(sum(dec), 1e-9)
    return out


@dataclass
class History:
    """Ordered entries, oldest first."""

    entries: list[HistoryEntry] = field(default_factory=list)

    def add(self, cand: Candidate, result: EvaluationResult | None) -> HistoryEntry:
        """Record a candidate's result; it replaces the candidate's pending entry if any."""
        entry = HistoryEntry.of(cand, result)
        for i, e in enumerate(self.entries):
            if e.status == "running" and e.sha256 == entry.sha256:
                self.entries[i] = entry
                return entry
        self.entries.append(entry)
        return entry

    def add_pending(self, cand: Candidate) -> None:
        """Record a dispatched candidate, so that the next proposal differs from it."""
        self.entries.append(HistoryEntry(cand.sha256, cand.program, cand.generator,
                                         cand.parents, "running", settings=cand.settings))

    def __len__(self) -> int:
        return len(self.entries)

    def best(self, k: int = 3) -> list[HistoryEntry]:
        """The k best successful entries by BD-rate against the objective baseline."""
        scored = [e for e in self.entries if e.score is not None]
        unique = {e.sha256: e for e in scored}.values()
        return sorted(unique, key=lambda e: e.score)[:k]

    def recent_failures(self, k: int = 3) -> list[HistoryEntry]:
        return [e for e in self.entries if e.status == "failed"][-k:]

    def shas(self) -> set[str]:
        return {e.sha256 for e in self.entries}

    def save(self, path: Path) -> None:
        Path(path).write_text(jsonio.dumps([asdict(e) for e in self.entries], indent=1))

    @classmethod
    def load(cls, path: Path) -> "History":
        return cls([HistoryEntry(**e) for e in jsonio.loads(Path(path).read_text())])
