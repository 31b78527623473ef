"""A campaign's temporary folder, and the clean-up of folders whose campaign died.

A campaign removes its folder when it ends, however it ends short of SIGKILL. A folder
whose orchestrator was killed outright is found by the next campaign: its name carries the
orchestrator's pid, and a folder of a process that no longer exists is removed.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from codecnb.pids import alive

log = logging.getLogger(__name__)

PREFIX = "codecnb-campaign-"


def sweep_stale(parent: Path | None = None) -> list[Path]:
    """Remove campaign folders (in ``parent``, the system's temporary folder by default)
    that belong to this user and whose orchestrator process is gone; the removed paths."""
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    for path in parent.glob(PREFIX + "*"):
        pid = path.name[len(PREFIX):].split("-", 1)[0]
        try:
            if (not pid.isdigit() or not path.is_dir() or path.is_symlink()
                    or path.stat().st_uid != os.getuid() or alive(int(pid))):
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        log.info("removed %s, left by a campaign that was killed", path)
        removed.append(path)
    return removed


def make_workdir(parent: Path | None = None) -> Path:
    """A new private campaign folder named for this process (after removing stale ones)."""
    sweep_stale(parent)
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent))
