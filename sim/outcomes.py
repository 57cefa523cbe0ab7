"""Outcomes a sweep can be read by: one spec (``--outcome``) parsed in one place.

A spec names what is measured on each run:

* an outcome class, e.g. ``durable_ceasefire`` (the default), ``fragile_ceasefire``,
  ``stalemate``, ``ongoing`` or ``victory:<faction>``: a yes/no per run, summarised as a
  share with a Wilson 95% interval;
* ``first_ceasefire``: the weeks to the first open-ended ceasefire, where a run without one
  counts the whole horizon (the weeks a run lasts unless a victory ends it), a victory
  included: a run that a victory ended never reached a ceasefire either. The mean is the
  restricted mean time to a first ceasefire within the horizon, with a normal 95% interval;
* ``control:<faction>``: the faction's final share of the sites' value, a mean with a normal
  95% interval.

    >>> o = parse_outcome("victory:lna", ["lna", "gna"])
    >>> o.kind, o.label
    ('share', 'P(victory: lna)')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from sim.results import wilson
from sim.stats import Z95

__all__ = ["DEFAULT_OUTCOME", "Outcome", "OutcomeError", "outcome_specs", "parse_outcome",
           "per_point"]

#: The outcome charts and summaries use unless told otherwise.
DEFAULT_OUTCOME = "durable_ceasefire"
_CLASSES = ("durable_ceasefire", "fragile_ceasefire", "stalemate", "ongoing")
_CLASS_WORDS = {"durable_ceasefire": "durable ceasefire", "fragile_ceasefire": "fragile ceasefire",
                "stalemate": "stalemate", "ongoing": "ongoing war"}


class OutcomeError(ValueError):
    """An outcome spec that names no outcome of this scenario; the message lists the valid
    ones."""


@dataclass(frozen=True)
class Outcome:
    """What is measured on each run (see the module's docstring for the specs).

    kind: ``share`` (yes/no per run, summarised as a proportion), ``time`` (weeks, censored at
    a run's end) or ``level`` (a number per run)."""

    spec: str
    kind: Literal["share", "time", "level"]
    label: str    # for axes and tables, e.g. "P(durable ceasefire)"
    unit: str     # "" for a share, "weeks", or "share of sites' value"
    horizon: int | None = None  # weeks a run lasts (first_ceasefire); None: the longest run

    @property
    def binary(self) -> bool:
        """Whether each run's value is 0 or 1."""
        return self.kind == "share"

    def values(self, runs: pd.DataFrame) -> np.ndarray:
        """The value of each run (float64, in the runs table's order)."""
        if self.kind == "share":
            return (runs["outcome"].astype(str) == self.spec).to_numpy(dtype=float)
        if self.kind == "time":
            first = pd.to_numeric(runs["first_ceasefire_step"], errors="coerce")
            horizon = self.horizon if self.horizon is not None else runs["weeks"].max()
            return first.fillna(float(horizon)).to_numpy(dtype=float)
        faction = self.spec.split(":", 1)[1]
        return runs[f"control_{faction}"].to_numpy(dtype=float)

    def summary(self, values: np.ndarray) -> tuple[float, float, float]:
        """Estimate and 95% interval of the values of a set of runs: a share with Wilson's
        interval, or a mean with a normal one, kept within the values' range (a share of
        value within 0 and 1, weeks at least 0; NaN when there are no runs)."""
        v = np.asarray(values, dtype=float)
        n = len(v)
        if n == 0:
            return (math.nan, math.nan, math.nan)
        if self.binary:
            lo, hi = wilson(int(v.sum()), n)
            return (float(v.mean()), lo, hi)
        m = float(v.mean())
        half = Z95 * float(v.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
        top = 1.0 if self.kind == "level" else math.inf  # a share of value, or weeks
        return (m, max(m - half, 0.0), min(m + half, top))


def outcome_specs(factions: Sequence[str]) -> list[str]:
    """Every spec valid for a scenario whose armed factions are `factions`."""
    return ([*_CLASSES] + [f"victory:{f}" for f in factions] + ["first_ceasefire"]
            + [f"control:{f}" for f in factions])


def parse_outcome(spec: str | None, factions: Sequence[str],
                  horizon: int | None = None) -> Outcome:
    """The outcome `spec` names (None: the default) for a scenario whose armed factions are
    `factions`; an :class:`OutcomeError` listing the valid specs if it names none. `horizon`:
    the weeks a run lasts unless a victory ends it, where ``first_ceasefire`` counts a run
    without one (None: the longest run of the table it reads)."""
    spec = DEFAULT_OUTCOME if spec is None else spec.strip()
    if spec in _CLASSES:
        return Outcome(spec, "share", f"P({_CLASS_WORDS[spec]})", "")
    head, _, faction = spec.partition(":")
    if head == "victory" and faction in factions:
        return Outcome(spec, "share", f"P(victory: {faction})", "")
    if head == "control" and faction in factions:
        return Outcome(spec, "level", f"final control: {faction}", "share of sites' value")
    if spec == "first_ceasefire":
        return Outcome(spec, "time", "weeks to the first ceasefire (none: the horizon)",
                       "weeks", horizon)
    raise OutcomeError(f"--outcome {spec!r}: expected one of {', '.join(outcome_specs(factions))}")


def per_point(runs: pd.DataFrame, outcome: Outcome) -> pd.DataFrame:
    """The outcome at each sweep point: columns point, runs, value, low, high (a 95% interval;
    see :meth:`Outcome.summary`), one row per point in the runs table, in point order."""
    v = outcome.values(runs)
    pts = runs["point"].to_numpy() if "point" in runs else np.zeros(len(runs), dtype=int)
    rows = []
    for p in np.unique(pts):
        sel = v[pts == p]
        est, lo, hi = outcome.summary(sel)
        rows.append({"point": int(p), "runs": len(sel), "value": est, "low": lo, "high": hi})
    return pd.DataFrame(rows, columns=["point", "runs", "value", "low", "high"])
