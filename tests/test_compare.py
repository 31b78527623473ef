"""Comparing candidates: the analysis functions on records built by hand, the same on a
real campaign's store, and `codecnb report` (standalone HTML)."""
from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import pytest

from codecnb.analysis import compare, open_records, top_curves
from codecnb.analysis.records import CandidateRecord
from codecnb.errors import CodecnbError
from conftest import assert_user_error, run_cli


def rec(i, status="FINISHED", jpeg=None, x264=None, kind=None, parents=(), cost=0.0,
        tokens=0, points=None, generator="offline"):
    return CandidateRecord(
        run_id=f"run{i}", campaign="c", iteration=i, status=status, start_ms=i,
        generator=generator, model="-", source="s", parent_runs=list(parents),
        bd_rate={k: v for k, v in (("jpeg", jpeg), ("x264", x264)) if v is not None},
        points=points or [], tokens=tokens, cost_usd=cost, failure_kind=kind,
        failure_message=f"{kind} happened" if kind else None)


class Tags(HTMLParser):
    """(tag, attributes) of every img, script and link of a page."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("img", "script", "link"):
            self.found.append((tag, dict(attrs)))


CURVE = [{"quality": 25, "kbps": 100.0, "psnr_y": 30.0, "ssim_y": 0.9},
         {"quality": 50, "kbps": 400.0, "psnr_y": 36.0, "ssim_y": 0.95},
         {"quality": 90, "kbps": 1600.0, "psnr_y": 40.0, "ssim_y": 0.98}]


def test_psnr_at_kbps_interpolates_on_log_rate_and_never_extrapolates():
    assert compare.psnr_at_kbps(CURVE, 400.0) == pytest.approx(36.0)
    assert compare.psnr_at_kbps(CURVE, 100.0) == pytest.approx(30.0)
    mid = compare.psnr_at_kbps(CURVE, 200.0)   # halfway in log-rate between 30 and 36 dB
    assert 30.0 < mid < 36.0
    assert compare.psnr_at_kbps(CURVE, 99.0) is None
    assert compare.psnr_at_kbps(CURVE, 1601.0) is None
    lossless = CURVE + [{"quality": 100, "kbps": 5000.0, "psnr_y": math.inf, "ssim_y": 1.0}]
    assert compare.psnr_at_kbps(lossless, 3000.0) is None
    assert compare.default_target_kbps([rec(1, points=CURVE)]) == pytest.approx(400.0)


def test_leaderboard_status_progress_and_spending():
    records = [rec(1, jpeg=-0.30, x264=0.9, points=CURVE, cost=0.01, tokens=1000),
               rec(2, "FAILED", kind="exception", cost=0.02, tokens=3000),
               rec(3, jpeg=-0.50, x264=-0.1, points=CURVE, parents=["run1"], cost=0.01,
                   tokens=1500),
               rec(4, "FAILED", kind="timeout"), rec(5, "RUNNING"), rec(6, "KILLED"),
               rec(7, jpeg=-0.40, x264=0.2, points=CURVE, parents=["run3", "elsewhere"])]
    board = compare.leaderboard(records, target_kbps=400.0)
    assert [r["iteration"] for r in board] == [3, 7, 1]
    assert [r["rank"] for r in board] == [1, 2, 3]
    assert board[0]["psnr_at_target"] == pytest.approx(36.0)
    assert len(compare.leaderboard(records, top=2)) == 2
    st = compare.status(records)
    assert (st.successful, st.failed, st.in_progress, st.killed, st.total) == (3, 2, 1, 1, 7)
    assert st.best_bd_rate_jpeg == -0.50 and st.best_run == "run3"
    assert st.cost_usd == pytest.approx(0.04)
    prog = compare.progress(records)
    assert [p["best"] for p in prog] == [-0.30, -0.30, -0.50, -0.50, -0.50, -0.50, -0.50]
    assert prog[1]["bd_rate"] is None
    spend = compare.spending(records)
    assert spend[-1]["cumulative_usd"] == pytest.approx(0.04) and spend[1]["tokens"] == 3000
    assert compare.lineage(records) == [("run1", "run3"), ("run3", "run7")]


def test_failure_kinds_split_candidates_into_ranges():
    records = [rec(i, "FAILED", kind="exception") if i % 3 == 0 else rec(i, jpeg=-0.1)
               for i in range(1, 21)]
    ranges, kinds = compare.failure_kinds(records, bins=4)
    assert ranges == [(1, 5), (6, 10), (11, 15), (16, 20)]
    assert sum(kinds["ok"]) + sum(kinds["exception"]) == 20
    assert kinds["exception"] == [1, 2, 2, 1]      # 3 | 6, 9 | 12, 15 | 18
    assert compare.failure_kinds([]) == ([], {})


def test_conclusions_are_computed_from_the_data():
    records = [rec(1, jpeg=-0.30, x264=0.9), rec(2, "FAILED", kind="exception"),
               rec(3, jpeg=-0.50, x264=-0.1, cost=0.5, tokens=20000),
               rec(4, "FAILED", kind="exception")]
    text = "\n".join(compare.conclusions(records))
    assert "iteration 3" in text and "-50.00 %" in text and "-10.00 %" in text
    assert "1 of 2 passing candidates need fewer bits than x264" in text
    assert "2 of 4 finished candidates passed (50 %)" in text
    assert "most common failure is exception (2)" in text
    assert "from -30.00 % to -50.00 %" in text and "candidate 3 of 4" in text
    assert "$0.5000 for 20,000 tokens" in text
    assert compare.conclusions([])[0].startswith("No candidates yet")
    assert "No candidate has passed" in compare.conclusions([rec(1, "FAILED", kind="x")])[0]


def test_records_of_a_real_campaign(campaign_store):
    c, records = open_records("codecnb", uri=campaign_store.uri)
    assert [r.iteration for r in records] == [1, 2, 3, 4]
    assert [r.status for r in records] == ["FINISHED", "FAILED", "FINISHED", "FAILED"]
    assert [r.failure_kind for r in records] == [None, "exception", None, "syntax"]
    assert "operands could not be broadcast together" in records[1].failure_message
    assert all(r.campaign == campaign_store.campaign for r in records)
    assert [p["quality"] for p in records[0].points] == [10, 30, 60]
    assert 0 < records[0].bd_rate["jpeg"] < 1 and records[0].wall_s > 0  # worse than JPEG
    board = compare.leaderboard(records)
    curves = top_curves(c, records, board)
    assert set(curves) == {"#1 iteration " + str(board[0]["iteration"]),
                           "#2 iteration " + str(board[1]["iteration"]), "jpeg", "x264"}
    _, same = open_records("codecnb", campaign_store.campaign, campaign_store.uri)
    assert [r.run_id for r in same] == [r.run_id for r in records]
    with pytest.raises(CodecnbError, match="experiment 'nope' not found"):
        open_records("nope", uri=campaign_store.uri)


def test_report_is_one_standalone_html_file(campaign_store, tmp_path):
    out = tmp_path / "report.html"
    proc = run_cli("report", "--tracking-uri", campaign_store.uri, "-o", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    page = out.read_text()
    tags = Tags()
    tags.feed(page)
    images = [a for t, a in tags.found if t == "img"]
    assert len(images) == 5, images
    assert all(a["src"].startswith("data:image/png;base64,") and len(a["src"]) > 1000
               and a.get("alt") not in (None, "figure") for a in images)
    assert not [a for _, a in tags.found if re.match(r"(https?:)?//", a.get("src") or
                                                     a.get("href") or "")]
    for section in ("Conclusions", "Leaderboard", "Progress of the search", "Failure kinds",
                    "Tokens and cost", "Lineage"):
        assert section in page
    assert "2 of 4 finished candidates passed" in page
    assert "operands could not be broadcast together" in page
    assert "Per clip and held out" not in page           # a one-clip campaign: no suite part
    assert "open_records(" not in page                    # code hidden by default
    proc = run_cli("report", "--tracking-uri", campaign_store.uri, "-o", str(out),
                   "--with-code", "--campaign", campaign_store.campaign)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "open_records" in out.read_text()


def test_report_refuses_bad_input_in_one_line(campaign_store, tmp_path):
    assert_user_error(run_cli("report", "--tracking-uri", campaign_store.uri, "--experiment",
                              "nope", "-o", str(tmp_path / "r.html")), "experiment 'nope'")
    assert_user_error(run_cli("report", "--tracking-uri", campaign_store.uri, "--campaign",
                              "0" * 32, "-o", str(tmp_path / "r.html")), "campaign '000")
    assert_user_error(run_cli("report", "--tracking-uri", campaign_store.uri,
                              "-o", str(tmp_path / "no" / "r.html")), "does not exist")
    assert_user_error(run_cli("report", "-o", "r.html", cwd=tmp_path), "no MLflow store")
    assert list(tmp_path.iterdir()) == []    # nothing written, no store created


def test_results_of_other_groups_are_left_out_and_said_so():
    from codecnb.analysis.records import split_by_group
    records = [rec(1, jpeg=-0.9), rec(2, jpeg=-0.1), rec(3, jpeg=-0.2)]
    records[0].group, records[0].source = "v1|other-source", "other.mp4"
    records[1].group = records[2].group = "v1|s"
    kept, note = split_by_group(records)
    assert [r.run_id for r in kept] == ["run2", "run3"]
    assert "left out 1 candidate" in note and "other.mp4" in note
    assert compare.leaderboard(kept, 5)[0]["run_id"] == "run3"   # not the -90 % of run1
    assert split_by_group(kept) == (kept, "")


@pytest.mark.slow
def test_open_records_keeps_the_newest_group(tmp_path, caplog):
    from codecnb.generators.candidate import Candidate
    from codecnb.spec import build_spec
    from codecnb.tracking import client, ensure_experiment
    from codecnb.tracking import runs as R
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    c = client(uri)
    exp = ensure_experiment(c, "codecnb")
    for frames in (2, 3):          # two campaigns, different windows
        spec = build_spec(source="synthetic:pan?size=64x48&frames=4", frames=frames)
        parent = R.start_campaign(c, exp, f"c{frames}", spec, {}, {})
        rid = R.create_candidate_run(c, exp, parent, 1, Candidate(f"# {frames}", "offline"),
                                     R.spec_params(spec), [])
        R.end_run(c, rid, "FINISHED")
    _, records = open_records("codecnb", uri=uri)
    assert len(records) == 1 and records[0].group == R.spec_group_key(spec)
    assert "left out 1 candidate" in caplog.text
