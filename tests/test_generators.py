"""Generators: Claude through the real anthropic SDK against a local Messages API server,
the offline search, replay, and ``codecnb propose``."""
from __future__ import annotations

import json
import logging

import pytest

from codecnb.codecs import builtin_program
from codecnb.evaluation import evaluate
from codecnb.generators import (AnthropicGenerator, Budget, BudgetExhausted, History,
                                OfflineGenerator, make_generator)
from codecnb.errors import GeneratorAuthError
from codecnb.generators.extract import extract_program
from codecnb.generators.prompting import task_prompt
from codecnb.errors import GeneratorExhausted
from codecnb.sandbox.policy import static_check
from conftest import run_cli
from fake_anthropic import FakeAnthropic, error_reply, text_reply

KEY = "sk-ant-api03-TESTKEY-never-write-me-0c0dec"
GOOD = '''import zlib
import numpy as np

def encode(frames, quality):
    return np.array(frames.shape, np.int32).tobytes() + zlib.compress(frames.tobytes(), 1)

def decode(data):
    shape = tuple(np.frombuffer(data[:16], np.int32))
    return np.frombuffer(zlib.decompress(data[16:]), np.uint8).reshape(shape)
'''
BAD_IMPORT = "import os\n" + GOOD


@pytest.fixture
def api(monkeypatch):
    server = FakeAnthropic()
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    yield server
    server.close()


def claude(**kw) -> AnthropicGenerator:
    return AnthropicGenerator(model="claude-sonnet-5-5", max_retries=3, **kw)


def test_normal_reply_with_usage_cost_and_prompt_cache(api):
    api.script = [text_reply(f"Idea: lossless.\n\n```python\n{GOOD}```\n")]
    cand = claude().propose(History())
    assert cand.failure is None and cand.program == GOOD
    assert (cand.input_tokens, cand.output_tokens, cand.cache_creation_tokens) == (1200, 800, 2500)
    # claude-sonnet-5-5: $2/M input, $10/M output, $2.50/M cache write
    assert cand.cost_usd == pytest.approx((1200 * 2 + 800 * 10 + 2500 * 2.5) / 1e6)
    assert cand.latency_s > 0 and cand.model == "claude-sonnet-5-5"
    req = api.requests[0]
    sent = req["headers"].get("x-api-key") or req["headers"].get("authorization", "")
    assert req["path"] == "/v1/messages" and sent.endswith(KEY)   # SDK 2 sends a bearer token
    assert req["body"]["model"] == "claude-sonnet-5-5"
    system = req["body"]["system"]
    assert system[0]["cache_control"] == {"type": "ephemeral"}
    assert "def encode(frames" in system[0]["text"] and "starter" in system[0]["text"]
    assert "numpy" in system[0]["text"]          # the import policy is stated


@pytest.mark.parametrize("reply", [
    f"```python\n{GOOD}```",
    f"Here it is:\n```\n{GOOD}```\nEnjoy.",
    f"```py\n{GOOD}```",
    GOOD,
    f"First a helper:\n```python\nx = 1\n```\nThen the codec:\n```python\n{GOOD}```",
    f"Explanation.\n```python\n{GOOD}",   # cut off before the closing fence
])
def test_replies_in_several_formats(reply):
    program = extract_program(reply)
    assert program is not None and static_check(program) is None
    assert "def decode" in program and "```" not in program


def test_reply_without_code_is_repaired_then_recorded_as_generation_failure(api):
    api.script = [text_reply("I would use a wavelet transform.")] * 3
    cand = claude(repairs=2).propose(History())
    assert cand.failure is not None and cand.failure.kind == "generation"
    assert "no Python program" in cand.failure.message
    assert len(api.requests) == 3
    assert "no Python program" in api.user_texts(1)


def test_static_check_failure_is_quoted_and_repaired(api):
    api.script = [text_reply(f"```python\n{BAD_IMPORT}```"), text_reply(f"```python\n{GOOD}```")]
    cand = claude().propose(History())
    assert cand.failure is None and cand.program == GOOD
    assert "import of 'os' is refused" in api.user_texts(1)
    assert cand.input_tokens == 2400                       # both calls are counted


def test_rate_limit_and_overload_are_retried(api):
    api.script = [error_reply(429, "rate_limit_error"), error_reply(529, "overloaded_error"),
                  text_reply(f"```python\n{GOOD}```")]
    cand = claude().propose(History())
    assert cand.failure is None and len(api.requests) == 3


def test_authentication_error_stops_with_a_clear_message(api, caplog):
    api.script = [error_reply(401, "authentication_error", "invalid x-api-key")]
    with caplog.at_level(logging.DEBUG), pytest.raises(GeneratorAuthError) as info:
        claude().propose(History())
    assert "refused the key" in str(info.value) and KEY not in str(info.value)
    assert len(api.requests) == 1                          # not retried
    assert KEY not in caplog.text


def test_budget_stops_before_the_call_that_would_pass_it(api):
    api.script = [text_reply(f"```python\n{GOOD}```")] * 3
    with pytest.raises(BudgetExhausted):
        claude(budget=Budget(usd=0.01)).propose(History())
    assert api.requests == []                              # stopped before any call
    probe = claude(max_tokens=1000)
    worst, _ = probe.worst_case(probe.model, [{"role": "user",
                                               "content": task_prompt(History(), None)}])
    gen = claude(budget=Budget(usd=worst + 0.01), max_tokens=1000)
    gen.propose(History())              # the worst case of this call fits the budget
    assert gen.budget.spent_usd == pytest.approx(0.01665)
    with pytest.raises(BudgetExhausted):
        gen.propose(History())          # $0.01665 spent + the same worst case > the budget
    assert len(api.requests) == 1
    with pytest.raises(BudgetExhausted):
        claude(budget=Budget(tokens=1000)).propose(History())


