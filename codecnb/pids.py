"""Whether a process still runs, by its pid (for folders and locks named after one)."""
from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True if a process ``pid`` exists in this PID namespace (even one of another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
