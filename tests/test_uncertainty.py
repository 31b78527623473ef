"""Ranking uncertainty: standard error over clips and paired ties (checked against scipy's
paired t statistic)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from codecnb.metrics.uncertainty import Z, paired_tie, standard_error


def test_standard_error_is_scipys_sem():
    values = {"a": -0.1, "b": 0.05, "c": 0.2, "d": None}
    assert standard_error(values) == pytest.approx(stats.sem([-0.1, 0.05, 0.2]), rel=1e-12)
    assert standard_error({"a": 0.3}) is None and standard_error({}) is None


@pytest.mark.parametrize("seed", range(20))
def test_a_tie_is_a_paired_t_statistic_within_z(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 8))
    a = rng.normal(0.4, 0.2, n)
    b = a + rng.normal(rng.normal(0, 0.05), 0.05, n)
    t = stats.ttest_rel(a, b).statistic
    names = [f"c{i}" for i in range(n)]
    tie = paired_tie(dict(zip(names, a)), dict(zip(names, b)))
    assert tie == (not math.isfinite(t) or abs(t) <= Z) or abs(abs(t) - Z) < 1e-9


def test_a_consistent_gain_is_not_a_tie_and_one_clip_says_nothing():
    a = {"x": 0.30, "y": 0.50, "z": 0.10}
    assert not paired_tie(a, {k: v - 0.02 for k, v in a.items()})   # better on every clip
    assert paired_tie(a, {"x": 0.25, "y": 0.56, "z": 0.08})         # mixed: within noise
    assert not paired_tie({"x": 0.3}, {"x": 0.3})                    # no spread known
