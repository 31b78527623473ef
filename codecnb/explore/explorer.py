"""The ipywidgets explorer of ``notebooks/explore.ipynb``.

Pick an experiment and a run; pick a quality point and a frame; see the original, the
decoded frame and the error heat-map side by side (with a zoom), per-frame PSNR and SSIM
with the frame marked, the RD curve against the baselines and the program. "Try it"
evaluates an edited or pasted program in the sandbox and can log it as a run.

The table ranks the passing runs by BD-rate (for a suite campaign with the held-out
BD-rate and the gap beside the training score); for the selected run of a suite campaign,
each clip's BD-rates. Both are read from MLflow (:mod:`codecnb.analysis`), not recomputed.

Every callback is a plain method, so tests drive it headlessly: set a widget's value or
call ``button.click()`` and read the widgets' values.
"""
from __future__ import annotations

import html
import logging
import math
import re

from codecnb import config
from codecnb.analysis import compare, open_records
from codecnb.analysis.tables import pct
from codecnb.codecs import builtin_program
from codecnb.errors import CodecnbError
from codecnb.explore.views import View, Window, evaluate_program, log_view, view_of_run
from codecnb.plots import frame_figure, per_frame_figure, png_bytes, rd_figure
from codecnb.tracking import client, ensure_experiment, retry_locked
from codecnb.tracking import tracking_uri as resolve_uri
from codecnb.tracking.store import store_exists

log = logging.getLogger(__name__)

ZOOMS = [("whole frame", 1), ("2x", 2), ("4x", 4), ("8x", 8)]


