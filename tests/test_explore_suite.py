"""The explorer on a suite campaign, driven headlessly: its table carries the held-out
BD-rate and the gap beside the training score, the selected run's per-clip BD-rates are
shown as MLflow holds them, and a run's frames are those of the suite's first training
clip; on a one-clip campaign there are no held-out columns and no per-clip table."""
from __future__ import annotations

import html
import re
import shutil

import pytest

from codecnb.analysis.tables import pct
from codecnb.explore import Explorer
from codecnb.tracking import client
from suitecampaign import copy_store, suite_store

pytestmark = pytest.mark.slow   # a suite campaign first, then sandboxed evaluations


def text(markup: str) -> str:
    """What an HTML widget shows, as plain text (cells separated by spaces)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


@pytest.fixture()
def uri(tmp_path_factory, testdata, tmp_path):
    return copy_store(suite_store(tmp_path_factory, testdata), tmp_path)


def test_table_and_clips_of_a_suite_campaign(uri, testdata):
    e = Explorer(uri)
    c = client(uri)
    labels = [label for label, _ in e.run.options]
    assert len(labels) == 3 and labels[0].startswith("#1") and "exception" in labels[2]
    table = text(e.table.value)
    assert ("rank iteration generator training vs JPEG held-out vs JPEG gap vs JPEG "
            "training vs x264 held-out vs x264 gap vs x264 run") in table
    for _, rid in e.run.options[:2]:           # the two passing runs, both checked
        m = c.get_run(rid).data.metrics
        assert (f"{pct(m['bd_rate_jpeg'])} {pct(m['heldout_bd_rate_jpeg'])} "
                f"{pct(m['heldout_gap_jpeg'])}") in table
    best = c.get_run(e.run.value).data.metrics
    clips = text(e.clips.value)
    assert clips.startswith("Per clip, iteration")
    assert f"training score vs JPEG {pct(best['bd_rate_jpeg'])}" in clips
    assert f"gap vs JPEG {pct(best['heldout_gap_jpeg'])}" in clips
    for name, role, key in [("park", "training", "clip.park"), ("bunny", "training", "clip.bunny"),
                            ("bikes", "held out", "heldout.bikes")]:
        assert (f"{name} {role} {pct(best[f'{key}.bd_rate_jpeg'])} "
                f"{pct(best.get(f'{key}.bd_rate_x264'))}") in clips
    # the view: the candidate evaluated again on the first training clip's window
    assert e.view.result.ok and e.view.window.source == str(testdata / "park_joy_480x270.y4m")
    assert e.view.window.resize == (96, 54) and e.frame.max == 1
    assert e.view.frames["original"].shape == (2, 54, 96, 3)
    assert e.view.result.bd_rate["jpeg"] == pytest.approx(best["clip.park.bd_rate_jpeg"],
                                                          rel=1e-9)
    bold = re.findall(r'<tr style="font-weight:bold;">(.*?)</tr>', e.table.value)
    assert len(bold) == 1 and e.run.value[:12] in bold[0]

    second = e.run.options[1][1]
    e.run.value = second
    m = c.get_run(second).data.metrics
    assert f"{pct(m['clip.bunny.bd_rate_jpeg'])}" in text(e.clips.value)
    assert second[:8] in text(e.clips.value)
    bold = re.findall(r'<tr style="font-weight:bold;">(.*?)</tr>', e.table.value)
    assert len(bold) == 1 and second[:12] in bold[0]

    failed = e.run.options[2][1]
    e.run.value = failed
    assert "failed" in text(e.status.value) and "boom" in text(e.status.value)
    assert "bikes held out - -" in text(e.clips.value)     # never checked: no numbers


def test_one_clip_campaign_has_no_heldout_columns_nor_clip_table(campaign_store, tmp_path):
    shutil.copytree(campaign_store.root / "mlruns", tmp_path / "mlruns")
    e = Explorer(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    table = text(e.table.value)
    assert "BD-rate vs JPEG" in table and "held-out" not in table and "gap" not in table
    assert e.clips.value == "" and e.view.result.ok
