"""The notebooks: committed without outputs, and each executed by papermill, as a user
would, on fast parameters."""
from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT
from programs import GOOD, SOURCE

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_every_notebook_is_committed_without_outputs():
    assert {p.name for p in NOTEBOOKS} == {"compare.ipynb", "explore.ipynb", "iteration.ipynb"}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1, path.name
        for cell in code:
            assert not cell.outputs and cell.execution_count is None, (path.name, cell.source[:60])


def papermill(name: str, out, cwd, **params) -> dict:
    """Run ``papermill notebooks/NAME out -p k v ...`` in ``cwd``; returns the notebook."""
    args = [a for k, v in params.items() for a in ("-p", k, str(v))]
    proc = subprocess.run([sys.executable, "-m", "papermill", str(ROOT / "notebooks" / name),
                           str(out), *args, "--cwd", str(cwd)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def outputs(nb: dict, mime: str) -> list[str]:
    return ["".join(o["data"][mime]) for c in nb["cells"] for o in c.get("outputs", [])
            if mime in o.get("data", {})]


def streams(nb: dict) -> str:
    return "".join("".join(o.get("text", "")) for c in nb["cells"]
                   for o in c.get("outputs", []))


def test_compare_notebook_runs_on_a_campaign(campaign_store, tmp_path):
    nb = papermill("compare.ipynb", tmp_path / "out.ipynb", tmp_path,
                   tracking_uri=campaign_store.uri, campaign=campaign_store.campaign, top_k=3)
    assert len(outputs(nb, "image/png")) == 5
    markdown = "".join(outputs(nb, "text/markdown"))
    assert "**4 candidates** of campaign" in markdown and "2 of 4 finished" in markdown
    assert "iteration" in "".join(outputs(nb, "text/html"))     # the leaderboard table


def test_explore_notebook_runs_and_shows_its_widgets(campaign_store, tmp_path):
    nb = papermill("explore.ipynb", tmp_path / "out.ipynb", tmp_path,
                   tracking_uri=campaign_store.uri, source=SOURCE, frames=2)
    views = outputs(nb, "application/vnd.jupyter.widget-view+json")
    assert len(views) == 1
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    images = [m for m in state.values() if m["model_name"] == "ImageModel"]
    assert len(images) == 3                               # frames, per-frame, RD
    sliders = [m["state"] for m in state.values() if m["model_name"] == "IntSliderModel"]
    assert sliders[0]["max"] == 3                         # the best run's 4 frames


@pytest.mark.parametrize("program", ["starter", "file"])
def test_iteration_notebook_runs_by_hand(tmp_path, program):
    params = {"source": SOURCE, "frames": 2, "output_dir": str(tmp_path / "outputs")}
    if program == "file":
        (tmp_path / "codec.py").write_text(GOOD)
        params["program"] = str(tmp_path / "codec.py")
    nb = papermill("iteration.ipynb", tmp_path / "out.ipynb", tmp_path, **params)
    assert ": ok" in streams(nb) and "BD-rate vs jpeg" in streams(nb)
    assert len(outputs(nb, "image/png")) == 2               # RD plot, frame comparison
    assert not (tmp_path / "mlruns").exists()              # no run_id: nothing logged
