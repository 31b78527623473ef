"""Where the notebooks are: ``notebooks/`` of this checkout (``CODECNB_NOTEBOOKS``
overrides)."""
from __future__ import annotations

import os
from pathlib import Path

from codecnb.errors import CodecnbError

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def notebook_dir() -> Path:
    return Path(os.environ.get("CODECNB_NOTEBOOKS", NOTEBOOKS))


def notebook_path(name: str) -> Path:
    """The path of ``notebooks/NAME.ipynb``.

    Raises
    ------
    CodecnbError
        When it does not exist (codecnb installed without its checkout).
    """
    path = notebook_dir() / f"{name}.ipynb"
    if not path.exists():
        raise CodecnbError(f"notebook {path} not found; run from a codecnb checkout or set "
                           f"CODECNB_NOTEBOOKS to its notebooks/ folder")
    return path
