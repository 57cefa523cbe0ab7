"""Charts of the runs of a results folder: outcomes, time to the first ceasefire, fans of
control and strength, backers' support, diplomacy, the site map and the life of ceasefires.

For a sweep, draw them for one point (``Tables.at_point(n)``); given a whole sweep's tables they
pool its points and say so in the caption, and the command line does not draw them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Wedge
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from sim.plots.data import (
    ScenarioInfo,
    as_tables,
    event_marks,
    nullable_float,
    outcome_colour,
    outcome_label,
    run_key,
)
from sim.plots.style import (
    EVENT_INK,
    INK,
    OUTCOME_COLOURS,
    axes_list,
    caption,
    date_axis,
    declutter,
    event_key,
    figure_of,
    mark_events,
    new_figure,
    pct,
    percent_axis,
    shade,
    titles,
    whiskers,
)
from sim.results import ResultsError, outcome_shares, succeeded_by, wilson
from sim.stats import kaplan_meier, km_median, km_table
from sim.text import count

__all__ = [
    "CAUSE_LABELS",
    "QUANTILES",
    "CeasefireLife",
    "DiplomacyData",
    "SurvivalData",
    "ceasefire_life_dataset",
    "diplomacy_dataset",
    "ended_early",
    "fan_dataset",
    "final_controllers",
    "outcomes_dataset",
    "plot_ceasefire_life",
    "plot_diplomacy",
    "plot_fan",
    "plot_fans",
    "plot_outcomes",
    "plot_site_map",
    "plot_support",
    "plot_survival",
    "site_control_dataset",
    "site_layout",
    "support_blocs",
    "support_dataset",
    "survival_dataset",
]


# ============================================================================ 1. outcomes
def outcomes_dataset(data: Any, *, scenario: Any = None) -> pd.DataFrame:
    """Outcome shares with Wilson 95% intervals (``sim.results.outcome_shares``), plus the label
    and colour each bar gets."""
    t = as_tables(data, scenario=scenario)
    df = outcome_shares(t.runs, t.info.armed)
    df["label"] = [outcome_label(o, t.info) for o in df["outcome"]]
    df["colour"] = [outcome_colour(o, t.info) for o in df["outcome"]]
    return df


def plot_outcomes(data: Any, *, scenario: Any = None, ax: Axes | None = None) -> Figure:
    """Horizontal bars: the share of runs ending in each outcome, with 95% Wilson intervals."""
    t = as_tables(data, scenario=scenario)
    df = outcomes_dataset(t)
    n = len(t.runs)
    fig, own = figure_of(ax)
    if own:
        fig = new_figure(9, 0.55 * len(df) + 2.2)
        ax = fig.subplots()
    y = np.arange(len(df))
    ax.barh(y, df["share"], color=df["colour"], edgecolor="white", height=0.7, gid="outcome-bar")
    ax.errorbar(df["share"], y, xerr=whiskers(df["share"], df["low"], df["high"]), fmt="none",
                ecolor=INK, capsize=3, lw=1)
    for yi, r in zip(y, df.itertuples(), strict=True):
        ax.text(r.high + 0.01 if not math.isnan(r.high) else 0.01, yi,
                f"{pct(r.share)}  [{pct(r.low)}–{pct(r.high)}]  · {count(r.runs, 'run')}",
                va="center", fontsize=8.5, color=INK)
    ax.set_yticks(y, df["label"])
    ax.invert_yaxis()
    top = float(np.nanmax(df["high"])) if len(df) and n else 1.0
    ax.set_xlim(0, min(1.0, top + 0.3) if top < 0.7 else 1.32)
    percent_axis(ax.xaxis)
    ax.set_xlabel("Share of runs")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    titles(fig, ax, f"{t.info.name}: how {n} runs ended",
            "Bars: share of runs; whiskers and brackets: 95% Wilson interval", own)
    if t.kind == "sweep":
        caption(fig, [f"All {t.n_points} sweep points pooled."], own)
    return fig


# ============================================================================ 2. survival
@dataclass
class SurvivalData:
    """Time to the first open-ended ceasefire, per run and as a Kaplan–Meier curve."""

    durations: np.ndarray   # week of the first ceasefire, or the run's last week if none
    observed: np.ndarray    # True where the run had one
    censored_by_victory: int
    table: pd.DataFrame     # km_table
    times: np.ndarray       # kaplan_meier step function
    survival: np.ndarray
    median: float | None    # KM median (weeks) or None
    empirical: pd.DataFrame  # step, share of all runs without one yet (victories stay in)

    @property
    def n(self) -> int:
        return len(self.durations)


def survival_dataset(data: Any, *, scenario: Any = None) -> SurvivalData:
    """Per run, the week of the first open-ended ceasefire; runs without one are censored at
    their last week (a run ended by victory is censored when it ended)."""
    t = as_tables(data, scenario=scenario)
    runs = t.runs
    first = nullable_float(runs["first_ceasefire_step"]) if len(runs) else np.array([])
    weeks = runs["weeks"].to_numpy(dtype=float) if len(runs) else np.array([])
    observed = ~np.isnan(first)
    durations = np.where(observed, first, weeks)
    victory = runs["outcome"].astype(str).str.startswith("victory:").to_numpy() if len(runs) \
        else np.array([], bool)
    tab = km_table(durations, observed)
    times, surv = kaplan_meier(durations, observed)
    horizon = int(max(t.info.weeks, np.nanmax(weeks) if len(weeks) else 0))
    grid = np.arange(horizon + 1)
    n = max(len(runs), 1)
    have = np.sort(first[observed])
    share = 1.0 - np.searchsorted(have, grid, side="right") / n
    return SurvivalData(durations, observed, int((victory & ~observed).sum()), tab, times, surv,
                        km_median(times, surv), pd.DataFrame({"step": grid, "share": share}))


def plot_survival(data: Any, *, scenario: Any = None, ax: Axes | None = None) -> Figure:
    """Kaplan–Meier curve of the time to the first open-ended ceasefire, on calendar dates.

    Runs without one are censored at their last week (ticks on the curve); a military victory
    ends a run, so the KM curve estimates how fast ceasefires come *if the war goes on*. The
    dashed line is the plain share of all runs still without one (victories stay in it).
    """
    t = as_tables(data, scenario=scenario)
    info = t.info
    sd = survival_dataset(t)
    fig, own = figure_of(ax)
    if own:
        fig = new_figure(10, 5.6)
        ax = fig.subplots()
    tab = sd.table
    end = float(tab["time"].max())  # the curve stops where the last run leaves the risk set
    x = info.dates(np.append(tab["time"], end))
    s = np.append(tab["survival"], tab["survival"].iloc[-1])
    lo = np.append(tab["low"], tab["low"].iloc[-1])
    hi = np.append(tab["high"], tab["high"].iloc[-1])
    colour = OUTCOME_COLOURS["durable_ceasefire"]
    ax.fill_between(x, lo, hi, step="post", color=colour, alpha=0.18, lw=0,
                    label="95% interval")
    ax.step(x, s, where="post", color=colour, lw=2.2, gid="km-curve",
            label="Kaplan–Meier estimate")
    cens = tab[tab["censored"] > 0]
    if len(cens):
        ax.plot(info.dates(cens["time"]), cens["survival"], ls="none", marker="|", ms=9,
                mew=1.4, color=colour, label="censored: run ended\nwithout one")
    emp = sd.empirical
    ax.step(info.dates(emp["step"]), emp["share"], where="post", color="#555555", lw=1.2,
            ls="--", label="share of all runs\n(victories kept in)")
    if sd.median is not None:
        md = info.dates([sd.median])[0]
        ax.plot([md], [0.5], marker="o", color=colour, ms=6, zorder=5)
        ax.annotate(f"median {pd.Timestamp(md).date()}", (md, 0.5), xytext=(6, 6),
                    textcoords="offset points", fontsize=8.5, color=INK)
    ax.axhline(0.5, color="#bbbbbb", lw=0.8, zorder=0)
    marks = event_marks(info)
    date_axis(ax, info)
    mark_events(ax, marks)
    ax.set_ylim(0, 1.06)
    percent_axis(ax.yaxis)
    ax.set_ylabel("Runs without an open-ended ceasefire yet")
    ax.grid(alpha=0.25)
    _at_risk_row(ax, info, sd.durations)
    if own:
        fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    else:
        ax.legend(loc="best", fontsize=8, framealpha=0.9)
    titles(fig, ax, f"{info.name}: time to the first open-ended ceasefire",
            f"{int(sd.observed.sum())} of {sd.n} runs reached one; "
            f"{sd.censored_by_victory} ended in a military victory first", own)
    extra = [f"All {t.n_points} sweep points pooled."] if t.kind == "sweep" else []
    caption(fig, ["Kaplan–Meier: runs without a ceasefire are censored at their last week (a "
                   "victory ends a run), so it estimates how fast ceasefires come while the war "
                   "goes on; band: 95% Greenwood interval (log–log). Dashed: the plain share of "
                   "all runs without one yet."] + extra + [event_key(marks)], own)
    return fig


def _at_risk_row(ax: Axes, info: ScenarioInfo, durations: np.ndarray) -> None:
    """Runs still at risk (not yet ended and without a ceasefire) at each date tick, as a
    second row of labels under the date axis (explains steep late steps of a KM curve)."""
    lo, hi = ax.get_xlim()
    ticks = [tk for tk in ax.get_xticks() if lo <= tk <= hi]
    start = mdates.date2num(np.datetime64(info.start.date()))
    d = np.asarray(durations)
    labels = [str(int((d >= (tk - start) / 7).sum())) for tk in ticks]
    ax.set_xticks(ticks)  # freeze the date ticks so the counts stay under them
    sec = ax.secondary_xaxis(-0.09)
    sec.set_xticks(ticks, labels, fontsize=7.5, color="#555555")
    sec.tick_params(length=0)
    sec.spines["bottom"].set_visible(False)
    sec.set_xlabel("Runs still at risk (no ceasefire yet, not ended)", fontsize=8,
                   color="#555555")
    sec.set_gid("at-risk")


# ============================================================================ 3. fan charts
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _wide(steps: pd.DataFrame, column: str, weeks: int) -> pd.DataFrame:
    """runs x weeks matrix of a column; a run that ended early carries its final value forward."""
    wide = steps.set_index([*run_key(steps), "step"])[column].unstack("step")
    horizon = max(weeks, int(steps["step"].max()) if len(steps) else 0)
    return wide.reindex(columns=range(horizon + 1)).ffill(axis=1)


def fan_dataset(data: Any, column: str, *, scenario: Any = None) -> pd.DataFrame:
    """Quantiles (5, 25, 50, 75, 95%) over runs of a steps column, per week.

    Runs that ended early (a military victory) are carried forward at their final state, so the
    bands keep every run instead of shrinking to the survivors. Columns: step, date, q05, q25,
    q50, q75, q95, running (runs still being simulated that week).
    """
    t = as_tables(data, scenario=scenario)
    steps = t.steps
    if column not in steps.columns:
        raise ResultsError(f"the steps table has no column {column!r}")
    wide = _wide(steps, column, t.info.weeks)
    arr = wide.to_numpy(dtype=float)
    out = pd.DataFrame({"step": wide.columns.to_numpy()})
    out["date"] = t.info.dates(out["step"])
    if arr.size:
        qs = np.nanquantile(arr, QUANTILES, axis=0)
    else:
        qs = np.full((len(QUANTILES), len(out)), np.nan)
    for q, row in zip(QUANTILES, qs, strict=True):
        out[f"q{round(q * 100):02d}"] = row
    running = steps.groupby("step").size().reindex(out["step"], fill_value=0)
    out["running"] = running.to_numpy()
    return out


def ended_early(data: Any, *, scenario: Any = None) -> int:
    """Runs that stopped before the horizon (military victory)."""
    t = as_tables(data, scenario=scenario)
    return int((t.runs["weeks"] < t.info.weeks).sum())


def plot_fan(data: Any, column: str, *, scenario: Any = None, ax: Axes | None = None,
             colour: str | None = None, label: str | None = None,
             marks: bool = True) -> Figure:
    """One fan: the median of `column` over runs and its 50% and 90% bands, on calendar dates
    (runs ended early by victory carried forward at their final state)."""
    t = as_tables(data, scenario=scenario)
    info = t.info
    fan = fan_dataset(t, column)
    fig, own = figure_of(ax)
    if own:
        fig = new_figure(9, 4.5)
        ax = fig.subplots()
    colour = colour or "#1f77b4"
    x = fan["date"].to_numpy()
    ax.fill_between(x, fan["q05"], fan["q95"], color=colour, alpha=0.18, lw=0,
                    label="90% of runs", gid="fan-90")
    ax.fill_between(x, fan["q25"], fan["q75"], color=colour, alpha=0.38, lw=0,
                    label="50% of runs", gid="fan-50")
    ax.plot(x, fan["q50"], color=shade(colour, -0.25), lw=2, label="median", gid="fan-median")
    date_axis(ax, info)
    if marks:
        mark_events(ax, event_marks(info))
    ax.grid(alpha=0.25)
    if column.startswith("control_"):
        ax.set_ylim(0, 1)
        percent_axis(ax.yaxis)
    else:
        ax.set_ylim(bottom=0)
    if own:
        ax.set_ylabel(label or column)
        ax.legend(loc="upper left", fontsize=8)
        titles(fig, ax, f"{info.name}: {label or column}",
                "Median, 50% and 90% bands over runs", own)
    return fig


def plot_fans(data: Any, *, scenario: Any = None, ax: Sequence[Axes] | None = None) -> Figure:
    """Fan charts of each armed faction's control share and strength over calendar time.

    One row per armed faction, columns control (share of all site value) and strength (force
    units). Runs that ended early by victory are carried forward at their final state, so the
    bands do not shrink to the runs still fighting. `ax`: 2 x (armed factions) Axes, row-major.
    """
    t = as_tables(data, scenario=scenario)
    info = t.info
    armed = [k for k in info.armed if f"control_{k}" in t.steps.columns]
    if not armed:
        raise ResultsError("the steps table has no control_<faction> columns")
    n = len(armed)
    axes, own = axes_list(ax, 2 * n, lambda: new_figure(12, 2.3 * n + 2.0).subplots(
        n, 2, sharex=True, squeeze=False).ravel())
    fig = axes[0].figure
    marks = event_marks(info)
    for i, k in enumerate(armed):
        a_ctrl, a_str = axes[2 * i], axes[2 * i + 1]
        c = info.faction_colour(k)
        plot_fan(t, f"control_{k}", ax=a_ctrl, colour=c)
        if f"strength_{k}" in t.steps.columns:
            plot_fan(t, f"strength_{k}", ax=a_str, colour=c)
        a_ctrl.set_ylabel(f"{info.label(k)}\ncontrol (% of value)")
        a_str.set_ylabel(f"{info.label(k)}\nstrength (units)")
        if i == 0:
            a_ctrl.set_title("Control: share of all site value", loc="left", fontsize=10)
            a_str.set_title("Strength: effective force units", loc="left", fontsize=10)
        if i == n - 1:
            a_ctrl.set_xlabel("Date")
            a_str.set_xlabel("Date")
    if n > 1:  # one strength scale for all factions, so they compare
        top = max(a.get_ylim()[1] for a in axes[1::2])
        for a in axes[1::2]:
            a.set_ylim(0, top)
    handles = [Patch(fc="#888888", alpha=0.25, label="90% of runs"),
               Patch(fc="#888888", alpha=0.55, label="50% of runs"),
               Line2D([], [], color="#444444", lw=2, label="median")]
    if marks:
        handles.append(Line2D([], [], color=EVENT_INK, lw=0.9, ls=(0, (2, 2)),
                              label="dated event (numbered)"))
    if own:
        fig.legend(handles=handles, loc="outside upper right", ncol=len(handles), fontsize=8,
                   frameon=False)
        fig.suptitle(f"{info.name}: control and strength over time", x=0.01, ha="left",
                     fontsize=13, fontweight="bold")
        k_end = ended_early(t)
        caption(fig, [f"Median, 50% and 90% bands over {len(t.runs)} runs. Runs that ended "
                       f"early in a military victory ({k_end} of {len(t.runs)}) are carried "
                       "forward at their final state, so the bands do not shrink to the "
                       "runs still fighting."
                       + (f" All {t.n_points} sweep points pooled." if t.kind == "sweep"
                          else ""),
                       event_key(marks)], own)
    return fig


# ============================================================================ 4. backers
def support_dataset(data: Any, *, scenario: Any = None) -> pd.DataFrame:
    """Median weekly support level of each backer over runs, per week (runs ended early carried
    forward at their final level). Columns: step, date, then one column per backer."""
    t = as_tables(data, scenario=scenario)
    steps = t.steps
    backers = [k for k in t.info.backers if f"support_{k}" in steps.columns]
    backers += [c[8:] for c in steps.columns
                if c.startswith("support_") and c[8:] not in backers]
    horizon = max(t.info.weeks, int(steps["step"].max()) if len(steps) else 0)
    out = pd.DataFrame({"step": np.arange(horizon + 1)})
    out["date"] = t.info.dates(out["step"])
    for b in backers:
        wide = _wide(steps, f"support_{b}", t.info.weeks).to_numpy(dtype=float)
        out[b] = np.nanmedian(wide, axis=0) if wide.size else np.nan
    return out


def support_blocs(info: ScenarioInfo, backers: Sequence[str]) -> dict[str, list[str]]:
    """Backers grouped by their client's bloc, in bloc order."""
    groups: dict[str, list[str]] = {}
    for b in backers:
        groups.setdefault(info.backer_bloc(b), []).append(b)
    order = [b for b in info.blocs if b in groups] + [b for b in groups if b not in info.blocs]
    return {b: groups[b] for b in order}


