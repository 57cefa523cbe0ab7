"""Summaries of a set of runs: outcome shares with intervals, ceasefire timing, proposers."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from sim.folder import ResultsError

__all__ = [
    "KM_MEDIAN_LABEL",
    "MEDIAN_AMONG_LABEL",
    "OUTCOMES",
    "ResultsError",
    "ceasefire_timing",
    "outcome_shares",
    "succeeded_by",
    "wilson",
]

OUTCOMES = ("durable_ceasefire", "fragile_ceasefire", "stalemate", "ongoing")

#: The two medians of the first open-ended ceasefire are different figures: the first is the
#: median date among the runs that had one (later runs without one do not pull it later), the
#: second the Kaplan–Meier median over all runs (a run without one counts as censored at its
#: last week), later when many runs have none, and absent when fewer than half are estimated
#: to reach one. Their labels say which is which wherever they are shown.
MEDIAN_AMONG_LABEL = "median date of the first ceasefire, among the {n} runs that had one"
KM_MEDIAN_LABEL = ("Kaplan–Meier median time to the first ceasefire (all runs; runs without "
                   "one censored)")


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval for a proportion k/n (SciPy's; memoised, since SciPy computes
    a test's p-value with each interval, about a millisecond, while summaries ask for the same
    k of the same n again and again: at most n + 1 distinct intervals per number of runs)."""
    if n == 0:
        return (math.nan, math.nan)
    return _wilson(int(k), int(n), float(z))


@functools.lru_cache(maxsize=1 << 16)
def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    from scipy.stats import binomtest  # here, so that importing this module stays light

    # z is the two-sided normal quantile: its confidence level is P(|Z| <= z) = erf(z / sqrt 2)
    ci = binomtest(k, n).proportion_ci(confidence_level=math.erf(z / math.sqrt(2)),
                                       method="wilson")
    return (max(0.0, float(ci.low)), min(1.0, float(ci.high)))


def outcome_classes(runs: pd.DataFrame, factions: list[str] | None = None) -> list[str]:
    """All outcome classes in a canonical order: victories first, then the rest."""
    seen = set(runs["outcome"].astype(str)) if len(runs) else set()
    vic = sorted({o for o in seen if o.startswith("victory:")}
                 | {f"victory:{f}" for f in (factions or [])})
    return vic + list(OUTCOMES)


def outcome_shares(runs: pd.DataFrame, factions: list[str] | None = None,
                   by: str | None = None) -> pd.DataFrame:
    """Share of runs in each outcome class with Wilson 95% intervals (optionally per `by`)."""
    classes = outcome_classes(runs, factions)
    groups = [(None, runs)] if by is None else list(runs.groupby(by, sort=True))
    rows = []
    for key, g in groups:
        n = len(g)
        counts = g["outcome"].astype(str).value_counts()
        for c in classes:
            k = int(counts.get(c, 0))
            lo, hi = wilson(k, n)
            row = {"outcome": c, "runs": k, "share": k / n if n else math.nan,
                   "low": lo, "high": hi}
            if by is not None:
                row = {by: key, **row}
            rows.append(row)
    return pd.DataFrame(rows)


def ceasefire_timing(runs: pd.DataFrame) -> dict[str, Any]:
    """Share of runs with an open-ended ceasefire and, among the runs with one, the median and
    quartiles of the date of the first (``median``, ``q25``, ``q75``; ``median_step`` its
    week). This is not the Kaplan–Meier median over all runs (:data:`KM_MEDIAN_LABEL`;
    :func:`sim.plots.survival_dataset`); label it with :data:`MEDIAN_AMONG_LABEL`."""
    n = len(runs)
    have = runs["first_ceasefire_date"].dropna()
    out: dict[str, Any] = {"runs": n, "with_ceasefire": len(have),
                           "share": len(have) / n if n else math.nan}
    if len(have):
        ns = have.astype("datetime64[ns]").astype("int64").to_numpy()
        q = np.quantile(ns, [0.25, 0.5, 0.75], method="nearest")
        out.update({k: pd.Timestamp(int(v)).date() for k, v in
                    zip(("q25", "median", "q75"), q, strict=True)})
        steps = runs["first_ceasefire_step"].dropna().astype(float)
        out["median_step"] = float(np.median(steps))
    return out


def succeeded_by(runs: pd.DataFrame) -> pd.DataFrame:
    """Who proposed the first open-ended ceasefire that came into force, over runs."""
    col = runs["ceasefire_proposer"].dropna().astype(str)
    kind = runs.loc[col.index, "ceasefire_proposer_kind"].astype(str)
    if not len(col):
        return pd.DataFrame(columns=["proposer", "kind", "runs", "share"])
    df = pd.DataFrame({"proposer": col, "kind": kind}).value_counts().reset_index(name="runs")
    df["share"] = df["runs"] / len(runs)
    return df.sort_values(["runs", "proposer"], ascending=[False, True], ignore_index=True)
