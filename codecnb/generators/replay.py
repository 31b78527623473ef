"""Replay known programs (e.g. on another clip): from a folder of ``.py`` files."""
from __future__ import annotations

from pathlib import Path

from codecnb.errors import CodecnbError
from codecnb.generators.candidate import Candidate
from codecnb.generators.history import History


class GeneratorExhausted(Exception):
    """The generator has nothing more to propose (a replay list ran out)."""


class ReplayGenerator:
    """Propose the programs of a folder (or a single file) in name order, once each."""

    name = "replay"

    def __init__(self, path: Path):
        path = Path(path)
        if path.is_file():
            self.files = [path]
        elif path.is_dir():
            self.files = sorted(path.glob("*.py"))
        else:
            raise CodecnbError(f"replay source {str(path)!r}: no such file or folder")
        if not self.files:
            raise CodecnbError(f"replay source {str(path)!r}: no .py programs in it")
        self.path = path

    def settings(self) -> dict:
        return {"path": str(self.path), "programs": len(self.files)}

    def propose(self, history: History) -> Candidate:
        done = sum(1 for e in history.entries if e.generator == self.name)
        if done >= len(self.files):
            raise GeneratorExhausted(f"all {len(self.files)} programs of {self.path} replayed")
        f = self.files[done]
        return Candidate(f.read_text(), self.name, [], {**self.settings(), "file": f.name})
