"""Removes an evaluator's sandboxes after it is gone, however it went.

Started once per evaluator process (``python -I -S janitor.py GROUP... [--tree FOLDER]``,
standard library only) with a pipe on its standard input whose write end only the evaluator holds. When the
pipe closes (the evaluator exited, crashed or was SIGKILLed), it thaws every group under
the evaluator's cgroup folders (a frozen process does not act on SIGKILL under the v1
freezer), kills every process in them and removes the folders, then removes the folder of
the jails' private runtime copies. It runs in its own session,
outside those groups, so nothing it cleans can kill it.
"""
import os
import shutil
import signal
import sys
import time


def _procs(folder):
    try:
        with open(os.path.join(folder, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _write(path, value):
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        pass


def _groups(folder):
    try:
        return [os.path.join(folder, g) for g in os.listdir(folder)
                if os.path.isdir(os.path.join(folder, g))] + [folder]
    except FileNotFoundError:
        return []


def clean(folders, timeout=15.0):
    """Kill everything in the groups under ``folders`` (one per hierarchy) and remove them,
    children first. Freezing is one hierarchy and killing another, so every round thaws
    and kills in all of them before removing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        groups = [g for folder in folders for g in _groups(folder)]
        if not groups:
            return
        for group in groups:
            _write(os.path.join(group, "cgroup.kill"), "1")     # v2
            for pid in _procs(group):                            # v1 (and v2 before 5.14)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _write(os.path.join(group, "freezer.state"), "THAWED")   # v1 freezer
            _write(os.path.join(group, "cgroup.freeze"), "0")         # v2
        for group in groups:  # children before their parent folder (listed last)
            try:
                os.rmdir(group)
            except OSError:
                pass
        time.sleep(0.01)


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the evaluator's Ctrl-C is not ours
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    args = sys.argv[1:]
    trees = [args[i + 1] for i, a in enumerate(args) if a == "--tree"]
    groups = [a for i, a in enumerate(args) if a != "--tree" and (i == 0 or args[i - 1] != "--tree")]
    while sys.stdin.buffer.read(4096):
        pass
    clean(groups)
    for tree in trees:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    main()
