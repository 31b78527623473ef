"""RD-curve rules, the overlap rule and the BD-rate a candidate cannot bend by placing its
points (codecnb.metrics.rdcheck); outside reference: the ``bjontegaard`` package."""
import math

import pytest
from hypothesis import given, settings, strategies as st

from codecnb.errors import CandidateFailed
from codecnb.metrics.bdrate import bd_rate
from codecnb.metrics.rdcheck import check_curve, curve_problem, robust_bd_rate

# JCTVC-E137 vectors (Netflix bd_rate_calculator_test.py), (kbps, PSNR dB).
ANCHOR = [(108048.8736, 43.6471), (61279.976, 40.3953), (33905.6656, 37.247),
          (18883.6928, 34.2911)]
TEST = [(108061.2784, 43.6768), (61299.9936, 40.4232), (33928.7472, 37.2761),
        (18910.7456, 34.3147)]
# The issue-20 shape of an honest starter-like curve (q25, q50, q75, q90) against an x264-like
# anchor on a small clip.
HONEST = [(25, 300.0, 30.0), (50, 520.0, 33.2), (75, 900.0, 36.1), (90, 1700.0, 39.0)]
X264 = [(200.0, 29.0), (400.0, 32.5), (800.0, 35.8), (1600.0, 38.9), (3200.0, 41.5)]


def knobless(points):
    return [(r, p) for _, r, p in points]


def test_honest_curves_pass():
    assert curve_problem(HONEST) is None
    check_curve([(i, r, p) for i, (r, p) in enumerate(sorted(ANCHOR))])


def test_the_issue_attack_is_an_rd_curve_failure_naming_the_points():
    q50, q75 = HONEST[1], HONEST[2]
    attack = [HONEST[0], q50, (60, 4 * q50[1], q50[2] - 0.01), q75,
              (80, 6 * q75[1], q75[2] + 0.01)]
    with pytest.raises(CandidateFailed) as exc:
        check_curve(attack)
    f = exc.value.failure
    assert f.kind == "rd-curve" and "q60" in f.message and "dominated by q50" in f.message


@pytest.mark.parametrize("points,words", [
    ([(1, 100, 30), (2, 90, 31)], "dominated"),
    ([(1, 100, 30), (2, 200, 30)], "dominated"),
    ([(1, 100, 30), (2, 200, 30.01)], "too close"),
    ([(1, 100, 30), (2, 100.5, 31)], "too close"),
    ([(1, 100, 30), (2, float("nan"), 31)], "finite"),
])
def test_broken_curves_say_why(points, words):
    assert words in curve_problem(points)


def test_small_overlap_gives_none():
    test = [(150.0, 28.0), (210.0, 29.3)]  # 0.3 dB of overlap with X264 (29.0..)
    assert robust_bd_rate(X264, test) is None
    assert robust_bd_rate(X264, knobless(HONEST)) is not None


def test_robust_equals_pchip_when_pchip_is_the_conservative_one_or_never_better():
    assert robust_bd_rate(ANCHOR, TEST) >= bd_rate(ANCHOR, TEST) - 1e-12


def test_pchip_matches_the_bjontegaard_package_on_jctvc_vectors():
    bj = pytest.importorskip("bjontegaard")
    ra, da = zip(*ANCHOR)
    rt, dt = zip(*TEST)
    ours = bd_rate(ANCHOR, TEST)
    theirs = bj.bd_rate(ra, da, rt, dt, method="pchip", require_matching_points=False,
                           min_overlap=0) / 100
    assert ours == pytest.approx(theirs, abs=1e-9)


@st.composite
def monotone_curve(draw):
    n = draw(st.integers(2, 6))
    steps = draw(st.lists(st.floats(0.3, 4.0), min_size=n, max_size=n))
    rates = draw(st.lists(st.floats(0.1, 1.0), min_size=n, max_size=n))
    q, lr, pts = 25.0, math.log(100.0), []
    for s, r in zip(steps, rates):
        q += s
        lr += r
        pts.append((math.exp(lr), q))
    return pts


@settings(max_examples=100, deadline=None)
@given(monotone_curve(), monotone_curve())
def test_pchip_matches_the_bjontegaard_package_on_random_monotone_curves(a, t):
    bj = pytest.importorskip("bjontegaard")
    lo, hi = max(a[0][1], t[0][1]), min(a[-1][1], t[-1][1])
    if hi - lo < 0.1:
        return
    ra, da = zip(*a)
    rt, dt = zip(*t)
    theirs = bj.bd_rate(ra, da, rt, dt, method="pchip", require_matching_points=False,
                           min_overlap=0) / 100
    assert bd_rate(a, t) == pytest.approx(theirs, abs=1e-9)


@st.composite
def attack(draw):
    """Points a hostile program adds to an honest curve: duplicates with damage (less PSNR),
    padding (more rate), nudges of a hair, mixtures; each from a real honest point."""
    honest = knobless(HONEST)
    extra = []
    for _ in range(draw(st.integers(1, 4))):
        r, p = honest[draw(st.integers(0, len(honest) - 1))]
        pad = draw(st.floats(1.0, 8.0))
        dq = draw(st.floats(-3.0, 0.05))
        extra.append((r * pad, p + dq))
    return honest + extra


@settings(max_examples=200, deadline=None)
@given(attack())
def test_no_shaping_improves_bd_rate_by_more_than_half_a_point(points):
    honest = robust_bd_rate(X264, knobless(HONEST))
    knobbed = [(i, r, p) for i, (r, p) in enumerate(sorted(points))]
    if curve_problem(knobbed) is not None:
        return  # rejected as rd-curve: it is not scored at all
    ps = [p for _, p in points]
    if len(set(ps)) != len(ps):
        return
    shaped = robust_bd_rate(X264, points)
    assert shaped is None or shaped >= honest - 0.005


def test_lossless_points_and_a_single_operating_point_break_no_rule():
    from codecnb.metrics.rdcheck import curve_problem
    inf = float("inf")
    assert curve_problem([(25, 100, inf), (50, 100, inf), (90, 100, inf)]) is None
    assert curve_problem([(25, 100, 30.0), (50, 100, 30.0)]) is None
    assert curve_problem([(25, 100, 30.0), (50, 200, 35.0), (90, 400, inf)]) is None
    assert "dominated" in curve_problem([(25, 100, 30.0), (50, 100, 35.0)])
    assert "finite" in curve_problem([(25, 100, float("nan")), (50, 200, 35.0)])