class Explorer:
    """Widgets to look at candidates and try programs.

    Parameters
    ----------
    tracking_uri : str
        MLflow tracking URI; "" for the configured or local store.
    experiment : str, optional
        Experiment to open first (default: the configured one, else the first).
    window : Window, optional
        Source window for "try it" when no run is selected.

    Attributes
    ----------
    widget : ipywidgets.VBox
        What to display.
    view : View or None
        What is shown now.
    """

    def __init__(self, tracking_uri: str = "", experiment: str | None = None,
                 window: Window | None = None):
        import ipywidgets as W
        self.uri = resolve_uri(tracking_uri or None)
        self.view: View | None = None
        self._window = window or Window()
        self._records: dict = {}
        self._board: list[dict] = []
        self._baselines: list[str] = ["jpeg"]
        self._suite = False
        self._mlflow = None
        self._quiet = False  # set while several widgets change at once
        wide = W.Layout(width="48%")
        self.experiment = W.Dropdown(description="experiment", layout=wide)
        self.run = W.Dropdown(description="run", layout=wide)
        self.status = W.HTML()
        self.table = W.HTML()      # the ranked runs (held-out and gap for a suite)
        self.clips = W.HTML()      # the selected run's per-clip BD-rates (suite only)
        self.progress = W.IntProgress(description="evaluating", min=0, max=1, value=0,
                                      bar_style="info", layout=W.Layout(display="none"))
        self.quality = W.ToggleButtons(description="quality")
        self.frame = W.IntSlider(description="frame", min=0, max=0, continuous_update=False)
        self.zoom = W.Dropdown(description="zoom", options=ZOOMS, value=1)
        self.zoom_x = W.FloatSlider(description="centre x", min=0, max=1, step=0.01, value=0.5,
                                    continuous_update=False)
        self.zoom_y = W.FloatSlider(description="centre y", min=0, max=1, step=0.01, value=0.5,
                                    continuous_update=False)
        self.image = W.Image(format="png", layout=W.Layout(width="100%"))
        self.per_frame = W.Image(format="png", layout=W.Layout(width="56%"))
        self.rd = W.Image(format="png", layout=W.Layout(width="44%"))
        self.code = W.HTML()
        self.editor = W.Textarea(layout=W.Layout(width="100%", height="320px"))
        self.source = W.Text(description="source", value=self._window.source,
                             layout=W.Layout(width="60%"))
        self.frames_n = W.BoundedIntText(description="frames", min=1, max=100000,
                                         value=self._window.frames)
        self.evaluate_button = W.Button(description="Evaluate in sandbox",
                                        button_style="primary", icon="play")
        self.log_button = W.Button(description="Log as run", icon="upload", disabled=True)
        self.try_status = W.HTML()
        try_it = W.VBox([self.editor, W.HBox([self.source, self.frames_n]),
                         W.HBox([self.evaluate_button, self.log_button]), self.try_status])
        more = W.Accordion(children=[self.code, try_it], titles=("Program", "Try it"))
        self.widget = W.VBox([
            W.HBox([self.experiment, self.run]), self.table, self.status, self.clips,
            self.progress,
            W.HBox([self.quality, self.frame]), W.HBox([self.zoom, self.zoom_x, self.zoom_y]),
            self.image, W.HBox([self.per_frame, self.rd]), more])
        self.experiment.observe(lambda _: self._quiet or self._load_runs(), names="value")
        self.run.observe(lambda _: self._quiet or self._open_run(), names="value")
        for w in (self.quality, self.frame, self.zoom, self.zoom_x, self.zoom_y):
            w.observe(lambda _: self._quiet or self._draw_frame(), names="value")
        self.frame.observe(lambda _: self._quiet or self._draw_per_frame(), names="value")
        self.evaluate_button.on_click(lambda _: self.try_program())
        self.log_button.on_click(lambda _: self.log_current())
        self.editor.value = builtin_program("starter")
        self._load_experiments(experiment or config.resolve("experiment"))

    def _ipython_display_(self) -> None:
        from IPython.display import display
        display(self.widget)

    # -- choosing -------------------------------------------------------------------------
    def _client(self):
        """The MLflow client, made on first use (opening a store creates it)."""
        if self._mlflow is None:
            self._mlflow = client(self.uri)
        return self._mlflow

    def _load_experiments(self, preferred: str) -> None:
        names = []
        if store_exists(self.uri):
            names = [e.name for e in retry_locked(self._client().search_experiments)]
        self._quiet = True
        try:
            self.experiment.options = names
            if names:
                self.experiment.value = preferred if preferred in names else names[0]
        finally:
            self._quiet = False
        if names:
            self._load_runs()
        else:
            self._say(f"No experiments in {html.escape(self.uri)} yet: run <code>codecnb run"
                      f"</code>, or try a program below.")

    def _load_runs(self, open_first: bool = True) -> None:
        _, records = open_records(self.experiment.value, uri=self.uri)
        self._records = {r.run_id: r for r in records}
        self._board = compare.leaderboard(records)
        self._baselines = compare.baselines_of(records) or ["jpeg"]
        self._suite = compare.has_suite(records)
        board = {row["run_id"]: row["rank"] for row in self._board}
        options = [(self._run_label(r, board.get(r.run_id)), r.run_id)
                   for r in sorted(records, key=lambda r: (board.get(r.run_id, math.inf),
                                                           -r.start_ms))]
        current, self._quiet = self.run.value, True
        try:
            self.run.options = options
            if options:
                keep = not open_first and current in self._records
                self.run.value = current if keep else options[0][1]
        finally:
            self._quiet = False
        self._draw_tables()
        if not options:
            self._say(f"Experiment {html.escape(self.experiment.value)} has no candidates.")
        elif open_first:
            self._open_run()

    @staticmethod
    def _run_label(r, rank: int | None) -> str:
        bd = r.bd_rate.get("jpeg")
        score = f"{100 * bd:+.1f} % vs JPEG" if r.ok and bd is not None else (
            r.failure_kind or r.status.lower())
        where = f"iteration {r.iteration}" if r.campaign else r.generator
        return f"{'#' + str(rank) if rank else '-'}  {where}  {score}  ({r.run_id[:8]})"

    def _open_run(self) -> None:
        if not self.run.value:
            return
        record = self._records[self.run.value]
        self._draw_tables()
        self._say(f"Evaluating {html.escape(record.run_id[:8])} again in the sandbox to show "
                  f"its frames..." if record.ok else "Loading...")
        try:
            view = view_of_run(self._client(), record, self._show_progress)
        except CodecnbError as exc:
            self._say(f"cannot open this run: {html.escape(str(exc))}", error=True)
            return
        finally:
            self.progress.layout.display = "none"
        self.editor.value = view.program or self.editor.value
        self.source.value, self.frames_n.value = view.window.source, view.window.frames
        self.show(view)

    def _show_progress(self, done: int, total: int) -> None:
        self.progress.max, self.progress.value = max(1, total), done
        self.progress.layout.display = "flex"

    # -- showing --------------------------------------------------------------------------
    def show(self, view: View) -> None:
        """Show a view: status, quality points, frames, per-frame plot, RD curve, code."""
        self.view = view
        r = view.result
        if r is None:
            self._say(f"{html.escape(view.label)}: no evaluation result was logged.",
                      error=True)
        elif r.ok:
            bd = "; ".join(f"BD-rate vs {k} {'-' if v is None else f'{100 * v:+.2f} %'}"
                           for k, v in r.bd_rate.items())
            self._say(f"<b>{html.escape(view.label)}</b>: passed on {r.source['frames']} "
                      f"frames of {html.escape(view.window.source)}; {bd}")
        else:
            self._say(f"<b>{html.escape(view.label)}</b>: failed, <b>{r.failure.kind}</b>: "
                      f"{html.escape(r.failure.message)}", error=True)
        n = len(view.frames.get("original", []))
        self._quiet = True
        try:
            previous, options = self.quality.value, [str(q) for q in view.qualities]
            self.quality.options = options
            if options:  # keep the quality when it is still there, else the middle one
                self.quality.value = (previous if previous in options
                                      else options[len(options) // 2])
            self.frame.max = max(0, n - 1)
            self.frame.value = min(self.frame.value, self.frame.max)
        finally:
            self._quiet = False
        self.code.value = _highlight(view.program)
        self.rd.value = png_bytes(rd_figure(
            {"candidate": r.curve(), **r.baselines} if r else {},
            title="RD against the baselines")) if r else b""
        self._draw_frame()
        self._draw_per_frame()

    def _draw_frame(self) -> None:
        v = self.view
        if v is None or not v.frames or self.quality.value is None:
            self.image.value = b""
            return
        i, q = self.frame.value, int(self.quality.value)
        orig, dec = v.frames["original"][i], v.frames[q][i]
        zoom = None
        if self.zoom.value > 1:
            h, w = orig.shape[:2]
            zw, zh = max(8, w // self.zoom.value), max(8, h // self.zoom.value)
            x = int(min(max(0, self.zoom_x.value * w - zw / 2), w - zw))
            y = int(min(max(0, self.zoom_y.value * h - zh / 2), h - zh))
            zoom = (x, y, zw, zh)
        point = next(p for p in v.result.points if p.quality == q)
        psnr, ssim = point.per_frame["psnr_y"][i], point.per_frame["ssim_y"][i]
        self.image.value = png_bytes(frame_figure(
            orig, dec, zoom=zoom, title=f"{v.label}: frame {i} at quality {q} "
            f"(PSNR-Y {psnr:.2f} dB, SSIM-Y {ssim:.4f}, {point.kbps:.0f} kbps)"))

    def _draw_per_frame(self) -> None:
        r = self.view.result if self.view else None
        if not r or not r.points:
            self.per_frame.value = b""
            return
        self.per_frame.value = png_bytes(per_frame_figure(
            {f"q={p.quality}": p.per_frame for p in r.points}, current=self.frame.value))

    def _draw_tables(self) -> None:
        """The ranked runs (the selected one in bold) and the selected run's clips."""
        selected = self.run.value
        if not self._board:
            self.table.value = ""
        else:
            self.table.value = _table_html(
                compare.heldout_table(self._board, self._baselines, heldout=self._suite),
                bold={i for i, row in enumerate(self._board) if row["run_id"] == selected},
                caption="Passing runs by BD-rate" + (
                    " (training score = mean over the training clips; gap = held-out minus "
                    "training, positive is worse on unseen clips)" if self._suite else ""))
        record = self._records.get(selected)
        rows = compare.clip_rows(record, self._baselines) if record else []
        if not rows:
            self.clips.value = ""
            return
        summary = "; ".join(
            f"{label} vs {compare.baseline_label(b)} {pct(value)}"
            for b in self._baselines for label, value in (
                ("training score", record.bd_rate.get(b)),
                ("held-out", record.heldout.get(f"bd_rate_{b}")),
                ("gap", record.heldout.get(f"gap_{b}"))))
        self.clips.value = _table_html(
            compare.per_clip_table(rows, self._baselines),
            caption=f"Per clip, iteration {record.iteration} ({record.run_id[:8]}): {summary}")

    def _say(self, text: str, error: bool = False) -> None:
        color = "#D55E00" if error else "inherit"
        self.status.value = f'<span style="color:{color}">{text}</span>'

    # -- trying ---------------------------------------------------------------------------
    def try_program(self) -> View | None:
        """Evaluate the editor's program in the sandbox on the chosen source and frames
        (from the shown window's start and size when the source is the shown one), and
        show it."""
        shown = self.view.window if self.view else self._window
        source = self.source.value.strip()
        same = source == shown.source     # the shown clip: its start and size too
        window = Window(source=source, frames=self.frames_n.value, qualities=shown.qualities,
                        start=shown.start if same else 0, resize=shown.resize if same else None)
        self.evaluate_button.disabled = self.log_button.disabled = True
        self.try_status.value = "evaluating in the sandbox..."
        try:
            view = evaluate_program(self.editor.value, window, progress=self._show_progress)
        except CodecnbError as exc:
            self.try_status.value = (f'<span style="color:#D55E00">{html.escape(str(exc))}'
                                     f'</span>')
            return None
        finally:
            self.progress.layout.display = "none"
            self.evaluate_button.disabled = False
        r = view.result
        self.try_status.value = (f"passed: {len(r.points)} quality points" if r.ok else
                                 f'<span style="color:#D55E00">failed, <b>{r.failure.kind}'
                                 f'</b>: {html.escape(r.failure.message)}</span>')
        self.log_button.disabled = False
        self.show(view)
        return view

    def log_current(self) -> str | None:
        """Log the tried program and its result as a run of the selected experiment."""
        if self.view is None or self.view.run_id:
            return None
        c = self._client()
        name = self.experiment.value or config.resolve("experiment")
        rid = log_view(c, ensure_experiment(c, name), self.view)
        self.log_button.disabled = True
        self.try_status.value += (f"; logged as run <code>{rid}</code> in experiment "
                                  f"{html.escape(name)}")
        if self.experiment.value == name:
            self._load_runs(open_first=False)  # the new run is listed; the view stays
        else:
            self._load_experiments(name)
        return rid


_NUMBER = re.compile(r"[-+]?[0-9.]+( %)?|-")   # right-aligned cells


def _table_html(frame, bold: set[int] = frozenset(), caption: str = "") -> str:
    """A ``pandas.DataFrame`` as a small HTML table (index included; rows by position in
    ``bold`` in bold), in a box that scrolls past about ten rows."""
    frame = frame.reset_index()
    cell = "padding:1px 8px;text-align:{};border-bottom:1px solid #ddd;white-space:nowrap"
    head = "".join(f'<th style="{cell.format("left")}">{html.escape(str(c))}</th>'
                   for c in frame.columns)
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        weight = "font-weight:bold;" if i in bold else ""
        body.append(f'<tr style="{weight}">' + "".join(
            f'<td style="{cell.format("right" if _NUMBER.fullmatch(str(v)) else "left")}">'
            f'{html.escape(str(v))}</td>' for v in row) + "</tr>")
    cap = f'<div>{html.escape(caption)}</div>' if caption else ""
    return (f'{cap}<div style="max-height:260px;overflow:auto"><table style="border-collapse:'
            f'collapse;font-size:90%"><thead><tr>{head}</tr></thead><tbody>'
            f'{"".join(body)}</tbody></table></div>')


def _highlight(program: str) -> str:
    """The program as highlighted HTML (Pygments, inline styles) in a scrolling box."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    body = highlight(program or "# (no program)", PythonLexer(), HtmlFormatter(noclasses=True))
    return f'<div style="max-height:480px;overflow:auto">{body}</div>'
