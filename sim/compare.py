"""Compare two results folders: a counterfactual run with the same seeds (e.g. with and without a
backer). Runs are paired by ``run`` when their seeds match (common random numbers), so the
differences are paired differences; when they do not match, the two sets are treated as
independent samples and the report says so.

Differences are always B − A (the second folder minus the first).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim import plots as P
from sim.results import outcome_classes
from sim.stats import median_ci, newcombe_paired, newcombe_unpaired

__all__ = [
    "Comparison",
    "compare_results",
    "median_ci",
    "newcombe_paired",
    "newcombe_unpaired",
    "plot_compare_survival",
]


# ============================================================================ comparison
@dataclass
class Comparison:
    """Paired (or, with different seeds, unpaired) differences B − A."""

    a_label: str
    b_label: str
    paired: bool
    pairs: int
    n_a: int
    n_b: int
    note: str
    outcomes: pd.DataFrame  # outcome, label, a_runs, b_runs, a_share, b_share, diff, low, high
    timing: dict[str, Any] = field(default_factory=dict)


def _label(t: P.Tables, folder: Path | None) -> str:
    m = t.manifest
    name = folder.name if folder is not None else (m.get("scenario_name") or "results")
    ov = m.get("overrides") or []
    return f"{name}" + (f" ({', '.join(ov)})" if ov else "")


_ACTORS = ("factions", "backers", "mediators", "sites")


def scenario_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """What makes two manifests' scenarios different scenarios rather than variants of one
    (variants differ in values only, as --set makes them): the name, or the factions,
    backers, mediators or sites. Empty when either manifest has no scenario."""
    sa, sb = a.get("scenario"), b.get("scenario")
    if not isinstance(sa, Mapping) or not isinstance(sb, Mapping):
        return []
    out = []
    na, nb = (s.get("model", {}).get("name") for s in (sa, sb))
    if na != nb:
        out.append(f"the scenario: A is {na!r} ({a.get('scenario_file', '?')}), B is {nb!r} "
                   f"({b.get('scenario_file', '?')})")
    for part in _ACTORS:
        ka, kb = set(sa.get(part) or {}), set(sb.get(part) or {})
        if ka != kb:
            only_a, only_b = sorted(ka - kb), sorted(kb - ka)
            out.append(f"the {part}: " + "; ".join(
                x for x in (f"only A has {', '.join(only_a)}" if only_a else "",
                            f"only B has {', '.join(only_b)}" if only_b else "") if x))
    return out


def compare_results(a: Any, b: Any) -> Comparison:
    """Compare two run folders (Results, Tables or folders' tables): outcome shares and the
    first open-ended ceasefire, B − A, paired by run when the seeds match."""
    ta, tb = P.as_tables(a), P.as_tables(b)
    diffs = scenario_differences(ta.manifest, tb.manifest)
    if diffs:
        raise P.ResultsError("A and B are runs of different scenarios, not variants of one: "
                             + "; ".join(diffs) + ". Compare two folders of the same scenario "
                             "file (with different --set values).")
    ra, rb = ta.runs, tb.runs
    for t, r in ((ta, ra), (tb, rb)):
        if "point" in r.columns:
            raise P.ResultsError(f"{t.folder or 'results'}: a sweep; compare takes two run "
                                 "folders")
    la, lb = _label(ta, ta.folder), _label(tb, tb.folder)
    merged = ra[["run", "seed", "outcome", "first_ceasefire_step"]].merge(
        rb[["run", "seed", "outcome", "first_ceasefire_step"]], on="run", suffixes=("_a", "_b"))
    same_seed = (merged["seed_a"].astype("uint64") == merged["seed_b"].astype("uint64"))
    paired = len(merged) > 0 and bool(same_seed.all())
    if paired:
        note = f"Paired by run: all {len(merged)} runs in both folders have the same seeds."
        if len(merged) < max(len(ra), len(rb)):
            note += (f" (A has {len(ra)} runs, B {len(rb)}: only the {len(merged)} runs in both "
                     "are compared.)")
    elif len(merged):
        k = int((~same_seed).sum())
        note = (f"NOT paired: {k} of {len(merged)} runs have different seeds in A and B "
                f"(seed {ta.manifest.get('seed', '?')} vs {tb.manifest.get('seed', '?')}), so "
                "the folders are compared as independent samples (wider intervals).")
    else:
        note = "NOT paired: no run numbers in common; compared as independent samples."
    factions = list(dict.fromkeys(ta.info.armed + tb.info.armed))
    classes = list(dict.fromkeys(outcome_classes(ra, factions) + outcome_classes(rb, factions)))
    rows = []
    for c in classes:
        if paired:
            xa = (merged["outcome_a"].astype(str) == c).to_numpy()
            xb = (merged["outcome_b"].astype(str) == c).to_numpy()
            d, lo, hi = newcombe_paired(int((xa & xb).sum()), int((xa & ~xb).sum()),
                                        int((~xa & xb).sum()), int((~xa & ~xb).sum()))
            ka, kb, na, nb = int(xa.sum()), int(xb.sum()), len(merged), len(merged)
        else:
            ka = int((ra["outcome"].astype(str) == c).sum())
            kb = int((rb["outcome"].astype(str) == c).sum())
            na, nb = len(ra), len(rb)
            d, lo, hi = newcombe_unpaired(ka, na, kb, nb)
        rows.append({"outcome": c, "label": P.outcome_label(c, tb.info), "a_runs": ka,
                     "b_runs": kb, "a_share": ka / na if na else math.nan,
                     "b_share": kb / nb if nb else math.nan, "diff": d, "low": lo, "high": hi})
    outcomes = pd.DataFrame(rows)
    timing = _timing(merged, ra, rb, paired)
    return Comparison(la, lb, paired, len(merged) if paired else 0, len(ra), len(rb), note,
                      outcomes, timing)


def _timing(merged: pd.DataFrame, ra: pd.DataFrame, rb: pd.DataFrame, paired: bool
            ) -> dict[str, Any]:
    fa = P.nullable_float(merged["first_ceasefire_step_a"]) if paired else \
        P.nullable_float(ra["first_ceasefire_step"])
    fb = P.nullable_float(merged["first_ceasefire_step_b"]) if paired else \
        P.nullable_float(rb["first_ceasefire_step"])
    ha, hb = ~np.isnan(fa), ~np.isnan(fb)
    out: dict[str, Any] = {"a_with": int(ha.sum()), "b_with": int(hb.sum()),
                           "a_share": ha.mean() if len(ha) else math.nan,
                           "b_share": hb.mean() if len(hb) else math.nan}
    if paired:
        d, lo, hi = newcombe_paired(int((ha & hb).sum()), int((ha & ~hb).sum()),
                                    int((~ha & hb).sum()), int((~ha & ~hb).sum()))
        both = ha & hb
        diffs = fb[both] - fa[both]
        med, mlo, mhi = median_ci(diffs)
        out.update({"share_diff": d, "share_low": lo, "share_high": hi,
                    "both": int(both.sum()), "median_diff": med, "median_low": mlo,
                    "median_high": mhi, "earlier_in_b": int((diffs < 0).sum()),
                    "later_in_b": int((diffs > 0).sum()), "same": int((diffs == 0).sum())})
    else:
        d, lo, hi = newcombe_unpaired(int(ha.sum()), len(ha), int(hb.sum()), len(hb))
        out.update({"share_diff": d, "share_low": lo, "share_high": hi, "both": 0})
        if ha.any() and hb.any():
            out["median_a"] = float(np.median(fa[ha]))
            out["median_b"] = float(np.median(fb[hb]))
            out["median_diff"] = out["median_b"] - out["median_a"]
    return out


# ============================================================================ chart
def plot_compare_survival(a: Any, b: Any, *, labels: Sequence[str] | None = None,
                          ax: Axes | None = None) -> Figure:
    """Kaplan–Meier curves of the time to the first open-ended ceasefire of A and B overlaid
    (calendar dates when both start on the same date, else weeks since the start)."""
    ta, tb = P.as_tables(a), P.as_tables(b)
    la, lb = labels or (_label(ta, ta.folder), _label(tb, tb.folder))
    fig, own = (ax.figure, False) if ax is not None else (None, True)
    if own:
        fig = Figure(figsize=(10, 5.4), layout="constrained")
        ax = fig.subplots()
    same_start = ta.info.start == tb.info.start
    info = tb.info
    colours = ("#7f7f7f", "#1a9850")
    end = max(ta.info.weeks, tb.info.weeks)
    for t, label, colour in ((ta, f"A: {la}", colours[0]), (tb, f"B: {lb}", colours[1])):
        sd = P.survival_dataset(t)
        tab = sd.table
        tt = np.append(tab["time"], float(tab["time"].max()))  # stops at the last observation
        x = info.dates(tt) if same_start else tt
        s = np.append(tab["survival"], tab["survival"].iloc[-1])
        lo = np.append(tab["low"], tab["low"].iloc[-1])
        hi = np.append(tab["high"], tab["high"].iloc[-1])
        ax.fill_between(x, lo, hi, step="post", color=colour, alpha=0.15, lw=0)
        ax.step(x, s, where="post", color=colour, lw=2.2, gid="km-curve",
                label=textwrap.fill(f"{label}: {int(sd.observed.sum())} of {sd.n} runs "
                                    "reached one", 32))
    if same_start:
        common = [e for e in ta.info.events if e in tb.info.events]
        marks = P.event_marks(P.ScenarioInfo(start=info.start, weeks=end, events=tuple(common)))
        ax.set_xlim(np.datetime64(info.start.date()),
                    np.datetime64((info.start + pd.Timedelta(weeks=end)).date()))
        P.date_axis(ax, P.ScenarioInfo(start=info.start, weeks=end))
        P.mark_events(ax, marks)
        ax.set_xlabel("Date")
    else:
        marks = []
        ax.set_xlim(0, end)
        ax.set_xlabel("Weeks since the start")
    ax.set_ylim(0, 1.04)
    P.percent_axis(ax.yaxis)
    ax.set_ylabel("Runs without an open-ended ceasefire yet")
    ax.grid(alpha=0.25)
    if own:
        fig.legend(loc="outside right upper", fontsize=8.5, frameon=False)
    else:
        ax.legend(loc="best", fontsize=8.5, framealpha=0.9)
    if own:
        fig.suptitle("Time to the first open-ended ceasefire: A and B", x=0.01, ha="left",
                     fontsize=13, fontweight="bold")
        ax.set_title("Kaplan–Meier curves (runs without one censored at their last week); "
                     "bands: 95% intervals", loc="left", fontsize=9)
        P.caption(fig, [P.event_key(marks)], own)
    return fig


def default_chart_path(folder_a: Path, folder_b: Path) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(folder_a).resolve().name) or "a"
    return Path(folder_b) / "charts" / f"compare-{name}.png"
