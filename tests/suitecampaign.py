"""A real campaign on a suite of clips, shared by the report and explorer tests.

``codecnb run --suite`` with replayed programs (papermill on a Dask worker, sqlite store):
two training clips and one held-out clip, two programs that pass and one that raises in
``encode``; when the campaign ends its best candidates are checked on the held-out clip,
so the store holds per-clip metrics, held-out BD-rates and gaps as a campaign logs them.
Built once per test session (about a minute on two shared cores); read it, do not write to
it (copy it first).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from conftest import run_cli
from programs import GOOD

#: GOOD with coarser steps: its PSNR range overlaps JPEG's on real clips (BD-rates defined).
COARSE = GOOD.replace("(100 - quality) // 8", "(110 - quality) // 2")
FINER = GOOD.replace("(100 - quality) // 8", "(110 - quality) // 3")
CRASH = "def encode(frames, quality):\n    raise ValueError('boom')\n" \
        "def decode(data):\n    return None\n"
#: (name, file, start, frames, resize, role): small windows of the real test videos
CLIPS = [("park", "park_joy_480x270.y4m", 0, 2, "96x54", "train"),
         ("bunny", "bigbuckbunny_720p.mp4", 0, 2, "96x54", "train"),
         ("bikes", "bikes.mp4", 26, 2, "96x40", "heldout")]


@dataclass
class SuiteStore:
    root: Path
    uri: str
    suite: Path          # the suite's TOML file


_BUILT: dict[str, SuiteStore] = {}


def suite_store(tmp_path_factory, testdata: Path) -> SuiteStore:
    """The suite campaign's store (made on first use in this session)."""
    if "store" in _BUILT:
        return _BUILT["store"]
    root = tmp_path_factory.mktemp("suite-campaign")
    programs = root / "programs"
    programs.mkdir()
    for name, text in [("1_coarse.py", COARSE), ("2_crash.py", CRASH), ("3_finer.py", FINER)]:
        (programs / name).write_text(text)
    suite = root / "small.toml"
    suite.write_text("".join(
        f'[[clip]]\nname = "{name}"\nuri = "{testdata / file}"\nstart = {start}\n'
        f'frames = {frames}\nresize = "{resize}"\nrole = "{role}"\n\n'
        for name, file, start, frames, resize, role in CLIPS))
    uri = f"sqlite:///{root}/mlruns/mlflow.db"
    proc = run_cli("run", "--generator", f"replay:{programs}", "--iterations", "3",
                   "--workers", "1", "--suite", str(suite), "--qualities", "30,60,90",
                   "--tracking-uri", uri, cwd=root, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "held-out check of the best 3 on bikes" in proc.stdout, proc.stdout
    _BUILT["store"] = SuiteStore(root, uri, suite)
    return _BUILT["store"]


def copy_store(store: SuiteStore, to: Path) -> str:
    """A writable copy of the store; its tracking URI."""
    shutil.copytree(store.root / "mlruns", to / "mlruns")
    return f"sqlite:///{to}/mlruns/mlflow.db"
