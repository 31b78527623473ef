"""The search: program database (islands, migration, niches, parents, inspirations), diff
edits, novelty before evaluation, the model bandit, rich feedback, tuned parameters and the
offline Optuna sampler. Model calls go through the real anthropic SDK to the local
Messages-API server (tests/fake_anthropic.py); MLflow stores are real and temporary."""
from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from codecnb.codecs import builtin_program
from codecnb.codecs.base import program_hash
from codecnb.errors import ConfigError, EditError
from codecnb.generators import AnthropicGenerator, History, HistoryEntry, OfflineGenerator
from codecnb.generators.family_space import STARTER, render
from codecnb.sandbox.policy import static_check
from codecnb.search import (Block, NoveltyFilter, ProgramDatabase, SearchSettings,
                            apply_blocks, choose_model, code_hash, model_stats, parse_blocks,
                            parse_tunables, set_tunables, similarity, tune)
from fake_anthropic import FakeAnthropic, text_reply

KEY = "sk-ant-api03-TESTKEY-search-0c0dec"
GOOD = '''import zlib
import numpy as np

def encode(frames, quality):
    return np.array(frames.shape, np.int32).tobytes() + zlib.compress(frames.tobytes(), 1)

def decode(data):
    shape = tuple(np.frombuffer(data[:16], np.int32))
    return np.frombuffer(zlib.decompress(data[16:]), np.uint8).reshape(shape)
'''
QUIET = "summary_every=0,tune_trials=0"


def variant(i: int, base: str = GOOD) -> str:
    """A distinct valid program: decode carries one more constant."""
    return base.replace("def decode(data):\n", f"def decode(data):\n    _v = {i}\n")


def entry(program: str, score: float | None, island: int | None = None, *,
          model: str | None = None, cost: float = 0.0, parents=(), fps: float | None = None,
          **extra) -> HistoryEntry:
    settings = {k: v for k, v in {"island": island, "model": model, "cost_usd": cost}.items()
                if v is not None}
    return HistoryEntry(program_hash(program), program, "anthropic", list(parents),
                        "ok" if score is not None else "failed",
                        {"jpeg": score} if score is not None else {}, settings=settings,
                        timing={"encode_fps": fps} if fps else {}, **extra)


class Scored:
    """What History.add needs of an evaluation (for tests that score programs by rule)."""

    def __init__(self, score: float | None):
        self.status = "ok" if score is not None else "failed"
        self.bd_rate, self.points, self.failure = ({"jpeg": score} if score is not None
                                                    else {}), [], None


@pytest.fixture
def api(monkeypatch):
    server = FakeAnthropic()
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    yield server
    server.close()


def claude(search: str = QUIET, **kw) -> AnthropicGenerator:
    return AnthropicGenerator(model="claude-sonnet-5-5", max_retries=2,
                              search=SearchSettings.parse(search), **kw)


def fenced(program: str, idea: str = "An idea.") -> str:
    return f"{idea}\n\n```python\n{program}```\n"


# -- program database ------------------------------------------------------------------------
def four_programs() -> History:
    a, b, c, d = (variant(i) for i in range(4))
    return History([entry(a, -0.10, 0), entry(b, -0.30, 0), entry(c, -0.20, 1),
                    entry(d, -0.05, 1)])


def test_islands_migrate_elites_and_parents_follow_a_power_law_over_rank():
    h = four_programs()
    s = SearchSettings(islands=2, migration_interval=4, migrants=1, parent_power=1.0)
    before = ProgramDatabase.from_history(History(h.entries[:3]), s)
    assert before.migrations == [] and len(before.islands[1]) == 1
    db = ProgramDatabase.from_history(h, s)
    a, b, c, d = (e.sha256 for e in h.entries)
    # after 4 evaluated candidates each island's best moves on round the ring
    assert [(m.source, m.target, m.sha256) for m in db.migrations] == [(0, 1, b), (1, 0, c)]
    assert db.ranked(1) == [b, c, d] and db.ranked(0) == [b, c, a]
    greedy = ProgramDatabase.from_history(h, SearchSettings(islands=2, migration_interval=4,
                                                            parent_power=40))
    assert greedy.select_parent(1, random.Random(0)).sha256 == b
    picks = Counter(db.select_parent(1, random.Random(i)).sha256 for i in range(3000))
    # power law: ranks 0, 1, 2 with weights 1, 1/2, 1/3
    assert picks[b] > picks[c] > picks[d] > 300
    assert abs(picks[b] / picks[c] - 2) < 0.35
    assert ProgramDatabase.from_history(History(), s).select_parent(0, random.Random()) is None
    no_migration = ProgramDatabase.from_history(h, SearchSettings(islands=2,
                                                                  migration_interval=0))
    assert no_migration.migrations == [] and b not in no_migration.islands[1]