def test_previous_failure_message_is_in_the_next_request(api):
    history = History()
    broken = GOOD.replace("zlib.compress(frames.tobytes(), 1)",
                          "(np.zeros((16, 16)) + np.zeros((8, 8))).tobytes()")
    cand = OfflineGenerator().propose(history)
    cand.program = broken
    result = evaluate(broken, "synthetic:?size=64x48&frames=4", qualities=[50], baselines=())
    assert result.failure.kind == "exception"
    history.add(cand, result)
    api.script = [text_reply(f"```python\n{GOOD}```")]
    claude().propose(history)
    text = api.user_texts(0)
    assert "operands could not be broadcast together with shapes (16,16) (8,8)" in text
    assert "failed (exception at line 5" in text          # the failing line is quoted


def test_best_programs_and_parent_code_are_in_the_request(api):
    from codecnb.generators.candidate import Candidate
    from codecnb.generators.family_space import STARTER, render
    history, starter = History(), render(STARTER)     # the family's member closest to it
    res = evaluate(starter, "synthetic:?size=64x48&frames=4", qualities=[20, 50, 80])
    assert res.bd_rate["jpeg"] is not None
    history.add(Candidate(starter, "replay"), res)
    api.script = [text_reply(f"```python\n{GOOD}```")]
    cand = claude(explore=0.0).propose(history)
    text = api.user_texts(0)
    assert "Improve this program" in text
    assert starter.strip().splitlines()[-1] in text and "def encode" in text   # its code
    assert "kbps" in text and "BD-rate: vs jpeg" in text       # the parent's measurements
    assert cand.parents == [history.entries[0].sha256]


def test_the_key_is_never_written_anywhere(api, tmp_path, caplog):
    api.script = [text_reply(f"```python\n{BAD_IMPORT}```"), text_reply(f"```python\n{GOOD}```")]
    with caplog.at_level(logging.DEBUG):
        cand = claude().propose(History())
    history = History()
    history.add(cand, None)
    history.save(tmp_path / "history.json")
    written = (tmp_path / "history.json").read_text() + json.dumps(cand.to_dict())
    assert KEY not in written and KEY not in caplog.text
    assert all(KEY not in json.dumps(r["body"]) for r in api.requests)
    proc = run_cli("propose", "--generator", "anthropic", env={"ANTHROPIC_BASE_URL": api.url,
                                                               "ANTHROPIC_API_KEY": KEY})
    assert KEY not in proc.stdout + proc.stderr


def test_missing_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    proc = run_cli("propose", "--generator", "anthropic", env={"ANTHROPIC_API_KEY": ""})
    assert proc.returncode == 2 and "ANTHROPIC_API_KEY is not set" in proc.stderr


def test_default_generator_depends_on_the_key(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert make_generator(None).name == "offline"
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert make_generator(None).name == "anthropic"


def test_offline_is_deterministic_and_every_program_passes_static_checks():
    a, b = OfflineGenerator(seed=7), OfflineGenerator(seed=7)
    ha, hb = History(), History()
    for _ in range(6):
        ca, cb = a.propose(ha), b.propose(hb)
        assert ca.program == cb.program and static_check(ca.program) is None
        ha.add(ca, None)
        hb.add(cb, None)
    assert len({e.sha256 for e in ha.entries}) == 6


def test_offline_search_learns_on_the_bundled_clip(capsys):
    """12 offline candidates from the starter codec on 4 frames of the bundled clip at
    320x180: the starter is tried first; the sampler then improves on its first own
    sample, and never spends an evaluation on a program it has seen."""
    source = "sample:bigbuckbunny"
    gen, history = OfflineGenerator(seed=0), History()
    for _ in range(12):
        cand = gen.propose(history)
        assert static_check(cand.program) is None
        history.add(cand, evaluate(cand.program, source, frames=4, resize=(320, 180)))
    scores = [e.score for e in history.entries]
    with capsys.disabled():
        print(f"\noffline search: scores vs JPEG {[f'{100 * s:+.1f}' for s in scores if s]}")
    assert history.entries[0].program == builtin_program("starter")
    assert len({e.sha256 for e in history.entries}) == 12
    tried = [s for s in scores[2:] if s is not None]
    assert scores[1] is None or (tried and min(tried) < scores[1])


def test_replay_folder_then_exhausted(tmp_path):
    (tmp_path / "a.py").write_text(GOOD)
    (tmp_path / "b.py").write_text(builtin_program("starter"))
    gen, history = make_generator(f"replay:{tmp_path}"), History()
    got = []
    for _ in range(2):
        cand = gen.propose(history)
        got.append(cand.settings["file"])
        history.add(cand, None)
    assert got == ["a.py", "b.py"]
    with pytest.raises(GeneratorExhausted):
        gen.propose(history)


def test_cli_propose_prints_a_program_that_evaluates(tmp_path):
    proc = run_cli("propose", "--generator", "offline", "--seed", "2")
    assert proc.returncode == 0, proc.stderr
    assert "generator: offline" in proc.stderr
    assert static_check(proc.stdout) is None
    prog = tmp_path / "cand.py"
    prog.write_text(proc.stdout)
    res = run_cli("eval", str(prog), "--source", "synthetic:?size=64x48&frames=4",
                  "--quality", "50", "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["status"] == "ok"
