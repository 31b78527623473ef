"""A campaign's course: progress of the search, outcomes, spending and lineage.

Each function draws what the matching function of :mod:`codecnb.analysis.compare` returns.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from matplotlib.ticker import MaxNLocator

from codecnb.plots.style import MARKERS, OKABE_ITO, new_figure

#: Fixed colours per outcome, so the same kind looks the same in every report.
OUTCOME_COLORS = {"ok": "#009E73", "exception": "#D55E00", "timeout": "#E69F00",
                  "memory": "#CC79A7", "crash": "#000000", "output": "#56B4E9",
                  "syntax": "#0072B2", "contract": "#F0E442", "import": "#999999",
                  "too_large": "#882255", "isolation": "#661100", "killed": "#BBBBBB",
                  "running": "#DDDDDD"}


def progress_figure(rows: Sequence[dict], baseline: str = "jpeg",
                    title: str = "Progress of the search"):
    """Each candidate's BD-rate against ``baseline`` (dots; failures as crosses on the
    axis) and the best so far (step line), in percent, over candidates in order."""
    fig = new_figure(figsize=(8, 4))
    ax = fig.add_subplot()
    ok = [(r["index"], 100 * r["bd_rate"]) for r in rows if r["bd_rate"] is not None]
    best = [(r["index"], 100 * r["best"]) for r in rows if r["best"] is not None]
    if ok:
        ax.scatter(*zip(*ok), color=OKABE_ITO[0], marker="o", label="candidate", zorder=3)
    if best:
        ax.step(*zip(*best), where="post", color=OKABE_ITO[3], linewidth=2,
                label="best so far")
    failed = [r["index"] for r in rows if r["bd_rate"] is None]
    if failed:
        y = max([v for _, v in ok], default=0)
        ax.scatter(failed, [y] * len(failed), color="#555555", marker="x",
                   label="failed (no BD-rate)", zorder=3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("candidate (in order of proposal)")
    ax.set_ylabel(f"BD-rate vs {baseline} (%, PSNR-Y; lower is better)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return fig


def outcomes_figure(ranges: Sequence[tuple[int, int]], kinds: Mapping[str, Sequence[int]],
                    title: str = "Outcomes over time"):
    """Stacked bars: how many candidates passed or failed, by failure kind, in each range
    of candidates."""
    fig = new_figure(figsize=(8, 4))
    ax = fig.add_subplot()
    labels = [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges]
    bottom = [0] * len(ranges)
    order = sorted(kinds, key=lambda k: (k != "ok", k))
    for i, kind in enumerate(order):
        counts = kinds[kind]
        ax.bar(labels, counts, bottom=bottom, label=kind,
               color=OUTCOME_COLORS.get(kind, OKABE_ITO[i % 8]),
               hatch="" if kind == "ok" else "//", edgecolor="white")
        bottom = [b + c for b, c in zip(bottom, counts)]
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("candidates (in order of proposal)")
    ax.set_ylabel("candidates (count)")
    ax.set_title(title)
    ax.legend(title="outcome", fontsize=8)
    return fig


def spending_figure(rows: Sequence[dict], title: str = "Tokens and cost"):
    """Tokens per candidate (bars, left axis) and the running cost in USD (line, right)."""
    fig = new_figure(figsize=(8, 4))
    ax = fig.add_subplot()
    idx = [r["index"] for r in rows]
    ax.bar(idx, [r["tokens"] for r in rows], color=OKABE_ITO[5], label="tokens")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("candidate (in order of proposal)")
    ax.set_ylabel("tokens per candidate")
    ax.set_ylim(0, max([r["tokens"] for r in rows] + [1]) * 1.1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax2 = ax.twinx()
    ax2.plot(idx, [r["cumulative_usd"] for r in rows], color=OKABE_ITO[3], marker="o",
             markersize=3, label="total cost")
    ax2.set_ylabel("total cost (USD)")
    ax2.set_ylim(0, max([r["cumulative_usd"] for r in rows] + [0.01]) * 1.1)
    ax.set_title(title)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left")
    return fig


def lineage_figure(records: Sequence, edges: Sequence[tuple[str, str]],
                   baseline: str = "jpeg", title: str = "Candidate lineage"):
    """Which parent led to which child: candidates placed by order (x) and BD-rate
    (y, %), arrows from parent to child; failed candidates sit on a row above, as crosses.

    Parameters
    ----------
    records : sequence of CandidateRecord
    edges : sequence of (parent run id, child run id)
    """
    fig = new_figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    scored = {r.run_id: 100 * r.bd_rate[baseline] for r in records
              if r.ok and r.bd_rate.get(baseline) is not None}
    lo, hi = min(scored.values(), default=0.0), max(scored.values(), default=0.0)
    failed_row = hi + 0.1 * (hi - lo) + 1
    pos = {r.run_id: (i, scored.get(r.run_id, failed_row)) for i, r in enumerate(records, 1)}
    for parent, child in edges:
        ax.annotate("", xy=pos[child], xytext=pos[parent],
                    arrowprops={"arrowstyle": "->", "color": "#777777", "lw": 0.9})
    for g, gen in enumerate(sorted({r.generator for r in records})):
        pts = [pos[r.run_id] for r in records if r.generator == gen and r.run_id in scored]
        if pts:
            ax.scatter(*zip(*pts), color=OKABE_ITO[g % 8], marker=MARKERS[g % len(MARKERS)],
                       label=gen, zorder=3)
    failed = [pos[r.run_id] for r in records if r.run_id not in scored]
    if failed:
        ax.scatter(*zip(*failed), color="#555555", marker="x", label="failed", zorder=3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("candidate (in order of proposal)")
    ax.set_ylabel(f"BD-rate vs {baseline} (%, lower is better)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(title="generator", fontsize=8)
    return fig
