"""Comparisons of candidates: what the comparison notebook, the HTML report and
``codecnb status`` / ``leaderboard`` show.

Every function takes :class:`~codecnb.analysis.records.CandidateRecord` lists in start
order (as :func:`~codecnb.analysis.records.load_candidates` returns them) and returns
plain data; :mod:`codecnb.plots.campaign` draws it.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.interpolate import PchipInterpolator

from codecnb.analysis.records import CandidateRecord
from codecnb.analysis.tables import pct


def psnr_at_kbps(points: Sequence[dict], kbps: float) -> float | None:
    """PSNR-Y (dB) of an RD curve at a bitrate, or None outside the curve's rate range.

    Interpolates PSNR-Y over log-rate with PCHIP, the interpolant BD-rate uses
    (:mod:`codecnb.metrics.bdrate`); no extrapolation. Lossless (infinite) points are left
    out.
    """
    pts = sorted({(p["kbps"], p["psnr_y"]) for p in points
                  if p["kbps"] > 0 and math.isfinite(p["psnr_y"])})
    if not pts or not pts[0][0] <= kbps <= pts[-1][0]:
        return None
    if len(pts) == 1:
        return pts[0][1]
    rates, psnrs = np.log10([r for r, _ in pts]), [q for _, q in pts]
    if len(set(rates)) < len(rates):  # equal rates: no function of rate
        return None
    return float(PchipInterpolator(rates, psnrs)(math.log10(kbps)))


def default_target_kbps(records: Sequence[CandidateRecord]) -> float | None:
    """A bitrate inside most passing candidates' ranges: the median of their geometric
    mid-rates (kbps); None when no candidate passed."""
    mids = [math.sqrt(min(r) * max(r)) for r in
            ([p["kbps"] for p in rec.points if p["kbps"] > 0] for rec in records if rec.ok) if r]
    return statistics.median(mids) if mids else None


def leaderboard(records: Sequence[CandidateRecord], top: int | None = None,
                target_kbps: float | None = None) -> list[dict]:
    """Passing candidates ranked by BD-rate against JPEG (lowest first).

    Each row: ``rank``, ``iteration``, ``run_id``, ``generator``, ``bd_rate_jpeg``,
    ``bd_rate_x264`` (fractions), ``psnr_at_target`` (dB at ``target_kbps``, None outside
    the candidate's range), ``encode_fps``, ``decode_fps``, ``source``,
    ``program_sha256``, ``heldout_bd_rate_jpeg``, ``heldout_bd_rate_x264`` and
    ``heldout_gap_jpeg`` (held-out minus training; None unless ``codecnb verify`` checked
    the candidate).
    """
    rows = [{"iteration": r.iteration, "run_id": r.run_id, "generator": r.generator,
             "bd_rate_jpeg": r.bd_rate["jpeg"], "bd_rate_x264": r.bd_rate.get("x264"),
             "psnr_at_target": (psnr_at_kbps(r.points, target_kbps)
                                if target_kbps else None),
             "encode_fps": r.encode_fps, "decode_fps": r.decode_fps, "source": r.source,
             "program_sha256": r.program_sha256,
             "heldout_bd_rate_jpeg": r.heldout.get("bd_rate_jpeg"),
             "heldout_bd_rate_x264": r.heldout.get("bd_rate_x264"),
             "heldout_gap_jpeg": r.heldout.get("gap_jpeg")}
            for r in records if r.ok and r.bd_rate.get("jpeg") is not None]
    rows.sort(key=lambda row: row["bd_rate_jpeg"])
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows[:top] if top else rows


@dataclass
class Status:
    """The dashboard figures: how many candidates are in each state, the best, the cost."""

    successful: int
    in_progress: int
    failed: int
    killed: int
    total: int
    best_bd_rate_jpeg: float | None
    best_run: str | None
    cost_usd: float


def status(records: Sequence[CandidateRecord]) -> Status:
    """Counts by run state (FINISHED = successful, RUNNING = in progress), the best
    BD-rate against JPEG and the total cost."""
    n = Counter(r.status for r in records)
    board = leaderboard(records, top=1)
    return Status(successful=n["FINISHED"], in_progress=n["RUNNING"], failed=n["FAILED"],
                  killed=n["KILLED"], total=len(records),
                  best_bd_rate_jpeg=board[0]["bd_rate_jpeg"] if board else None,
                  best_run=board[0]["run_id"] if board else None,
                  cost_usd=sum(r.cost_usd for r in records))


def progress(records: Sequence[CandidateRecord], baseline: str = "jpeg") -> list[dict]:
    """The search's progress: for each candidate in order, its BD-rate against
    ``baseline`` (None when it failed) and the best so far (None before the first pass)."""
    best, out = None, []
    for i, r in enumerate(records, 1):
        bd = r.bd_rate.get(baseline) if r.ok else None
        if bd is not None and (best is None or bd < best):
            best = bd
        out.append({"index": i, "run_id": r.run_id, "bd_rate": bd, "best": best})
    return out


def failure_kinds(records: Sequence[CandidateRecord], bins: int = 10,
                  ) -> tuple[list[tuple[int, int]], dict[str, list[int]]]:
    """Outcome counts over time: candidates (in order) split into at most ``bins`` equal
    ranges; returns the ranges (first, last index, from 1) and, per kind ("ok" for the
    passing ones, "killed" for interrupted ones), the count in each range."""
    n = len(records)
    edges = np.linspace(0, n, min(bins, n) + 1).round().astype(int) if n else []
    ranges = [(int(a) + 1, int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    kinds: dict[str, list[int]] = {}
    for k, (a, b) in enumerate(ranges):
        for r in records[a - 1:b]:
            kind = ("ok" if r.ok else "running" if r.status == "RUNNING" else
                    "killed" if r.status == "KILLED" else r.failure_kind or "unknown")
            kinds.setdefault(kind, [0] * len(ranges))[k] += 1
    return ranges, kinds


def spending(records: Sequence[CandidateRecord]) -> list[dict]:
    """Tokens and cost per candidate, in order, with the running total cost (USD)."""
    total, out = 0.0, []
    for i, r in enumerate(records, 1):
        total += r.cost_usd
        out.append({"index": i, "tokens": r.tokens, "cost_usd": r.cost_usd,
                    "cumulative_usd": total})
    return out


def models(records: Sequence[CandidateRecord]) -> list[dict]:
    """What each model bought: per model (in order of first use), its candidates,
    successes, failures, how many improved on their parent (on the best before them when
    they have none), the BD-rate against JPEG gained by those improvements (percentage
    points), its cost (USD), points per dollar and its best BD-rate. Generators without a
    model (offline, replay) are left out. The bandit of ``codecnb.search.bandit`` uses the
    same measure to choose models."""
    by_run = {r.run_id: r for r in records}
    out: dict[str, dict] = {}
    best = None
    for r in records:
        bd = r.bd_rate.get("jpeg") if r.ok else None
        if r.model and r.model != "-":
            m = out.setdefault(r.model, {"model": r.model, "candidates": 0, "ok": 0,
                                         "failed": 0, "improved": 0, "gain_pp": 0.0,
                                         "cost_usd": 0.0, "best_bd_rate_jpeg": None})
            m["candidates"] += 1
            m["cost_usd"] += r.cost_usd
            m["ok"] += r.ok
            m["failed"] += r.status == "FAILED"
            parents = [by_run[p].bd_rate.get("jpeg") for p in r.parent_runs
                       if p in by_run and by_run[p].ok]
            ref = next((v for v in parents if v is not None), best)
            if bd is not None:
                if ref is not None and bd < ref:
                    m["improved"] += 1
                    m["gain_pp"] += 100 * (ref - bd)
                if m["best_bd_rate_jpeg"] is None or bd < m["best_bd_rate_jpeg"]:
                    m["best_bd_rate_jpeg"] = bd
        if bd is not None and (best is None or bd < best):
            best = bd
    for m in out.values():
        m["pp_per_usd"] = m["gain_pp"] / m["cost_usd"] if m["cost_usd"] > 0 else None
    return list(out.values())


def lineage(records: Sequence[CandidateRecord]) -> list[tuple[str, str]]:
    """(parent run, child run) edges between candidates of ``records``."""
    known = {r.run_id for r in records}
    return [(p, r.run_id) for r in records for p in r.parent_runs if p in known]


def conclusions(records: Sequence[CandidateRecord]) -> list[str]:
    """One-line findings computed from the data, most important first."""
    if not records:
        return ["No candidates yet: run `codecnb run` to start a campaign."]
    st = status(records)
    board = leaderboard(records)
    out = []
    if board:
        b = board[0]
        vs_x264 = ("" if b["bd_rate_x264"] is None else
                   f", {pct(b['bd_rate_x264'])} against x264")
        out.append(f"The best candidate is iteration {b['iteration']} ({b['generator']}, run "
                   f"{b['run_id'][:8]}): {pct(b['bd_rate_jpeg'])} BD-rate against JPEG"
                   f"{vs_x264}.")
        beats = sum(1 for r in board if (r["bd_rate_x264"] or 0) < 0)
        out.append(f"{beats} of {len(board)} passing candidates need fewer bits than x264 "
                   f"for the same PSNR-Y." if beats else
                   "No candidate reaches x264: every passing one needs more bits for the "
                   "same PSNR-Y.")
    else:
        out.append("No candidate has passed yet.")
    done = st.successful + st.failed
    kinds = Counter(r.failure_kind or "unknown" for r in records if r.status == "FAILED")
    line = f"{st.successful} of {done} finished candidates passed ({100 * st.successful / max(done, 1):.0f} %)"
    if kinds:
        kind, count = kinds.most_common(1)[0]
        line += f"; the most common failure is {kind} ({count})"
    out.append(line + ".")
    steps = [p for p in progress(records) if p["best"] is not None]
    if len(steps) > 1:
        improved = [p["index"] for prev, p in zip(steps, steps[1:]) if p["best"] < prev["best"]]
        if improved:
            out.append(f"The search improved the best BD-rate from {pct(steps[0]['best'])} "
                       f"to {pct(steps[-1]['best'])}; the last improvement came at candidate "
                       f"{improved[-1]} of {len(records)}.")
        else:
            out.append(f"The first passing candidate is still the best after {len(records)} "
                       f"candidates.")
    if st.cost_usd > 0:
        tokens = sum(r.tokens for r in records)
        out.append(f"The search cost ${st.cost_usd:.4f} for {tokens:,} tokens, "
                   f"${st.cost_usd / max(st.successful, 1):.4f} per passing candidate.")
    else:
        out.append("The search cost nothing: no LLM was called (offline or replayed "
                   "candidates).")
    if st.in_progress or st.killed:
        out.append(f"{st.in_progress} candidates are still running and {st.killed} were "
                   f"interrupted.")
    return out


def leaderboard_table(rows: Sequence[dict], target_kbps: float | None = None):
    """The leaderboard as a ``pandas.DataFrame`` with readable columns (percent, dB, fps)."""
    import pandas as pd
    at = f"PSNR-Y at {target_kbps:.0f} kbps (dB)" if target_kbps else "PSNR-Y at target (dB)"

    def num(v, spec):
        return "-" if v is None or not math.isfinite(v) else format(v, spec)
    return pd.DataFrame([{
        "rank": r["rank"], "iteration": r["iteration"], "generator": r["generator"],
        "BD-rate vs JPEG": pct(r["bd_rate_jpeg"]), "BD-rate vs x264": pct(r["bd_rate_x264"]),
        **({"held-out vs JPEG": pct(r.get("heldout_bd_rate_jpeg")),
            "held-out gap": pct(r.get("heldout_gap_jpeg"))}
           if any(x.get("heldout_bd_rate_jpeg") is not None for x in rows) else {}),
        at: num(r["psnr_at_target"], ".2f"), "encode fps": num(r["encode_fps"], ".1f"),
        "decode fps": num(r["decode_fps"], ".1f"), "run": r["run_id"][:12]}
        for r in rows]).set_index("rank")


def recent_failures(records: Sequence[CandidateRecord], n: int = 8) -> list[dict]:
    """The last ``n`` failed candidates: index, iteration, kind and message."""
    rows = [{"candidate": i, "iteration": r.iteration, "kind": r.failure_kind or "unknown",
             "message": (r.failure_message or "")[:200]}
            for i, r in enumerate(records, 1) if r.status == "FAILED"]
    return rows[-n:]
