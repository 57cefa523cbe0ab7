"""Outcome charts for a results folder (matplotlib; no pyplot state, safe in servers and tests).

Every chart is two steps: a ``*_dataset`` function turns the tables into exactly the numbers that
are drawn (plain DataFrames and arrays, testable without matplotlib), and a ``plot_*`` function
draws them into an ``Axes`` (or a new ``Figure``) and returns the ``Figure``. The command line
(``negsim plot``, ``negsim report``) and scripts use the same functions.

Charts take their data as a :class:`sim.runner.Results` (in memory or folder backed), a
:class:`Tables`, a mapping ``{"runs": df, "steps": df, "events": df}``, or a single table
(recognised by its columns). The scenario (names, blocs, sites, dated events, start date) comes
from the folder's manifest, or from ``scenario=`` (a manifest-style dict or a
:class:`sim.scenario.Scenario`); without either, what can be inferred from the tables is used.

>>> from sim.plots import open_results, plot_outcomes          # doctest: +SKIP
>>> fig = plot_outcomes(open_results("results/libya"))          # doctest: +SKIP
>>> fig.savefig("outcomes.png")                                 # doctest: +SKIP

Runs are keyed by ``run`` (and ``point`` in a sweep folder, whose run charts pool all points).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Wedge
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.results import (  # noqa: F401  (ResultsError: raised here, caught by the commands)
    ResultsError,
    missing_table,
    outcome_classes,
    outcome_shares,
    read_manifest,
    succeeded_by,
    wilson,
)
from sim.runner import Results
from sim.stats import Z95, kaplan_meier, km_median, km_table

__all__ = [
    "CHARTS",
    "Chart",
    "Rendered",
    "ResultsError",
    "ScenarioInfo",
    "Tables",
    "as_tables",
    "ceasefire_life_dataset",
    "diplomacy_dataset",
    "event_marks",
    "fan_dataset",
    "influence_dataset",
    "kaplan_meier",
    "km_table",
    "open_results",
    "outcomes_dataset",
    "outcome_label",
    "plot_ceasefire_life",
    "plot_diplomacy",
    "plot_fan",
    "plot_fans",
    "plot_influence",
    "plot_outcomes",
    "plot_site_map",
    "plot_support",
    "plot_survival",
    "plot_sweep_heatmap",
    "plot_sweep_outcomes",
    "render_charts",
    "save_figure",
    "site_control_dataset",
    "site_layout",
    "support_dataset",
    "survival_dataset",
    "sweep_heatmap_dataset",
    "sweep_outcomes_dataset",
    "sweep_paths",
]

# ============================================================================ colours
BLOC_COLOURS = ["#1f77b4", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
                "#bcbd22"]
MEDIATOR_COLOURS = ["#e6ab02", "#7570b3", "#a6761d", "#666666", "#1b9e77", "#e7298a"]
OUTCOME_COLOURS = {"durable_ceasefire": "#1a9850", "fragile_ceasefire": "#a6d96a",
                   "stalemate": "#969696", "ongoing": "#fdae61"}
OUTCOME_NAMES = {"durable_ceasefire": "Durable ceasefire", "fragile_ceasefire": "Fragile ceasefire",
                 "stalemate": "Stalemate (frozen front)", "ongoing": "Still fighting at the end"}
INK = "#333333"
EVENT_INK = "#555555"


def _shade(colour: str, t: float) -> str:
    """Blend a colour toward white (t > 0) or black (t < 0) by |t|."""
    rgb = np.array(mcolors.to_rgb(colour))
    target = np.ones(3) if t > 0 else np.zeros(3)
    return mcolors.to_hex(rgb + (target - rgb) * abs(t))


_SHADES = [0.0, 0.4, -0.35, 0.65, -0.55, 0.2, -0.2, 0.8]


# ============================================================================ errors and loading
TABLES = ("runs", "steps", "events")


def open_results(folder: str | Path, need: Iterable[str] = ("runs",)) -> Results:
    """Open a results folder, checking the manifest and the tables in `need` are there.

    Raises :class:`ResultsError` naming the path for a missing folder, manifest or table, or one
    that cannot be read. Tables not in `need` are read later, when first used.
    """
    folder = Path(folder)
    manifest = read_manifest(folder, table=None)
    res = Results.load(folder)
    needed = list(dict.fromkeys(need))
    if manifest["kind"] == "sweep" and "points" not in needed:
        needed.append("points")
    for name in needed:
        path = folder / f"{name}.parquet"
        missing_table(folder, manifest, name)
        if name == "points":
            continue
        try:
            getattr(res, name)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
            raise ResultsError(f"{path}: unreadable Parquet table ({exc})") from None
    if "runs" in needed and not len(res.runs):
        raise ResultsError(f"{folder / 'runs.parquet'}: no finished runs to chart (did every "
                           "run fail? see failures.parquet)")
    return res


def _read_points(folder: Path | None) -> pd.DataFrame | None:
    if folder is None:
        return None
    path = folder / "points.parquet"
    if not path.exists():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001
        raise ResultsError(f"{path}: unreadable Parquet table ({exc})") from None


# ============================================================================ scenario info
@dataclass(frozen=True)
class ScenarioInfo:
    """What the charts need from a scenario: names, blocs, sites, dated events, the calendar."""

    name: str = "scenario"
    start: pd.Timestamp = pd.Timestamp("2000-01-03")
    weeks: int = 104
    durable_weeks: int = 26
    factions: dict[str, dict] = field(default_factory=dict)
    backers: dict[str, dict] = field(default_factory=dict)
    mediators: dict[str, dict] = field(default_factory=dict)
    sites: dict[str, dict] = field(default_factory=dict)
    events: tuple[dict, ...] = ()

    # ------------------------------------------------------------------ build
    @classmethod
    def from_dict(cls, scn: Mapping[str, Any], steps: int | None = None) -> ScenarioInfo:
        """From a resolved scenario dict (``manifest["scenario"]``)."""
        model = dict(scn.get("model") or {})

        def _name(k: str, v: Mapping) -> str:
            return str(v.get("name") or k.replace("_", " ").title())

        factions = {k: {"name": _name(k, v), "bloc": str(v.get("bloc", k)),
                        "armed": bool(v.get("armed", True))}
                    for k, v in (scn.get("factions") or {}).items()}
        backers = {k: {"name": _name(k, v), "client": v.get("client")}
                   for k, v in (scn.get("backers") or {}).items()}
        mediators = {k: {"name": _name(k, v), "patrons": list(v.get("patrons") or ())}
                     for k, v in (scn.get("mediators") or {}).items()}
        sites = {k: {"name": _name(k, v), "controller": v.get("controller"),
                     "value": float(v.get("value", 1.0)),
                     "neighbours": list(v.get("neighbours") or ()),
                     "lon": v.get("lon"), "lat": v.get("lat")}
                 for k, v in (scn.get("sites") or {}).items()}
        events = []
        for e in scn.get("events") or ():
            ini = e.get("initiative") or None
            events.append({"date": pd.Timestamp(e["date"]),
                           "description": str(e.get("description") or ""),
                           "initiative": ini.get("mediator") if isinstance(ini, Mapping) else None,
                           "changes": sorted([*(e.get("set") or {}), *(e.get("scale") or {})])})
        return cls(
            name=str(model.get("name") or "scenario"),
            start=pd.Timestamp(model.get("start_date") or "2000-01-03"),
            weeks=int(steps or model.get("weeks") or 104),
            durable_weeks=int(model.get("durable_weeks") or 26),
            factions=factions, backers=backers, mediators=mediators, sites=sites,
            events=tuple(sorted(events, key=lambda e: e["date"])),
        )

    @classmethod
    def infer(cls, runs: pd.DataFrame | None, steps: pd.DataFrame | None,
              events: pd.DataFrame | None) -> ScenarioInfo:
        """What the tables alone tell: factions (each its own bloc), backers, start and length."""
        cols: list[str] = []
        for df in (runs, steps):
            if df is not None:
                cols += list(df.columns)
        armed = list(dict.fromkeys(c[8:] for c in cols if c.startswith("control_")))
        backers = list(dict.fromkeys(c[8:] for c in cols if c.startswith("support_")))
        start, weeks = pd.Timestamp("2000-01-03"), 104
        for df in (steps, events):
            if df is not None and len(df) and {"date", "step"} <= set(df.columns):
                r = df.iloc[0]
                start = pd.Timestamp(r["date"]) - pd.Timedelta(weeks=int(r["step"]))
                break
        if steps is not None and len(steps) and "step" in steps:
            weeks = int(steps["step"].max())
        elif runs is not None and len(runs) and "weeks" in runs:
            weeks = int(runs["weeks"].max())
        return cls(
            start=start, weeks=max(weeks, 1),
            factions={k: {"name": k.replace("_", " ").title(), "bloc": k, "armed": True}
                      for k in armed},
            backers={k: {"name": k.replace("_", " ").title(), "client": None} for k in backers},
        )

    # ------------------------------------------------------------------ queries
    @property
    def armed(self) -> list[str]:
        return [k for k, f in self.factions.items() if f["armed"]]

    @property
    def blocs(self) -> list[str]:
        order = [self.factions[k]["bloc"] for k in self.armed]
        order += [f["bloc"] for f in self.factions.values()]
        return list(dict.fromkeys(order))

    def bloc_of(self, faction: str) -> str:
        f = self.factions.get(faction)
        return f["bloc"] if f else faction

    def bloc_label(self, bloc: str) -> str:
        """A bloc's name: its faction's name when one faction, else 'A / B'."""
        members = [f["name"] for k, f in self.factions.items()
                   if f["bloc"] == bloc and f["armed"]] or [bloc.replace("_", " ").title()]
        return " / ".join(members) if len(members) <= 2 else f"{members[0]} bloc"

    def label(self, key: str) -> str:
        for group in (self.factions, self.backers, self.mediators, self.sites):
            if key in group:
                return group[key]["name"]
        return str(key)

    def proposer_kind(self, key: str) -> str:
        if key in self.mediators:
            return "joint" if self.mediators[key]["patrons"] else "mediator"
        return "faction"

    @property
    def end(self) -> pd.Timestamp:
        return self.start + pd.Timedelta(weeks=self.weeks)

    def dates(self, steps) -> np.ndarray:
        """Calendar dates (datetime64) of week numbers (step 0 is the start date)."""
        s = np.asarray(steps, dtype=float)
        return (np.datetime64(self.start.date(), "D")
                + np.round(s * 7).astype("int64").astype("timedelta64[D]"))

    # colours
    def bloc_colour(self, bloc: str) -> str:
        blocs = self.blocs
        i = blocs.index(bloc) if bloc in blocs else len(blocs)
        return BLOC_COLOURS[i % len(BLOC_COLOURS)]

    def faction_colour(self, faction: str) -> str:
        bloc = self.bloc_of(faction)
        same = [k for k, f in self.factions.items() if f["bloc"] == bloc]
        i = same.index(faction) if faction in same else 0
        return _shade(self.bloc_colour(bloc), _SHADES[i % len(_SHADES)])

    def backer_colours(self, keys: Sequence[str]) -> dict[str, str]:
        """Distinct shades of the client's bloc colour for backers drawn together."""
        out = {}
        by_bloc: dict[str, list[str]] = {}
        for k in keys:
            by_bloc.setdefault(self.backer_bloc(k), []).append(k)
        for bloc, ks in by_bloc.items():
            ts = np.linspace(-0.35, 0.55, len(ks)) if len(ks) > 1 else [0.0]
            for k, t in zip(ks, ts, strict=True):
                out[k] = _shade(self.bloc_colour(bloc), float(t))
        return out

    def backer_bloc(self, backer: str) -> str:
        client = self.backers.get(backer, {}).get("client")
        return self.bloc_of(client) if client else backer

    def proposer_colour(self, key: str) -> str:
        if key in self.mediators:
            i = list(self.mediators).index(key)
            return MEDIATOR_COLOURS[i % len(MEDIATOR_COLOURS)]
        return self.faction_colour(key)


