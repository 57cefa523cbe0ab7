"""Scenario files: a typed, bounded, frozen description of one war and its diplomacy.

A scenario is a TOML file with named tables (``[factions.lna]``, ``[backers.turkey]``,
``[mediators.un]``, ``[sites.tripoli]``, ``[[events]]`` and ``[model]``), so every field has a
dotted path (``backers.turkey.capacity``). :func:`load_scenario` parses, applies ``--set``
overrides, validates and returns a frozen :class:`Scenario`. Every problem is raised as a
:class:`ScenarioError` naming the file, the field path, the line where known, and what was expected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from sim.fields import BEHAVIOUR, SETTING, B, F, Name, Share, field_kind
from sim.observed import Observation, observation_problems

__all__ = [
    "Backer",
    "Event",
    "Faction",
    "Initiative",
    "Mediator",
    "ModelParams",
    "Scenario",
    "ScenarioError",
    "Site",
    "behaviour_events",
    "behaviour_overrides",
    "load_scenario",
    "parse_override",
    "scenario_from_dict",
]

class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# --------------------------------------------------------------------------- model (global)
class ModelParams(_Table):
    """Global parameters: time and run settings (facts and settings), and the behaviour every
    war shares: fighting technology, expectations, aims, the life of a ceasefire, backers'
    rules (behaviour, with defaults calibrated on the development wars)."""

    name: str = F("scenario", "Display name of the scenario.")
    description: str = F("", "One paragraph on what the scenario represents.")
    start_date: dt.date = F(dt.date(2000, 1, 3), "Calendar date of step 0.", "date")
    weeks: int = F(104, "Number of weekly steps to simulate.", "weeks", kind=SETTING,
                   ge=1, le=2000)
    victory_share: float = F(
        0.85, "A bloc holding this share of all site value wins militarily.", "share",
        kind=SETTING, gt=0.5, le=1,
    )
    durable_weeks: int = F(
        26, "An open-ended ceasefire in force this long at the end is durable.", "weeks",
        kind=SETTING, ge=1, le=520,
    )
    stalemate_weeks: int = F(
        8, "No site changing hands for this many weeks of war is a frozen front.", "weeks",
        kind=SETTING, ge=1, le=104,
    )
    # ---- fighting
    decisiveness: float = B(
        2.0, "Exponent m of the contest success function E_a^m/(E_a^m+(bE_d)^m).", "", gt=0, le=10
    )
    attrition_win: float = B(
        0.03, "Share of the engaged force the winner of a battle loses.", "share", ge=0, le=1
    )
    attrition_loss: float = B(
        0.08, "Share of the engaged force the loser of a battle loses.", "share", ge=0, le=1
    )
    recruitment: float = B(
        1.0, "Strength raised per unit of a faction's weekly income.", "units per income unit",
        ge=0, le=100,
    )
    demobilisation: float = B(
        0.03, "Weekly loss of strength to desertion and upkeep (share of own strength).",
        "share/week", ge=0, le=1,
    )
    loss_smoothing: float = B(
        0.3, "Weight of this week's losses in a faction's smoothed loss rate (and a backer's "
        "rate of troop losses); the rest is last week's rate.", "share", gt=0, le=1,
    )
    # ---- expectations and learning
    horizon: int = B(
        26, "Weeks over which factions value fighting on versus a deal.", "weeks", ge=1, le=520
    )
    belief_memory: float = B(
        0.97,
        "Weekly retention of battle evidence in beliefs while the guns speak (1: never forget; "
        "lower: recent battles weigh more and evidence fades back toward the prior).",
        "", ge=0.5, le=1,
    )
    quiet_memory: float = B(
        1.0, "Weekly retention of battle evidence under a truce or ceasefire: with no battles "
        "nothing new is learned, and by default nothing is forgotten either, so a quiet front "
        "does not talk a faction back into its pre-war optimism.", "", ge=0.5, le=1,
    )
    projection_weeks: float = B(
        26.0, "How far ahead factions project strength (own, arms in the pipeline, expected "
        "support) when they value fighting on: a coming shift in power counts.", "weeks",
        ge=0, le=520,
    )
    momentum_weeks: int = B(
        12, "Window over which territorial momentum (change of control share) is measured.",
        "weeks", ge=1, le=104,
    )
    # ---- valuation of deals
    political_value: float = B(
        0.2,
        "Value of the whole political settlement (power sharing) relative to all territory.",
        "share of value", ge=0, le=5,
    )
    withdrawal_value: float = B(
        0.15,
        "Value to a faction of the rival's foreign forces leaving, per unit of their share of "
        "the rival's effective strength.",
        "share of value", ge=0, le=5,
    )
    aim_weight: float = B(
        0.5, "Weekly value a faction loses per unit of value share by which a deal falls short "
        "of its aims (its reservation value): aims are a term of the valuation, not a veto.",
        "share of value per share", ge=0, le=100,
    )
    collapse_ratio: float = B(
        0.5, "Own/rival effective strength below which a faction is near collapse: its aims "
        "fall below what it holds, in proportion to how far below the ratio it is.", "",
        ge=0, le=1,
    )
    hurting_loss_rate: float = B(
        0.02, "Smoothed weekly loss share above which a front without prospects hurts: its "
        "aims fall toward what it holds (a mutually hurting stalemate).", "share/week",
        ge=0, le=1,
    )
    # ---- the life of a ceasefire
    incident_breakdown: float = B(
        0.3, "Probability that a spoiler incident breaks a new, unprotected ceasefire.",
        "probability", ge=0, le=1,
    )
    settle_weeks: float = B(
        8.0, "How fast a ceasefire settles: the chance that an incident breaks it is divided "
        "by 1 + weeks held / settle_weeks, and the margin a defector needs grows by the same "
        "factor (hazard falling with time, Fortna 2004).", "weeks", gt=0, le=520,
    )
    defection_margin: float = B(
        0.02,
        "How much more fighting must be worth than keeping a new ceasefire before a faction "
        "defects.", "share of value", ge=0, le=5,
    )
    monitoring_scale: float = B(
        50.0, "Monitors or guarantor forces that halve spoiler incidents (monitoring = "
        "M / (M + scale)).", "units", gt=0, le=1e6,
    )
    separation_strength: float = B(
        0.3, "Share of incident escalation a separation of forces (heavy weapons back, a "
        "buffer zone) prevents.", "share", ge=0, le=1,
    )
    withdrawal_strength: float = B(
        0.2, "Share of incident escalation the withdrawal of foreign forces prevents.",
        "share", ge=0, le=1,
    )
    enforcement: float = B(
        0.2, "Weekly cost of defecting against guarantor forces: enforcement x G/(G + E), "
        "with G the guarantors' committed forces and E the effective strength of the "
        "defector's bloc (defecting means fighting them too).", "share of value/week", ge=0,
        le=10,
    )
    quiet_response: float = B(
        0.5, "Under a truce or ceasefire, the factor on backers' response to opposing support "
        "and to their client's distress (flows slow down but do not stop).", "", ge=0, le=1,
    )
    # ---- backers
    red_line_memory: int = B(
        4, "Weeks after an attack on a red-line site during which the red line counts as "
        "threatened.", "weeks", ge=1, le=104,
    )
    red_line_weeks: float = B(
        8.0, "Weeks of a backer's red-line surge an attacker expects to face when it attacks a "
        "red-line site (how far a known red line deters).", "weeks", ge=0, le=520,
    )
    parity: float = B(
        0.5, "Share of all effective strength below which a client counts as outgunned (adds "
        "to its backers' sense of its distress).", "share", ge=0, le=1,
    )
    trend_weeks: int = B(
        4, "Weeks over which a faction reads the trend of its backers' support when it projects "
        "its strength.", "weeks", ge=1, le=104,
    )
    deploy_distress: float = B(
        0.25, "Client's distress (ground lost over the momentum window plus how far it is "
        "outgunned) at which a backer commits its own troops and air power.", "", ge=0, le=10,
    )
    deploy_weeks: int = B(
        8, "Least number of weeks a backer keeps its own forces committed once it commits "
        "them.", "weeks", ge=1, le=520,
    )
    withdrawal_rate: float = B(
        0.15, "Weekly share of foreign fighters and deployed troops that leave under a "
        "withdrawal clause.", "share/week", ge=0, le=1,
    )
    fatigue_cap: float = B(
        0.95, "Most of its capacity a backer's fatigue can erode.", "share", ge=0, le=1,
    )


# --------------------------------------------------------------------------- actors
class Faction(_Table):
    """A belligerent, or a political wing that can sign or refuse."""

    name: str = F("", "Display name (defaults to the table name).")
    bloc: Name = F(..., "Coalition the faction belongs to (factions of one bloc never fight).")
    armed: bool = F(
        True,
        "False for a political wing: it answers proposals but does not fight; a ceasefire needs "
        "the acceptance of every armed faction.",
    )
    capital: Name | None = F(
        None, "Its capital: a bloc that takes the capitals of all its rivals' factions wins "
        "militarily (one fallen capital among several does not end the war).")
    strength: float = F(100.0, "Initial force units.", "units", ge=0, le=1e7)
    base_income: float = F(2.0, "Income per week besides site income.", "units/week", ge=0, le=1e6)
    claims: tuple[Name, ...] = F(
        (), "Sites it claims beyond those its bloc holds at the start (declared war aims): its "
        "own terms demand them, and its aims count them.",
    )
    belief_alpha: float = B(
        5.0, "Prior Beta(alpha, beta) pseudo-count of battles won.", "battles", gt=0, le=1e4
    )
    belief_beta: float = B(
        5.0, "Prior Beta(alpha, beta) pseudo-count of battles lost.", "battles", gt=0, le=1e4
    )
    optimism: float = B(
        0.0, "Bias added to the believed chance of winning a battle.", "probability",
        ge=-0.5, le=0.5,
    )
    discount: float = B(0.98, "Weekly discount factor.", "", gt=0, le=1)
    war_cost: float = B(
        0.01,
        "Cost of a week of war (casualty and economic aversion), in shares of total value.",
        "share of value/week", ge=0, le=1,
    )
    casualty_aversion: float = B(
        0.5, "Extra weekly war cost per unit of its bloc's smoothed weekly loss rate (the share "
        "of strength lost in battle, see loss_smoothing).",
        "share of value", ge=0, le=100,
    )
    audience_cost: float = B(
        1.5,
        "Cost of conceding while advancing, per unit of positive momentum, for an open-ended "
        "ceasefire (scaled down for short truces).", "", ge=0, le=100,
    )
    min_share: float | None = B(
        None, "Aim at the start: the least value share (territory plus political share) it "
        "would sign for; default: what its bloc holds at the start plus its claims.", "share",
        ge=0, le=1,
    )
    aim_adaptation: float = B(
        0.2, "Weekly rate at which its aim moves toward what it holds while it loses ground, "
        "or in a hurting stalemate (its bloc's losses at or above hurting_loss_rate and no "
        "expected gain); near collapse the aim falls below what it holds (aspiration "
        "adaptation). 0 keeps its aims fixed.", "1/week", ge=0, le=1,
    )
    attack_threshold: float = B(
        0.45, "Believed chance of winning on a front at which it attacks.", "probability",
        gt=0, lt=1,
    )
    proposal_interval: int = B(
        6, "Least number of weeks between two of its own proposals.", "weeks", ge=1, le=520
    )
    concession_weeks: int = B(
        20, "Weeks over which its own proposals (counter-offers included), counted from its "
        "first, concede from its aims to the current line.",
        "weeks", ge=1, le=520,
    )
    concession_exponent: float = B(
        0.4, "Shape of concession: <1 boulware (concede late), >1 conceder (concede early).",
        "", gt=0, le=20,
    )
    spoiler_rate: float = B(
        0.03, "Weekly probability that its spoilers cause an incident under an unmonitored "
        "truce or ceasefire.", "probability/week", ge=0, le=1,
    )


Instrument = Literal["arms", "fighters", "money"]


class Backer(_Table):
    """A foreign state or force supporting one client faction."""

    name: str = F("", "Display name (defaults to the table name).")
    client: Name = F(..., "The faction it supports.")
    stake: float = F(
        1.0, "How much it values its client's control (scales its response to distress).", "",
        ge=0, le=100,
    )
    capacity: float = F(
        10.0, "Most support it can give per week (budget).", "units/week", ge=0, le=1e6
    )
    support: float = F(0.0, "Support level at the start.", "units/week", ge=0, le=1e6)
    baseline: float = F(
        0.0, "Richardson g: support it drifts toward with no threat.", "units/week", ge=0, le=1e6
    )
    response: float = B(
        0.1, "Richardson k: weekly response per unit of opposing backers' support.", "1/week",
        ge=0, le=10,
    )
    restraint: float = B(
        0.1, "Richardson a: weekly decay of its own support level.", "1/week", ge=0, le=10
    )
    distress_response: float = B(
        1.0, "Weekly rise of support per unit of stake x client's distress, as a share of "
        "capacity.", "", ge=0, le=100,
    )
    arms: Share = F(0.5, "Share of support given as arms (strength after a lag).", "share")
    fighters: Share = F(
        0.2, "Share given as fighters (strength at once, political cost).", "share"
    )
    money: Share = F(0.3, "Share given as money (raises the client's income).", "share")
    arms_lag: int = F(4, "Weeks before arms raise the client's strength.", "weeks", ge=0, le=104)
    efficiency: float = F(
        1.0, "Strength per unit of arms or fighters (quality: drones, air defence).", "units/unit",
        ge=0, le=100,
    )
    troops: float = F(
        0.0, "Its own forces it can commit to the client's fronts: they fight beside the "
        "client's and take losses, which it counts.", "units", ge=0, le=1e7,
    )
    air: float = F(
        0.0, "What its air or drone campaign adds to the client's effectiveness while it "
        "lasts (0.3: +30%).", "share", ge=0, le=10,
    )
    committed: bool = F(
        False, "Its own forces (troops, air) are committed whatever its rule says (a dated "
        "decision, e.g. a bombing campaign; an event sets and ends it).",
    )
    fatigue_rate: float = B(
        0.0005, "Fatigue gained per unit of support given (domestic weariness).", "1/unit",
        ge=0, le=1,
    )
    fatigue_recovery: float = B(0.02, "Weekly recovery of fatigue.", "1/week", ge=0, le=1)
    troop_loss_aversion: float = B(
        5.0, "How sharply losses of its own fighters and troops raise its cost of the war.", "",
        ge=0, le=1e4,
    )
    cost_per_unit: float = B(
        0.002, "Cost of one unit of support, in shares of value (for its ceasefire preference).",
        "share of value/unit", ge=0, le=10,
    )
    red_lines: tuple[Name, ...] = F(
        (), "Sites whose loss or threat triggers a step up (known to the other side); a red "
        "line is declared only with a red_line_capacity above 0."
    )
    red_line_capacity: float = F(
        0.0, "Capacity it unlocks when a red line is threatened (latent intervention).",
        "units/week", ge=0, le=1e6,
    )
    red_line_from: dt.date | None = F(
        None, "Date the red line is declared (default: from the start); it deters and binds "
        "from then on.", "date",
    )
    red_line_credibility: Share = F(
        1.0, "How far the other side believes the red line (scales its deterrent effect).",
        "probability",
    )
    leverage: float = B(
        0.03, "Weight of its ceasefire preference in its client's decisions, per unit of the "
        "client's dependence on it.", "share of value", ge=0, le=10,
    )
    guarantee_forces: float = F(
        0.0, "Forces it can commit to monitor and enforce a ceasefire as guarantor.", "units",
        ge=0, le=1e6,
    )

    @model_validator(mode="after")
    def _mix_sums_to_one(self) -> Backer:
        total = self.arms + self.fighters + self.money
        if abs(total - 1.0) > 1e-6:
            raise ValueError(
                f"arms + fighters + money must sum to 1 (they sum to {total:g})"
            )
        return self


class Mediator(_Table):
    """A mediator: the UN, the EU, a state, or two rival patrons acting together."""

    name: str = F("", "Display name (defaults to the table name).")
    favours: Name | None = F(None, "Bloc it leans toward, if any.")
    bias: Share = F(
        0.0, "How far it leans: its inducements count x(1 + bias) with the bloc it favours and "
        "x(1 - bias) with the others (its proposals' political share is political_share).", ""
    )
    leverage: float = F(
        0.05, "Inducements and sanctions it attaches to a proposal.", "share of value", ge=0,
        le=10,
    )
    credibility: Share = F(0.7, "How far parties believe its inducements and guarantees.", "")
    activity: Share = F(
        0.25, "Weekly probability that it assesses the war (endogenous initiative).",
        "probability/week",
    )
    noise: float = B(
        0.04, "Standard deviation of its estimate of each party's surplus from a deal.",
        "share of value", ge=0, le=10,
    )
    patrons: tuple[Name, ...] = F(
        (), "Backers acting together as this mediator (a joint patron pair): it uses their "
        "leverage over their clients and acts on its own only when they all want a ceasefire.",
    )
    guarantee_forces: float = F(
        0.0, "Armed forces it commits to enforce a ceasefire it brokers (peacekeepers).",
        "units", ge=0, le=1e6,
    )
    monitors: float = F(
        0.0, "Unarmed monitors it fields with a ceasefire it brokers: they damp incidents but "
        "enforce nothing.", "units", ge=0, le=1e6,
    )
    separation: bool = F(
        False, "Its proposals separate the forces (heavy weapons back, a buffer zone)."
    )
    proposal_interval: int = B(
        4, "Least number of weeks between two of its own initiatives.", "weeks", ge=1, le=520
    )
    withdrawal: bool = F(False, "Its proposals ask all foreign forces to withdraw.")
    political_share: Share = F(
        0.5, "Political share its proposals give the bloc it favours (the rest split among the "
        "others); a mediator that favours none gives every bloc an equal share.",
        "share",
    )
    active_from: dt.date | None = F(None, "First date it acts on its own (scheduled "
                                    "initiatives are delivered whatever the date, but not while "
                                    "an open-ended ceasefire is in force, and only open-ended "
                                    "ones during a truce).", "date")
    active_until: dt.date | None = F(None, "Last date it acts on its own.", "date")


class Site(_Table):
    """A named place on the territory graph."""

    name: str = F("", "Display name (defaults to the table name).")
    controller: Name = F(..., "Faction holding it at the start.")
    value: float = F(1.0, "Worth: population, oil, strategic value.", "value", ge=0, le=1e6)
    income: float = F(0.0, "Income it gives its controller per week.", "units/week", ge=0,
                      le=1e6)
    defence: float = F(1.0, "Defence bonus b in the contest success function.", "", ge=0.1,
                       le=10)
    neighbours: tuple[Name, ...] = F((), "Adjacent sites (edges are undirected).")
    lon: float | None = F(None, "Longitude, for maps.", "degrees", ge=-180, le=180)
    lat: float | None = F(None, "Latitude, for maps.", "degrees", ge=-90, le=90)


class Initiative(_Table):
    """A mediator's scheduled proposal (a conference, a joint call). The answers are never set."""

    mediator: Name = F(..., "The mediator that puts the proposal on the table.")
    duration_weeks: int | None = F(
        None, "Length of the truce in weeks; leave out for an open-ended ceasefire.", "weeks",
        ge=1, le=520,
    )
    withdrawal: bool | Name | None = F(
        None, "Foreign forces to withdraw: true for all, a bloc's name for that bloc's backers "
        "only (default: the mediator's).")
    political_share: Share | None = F(
        None, "Political share of the favoured bloc (default: the mediator's)."
    )
    guarantor: Name | None = F(None, "Backer or mediator committing forces as guarantor.")
    guarantors: tuple[Name, ...] = F(
        (), "Several guarantors (backers or mediators), each committing its guarantee forces.")
    handover: dict[Name, Name] = F(
        {}, "Sites handed over when the deal comes into force: site -> the bloc that takes "
        "it (a negotiated map).")
    separation: bool | None = F(None, "Forces separate (default: the mediator's).")



