"""Replay known programs (e.g. on another clip): the ``.py`` files of a folder, or the best
candidates of an earlier MLflow experiment (``replay:mlflow:EXPERIMENT[:N]``)."""
from __future__ import annotations

from pathlib import Path

from codecnb.errors import CodecnbError, GeneratorExhausted
from codecnb.generators.candidate import Candidate
from codecnb.generators.history import History


class ReplayGenerator:
    """Propose the programs of a folder (or a single file) in name order, once each."""

    name = "replay"

    @classmethod
    def from_experiment(cls, experiment: str, top: int = 5,
                        tracking_uri: str | None = None) -> "ReplayGenerator":
        """The ``top`` best programs (by BD-rate against JPEG) of every campaign of an
        experiment, best first."""
        import tempfile
        from codecnb.tracking import open_experiment
        from codecnb.tracking import runs as R
        try:  # reads an existing store only: creates nothing
            c, exp_id = open_experiment(experiment, tracking_uri)
        except CodecnbError as exc:
            raise CodecnbError(f"replay source: {exc}") from None
        runs = c.search_runs([exp_id], f"tags.`{R.ROLE}` = 'candidate' and "
                             f"attributes.status = 'FINISHED'",
                             order_by=["metrics.bd_rate_jpeg ASC"], max_results=top)
        folder = Path(tempfile.mkdtemp(prefix="codecnb-replay-"))
        for i, run in enumerate(runs):
            program = R.program_of(c, run)
            if program:
                (folder / f"{i:03d}_{run.info.run_id}.py").write_text(program)
        gen = cls(folder)
        gen.path = Path(f"mlflow:{experiment}")
        return gen

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