def plot_support(data: Any, *, scenario: Any = None, ax: Sequence[Axes] | None = None
                 ) -> Figure:
    """Backers' weekly support (median across runs), stacked by backer, one panel per bloc.

    The stack's height is the sum of the backers' medians. Runs ended early by victory are
    carried forward at their final level. `ax`: one Axes per bloc that has backers.
    """
    t = as_tables(data, scenario=scenario)
    info = t.info
    df = support_dataset(t)
    backers = [c for c in df.columns if c not in ("step", "date")]
    if not backers:
        raise ResultsError("no backers: the steps table has no support_<backer> columns")
    groups = support_blocs(info, backers)
    n = len(groups)
    axes, own = axes_list(ax, n, lambda: new_figure(11, 2.6 * n + 1.6).subplots(
        n, 1, sharex=True, sharey=True, squeeze=False).ravel())
    fig = axes[0].figure
    colours = info.backer_colours(backers)
    marks = event_marks(info)
    x = df["date"].to_numpy()
    for a, (bloc, ks) in zip(axes, groups.items(), strict=True):
        a.stackplot(x, *[df[k].fillna(0).to_numpy() for k in ks],
                    labels=[info.label(k) for k in ks], colors=[colours[k] for k in ks],
                    alpha=0.9, edgecolor="white", linewidth=0.4)
        date_axis(a, info)
        mark_events(a, marks, numbers=a is axes[0])
        a.set_ylim(bottom=0)
        a.set_title(f"Backers of {info.bloc_label(bloc)}", loc="left", fontsize=10)
        a.set_ylabel("units/week")
        a.grid(alpha=0.25)
        a.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    axes[-1].set_xlabel("Date")
    if own:
        fig.suptitle(f"{info.name}: backers' support over time", x=0.01, ha="left",
                     fontsize=13, fontweight="bold")
        caption(fig, [f"Median weekly support of each backer over {len(t.runs)} runs, stacked "
                       "(the height is the sum of the medians). Runs ended early by victory "
                       "are carried forward at their final level."
                       + (f" All {t.n_points} sweep points pooled." if t.kind == "sweep"
                          else ""),
                       event_key(marks)], own)
    return fig


