"""Baseline RD curves cached per (source identity, window, segment size, evaluator version),
so they are computed once per source and not for every candidate."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable

from codecnb import jsonio
from codecnb.rd import RDCurve

log = logging.getLogger(__name__)


class BaselineCache:
    """A folder of JSON files, one per key; writes are atomic (temp file + rename)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, key: dict) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        return self.folder / f"{digest}.json"

    def get_or_compute(self, key: dict, compute: Callable[[], dict[str, RDCurve]]
                       ) -> tuple[dict[str, RDCurve], bool]:
        """The cached curves for ``key``, or ``compute()`` stored under it.

        Returns the curves and whether they came from the cache.
        """
        path = self._path(key)
        try:
            data = jsonio.loads(path.read_text())
            if data.get("key") == key:
                return {k: RDCurve.from_dict(v) for k, v in data["curves"].items()}, True
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable baseline cache file %s: %s", path, exc)
        curves = compute()
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(jsonio.dumps({"key": key, "curves": {k: c.to_dict(per_frame=False)
                                                         for k, c in curves.items()}}))
        os.replace(tmp, path)
        return curves, False
