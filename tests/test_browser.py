"""What people see, checked in headless Chromium (Debian's, driven by Playwright): the
MLflow UI served by `codecnb ui`, the HTML report opened from disk with no network, and
the explorer in JupyterLab started by `codecnb lab`."""
from __future__ import annotations

import re
import shutil

from browser import browser, serve, spread
from codecnb.tracking import client
from codecnb.tracking import runs as R
from conftest import ROOT, run_cli
from s3fixtures import free_port

def test_mlflow_ui_shows_the_campaign(campaign_store):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    c = client(campaign_store.uri)
    kids = R.children(c, campaign_store.experiment_id, campaign_store.campaign)
    with serve(["ui", "--port", str(port), "--tracking-uri", campaign_store.uri],
               f"{base}/health"), browser() as page:
        page.goto(f"{base}/#/experiments/{campaign_store.experiment_id}/runs")
        campaign_row = page.locator('[role="row"]', has_text="campaign-").first
        campaign_row.wait_for()
        campaign_row.locator("button").first.click()         # expand its child runs
        for k in kids:
            page.get_by_text(k.info.run_name, exact=True).wait_for()
        for k in kids:
            page.goto(f"{base}/#/experiments/{campaign_store.experiment_id}/runs/"
                      f"{k.info.run_id}")
            page.get_by_text("Run ID", exact=True).wait_for()
            page.get_by_role("link", name=re.compile(r"^campaign-")).first.wait_for()
            body = page.inner_text("body")
            status = {"FINISHED": "Finished", "FAILED": "Failed"}[k.info.status]
            assert re.search(rf"Status\s+{status}", body), body[-1500:]
            assert re.search(r"Parent run\s+campaign-", body)
            if k.info.status == "FINISHED":
                assert re.search(r"bd_rate_jpeg\s+0\.\d+", body) and "psnr_y_q30" in body
            else:
                assert "codecnb.failure_kind" in body
                assert re.search(r"(exception|syntax)", body)
        page.goto(f"{base}/#/experiments/{campaign_store.experiment_id}/runs/"
                  f"{kids[0].info.run_id}/artifacts")
        for name in ("iteration.ipynb", "iteration.html", "candidate.py", "rd.png"):
            page.get_by_text(name, exact=True).first.wait_for()


def test_report_renders_offline_with_visible_figures(campaign_store, tmp_path):
    out = tmp_path / "report.html"
    assert run_cli("report", "--tracking-uri", campaign_store.uri, "-o", str(out)).returncode == 0
    asked = []
    with browser(1200, 900) as page:
        def refuse(route):   # no network: anything but the file itself is recorded, refused
            asked.append(route.request.url)
            route.abort()
        page.route(re.compile(r"^(?!file:).*"), refuse)
        page.goto(out.as_uri())
        images = page.locator("img")
        assert images.count() == 5
        for i in range(5):
            img = images.nth(i)
            img.scroll_into_view_if_needed()
            assert img.evaluate("i => i.complete && i.naturalWidth > 300")
            assert spread(img.screenshot()) > 20, img.get_attribute("alt")
        assert "Leaderboard" in page.inner_text("body")
        assert spread(page.screenshot(full_page=True)) > 20
    assert asked == []


def test_jupyterlab_runs_the_explorer(campaign_store, tmp_path):
    notebooks = tmp_path / "notebooks"        # JupyterLab saves what it runs: use a copy
    shutil.copytree(ROOT / "notebooks", notebooks)
    port, token = free_port(), "codecnb-test"
    env = {"CODECNB_NOTEBOOKS": str(notebooks), "JUPYTER_TOKEN": token,
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    base = f"http://127.0.0.1:{port}"
    with serve(["lab", "--no-browser", "--port", str(port), "--tracking-uri",
                campaign_store.uri], f"{base}/api?token={token}", env=env), \
            browser(1400, 1000) as page:
        page.goto(f"{base}/lab/tree/explore.ipynb?token={token}")
        page.locator(".jp-Notebook").first.wait_for()
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        page.wait_for_function("() => [...document.querySelectorAll('.widget-image')]"
                               ".filter(i => i.naturalWidth > 0).length == 3", timeout=180_000)
        assert page.locator(".widget-dropdown select").first.input_value() == "codecnb"
        frame = page.locator(".widget-image").first
        before, shown = frame.get_attribute("src"), frame.screenshot()
        assert spread(shown) > 10
        page.locator(".widget-slider .noUi-handle").first.click()
        page.keyboard.press("ArrowRight")                     # frame 0 -> 1
        page.wait_for_function("s => document.querySelector('.widget-image').src != s",
                               arg=before, timeout=120_000)
        assert page.locator(".widget-readout").first.inner_text().strip() == "1"
        page.wait_for_function("() => document.querySelector('.widget-image').naturalWidth > 0")
        assert frame.screenshot() != shown                    # another picture is shown
