"""The figures of one evaluated candidate, as files: its RD plot and a frame comparison."""
from __future__ import annotations

from pathlib import Path

from codecnb.plots.frames import frame_figure
from codecnb.plots.rd import rd_figure
from codecnb.plots.style import save_png


def candidate_figures(result, out_dir: Path) -> dict[str, Path]:
    """RD plot, and for a passing candidate the frame comparison at the middle quality,
    saved as PNG in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"rd.png": out_dir / "rd.png"}
    curves = ({"candidate": result.curve(), **result.baselines} if result.ok
              else dict(result.baselines))
    save_png(rd_figure(curves, title=f"RD: candidate {result.program_sha256[:10]} vs baselines"),
             paths["rd.png"])
    if result.ok and result.frames:
        q = result.qualities[len(result.qualities) // 2]
        paths["frames.png"] = out_dir / "frames.png"
        save_png(frame_figure(result.frames["original"][0], result.frames[q][0],
                              title=f"frame 0 at quality {q}"), paths["frames.png"])
    return paths
