"""Progress bars on stderr, shown only when stderr is a terminal (stdout stays clean)."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from tqdm import tqdm


@contextmanager
def progress_bar(total: int | None, desc: str, unit: str = "frame") -> Iterator[tqdm]:
    """A tqdm bar on stderr, disabled when stderr is not a TTY."""
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
               disable=not sys.stderr.isatty(), dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()