# ============================================================================ tables
class Tables:
    """The tables of a results folder (read when first used), its manifest and scenario info."""

    def __init__(self, runs: pd.DataFrame | None = None, steps: pd.DataFrame | None = None,
                 events: pd.DataFrame | None = None, *, manifest: Mapping | None = None,
                 scenario: Any = None, points: pd.DataFrame | None = None,
                 source: Results | None = None) -> None:
        self._t = {"runs": runs, "steps": steps, "events": events}
        self.source = source
        self.folder = source.folder if source is not None else None
        self.manifest = dict(manifest if manifest is not None
                             else (source.manifest if source is not None else {}))
        self._scenario = scenario
        self._points = points
        self._info: ScenarioInfo | None = None

    def _get(self, name: str) -> pd.DataFrame:
        df = self._t[name]
        if df is None and self.source is not None:
            df = getattr(self.source, name)
            self._t[name] = df
        if df is None:
            raise ResultsError(f"no {name} table given (pass a Results or {name}=...)")
        return df

    runs = property(lambda self: self._get("runs"))
    steps = property(lambda self: self._get("steps"))
    events = property(lambda self: self._get("events"))

    def has(self, name: str) -> bool:
        return self._t[name] is not None or self.source is not None

    @property
    def points(self) -> pd.DataFrame | None:
        if self._points is None:
            self._points = _read_points(self.folder)
        return self._points

    @property
    def kind(self) -> str:
        if self.manifest.get("kind") == "sweep" or self._points is not None:
            return "sweep"
        return "run"

    @property
    def info(self) -> ScenarioInfo:
        if self._info is None:
            steps = self.manifest.get("steps")
            scn = self._scenario
            if scn is None:
                scn = self.manifest.get("scenario")
            if isinstance(scn, ScenarioInfo):
                self._info = scn
            elif scn is not None:
                d = scn if isinstance(scn, Mapping) else scn.to_dict()
                self._info = ScenarioInfo.from_dict(d, steps)
            else:
                tabs = [self._t[n] if self._t[n] is not None else
                        (getattr(self.source, n) if self.source is not None else None)
                        for n in TABLES]
                self._info = ScenarioInfo.infer(*tabs)
        return self._info

    @property
    def n_points(self) -> int:
        runs = self.runs
        return int(runs["point"].nunique()) if "point" in runs.columns else 1