# ============================================================================ 5. diplomacy
def _period_weeks(weeks: int) -> int:
    return 4 if weeks <= 156 else 13 if weeks <= 780 else 52


@dataclass
class DiplomacyData:
    proposals: pd.DataFrame   # one row per proposal: key, step, proposer, proposal_id, deal
    per_period: pd.DataFrame  # period start step, date, one column per proposer: per run
    period_weeks: int
    by_proposer: pd.DataFrame  # proposer, label, kind, proposals, per_run, in_force, ...
    first_ceasefire: pd.DataFrame  # succeeded_by(runs) with Wilson intervals
    n_runs: int


def diplomacy_dataset(data: Any, *, scenario: Any = None,
                      period_weeks: int | None = None) -> DiplomacyData:
    """Proposals by proposer over time, the share that came into force, and who proposed the
    first open-ended ceasefire of each run.

    A proposal came into force when a ``truce`` or ``ceasefire`` event of the same run carries
    its proposal_id (every armed faction accepted it). ``responses_accepted`` is the share of
    individual answers to the proposer's proposals that were acceptances.
    """
    t = as_tables(data, scenario=scenario)
    info = t.info
    ev, runs = t.events, t.runs
    key = run_key(ev)
    n_runs = len(runs)
    w = period_weeks or _period_weeks(info.weeks)
    cols = [*key, "step", "actor", "proposal_id"]
    if len(ev):
        props = ev.loc[ev["kind"] == "proposal", cols].rename(columns={"actor": "proposer"})
        deals = ev.loc[ev["kind"].isin(["truce", "ceasefire"]), [*key, "proposal_id", "kind"]]
        deals = deals.rename(columns={"kind": "deal"}).drop_duplicates([*key, "proposal_id"])
        props = props.merge(deals, on=[*key, "proposal_id"], how="left")
        resp = ev.loc[ev["kind"] == "response", ["target", "accepted"]]
    else:
        props = pd.DataFrame(columns=[*cols[:-3], "step", "proposer", "proposal_id", "deal"])
        resp = pd.DataFrame(columns=["target", "accepted"])
    props["proposer"] = props["proposer"].astype(str)
    order = [k for k in [*info.factions, *info.mediators] if k in set(props["proposer"])]
    order += sorted(set(props["proposer"]) - set(order))
    horizon = info.weeks
    starts = np.arange(0, horizon + 1, w)
    bins = (props["step"].astype(int) // w) * w
    counts = (pd.crosstab(bins, props["proposer"]) if len(props)
              else pd.DataFrame(index=pd.Index([], name="step")))
    counts = counts.reindex(index=starts, columns=order, fill_value=0)
    per = counts / max(n_runs, 1)
    per.index.name = "step"
    per = per.reset_index()
    per.insert(1, "date", info.dates(per["step"]))
    rows = []
    for k in order:
        p = props[props["proposer"] == k]
        n = len(p)
        in_force = int(p["deal"].notna().sum())
        lo, hi = wilson(in_force, n)
        r = resp[resp["target"] == k]["accepted"]
        acc = float(r.astype("boolean").fillna(False).mean()) if len(r) else math.nan
        rows.append({"proposer": k, "label": info.label(k), "kind": info.proposer_kind(k),
                     "proposals": n, "per_run": n / max(n_runs, 1), "in_force": in_force,
                     "ceasefires": int((p["deal"] == "ceasefire").sum()),
                     "truces": int((p["deal"] == "truce").sum()),
                     "share_in_force": in_force / n if n else math.nan, "low": lo, "high": hi,
                     "responses_accepted": acc})
    by = pd.DataFrame(rows, columns=["proposer", "label", "kind", "proposals", "per_run",
                                     "in_force", "ceasefires", "truces", "share_in_force",
                                     "low", "high", "responses_accepted"])
    sb = succeeded_by(runs) if len(runs) else pd.DataFrame(
        columns=["proposer", "kind", "runs", "share"])
    sb = sb.copy()
    sb["label"] = [info.label(k) for k in sb["proposer"]]
    ci = [wilson(int(k), n_runs) for k in sb["runs"]]
    sb["low"] = [c[0] for c in ci]
    sb["high"] = [c[1] for c in ci]
    return DiplomacyData(props, per, w, by, sb, n_runs)


def plot_diplomacy(data: Any, *, scenario: Any = None, ax: Sequence[Axes] | None = None
                   ) -> Figure:
    """Diplomacy in three panels: proposals per run over time by proposer (stacked bars); the
    share of each proposer's proposals that came into force (with 95% intervals); and who
    proposed the first open-ended ceasefire (share of runs). `ax`: three Axes."""
    t = as_tables(data, scenario=scenario)
    info = t.info
    d = diplomacy_dataset(t)

    rows = max(len(d.by_proposer), len(d.first_ceasefire), 1)
    lower = max(3.6, 0.5 * rows + 1.4)  # inches: two-line labels need ~0.45 in a row

    def make():
        fig = new_figure(12, 4.6 + lower + 1.2)
        gs = fig.add_gridspec(2, 2, height_ratios=[4.0, lower])
        return [fig.add_subplot(gs[0, :]), fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])]

    axes, own = axes_list(ax, 3, make)
    fig = axes[0].figure
    a, b, c = axes
    marks = event_marks(info)
    # (a) proposals over time
    per = d.per_period
    proposers = [k for k in d.by_proposer["proposer"]]
    bottom = np.zeros(len(per))
    width = np.timedelta64(int(d.period_weeks * 7 * 0.85), "D")
    x = per["date"].to_numpy() + np.timedelta64(int(d.period_weeks * 7 / 2), "D")
    for k in proposers:
        vals = per[k].to_numpy(dtype=float)
        a.bar(x, vals, width=width, bottom=bottom, color=info.proposer_colour(k),
              label=f"{info.label(k)} ({info.proposer_kind(k)})", gid="proposal-bar")
        bottom += vals
    date_axis(a, info, label=True)
    mark_events(a, marks)
    a.set_ylabel(f"Proposals per run\n(per {d.period_weeks}-week period)")
    a.set_title("Proposals over time, by proposer", loc="left", fontsize=10)
    a.grid(axis="y", alpha=0.25)
    if proposers:
        a.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                 title="Proposer", title_fontsize=8)
    else:
        a.text(0.5, 0.5, "No proposals in any run", transform=a.transAxes, ha="center")
    # (b) share in force
    by = d.by_proposer
    y = np.arange(len(by))
    cf = (by["ceasefires"] / by["proposals"].where(by["proposals"] > 0)).fillna(0)
    tr = (by["truces"] / by["proposals"].where(by["proposals"] > 0)).fillna(0)
    cols = [info.proposer_colour(k) for k in by["proposer"]]
    b.barh(y, cf, color=cols, height=0.65, label="came into force as a ceasefire",
           gid="in-force-bar")
    b.barh(y, tr, left=cf, color=cols, height=0.65, alpha=0.45, hatch="///",
           edgecolor="white", label="as a short truce")
    b.errorbar(by["share_in_force"], y,
               xerr=whiskers(by["share_in_force"], by["low"], by["high"]), fmt="none", ecolor=INK,
               capsize=3, lw=1)
    column = blended_transform_factory(b.transAxes, b.transData)  # a column right of the axes
    for yi, r in zip(y, by.itertuples(), strict=True):
        acc = "" if math.isnan(r.responses_accepted) else \
            f"\n{r.responses_accepted:.0%} of answers yes"
        b.text(1.03, yi, f"{r.in_force} of {r.proposals} in force{acc}", transform=column,
               va="center", ha="left", fontsize=8, color=INK, linespacing=1.05,
               gid="in-force-count")
    b.set_yticks(y, [f"{r.label}\n{r.per_run:.1f} per run" for r in by.itertuples()],
                 fontsize=8.5, linespacing=1.05)
    b.invert_yaxis()
    b.set_xlim(0, 1.0)
    percent_axis(b.xaxis)
    b.set_xlabel("Share of its proposals that came into force (95% interval)")
    b.set_title("Which proposals were accepted by all armed factions", loc="left", fontsize=10)
    b.grid(axis="x", alpha=0.25)
    if int(by["truces"].sum()):
        b.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=7.5,
                 frameon=False)
    # (c) first ceasefire by proposer
    sb = d.first_ceasefire
    y2 = np.arange(len(sb))
    c.barh(y2, sb["share"], color=[info.proposer_colour(k) for k in sb["proposer"]],
           height=0.65, gid="first-ceasefire-bar")
    if len(sb):
        c.errorbar(sb["share"], y2, xerr=whiskers(sb["share"], sb["low"], sb["high"]), fmt="none",
                   ecolor=INK, capsize=3, lw=1)
    for yi, r in zip(y2, sb.itertuples(), strict=True):
        c.text(r.high + 0.02, yi, f"{r.share:.0%} ({count(r.runs, 'run')})", va="center",
               fontsize=8, color=INK)
    c.set_yticks(y2, [f"{r.label} ({r.kind})" for r in sb.itertuples()], fontsize=8.5)
    c.invert_yaxis()
    top = float(sb["high"].max()) if len(sb) else 0.5
    c.set_xlim(0, min(1.0, top + 0.25))
    percent_axis(c.xaxis)
    c.set_xlabel(f"Share of all {d.n_runs} runs (95% interval)")
    c.set_title("Who proposed the first open-ended ceasefire", loc="left", fontsize=10)
    c.grid(axis="x", alpha=0.25)
    if not len(sb):
        c.text(0.5, 0.5, "No open-ended ceasefire in any run", transform=c.transAxes,
               ha="center", va="center")
        c.set_yticks([])
    if own:
        fig.suptitle(f"{info.name}: diplomacy", x=0.01, ha="left", fontsize=13,
                     fontweight="bold")
        caption(fig, [f"Over {d.n_runs} runs. A proposal comes into force when every armed "
                       "faction accepts it; truces last a few weeks, ceasefires are "
                       "open-ended." + (f" All {t.n_points} sweep points pooled."
                                        if t.kind == "sweep" else ""),
                       event_key(marks)], own)
    return fig


