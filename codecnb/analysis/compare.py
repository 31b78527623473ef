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
from codecnb.metrics.uncertainty import paired_tie, standard_error


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
    """Passing candidates ranked by BD-rate against JPEG (lowest first): on the validation
    clips when the suite has them (a choice that must generalise; the generators never saw
    those numbers), else on the training clips.

    Each row: ``rank``, ``iteration``, ``run_id``, ``generator``, ``bd_rate_jpeg``,
    ``bd_rate_x264`` (fractions), ``psnr_at_target`` (dB at ``target_kbps``, None outside
    the candidate's range), ``encode_fps``, ``decode_fps``, ``source``,
    ``program_sha256``, ``heldout_bd_rate_jpeg``, ``heldout_bd_rate_x264``,
    ``heldout_gap_jpeg`` and ``heldout_gap_x264`` (held-out minus training; None unless
    the candidate was checked on held-out clips), ``validation_bd_rate_jpeg`` and
    ``validation_bd_rate_x264`` (None without validation clips), ``rank_by``
    ("validation" or "train"), ``score_se`` (standard error of the ranking score over its
    clips, fraction; None under two clips) and ``tie_above`` (True when the per-clip
    scores cannot tell this candidate from the one ranked above it,
    :func:`codecnb.metrics.uncertainty.paired_tie`).
    """
    rows = [{"iteration": r.iteration, "run_id": r.run_id, "generator": r.generator,
             "bd_rate_jpeg": r.bd_rate["jpeg"], "bd_rate_x264": r.bd_rate.get("x264"),
             "psnr_at_target": (psnr_at_kbps(r.points, target_kbps)
                                if target_kbps else None),
             "encode_fps": r.encode_fps, "decode_fps": r.decode_fps, "source": r.source,
             "program_sha256": r.program_sha256,
             "heldout_bd_rate_jpeg": r.heldout.get("bd_rate_jpeg"),
             "heldout_bd_rate_x264": r.heldout.get("bd_rate_x264"),
             "heldout_gap_jpeg": r.heldout.get("gap_jpeg"),
             "heldout_gap_x264": r.heldout.get("gap_x264"),
             "validation_bd_rate_jpeg": r.validation.get("bd_rate_jpeg"),
             "validation_bd_rate_x264": r.validation.get("bd_rate_x264"),
             "selection": r.selection_bd_rate("jpeg"),
             "rank_by": "validation" if r.validation else "train"}
            for r in records if r.ok and r.selection_bd_rate("jpeg") is not None]
    rows.sort(key=lambda row: row.pop("selection"))
    by_id = {r.run_id: r for r in records}
    above = None
    for i, row in enumerate(rows, 1):
        row["rank"] = i
        clips = _ranked_clips(by_id[row["run_id"]], "jpeg")
        row["score_se"] = standard_error(clips)
        row["tie_above"] = above is not None and paired_tie(clips, above)
        above = clips
    return rows[:top] if top else rows


def _ranked_clips(record: CandidateRecord, baseline: str) -> dict[str, float | None]:
    """The per-clip BD-rates the ranking score is the mean of (validation clips when the
    suite has them, else training clips)."""
    clips = record.validation_clips if record.validation else record.per_clip
    return {name: v.get(baseline) for name, v in clips.items()}


def has_suite(records: Sequence[CandidateRecord]) -> bool:
    """Whether any of the candidates was measured on a suite of clips (a suite campaign)."""
    return any(r.suite or r.per_clip or r.heldout_clips for r in records)


def baselines_of(records: Sequence[CandidateRecord]) -> list[str]:
    """The baselines the candidates have BD-rates against (logged suite scores and
    per-clip values), JPEG first."""
    names = {b for r in records for b in r.bd_rate}
    names |= {b for r in records for clips in (r.per_clip, r.heldout_clips)
              for values in clips.values() for b in values}
    return sorted(names, key=lambda b: (b != "jpeg", b))


