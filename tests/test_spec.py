"""The evaluation spec: built once from flags over environment over defaults, serialised
whole, applied in the worker."""
from __future__ import annotations

import pytest

from codecnb import config
from codecnb.errors import ConfigError
from codecnb.spec import RUN_FRAMES, EvaluationSpec, build_spec


def test_flags_over_environment_over_defaults(monkeypatch, tmp_path):
    spec = build_spec()
    assert (spec.clip.uri, spec.clip.frames, spec.qualities) == \
        ("sample:bigbuckbunny", RUN_FRAMES, (25, 50, 75, 90))
    monkeypatch.setenv("CODECNB_FRAMES", "3")
    monkeypatch.setenv("CODECNB_QUALITIES", "70,20")
    monkeypatch.setenv("CODECNB_S3_ENDPOINT_URL", "http://env:9000")
    spec = build_spec()
    assert spec.clip.frames == 3 and spec.qualities == (20, 70)
    assert spec.cache.s3_endpoint_url == "http://env:9000"
    spec = build_spec(frames=5, qualities=(40,), s3_endpoint_url="http://flag:9000",
                      cache_dir=str(tmp_path / "c"))
    assert spec.clip.frames == 5 and spec.qualities == (40,)
    assert spec.cache.s3_endpoint_url == "http://flag:9000"
    assert spec.cache.cache_dir == str(tmp_path / "c")
    monkeypatch.setenv("CODECNB_MEMORY_GB", "lots")
    with pytest.raises(ConfigError, match="CODECNB_MEMORY_GB"):
        build_spec()


def test_serialised_whole_and_applied_in_the_worker(tmp_path):
    spec = build_spec(source="synthetic:pan?size=64x48&frames=4", start=1, frames=2,
                      resize=(32, 24), cache_dir=str(tmp_path), cache_strict=True)
    again = EvaluationSpec.from_json(spec.to_json())
    assert again == spec and again.to_json() == spec.to_json()
    saved = config.overrides()
    try:
        config.replace_overrides({"s3_endpoint_url": "http://earlier-spec"})
        again.apply()
        assert config.resolve("cache_dir") == str(tmp_path)
        assert config.resolve("cache_strict") is True
        assert config.resolve("s3_endpoint_url") is None     # nothing of an earlier spec
        with pytest.raises(ConfigError, match="evaluator version"):
            again.with_changes(evaluator_version="0").apply()
    finally:
        config.replace_overrides(saved)


def test_group_ignores_limits_and_cache_but_not_the_window():
    a = build_spec(source="synthetic:pan", frames=2)
    assert a.group() == build_spec(source="synthetic:pan", frames=2, memory_gb=1.0,
                                   cache_dir="/x").group()
    assert a.group() != build_spec(source="synthetic:pan", frames=3).group()
    assert a.group() != a.with_changes(evaluator_version="0").group()
