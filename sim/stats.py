"""Statistics shared by the charts, the report and compare: the Kaplan–Meier estimator with its
95% band, the median's distribution-free interval and Newcombe's intervals for a difference of
two proportions. The Wilson interval of one proportion is :func:`sim.results.wilson`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.results import wilson

__all__ = [
    "Z95",
    "kaplan_meier",
    "km_at",
    "km_median",
    "km_table",
    "median_ci",
    "newcombe_paired",
    "newcombe_unpaired",
]

#: The standard normal quantile of a two-sided 95% interval.
Z95 = 1.959964


# ============================================================================ Kaplan–Meier
def km_table(durations: Sequence[float], observed: Sequence[bool]) -> pd.DataFrame:
    """Kaplan–Meier life table: one row per distinct time (and time 0).

    Columns: time, at_risk, events, censored, survival (just after `time`), low, high (95%,
    Greenwood variance on the log(-log) scale, which keeps the band inside [0, 1]; where the
    survival is 1 or 0 the band is the survival itself). The curve and band are SciPy's
    (``scipy.stats.ecdf`` of right-censored data, ``sf.confidence_interval(method="log-log")``).
    """
    from scipy import stats

    d = np.asarray(durations, dtype=float)
    e = np.asarray(observed, dtype=bool)
    if d.shape != e.shape:
        raise ValueError("durations and observed must have the same length")
    if np.isnan(d).any():
        raise ValueError("durations must not contain NaN")
    times = np.unique(np.concatenate([[0.0], d]))
    at_risk = len(d) - np.searchsorted(np.sort(d), times, side="left")
    row = np.searchsorted(times, d)
    events = np.bincount(row[e], minlength=len(times))
    censored = np.bincount(row[~e], minlength=len(times))
    surv, low, high = np.ones(len(times)), np.ones(len(times)), np.ones(len(times))
    if len(d):
        sf = stats.ecdf(stats.CensoredData.right_censored(d, ~e)).sf
        with warnings.catch_warnings():  # undefined where the survival is 1 or 0: set below
            warnings.simplefilter("ignore", RuntimeWarning)
            band = sf.confidence_interval(math.erf(Z95 / math.sqrt(2)), method="log-log")
        step = np.searchsorted(sf.quantiles, times, side="right") - 1  # SciPy's row at or before
        seen = step >= 0
        surv[seen] = sf.probabilities[step[seen]]
        low[seen] = band.low.probabilities[step[seen]]
        high[seen] = band.high.probabilities[step[seen]]
    inside = (surv > 0) & (surv < 1) & np.isfinite(low) & np.isfinite(high)
    return pd.DataFrame({"time": times, "at_risk": at_risk, "events": events,
                         "censored": censored, "survival": surv,
                         "low": np.where(inside, low, surv), "high": np.where(inside, high, surv)})


def kaplan_meier(durations: Sequence[float], observed: Sequence[bool]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan–Meier survival step function.

    Returns ``(times, survival)``: ``times`` is 0 followed by each distinct time with at least
    one observed event, and ``survival[i]`` is S(t) for ``times[i] <= t < times[i+1]``
    (right-continuous; S(t) = prod over event times u <= t of (1 - d_u / n_u), with n_u the
    number still at risk, duration >= u). Censored durations leave the risk set after their time.
    """
    tab = km_table(durations, observed)
    keep = (tab["time"] == 0) | (tab["events"] > 0)
    tab = tab[keep]
    return tab["time"].to_numpy(), tab["survival"].to_numpy()


def km_at(times: np.ndarray, surv: np.ndarray, at: float) -> float:
    """The Kaplan–Meier step function ``(times, surv)`` evaluated at time `at`."""
    i = int(np.searchsorted(times, at, side="right")) - 1
    return float(surv[max(i, 0)])


def km_median(times: np.ndarray, surv: np.ndarray) -> float | None:
    """First time at which the survival falls to 50% or below (None if it never does)."""
    hit = np.nonzero(np.asarray(surv) <= 0.5)[0]
    return float(times[hit[0]]) if len(hit) else None


# ============================================================================ intervals
def newcombe_paired(both: int, only_a: int, only_b: int, neither: int
                    ) -> tuple[float, float, float]:
    """Difference p_B − p_A of two paired proportions with Newcombe's (1998) hybrid score
    interval (method 10: Wilson intervals of each share, combined with the phi correlation of
    the pairs, whose positive numerator is corrected for continuity by n/2 as in the paper).

    `both`: pairs where A and B have the property; `only_a`, `only_b`: one of them; `neither`.
    Returns (difference, low, high); NaN for no pairs. SciPy has no paired version.
    """
    n = both + only_a + only_b + neither
    if n == 0:
        return (math.nan, math.nan, math.nan)
    pa, pb = (both + only_a) / n, (both + only_b) / n
    la, ua = wilson(both + only_a, n)
    lb, ub = wilson(both + only_b, n)
    den = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    num = both * neither - only_a * only_b
    if num > 0:  # Newcombe's phi*: (ad - bc - n/2) / sqrt(den), and 0 for 0 <= ad - bc <= n/2
        num = max(num - n / 2, 0.0)
    phi = num / math.sqrt(den) if den > 0 else 0.0
    phi = max(-1.0, min(1.0, phi))
    d = pb - pa
    lo = d - math.sqrt(max((pb - lb) ** 2 - 2 * phi * (pb - lb) * (ua - pa) + (ua - pa) ** 2,
                           0.0))
    hi = d + math.sqrt(max((ub - pb) ** 2 - 2 * phi * (ub - pb) * (pa - la) + (pa - la) ** 2,
                           0.0))
    return (d, max(lo, -1.0), min(hi, 1.0))


def newcombe_unpaired(k_a: int, n_a: int, k_b: int, n_b: int) -> tuple[float, float, float]:
    """Difference p_B − p_A of two independent proportions (Newcombe's hybrid score interval)."""
    if n_a == 0 or n_b == 0:
        return (math.nan, math.nan, math.nan)
    pa, pb = k_a / n_a, k_b / n_b
    la, ua = wilson(k_a, n_a)
    lb, ub = wilson(k_b, n_b)
    d = pb - pa
    return (d, max(d - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2), -1.0),
            min(d + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2), 1.0))


def median_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Median and its distribution-free interval (order statistics of the sign test, by
    ``scipy.stats.quantile_test``; at least `level` coverage). The interval is NaN with fewer than
    6 values (at 95%)."""
    from scipy.stats import quantile_test

    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return (math.nan, math.nan, math.nan)
    ci = quantile_test(x, p=0.5).confidence_interval(level)
    return (float(np.median(x)), float(ci.low), float(ci.high))