def as_tables(data: Any, *, scenario: Any = None, points: pd.DataFrame | None = None) -> Tables:
    """Normalise chart input: Tables, Results, a {name: table} mapping or one table."""
    if isinstance(data, Tables):
        if scenario is None and points is None:
            return data
        return Tables(data._t["runs"], data._t["steps"], data._t["events"],
                      manifest=data.manifest, scenario=scenario or data._scenario,
                      points=points if points is not None else data._points, source=data.source)
    if isinstance(data, Results):
        return Tables(scenario=scenario, points=points, source=data)
    if isinstance(data, pd.DataFrame):
        cols = set(data.columns)
        name = ("runs" if "outcome" in cols else "events" if "kind" in cols
                else "steps" if "status" in cols else None)
        if name is None:
            raise ResultsError("cannot tell which table this is: expected a runs (outcome), "
                               "steps (status) or events (kind) table")
        return Tables(**{name: data}, scenario=scenario, points=points)
    if isinstance(data, Mapping):
        return Tables(data.get("runs"), data.get("steps"), data.get("events"),
                      manifest=data.get("manifest"), scenario=scenario,
                      points=points if points is not None else data.get("points"))
    raise TypeError(f"expected Results, Tables, a DataFrame or a mapping, not {type(data)!r}")


def _key(df: pd.DataFrame) -> list[str]:
    """Columns identifying a run: run, with point in a sweep."""
    return ["point", "run"] if "point" in df.columns else ["run"]


def _nullable_float(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


# ============================================================================ figure helpers
def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _own(ax) -> tuple[Figure, bool]:
    return (ax.figure, False) if ax is not None else (None, True)


def _axes_list(ax, n: int, make: Callable[[], Sequence[Axes]]) -> tuple[list[Axes], bool]:
    if ax is None:
        return list(make()), True
    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(ax))
    if len(axes) != n:
        raise ValueError(f"this chart draws {n} panels: pass {n} Axes (got {len(axes)})")
    return axes, False


def _titles(fig: Figure, ax: Axes, title: str, subtitle: str, own: bool) -> None:
    if own:
        fig.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold")
        if subtitle:
            ax.set_title(subtitle, loc="left", fontsize=9, color=INK)
    else:
        ax.set_title(title, loc="left", fontsize=11)


def _caption(fig: Figure, lines: Iterable[str], own: bool) -> None:
    text = [ln for ln in lines if ln]
    if not own or not text:
        return
    width = max(int(fig.get_figwidth() * 15), 60)
    wrapped = "\n".join(textwrap.fill(t, width) for t in text)
    fig.supxlabel(wrapped, x=0.01, ha="left", fontsize=8, color="#444444",
                  multialignment="left")


def _date_axis(ax: Axes, info: ScenarioInfo, label: bool = False) -> None:
    loc = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))
    ax.set_xlim(np.datetime64(info.start.date()), np.datetime64(info.end.date()))
    if label:
        ax.set_xlabel("Date")


def _percent_axis(axis) -> None:
    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _err(mid, low, high) -> np.ndarray:
    """Error-bar extents (2 x n) from intervals: no NaN, never negative (rounding)."""
    e = np.vstack([np.asarray(mid, float) - np.asarray(low, float),
                   np.asarray(high, float) - np.asarray(mid, float)])
    return np.clip(np.nan_to_num(e), 0, None)


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def save_figure(fig: Figure, path: Any, fmt: str | None = None, dpi: int = 130) -> Any:
    """Save a chart (to a path or a binary file object) without tool metadata: no URLs in the
    file, and stable bytes for SVG."""
    if isinstance(path, (str, Path)):
        path = Path(path)
        fmt = fmt or path.suffix.lstrip(".") or "png"
    fmt = fmt or "png"
    meta = {"Software": None} if fmt == "png" else {"Creator": None, "Date": None}
    fig.savefig(path, format=fmt, dpi=dpi, metadata=meta, facecolor="white")
    return path


# ============================================================================ dated events
@dataclass(frozen=True)
class EventMark:
    n: int
    date: pd.Timestamp
    text: str


def event_marks(info: ScenarioInfo) -> list[EventMark]:
    """The scenario's dated events within the run, numbered in date order."""
    out = []
    for e in info.events:
        if not (info.start <= e["date"] <= info.end):
            continue
        text = e["description"] or (f"initiative by {info.label(e['initiative'])}"
                                    if e["initiative"] else ", ".join(e["changes"]) or "event")
        out.append(EventMark(len(out) + 1, e["date"], text))
    return out


def _mark_events(ax: Axes, marks: Sequence[EventMark], numbers: bool = True) -> None:
    """Dashed vertical lines at the events' dates, numbered at the top of the axes (numbers of
    events close in time are staggered downward). Call after the x limits are set."""
    lo, hi = ax.get_xlim()
    last_x, level = -math.inf, 0
    for m in marks:
        x = np.datetime64(m.date.date())
        ln = ax.axvline(x, color=EVENT_INK, lw=0.9, ls=(0, (2, 2)), zorder=1.5)
        ln.set_gid("event-marker")
        if not numbers:
            continue
        frac = (mdates.date2num(x) - lo) / max(hi - lo, 1e-9)
        level = level + 1 if frac - last_x < 0.022 else 0
        last_x = frac
        ax.annotate(str(m.n), xy=(x, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, -3 - 11 * (level % 4)), textcoords="offset points",
                    ha="center", va="top", fontsize=7, color="white", gid="event-number",
                    bbox={"boxstyle": "circle,pad=0.2", "fc": EVENT_INK, "ec": "none"},
                    zorder=6)


def _event_key(marks: Sequence[EventMark]) -> str:
    if not marks:
        return ""
    return "Dated events (dashed lines): " + ";  ".join(
        f"({m.n}) {m.date.date()} {m.text}" for m in marks)


# ============================================================================ 1. outcomes
def outcome_label(outcome: str, info: ScenarioInfo | None = None) -> str:
    if outcome.startswith("victory:"):
        k = outcome.split(":", 1)[1]
        return f"Victory: {info.label(k) if info else k}"
    return OUTCOME_NAMES.get(outcome, outcome.replace("_", " ").capitalize())


