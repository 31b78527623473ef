"""``codecnb status --watch``: the campaign dashboard, refreshed in the terminal until
interrupted (Ctrl-C).

The figures of the dashboard this project grew out of: successful, in progress (each with
its worker and elapsed time), failed by kind, best so far, cost; and the connected Dask
workers when a scheduler is given.
"""
from __future__ import annotations

import sys
import time
from collections import Counter

from codecnb.analysis import load_candidates
from codecnb.analysis.tables import pct
from codecnb.tracking import runs as R


def dashboard(c, exp: str, parent: str, scheduler: str | None = None,
              now: float | None = None) -> str:
    """The dashboard of campaign ``parent`` as text (several lines).

    Parameters
    ----------
    c : MlflowClient
    exp, parent : str
        Experiment id and the campaign's parent run id.
    scheduler : str, optional
        A Dask scheduler address; its connected workers are listed.
    now : float, optional
        The current time, seconds since the epoch (for elapsed times).
    """
    now = time.time() if now is None else now
    run = c.get_run(parent)
    kids = R.children(c, exp, parent)
    records = load_candidates(c, exp, parent)
    ok = [r for r in records if r.ok]
    failed = [r for r in records if r.status == "FAILED"]
    running = [k for k in kids if k.info.status == "RUNNING"]
    best = min((r for r in ok if r.bd_rate.get("jpeg") is not None),
               key=lambda r: r.bd_rate["jpeg"], default=None)
    total = run.data.params.get("iterations", "?")
    lines = [f"campaign {parent} ({run.info.status})  {time.strftime('%H:%M:%S')}",
             f"  successful   {len(ok):>4}",
             f"  in progress  {len(running):>4}",
             f"  failed       {len(failed):>4}"
             + (f"   ({', '.join(f'{k} {n}' for k, n in Counter(r.failure_kind or 'unknown' for r in failed).most_common())})"
                if failed else ""),
             f"  total        {len(records):>4} of {total}",
             f"  best so far  {pct(best.bd_rate['jpeg']) if best else '-'} BD-rate vs JPEG"
             + (f" (iteration {best.iteration}, run {best.run_id[:12]})" if best else ""),
             f"  cost         ${sum(r.cost_usd for r in records):.4f}, "
             f"{sum(r.tokens for r in records)} tokens"]
    if run.data.tags.get(R.STOP_REASON):
        lines.append(f"  stopped      {run.data.tags[R.STOP_REASON]}")
    for k in running:
        elapsed = now - k.info.start_time / 1000
        lines.append(f"    iteration {k.data.tags.get(R.ITERATION, '?'):>4}  on "
                     f"{k.data.tags.get(R.WORKER, 'a worker (not started yet)')}  "
                     f"{elapsed:7.1f} s")
    if scheduler:
        lines += _workers(scheduler)
    return "\n".join(lines)


def _workers(scheduler: str) -> list[str]:
    from distributed import Client
    try:
        with Client(scheduler, timeout="5s") as dc:
            workers = dc.scheduler_info().get("workers", {})
    except OSError as exc:
        return [f"  Dask workers: scheduler {scheduler} unreachable ({exc})"]
    out = [f"  Dask workers {len(workers)} at {scheduler}"]
    for addr, w in sorted(workers.items()):
        out.append(f"    {addr}  {w.get('name', '')}  threads {w.get('nthreads', '?')}")
    return out


def watch(c, exp: str, parent: str, interval_s: float = 2.0, scheduler: str | None = None,
          out=sys.stdout) -> int:
    """Print :func:`dashboard` every ``interval_s`` seconds until interrupted (returns 0).
    On a terminal the screen is redrawn in place; otherwise each refresh is appended."""
    tty = out.isatty()
    try:
        while True:
            text = dashboard(c, exp, parent, scheduler)
            out.write(("\x1b[H\x1b[2J" if tty else "") + text + "\n" + ("" if tty else "\n"))
            out.flush()
            time.sleep(interval_s)
    except KeyboardInterrupt:
        return 0