# ============================================================================ 6. map
def final_controllers(data: Any, *, scenario: Any = None) -> pd.DataFrame:
    """Each run's controlling faction of each site at its end (runs x sites).

    Starts from the scenario's initial controllers and applies the run's ``capture`` and
    ``handover`` events in order (target: the site, actor: the new controller).
    """
    t = as_tables(data, scenario=scenario)
    info = t.info
    if not info.sites:
        raise ResultsError("the scenario has no sites (the manifest has no scenario)")
    runs, ev = t.runs, t.events
    key = run_key(runs)
    idx = pd.MultiIndex.from_frame(runs[key]) if len(key) > 1 else pd.Index(runs["run"])
    init = {k: s["controller"] for k, s in info.sites.items()}
    out = pd.DataFrame({k: [c] * len(runs) for k, c in init.items()}, index=idx, dtype=object)
    if len(ev):
        ch = ev.loc[ev["kind"].isin(["capture", "handover"]), [*key, "step", "target", "actor"]]
        ch = ch.sort_values([*key, "step"], kind="stable")
        last = ch.drop_duplicates([*key, "target"], keep="last")
        last = last[last["target"].isin(out.columns)]
        wide = last.set_index([*key, "target"])["actor"].unstack("target")
        if len(key) == 1:
            wide.index = pd.Index(wide.index, name="run")
        wide = wide.reindex(index=out.index, columns=out.columns)
        out = wide.astype(object).where(wide.notna(), out)
    return out


