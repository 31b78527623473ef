"""Campaign folders: removed when their orchestrator is gone, kept while it runs."""
from __future__ import annotations

import os
import subprocess
import sys

from codecnb.campaign.workdir import PREFIX, make_workdir, sweep_stale


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_folders_of_killed_campaigns_are_swept_and_live_ones_kept(tmp_path):
    dead = tmp_path / f"{PREFIX}{_dead_pid()}-abc"
    (dead / "iter").mkdir(parents=True)
    (dead / "iter" / "candidate.py").write_text("x")
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    live.mkdir()
    other = tmp_path / f"{PREFIX}notapid"
    other.mkdir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / f"{PREFIX}{_dead_pid()}-lnk"
    link.symlink_to(target)

    assert sweep_stale(tmp_path) == [dead]
    assert not dead.exists() and live.is_dir() and other.is_dir()
    assert link.is_symlink() and target.is_dir()  # a link is never followed


def test_a_new_campaign_folder_is_named_for_its_process_and_sweeps_first(tmp_path):
    stale = tmp_path / f"{PREFIX}{_dead_pid()}-old"
    stale.mkdir()
    work = make_workdir(tmp_path)
    assert work.name.startswith(f"{PREFIX}{os.getpid()}-") and work.is_dir()
    assert oct(work.stat().st_mode & 0o777) == "0o700"
    assert not stale.exists()
