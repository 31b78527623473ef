"""Take the README's screenshots from this checkout's real store (mlruns/).

Run a campaign first (``python3 dev.py run``), then::

    .venv/bin/python docs/screenshots.py [--experiment codecnb]

It writes docs/images/explorer.png (explore.ipynb in JupyterLab), docs/images/report.png
(``codecnb report``) and docs/images/mlflow-compare.png (the MLflow UI comparing the best
candidates), using the same Chromium helpers as the browser tests.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser import browser, serve  # noqa: E402
from s3fixtures import free_port  # noqa: E402

from codecnb.analysis import compare, open_records  # noqa: E402
from codecnb.tracking import tracking_uri  # noqa: E402

IMAGES = ROOT / "docs" / "images"


def explorer(uri: str, tmp: Path) -> None:
    notebooks = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)    # no "news" prompt over the picture
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = free_port(), "screenshots"
    env = {"CODECNB_NOTEBOOKS": str(notebooks), "JUPYTER_TOKEN": token,
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "ws"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"), "JUPYTER_RUNTIME_DIR": str(tmp)}
    base = f"http://127.0.0.1:{port}"
    with serve(["lab", "--no-browser", "--port", str(port), "--tracking-uri", uri],
               f"{base}/api?token={token}", env=env), browser(1500, 2200) as page:
        page.goto(f"{base}/lab/tree/explore.ipynb?token={token}")
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        page.wait_for_function("() => [...document.querySelectorAll('.widget-image')]"
                               ".filter(i => i.naturalWidth > 0).length == 3", timeout=600_000)
        page.locator(".widget-slider .noUi-handle").first.click()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.wait_for_timeout(6000)
        page.locator(".jp-OutputArea-output").first.screenshot(path=IMAGES / "explorer.png")


def report(uri: str, experiment: str, tmp: Path) -> None:
    out = tmp / "report.html"
    subprocess.run([sys.executable, "-m", "codecnb", "report", "--tracking-uri", uri,
                    "--experiment", experiment, "-o", str(out)], check=True)
    with browser(1100, 2000) as page:
        page.goto(out.as_uri())
        page.screenshot(path=IMAGES / "report.png")


def mlflow_compare(uri: str, experiment: str) -> None:
    c, records = open_records(experiment, uri=uri)
    runs = [r["run_id"] for r in compare.leaderboard(records, top=4)]
    exp = c.get_experiment_by_name(experiment).experiment_id
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    query = urllib.parse.urlencode({"runs": json.dumps(runs), "experiments": json.dumps([exp])})
    with serve(["ui", "--port", str(port), "--tracking-uri", uri], f"{base}/health"), \
            browser(1500, 1300) as page:
        page.goto(f"{base}/#/compare-runs?{query}")
        page.get_by_text("bd_rate_jpeg").first.wait_for()
        close = page.locator("[data-component-id^='mlflow.assistant.chat_panel.close']")
        if close.count():
            close.first.click()                                 # the assistant panel
        metrics = page.locator(".du-bois-light-select").nth(1)    # parameters, metrics
        metrics.locator(".du-bois-light-select-selection-item-remove").click()
        for name in ("bd_rate_jpeg", "bd_rate_x264", "encode_fps", "psnr_y_q50"):
            metrics.click()
            page.keyboard.type(name)
            page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        page.wait_for_timeout(3000)
        page.screenshot(path=IMAGES / "mlflow-compare.png")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="codecnb")
    ap.add_argument("--tracking-uri", default=None)
    ap.add_argument("--only", choices=["explorer", "report", "mlflow"])
    args = ap.parse_args()
    uri = tracking_uri(args.tracking_uri or f"sqlite:///{ROOT / 'mlruns' / 'mlflow.db'}")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.only or args.only == "explorer":
            explorer(uri, Path(tmp))
        if not args.only or args.only == "report":
            report(uri, args.experiment, Path(tmp))
        if not args.only or args.only == "mlflow":
            mlflow_compare(uri, args.experiment)
    print("\n".join(str(p) for p in sorted(IMAGES.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
