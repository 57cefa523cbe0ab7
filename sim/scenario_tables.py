"""A scenario, its overrides and a sweep's design as tables for people (the report's scenario
section), and values written for people: yes/no, dates, rounded numbers, never a Python repr.

Each table is a :class:`Table`: a DataFrame of display strings (what the HTML cell and the CSV
download both hold), a title, a note, and which cells state something other than the library
default (the report marks them).

>>> human(True), human(None), human(0.123456), human(250.0), human(("a", "b"))
('yes', '', '0.1235', '250', 'a, b')
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["Table", "design_tables", "human", "override_table", "scenario_tables",
           "week_date"]


# ============================================================================ values
def human(v: Any) -> str:
    """A value as a person reads it: booleans as yes/no, None and NaN as an empty cell, dates
    as ISO dates, whole numbers without a decimal point, other numbers to 4 significant
    digits (no exponent between 0.0001 and a million), lists joined by commas, mappings as
    ``key = value`` pairs."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return _number(float(v))
    if isinstance(v, pd.Timestamp):
        return str(v.date()) if v == v.normalize() else str(v.floor("min"))[:16]
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()[:10] if not isinstance(v, dt.datetime) or v.time() == dt.time()\
            else v.isoformat(" ", "minutes")
    if isinstance(v, BaseModel):
        return human(v.model_dump())
    if isinstance(v, dict):
        return "; ".join(f"{k} = {human(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple, set, frozenset, np.ndarray)):
        return ", ".join(human(x) for x in v)
    return str(v)


def _number(x: float) -> str:
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    a = abs(x)
    if a >= 1000:
        return f"{x:.0f}" if a < 1e15 else f"{x:.3g}"
    if a >= 1e-4:
        return f"{x:.4g}"
    return f"{x:.2e}"


def week_date(start: Any, step: float) -> str:
    """The calendar date of week `step` (step 0 is the start date; a fraction of a week is
    rounded to the nearest day), e.g. week 79.5 from 2019-04-01 is 2020-10-08."""
    day = pd.Timestamp(start) + pd.Timedelta(days=round(float(step) * 7))
    return str(day.date())


# ============================================================================ tables
@dataclass
class Table:
    """A report table: `df` holds display strings; `marked` the (row, column) cells that differ
    from the library default; `name` the stem of its CSV file."""

    title: str
    df: pd.DataFrame
    name: str
    note: str = ""
    marked: set[tuple[int, str]] = field(default_factory=set)
    overridden: dict[tuple[int, str], str] = field(default_factory=dict)

    def mark_overrides(self, paths: dict[str, str], prefix: str, columns: str = "") -> None:
        """Note the cells that the ``--set`` overrides `paths` ({path: text}) set: the row of
        the field, in the column of the actor (or `columns`, for one-column tables)."""
        rows = {f: i for i, f in enumerate(self.df.get("field", pd.Series([], dtype=str)))}
        for path, text in paths.items():
            parts = path.split(".")
            if parts[0] != prefix:
                continue
            col, name = (columns, parts[1]) if columns else (parts[1], parts[-1])
            if name in rows and col in self.df.columns and len(parts) == (2 if columns else 3):
                self.overridden[(rows[name], col)] = text


def _default(model: type[BaseModel], name: str) -> Any:
    f = model.model_fields[name]
    if f.default is PydanticUndefined:
        return PydanticUndefined if f.default_factory is None else f.default_factory()
    return f.default


def _same(a: Any, b: Any) -> bool:
    if b is PydanticUndefined:
        return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a == b


def _unit(model: type[BaseModel], name: str) -> str:
    extra = model.model_fields[name].json_schema_extra
    return extra.get("unit", "") if isinstance(extra, dict) else ""


def _kind(model: type[BaseModel], name: str) -> str:
    extra = model.model_fields[name].json_schema_extra
    return extra.get("kind", "fact") if isinstance(extra, dict) else "fact"


def _default_text(model: type[BaseModel], name: str) -> str:
    d = _default(model, name)
    return "(required)" if d is PydanticUndefined else human(d)


DEFAULT_NOTE = ("Bold cells differ from the library default (the \"default\" column); "
                "outlined cells are set by a --set override. Kind: a fact of the case, a "
                "behaviour (a library default a scenario overrides only for a stated reason) "
                "or a run setting.")


def actors_table(title: str, name: str, actors: dict[str, BaseModel],
                 skip: tuple[str, ...] = ()) -> Table | None:
    """One column per actor, one row per field (with its default, unit and kind)."""
    if not actors:
        return None
    model = type(next(iter(actors.values())))
    fields = [f for f in model.model_fields if f not in skip]
    rows, marked = [], set()
    for i, f in enumerate(fields):
        row = {"field": f}
        for key, a in actors.items():
            v = getattr(a, f)
            row[key] = human(v)
            if not _same(v, _default(model, f)):
                marked.add((i, key))
        row.update({"default": _default_text(model, f), "unit": _unit(model, f),
                    "kind": _kind(model, f)})
        rows.append(row)
    return Table(title, pd.DataFrame(rows), name, DEFAULT_NOTE, marked)


def model_table(params: BaseModel) -> Table:
    model = type(params)
    rows, marked = [], set()
    for i, f in enumerate(model.model_fields):
        v = getattr(params, f)
        rows.append({"field": f, "value": human(v), "default": _default_text(model, f),
                     "unit": _unit(model, f), "kind": _kind(model, f)})
        if not _same(v, _default(model, f)):
            marked.add((i, "value"))
    return Table("Model settings", pd.DataFrame(rows), "model", DEFAULT_NOTE, marked)


def sites_table(scn: Any) -> Table:
    """One row per site, with the share of the map's value it holds."""
    total = sum(s.value for s in scn.sites.values()) or 1.0
    has_xy = any(s.lon is not None for s in scn.sites.values())
    rows = []
    for k, s in scn.sites.items():
        row = {"site": k, "name": s.name or k, "held at the start by": s.controller,
               "value": human(s.value), "share of all value": f"{s.value / total:.0%}",
               "income": human(s.income), "defence": human(s.defence),
               "neighbours": human(s.neighbours)}
        if has_xy:
            row.update({"lon": human(s.lon), "lat": human(s.lat)})
        rows.append(row)
    held: dict[str, float] = {}
    for s in scn.sites.values():
        held[s.controller] = held.get(s.controller, 0.0) + s.value
    note = ("Value held at the start: " + ", ".join(
        f"{k} {v / total:.0%}" for k, v in sorted(held.items(), key=lambda kv: -kv[1])) + ".")
    return Table("Sites", pd.DataFrame(rows), "sites", note)


def _initiative(ini: Any) -> str:
    if ini is None:
        return ""
    what = ("an open-ended ceasefire" if ini.duration_weeks is None
            else f"a truce of {ini.duration_weeks} week{'s' if ini.duration_weeks != 1 else ''}")
    parts = [f"{ini.mediator} proposes {what}"]
    if ini.withdrawal is True:
        parts.append("every foreign force withdraws")
    elif isinstance(ini.withdrawal, str):
        parts.append(f"{ini.withdrawal}'s foreign forces withdraw")
    if ini.political_share is not None:
        parts.append(f"political share {ini.political_share:.0%}")
    guarantors = [*([ini.guarantor] if ini.guarantor else []), *ini.guarantors]
    if guarantors:
        parts.append("guaranteed by " + ", ".join(guarantors))
    if ini.handover:
        parts.append("hands over " + ", ".join(f"{s} to {f}" for s, f in ini.handover.items()))
    if ini.separation is not None:
        parts.append("forces separate" if ini.separation else "no separation of forces")
    return "; ".join(parts)


def events_table(scn: Any) -> Table | None:
    if not scn.events:
        return None
    rows = []
    for i, e in enumerate(scn.events):
        changes = [f"{k} = {human(v)}" for k, v in e.set.items()]
        changes += [f"{k} × {human(v)}" for k, v in e.scale.items()]
        rows.append({"#": i + 1, "date": human(e.date), "description": e.description,
                     "changes": "; ".join(changes), "proposal": _initiative(e.initiative),
                     "source": e.source})
    return Table("Dated events", pd.DataFrame(rows), "events",
                 "What each event sets (=) or scales (×), and the proposal it puts on the "
                 "table.")


def scenario_tables(scn: Any, overrides: list[str] | tuple[str, ...] = ()) -> list[Table]:
    """Every parameter of a scenario as tables: model settings, factions, backers, mediators,
    sites and dated events (the observations have their own section); the cells that the
    ``--set`` `overrides` set are noted in ``Table.overridden``."""
    sets = {str(o).partition("=")[0].strip(): str(o) for o in overrides}
    model = model_table(scn.model)
    model.mark_overrides(sets, "model", "value")
    tabs = [model]
    for title, key in (("Factions", "factions"), ("Backers", "backers"),
                       ("Mediators", "mediators")):
        tab = actors_table(title, key, dict(getattr(scn, key)))
        if tab is not None:
            tab.mark_overrides(sets, key)
            tabs.append(tab)
    return [*tabs, *(t for t in (sites_table(scn), events_table(scn)) if t is not None)]


def override_table(overrides: list[str]) -> Table:
    """The command line's ``--set PATH=VALUE`` overrides, one row each."""
    rows = []
    for o in overrides:
        path, _, value = str(o).partition("=")
        rows.append({"path": path.strip(), "value": value.strip()})
    return Table("Overrides (--set)", pd.DataFrame(rows, columns=["path", "value"]),
                 "overrides", "Set on the command line, over the scenario file; the tables "
                              "above already include them.")


def design_tables(manifest: dict[str, Any], points: pd.DataFrame | None) -> list[Table]:
    """A sweep's design (name, points, runs per point, seed) and its varied paths with the
    values they take."""
    design = manifest.get("design")
    if not isinstance(design, dict):
        return []
    n_points = design.get("points") or (len(points) if points is not None else None)
    rows = [("design", design.get("design")), ("points", n_points),
            ("runs per point", manifest.get("runs")),
            ("runs in all", manifest.get("total_runs")), ("master seed", manifest.get("seed"))]
    if design.get("samples"):
        rows.insert(2, ("samples drawn", design.get("samples")))
    overview = pd.DataFrame([(k, human(v)) for k, v in rows if v is not None],
                            columns=["field", "value"])
    specs = design.get("specs") or {}
    varied = []
    for p in design.get("paths", []):
        vals = (points[p].dropna() if points is not None and p in points.columns
                else pd.Series([], dtype=object))
        distinct = list(dict.fromkeys(vals.tolist()))
        numeric = len(vals) and pd.api.types.is_numeric_dtype(vals) \
            and not pd.api.types.is_bool_dtype(vals)
        rng = (f"{human(vals.min())} to {human(vals.max())}" if numeric
               else human(distinct))
        varied.append({"path": p, "spec": human(specs.get(p, "")),
                       "values at the points": rng, "distinct values": len(distinct)})
    return [Table("Sweep design", overview, "design"),
            Table("Varied paths", pd.DataFrame(
                varied, columns=["path", "spec", "values at the points", "distinct values"]),
                "varied", "Spec: lo:hi:n (n evenly spaced values), a list, or lo..hi (a range "
                          "for a sampled design).")]