def clip_rows(record: CandidateRecord, baselines: Sequence[str] = ("jpeg", "x264")
              ) -> list[dict]:
    """One candidate's per-clip BD-rates, as logged (nothing is recomputed).

    Returns
    -------
    list of dict
        One row per clip of its suite, training clips first, then held-out ones, each in
        suite order: ``clip``, ``role`` ("train", "validation" or "heldout") and ``bd_rate_{B}`` per
        baseline (fraction; None when undefined, or for a held-out clip not checked).
        Empty for a one-clip candidate.
    """
    clips = list(record.clips)
    known = {name for name, _ in clips}
    clips += [(n, "train") for n in record.per_clip if n not in known]
    clips += [(n, "validation") for n in record.validation_clips if n not in known]
    clips += [(n, "heldout") for n in record.heldout_clips if n not in known]
    order = {"train": 0, "validation": 1, "heldout": 2}
    clips.sort(key=lambda c: order.get(c[1], 0))     # stable: suite order within a role
    values_of = {"train": record.per_clip, "validation": record.validation_clips,
                 "heldout": record.heldout_clips}
    rows = []
    for name, role in clips:
        values = values_of.get(role, record.per_clip).get(name, {})
        rows.append({"clip": name, "role": role,
                     **{f"bd_rate_{b}": values.get(b) for b in baselines}})
    return rows


def per_clip_rows(records: Sequence[CandidateRecord], board: Sequence[dict],
                  baselines: Sequence[str] = ("jpeg", "x264")) -> list[dict]:
    """:func:`clip_rows` of the leaderboard's candidates, in rank order, each row with the
    candidate's ``rank``, ``iteration`` and ``run_id`` in front."""
    by_id = {r.run_id: r for r in records}
    return [{"rank": row["rank"], "iteration": row["iteration"], "run_id": row["run_id"],
             **clip} for row in board for clip in clip_rows(by_id[row["run_id"]], baselines)]


def baseline_label(name: str) -> str:
    """A baseline's name as tables show it ("jpeg" -> "JPEG")."""
    return {"jpeg": "JPEG"}.get(name, name)


def per_clip_table(rows: Sequence[dict], baselines: Sequence[str] = ("jpeg", "x264")):
    """:func:`per_clip_rows` (or :func:`clip_rows`) as a ``pandas.DataFrame``: candidate
    (when the rows have one), clip, role, BD-rate against each baseline in percent."""
    import pandas as pd
    frame = pd.DataFrame([{
        **({"candidate": f"#{r['rank']} iteration {r['iteration']}"} if "rank" in r else {}),
        "clip": r["clip"], "role": "training" if r["role"] == "train" else "held out",
        **{f"BD-rate vs {baseline_label(b)}": pct(r.get(f"bd_rate_{b}")) for b in baselines}}
        for r in rows])
    if frame.empty:
        return frame
    return frame.set_index(["candidate", "clip"] if "candidate" in frame else "clip")


def heldout_table(board: Sequence[dict], baselines: Sequence[str] = ("jpeg", "x264"),
                  heldout: bool = True):
    """The training score beside the held-out BD-rate and the gap (held-out minus
    training, percentage points of BD-rate; positive = worse on unseen clips), per
    leaderboard candidate and baseline, as a ``pandas.DataFrame`` indexed by rank.
    "-" where the candidate was not checked on held-out clips; ``heldout=False`` leaves
    those columns out (one-clip campaigns)."""
    import pandas as pd

    def cells(r: dict, b: str) -> list[tuple[str, str]]:
        name = baseline_label(b)
        out = [(f"{'training' if heldout else 'BD-rate'} vs {name}", pct(r.get(f"bd_rate_{b}")))]
        if heldout:
            out += [(f"held-out vs {name}", pct(r.get(f"heldout_bd_rate_{b}"))),
                    (f"gap vs {name}", pct(r.get(f"heldout_gap_{b}")))]
        return out
    return pd.DataFrame([{"rank": r["rank"], "iteration": r["iteration"],
                          "generator": r["generator"],
                          **{k: v for b in baselines for k, v in cells(r, b)},
                          "run": r["run_id"][:12]} for r in board]).set_index("rank")


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
        **({"validation vs JPEG": pct(r.get("validation_bd_rate_jpeg")),
            "validation vs x264": pct(r.get("validation_bd_rate_x264"))}
           if any(x.get("validation_bd_rate_jpeg") is not None for x in rows) else {}),
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
