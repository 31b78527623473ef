"""Per-clip numbers and held-out checks in the comparison report: the analysis functions on
records built by hand, and ``codecnb report`` on a real suite campaign (its per-clip and
held-out numbers as MLflow holds them) and on a one-clip campaign (no such section)."""
from __future__ import annotations

import html
import re

import pytest

from codecnb.analysis import compare, open_records
from codecnb.analysis.records import CandidateRecord
from codecnb.analysis.tables import pct
from codecnb.tracking import client
from conftest import run_cli
from suitecampaign import CLIPS, suite_store


def rec(i, jpeg, x264=None, per_clip=None, heldout=None, heldout_clips=None, clips=()):
    return CandidateRecord(
        run_id=f"run{i}", campaign="c", iteration=i, status="FINISHED", start_ms=i,
        generator="offline", model="-", source="suite:small",
        bd_rate={k: v for k, v in (("jpeg", jpeg), ("x264", x264)) if v is not None},
        per_clip=per_clip or {}, heldout=heldout or {}, heldout_clips=heldout_clips or {},
        clips=list(clips))


SUITE = [("park", "train"), ("bunny", "train"), ("bikes", "heldout")]


def test_per_clip_rows_and_heldout_table_come_from_the_logged_numbers():
    checked = rec(1, -0.20, 0.30, per_clip={"park": {"jpeg": -0.1, "x264": 0.2},
                                           "bunny": {"jpeg": -0.3, "x264": 0.4}},
                  heldout={"bd_rate_jpeg": 0.05, "gap_jpeg": 0.25, "bd_rate_x264": 0.5,
                           "gap_x264": 0.2},
                  heldout_clips={"bikes": {"jpeg": 0.05, "x264": 0.5}}, clips=SUITE)
    unchecked = rec(2, -0.10, None, per_clip={"park": {"jpeg": -0.1}, "bunny": {"jpeg": -0.1}},
                    clips=SUITE)
    records = [checked, unchecked]
    assert compare.has_suite(records) and compare.baselines_of(records) == ["jpeg", "x264"]
    board = compare.leaderboard(records)
    assert board[0]["heldout_gap_x264"] == 0.2 and board[1]["heldout_gap_x264"] is None
    rows = compare.per_clip_rows(records, board)
    assert [(r["rank"], r["clip"], r["role"]) for r in rows] == [
        (1, "park", "train"), (1, "bunny", "train"), (1, "bikes", "heldout"),
        (2, "park", "train"), (2, "bunny", "train"), (2, "bikes", "heldout")]
    assert rows[1]["bd_rate_jpeg"] == -0.3 and rows[2]["bd_rate_x264"] == 0.5
    assert rows[3]["bd_rate_x264"] is None and rows[5]["bd_rate_jpeg"] is None  # not checked
    table = compare.per_clip_table(rows)
    assert list(table.columns) == ["role", "BD-rate vs JPEG", "BD-rate vs x264"]
    assert table.loc[("#1 iteration 1", "bikes"), "role"] == "held out"
    assert table.loc[("#1 iteration 1", "bunny"), "BD-rate vs JPEG"] == "-30.00 %"
    held = compare.heldout_table(board)
    assert held.loc[1, "training vs JPEG"] == "-20.00 %"
    assert held.loc[1, "held-out vs JPEG"] == "+5.00 %"
    assert held.loc[1, "gap vs JPEG"] == "+25.00 %" and held.loc[1, "gap vs x264"] == "+20.00 %"
    assert held.loc[2, "held-out vs JPEG"] == "-" and held.loc[2, "gap vs JPEG"] == "-"
    assert "gap vs JPEG" not in compare.heldout_table(board, heldout=False)
    one_clip = CandidateRecord("r", "c", 1, "FINISHED", 1, "offline", "-", "clip.mp4",
                               bd_rate={"jpeg": -0.1})
    assert not compare.has_suite([one_clip]) and compare.clip_rows(one_clip) == []


def test_clip_rows_keep_suite_order_and_add_clips_the_param_does_not_name():
    r = rec(1, -0.2, per_clip={"zeta": {"jpeg": -0.1}, "alpha": {"jpeg": -0.3}},
            heldout_clips={"new": {"jpeg": 0.1}},
            clips=[("zeta", "train"), ("held", "heldout"), ("alpha", "train")])
    assert [(c["clip"], c["role"]) for c in compare.clip_rows(r, ["jpeg"])] == [
        ("zeta", "train"), ("alpha", "train"), ("held", "heldout"), ("new", "heldout")]


@pytest.fixture(scope="module")
def store(tmp_path_factory, testdata):
    return suite_store(tmp_path_factory, testdata)


@pytest.mark.slow
def test_records_of_a_suite_campaign_carry_per_clip_and_heldout_numbers(store):
    c, records = open_records("codecnb", uri=store.uri)
    assert [r.status for r in records] == ["FINISHED", "FAILED", "FINISHED"]
    assert records[1].failure_kind == "exception"
    for r in (records[0], records[2]):
        metrics = client(store.uri).get_run(r.run_id).data.metrics
        assert r.suite == "small" and r.clips == [(n, role) for n, *_, role in CLIPS]
        assert r.per_clip["park"]["jpeg"] == metrics["clip.park.bd_rate_jpeg"]
        assert set(r.per_clip) == {"park", "bunny"}           # training clips only
        assert r.heldout_clips["bikes"]["jpeg"] == metrics["heldout.bikes.bd_rate_jpeg"]
        assert r.heldout["gap_jpeg"] == pytest.approx(
            metrics["heldout_bd_rate_jpeg"] - metrics["bd_rate_jpeg"])


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.slow
def test_report_of_a_suite_campaign_shows_each_clip_and_the_heldout_gap(store, tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli("report", "--tracking-uri", store.uri, "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = text_of(out.read_text())
    assert "Per clip and held out" in page
    _, records = open_records("codecnb", uri=store.uri)
    board = compare.leaderboard(records)
    assert len(board) == 2
    for row in board:
        m = client(store.uri).get_run(row["run_id"]).data.metrics
        values = [m["bd_rate_jpeg"], m["heldout_bd_rate_jpeg"], m["heldout_gap_jpeg"]]
        values += [m[f"clip.{name}.bd_rate_jpeg"] for name in ("park", "bunny")]
        values += [m["heldout.bikes.bd_rate_jpeg"]]
        for v in values:
            assert pct(v) in page, (pct(v), row["iteration"])
    # the per-clip table: one line per (candidate, clip) with its role
    best = f"#1 iteration {board[0]['iteration']}"
    m = client(store.uri).get_run(board[0]["run_id"]).data.metrics
    assert re.search(rf"{best}\s+park\s+training\s+{re.escape(pct(m['clip.park.bd_rate_jpeg']))}"
                     rf"\s+{re.escape(pct(m.get('clip.park.bd_rate_x264')))}", page), page
    assert re.search(rf"bikes\s+held out\s+{re.escape(pct(m['heldout.bikes.bd_rate_jpeg']))}",
                     page)
    assert re.search(r"gap vs JPEG\s+training vs x264\s+held-out vs x264\s+gap vs x264", page)
