"""The data of the charts: a results folder's tables, its manifest and what the charts need
from its scenario (names, blocs, sites, dated events, the calendar).

Reading a results folder for the charts happens here and nowhere else in :mod:`sim.plots`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.folder import Results, ResultsError, ResultsFolder
from sim.plots.style import (
    BLOC_COLOURS,
    MEDIATOR_COLOURS,
    OUTCOME_COLOURS,
    OUTCOME_NAMES,
    SHADES,
    EventMark,
    shade,
)

__all__ = [
    "TABLES",
    "ResultsError",
    "ScenarioInfo",
    "Tables",
    "as_tables",
    "event_marks",
    "nullable_float",
    "open_results",
    "outcome_colour",
    "outcome_label",
    "run_key",
]


# ============================================================================ errors and loading
TABLES = ("runs", "steps", "events")


def open_results(folder: str | Path, need: Iterable[str] = ("runs",)) -> Results:
    """Open a results folder, checking the manifest and the tables in `need` are there.

    Raises :class:`ResultsError` naming the path for a missing folder, manifest or table, or one
    that cannot be read. Tables not in `need` are read later, when first used.
    """
    rf = ResultsFolder.open(folder, need=())
    folder = rf.path
    res = rf.results()
    needed = list(dict.fromkeys(need))
    if rf.kind == "sweep" and "points" not in needed:
        needed.append("points")
    for name in needed:
        path = folder / f"{name}.parquet"
        rf.require(name)
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
        return shade(self.bloc_colour(bloc), SHADES[i % len(SHADES)])

    def backer_colours(self, keys: Sequence[str]) -> dict[str, str]:
        """Distinct shades of the client's bloc colour for backers drawn together."""
        out = {}
        by_bloc: dict[str, list[str]] = {}
        for k in keys:
            by_bloc.setdefault(self.backer_bloc(k), []).append(k)
        for bloc, ks in by_bloc.items():
            ts = np.linspace(-0.35, 0.55, len(ks)) if len(ks) > 1 else [0.0]
            for k, t in zip(ks, ts, strict=True):
                out[k] = shade(self.bloc_colour(bloc), float(t))
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
    """The tables of a results folder (read when first used), its manifest and scenario info.

    ``point``: None, or the sweep point these tables were narrowed to (:meth:`at_point`)."""

    point: int | None = None

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
        self.point_values: dict[str, Any] = {}  # the varied values of `point`

    def _get(self, name: str) -> pd.DataFrame:
        df = self._t[name]
        if df is None and self.source is not None:
            df = getattr(self.source, name)
            self._t[name] = df
        if df is None:
            raise ResultsError(f"no {name} table given (pass a Results or {name}=...)")
        if self.point is not None and "point" in df.columns:
            df = df[df["point"] == self.point].drop(columns="point").reset_index(drop=True)
            self._t[name] = df
        return df

    def at_point(self, point: int) -> Tables:
        """The runs of one sweep point, as the tables of a run folder (run charts draw them;
        their titles name the point). :class:`ResultsError` naming the valid points if the
        sweep has no such point, or if these are not a sweep's tables. ``point_values`` holds
        the point's varied values."""
        if self.kind != "sweep" or self.point is not None:
            raise ResultsError(f"--point {point}: only for a sweep folder (this is a run "
                               "folder: its charts need no --point)")
        have = sorted(int(p) for p in self.runs["point"].unique())
        if point not in have:
            span = f"0 to {max(have)}" if have == list(range(len(have))) else \
                ", ".join(map(str, have[:20])) + (" ..." if len(have) > 20 else "")
            raise ResultsError(f"--point {point}: this sweep has no finished runs at that point; "
                               f"its points are {span} (see points.parquet)")
        sub = Tables(*(self._t[n] for n in TABLES), manifest={**self.manifest, "kind": "run"},
                     scenario=self._scenario, source=self.source)
        sub.point = point
        values = {}
        pts = self.points
        if pts is not None:
            row = pts[pts["point"] == point]
            if len(row):
                values = {k: v for k, v in row.iloc[0].items() if k != "point"}
        base = self.info
        sub._info = replace(base, name=f"{base.name}, sweep point {point}")
        sub.point_values = values
        return sub

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
        if self.point is not None:
            return 1
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


def run_key(df: pd.DataFrame) -> list[str]:
    """Columns identifying a run: run, with point in a sweep."""
    return ["point", "run"] if "point" in df.columns else ["run"]


def nullable_float(s: pd.Series) -> np.ndarray:
    """A column of numbers with gaps (None, pd.NA) as a float array with NaN for the gaps."""
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


# ============================================================================ labels and events
def outcome_label(outcome: str, info: ScenarioInfo | None = None) -> str:
    """An outcome class's name for people ("Victory: <faction's name>" for a victory)."""
    if outcome.startswith("victory:"):
        k = outcome.split(":", 1)[1]
        return f"Victory: {info.label(k) if info else k}"
    return OUTCOME_NAMES.get(outcome, outcome.replace("_", " ").capitalize())


def outcome_colour(outcome: str, info: ScenarioInfo) -> str:
    """An outcome class's colour (a victory in the winning faction's colour)."""
    if outcome.startswith("victory:"):
        return info.faction_colour(outcome.split(":", 1)[1])
    return OUTCOME_COLOURS.get(outcome, "#bbbbbb")


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
