"""Observations from the historical record, to score runs against (``[[observed]]``).

A scenario may list what actually happened, each fact with the share of runs that must
reproduce it. Every entry is judged run by run (a run matches it or not, or does not count when
it cannot tell); ``negsim score`` (:mod:`sim.score`) gives the share of runs that match, with
its 95% interval, and an overall score. ``docs/observations.md`` explains every kind.

Every entry has ``kind``, ``id`` (a short name, unique within the scenario), ``description``,
``source`` and ``share`` (the least share of the runs counted that must match; default 0.5).
Dates are TOML dates and resolve to the simulated week that contains them (as dated events
do); a window is ``from`` .. ``until``, both included (``start`` and ``end`` in Python). One
example of each kind::

    [[observed]]
    kind = "site_held"
    id = "gna_holds_tripoli"
    description = "The GNA still held Tripoli a year into the offensive"
    source = "UN Panel of Experts S/2021/229"
    site = "tripoli"
    bloc = "west"                # the GNA's bloc
    date = 2020-04-04
    tolerance_weeks = 2          # held on any date within +- 2 weeks; default 0
    share = 0.8

    [[observed]]
    kind = "ceasefire_in_force"
    id = "ceasefire_geneva"
    description = "An open-ended ceasefire was in force after the Geneva agreement"
    source = "5+5 Joint Military Commission, 2020-10-23"
    date = 2020-11-15
    tolerance_weeks = 4

    [[observed]]
    kind = "no_ceasefire_before"
    id = "no_early_ceasefire"
    description = "No open-ended ceasefire before the Russia-Turkey call"
    source = "ICG Report 2020"
    date = 2020-01-08

    [[observed]]
    kind = "first_ceasefire"
    id = "first_ceasefire_2020"
    description = "The first open-ended ceasefire came between August and October 2020"
    source = "parallel declarations 2020-08-21; Geneva 2020-10-23"
    from = 2020-08-01
    until = 2020-10-31

    [[observed]]
    kind = "broken_within"
    id = "truces_collapse"
    description = "Truces agreed in 2019 broke down within two weeks"
    source = "Eid truce, August 2019"
    deal = "truce"               # truce, ceasefire or any (default)
    weeks = 2
    from = 2019-08-01            # optional window for the deals' start
    until = 2019-12-31
    min_share_of_deals = 1.0     # the share of a run's deals that must break; default 1 (all)

    [[observed]]
    kind = "answer"
    id = "lna_rejects_moscow"
    description = "The LNA refused the Russia-Turkey ceasefire call"
    source = "Moscow talks, 2020-01-13"
    proposer = "russia_turkey"   # a mediator or a faction
    responder = "lna"
    accepted = false             # false: rejected or countered
    from = 2020-01-06
    until = 2020-01-20
    which = "first"              # first (default), any or every answer in the window

    [[observed]]
    kind = "support_higher"
    id = "turkey_escalates"
    description = "Turkish support was higher in spring 2020 than in autumn 2019"
    source = "UN Panel of Experts S/2021/229"
    backer = "turkey"            # or a list, summed: ["uae", "egypt", "russia"]
    higher = { from = 2020-03-01, until = 2020-06-30 }
    lower = { from = 2019-09-01, until = 2019-12-31 }
    factor = 1.0                 # higher mean > factor x lower mean; default 1

    [[observed]]
    kind = "holds"
    id = "geneva_holds"
    description = "The Geneva ceasefire held for at least half a year"
    source = "UNSMIL reporting 2021"
    weeks = 26
    from = 2020-08-01            # optional window for the ceasefire's start
    until = 2020-12-31

    [[observed]]
    kind = "no_victory"
    id = "no_lna_victory"
    description = "The LNA did not take Tripoli"
    source = "history"
    faction = "lna"              # or bloc = "..."; neither: nobody wins militarily

Type and value errors are reported by pydantic as ``observed[i].<field>``; names that must
exist in the scenario (sites, blocs, factions, backers, mediators), windows and dates within
the run are checked by :func:`observation_problems`, which :class:`sim.scenario.Scenario`
calls. This module does not import :mod:`sim.scenario` (which imports it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WrapValidator,
    field_validator,
)

from sim.fields import F, Name

__all__ = [
    "KINDS",
    "Answer",
    "BrokenWithin",
    "CeasefireInForce",
    "FirstCeasefire",
    "Holds",
    "NoCeasefireBefore",
    "NoVictory",
    "Observation",
    "SiteHeld",
    "SupportHigher",
    "Window",
    "observation_problems",
    "observed_line",
]

Weeks = Annotated[int, Field(ge=0, le=2000)]


class _Entry(BaseModel):
    # windows are written `from` / `until` (aliases) and read back by either name
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)


class Window(_Entry):
    """Two dates, both included: ``{ from = 2020-03-01, until = 2020-06-30 }``."""

    start: dt.date = F(..., "First date of the window (included).", "date", alias="from")
    end: dt.date = F(..., "Last date of the window (included).", "date", alias="until")


class _Observation(_Entry):
    kind: str
    id: Name = F(..., "Short name, unique within the scenario.")
    description: str = F(..., "What happened.")
    source: str = F(..., "Where the fact comes from.")
    share: float = F(0.5, "Least share of the runs counted that must match for the "
                          "observation to count as reproduced.", "share", gt=0, le=1)


def _from(what: str) -> Any:
    return F(None, f"First date of the window for {what} (included; default: the start "
                   "of the run).", "date", alias="from")


def _until(what: str) -> Any:
    return F(None, f"Last date of the window for {what} (included; default: the end of "
                   "the run).", "date", alias="until")


class SiteHeld(_Observation):
    """The site is held by the bloc on the date (or within +- tolerance_weeks of it)."""

    kind: Literal["site_held"] = "site_held"
    site: Name = F(..., "The site.")
    bloc: Name = F(..., "The bloc holding it (any of its factions).")
    date: dt.date = F(..., "When it was held.", "date")
    tolerance_weeks: Weeks = F(0, "Also match when held within this many weeks of the date.",
                               "weeks")


class CeasefireInForce(_Observation):
    """An open-ended ceasefire is in force on the date (or within +- tolerance_weeks)."""

    kind: Literal["ceasefire_in_force"] = "ceasefire_in_force"
    date: dt.date = F(..., "When it was in force.", "date")
    tolerance_weeks: Weeks = F(0, "Also match when in force within this many weeks of the "
                                  "date.", "weeks")


class NoCeasefireBefore(_Observation):
    """No open-ended ceasefire came into force before the date (in an earlier week)."""

    kind: Literal["no_ceasefire_before"] = "no_ceasefire_before"
    date: dt.date = F(..., "The first date an open-ended ceasefire may come into force.",
                      "date")


class FirstCeasefire(_Observation):
    """The first open-ended ceasefire came into force within the window."""

    kind: Literal["first_ceasefire"] = "first_ceasefire"
    start: dt.date = F(..., "First date of the window (included).", "date", alias="from")
    end: dt.date = F(..., "Last date of the window (included).", "date", alias="until")


class BrokenWithin(_Observation):
    """The deals of a type that started in the window ended in fighting within `weeks`."""

    kind: Literal["broken_within"] = "broken_within"
    deal: Literal["truce", "ceasefire", "any"] = F(
        "any", "Which deals: truces, open-ended ceasefires or any.")
    weeks: Weeks = F(..., "A deal is broken when fighting resumed (a breakdown, or a truce "
                          "expiring) at most this many weeks after it came into force.",
                     "weeks")
    start: dt.date | None = _from("the deals' start")
    end: dt.date | None = _until("the deals' start")
    min_share_of_deals: float = F(
        1.0, "Least share of a run's deals in the window that must break for the run to "
             "match (1: every one).", "share", gt=0, le=1)


class Answer(_Observation):
    """A proposal by `proposer` in the window was answered by `responder` as stated."""

    kind: Literal["answer"] = "answer"
    proposer: Name = F(..., "A mediator or faction key.")
    responder: Name = F(..., "A faction key.")
    accepted: bool = F(..., "true: accepted; false: rejected or countered.")
    start: dt.date = F(..., "First date of the window for the proposal (included).", "date",
                       alias="from")
    end: dt.date = F(..., "Last date of the window for the proposal (included).", "date",
                     alias="until")
    which: Literal["first", "any", "every"] = F(
        "first", "Which answers in the window must be as stated: the first, any or every one.")


class SupportHigher(_Observation):
    """A backer's mean weekly support (or several backers' summed) was higher in one window
    than in another (by `factor`)."""

    kind: Literal["support_higher"] = "support_higher"
    backer: tuple[Name, ...] = F(..., "A backer key, or a list of them (their support summed).",
                                 min_length=1)
    higher: Window = F(..., "The window where support was higher.")
    lower: Window = F(..., "The window it is compared with.")
    factor: float = F(1.0, "Match when the higher window's mean exceeds factor x the lower "
                           "window's.", "", gt=0, le=1e6)

    @field_validator("backer", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v


class Holds(_Observation):
    """Some open-ended ceasefire that started in the window held for at least `weeks`."""

    kind: Literal["holds"] = "holds"
    weeks: Annotated[int, Field(ge=1, le=2000)] = F(
        ..., "Weeks in force without a breakdown.", "weeks")
    start: dt.date | None = _from("the ceasefire's start")
    end: dt.date | None = _until("the ceasefire's start")


class NoVictory(_Observation):
    """Nobody (or this faction, or this bloc) won militarily."""

    kind: Literal["no_victory"] = "no_victory"
    faction: Name | None = F(None, "Only this faction's victory fails the observation.")
    bloc: Name | None = F(None, "Only a victory of this bloc's factions fails it.")


#: kind -> model
KINDS: dict[str, type[_Observation]] = {
    c.model_fields["kind"].default: c
    for c in (SiteHeld, CeasefireInForce, NoCeasefireBefore, FirstCeasefire, BrokenWithin,
              Answer, SupportHigher, Holds, NoVictory)
}


def _dispatch(value: Any, handler: Any) -> Any:
    """Validate an entry by its `kind`, so that errors are named ``observed[i].<field>`` (a
    pydantic discriminated union would put the kind in the path)."""
    if isinstance(value, _Observation):
        return value
    if not isinstance(value, dict):
        raise ValidationError.from_exception_data(
            "Observation", [{"type": "dict_type", "loc": (), "input": value}])
    kind = value.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        err: dict[str, Any] = {"type": "missing", "loc": ("kind",), "input": value}
        if "kind" in value:
            names = [repr(k) for k in KINDS]
            err = {"type": "literal_error", "loc": ("kind",), "input": kind,
                   "ctx": {"expected": ", ".join(names[:-1]) + " or " + names[-1]}}
        raise ValidationError.from_exception_data("Observation", [err])  # type: ignore[list-item]
    return cls.model_validate(value)


#: One ``[[observed]]`` entry, validated by its kind.
Observation = Annotated[
    SiteHeld | CeasefireInForce | NoCeasefireBefore | FirstCeasefire | BrokenWithin | Answer
    | SupportHigher | Holds | NoVictory,
    WrapValidator(_dispatch),
]


# --------------------------------------------------------------------------- cross-references
def _known(kind: str, name: str, known: Iterable[str]) -> str:
    names = ", ".join(sorted(known)) or "none"
    return f"a known {kind}; '{name}' is not one (known: {names})"


def observation_problems(scenario: Any) -> list[tuple[str, str]]:
    """What is wrong with a scenario's observations beyond their types: (field path, what was
    expected) for names that do not exist (sites, blocs, factions, backers, mediators), a
    repeated id, a window ending before it starts and a date outside the run.

    `scenario` is a :class:`sim.scenario.Scenario` (read for ``observed``, ``factions``,
    ``sites``, ``backers``, ``mediators`` and ``model``)."""
    errs: list[tuple[str, str]] = []
    obs = getattr(scenario, "observed", ()) or ()
    if not obs:
        return errs
    first = scenario.model.start_date
    stop = first + dt.timedelta(weeks=scenario.model.weeks)
    last = stop - dt.timedelta(days=1)
    factions = scenario.factions
    blocs = {f.bloc for f in factions.values()}

    def date(path: str, d: dt.date | None) -> None:
        if d is not None and not (first <= d < stop):
            errs.append((path, f"a date within the run, {first} to {last} (got {d})"))

    def window(path: str, start: dt.date | None, end: dt.date | None) -> None:
        pre = f"{path}." if path else ""
        date(f"{pre}from", start)
        date(f"{pre}until", end)
        if start is not None and end is not None and end < start:
            errs.append((f"{pre}until", f"a date on or after from ({start}); the window "
                                        f"ends before it starts (got {end})"))

    seen: dict[str, int] = {}
    for i, o in enumerate(obs):
        w = f"observed[{i}]"
        if o.id in seen:
            errs.append((f"{w}.id", f"a unique id; '{o.id}' is also observed[{seen[o.id]}]"))
        seen.setdefault(o.id, i)
        if isinstance(o, SiteHeld):
            if o.site not in scenario.sites:
                errs.append((f"{w}.site", _known("site", o.site, scenario.sites)))
            if o.bloc not in blocs:
                errs.append((f"{w}.bloc", _known("bloc", o.bloc, blocs)))
            date(f"{w}.date", o.date)
        elif isinstance(o, CeasefireInForce | NoCeasefireBefore):
            date(f"{w}.date", o.date)
        elif isinstance(o, FirstCeasefire | BrokenWithin | Holds):
            window(w, o.start, o.end)
        elif isinstance(o, Answer):
            if o.proposer not in scenario.mediators and o.proposer not in factions:
                errs.append((f"{w}.proposer", _known("mediator or faction", o.proposer,
                                                     [*scenario.mediators, *factions])))
            if o.responder not in factions:
                errs.append((f"{w}.responder", _known("faction", o.responder, factions)))
            elif o.responder == o.proposer:
                errs.append((f"{w}.responder", "a faction other than the proposer"))
            window(w, o.start, o.end)
        elif isinstance(o, SupportHigher):
            for b in o.backer:
                if b not in scenario.backers:
                    errs.append((f"{w}.backer", _known("backer", b, scenario.backers)))
            window(f"{w}.higher", o.higher.start, o.higher.end)
            window(f"{w}.lower", o.lower.start, o.lower.end)
        elif isinstance(o, NoVictory):
            if o.faction is not None and o.bloc is not None:
                errs.append((f"{w}.bloc", "a faction or a bloc, not both"))
            if o.faction is not None and o.faction not in factions:
                errs.append((f"{w}.faction", _known("faction", o.faction, factions)))
            if o.bloc is not None and o.bloc not in blocs:
                errs.append((f"{w}.bloc", _known("bloc", o.bloc, blocs)))
    return errs


# --------------------------------------------------------------------------- source lines
def observed_line(text: str, path: str) -> int | None:
    """The line of ``observed[i].<field>`` (or ``observed[i]``) in TOML source: the i-th
    ``[[observed]]`` table, then the line of the field's key within it (else its header)."""
    m = re.match(r"observed\[(\d+)\](?:\.([A-Za-z_][A-Za-z0-9_]*))?", path)
    if m is None:
        return None
    lines = text.splitlines()
    headers = [i for i, ln in enumerate(lines) if re.match(r"\s*\[\[observed\]\]", ln)]
    idx = int(m[1])
    if idx >= len(headers):
        return None
    start = headers[idx]
    stop = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
                len(lines))
    if m[2]:
        for i in range(start + 1, stop):
            if re.match(rf"\s*{re.escape(m[2])}\s*=", lines[i]):
                return i + 1
    return start + 1
