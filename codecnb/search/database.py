"""The program database: the candidates of a campaign, grouped into islands and niches.

It is a pure function of the history (itself rebuilt from MLflow on ``--resume``): replaying
the entries in order re-does every island assignment and migration, so a resumed or
replayed campaign sees the same database as the one that was interrupted.

- **Islands.** Each candidate belongs to the island its proposal was made for (recorded in
  its settings as ``island``; programs from elsewhere, e.g. a replay, are placed by hash).
  Proposals visit the islands in turn. Every ``migration_interval`` evaluated candidates
  the ``migrants`` best programs of each island are copied to the next one (a ring).
- **Niches** (MAP-Elites cells): encode-speed class, size class and the coding tools used
  (:func:`codecnb.search.features.niche_of`); the elite of a cell is its best BD-rate.
- **Parent selection**: power law over rank within the island.
- **Inspirations**: the global best programs, then elites of other niches, most distant
  from the parent in feature space first.

References
----------
Tanese, "Distributed genetic algorithms", ICGA 1989 (island model).
Mouret & Clune, "Illuminating search spaces by mapping elites", arXiv:1504.04909, 2015.
Lange et al., "ShinkaEvolve", arXiv:2509.19349, 2025 (power-law parent sampling).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from codecnb.search.features import distance, feature_vector, niche_of
from codecnb.search.settings import SearchSettings

if TYPE_CHECKING:
    from codecnb.generators.history import History, HistoryEntry


@dataclass
class Migration:
    """Elites copied at one migration: after ``at`` evaluated candidates."""

    at: int
    source: int
    target: int
    sha256: str


@dataclass
class ProgramDatabase:
    """Islands, niches and elites of the successful programs of a history."""

    settings: SearchSettings
    programs: dict[str, HistoryEntry] = field(default_factory=dict)   # sha -> entry (ok)
    islands: list[list[str]] = field(default_factory=list)          # members, in order
    niches: dict[tuple, str] = field(default_factory=dict)          # cell -> elite sha
    migrations: list[Migration] = field(default_factory=list)
    evaluated: int = 0
    proposals: int = 0

    @classmethod
    def from_history(cls, history: History, settings: SearchSettings = SearchSettings()
                     ) -> "ProgramDatabase":
        """Replay ``history`` (oldest first) into a database."""
        db = cls(settings, islands=[[] for _ in range(settings.islands)])
        for e in history.entries:
            db.proposals += 1
            if e.status == "running":
                continue
            if e.score is not None:
                db._add(e)
            db.evaluated += 1
            if settings.migration_interval and db.evaluated % settings.migration_interval == 0:
                db._migrate()
        return db

    # -- building -------------------------------------------------------------------------
    def island_of(self, e: HistoryEntry) -> int:
        """The island a candidate was proposed for (by hash when it has none)."""
        island = e.settings.get("island") if isinstance(e.settings, dict) else None
        if isinstance(island, int) and 0 <= island < len(self.islands):
            return island
        return int(e.sha256[:8] or "0", 16) % len(self.islands)

    def _add(self, e: HistoryEntry) -> None:
        if e.sha256 in self.programs:
            return
        self.programs[e.sha256] = e
        island = self.islands[self.island_of(e)]
        island.append(e.sha256)
        cell = niche_of(e.program, e.timing.get("encode_fps"))
        elite = self.niches.get(cell)
        if elite is None or e.score < self.programs[elite].score:
            self.niches[cell] = e.sha256

    def _migrate(self) -> None:
        n = len(self.islands)
        if n < 2:
            return
        elites = [self.ranked(i)[:self.settings.migrants] for i in range(n)]
        for i, shas in enumerate(elites):
            target = self.islands[(i + 1) % n]
            for sha in shas:
                if sha not in target:
                    target.append(sha)
                    self.migrations.append(Migration(self.evaluated, i, (i + 1) % n, sha))

    # -- reading --------------------------------------------------------------------------
    def ranked(self, island: int | None = None) -> list[str]:
        """Programs of an island (all islands if None), best BD-rate first."""
        shas = self.programs if island is None else self.islands[island]
        return sorted(shas, key=lambda s: (self.programs[s].score, s))

    def best(self, k: int = 1) -> list[HistoryEntry]:
        return [self.programs[s] for s in self.ranked()[:k]]

    def next_island(self) -> int:
        """The island of the next proposal (they go round the islands)."""
        return self.proposals % len(self.islands)

    def select_parent(self, island: int, rng: random.Random) -> HistoryEntry | None:
        """A parent from ``island`` by a power law over rank (the whole database when the
        island is still empty); None when no program has succeeded yet."""
        ranked = self.ranked(island) or self.ranked()
        if not ranked:
            return None
        weights = [(r + 1) ** -self.settings.parent_power for r in range(len(ranked))]
        return self.programs[rng.choices(ranked, weights)[0]]

    def niche_of(self, e: HistoryEntry) -> tuple:
        return niche_of(e.program, e.timing.get("encode_fps"))

    def inspirations(self, parent: HistoryEntry | None) -> list[HistoryEntry]:
        """The best programs other than the parent, then elites of other niches, the most
        distant from the parent (or from the best) in feature space first."""
        s = self.settings
        skip = {parent.sha256} if parent else set()
        best = [sha for sha in self.ranked() if sha not in skip][:s.inspirations_best]
        skip |= set(best)
        ref = parent or (self.programs[best[0]] if best else None)
        own = self.niche_of(ref) if ref else None
        others = [sha for cell, sha in self.niches.items() if cell != own and sha not in skip]
        if ref is not None:
            fv = self._features(ref)
            others.sort(key=lambda sha: (-distance(fv, self._features(self.programs[sha])),
                                         sha))
        return [self.programs[sha] for sha in best + others[:s.inspirations_diverse]]

    @staticmethod
    def _features(e: HistoryEntry) -> list[float]:
        return feature_vector(e.program, e.score, e.timing.get("encode_fps"))

    def summary(self) -> dict:
        """Sizes, niches and migrations, for logging."""
        return {"programs": len(self.programs), "islands": [len(i) for i in self.islands],
                "niches": len(self.niches), "migrations": len(self.migrations),
                "evaluated": self.evaluated}
