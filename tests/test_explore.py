"""The ipywidgets explorer, driven headlessly: set widget values, click buttons, read what
the widgets show."""
from __future__ import annotations

import html
import re
import shutil

import pytest

from codecnb.explore import Explorer, Window
from codecnb.tracking import client
from codecnb.tracking import runs as R
from programs import BROADCAST, GOOD, SOURCE


def text(markup: str) -> str:
    """What an HTML widget shows, as plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


@pytest.fixture()
def store(campaign_store, tmp_path):
    """A writable copy of the campaign's store (the explorer logs runs into it)."""
    shutil.copytree(campaign_store.root / "mlruns", tmp_path / "mlruns")
    return f"sqlite:///{tmp_path}/mlruns/mlflow.db"


def test_opens_the_best_run_and_shows_its_frames(store):
    e = Explorer(store)
    assert e.experiment.value == "codecnb"
    labels = [label for label, _ in e.run.options]
    assert len(labels) == 4 and labels[0].startswith("#1") and labels[1].startswith("#2")
    assert "exception" in labels[2] + labels[3] and "syntax" in labels[2] + labels[3]
    assert e.view.run_id == e.run.value and e.view.result.ok
    assert e.quality.options == ("10", "30", "60") and e.quality.value == "30"
    assert e.frame.max == 3                         # all 4 frames were decoded again
    assert "def encode" in text(e.code.value) and "passed on 4 frames" in text(e.status.value)
    shown = {w: getattr(e, w).value for w in ("image", "per_frame", "rd")}
    assert all(v[:8] == b"\x89PNG\r\n\x1a\n" for v in shown.values())
    e.frame.value = 2
    assert e.image.value != shown["image"] and e.per_frame.value != shown["per_frame"]
    assert e.rd.value == shown["rd"]                 # the RD curve does not depend on it
    frame2 = e.image.value
    e.quality.value = "60"
    assert e.image.value != frame2
    e.zoom.value = 4
    zoomed = e.image.value
    assert zoomed != frame2
    e.zoom_x.value = 0.1
    assert e.image.value != zoomed


def test_reproduced_frames_match_the_logged_measurement(store):
    e = Explorer(store)
    c = client(store)
    logged = {k: v for k, v in c.get_run(e.run.value).data.metrics.items()
              if k.startswith("psnr_y_q")}
    again = {f"psnr_y_q{p.quality}": p.psnr_y for p in e.view.result.points}
    assert again == pytest.approx(logged, rel=1e-9)


def test_a_failed_run_shows_its_failure(store):
    e = Explorer(store)
    failed = next(rid for label, rid in e.run.options if "exception" in label)
    e.run.value = failed
    status = text(e.status.value)
    assert "failed" in status and "exception" in status
    assert "operands could not be broadcast together" in status
    assert e.image.value == b"" and "np.zeros((16, 16))" in text(e.code.value)


def test_try_it_evaluates_in_the_sandbox_and_logs_runs(store):
    e = Explorer(store)
    e.source.value, e.frames_n.value = SOURCE, 3
    e.editor.value = GOOD
    assert e.log_button.disabled
    view = e.try_program()
    assert view.result.ok and "passed" in e.try_status.value and not e.log_button.disabled
    assert e.progress.value == e.progress.max == 9          # 3 frames x 3 qualities
    assert e.frame.max == 2 and e.image.value[:4] == b"\x89PNG"
    e.log_button.click()
    c = client(store)
    run = c.get_run(view.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["codecnb.generator"] == "explorer"
    assert R.PARENT not in run.data.tags and "bd_rate_jpeg" in run.data.metrics
    assert {a.path for a in c.list_artifacts(view.run_id)} >= {"candidate.py", "result.json",
                                                             "rd.png", "frames.png"}
    assert e.log_button.disabled and view.run_id in e.try_status.value
    assert view.run_id in dict((v, k) for k, v in e.run.options)    # listed now
    assert e.view is view                                          # and still shown

    e.editor.value = BROADCAST
    e.evaluate_button.click()
    assert "exception" in e.try_status.value and "broadcast" in e.try_status.value
    e.log_button.click()
    failed = c.get_run(e.view.run_id)
    assert failed.info.status == "FAILED"
    assert failed.data.tags[R.FAILURE_KIND] == "exception"


def test_try_it_reports_a_bad_source_without_raising(store):
    e = Explorer(store)
    e.source.value = "/no/such/clip.mp4"
    assert e.try_program() is None
    assert "/no/such/clip.mp4" in e.try_status.value and not e.evaluate_button.disabled


def test_without_a_store_it_says_so_and_creates_nothing(tmp_path):
    e = Explorer(f"sqlite:///{tmp_path}/mlruns/mlflow.db", window=Window(SOURCE, 2))
    assert e.experiment.options == () and "No experiments" in e.status.value
    assert not (tmp_path / "mlruns").exists()
    assert e.source.value == SOURCE and "def encode" in e.editor.value  # the starter
