"""The statistics of `sim.stats` and `sim.results.wilson` against textbook formulas computed by
hand here and against published worked examples (each example names its source)."""

from __future__ import annotations

import math

import pytest

from sim.results import wilson
from sim.stats import km_table, newcombe_paired, newcombe_unpaired

Z = 1.959964  # the z of the 95% intervals


def test_kaplan_meier_and_its_log_log_band_match_the_textbook_formulas():
    # durations 2, 3, 3+, 5, 6+, 8 (+: censored). At each event time u, with n_u still at risk
    # (duration >= u) and d_u events: S = prod (1 - d_u / n_u); Greenwood's
    # V = sum d_u / (n_u (n_u - d_u)); the log(-log) band is S ** exp(±z sqrt(V) / |log S|).
    tab = km_table([2, 3, 3, 5, 6, 8], [1, 1, 0, 1, 0, 1]).set_index("time")
    assert list(tab.index) == [0, 2, 3, 5, 6, 8]
    assert list(tab["at_risk"]) == [6, 6, 5, 3, 2, 1]
    assert list(tab["events"]) == [0, 1, 1, 1, 0, 1]
    survival = {0: 1.0, 2: 5 / 6, 3: 5 / 6 * 4 / 5, 5: 5 / 6 * 4 / 5 * 2 / 3, 6: 4 / 9, 8: 0.0}
    greenwood = {2: 1 / (6 * 5), 3: 1 / (6 * 5) + 1 / (5 * 4),
                 5: 1 / (6 * 5) + 1 / (5 * 4) + 1 / (3 * 2)}
    greenwood[6] = greenwood[5]  # a censored time changes neither S nor V
    for t, s in survival.items():
        assert tab.loc[t, "survival"] == pytest.approx(s, abs=1e-12)
        if t in greenwood:
            se = math.sqrt(greenwood[t]) / abs(math.log(s))
            assert tab.loc[t, "low"] == pytest.approx(s ** math.exp(Z * se), abs=1e-12)
            assert tab.loc[t, "high"] == pytest.approx(s ** math.exp(-Z * se), abs=1e-12)
        else:  # S = 1 before the first event, 0 after the last: the band is S itself
            assert tab.loc[t, "low"] == tab.loc[t, "high"] == s


def test_kaplan_meier_of_no_runs_and_of_censored_runs_only():
    empty = km_table([], [])
    assert empty.to_dict("list") == {"time": [0.0], "at_risk": [0], "events": [0],
                                     "censored": [0], "survival": [1.0], "low": [1.0],
                                     "high": [1.0]}
    flat = km_table([4, 4, 7], [False, False, False])
    assert list(flat["survival"]) == list(flat["low"]) == list(flat["high"]) == [1.0] * 3
    assert list(flat["censored"]) == [0, 2, 1]


def test_wilson_matches_the_textbook_formula_and_newcombe_1998():
    # p = k/n; centre (p + z²/2n) / (1 + z²/n); half-width z sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)
    for k, n in [(0, 10), (1, 10), (3, 10), (10, 10), (7, 20), (81, 263), (15, 148)]:
        p = k / n
        mid = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
        half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
        assert wilson(k, n) == pytest.approx((max(0.0, mid - half), min(1.0, mid + half)),
                                             abs=1e-12)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    assert all(math.isnan(v) for v in wilson(0, 0))
    # Newcombe RG (1998), "Two-sided confidence intervals for the single proportion: comparison
    # of seven methods", Stat Med 17:857-872, method 3 (score), as checked by the R package
    # propint (github.com/m-Py/propint, tests/testthat/test_Single_Proportion_CI.R):
    # 81/263 -> 0.2553 to 0.3662 and 15/148 -> 0.0624 to 0.1605.
    assert [round(v, 4) for v in wilson(81, 263)] == [0.2553, 0.3662]
    assert [round(v, 4) for v in wilson(15, 148)] == [0.0624, 0.1605]
    # another z: its own level (z = 1 is a 68.27% interval)
    lo, hi = wilson(3, 10, z=1.0)
    mid, half = (0.3 + 1 / 20) / 1.1, math.sqrt(0.021 + 1 / 400) / 1.1
    assert (lo, hi) == pytest.approx((mid - half, mid + half), abs=1e-12)


def test_newcombe_paired_matches_newcombe_1998_method_10():
    """Newcombe RG (1998), "Improved confidence intervals for the difference between binomial
    proportions based on paired data", Stat Med 17:2635-2650, method 10 on the paper's examples,
    as checked by the R package propint (github.com/m-Py/propint,
    tests/testthat/test_Two_Dependent_Props_CI.R, "the results reported in Newcombe1998").
    Cells: e both, f the first only, g the second only, h neither; difference (f - g) / n.

    And Fagerland, Lydersen & Laake (2017), Statistical Analysis of Contingency Tables, chapter
    8: the Cavo et al. (2012) table [[59, 6], [16, 80]], Newcombe's square-and-add interval
    -0.0621 (-0.1186 to -0.0046), as checked by the R package contingencytables
    (github.com/ocbe-uio/contingencytables, tests/testthat/test-ch8.R).
    """
    table_ii = {(36, 12, 2, 0): (0.0569, 0.3404), (18, 12, 2, 18): (0.0562, 0.3290),
                (53, 0, 0, 1): (-0.0729, 0.0729), (0, 30, 0, 0): (0.8395, 1.0)}
    for (e, f, g, h), interval in table_ii.items():
        # ours is p_B - p_A, so B is the first proportion (e + f) and A the second (e + g)
        d, lo, hi = newcombe_paired(both=e, only_a=g, only_b=f, neither=h)
        assert d == pytest.approx((f - g) / (e + f + g + h))
        assert (round(lo, 4), round(hi, 4)) == interval
    d, lo, hi = newcombe_paired(both=59, only_a=16, only_b=6, neither=80)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (-0.0621, -0.1186, -0.0046)


def test_newcombe_unpaired_matches_newcombe_1998_method_10():
    """Newcombe RG (1998), "Interval estimation for the difference between independent
    proportions: comparison of eleven methods", Stat Med 17:873-890, method 10 on the paper's
    examples 56/70 - 48/80 and 9/10 - 3/10, as checked by the R package propint
    (github.com/m-Py/propint, tests/testthat/test_Two_Independent_Props_CI.R)."""
    # ours is p_B - p_A: B is the first sample
    d, lo, hi = newcombe_unpaired(48, 80, 56, 70)
    assert (d, round(lo, 4), round(hi, 4)) == (pytest.approx(0.2), 0.0524, 0.3339)
    d, lo, hi = newcombe_unpaired(3, 10, 9, 10)
    assert (d, round(lo, 4), round(hi, 4)) == (pytest.approx(0.6), 0.1705, 0.8090)