def outcome_colour(outcome: str, info: ScenarioInfo) -> str:
    if outcome.startswith("victory:"):
        return info.faction_colour(outcome.split(":", 1)[1])
    return OUTCOME_COLOURS.get(outcome, "#bbbbbb")


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
    fig, own = _own(ax)
    if own:
        fig = _figure(9, 0.55 * len(df) + 2.2)
        ax = fig.subplots()
    y = np.arange(len(df))
    ax.barh(y, df["share"], color=df["colour"], edgecolor="white", height=0.7, gid="outcome-bar")
    ax.errorbar(df["share"], y, xerr=_err(df["share"], df["low"], df["high"]), fmt="none",
                ecolor=INK, capsize=3, lw=1)
    for yi, r in zip(y, df.itertuples(), strict=True):
        ax.text(r.high + 0.01 if not math.isnan(r.high) else 0.01, yi,
                f"{_pct(r.share)}  [{_pct(r.low)}–{_pct(r.high)}]  · {r.runs} runs",
                va="center", fontsize=8.5, color=INK)
    ax.set_yticks(y, df["label"])
    ax.invert_yaxis()
    top = float(np.nanmax(df["high"])) if len(df) and n else 1.0
    ax.set_xlim(0, min(1.0, top + 0.3) if top < 0.7 else 1.32)
    _percent_axis(ax.xaxis)
    ax.set_xlabel("Share of runs")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    _titles(fig, ax, f"{t.info.name}: how {n} runs ended",
            "Bars: share of runs; whiskers and brackets: 95% Wilson interval", own)
    if t.kind == "sweep":
        _caption(fig, [f"All {t.n_points} sweep points pooled."], own)
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
    first = _nullable_float(runs["first_ceasefire_step"]) if len(runs) else np.array([])
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
    fig, own = _own(ax)
    if own:
        fig = _figure(10, 5.6)
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
    _date_axis(ax, info)
    _mark_events(ax, marks)
    ax.set_ylim(0, 1.06)
    _percent_axis(ax.yaxis)
    ax.set_ylabel("Runs without an open-ended ceasefire yet")
    ax.grid(alpha=0.25)
    _at_risk_row(ax, info, sd.durations)
    if own:
        fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    else:
        ax.legend(loc="best", fontsize=8, framealpha=0.9)
    _titles(fig, ax, f"{info.name}: time to the first open-ended ceasefire",
            f"{int(sd.observed.sum())} of {sd.n} runs reached one; "
            f"{sd.censored_by_victory} ended in a military victory first", own)
    extra = [f"All {t.n_points} sweep points pooled."] if t.kind == "sweep" else []
    _caption(fig, ["Kaplan–Meier: runs without a ceasefire are censored at their last week (a "
                   "victory ends a run), so it estimates how fast ceasefires come while the war "
                   "goes on; band: 95% Greenwood interval (log–log). Dashed: the plain share of "
                   "all runs without one yet."] + extra + [_event_key(marks)], own)
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
    wide = steps.set_index([*_key(steps), "step"])[column].unstack("step")
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
    fig, own = _own(ax)
    if own:
        fig = _figure(9, 4.5)
        ax = fig.subplots()
    colour = colour or "#1f77b4"
    x = fan["date"].to_numpy()
    ax.fill_between(x, fan["q05"], fan["q95"], color=colour, alpha=0.18, lw=0,
                    label="90% of runs", gid="fan-90")
    ax.fill_between(x, fan["q25"], fan["q75"], color=colour, alpha=0.38, lw=0,
                    label="50% of runs", gid="fan-50")
    ax.plot(x, fan["q50"], color=_shade(colour, -0.25), lw=2, label="median", gid="fan-median")
    _date_axis(ax, info)
    if marks:
        _mark_events(ax, event_marks(info))
    ax.grid(alpha=0.25)
    if column.startswith("control_"):
        ax.set_ylim(0, 1)
        _percent_axis(ax.yaxis)
    else:
        ax.set_ylim(bottom=0)
    if own:
        ax.set_ylabel(label or column)
        ax.legend(loc="upper left", fontsize=8)
        _titles(fig, ax, f"{info.name}: {label or column}",
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
    axes, own = _axes_list(ax, 2 * n, lambda: _figure(12, 2.3 * n + 2.0).subplots(
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
        _caption(fig, [f"Median, 50% and 90% bands over {len(t.runs)} runs. Runs that ended "
                       f"early in a military victory ({k_end} of {len(t.runs)}) are carried "
                       "forward at their final state, so the bands do not shrink to the "
                       "runs still fighting."
                       + (f" All {t.n_points} sweep points pooled." if t.kind == "sweep"
                          else ""),
                       _event_key(marks)], own)
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
    axes, own = _axes_list(ax, n, lambda: _figure(11, 2.6 * n + 1.6).subplots(
        n, 1, sharex=True, sharey=True, squeeze=False).ravel())
    fig = axes[0].figure
    colours = info.backer_colours(backers)
    marks = event_marks(info)
    x = df["date"].to_numpy()
    for a, (bloc, ks) in zip(axes, groups.items(), strict=True):
        a.stackplot(x, *[df[k].fillna(0).to_numpy() for k in ks],
                    labels=[info.label(k) for k in ks], colors=[colours[k] for k in ks],
                    alpha=0.9, edgecolor="white", linewidth=0.4)
        _date_axis(a, info)
        _mark_events(a, marks, numbers=a is axes[0])
        a.set_ylim(bottom=0)
        a.set_title(f"Backers of {info.bloc_label(bloc)}", loc="left", fontsize=10)
        a.set_ylabel("units/week")
        a.grid(alpha=0.25)
        a.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    axes[-1].set_xlabel("Date")
    if own:
        fig.suptitle(f"{info.name}: backers' support over time", x=0.01, ha="left",
                     fontsize=13, fontweight="bold")
        _caption(fig, [f"Median weekly support of each backer over {len(t.runs)} runs, stacked "
                       "(the height is the sum of the medians). Runs ended early by victory "
                       "are carried forward at their final level."
                       + (f" All {t.n_points} sweep points pooled." if t.kind == "sweep"
                          else ""),
                       _event_key(marks)], own)
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
    key = _key(ev)
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

    def make():
        fig = _figure(12, 8.2)
        gs = fig.add_gridspec(2, 2, height_ratios=[1.15, 1])
        return [fig.add_subplot(gs[0, :]), fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[1, 1])]

    axes, own = _axes_list(ax, 3, make)
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
    _date_axis(a, info, label=True)
    _mark_events(a, marks)
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
               xerr=_err(by["share_in_force"], by["low"], by["high"]), fmt="none", ecolor=INK,
               capsize=3, lw=1)
    for yi, r in zip(y, by.itertuples(), strict=True):
        acc = "" if math.isnan(r.responses_accepted) else \
            f"; {r.responses_accepted:.0%} of answers yes"
        hi_ = 0.0 if math.isnan(r.high) else r.high
        right = hi_ < 0.55
        b.text(hi_ + 0.02 if right else r.low - 0.02, yi, f"{r.in_force} of {r.proposals}{acc}",
               va="center", ha="left" if right else "right", fontsize=8, color=INK,
               bbox=None if right else {"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1})
    b.set_yticks(y, [f"{r.label}\n{r.per_run:.1f} per run" for r in by.itertuples()])
    b.invert_yaxis()
    b.set_xlim(0, 1.0)
    _percent_axis(b.xaxis)
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
        c.errorbar(sb["share"], y2, xerr=_err(sb["share"], sb["low"], sb["high"]), fmt="none",
                   ecolor=INK, capsize=3, lw=1)
    for yi, r in zip(y2, sb.itertuples(), strict=True):
        c.text(r.high + 0.02, yi, f"{r.share:.0%} ({r.runs} runs)", va="center", fontsize=8,
               color=INK)
    c.set_yticks(y2, [f"{r.label} ({r.kind})" for r in sb.itertuples()])
    c.invert_yaxis()
    top = float(sb["high"].max()) if len(sb) else 0.5
    c.set_xlim(0, min(1.0, top + 0.25))
    _percent_axis(c.xaxis)
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
        _caption(fig, [f"Over {d.n_runs} runs. A proposal comes into force when every armed "
                       "faction accepts it; truces last a few weeks, ceasefires are "
                       "open-ended." + (f" All {t.n_points} sweep points pooled."
                                        if t.kind == "sweep" else ""),
                       _event_key(marks)], own)
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
    key = _key(runs)
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
    fig, own = _own(ax)
    axes_w = 7.5
    if own:
        aspect = min(max((yr + 0.25 * span) / (xr + 0.25 * span), 0.4), 1.5)
        fig = _figure(axes_w + 3.2, min(max(axes_w * aspect + 2.2, 5.0), 12.0))
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
    for k, i in enumerate(order):
        s = df.index[i]
        cx, cy = centres[k]
        hold = df.loc[s, "holder"]
        ax.text(cx, cy, texts[i], ha="center", va="center", fontsize=fs,
                color=_shade(info.bloc_colour(hold), -0.35), zorder=4, gid="site-label")
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
    _titles(fig, ax, f"{info.name}: who holds each site at the end",
            f"Pie: share of {n} runs in which each bloc holds the site at the end", own)
    _caption(fig, ["Label: the share of runs in which the site's most frequent final holder "
                   "holds it (in that bloc's colour). Site size grows with its value; lines "
                   "join neighbouring sites. "
                   + ("Positions: longitude and latitude (equirectangular)." if geo else
                      "Positions: a schematic layout of the site graph (sites lack "
                      "coordinates).")
                   + (f" All {t.n_points} sweep points pooled." if t.kind == "sweep" else "")],
             own)
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
    key = _key(runs)
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
    end = _nullable_float(deals["end_step"]) if len(deals) else np.array([])
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
    axes, own = _axes_list(ax, 2, lambda: _figure(12, 5.2).subplots(
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
    _percent_axis(a.yaxis)
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
    b.set_xlabel(f"Breakdowns over {len(t.runs)} runs")
    b.set_title("Why deals broke down (by the faction that broke it)", loc="left",
                fontsize=10)
    b.grid(axis="x", alpha=0.25)
    if actors:
        b.legend(loc="lower right", fontsize=8)
    if own:
        fig.suptitle(f"{info.name}: the life of ceasefires", x=0.01, ha="left", fontsize=13,
                     fontweight="bold")
        _caption(fig, [f"{len(d.deals)} deals came into force ({n_cf} open-ended ceasefires, "
                       f"{len(d.deals) - n_cf} short truces); {len(bd)} broke down. Truces "
                       "that simply expired are not breakdowns."
                       + (f" All {t.n_points} sweep points pooled." if t.kind == "sweep"
                          else "")], own)
    return fig


# ============================================================================ sweeps
def sweep_paths(data: Any) -> list[str]:
    """The varied paths of a sweep: the manifest's design paths found in the points table."""
    t = as_tables(data)
    pts = t.points
    if pts is None:
        return []
    design = t.manifest.get("design") or {}
    paths = [p for p in (design.get("paths") or []) if p in pts.columns]
    return paths or [c for c in pts.columns if c != "point"]


def design_kind(data: Any) -> str:
    return str((as_tables(data).manifest.get("design") or {}).get("design", "grid"))


def path_label(path: str) -> str:
    """A dotted path with its unit from the scenario schema, e.g. 'backers.x.capacity
    (units/week)'."""
    from sim import scenario as S

    groups = {"model": S.ModelParams, "factions": S.Faction, "backers": S.Backer,
              "mediators": S.Mediator, "sites": S.Site}
    cls = groups.get(path.split(".")[0])
    f = cls.model_fields.get(path.split(".")[-1]) if cls else None
    extra = f.json_schema_extra if f is not None and isinstance(f.json_schema_extra, dict) \
        else {}
    unit = extra.get("unit", "")
    return f"{path} ({unit})" if unit else path


def _point_runs(t: Tables) -> pd.DataFrame:
    runs = t.runs
    if "point" not in runs.columns:
        raise ResultsError("the runs table has no point column (not a sweep)")
    pts = t.points
    if pts is None:
        raise ResultsError("no points table (points.parquet)")
    return runs[["point", "outcome"]].merge(pts, on="point", how="left")


def _is_categorical(values: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values)


def _bins(values: pd.Series, max_bins: int) -> tuple[pd.Series, list[str], np.ndarray, str]:
    """Group a varied path's values: each distinct value when few ("values"), quantile bins of
    a sampled range ("bins"), or the categories of a list of strings or booleans
    ("categories"). Returns (group code per row, group labels, x position per group, mode)."""
    if _is_categorical(values):
        text = values.astype(str)
        cats = sorted(text.unique())
        code = text.map({c: i for i, c in enumerate(cats)}).astype(int)
        return code, cats, np.arange(len(cats), dtype=float), "categories"
    v = pd.to_numeric(values, errors="coerce")
    uniq = np.sort(v.dropna().unique())
    if len(uniq) <= max_bins:
        code = pd.Series(np.searchsorted(uniq, v), index=values.index)
        return code, [f"{u:g}" for u in uniq], uniq.astype(float), "values"
    edges = np.unique(np.quantile(v.dropna(), np.linspace(0, 1, max_bins + 1)))
    code = pd.Series(np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2),
                     index=values.index)
    labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(len(edges) - 1)]
    mids = np.array([float(v[code == i].median()) if (code == i).any() else
                     (edges[i] + edges[i + 1]) / 2 for i in range(len(edges) - 1)])
    return code, labels, mids, "bins"


def _codes(values: pd.Series) -> np.ndarray:
    """Numeric values of a varied path (categories as their sorted codes)."""
    if _is_categorical(values):
        text = values.astype(str)
        cats = sorted(text.unique())
        return text.map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def sweep_outcomes_dataset(data: Any, path: str, *, max_bins: int = 10) -> pd.DataFrame:
    """Probability of each outcome against the value of one varied path (other paths pooled).

    With few distinct values each is its own group; sampled ranges are grouped into quantile
    bins; strings and booleans are categories. Columns: group, label, x, grouping ("values",
    "bins" or "categories"), outcome, runs, n, share, low, high (Wilson 95%).
    """
    t = as_tables(data)
    pr = _point_runs(t)
    if path not in pr.columns:
        raise ResultsError(f"{path!r} is not a varied path of this sweep")
    code, labels, mids, mode = _bins(pr[path], max_bins)
    pr = pr.assign(group=code.to_numpy())
    classes = outcome_classes(t.runs, t.info.armed)
    rows = []
    for g, sub in pr.groupby("group", sort=True):
        n = len(sub)
        counts = sub["outcome"].astype(str).value_counts()
        for c in classes:
            k = int(counts.get(c, 0))
            lo, hi = wilson(k, n)
            rows.append({"group": int(g), "label": labels[int(g)], "x": mids[int(g)],
                         "grouping": mode, "outcome": c, "runs": k, "n": n,
                         "share": k / n if n else math.nan, "low": lo, "high": hi})
    return pd.DataFrame(rows)


def plot_sweep_outcomes(data: Any, path: str, *, ax: Sequence[Axes] | None = None) -> Figure:
    """Small multiples, one per outcome (durable ceasefire first): the probability of the
    outcome against the value of `path`, with 95% Wilson bands (other varied paths pooled).
    `ax`: one Axes per outcome that occurs (and the durable ceasefire)."""
    t = as_tables(data)
    info = t.info
    df = sweep_outcomes_dataset(t, path)
    seen = df.groupby("outcome")["runs"].sum()
    order = ["durable_ceasefire"] + [o for o in dict.fromkeys(df["outcome"])
                                     if o != "durable_ceasefire" and seen.get(o, 0) > 0]
    n = len(order)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)

    def make():
        fig = _figure(4.0 * ncols + 0.6, 2.9 * nrows + 1.6)
        axs = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
        for extra in axs[n:]:
            extra.set_visible(False)
        return axs[:n]

    axes, own = _axes_list(ax, n, make)
    fig = axes[0].figure
    mode = str(df["grouping"].iloc[0]) if len(df) else "values"
    binned = mode == "bins"
    for a, o in zip(axes, order, strict=True):
        sub = df[df["outcome"] == o].sort_values("x")
        col = outcome_colour(o, info)
        a.fill_between(sub["x"], sub["low"], sub["high"], color=col, alpha=0.25, lw=0)
        a.plot(sub["x"], sub["share"], color=_shade(col, -0.2), marker="o", ms=4, lw=1.8,
               gid="sweep-line")
        a.set_title(outcome_label(o, info), loc="left", fontsize=10,
                    fontweight="bold" if o == "durable_ceasefire" else "normal")
        a.set_ylim(0, 1)
        _percent_axis(a.yaxis)
        a.grid(alpha=0.25)
        if mode == "categories":
            labels = sub.drop_duplicates("x")
            a.set_xticks(labels["x"], labels["label"])
    for a in axes:
        if a.get_subplotspec().is_last_row() or not own:
            a.set_xlabel(path_label(path), fontsize=9)
        if a.get_subplotspec().is_first_col():
            a.set_ylabel("Share of runs")
    if own:
        # the last row may be incomplete: label the x axes of panels with no panel below
        for i, a in enumerate(axes):
            if i + ncols >= n:
                a.set_xlabel(path_label(path), fontsize=9)
                a.xaxis.set_tick_params(labelbottom=True)
        others = [p for p in sweep_paths(t) if p != path]
        fig.suptitle(f"{info.name}: outcomes against {path}", x=0.01, ha="left", fontsize=13,
                     fontweight="bold")
        _caption(fig, [f"Lines: share of runs with each outcome; bands: 95% Wilson intervals. "
                       f"{len(t.runs)} runs at {t.n_points} sweep points."
                       + (" Values grouped into quantile bins (points: bin medians)."
                          if binned else "")
                       + (f" Pooled over the other varied paths: {', '.join(others)}."
                          if others else "")], own)
    return fig


def sweep_heatmap_dataset(data: Any, x_path: str, y_path: str, *, max_bins: int = 8
                          ) -> dict[str, Any]:
    """P(durable ceasefire) over two varied paths (others pooled): a grid of shares.

    Returns share and n (arrays indexed [y, x]), the x and y group labels, and whether the
    values were binned (sampled designs: quantile bins).
    """
    t = as_tables(data)
    pr = _point_runs(t)
    for p in (x_path, y_path):
        if p not in pr.columns:
            raise ResultsError(f"{p!r} is not a varied path of this sweep")
    cx, lx, _, mx = _bins(pr[x_path], max_bins)
    cy, ly, _, my = _bins(pr[y_path], max_bins)
    bx, by = mx == "bins", my == "bins"
    durable = (pr["outcome"].astype(str) == "durable_ceasefire").to_numpy()
    share = np.full((len(ly), len(lx)), np.nan)
    n = np.zeros((len(ly), len(lx)), dtype=int)
    for (i, j), idx in pd.DataFrame({"y": cy, "x": cx}).groupby(["y", "x"]).groups.items():
        sel = durable[np.asarray(list(idx))]
        n[i, j] = len(sel)
        share[i, j] = sel.mean() if len(sel) else np.nan
    return {"x_path": x_path, "y_path": y_path, "x_labels": lx, "y_labels": ly,
            "share": share, "n": n, "binned": bx or by}


def plot_sweep_heatmap(data: Any, paths: Sequence[str] | None = None, *,
                       ax: Axes | None = None) -> Figure:
    """Heatmap of the probability of a durable ceasefire over two varied paths (annotated with
    the share and the number of runs per cell; other paths pooled)."""
    t = as_tables(data)
    info = t.info
    paths = list(paths or sweep_paths(t)[:2])
    if len(paths) != 2:
        raise ResultsError("a heatmap needs two varied paths")
    d = sweep_heatmap_dataset(t, paths[0], paths[1])
    fig, own = _own(ax)
    share = d["share"]
    if own:
        fig = _figure(max(6.5, 0.9 * share.shape[1] + 3.5), max(4.8, 0.6 * share.shape[0] + 2.8))
        ax = fig.subplots()
    vmax = max(0.05, math.ceil(np.nanmax(share) * 10) / 10) if np.isfinite(share).any() else 1
    im = ax.imshow(share, origin="lower", cmap="viridis", vmin=0, vmax=vmax, aspect="auto",
                   gid="heatmap")
    cb = ax.figure.colorbar(im, ax=ax, format=PercentFormatter(1.0, decimals=0))
    cb.set_label("P(durable ceasefire)")
    if share.size <= 150:
        for i in range(share.shape[0]):
            for j in range(share.shape[1]):
                v = share[i, j]
                if np.isnan(v):
                    continue
                light = im.cmap(im.norm(v))
                lum = 0.299 * light[0] + 0.587 * light[1] + 0.114 * light[2]
                ax.text(j, i, f"{v:.0%}\nn={d['n'][i, j]}", ha="center", va="center",
                        fontsize=7.5, color="black" if lum > 0.55 else "white")
    ax.set_xticks(range(len(d["x_labels"])), d["x_labels"],
                  rotation=30 if d["binned"] or len(d["x_labels"]) > 8 else 0,
                  ha="right" if d["binned"] or len(d["x_labels"]) > 8 else "center")
    ax.set_yticks(range(len(d["y_labels"])), d["y_labels"])
    ax.set_xlabel(path_label(paths[0]))
    ax.set_ylabel(path_label(paths[1]))
    others = [p for p in sweep_paths(t) if p not in paths]
    _titles(fig, ax, f"{info.name}: probability of a durable ceasefire",
            f"{len(t.runs)} runs at {t.n_points} sweep points; cell: share and runs", own)
    _caption(fig, [("Values grouped into quantile bins. " if d["binned"] else "")
                   + (f"Pooled over the other varied paths: {', '.join(others)}."
                      if others else "")], own)
    return fig


def influence_dataset(data: Any, *, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """How much each varied path moves the share of durable ceasefires, over sweep points.

    Per path: Spearman's rank correlation of the point's value with the point's durable-ceasefire
    share (95% interval by Fisher's z with the Bonett–Wright standard error
    sqrt(1.06 / (n - 3)), and its p-value); and a first-order sensitivity index estimated from
    the given sample (Var(E[Y | X_i]) / Var(Y), by quantile bins of X_i, bias-adjusted like
    epsilon-squared so a path with no effect scores about 0; 95% interval by bootstrap over
    points). Y, the point's share, includes Monte Carlo noise from its finite runs.
    """
    from scipy import stats

    t = as_tables(data)
    runs = t.runs
    pts = t.points
    if pts is None or "point" not in runs.columns:
        raise ResultsError("not a sweep: no points table")
    per = runs.assign(d=(runs["outcome"].astype(str) == "durable_ceasefire")).groupby(
        "point")["d"].agg(["mean", "size"]).rename(columns={"mean": "durable", "size": "runs"})
    df = pts.set_index("point").join(per, how="inner")
    y = df["durable"].to_numpy(dtype=float)
    n = len(df)
    rng = np.random.default_rng(seed)
    boots = [rng.integers(0, n, n) for _ in range(n_boot)] if n > 3 else []
    rows = []
    for p in sweep_paths(t):
        x = _codes(df[p])
        ok = ~np.isnan(x)
        categorical = _is_categorical(df[p])
        if categorical or ok.sum() < 4 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
            rho, pval = math.nan, math.nan
        else:
            res = stats.spearmanr(x[ok], y[ok])
            rho, pval = float(res.statistic), float(res.pvalue)
        m = int(ok.sum())
        if m > 4 and not math.isnan(rho):
            zr = math.atanh(max(min(rho, 0.999999), -0.999999))
            se = math.sqrt(1.06 / (m - 3))
            lo, hi = math.tanh(zr - Z95 * se), math.tanh(zr + Z95 * se)
        else:
            lo = hi = math.nan
        xo, yo = x[ok], y[ok]
        s1 = _first_order(xo, yo)
        bs = [_first_order(xo[i], yo[i]) for i in boots if len(xo) == n]
        bs = [v for v in bs if not math.isnan(v)]
        s_lo, s_hi = (np.quantile(bs, [0.025, 0.975]) if len(bs) > 10 else (math.nan, math.nan))
        rows.append({"path": p, "categorical": categorical, "points": m, "spearman": rho,
                     "low": lo, "high": hi, "p_value": pval, "first_order": s1,
                     "first_order_low": float(s_lo), "first_order_high": float(s_hi)})
    out = pd.DataFrame(rows)
    if len(out):
        out = out.sort_values("spearman", key=lambda s: -s.abs().fillna(-1), ignore_index=True)
    return out


def _first_order(x: np.ndarray, y: np.ndarray) -> float:
    """Given-data first-order index: between-bin share of variance, bias-adjusted (epsilon²)."""
    n = len(y)
    if n < 8 or np.ptp(y) == 0:
        return math.nan
    n_bins = int(min(max(2, round(math.sqrt(n / 2))), len(np.unique(x)), 20))
    if n_bins < 2:
        return math.nan
    if len(np.unique(x)) <= n_bins:
        code = np.searchsorted(np.unique(x), x)
    else:
        order = np.argsort(x, kind="stable")
        code = np.empty(n, dtype=int)
        code[order] = np.arange(n) * n_bins // n
    mean = y.mean()
    ss_tot = float(((y - mean) ** 2).sum())
    ss_b = sum(len(y[code == g]) * (y[code == g].mean() - mean) ** 2 for g in np.unique(code))
    k = len(np.unique(code))
    ms_w = (ss_tot - ss_b) / max(n - k, 1)
    return float(max(0.0, (ss_b - (k - 1) * ms_w) / (ss_tot + ms_w)))


def plot_influence(data: Any, *, ax: Sequence[Axes] | None = None) -> Figure:
    """The influence of each varied path on the share of durable ceasefires: Spearman rank
    correlations (left) and given-data first-order sensitivity indices (right), each with 95%
    intervals. See :func:`influence_dataset` for the estimators. `ax`: two Axes."""
    t = as_tables(data)
    info = t.info
    df = influence_dataset(t)
    n = len(df)
    axes, own = _axes_list(ax, 2, lambda: _figure(12, 0.55 * n + 2.6).subplots(
        1, 2, sharey=True))
    fig = axes[0].figure
    a, b = axes
    y = np.arange(n)
    cols = ["#1a9850" if v > 0 else "#d73027" for v in df["spearman"].fillna(0)]
    a.barh(y, df["spearman"].fillna(0), color=cols, height=0.6, gid="spearman-bar")
    a.errorbar(df["spearman"].fillna(0), y, xerr=_err(df["spearman"], df["low"], df["high"]),
               fmt="none", ecolor=INK, capsize=3, lw=1)
    for yi, r in zip(y, df.itertuples(), strict=True):
        ptxt = "p<0.001" if r.p_value < 0.001 else f"p={r.p_value:.2g}"
        why = ("categorical: no rank order" if r.categorical
               else "no variation in the outcome")
        a.text(0.98, yi - 0.32, f"ρ={r.spearman:+.2f}, {ptxt}" if not math.isnan(r.spearman)
               else why, va="center", ha="right", fontsize=8,
               color=INK, transform=a.get_yaxis_transform())
    a.axvline(0, color=INK, lw=0.8)
    a.set_xlim(-1, 1)
    a.set_yticks(y, [path_label(p) for p in df["path"]], fontsize=8.5)
    a.invert_yaxis()
    a.set_xlabel("Spearman ρ: point value vs. its durable-ceasefire share")
    a.set_title("Rank correlation (95% interval)", loc="left", fontsize=10)
    a.grid(axis="x", alpha=0.25)
    b.barh(y, df["first_order"].fillna(0), color="#4575b4", height=0.6, gid="sobol-bar")
    b.errorbar(df["first_order"].fillna(0), y, xerr=_err(
        df["first_order"], df["first_order_low"], df["first_order_high"]), fmt="none",
        ecolor=INK, capsize=3, lw=1)
    b.set_xlim(0, 1)
    b.set_xlabel("First-order index (share of the variance due to the path alone)")
    b.set_title("First-order sensitivity (given-data estimate, 95% bootstrap)", loc="left",
                fontsize=10)
    b.grid(axis="x", alpha=0.25)
    if own:
        fig.suptitle(f"{info.name}: which varied paths matter for a durable ceasefire", x=0.01,
                     ha="left", fontsize=13, fontweight="bold")
        _caption(fig, [f"{design_kind(t)} design, {t.n_points} points, {len(t.runs)} runs. "
                       "Outcome per point: its share of durable ceasefires (with Monte Carlo "
                       "noise from its runs). First-order index Var(E[Y|X])/Var(Y) estimated "
                       "from the sample by quantile bins of each path, bias-adjusted "
                       "(epsilon²), not by Saltelli's pick-freeze scheme."], own)
    return fig


# ============================================================================ registry
@dataclass(frozen=True)
class Chart:
    """A chart the command line can draw: name, what it shows, which tables it needs."""

    name: str
    title: str
    needs: tuple[str, ...]
    sweep: bool
    applies: Callable[[Tables], str | None]     # None if it applies, else the reason not
    draw: Callable[[Tables], list[tuple[str, str, Figure]]]  # (file stem, title, figure)


@dataclass
class Rendered:
    chart: str
    stem: str
    title: str
    figure: Figure
    path: Path | None = None
    extra: dict = field(default_factory=dict)


def _always(t: Tables) -> str | None:
    return None


def _needs_backers(t: Tables) -> str | None:
    if not any(c.startswith("support_") for c in t.steps.columns):
        return "the scenario has no backers"
    return None


def _needs_proposals(t: Tables) -> str | None:
    ev = t.events
    if not len(ev) or not (ev["kind"] == "proposal").any():
        return "no proposal was made in any run"
    return None


def _needs_sites(t: Tables) -> str | None:
    return None if t.info.sites else "the manifest has no scenario (sites unknown)"


def _needs_deals(t: Tables) -> str | None:
    ev = t.events
    if not len(ev) or not ev["kind"].isin(["ceasefire", "truce"]).any():
        return "no ceasefire or truce came into force in any run"
    return None


def _needs_sweep(t: Tables) -> str | None:
    if t.kind != "sweep":
        return "a run folder, not a sweep (no varied paths)"
    if not sweep_paths(t):
        return "the sweep has no varied paths in points.parquet"
    return None


def _needs_two_paths(t: Tables) -> str | None:
    why = _needs_sweep(t)
    if why:
        return why
    n = len(sweep_paths(t))
    return None if n >= 2 else f"needs two varied paths; this sweep varies {n}"


def _needs_sampled(t: Tables) -> str | None:
    why = _needs_sweep(t)
    if why:
        return why
    kind = design_kind(t)
    if kind not in ("lhs", "sobol"):
        return f"only for sampled designs (lhs, sobol); this sweep is a {kind} design"
    if t.n_points < 8:
        return f"needs at least 8 sweep points; this sweep has {t.n_points}"
    return None


def _one(stem: str, title: str, fn) -> Callable[[Tables], list[tuple[str, str, Figure]]]:
    return lambda t: [(stem, title, fn(t))]


def _draw_sweep_outcomes(t: Tables) -> list[tuple[str, str, Figure]]:
    return [(f"sweep-outcomes-{p}", f"Outcomes against {p}", plot_sweep_outcomes(t, p))
            for p in sweep_paths(t)]


def _heatmap_pairs(t: Tables) -> list[tuple[str, str]]:
    paths = sweep_paths(t)
    if len(paths) == 2:
        return [(paths[0], paths[1])]
    if design_kind(t) == "grid" or t.n_points < 8:
        return [(paths[0], paths[1])]
    inf = influence_dataset(t, n_boot=0)
    top = list(inf["path"][:2])
    return [(top[0], top[1])]


def _draw_heatmap(t: Tables) -> list[tuple[str, str, Figure]]:
    return [(f"sweep-heatmap-{x}-{y}", f"P(durable ceasefire) over {x} and {y}",
             plot_sweep_heatmap(t, [x, y])) for x, y in _heatmap_pairs(t)]


CHARTS: dict[str, Chart] = {c.name: c for c in [
    Chart("outcomes", "Outcome shares", ("runs",), False, _always,
          _one("outcomes", "Outcome shares with 95% intervals", plot_outcomes)),
    Chart("survival", "Time to the first ceasefire", ("runs",), False, _always,
          _one("survival", "Time to the first open-ended ceasefire (Kaplan–Meier)",
               plot_survival)),
    Chart("fans", "Control and strength over time", ("runs", "steps"), False, _always,
          _one("fans", "Control and strength over time (fan charts)", plot_fans)),
    Chart("support", "Backers' support over time", ("runs", "steps"), False, _needs_backers,
          _one("support", "Backers' support over time", plot_support)),
    Chart("diplomacy", "Diplomacy", ("runs", "events"), False, _needs_proposals,
          _one("diplomacy", "Proposals, acceptance and successful proposers", plot_diplomacy)),
    Chart("map", "Who holds each site at the end", ("runs", "events"), False, _needs_sites,
          _one("map", "Who holds each site at the end", plot_site_map)),
    Chart("ceasefire-life", "Ceasefire life and breakdowns", ("runs", "events"), False,
          _needs_deals,
          _one("ceasefire-life", "How long ceasefires held and why they broke down",
               plot_ceasefire_life)),
    Chart("sweep-outcomes", "Outcomes against each varied path", ("runs",), True, _needs_sweep,
          _draw_sweep_outcomes),
    Chart("sweep-heatmap", "Durable ceasefire over two paths", ("runs",), True,
          _needs_two_paths, _draw_heatmap),
    Chart("sweep-influence", "Influence of each varied path", ("runs",), True, _needs_sampled,
          _one("sweep-influence", "Influence of each varied path on a durable ceasefire",
               plot_influence)),
]}


def chart_names() -> list[str]:
    return list(CHARTS)


def render_charts(data: Any, names: Sequence[str] | None = None, *,
                  out_dir: str | Path | None = None, fmt: str = "png", dpi: int = 130,
                  keep: bool = True, errors: str = "raise"
                  ) -> tuple[list[Rendered], dict[str, str]]:
    """Draw the named charts (default: all) that apply to the data.

    Returns (rendered charts, {chart name: reason} for those that do not apply). With
    `out_dir`, each figure is saved there as ``<stem>.<fmt>``. With ``keep=False`` figures are
    dropped after saving (their ``figure`` is None) to save memory. With ``errors="skip"`` a
    chart that fails to draw is reported in the second result as ``"failed: ..."`` instead of
    raising (the command line uses this so one bad chart does not lose the others).
    """
    t = as_tables(data)
    names = list(names or CHARTS)
    unknown = [n for n in names if n not in CHARTS]
    if unknown:
        raise ValueError(f"unknown chart(s): {', '.join(unknown)}; known: "
                         + ", ".join(CHARTS))
    done: list[Rendered] = []
    skipped: dict[str, str] = {}
    for name in names:
        chart = CHARTS[name]
        try:
            why = chart.applies(t)
            if why:
                skipped[name] = why
                continue
            for stem, title, fig in chart.draw(t):
                r = Rendered(name, stem, title, fig)
                if out_dir is not None:
                    r.path = save_figure(fig, Path(out_dir) / f"{stem}.{fmt}", fmt, dpi)
                if not keep:
                    r.figure = None
                done.append(r)
        except OSError:
            raise  # cannot write the file: the caller says where
        except Exception as exc:  # noqa: BLE001 - reported per chart with errors="skip"
            if errors == "raise":
                raise
            skipped[name] = f"failed: {type(exc).__name__}: {exc}"
    return done, skipped
