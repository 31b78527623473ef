"""The offline search: Optuna's TPE sampler against the earlier pattern search.

Both search the same codec family (codecnb/generators/family_space.py) with the same budget
of candidates, for several seeds, on the training clips of the default suite (a short
window of each). A candidate's score is the suite score: the mean over the training clips
of its BD-rate against JPEG (PSNR-Y); a candidate that fails on any clip has no score.
Held-out clips are never evaluated here.

Prints, for each algorithm and seed, the best suite BD-rate after the budget, and the
number of candidates each needed to reach the pattern search's final best of that seed
(a dash if it never did), then the means over seeds.

Identical programs (the same text) are evaluated once and their result reused: the
evaluator is deterministic, and both algorithms still count every candidate they proposed.

    python benchmarks/search.py [--candidates 30] [--seeds 3] [--frames 4] [--cache F]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from codecnb.codecs.base import program_hash
from codecnb.evaluation import evaluate
from codecnb.generators import History, OfflineGenerator
from codecnb.suites.loader import load_suite


def training_clips(frames: int) -> list[dict]:
    """The default suite's training clips, the first ``frames`` of each one's window."""
    return [{"name": c.name, "uri": c.uri, "start": c.start, "resize": c.resize,
             "frames": min(frames, c.frames or frames)} for c in load_suite("default").train]


class SuiteScorer:
    """Mean BD-rate against JPEG over the clips, cached by program text (and in a JSON
    file by program SHA-256 when ``path`` is given, so an interrupted run resumes)."""

    def __init__(self, clips: list[dict], path: Path | None = None):
        self.clips, self.cache, self.evaluations, self.seconds = clips, {}, 0, 0.0
        self.path, self.saved = path, {}
        if path and path.exists():
            self.saved = json.loads(path.read_text())

    def __call__(self, program: str) -> tuple[float | None, dict]:
        sha = program_hash(program) + ":" + json.dumps(self.clips, sort_keys=True)
        if program not in self.cache and sha in self.saved:
            self.cache[program] = tuple(self.saved[sha])
        if program not in self.cache:
            t0 = time.perf_counter()
            per_clip = {}
            for c in self.clips:
                r = evaluate(program, c["uri"], start=c["start"], frames=c["frames"],
                             resize=c["resize"], baselines=("jpeg",))
                per_clip[c["name"]] = r.bd_rate.get("jpeg") if r.status == "ok" else None
                if per_clip[c["name"]] is None:
                    break
            ok = len(per_clip) == len(self.clips) and None not in per_clip.values()
            self.cache[program] = (statistics.fmean(per_clip.values()) if ok else None,
                                   per_clip)
            self.evaluations += 1
            self.seconds += time.perf_counter() - t0
            if self.path:
                self.saved[sha] = list(self.cache[program])
                self.path.write_text(json.dumps(self.saved))
        return self.cache[program]


class _Result:
    """What History.add needs from an evaluation, for a suite score."""

    def __init__(self, score: float | None, per_clip: dict):
        self.status = "ok" if score is not None else "failed"
        self.bd_rate = {"jpeg": score} if score is not None else {}
        self.points, self.failure, self.per_clip = [], None, per_clip


def search(algorithm: str, seed: int, candidates: int, scorer: SuiteScorer,
           **options) -> list[float]:
    """The best suite score after each candidate (inf until one succeeds)."""
    gen, history, best, trace = OfflineGenerator(seed=seed, algorithm=algorithm, **options), \
        History(), float("inf"), []
    for i in range(candidates):
        cand = gen.propose(history)
        t0 = time.perf_counter()
        score, per_clip = scorer(cand.program)
        history.add(cand, _Result(score, per_clip))
        if score is not None:
            best = min(best, score)
        trace.append(best)
        print(f"  {algorithm} seed {seed} candidate {i + 1}: "
              f"{'failed' if score is None else f'{100 * score:+.2f} %'} (best "
              f"{100 * best:+.2f} %, {time.perf_counter() - t0:.0f} s)", file=sys.stderr,
              flush=True)
    return trace


def reached(trace: list[float], target: float) -> int | None:
    """Candidates needed to reach ``target`` (1-based), None if never."""
    return next((i + 1 for i, v in enumerate(trace) if v <= target + 1e-12), None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds first-seed .. first-seed + seeds - 1 (to run seeds apart)")
    ap.add_argument("--frames", type=int, default=4, help="frames of each training clip")
    ap.add_argument("--startup", type=int, default=1, help="Optuna: startup trials")
    ap.add_argument("--prior-weight", type=float, default=0.2, help="Optuna: TPE prior weight")
    ap.add_argument("--cache", type=Path, help="JSON file of results by program SHA-256 "
                    "(an interrupted run started again reuses them)")
    args = ap.parse_args()
    clips = training_clips(args.frames)
    scorer = SuiteScorer(clips, args.cache)
    print(f"clips: {', '.join(c['name'] for c in clips)}; {args.frames} frames each; "
          f"{args.candidates} candidates; seeds {args.first_seed}.."
          f"{args.first_seed + args.seeds - 1}")
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        t0 = time.perf_counter()
        pattern = search("pattern", seed, args.candidates, scorer)
        optuna = search("optuna", seed, args.candidates, scorer, startup=args.startup,
                        prior_weight=args.prior_weight)
        target = pattern[-1]
        for name, trace in (("pattern", pattern), ("optuna", optuna)):
            rows.append((name, seed, trace[-1], reached(trace, target)))
            need = reached(trace, target)
            print(f"seed {seed}  {name:8s} best suite BD-rate vs JPEG {100 * trace[-1]:+7.2f} %"
                  f"   candidates to reach pattern's best "
                  f"({100 * target:+.2f} %): {need if need else '-'}", flush=True)
        print(f"  seed {seed} took {time.perf_counter() - t0:.0f} s", flush=True)
    print("\nmean over seeds:")
    for name in ("pattern", "optuna"):
        mine = [r for r in rows if r[0] == name]
        needs = [r[3] for r in mine if r[3] is not None]
        print(f"  {name:8s} best {100 * statistics.fmean(r[2] for r in mine):+7.2f} %   "
              f"reached the pattern search's best in {len(needs)}/{len(mine)} seeds"
              + (f", after {statistics.fmean(needs):.1f} candidates on average" if needs
                 else ""))
    print(f"\n{scorer.evaluations} distinct programs evaluated in {scorer.seconds:.0f} s "
          f"(machine shared with other work: timings are indicative only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