def site_control_dataset(data: Any, *, scenario: Any = None) -> pd.DataFrame:
    """For each site, the share of runs in which each bloc holds it at the end.

    Columns: one per bloc (shares summing to 1), plus name, value, initial (initial controller's
    bloc) and holder (the bloc most often holding it).
    """
    t = as_tables(data, scenario=scenario)
    info = t.info
    fc = final_controllers(t)
    blocs = fc.apply(lambda col: col.map(info.bloc_of))
    n = max(len(fc), 1)
    rows = {}
    for site in fc.columns:
        counts = blocs[site].value_counts()
        rows[site] = {b: counts.get(b, 0) / n for b in info.blocs}
    df = pd.DataFrame.from_dict(rows, orient="index", columns=info.blocs)
    df["name"] = [info.sites[s]["name"] for s in df.index]
    df["value"] = [info.sites[s]["value"] for s in df.index]
    df["initial"] = [info.bloc_of(info.sites[s]["controller"]) for s in df.index]
    df["holder"] = df[info.blocs].idxmax(axis=1)
    return df


def site_layout(info: ScenarioInfo) -> tuple[dict[str, tuple[float, float]], bool]:
    """Site positions: (lon·cos(mean lat), lat) when every site has coordinates (so equal axes
    keep the map's proportions), else a deterministic Kamada–Kawai layout of the graph.
    Returns (positions, geographic)."""
    import networkx as nx

    sites = info.sites
    if sites and all(s["lon"] is not None and s["lat"] is not None for s in sites.values()):
        lat0 = math.radians(float(np.mean([s["lat"] for s in sites.values()])))
        return {k: (float(s["lon"]) * math.cos(lat0), float(s["lat"]))
                for k, s in sites.items()}, True
    g = nx.Graph()
    g.add_nodes_from(sites)
    for k, s in sites.items():
        for n in s["neighbours"]:
            if n in sites:
                g.add_edge(k, n)
    if len(g) <= 1:
        return {k: (0.0, 0.0) for k in sites}, False
    sp = dict(nx.shortest_path_length(g))
    far = max((d for row in sp.values() for d in row.values()), default=1) + 1
    dist = {a: {b: sp.get(a, {}).get(b, far) for b in g} for a in g}
    pos = nx.kamada_kawai_layout(g, dist=dist)
    return {k: (float(p[0]), float(p[1])) for k, p in pos.items()}, False


