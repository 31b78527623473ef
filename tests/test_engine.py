"""The warm-kernel papermill engine: a kernel is reused, its namespace is cleared between
notebooks, and it is replaced after a death or MAX_USES executions."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from codecnb.notebook import NotebookFailed, engine, execute

PROBE = """
import os
print("leak" in globals(), os.getpid(), os.getcwd())
leak = value
if value == "die":
    os._exit(3)
if value == "raise":
    raise ValueError("as asked")
"""


@pytest.fixture()
def probe(tmp_path, monkeypatch):
    """notebooks/probe.ipynb in a folder of its own; returns a runner of it."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = new_notebook(cells=[new_code_cell('value = ""', metadata={"tags": ["parameters"]}),
                             new_code_cell(PROBE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / "probe.ipynb")
    monkeypatch.setenv("CODECNB_NOTEBOOKS", str(folder))
    runs = iter(range(1000))

    def run(value: str = "", warm: bool = True) -> tuple[bool, int, str]:
        work = tmp_path / f"run{next(runs)}"
        work.mkdir()
        out = execute("probe", work / "out.ipynb", {"value": value}, cwd=work, warm=warm)
        cell = json.loads(out.read_text())["cells"][-1]
        leaked, pid, cwd = "".join(cell["outputs"][0]["text"]).split()
        assert cell["execution_count"] == 3       # parameters, injected parameters, probe
        return leaked == "True", int(pid), cwd
    yield run
    engine.shutdown_all()


def test_the_kernel_is_reused_with_a_clean_namespace(probe, tmp_path):
    leaked, pid, cwd = probe("a")
    assert not leaked and cwd == str(tmp_path / "run0")
    leaked, again, cwd = probe("b")
    assert not leaked and again == pid and cwd == str(tmp_path / "run1")
    _, cold, _ = probe("c", warm=False)
    assert cold != pid


def test_a_failing_notebook_keeps_the_kernel_and_a_dead_one_is_replaced(probe):
    _, pid, _ = probe()
    with pytest.raises(NotebookFailed, match="ValueError: as asked"):
        probe("raise")
    leaked, same, _ = probe()
    assert not leaked and same == pid
    with pytest.raises(NotebookFailed):
        probe("die")
    _, fresh, _ = probe()
    assert fresh != pid


def test_a_kernel_is_replaced_after_max_uses(probe, monkeypatch):
    monkeypatch.setattr(engine, "MAX_USES", 2)
    pids = [probe()[1] for _ in range(4)]
    assert pids[0] == pids[1] != pids[2] == pids[3]