class Event(_Table):
    """A dated exogenous event: parameter changes and/or a mediator's initiative."""

    date: dt.date = F(..., "When it happens (applied in the week containing the date).", "date")
    description: str = F("", "What happened.")
    source: str = F("", "Where the fact comes from.")
    set: dict[str, float | int | bool] = F(
        {}, "Parameter changes: dotted path -> new value, e.g. backers.turkey.capacity = 40."
    )
    scale: dict[str, float] = F(
        {}, "Multiply parameters: dotted path -> factor, e.g. sites.es_sider.income = 0.1."
    )
    initiative: Initiative | None = F(None, "A mediator's proposal put on the table that week.")


#: Fields an event may not change: they are structure or outcomes, not parameters.
_FIXED_FIELDS = {"controller", "client", "bloc", "neighbours", "armed", "capital", "patrons",
                 "red_lines", "name", "favours", "lon", "lat", "strength", "support", "claims",
                 "red_line_from", "active_from", "active_until",
                 # read once when the model is built: an event could not change them
                 "weeks", "start_date", "min_share", "optimism", "belief_alpha", "belief_beta"}


class Scenario(_Table):
    """A whole scenario: global parameters, actors, territory and dated events."""

    model: ModelParams = F(ModelParams(), "Global parameters.")
    factions: dict[Name, Faction] = F(..., "Belligerents and political wings.")
    backers: dict[Name, Backer] = F({}, "Foreign backers.")
    mediators: dict[Name, Mediator] = F({}, "Mediators.")
    sites: dict[Name, Site] = F(..., "Territory: named sites and their neighbours.")
    events: tuple[Event, ...] = F((), "Dated exogenous events.")
    observed: tuple[Observation, ...] = F(
        (), "Facts from the historical record to score runs against ([[observed]]; see "
            "docs/observations.md and `negsim score`).",
        exclude_if=lambda v: not v)  # none: the resolved scenario and its digest as before

    # ----------------------------------------------------------------- cross-references
    @model_validator(mode="after")
    def _check_references(self) -> Scenario:
        errs: list[tuple[str, str]] = []
        fac = self.factions
        armed = [k for k, f in fac.items() if f.armed]
        blocs = {fac[k].bloc for k in armed}
        if len(blocs) < 2:
            errs.append(("factions", "at least two armed factions in different blocs"))
        for k, f in fac.items():
            if not f.armed and f.bloc not in blocs:
                errs.append((f"factions.{k}.bloc",
                             f"the bloc of an armed faction ({', '.join(sorted(blocs))}): "
                             "a political wing speaks for an armed side"))
        for k, f in fac.items():
            if f.capital is not None and f.capital not in self.sites:
                errs.append((f"factions.{k}.capital", f"a site name; no site '{f.capital}'"))
            for s in f.claims:
                if s not in self.sites:
                    errs.append((f"factions.{k}.claims", _known("site", s, self.sites)))
        for k, b in self.backers.items():
            if b.client not in fac:
                errs.append((f"backers.{k}.client", _known("faction", b.client, fac)))
            for s in b.red_lines:
                if s not in self.sites:
                    errs.append((f"backers.{k}.red_lines", _known("site", s, self.sites)))
        for k, m in self.mediators.items():
            if m.favours is not None and m.favours not in {f.bloc for f in fac.values()}:
                errs.append((f"mediators.{k}.favours", f"a bloc; no bloc '{m.favours}'"))
            for p in m.patrons:
                if p not in self.backers:
                    errs.append((f"mediators.{k}.patrons", _known("backer", p, self.backers)))
        for k, s in self.sites.items():
            if s.controller not in fac:
                errs.append((f"sites.{k}.controller", _known("faction", s.controller, fac)))
            elif not fac[s.controller].armed:
                errs.append((f"sites.{k}.controller", "an armed faction"))
            for n in s.neighbours:
                if n not in self.sites:
                    errs.append((f"sites.{k}.neighbours", _known("site", n, self.sites)))
                elif n == k:
                    errs.append((f"sites.{k}.neighbours", "other sites, not itself"))
        end = self.model.start_date + dt.timedelta(weeks=self.model.weeks)
        for i, e in enumerate(self.events):
            where = f"events[{i}]"
            if not (self.model.start_date <= e.date < end):
                errs.append((f"{where}.date", f"a date within the run, {self.model.start_date} "
                                              f"to {end - dt.timedelta(days=1)}"))
            for kind, changes in (("set", e.set), ("scale", e.scale)):
                for path, value in changes.items():
                    problem = self._check_event_path(path, value, kind)
                    if problem:
                        errs.append((f"{where}.{kind}.{path}", problem))
            if e.initiative is not None:
                ini = e.initiative
                if ini.mediator not in self.mediators:
                    errs.append((f"{where}.initiative.mediator",
                                 _known("mediator", ini.mediator, self.mediators)))
                actors = set(self.backers) | set(self.mediators)
                if ini.guarantor is not None and ini.guarantor not in actors:
                    errs.append((f"{where}.initiative.guarantor",
                                 f"a backer or mediator; no actor '{ini.guarantor}'"))
                for g in ini.guarantors:
                    if g not in actors:
                        errs.append((f"{where}.initiative.guarantors",
                                     f"backers or mediators; no actor '{g}'"))
                for s, b in ini.handover.items():
                    if s not in self.sites:
                        errs.append((f"{where}.initiative.handover",
                                     _known("site", s, self.sites)))
                    if b not in blocs:
                        errs.append((f"{where}.initiative.handover.{s}",
                                     _known("armed bloc", b, blocs)))
                if isinstance(ini.withdrawal, str) and ini.withdrawal not in blocs:
                    errs.append((f"{where}.initiative.withdrawal",
                                 f"true, false or a bloc; {_known('bloc', ini.withdrawal, blocs)}"))
        errs.extend(observation_problems(self))
        if errs:
            raise _CrossRefError(errs)
        return self

    def _check_event_path(self, path: str, value: Any, kind: str) -> str | None:
        parts = path.split(".")
        if parts[0] == "model" and len(parts) == 2:
            table, field = self.model, parts[1]
        elif len(parts) == 3 and parts[0] in ("factions", "backers", "mediators", "sites"):
            group = getattr(self, parts[0])
            if parts[1] not in group:
                return _known(parts[0][:-1], parts[1], group)
            table, field = group[parts[1]], parts[2]
        else:
            return "a path like backers.<name>.<field> or model.<field>"
        if field not in type(table).model_fields:
            return _known("field", field, type(table).model_fields)
        if field in _FIXED_FIELDS:
            return f"a parameter; '{field}' is structure or state, which events may not change"
        current = getattr(table, field)
        numeric = isinstance(current, (int, float)) and not isinstance(current, bool)
        if kind == "scale" and not numeric:
            return "a numeric field to scale"
        new = current * value if kind == "scale" else value
        try:
            type(table).model_validate({**table.model_dump(), field: new})
        except ValidationError as exc:
            err = exc.errors()[0]
            return _expected({**err, "input": new})
        return None

    # ----------------------------------------------------------------- helpers
    @property
    def armed_factions(self) -> list[str]:
        return [k for k, f in self.factions.items() if f.armed]

    @property
    def end_date(self) -> dt.date:
        return self.model.start_date + dt.timedelta(weeks=self.model.weeks)

    def step_date(self, step: int) -> dt.date:
        return self.model.start_date + dt.timedelta(weeks=step)

    def date_step(self, date: dt.date) -> int:
        """The step whose week contains `date` (step 1 is the first simulated week)."""
        return (date - self.model.start_date).days // 7 + 1

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def digest(self) -> str:
        """A content hash of the resolved scenario (for manifests and resume checks)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def behaviour_overrides(scn: Scenario) -> list[tuple[str, Any, Any]]:
    """The behavioural defaults a scenario overrides: (field path, value, library default),
    in file order. A scenario states facts; each of these needs a case-specific reason."""
    out = []
    tables: list[tuple[str, BaseModel]] = [("model", scn.model)]
    for group in ("factions", "backers", "mediators"):
        tables += [(f"{group}.{k}", v) for k, v in getattr(scn, group).items()]
    for prefix, table in tables:
        cls = type(table)
        for name in cls.model_fields:
            if name in table.model_fields_set and field_kind(cls, name) == BEHAVIOUR:
                out.append((f"{prefix}.{name}", getattr(table, name),
                            cls.model_fields[name].default))
    return out


def behaviour_events(scn: Scenario) -> list[tuple[str, Any, str]]:
    """Behavioural parameters that dated events change: (the event's entry, as
    ``events[i].set.<path>`` or ``.scale.``, the value or factor, the event's description).
    A dated fact (sanctions imposed, a negotiator replaced) that the model can only express
    through behaviour; `negsim check` lists them beside the overrides."""
    out = []
    groups = {"factions": Faction, "backers": Backer, "mediators": Mediator}
    for i, e in enumerate(scn.events):
        for kind, changes in (("set", e.set), ("scale", e.scale)):
            for path, value in changes.items():
                parts = path.split(".")
                cls = ModelParams if parts[0] == "model" else groups.get(parts[0])
                if cls is not None and field_kind(cls, parts[-1]) == BEHAVIOUR:
                    out.append((f"events[{i}].{kind}.{path}", value,
                                f"{e.date}: {e.description}"))
    return out


def override_reason(text: str, path: str) -> str:
    """The comment on a field's line in TOML source (the reason given for an override)."""
    line = _line_of(text, path)
    if line is None:
        return ""
    src = text.splitlines()[line - 1]
    return src.split("#", 1)[1].strip() if "#" in src else ""


def _known(kind: str, name: str, known: Iterable[str]) -> str:
    names = ", ".join(sorted(known)) or "none"
    return f"a known {kind}; '{name}' is not one (known: {names})"


class _CrossRefError(ValueError):
    def __init__(self, errs: list[tuple[str, str]]):
        self.errs = errs
        super().__init__("; ".join(f"{p}: {m}" for p, m in errs))


# --------------------------------------------------------------------------- errors
class ScenarioError(Exception):
    """Invalid scenario input: names the file, the field path, the line and what was expected."""

    def __init__(self, source: str, problems: list[tuple[str, int | None, str]]):
        self.source = source
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{self.source}: invalid scenario"]
        for path, line, msg in self.problems:
            where = f"line {line}, " if line else ""
            lines.append(f"  {where}{path or '(file)'}: expected {msg}")
        return "\n".join(lines)


def _line_of(text: str, path: str) -> int | None:
    """Best-effort line number of a dotted path in TOML source (table header, then key)."""
    parts = [p for p in re.split(r"\.|\[(\d+)\]", path) if p]
    if not parts:
        return None
    lines = text.splitlines()
    # events[i].field (or observed[i].field): the i-th [[events]] (or [[observed]]) header
    if parts[0] in ("events", "observed") and len(parts) > 1 and parts[1].isdigit():
        idx = int(parts[1])
        head = f"[[{parts[0]}]]"
        headers = [i for i, ln in enumerate(lines) if ln.strip().startswith(head)]
        if idx >= len(headers):
            return None
        start, rest = headers[idx], parts[2:]
        stop = next((i for i in range(start + 1, len(lines))
                     if lines[i].lstrip().startswith("[")), len(lines))
        if rest:
            for i in range(start, stop):
                if re.match(rf"\s*{re.escape(rest[0])}\s*=", lines[i]):
                    return i + 1
        return start + 1
    for cut in range(len(parts), 0, -1):
        header = ".".join(parts[:cut])
        for i, ln in enumerate(lines):
            if re.match(rf"\s*\[{re.escape(header)}\]\s*(#.*)?$", ln):
                if cut < len(parts):
                    key = parts[cut]
                    for j in range(i + 1, len(lines)):
                        if lines[j].lstrip().startswith("["):
                            break
                        if re.match(rf"\s*{re.escape(key)}\s*=", lines[j]):
                            return j + 1
                return i + 1
    # a table only named through its sub-tables ([backer.x] for an unknown "backer")
    for i, ln in enumerate(lines):
        if re.match(rf"\s*\[\[?{re.escape(parts[0])}[.\]]", ln):
            return i + 1
    # a key before the first table header
    if len(parts) == 1:
        for i, ln in enumerate(lines):
            if ln.lstrip().startswith("["):
                break
            if re.match(rf"\s*{re.escape(parts[0])}\s*=", ln):
                return i + 1
    return None


_UNION_BRANCHES = {"float", "int", "bool"}  # never field names in our schema


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and (part.startswith("function-") or part in _UNION_BRANCHES
                                        or part.endswith("]") and "[" in part):
            continue  # pydantic's validator / union-branch markers, not a field
        else:
            out += ("." if out else "") + str(part)
    return out


def _expected(err: dict[str, Any]) -> str:
    t, msg = err["type"], err["msg"]
    if t == "extra_forbidden":
        return "no such field (a typo?)"
    if t == "missing":
        return "this required field"
    got = err.get("input")
    shown = repr(got) if not isinstance(got, dict) else "a table"
    msg = re.sub(r"^(Value error|Input should be|Assertion failed),? ?", "", msg)
    return f"{msg} (got {shown})"


# --------------------------------------------------------------------------- overrides
#: A dotted field path: ``model.weeks``, ``backers.turkey.capacity``.
FIELD_PATH = r"[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)+"
#: What a dated event sets (or scales), by the event's date or index:
#: ``events.2020-01-19.set.factions.gna.base_income``, ``events.3.scale.backers.uae.capacity``.
EVENT_PATH = re.compile(rf"events\.(\d+|\d{{4}}-\d{{2}}-\d{{2}})\.(set|scale)\.({FIELD_PATH})")


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``PATH=VALUE``; VALUE is read as a TOML value, else as a bare string. PATH is a
    field path, or an entry of a dated event (`EVENT_PATH`)."""
    if "=" not in text:
        raise ScenarioError("--set", [(text, None, "PATH=VALUE, e.g. backers.turkey.capacity=0")])
    path, raw = (s.strip() for s in text.split("=", 1))
    if not (re.fullmatch(FIELD_PATH, path) or EVENT_PATH.fullmatch(path)):
        raise ScenarioError("--set", [(path, None, "a dotted field path like model.weeks, or "
                                                   "events.<date>.set.<field path>")])
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return path, value


def event_entry(events: Any, path: str) -> tuple[int, str, str]:
    """``events.<date or index>.<set|scale>.<field path>`` -> (event index, "set" or "scale",
    the key in that event's table). ValueError (saying what was expected, as in
    :class:`ScenarioError`) unless exactly one event has that entry; events that are not
    tables, or whose set or scale is not a table, have none (validation says what is wrong
    with them)."""
    m = EVENT_PATH.fullmatch(path)
    if m is None:
        raise ValueError("events.<date or index>.<set|scale>.<field path>")
    if not isinstance(events, Sequence) or isinstance(events, str):
        raise ValueError("a list of [[events]] tables in the scenario")
    which, kind, key = m[1], m[2], m[3]

    def table(e: Any) -> Mapping[str, Any]:
        t = e.get(kind) if isinstance(e, Mapping) else None
        return t if isinstance(t, Mapping) else {}

    def date(e: Any) -> str:
        return str(e.get("date")) if isinstance(e, Mapping) else "?"

    if "-" in which:
        found = [i for i, e in enumerate(events) if date(e) == which and key in table(e)]
        if len(found) != 1:
            having = [f"{date(e)} (events.{i})" for i, e in enumerate(events) if key in table(e)]
            raise ValueError(f"one event of {which} with '{key}' in its {kind} table; found "
                             f"{len(found)} (events with it: {', '.join(having) or 'none'})")
        return found[0], kind, key
    i = int(which)
    if i >= len(events):
        raise ValueError(f"an event index below {len(events)}; the scenario has {len(events)} "
                         "events")
    if key not in table(events[i]):
        raise ValueError(f"an event with '{key}' in its {kind} table; events.{i} "
                         f"({date(events[i])}) has no '{key}' (it has: "
                         f"{', '.join(table(events[i])) or 'none'})")
    return i, kind, key


def _event_field(i: int, kind: str, key: str) -> str:
    """An event entry's path as validation errors name it."""
    return f"events[{i}].{kind}.{key}"


def _apply_override(data: dict[str, Any], path: str, value: Any) -> str | None:
    """Set a dotted path (or a dated event's entry) in the raw data; return an error message
    if the path does not exist."""
    if EVENT_PATH.fullmatch(path):
        try:
            i, kind, key = event_entry(data.get("events", []), path)
        except ValueError as exc:
            return str(exc)
        data["events"][i][kind][key] = value
        return None
    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if part.isdigit() and isinstance(node, list):
            idx = int(part)
            if idx >= len(node):
                return f"an existing index; {'.'.join(parts[:i])} has {len(node)} entries"
            node = node[idx]
            continue
        if not isinstance(node, dict) or part not in node:
            if isinstance(node, dict) and i == 0 and part in Scenario.model_fields:
                node = node.setdefault(part, {})
                continue
            where = ".".join(parts[: i + 1])
            return f"an existing table; there is no '{where}'"
        node = node[part]
    if not isinstance(node, dict):
        return "a path to a field"
    node[parts[-1]] = value
    return None


# --------------------------------------------------------------------------- loading
def scenario_from_dict(
    data: Mapping[str, Any],
    overrides: Iterable[tuple[str, Any]] = (),
    *,
    source: str = "<scenario>",
    text: str = "",
) -> Scenario:
    """Validate raw scenario data (plus overrides) into a frozen :class:`Scenario`."""
    data = json.loads(json.dumps(data, default=str))  # deep copy; dates as ISO strings
    problems: list[tuple[str, int | None, str]] = []
    overrides = list(overrides)
    for path, value in overrides:
        msg = _apply_override(data, path, value)
        if msg:
            problems.append((f"--set {path}", None, msg))
    if problems:
        raise ScenarioError(source, problems)
    override_paths = {p for p, _ in overrides}
    for p, _ in overrides:  # an event's entry, as validation names it
        if EVENT_PATH.fullmatch(p):
            override_paths.add(_event_field(*event_entry(data["events"], p)))
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            ctx = err.get("ctx", {}).get("error")
            if isinstance(ctx, _CrossRefError):
                for path, msg in ctx.errs:
                    problems.append(_located(path, msg, text, override_paths))
                continue
            path = _format_loc(err["loc"])
            problems.append(_located(path, _expected(err), text, override_paths))
        seen: set[str] = set()
        unique = []
        for prob in problems:  # a value failing every branch of a union is one problem
            if prob[0] not in seen:
                seen.add(prob[0])
                unique.append(prob)
        raise ScenarioError(source, unique) from None
    # Fill display names.
    return _with_names(scn)


def _located(path: str, msg: str, text: str, overrides: set[str]) -> tuple[str, int | None, str]:
    touched = [o for o in overrides if o == path or o.startswith(path + ".")]
    if touched:
        via = path if path in touched else f"{path} (changed by --set {', '.join(touched)})"
        return (f"{via} (from --set)" if path in touched else via, None, msg)
    return (path, _line_of(text, path) if text else None, msg)


def _with_names(scn: Scenario) -> Scenario:
    updates = {}
    for group in ("factions", "backers", "mediators", "sites"):
        table = getattr(scn, group)
        if any(not v.name for v in table.values()):
            updates[group] = {
                k: (v if v.name else v.model_copy(update={"name": k.replace("_", " ").title()}))
                for k, v in table.items()
            }
    return scn.model_copy(update=updates) if updates else scn


def load_scenario(
    path: str | Path, overrides: Iterable[tuple[str, Any] | str] = ()
) -> Scenario:
    """Read, override and validate a TOML scenario file.

    ``overrides`` are ``(path, value)`` pairs or ``"path=value"`` strings (as ``--set`` takes).
    Raises :class:`ScenarioError` for anything wrong with the file or the overrides.
    """
    path = Path(path)
    src = str(path)
    pairs = [parse_override(o) if isinstance(o, str) else o for o in overrides]
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(src, [("", None, "an existing file (not found)")]) from None
    except IsADirectoryError:
        raise ScenarioError(src, [("", None, "a TOML file, not a directory")]) from None
    except OSError as exc:
        raise ScenarioError(src, [("", None, f"a readable file ({exc.strerror})")]) from None
    if not raw.strip():
        raise ScenarioError(src, [("", None, "a TOML scenario; the file is empty")])
    if b"\x00" in raw:
        raise ScenarioError(src, [("", None, "a TOML text file; this looks binary")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            src, [("", None, f"UTF-8 text; undecodable byte at offset {exc.start}")]
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", str(exc))
        if line is None:  # Python < 3.14 only puts the position in the message
            m = re.search(r"\(at line (\d+), column \d+\)", msg)
            line = int(m.group(1)) if m else None
        raise ScenarioError(src, [("", line, f"valid TOML syntax ({msg})")]) from None
    return scenario_from_dict(data, pairs, source=src, text=text)