def _place_labels(items: list[dict], obstacles: list[tuple[float, float, float, float]],
                  gap: float) -> list[tuple[float, float]]:
    """Greedy label placement: for each item (x, y, r, w, h; in data units) try positions around
    its circle and keep the first whose box overlaps no placed label and no other circle
    (else the least overlapping). Returns box centres."""
    placed: list[tuple[float, float, float, float]] = []

    def overlap(b1, b2) -> float:
        dx = min(b1[2], b2[2]) - max(b1[0], b2[0])
        dy = min(b1[3], b2[3]) - max(b1[1], b2[1])
        return dx * dy if dx > 0 and dy > 0 else 0.0

    out = []
    for i, it in enumerate(items):
        x, y, r, w, h = it["x"], it["y"], it["r"], it["w"], it["h"]
        g = r + gap
        cands = [(x, y - g - h / 2), (x, y + g + h / 2), (x + g + w / 2, y),
                 (x - g - w / 2, y), (x + g * 0.8 + w / 2, y - g * 0.8 - h / 2),
                 (x - g * 0.8 - w / 2, y + g * 0.8 + h / 2),
                 (x - g * 0.8 - w / 2, y - g * 0.8 - h / 2),
                 (x + g * 0.8 + w / 2, y + g * 0.8 + h / 2),
                 (x, y - g - 1.6 * h), (x, y + g + 1.6 * h)]
        best, best_cost = cands[0], math.inf
        for cx, cy in cands:
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            cost = sum(overlap(box, b) for b in placed)
            cost += sum(overlap(box, o) for j, o in enumerate(obstacles) if j != i)
            if cost < best_cost - 1e-12:
                best, best_cost = (cx, cy), cost
            if cost == 0:
                break
        placed.append((best[0] - w / 2, best[1] - h / 2, best[0] + w / 2, best[1] + h / 2))
        out.append(best)
    return out


