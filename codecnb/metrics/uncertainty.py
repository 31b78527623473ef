"""How sure a ranking is: the spread of a suite score over its clips, and paired ties.

A suite score is the mean of per-clip BD-rates, so its uncertainty is that of a mean over
clips: the standard error ``s / sqrt(n)`` of the per-clip values (``s`` the sample standard
deviation, ``n`` clips). Two candidates measured on the same clips are compared *paired*:
the per-clip differences ``d_i = a_i - b_i`` remove what the clips have in common (a hard
clip is hard for both), and the two are told apart only when ``|mean(d)|`` exceeds
``Z`` times its standard error; otherwise they are a tie. One clip gives no estimate of
spread, so nothing is called a tie there (and nothing is called certain either: the
uncertainty is None).

References
----------
.. [1] Student (W. S. Gosset), "The probable error of a mean", Biometrika 6(1), 1-25, 1908.
.. [2] J. Demsar, "Statistical comparisons of classifiers over multiple data sets",
       JMLR 7, 1-30, 2006 (paired comparisons over data sets, here clips).
"""
from __future__ import annotations

import math
from typing import Mapping

#: Differences within ``Z`` standard errors are ties (about 95 % two-sided, normal).
Z = 1.96


def standard_error(values: Mapping[str, float | None]) -> float | None:
    """Standard error of the mean of per-clip values (same unit; None under 2 values).

    Parameters
    ----------
    values : mapping of clip name to float or None
        Per-clip BD-rates (fractions); None entries are left out.
    """
    xs = [float(v) for v in values.values() if v is not None and math.isfinite(v)]
    if len(xs) < 2:
        return None
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)
    return math.sqrt(var / len(xs))


def paired_tie(a: Mapping[str, float | None], b: Mapping[str, float | None]) -> bool:
    """Whether two candidates' per-clip scores are indistinguishable on their common clips.

    Parameters
    ----------
    a, b : mapping of clip name to float or None
        Per-clip BD-rates (fractions) of two candidates.

    Returns
    -------
    bool
        True when they share at least two clips and ``|mean(d)| <= Z * se(d)`` for the
        per-clip differences ``d``; False otherwise (including fewer than two common clips,
        where no spread is known).
    """
    common = [k for k in a if k in b and a[k] is not None and b[k] is not None]
    if len(common) < 2:
        return False
    d = {k: float(a[k]) - float(b[k]) for k in common}
    se = standard_error(d)
    mean = sum(d.values()) / len(d)
    return se is not None and abs(mean) <= Z * se
