"""Executing a notebook with papermill, the way every part of codecnb does it."""
from __future__ import annotations

from pathlib import Path

from codecnb.errors import CodecnbError, NotebookFailed
from codecnb.notebook.locate import notebook_path


def execute(name: str, output: Path, parameters: dict, cwd: Path | None = None,
            timeout_s: float | None = None, warm: bool = False) -> Path:
    """Execute ``notebooks/NAME.ipynb`` with ``parameters`` into ``output``.

    The kernel is ``python3``: the Python that runs this function (ipykernel's own kernel
    spec), so the notebook sees the same codecnb. With ``warm``, the kernel of this
    thread's previous execution is reused, its namespace cleared
    (:mod:`codecnb.notebook.engine`); otherwise a new kernel is started and shut down.

    Raises
    ------
    NotebookFailed
        With the error's name and message when a cell failed; ``output`` still holds the
        executed notebook up to that cell.
    """
    import papermill as pm
    from codecnb.notebook.engine import ENGINE
    output = Path(output)
    try:
        pm.execute_notebook(str(notebook_path(name)), str(output), parameters=parameters,
                            kernel_name="python3", progress_bar=False, log_output=False,
                            cwd=str(cwd or output.parent),
                            execution_timeout=int(timeout_s) if timeout_s else None,
                            engine_name=ENGINE if warm else None)
    except CodecnbError:
        raise
    except Exception as exc:  # noqa: BLE001 - PapermillExecutionError, dead kernels
        ename = getattr(exc, "ename", type(exc).__name__)
        evalue = str(getattr(exc, "evalue", exc)).strip().splitlines()
        raise NotebookFailed(f"notebook {name}.ipynb failed: {ename}: "
                             f"{evalue[0][:300] if evalue else ''} (see {output})",
                             output) from None
    return output