def test_niches_and_inspirations_are_the_best_then_diverse_elites():
    fast = variant(1)
    slow_lzma = GOOD.replace("zlib", "lzma").replace("lzma.compress(frames.tobytes(), 1)",
                                                     "lzma.compress(frames.tobytes())")
    h = History([entry(variant(0), -0.40, 0, fps=50.0), entry(fast, -0.30, 0, fps=40.0),
                 entry(variant(2), -0.20, 0, fps=45.0),
                 entry(slow_lzma, -0.10, 0, fps=1.0)])
    db = ProgramDatabase.from_history(h, SearchSettings(islands=1, inspirations_best=1,
                                                        inspirations_diverse=1))
    assert len(db.niches) == 2              # zlib fast programs share a cell; lzma slow apart
    parent = h.entries[1]
    shown = db.inspirations(parent)
    assert [e.sha256 for e in shown] == [h.entries[0].sha256, h.entries[3].sha256]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A real, temporary MLflow store: (client, experiment id, folder)."""
    from codecnb.tracking import client, ensure_experiment
    root = tmp_path_factory.mktemp("mlflow")
    c = client(f"sqlite:///{root}/mlflow.db")
    return c, ensure_experiment(c, "search"), root


@pytest.mark.slow
def test_the_database_is_rebuilt_from_mlflow(store):
    """Candidates logged to a real MLflow store and read back give the same database."""
    from codecnb.generators.candidate import Candidate
    from codecnb.tracking import runs as R
    c, exp, _ = store
    h = four_programs()
    for i, e in enumerate(h.entries, 1):
        cand = Candidate(e.program, "anthropic", e.parents, e.settings, model="m")
        rid = R.create_candidate_run(c, exp, None, i, cand, {}, [], run_name=f"db-{i}")
        R.log_batch(c, rid, [R.metric("bd_rate_jpeg", e.score), R.metric("encode_fps", 7.0)])
        R.end_run(c, rid, "FINISHED")
    runs = sorted(R.search_all(c, exp, "attributes.run_name LIKE 'db-%'"),
                  key=lambda r: int(r.data.tags[R.ITERATION]))
    rebuilt = R.history_of(c, runs)
    s = SearchSettings(islands=2, migration_interval=4)
    want, got = ProgramDatabase.from_history(h, s), ProgramDatabase.from_history(rebuilt, s)
    assert got.islands == want.islands and got.migrations == want.migrations
    assert got.summary() == want.summary()
    assert all(e.timing == {"encode_fps": 7.0} for e in rebuilt.entries)


def test_settings_parse_and_refuse_bad_values():
    s = SearchSettings.parse("islands=4,diff=0.5")
    assert (s.islands, s.diff, s.explore) == (4, 0.5, SearchSettings().explore)
    for bad in ("islands=0", "diff=2", "nope=1", "islands", "explore=x"):
        with pytest.raises(ConfigError):
            SearchSettings.parse(bad)


# -- diff edits ------------------------------------------------------------------------------
def test_search_replace_blocks_apply_exactly_and_failures_name_the_block():
    reply = ("Use level 9.\n<<<<<<< SEARCH\n    return np.array(frames.shape, np.int32)"
             ".tobytes() + zlib.compress(frames.tobytes(), 1)\n=======\n    return np.array("
             "frames.shape, np.int32).tobytes() + zlib.compress(frames.tobytes(), 9)\n"
             ">>>>>>> REPLACE\n")
    blocks = parse_blocks(reply)
    assert len(blocks) == 1
    assert apply_blocks(GOOD, blocks) == GOOD.replace("tobytes(), 1)", "tobytes(), 9)")
    with pytest.raises(EditError, match=r"block 2: its SEARCH lines are not in the program"):
        apply_blocks(GOOD, blocks + [Block("    return zlib.compress(x)", "")])
    with pytest.raises(EditError, match=r"block 1: .* occur 2 times"):
        apply_blocks(GOOD, [Block("np.int32", "np.int64")])
    with pytest.raises(EditError, match="no SEARCH/REPLACE"):
        apply_blocks(GOOD, [])
    assert parse_blocks("<<<<<<< SEARCH\nx\n=======\ny\n") == []   # cut off: dropped


# -- novelty ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_novelty_rejects_duplicates_same_behaviour_and_near_duplicates():
    renamed = ("# a comment\n" + GOOD.replace("data", "payload").replace("shape = ", "dims = ")
               .replace("(shape)", "(dims)"))
    assert static_check(renamed) is None and renamed != GOOD
    assert code_hash(renamed) == code_hash(GOOD)
    starter = builtin_program("starter")
    no_motion = render({**STARTER, "MOTION": False})
    h = History([entry(GOOD, -0.1), entry(starter, -0.5), entry(no_motion, -0.4)])
    nf = NoveltyFilter(h)
    r = nf.check(renamed)
    assert r.reason == "duplicate" and r.known == h.entries[0].sha256
    assert "already known" in r.message() and "-10.00 %" in r.message()
    # a family program whose changed parameter has no effect (no motion: no sub-pel)
    ineffective = no_motion.replace("SUBPEL = True", "SUBPEL = False", 1)
    assert ineffective != no_motion
    assert nf.check(ineffective).reason == "same-behaviour"
    # one changed constant in a large program is a near-duplicate at the default threshold
    tweak = starter.replace("quality", "quality ", 1).replace("255", "254", 1)
    assert code_hash(tweak) != code_hash(starter)
    near = nf.check(tweak)
    assert near.reason == "near-duplicate" and near.similarity >= 0.999
    assert NoveltyFilter(h, threshold=1.0).check(tweak) is None
    assert nf.check(variant(7)) is None and similarity(GOOD, variant(7)) < 0.999


# -- the model bandit ------------------------------------------------------------------------
def test_bandit_index_prefers_improvement_per_dollar():
    a, b = "claude-haiku-4-5", "claude-sonnet-4-6"
    assert choose_model(History(), [a, b])[0] == a                 # untried first, in order
    h = History([entry(variant(0), -0.10, model=a, cost=0.01)])
    assert choose_model(h, [a, b])[0] == b
    h.entries += [entry(variant(1), -0.30, model=b, cost=0.01, parents=[h.entries[0].sha256]),
                  entry(variant(2), -0.05, model=a, cost=0.01)]
    stats = model_stats(h, [a, b])
    assert stats[b].improvement_pp == pytest.approx(20.0) and stats[a].improvement_pp == 0
    assert choose_model(h, [a, b], c=0.1)[0] == b


def test_the_bandit_counts_no_improvement_within_the_clips_noise():
    a = "claude-sonnet-4-6"
    clips = {"x": -0.10, "y": -0.30, "z": -0.20}
    parent = entry(variant(0), -0.20, model=a, per_clip=clips)
    noisy = {"x": -0.16, "y": -0.24, "z": -0.23}      # mean 1 point lower, within noise
    steady = {k: v - 0.01 for k, v in clips.items()}  # 1 point lower on every clip
    for per_clip, improved in ((noisy, 0), (steady, 1)):
        child = entry(variant(1), sum(per_clip.values()) / 3, model=a,
                      parents=[parent.sha256], per_clip=per_clip)
        stats = model_stats(History([parent, child]), [a])
        assert stats[a].improved == improved, per_clip


@pytest.mark.slow
def test_bandit_shifts_calls_towards_the_model_whose_candidates_improve(api):
    a, b = "claude-haiku-4-5", "claude-sonnet-4-6"
    gen = claude(models=[a, b], search=QUIET + ",explore=1")
    api.script = [text_reply(fenced(variant(i))) for i in range(12)]
    history, best = History(), 0.0
    for _ in range(12):
        cand = gen.propose(history)
        if cand.model == b:        # b's programs improve the best; a's never do
            best -= 0.02
            score = best
        else:
            score = 0.1
        history.add(cand, Scored(score))
    used = [r["body"]["model"] for r in api.requests]
    assert used[:2] == [a, b]                      # each model is tried once first
    assert Counter(used[-6:])[b] >= 5, used
    stats = model_stats(history, [a, b])
    assert stats[b].improved > 0 and stats[a].improved == 0


# -- proposals through the SDK ---------------------------------------------------------------
def test_parents_come_from_the_island_whose_turn_it_is(api):
    h = four_programs()
    gen = claude(search=QUIET + ",islands=2,migration_interval=0,explore=0,diff=0,"
                 "parent_power=40")
    api.script = [text_reply(fenced(variant(10))), text_reply(fenced(variant(11)))]
    first = gen.propose(h)                          # 4 proposals so far: island 0's turn
    assert first.settings["island"] == 0 and first.parents == [h.entries[1].sha256]
    h.add_pending(first)
    second = gen.propose(h)
    assert second.settings["island"] == 1 and second.parents == [h.entries[2].sha256]
    text = api.user_texts(0)
    assert "Improve this program" in text and "_v = 1" in text         # the parent's code
    assert first.settings["inspirations"] and first.settings["edit"] == "full"


def test_a_diff_reply_is_applied_to_the_parent(api):
    h = History([entry(GOOD, -0.2, 0)])
    gen = claude(search=QUIET + ",islands=1,explore=0,diff=1")
    line = "    return np.array(frames.shape, np.int32).tobytes() + zlib.compress(frames" \
           ".tobytes(), {})"
    api.script = [text_reply(f"Stronger compression.\n<<<<<<< SEARCH\n{line.format(1)}\n"
                             f"=======\n{line.format(9)}\n>>>>>>> REPLACE\n")]
    cand = gen.propose(h)
    assert cand.failure is None and cand.settings["mode"] == "diff"
    assert cand.program == GOOD.replace("tobytes(), 1)", "tobytes(), 9)")
    assert cand.settings["edit"] == "diff" and cand.parents == [h.entries[0].sha256]
    assert "SEARCH/REPLACE blocks" in api.user_texts(0)


def test_a_diff_that_does_not_apply_goes_back_for_repair(api):
    h = History([entry(GOOD, -0.2, 0)])
    gen = claude(search=QUIET + ",islands=1,explore=0,diff=1")
    bad = "<<<<<<< SEARCH\n    return zlib.compress(frames)\n=======\n    pass\n>>>>>>> REPLACE\n"
    good = ("<<<<<<< SEARCH\ndef decode(data):\n=======\ndef decode(data):\n    _v = 42\n"
            ">>>>>>> REPLACE\n")
    api.script = [text_reply(bad), text_reply(good)]
    cand = gen.propose(h)
    assert cand.failure is None and cand.program == variant(42)
    repair = api.user_texts(1)
    assert "cannot be applied" in repair and "block 1" in repair
    assert "return zlib.compress(frames)" in repair
    assert cand.settings["repairs"] == 1 and cand.input_tokens == 2400


def test_a_whole_program_reply_is_accepted_in_diff_mode(api):
    h = History([entry(GOOD, -0.2, 0)])
    api.script = [text_reply(fenced(variant(5)))]
    cand = claude(search=QUIET + ",islands=1,explore=0,diff=1").propose(h)
    assert cand.failure is None and cand.program == variant(5)
    assert cand.settings["edit"] == "full"


@pytest.mark.slow
def test_a_near_duplicate_is_rejected_before_evaluation_and_logged_as_a_rejection(api, store,
                                                                                 tmp_path):
    from codecnb.tracking import runs as R
    h = History([entry(GOOD, -0.2, 0)])
    renamed = "# same thing\n" + GOOD.replace("data", "blob")
    api.script = [text_reply(fenced(renamed)), text_reply(fenced(variant(3)))]
    cand = claude(search=QUIET + ",explore=1").propose(h)
    assert cand.failure is None and cand.program == variant(3)
    assert [r["reason"] for r in cand.rejected] == ["duplicate"]
    assert cand.rejected[0]["known"] == h.entries[0].sha256
    again = api.user_texts(1)
    assert "Not evaluated" in again and "same program as" in again
    # logged as a rejection with the candidate's run, not as a failure
    c, exp, _ = store
    rid = R.create_candidate_run(c, exp, None, 1, cand, {}, [])
    run = c.get_run(rid)
    assert run.data.metrics["rejected"] == 1 and R.FAILURE_KIND not in run.data.tags
    logged = json.loads(Path(c.download_artifacts(rid, "rejections.json",
                                                  str(tmp_path))).read_text())
    assert logged[0]["reason"] == "duplicate"


def test_only_near_duplicates_end_in_a_generation_failure(api):
    h = History([entry(GOOD, -0.2, 0)])
    api.script = [text_reply(fenced(GOOD))] * 2
    cand = claude(search=QUIET + ",explore=1,novelty_retries=1").propose(h)
    assert cand.failure.kind == "generation" and "not novel" in cand.failure.message
    assert len(cand.rejected) == 2 and len(api.requests) == 2


# -- rich feedback ---------------------------------------------------------------------------
def test_the_prompt_carries_the_parents_measurements_failures_and_a_summary(api):
    points = [{"quality": 25, "kbps": 812.5, "psnr_y": 33.25, "ssim_y": 0.9012},
              {"quality": 75, "kbps": 2400.0, "psnr_y": 40.5, "ssim_y": 0.9811}]
    parent = entry(GOOD, -0.25, 0, points=points, per_clip={"bunny": -0.3, "street": -0.2})
    parent.timing = {"encode_fps": 4.0, "decode_fps": 20.0}
    broken = entry(variant(9), None, 0, failure={
        "kind": "exception", "message": "IndexError: index 9 is out of bounds",
        "line": 7, "code": "    x = table[9]"})
    h = History([parent, broken] + [entry(variant(20 + i), -0.1 + 0.01 * i, 0)
                                    for i in range(2)])
    gen = claude(search="tune_trials=0,summary_every=4,islands=1,explore=0,diff=0,"
                 "parent_power=40", segment_frames=16, segment_timeout=120.0)
    api.script = [text_reply("- Lossless zlib beats the rest so far.\n- Motion failed."),
                  text_reply(fenced(variant(30)))]
    cand = gen.propose(h)
    assert "Write a short summary" in api.user_texts(0)
    text = api.user_texts(1)
    assert "## What has worked so far" in text and "Lossless zlib beats" in text
    assert "quality 25: 812.5 kbps, PSNR-Y 33.25 dB, SSIM-Y 0.9012" in text
    assert "quality 75: 2400.0 kbps" in text
    assert "bunny -30.00 %" in text and "street -20.00 %" in text
    assert "encode 4.0 fps, decode 20.0 fps" in text and "limit of 120 s per call" in text
    assert "about 4.0 s to encode" in text
    assert "failed (exception at line 7: `x = table[9]`): IndexError" in text
    assert cand.artifacts["summary.md"].startswith("# What has worked (after 4 candidates")
    assert cand.settings["summary_at"] == 4
    # the summary is stored with the candidate and reused, not rewritten, until K more
    h.add_pending(cand)
    api.script = [text_reply(fenced(variant(31)))]
    nxt = gen.propose(h)
    assert "Lossless zlib beats" in api.user_texts(2) and "summary.md" not in nxt.artifacts


# -- tuned parameters ------------------------------------------------------------------------
TUNABLE = GOOD.replace("import numpy as np\n", "import numpy as np\n\n# --- tunable ---\n"
                       "LEVEL = 1      # 1 .. 9\nSCALE = 0.5    # 0.01 .. 1.0 log\n"
                       "# --- end tunable ---\n").replace("tobytes(), 1)", "tobytes(), LEVEL)")


def test_tunable_blocks_parse_set_and_refuse_bad_lines():
    params = parse_tunables(TUNABLE)
    assert [(p.name, p.integer, p.log) for p in params] == [("LEVEL", True, False),
                                                            ("SCALE", False, True)]
    assert "LEVEL = 7      # 1 .. 9" in set_tunables(TUNABLE, {"LEVEL": 7})
    assert parse_tunables(GOOD) == []
    with pytest.raises(EditError, match="LEVEL"):
        parse_tunables(TUNABLE.replace("LEVEL = 1 ", "LEVEL = 12"))
    with pytest.raises(EditError, match="expected NAME = value"):
        parse_tunables(TUNABLE.replace("SCALE = 0.5    # 0.01 .. 1.0 log", "SCALE = 0.5"))


def test_a_tunable_program_is_tuned_before_it_becomes_the_candidate(api):
    calls = []

    def tuner(program):          # a smooth stand-in score with its optimum at LEVEL 6
        p = {t.name: t.value for t in parse_tunables(program)}
        calls.append(p)
        return (p["LEVEL"] - 6) ** 2 / 100 - 0.2
    api.script = [text_reply(fenced(TUNABLE))]
    cand = claude(search="summary_every=0,tune_trials=12,explore=1", tuner=tuner).propose(
        History())
    assert len(calls) == 12 and calls[0] == {"LEVEL": 1, "SCALE": 0.5}  # declared first
    tuned = {t.name: t.value for t in parse_tunables(cand.program)}
    assert cand.settings["tuning"]["params"] == tuned
    assert cand.settings["tuning"]["smoke_bd_rate"] <= cand.settings["tuning"][
        "declared_smoke_bd_rate"]
    assert abs(tuned["LEVEL"] - 6) <= 2
    study = json.loads(cand.artifacts["tuning.json"])
    assert len(study["trials"]) == 12 and cand.artifacts["declared.py"] == TUNABLE


LOSSY = '''import zlib
import numpy as np

# --- tunable ---
STEP = 8.0     # 1.0 .. 32.0
# --- end tunable ---


def encode(frames, quality):
    q = max(1, int(round(STEP * (101 - quality) / 50)))
    header = np.array(frames.shape + (q,), np.int32).tobytes()
    return header + zlib.compress((frames // q).astype(np.uint8).tobytes(), 6)


def decode(data):
    t, h, w, c, q = (int(v) for v in np.frombuffer(data[:20], np.int32))
    x = np.frombuffer(zlib.decompress(data[20:]), np.uint8).reshape(t, h, w, c)
    return np.clip(x.astype(np.int32) * q + q // 2, 0, 255).astype(np.uint8)
'''


@pytest.mark.slow
def test_tuning_on_a_real_smoke_evaluation():
    """Three sandboxed evaluations of a lossy program on 2 frames of a tiny clip."""
    from codecnb.search.tuning import smoke_objective
    objective = smoke_objective([{"uri": "synthetic:pan?size=64x48&frames=4"}], 2, [30, 70])
    result = tune(LOSSY, objective, trials=3, seed=1)
    assert result.declared_value is not None and result.value <= result.declared_value
    assert len(result.trials) == 3 and static_check(result.program) is None
    assert parse_tunables(result.program)[0].value == result.params["STEP"]


# -- the offline Optuna sampler --------------------------------------------------------------
def test_the_offline_sampler_starts_at_the_starter_and_never_proposes_a_known_program():
    gen, history = OfflineGenerator(seed=3), History()
    first = gen.propose(history)
    assert first.program == render(STARTER) and first.settings["mode"] == "tpe"
    rng = random.Random(0)
    for _ in range(25):
        cand = gen.propose(history)
        assert cand.sha256 not in history.shas()
        history.add(cand, Scored(rng.uniform(-0.6, -0.2) if rng.random() > 0.1 else None))
    assert len(history.shas()) == 25
    same = OfflineGenerator(seed=3).propose(history)
    assert same.program == gen.propose(history).program         # deterministic
    assert OfflineGenerator(algorithm="pattern").propose(History()).settings["mode"] != "tpe"
    with pytest.raises(ConfigError):
        OfflineGenerator(algorithm="grid")


# -- a campaign ------------------------------------------------------------------------------
@pytest.mark.slow
def test_run_spreads_calls_over_two_models_and_evaluates_diff_candidates(api, tmp_path):
    """codecnb run --models A,B: a full program first, then edits of the best; every
    candidate evaluated by the iteration notebook and logged like any other."""
    from codecnb.tracking import open_experiment
    from codecnb.tracking import runs as R
    from conftest import run_cli
    a, b = "claude-haiku-4-5", "claude-sonnet-4-6"
    edit = ("Idea {0}.\n<<<<<<< SEARCH\ndef decode(data):\n=======\ndef decode(data):\n"
            "    _v = {0}\n>>>>>>> REPLACE\n")
    api.script = [text_reply(fenced(LOSSY))] + [text_reply(edit.format(i)) for i in (1, 2, 3)]
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    proc = run_cli("run", "--generator", "anthropic", "--models", f"{a},{b}",
                   "--iterations", "4", "--workers", "1",
                   "--source", "synthetic:pan?size=64x48&frames=4", "--frames", "2",
                   "--qualities", "30,70", "--tracking-uri", uri, "--experiment", "models",
                   "--search", "islands=1,explore=0,diff=1,summary_every=0,tune_trials=0",
                   env={"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": api.url})
    assert proc.returncode == 0, proc.stderr[-3000:]
    used = [r["body"]["model"] for r in api.requests]
    assert len(used) == 4 and set(used) == {a, b}
    assert a in proc.stdout and b in proc.stdout and "pp/$" in proc.stdout   # what each bought
    c, exp = open_experiment("models", uri)
    kids = R.search_all(c, exp, f"tags.`{R.ROLE}` = 'candidate'")
    assert len(kids) == 4 and all(k.info.status == "FINISHED" for k in kids)
    settings = [json.loads(k.data.tags["codecnb.generator_settings"]) for k in kids]
    assert sorted(s["edit"] for s in settings) == ["diff", "diff", "diff", "full"]
    shas = {k.data.tags[R.SHA] for k in kids}
    assert program_hash(LOSSY) in shas
    diffs = [k for k, s in zip(kids, settings) if s["edit"] == "diff"]
    assert all(k.data.tags["codecnb.parents"] in shas for k in diffs)
    assert all("bd_rate_jpeg" in k.data.metrics for k in kids)


def test_the_report_and_leaderboard_say_what_each_model_bought():
    from codecnb.analysis import compare
    from codecnb.analysis.records import CandidateRecord

    def rec(run, model, bd, cost, parents=(), status="FINISHED"):
        return CandidateRecord(run, "c", int(run[1:]), status, 0, "anthropic", model, "s",
                               parent_runs=list(parents),
                               bd_rate={"jpeg": bd} if bd is not None else {}, cost_usd=cost)
    records = [rec("r1", "a", -0.10, 0.02), rec("r2", "b", -0.25, 0.05, ["r1"]),
               rec("r3", "a", None, 0.02, status="FAILED"), rec("r4", "b", -0.20, 0.05),
               rec("r5", "-", -0.50, 0.0)]
    got = {m["model"]: m for m in compare.models(records)}
    assert set(got) == {"a", "b"}                       # offline candidates are left out
    assert (got["a"]["candidates"], got["a"]["ok"], got["a"]["failed"]) == (2, 1, 1)
    assert got["b"]["improved"] == 1 and got["b"]["gain_pp"] == pytest.approx(15.0)
    assert got["b"]["pp_per_usd"] == pytest.approx(150.0)
    assert got["a"]["gain_pp"] == 0 and got["b"]["best_bd_rate_jpeg"] == -0.25


def test_per_clip_bd_rates_of_a_suite_result_reach_the_history():
    from types import SimpleNamespace
    from codecnb.generators.candidate import Candidate
    result = SimpleNamespace(status="ok", failure=None, points=[],
                             bd_rate={"jpeg": -0.2, "x264": 0.4},
                             per_clip={"bunny": {"jpeg": -0.3, "x264": 0.2},
                                       "street": {"jpeg": -0.1, "x264": 0.6}})
    e = History().add(Candidate(GOOD, "anthropic"), result)
    assert e.per_clip == {"bunny": -0.3, "street": -0.1}