def plot_site_map(data: Any, *, scenario: Any = None, ax: Axes | None = None) -> Figure:
    """The sites as a network: each site a pie of the share of runs in which each bloc holds it
    at the end (ring: the bloc holding it at the start; size: the site's value; label: the share
    of runs its most frequent holder holds it, in that bloc's colour)."""
    t = as_tables(data, scenario=scenario)
    info = t.info
    df = site_control_dataset(t)
    pos, geo = site_layout(info)
    xy = np.array([pos[s] for s in df.index])
    xr = float(np.ptp(xy[:, 0])) if len(xy) > 1 else 1.0
    yr = float(np.ptp(xy[:, 1])) if len(xy) > 1 else 1.0
    span = max(xr, yr, 1e-9)
    fig, own = figure_of(ax)
    axes_w = 7.5
    if own:
        aspect = min(max((yr + 0.25 * span) / (xr + 0.25 * span), 0.4), 1.5)
        fig = new_figure(axes_w + 3.2, min(max(axes_w * aspect + 2.2, 5.0), 12.0))
        ax = fig.subplots()
    # radius: by value, but kept clear of the nearest site
    vmax = max(float(df["value"].max()), 1e-9)
    radius = {}
    for i, s in enumerate(df.index):
        base = 0.05 * span * (0.55 + 0.45 * math.sqrt(df.loc[s, "value"] / vmax))
        if len(xy) > 1:
            dists = np.hypot(*(xy - xy[i]).T)
            dists = dists[dists > 0]
            near = float(dists.min()) if len(dists) else span
            base = max(min(base, 0.4 * near / 1.12), 0.012 * span)
        radius[s] = base
    drawn = set()
    for s in df.index:
        for nb in info.sites[s]["neighbours"]:
            if nb in pos and (nb, s) not in drawn:
                drawn.add((s, nb))
                ax.plot([pos[s][0], pos[nb][0]], [pos[s][1], pos[nb][1]], color="#b0b0b0",
                        lw=1.2, zorder=1, gid="site-edge")
    for s in df.index:
        x0, y0 = pos[s]
        r = radius[s]
        start = 90.0
        for bloc in info.blocs:
            share = float(df.loc[s, bloc])
            if share <= 0:
                continue
            ax.add_patch(Wedge((x0, y0), r, start, start + 360 * share,
                               fc=info.bloc_colour(bloc), ec="white", lw=0.6, zorder=3,
                               gid="site-wedge"))
            start += 360 * share
        ax.add_patch(Wedge((x0, y0), r * 1.12, 0, 360, width=r * 0.1,
                           fc=info.bloc_colour(df.loc[s, "initial"]), ec="none", zorder=2,
                           gid="site-ring"))
    # labels, placed clear of pies and of each other
    pad = 0.09 * span
    unit = (span + 2 * pad) / (axes_w * 72)  # data units per point (approximate)
    fs = 8.0
    texts = [f"{df.loc[s, 'name']} {df.loc[s, df.loc[s, 'holder']]:.0%}" for s in df.index]
    items = [{"x": pos[s][0], "y": pos[s][1], "r": radius[s] * 1.12,
              "w": 0.56 * fs * len(tx) * unit, "h": 1.3 * fs * unit}
             for s, tx in zip(df.index, texts, strict=True)]
    obstacles = [(it["x"] - it["r"], it["y"] - it["r"], it["x"] + it["r"], it["y"] + it["r"])
                 for it in items]
    order = sorted(range(len(items)), key=lambda i: -df["value"].iloc[i])
    centres = _place_labels([items[i] for i in order], [obstacles[i] for i in order],
                            0.5 * fs * unit)
    boxes = []
    labels = []
    for k, i in enumerate(order):
        s = df.index[i]
        cx, cy = centres[k]
        hold = df.loc[s, "holder"]
        labels.append(ax.text(cx, cy, texts[i], ha="center", va="center", fontsize=fs,
                              color=shade(info.bloc_colour(hold), -0.35), zorder=4,
                              gid="site-label"))
        boxes.append((cx - items[i]["w"] / 2, cy - items[i]["h"] / 2,
                      cx + items[i]["w"] / 2, cy + items[i]["h"] / 2))
    lo_x = min([xy[:, 0].min() - pad] + [b[0] for b in boxes])
    hi_x = max([xy[:, 0].max() + pad] + [b[2] for b in boxes])
    lo_y = min([xy[:, 1].min() - pad] + [b[1] for b in boxes])
    hi_y = max([xy[:, 1].max() + pad] + [b[3] for b in boxes])
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(lo_y, hi_y)
    ax.set_aspect("equal")
    ax.set_axis_off()
    handles = [Patch(fc=info.bloc_colour(b), label=info.bloc_label(b)) for b in info.blocs]
    handles.append(Line2D([], [], marker="o", ls="none", mfc="white", mec="#666666", mew=2.5,
                          ms=10, label="ring: holder at the start"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8.5,
              frameon=False, title="Holds the site at the end", title_fontsize=8.5)
    n = len(t.runs)
    titles(fig, ax, f"{info.name}: who holds each site at the end",
            f"Pie: share of {n} runs in which each bloc holds the site at the end", own)
    caption(fig, ["Label: the share of runs in which the site's most frequent final holder "
                   "holds it (in that bloc's colour). Site size grows with its value; lines "
                   "join neighbouring sites. "
                   + ("Positions: longitude and latitude (equirectangular)." if geo else
                      "Positions: a schematic layout of the site graph (sites lack "
                      "coordinates).")
                   + (f" All {t.n_points} sweep points pooled." if t.kind == "sweep" else "")],
             own)
    if own:  # the estimate above misjudges dense clusters: measure the drawn labels
        rings = [p for p in ax.patches if p.get_gid() == "site-ring"]
        declutter(labels, rings, anchors=[pos[df.index[i]] for i in order])
    return fig


# ============================================================================ 7. ceasefire life
@dataclass
class CeasefireLife:
    deals: pd.DataFrame       # every truce or ceasefire in force: key, step, deal, proposer,
    #                           weeks (held), ended (True: broke down or expired), end_kind
    durations: pd.DataFrame   # km_table of open-ended ceasefires' life (weeks)
    times: np.ndarray
    survival: np.ndarray
    breakdowns: pd.DataFrame  # key, step, actor, cause, deal


def _cause(reason: str) -> str:
    r = str(reason).lower()
    if r.startswith("defect"):
        return "defection"
    if "incident" in r:
        return "incident escalated"
    return "other"


CAUSE_LABELS = {"defection": "A party defected\n(fighting worth more)",
                "incident escalated": "Spoiler incident\nescalated", "other": "Other"}


def ceasefire_life_dataset(data: Any, *, scenario: Any = None) -> CeasefireLife:
    """How long deals held and why they broke down.

    Each ``ceasefire``/``truce`` event starts a deal; it ends at the run's ``breakdown`` or
    ``truce_end`` event with the same proposal_id. A ceasefire still in force when its run ends
    is censored at the run's last week. Breakdown causes come from the event's reason
    ("defects: ..." is a defection, "incident escalated" a spoiler incident).
    """
    t = as_tables(data, scenario=scenario)
    ev, runs = t.events, t.runs
    key = run_key(runs)
    cols = [*key, "step", "kind", "actor", "proposal_id"]
    if len(ev):
        deals = ev.loc[ev["kind"].isin(["truce", "ceasefire"]), cols].rename(
            columns={"kind": "deal", "actor": "proposer"})
        ends = ev.loc[ev["kind"].isin(["breakdown", "truce_end"]),
                      [*key, "step", "kind", "proposal_id"]].rename(
            columns={"step": "end_step", "kind": "end_kind"})
        ends = ends.drop_duplicates([*key, "proposal_id"])
        bd = ev.loc[ev["kind"] == "breakdown", [*key, "step", "actor", "proposal_id", "reason"]]
    else:
        deals = pd.DataFrame(columns=[*key, "step", "deal", "proposer", "proposal_id"])
        ends = pd.DataFrame(columns=[*key, "end_step", "end_kind", "proposal_id"])
        bd = pd.DataFrame(columns=[*key, "step", "actor", "proposal_id", "reason"])
    deals = deals.merge(ends, on=[*key, "proposal_id"], how="left")
    deals = deals.merge(runs[[*key, "weeks"]], on=key, how="left")
    deals["ended"] = deals["end_step"].notna()
    end = nullable_float(deals["end_step"]) if len(deals) else np.array([])
    deals["weeks_held"] = np.where(deals["ended"], end, deals["weeks"].to_numpy(dtype=float)) \
        - deals["step"].to_numpy(dtype=float) if len(deals) else []
    cf = deals[deals["deal"] == "ceasefire"]
    broke = (cf["end_kind"] == "breakdown").fillna(False).to_numpy(dtype=bool)
    tab = km_table(cf["weeks_held"].to_numpy(dtype=float), broke)
    times, surv = kaplan_meier(cf["weeks_held"].to_numpy(dtype=float), broke)
    kinds = deals[[*key, "proposal_id", "deal"]]
    bd = bd.merge(kinds, on=[*key, "proposal_id"], how="left")
    bd["cause"] = [_cause(r) for r in bd["reason"]]
    bd["deal"] = bd["deal"].fillna("ceasefire")
    return CeasefireLife(deals, tab, times, surv, bd)


def plot_ceasefire_life(data: Any, *, scenario: Any = None,
                        ax: Sequence[Axes] | None = None) -> Figure:
    """Left: Kaplan–Meier curve of how long open-ended ceasefires held (censored when the run
    ended with the ceasefire in force), with the durable threshold. Right: breakdowns of
    ceasefires and truces by cause, stacked by the faction that broke them. `ax`: two Axes."""
    t = as_tables(data, scenario=scenario)
    info = t.info
    d = ceasefire_life_dataset(t)
    axes, own = axes_list(ax, 2, lambda: new_figure(12, 5.2).subplots(
        1, 2, gridspec_kw={"width_ratios": [1.25, 1]}))
    fig = axes[0].figure
    a, b = axes
    tab = d.durations
    n_cf = int((d.deals["deal"] == "ceasefire").sum())
    colour = OUTCOME_COLOURS["durable_ceasefire"]
    horizon = max(float(tab["time"].max()), info.durable_weeks * 1.1, 1.0)
    x = np.append(tab["time"], float(tab["time"].max()))  # stops at the last observation
    s = np.append(tab["survival"], tab["survival"].iloc[-1])
    a.fill_between(x, np.append(tab["low"], tab["low"].iloc[-1]),
                   np.append(tab["high"], tab["high"].iloc[-1]), step="post", color=colour,
                   alpha=0.18, lw=0, label="95% interval")
    a.step(x, s, where="post", color=colour, lw=2.2, gid="km-curve",
           label=f"Kaplan–Meier, {n_cf} ceasefires")
    cens = tab[tab["censored"] > 0]
    if len(cens):
        a.plot(cens["time"], cens["survival"], ls="none", marker="|", ms=9, mew=1.4,
               color=colour, label="still in force when the run ended")
    a.axvline(info.durable_weeks, color=INK, lw=1, ls=":", gid="durable-threshold")
    a.annotate(f"durable: {info.durable_weeks} weeks", (info.durable_weeks, 1.0),
               xycoords=("data", "axes fraction"), xytext=(-4, -12), textcoords="offset points",
               ha="right", fontsize=8, color=INK)
    a.set_xlim(0, horizon)
    a.set_ylim(0, 1.04)
    percent_axis(a.yaxis)
    a.set_xlabel("Weeks since the ceasefire came into force")
    a.set_ylabel("Ceasefires still holding")
    a.set_title("How long open-ended ceasefires held", loc="left", fontsize=10)
    a.grid(alpha=0.25)
    a.legend(loc="lower left", fontsize=8)
    if not n_cf:
        a.text(0.5, 0.5, "No open-ended ceasefire in any run", transform=a.transAxes,
               ha="center", va="center")
    # breakdowns by cause and deal, stacked by faction
    bd = d.breakdowns
    cats = [(c, k) for c in ("defection", "incident escalated", "other")
            for k in ("ceasefire", "truce")
            if ((bd["cause"] == c) & (bd["deal"] == k)).any()
            or (c != "other" and k == "ceasefire")]
    y = np.arange(len(cats))
    left = np.zeros(len(cats))
    actors = [k for k in info.factions if k in set(bd["actor"])]
    actors += sorted(set(bd["actor"]) - set(actors))
    for k in actors:
        vals = np.array([((bd["cause"] == c) & (bd["deal"] == dk) & (bd["actor"] == k)).sum()
                         for c, dk in cats], dtype=float)
        b.barh(y, vals, left=left, color=info.faction_colour(k), height=0.6,
               label=info.label(k), gid="breakdown-bar")
        left += vals
    for yi, v in zip(y, left, strict=True):
        b.text(v + max(left.max(), 1) * 0.02, yi, f"{int(v)}", va="center", fontsize=8.5)
    b.set_yticks(y, [f"{CAUSE_LABELS[c]}\n({k})" for c, k in cats], fontsize=8.5)
    b.invert_yaxis()
    b.set_xlim(0, max(left.max(), 1) * 1.18)
    b.xaxis.set_major_locator(MaxNLocator(integer=True))
    b.set_xlabel(f"Breakdowns over {count(len(t.runs), 'run')}")
    b.set_title("Why deals broke down (by the faction that broke it)", loc="left",
                fontsize=10)
    b.grid(axis="x", alpha=0.25)
    if actors:
        b.legend(loc="lower right", fontsize=8)
    if own:
        fig.suptitle(f"{info.name}: the life of ceasefires", x=0.01, ha="left", fontsize=13,
                     fontweight="bold")
        caption(fig, [f"{len(d.deals)} deals came into force ({n_cf} open-ended ceasefires, "
                       f"{len(d.deals) - n_cf} short truces); {len(bd)} broke down. Truces "
                       "that simply expired are not breakdowns."
                       + (f" All {t.n_points} sweep points pooled." if t.kind == "sweep"
                          else "")], own)
    return fig
