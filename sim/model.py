"""The Mesa model: one week per step, in phases (events, support, diplomacy, fighting or the
ceasefire's life, learning, collection).

The scenario object is kept as ``self.spec``: ``mesa.Model`` owns ``scenario`` (an experimental
Mesa Scenario), which we leave alone.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import functools
import math
import types
import weakref
from functools import partial
from types import MappingProxyType, SimpleNamespace

import mesa
import networkx as nx
from mesa.discrete_space import Network

from sim.agents import Attack, Backer, Faction, Mediator
from sim.negotiation import (
    Answer,
    Decision,
    FactionView,
    Proposal,
    agreement_strength,
    containment,
    front_gain,
    value_of_fighting,
)
from sim.scenario import Scenario

__all__ = ["EVENT_COLUMNS", "NegotiationModel"]

_P_MAX = 1 - 1e-6
#: A backer's weekly support rising past this factor of last week's (+0.5) is logged as an
#: escalation (a reporting threshold: it changes no decision).
_ESCALATION_LOG = 1.25


def _clip(belief: float) -> float:
    """A belief kept within [1e-6, 1 - 1e-6], where odds are taken."""
    return 1e-6 if belief < 1e-6 else (belief if belief <= _P_MAX else _P_MAX)


EVENT_COLUMNS = ["step", "kind", "actor", "target", "proposal_id", "accepted", "value",
                 "momentum", "reason"]


class NegotiationModel(mesa.Model):
    """Ceasefire bargaining under fire, with patrons and mediators.

    >>> import sim
    >>> scn = sim.load_scenario("scenarios/symmetric_duel.toml")
    >>> m = sim.NegotiationModel(scn, rng=1)
    >>> m.run()
    >>> m.outcome()  # doctest: +SKIP
    """

    #: Agent classes; a subclass of the model may swap in scripted agents (tests, what-ifs).
    faction_class: type[Faction] = Faction
    backer_class: type[Backer] = Backer
    mediator_class: type[Mediator] = Mediator

    def __init__(self, scenario: Scenario, *, rng=None, steps: int | None = None) -> None:
        super().__init__(rng=rng)
        if not isinstance(scenario, Scenario):
            raise TypeError("NegotiationModel needs a sim.Scenario (see sim.load_scenario)")
        self.spec = scenario
        self._topo: _Topology | None = None  # derived quantities, dropped on state changes
        self._cache: dict = {}
        self._views: dict[str, FactionView] = {}
        mp = scenario.model
        c = self._compiled = _compiled(scenario)
        self.mp = SimpleNamespace(**c.model_params)
        self.weeks = steps if steps is not None else mp.weeks
        self.start_date = mp.start_date
        self._dates = c.dates

        # ---- territory: sites on a graph (a Mesa Network: `space`)
        self.site_keys = c.site_keys
        self.site_index = c.site_index
        self.site_p = [SimpleNamespace(**d) for d in c.site_params]
        self.edges = c.edges
        self.neigh = c.neigh

        # ---- agents
        self.factions: dict[str, Faction] = {
            k: self.faction_class(self, k, f) for k, f in scenario.factions.items()
        }
        self.backers: dict[str, Backer] = {
            k: self.backer_class(self, k, b) for k, b in scenario.backers.items()
        }
        self.mediators: dict[str, Mediator] = {
            k: self.mediator_class(self, k, m) for k, m in scenario.mediators.items()
        }
        self.armed = [k for k, f in self.factions.items() if f.armed]
        self.blocs = list(dict.fromkeys(self.factions[k].bloc for k in self.armed))
        self.bloc_of = {k: f.bloc for k, f in self.factions.items()}
        self._bloc_armed = {b: [k for k in self.armed if self.bloc_of[k] == b]
                            for b in self.blocs}
        self.ctrl = [s.controller for s in scenario.sites.values()]  # faction key per site
        for f in self.factions.values():
            f.initial_sites = frozenset(k for k, c in zip(self.site_keys, self.ctrl, strict=True)
                                        if self.bloc_of[c] == f.bloc)
        self.backers_of = {k: [b for b in self.backers.values() if b.client == k]
                           for k in self.factions}

        # ---- run state
        self.status = "war"
        self.deal: Proposal | None = None
        self.deal_start = 0
        self.pending: list[Proposal] = []  # counter-proposals answered next week
        self.initiatives: list = []  # scheduled initiatives of this week
        self.next_pid = 1
        self.last_capture = 0
        self.victor: str | None = None
        self.share_history: dict[str, list[float]] = {b: [] for b in self.blocs}
        self.counts = dict(truces=0, ceasefires=0, breakdowns=0, proposals=0, incidents=0)
        self.first_ceasefire: int | None = None
        self.ceasefire_by: tuple[str, str] | None = None  # (proposer, kind) of first ceasefire
        self.events_by_step: dict[int, list] = {k: list(v) for k, v in c.events_by_step.items()}
        self.attacked = [-10**9] * len(self.site_keys)  # last step each site was attacked
        self._refresh_shares()
        for b in self.blocs:
            self.share_history[b].append(self._bshare[b])
        for f in self.factions.values():
            if scenario.factions[f.key].min_share is None:
                # by default it aims at what its bloc holds at the start, plus its claims
                claimed = sum(self.site_value(s) for s in f.claims
                              if self.site_bloc(s) != f.bloc)
                f.aim = min(self._bshare[f.bloc] + claimed, 1.0)

        self._place_agents()
        self._moved = False  # control changed this week: agents may change seats

        # ---- data
        self.datacollector = _Collector(model_reporters=self.model_reporters(),
                                        tables={"events": EVENT_COLUMNS})
        self.datacollector.collect(self)

    def model_reporters(self) -> dict:
        """The columns of the steps table, recorded every week: name -> function of the model
        (any reporter Mesa's DataCollector accepts). A subclass may add its own."""
        # plain functions with the key bound as a default: a call costs half a keyword partial's
        reporters = {"status": lambda m: m.status}
        for k in self.armed:
            reporters[f"control_{k}"] = lambda m, k=k: m.control_share(k)
            reporters[f"strength_{k}"] = lambda m, k=k: m.factions[k].effective
        for k in self.factions:
            reporters[f"belief_{k}"] = lambda m, k=k: m.factions[k].belief
        for k in self.backers:
            reporters[f"support_{k}"] = lambda m, k=k: m.backers[k].support
        for k in self.armed:
            reporters[f"losses_{k}"] = lambda m, k=k: m.factions[k].losses_total
        for k, b in self.backers.items():
            if b.p.troops > 0 or b.p.fighters > 0:
                reporters[f"deployed_{k}"] = lambda m, k=k: m.deployed(k)
                reporters[f"lost_{k}"] = lambda m, k=k: m.backers[k].troops_lost
        return reporters

    def column_types(self) -> dict[str, str]:
        """The pandas dtype of each steps-table column of `model_reporters` that is not a
        float64 (the runner builds the table's schema from it). A subclass whose reporters
        record text, integers or booleans names them here."""
        return {"status": "str"}

    def deployed(self, backer: str) -> float:
        """A backer's forces on its client's fronts: its deployed troops and its fighters."""
        c = self.factions[self.backers[backer].client]
        return c.deployed.get(backer, 0.0) + c.foreign.get(backer, 0.0)

    @functools.cached_property
    def space(self) -> Network:
        """The sites as a Mesa Network (cells keyed by site, laid out by longitude and latitude
        when every site has them). Factions stand on their seat (see `seat`), backers beside
        their client; the model's own loops read the same graph through `edges` and `neigh`."""
        c = self._compiled
        return Network(c.graph.copy(), random=self.random, layout=c.layout)

    def seat(self, faction: Faction) -> str:
        """Where a faction stands on the map: its capital while its bloc holds it, else the
        most valuable site its bloc holds (its own first); a bloc with no site keeps the
        last."""
        if not faction.armed:  # a political wing stands with its bloc's first armed faction
            return self.seat(self.factions[self._bloc_armed[faction.bloc][0]])
        cap = faction.p.capital
        if cap is not None and self.site_bloc(cap) == faction.bloc:
            return cap
        best, key = None, None
        for i, c in enumerate(self.ctrl):
            if self.bloc_of[c] != faction.bloc:
                continue
            k = (c == faction.key, self.site_p[i].value, -i)
            if key is None or k > key:
                best, key = self.site_keys[i], k
        return best if best is not None else faction.cell.coordinate

    def _place_agents(self) -> None:
        """Stand each faction on its seat and each backer on its client's (Mesa's space
        tools, and `negsim viz`, see them there)."""
        space = self.space
        for f in self.factions.values():
            f.cell = space[self.seat(f)]
        for b in self.backers.values():
            b.cell = self.factions[b.client].cell

    def params_of(self, spec) -> SimpleNamespace:
        """A mutable copy of a scenario table's parameters, for an agent: dated events change
        them during a run without touching the frozen scenario."""
        return SimpleNamespace(**self._compiled.dump(spec))

    # ================================================================== queries
    # Derived quantities are cached at two levels. `_topo` holds what depends only on who holds
    # which site and on the parameters (fronts, stakes, incomes, red-line deterrence); it is
    # dropped by `_retopo()` on captures, deals, events and red-line declarations. `_cache`
    # holds what also depends on forces and beliefs (effective strengths, front terms, views);
    # it is dropped by `_invalidate()` after every phase that moves forces.
    def site_value(self, key: str) -> float:
        return self.site_p[self.site_index[key]].value / self.total_value

    def site_bloc(self, key: str) -> str:
        return self.bloc_of[self.ctrl[self.site_index[key]]]

    def site_income(self, faction: str) -> float:
        return self._topology().income.get(faction, 0)

    @property
    def step_no(self) -> int:
        return int(round(self.time))

    def date(self, step: int | None = None) -> dt.date:
        step = self.step_no if step is None else step
        got = self._dates.get(step)
        if got is None:
            got = self._dates[step] = self.start_date + dt.timedelta(weeks=step)
        return got

    def control_share(self, faction: str) -> float:
        return self._fshare.get(faction, 0.0)

    def bloc_share(self, bloc: str) -> float:
        return self._bshare[bloc]

    def bloc_effective(self, bloc: str) -> float:
        return self._bloc_eff()[bloc]

    def _effective(self) -> dict[str, float]:
        """Every faction's effective strength in this state."""
        got = self._cache.get("eff")
        if got is None:
            got = self._cache["eff"] = {k: f.effective for k, f in self.factions.items()}
        return got

    def _bloc_eff(self) -> dict[str, float]:
        got = self._cache.get("beff")
        if got is None:
            eff = self._effective()
            got = self._cache["beff"] = {b: 0 for b in self.blocs}
            for k in self.armed:
                got[self.bloc_of[k]] += eff[k]
        return got

    def momentum(self, bloc: str) -> float:
        h = self.share_history[bloc]
        i = len(h) - 1 - self.mp.momentum_weeks
        return h[-1] - h[i if i > 0 else 0]

    def _refresh_shares(self) -> None:
        self._moved = True
        vals = [p.value for p in self.site_p]
        self.total_value = sum(vals) or 1.0
        fs: dict[str, float] = {}
        for v, c in zip(vals, self.ctrl, strict=True):
            fs[c] = fs.get(c, 0.0) + v / self.total_value
        self._fshare = fs
        self._bshare = {b: 0.0 for b in self.blocs}
        for k, s in fs.items():
            self._bshare[self.bloc_of[k]] += s
        self._retopo()

    def _retopo(self) -> None:
        """Forget everything derived from control and parameters (and from forces)."""
        self._topo = None
        self._invalidate()

    def _invalidate(self) -> None:
        """Forget quantities derived from forces and beliefs after the state changed."""
        self._cache.clear()
        self._views.clear()

    def fronts(self) -> list[tuple[int, int]]:
        """The hostile edges (site index pairs): the fronts."""
        return self._topology().fronts

    def _topology(self) -> _Topology:
        t = self._topo
        if t is None:
            t = self._topo = _Topology(self)
        return t

    def expected_inflow(self, bloc: str, weeks: float) -> float:
        """Strength a bloc expects to add over `weeks`: arms in the pipeline, backers' support
        (current level plus its recent trend, within capacity), recruitment, less upkeep."""
        mp = self.mp
        recruitment = mp.recruitment
        income = self._topology().income
        total = 0.0
        tw = mp.trend_weeks
        eff = self._effective()
        for k in self._bloc_armed[bloc]:
            f = self.factions[k]
            total += sum(f.pipeline.values())
            for b in self.backers_of[k]:
                p, h = b.p, b.history
                # the weekly trend of its support over trend_weeks, rising only; a linear rise
                # averages half its end value over the projection
                trend = (h[-1] - h[-1 - tw if len(h) > tw else 0]) / tw
                level = b.support + (0.0 if trend < 0.0 else trend) * weeks / 2
                cap = b.capacity()
                if cap <= level:
                    level = cap
                total += level * (p.arms + p.fighters) * p.efficiency * weeks
                total += level * p.money * recruitment * weeks
            total += (f.p.base_income + income.get(k, 0)) * recruitment * weeks
            total -= mp.demobilisation * eff[k] * weeks
        return total

    def view(self, key: str) -> FactionView:
        """The frozen view a faction decides from (memoised until the state changes)."""
        got = self._views.get(key)
        if got is None:
            got = self._views[key] = self._make_view(key)
        return got

    def _make_view(self, key: str) -> FactionView:
        f = self.factions[key]
        mp = self.mp
        bloc = f.bloc
        targets, threats = self.assess_fronts(bloc, f.belief, f.p.attack_threshold,
                                              f.reference_ratio)
        foreign_own, foreign_rival = self._foreign_shares()[bloc]
        clients = (key,) if f.armed else self._bloc_armed[bloc]
        pressure = 0.0
        dep = self._dependences()
        for k in clients:
            pressure += sum(b.p.leverage * dep[b.key] * b.preference for b in self.backers_of[k])
        topo = self._topo
        p = f.p
        return FactionView(
            faction=key, bloc=bloc, share=self._bshare[bloc], momentum=self.momentum(bloc),
            belief=f.belief, targets=targets, threats=threats,
            war_cost=p.war_cost + p.casualty_aversion * self.bloc_loss_rate(bloc),
            audience_cost=p.audience_cost, aim=f.aim, discount=p.discount,
            horizon=mp.horizon, political_value=mp.political_value,
            withdrawal_value=mp.withdrawal_value, aim_weight=mp.aim_weight, pressure=pressure,
            hazard=topo.hazard, settle_weeks=mp.settle_weeks, foreign_own=foreign_own,
            foreign_rival=foreign_rival,
            effective=self._bloc_eff()[bloc], enforcement=mp.enforcement,
            separation_strength=mp.separation_strength,
            withdrawal_strength=mp.withdrawal_strength, site_values=topo.site_values,
        )

    @staticmethod
    def _odds(belief: float, ref: float, m: float) -> float:
        """The belief-dependent factor of the believed odds of winning an attack.

        The belief is the chance of winning a typical battle at the balance of forces `ref`
        (own / rival effective strength) it was learned at; the odds of a given attack are this
        factor times the contest success function's local ratio (fa / (b fd))^m (see
        `_front_terms`): odds(belief) x (fa / (b fd) / ref)^m.
        """
        p = _clip(belief)
        return p / (1 - p) * (ref if ref >= 1e-9 else 1e-9) ** -m

    def assess_fronts(self, bloc: str, belief: float, threshold: float, ref: float):
        """(targets, threats) as in FactionView: believed weekly capture chances per front
        site, now and with the strength projected half a horizon ahead.

        The chance is increasing in the local force ratio, so per site only the attack with
        the best ratio (now, and projected) matters; `_front_terms` keeps those. Views and the
        adaptation of aims both see the fronts through this method: a subclass modelling
        misperception overrides it."""
        terms = self._front_terms()
        best_t, best_h = terms.best[bloc]
        if not best_t and not best_h:
            return (), ()
        m = self.mp.decisiveness
        p = _clip(belief)
        return (_chances(best_t, self._odds(p, ref, m), threshold),
                _chances(best_h, self._odds(1 - p, 1 / ref, m), threshold))

    def _front_terms(self) -> _FrontTerms:
        """The belief-free part of the believed odds on every front, for every bloc (see
        `_FrontTerms`); computed once per state, and used both for the factions' valuations
        and for their attack decisions."""
        got = self._cache.get("terms")
        if got is None:
            got = self._cache["terms"] = _FrontTerms(self)
        return got

    def _foreign_shares(self) -> dict[str, tuple[float, float]]:
        """Per bloc: the shares of its own and of its rivals' forces that are foreign (fighters
        and backers' deployed troops)."""
        got = self._cache.get("foreign")
        if got is None:
            per = [(self.bloc_of[k], f.forces - f.strength, f.forces)
                   for k in self.armed for f in (self.factions[k],)]
            got = self._cache["foreign"] = {}
            for b in self.blocs:
                shares = []
                for same in (True, False):
                    num = den = 0.0
                    for bloc, foreign, eff in per:
                        if (bloc == b) == same:
                            num += foreign
                            den += eff
                    shares.append(num / den if den > 0 else 0.0)
                got[b] = tuple(shares)
        return got

    def bloc_loss_rate(self, bloc: str) -> float:
        """The mean smoothed loss rate of a bloc's armed factions."""
        ks = self._bloc_armed[bloc]
        return sum(self.factions[k].loss_rate for k in ks) / max(len(ks), 1)

    def dependence(self, backer: Backer) -> float:
        """How much the client depends on this backer: its share of the client's resources."""
        return self._dependences()[backer.key]

    def _dependences(self) -> dict[str, float]:
        got = self._cache.get("dep")
        if got is None:
            got = self._cache["dep"] = {}
            for client, bs in self.backers_of.items():
                if not bs:
                    continue
                f = self.factions[client]
                total = f.p.base_income + self.site_income(client) + sum(b.support for b in bs)
                for b in bs:
                    got[b.key] = b.support / total if total > 0 else 0.0
        return got

    # ================================================================== step
    def step(self) -> None:
        """One week: the schedule. Agents decide in each phase (their methods); the model
        orders the phases, applies what they decide and records it."""
        week = self.step_no
        self._invalidate()
        self._events(week)  # 1. dated facts change parameters; initiatives are tabled
        self._support(week)  # 2. backers decide support and commit their own forces
        self._invalidate()
        self._preferences()  # backers' wish for a ceasefire, from their clients' prospects
        self._diplomacy(week)  # 3. aims adapt; mediators and factions propose; all answer
        if self.status == "war":
            self._fighting(week)  # 4. factions plan attacks; battles
        else:
            self._ceasefire_life(week)  # 4'. defection tests and spoilers' incidents
        self._invalidate()
        self._learning()  # 5. beliefs from the week's battles
        self._check_end(week)  # 6. victory or the end of the run
        if self._moved:
            self._reseat()
        self.datacollector.collect(self)

    def _reseat(self) -> None:
        space = self.space
        for f in self.factions.values():
            seat = self.seat(f)
            if f.cell.coordinate != seat:
                f.cell = space[seat]
                for b in self.backers_of[f.key]:
                    b.cell = f.cell
        self._moved = False

    def run(self) -> None:
        """Run to the end of the scenario (or an earlier victory)."""
        while self.running and self.step_no < self.weeks:
            self.step()

    # ------------------------------------------------------------------ 1. events
    def _events(self, step: int) -> None:
        self.initiatives = []
        for e in self.events_by_step.get(step, ()):
            for path, value in e.set.items():
                self._set_param(path, value, scale=False)
            for path, value in e.scale.items():
                self._set_param(path, value, scale=True)
            if e.set or e.scale:
                changes = ", ".join([f"{p}={v:g}" for p, v in e.set.items()]
                                    + [f"{p}x{v:g}" for p, v in e.scale.items()])
                self.log("event", "scenario", "", reason=f"{e.description} ({changes})")
            if e.initiative is not None:
                self.initiatives.append(e)

    def _set_param(self, path: str, value, scale: bool) -> None:
        parts = path.split(".")
        if parts[0] == "model":
            target = self.mp
        elif parts[0] == "sites":
            target = self.site_p[self.site_index[parts[1]]]
        else:
            target = getattr(self, parts[0])[parts[1]].p
        field = parts[-1]
        setattr(target, field, getattr(target, field) * value if scale else value)
        if parts[0] == "sites":
            self._refresh_shares()
        else:
            self._retopo()

    # ------------------------------------------------------------------ 2. support
    def _support(self, step: int) -> None:
        """Backers decide simultaneously, from last week's levels: their support (Richardson
        response, client's distress, red lines) and whether their own forces are committed;
        then support is transferred (arms with their lag, fighters at once, money as income)
        and their troops and air power move."""
        if not self.backers:
            return
        bloc_of, backers = self.bloc_of, list(self.backers.values())
        given = {x: 0.0 for x in self.blocs}
        for o in backers:
            given[bloc_of[o.client]] += o.support
        total_given = sum(given.values())
        distress_of = self._distress()
        date = self.date(step)
        quiet = 1.0 if self.status == "war" else self.mp.quiet_response
        levels, commits = [], []
        for b in backers:
            p = b.p
            bloc = bloc_of[b.client]
            if b.declared is None and p.red_line_capacity > 0 and (
                    p.red_line_from is None or date >= p.red_line_from):
                b.declared = step  # a red line deters (and binds) from when it is declared
                self._retopo()
            threatened = b.declared is not None and self._red_line_threatened(b, step)
            was = b.red_line_active
            level = b.decide_support(distress_of[bloc], total_given - given[bloc], threatened,
                                     quiet)
            levels.append(level)
            commits.append(b.commits(distress_of[bloc], threatened, step))
            if b.red_line_active and not was:
                self.log("escalation", b.key, ",".join(p.red_lines),
                         value=level, reason=f"red line threatened; capacity now "
                                             f"{b.capacity():.1f}/week")
        # under a withdrawal clause the named blocs' backers send no new fighters or troops,
        # and those there leave over months
        leaving = self.deal.withdrawal if self.deal is not None else ()
        factions = self.factions
        for f in factions.values():
            f.air = 0.0
        mp = self.mp
        for b, new, committed in zip(backers, levels, commits, strict=True):
            p = b.p
            old = b.support
            b.support = new
            b.history.append(new)
            b.spent += new
            if new > old * _ESCALATION_LOG + 0.5 and not b.red_line_active:
                self.log("escalation", b.key, b.client, value=new,
                         reason=f"support {old:.1f} -> {new:.1f}/week")
            client = factions[b.client]
            withdraw = bloc_of[b.client] in leaving
            arms = new * p.arms * p.efficiency
            fighters = new * p.fighters * p.efficiency
            if withdraw:
                arms += fighters
                fighters = 0.0
            if arms > 0:
                due = step + p.arms_lag
                client.pipeline[due] = client.pipeline.get(due, 0.0) + arms
            if fighters > 0:
                client.foreign[b.key] = client.foreign.get(b.key, 0.0) + fighters
            client.money += new * p.money
            if not committed and b.key not in client.deployed:
                continue  # nothing of its own to send or to pull out
            was_in = client.deployed.get(b.key, 0.0)
            b.deploy(client, committed, withdraw)
            if was_in <= 0 < client.deployed.get(b.key, 0.0):
                self.log("deployment", b.key, b.client, value=client.deployed[b.key],
                         reason=f"commits {client.deployed[b.key]:.0f} units of its own troops"
                                + (f" and air power (+{p.air:.0%})" if p.air > 0 else "")
                                + f": client's distress {distress_of[bloc_of[b.client]]:.2f}")
        keep = 1.0 - mp.demobilisation
        for f in factions.values():
            if not f.armed:
                f.money = 0.0
                continue
            f.strength += f.pipeline.pop(step, 0.0)
            f.strength += mp.recruitment * f.income()
            f.strength *= keep
            out = keep * (1.0 - mp.withdrawal_rate) if f.bloc in leaving else keep
            foreign = f.foreign
            for b in foreign:
                foreign[b] *= out
            f.money = 0.0

    def _distress(self) -> dict[str, float]:
        """Per bloc: ground lost over the momentum window plus how far it is outgunned (its
        share of all effective strength below parity)."""
        eff = self._bloc_eff()
        total_eff = sum(eff.values())
        scale = 1e-9 if total_eff < 1e-9 else total_eff
        out = {}
        for x in self.blocs:
            losing = -self.momentum(x)
            outgunned = self.mp.parity - eff[x] / scale
            out[x] = ((0.0 if losing < 0.0 else losing)
                      + (0.0 if outgunned < 0.0 else outgunned))
        return out

    def _red_line_threatened(self, b: Backer, step: int) -> bool:
        """A declared red-line site the enemy holds, or attacked since the line was declared
        (and in the last red_line_memory weeks)."""
        if b.declared is None:
            return False
        bloc = self.bloc_of[b.client]
        recent = step - self.mp.red_line_memory
        for s in b.p.red_lines:
            i = self.site_index[s]
            at = self.attacked[i]
            if self.bloc_of[self.ctrl[i]] != bloc or (at >= recent and at >= b.declared):
                return True
        return False

    def _preferences(self) -> None:
        """Backers' ceasefire preferences from their clients' unbiased prospects (the client's
        belief without its optimism), before this week's diplomacy."""
        for k, bs in self.backers_of.items():
            if bs:
                gain = self._unbiased_gain(self.factions[k])
                for b in bs:
                    b.update_preference(gain)

    def _expected_gain(self, f: Faction, belief: float | None = None) -> float:
        """`expected_gain` of the faction's view (at another belief, if given), from the parts
        of the view it depends on (its fronts as it believes them), without building the rest
        of the view."""
        targets, threats = self.assess_fronts(f.bloc, f.belief if belief is None else belief,
                                              f.p.attack_threshold, f.reference_ratio)
        return front_gain(targets, threats, self._bshare[f.bloc], f.p.discount, self.mp.horizon)

    def _unbiased_gain(self, client: Faction) -> float:
        """The client's expected weekly gain from fighting on, without its optimism: its
        expected change of share over the horizon, spread over the half horizon a gain takes
        on average to come."""
        n0 = client.p.belief_alpha + client.p.belief_beta
        unbiased = client.belief - client.p.optimism * n0 / (client.alpha + client.beta)
        gain = self._expected_gain(client, min(max(unbiased, 0.0), 1.0))
        return gain / max(self.mp.horizon / 2, 1.0)

    # ------------------------------------------------------------------ 3. diplomacy
    def _diplomacy(self, step: int) -> None:
        if self.status == "ceasefire":
            return
        date = self.date(step)
        # aims adapt to last week's fortunes (before any view of this week is built); views
        # are built when a faction first needs one, and memoised for the week
        for f in self.factions.values():
            f.adapt_aim(self._bshare[f.bloc], self.momentum(f.bloc),
                        lambda f=f: self._expected_gain(f), self.force_ratio(f.bloc))
        view = self.view
        table: list[Proposal] = []
        # scheduled initiatives
        for e in self.initiatives:
            table.append(self._mediator_proposal(self.mediators[e.initiative.mediator], step,
                                                 e.initiative, scheduled=e.description))
        # counter-proposals from last week
        table.extend(self.pending)
        self.pending = []
        proposers = {p.proposer for p in table}  # one proposal each a week
        # endogenous mediator initiatives
        for med in self.mediators.values():
            if med.key in proposers:
                continue
            want = not med.p.patrons or all(self.backers[b].preference > 0
                                            for b in med.p.patrons)
            if not med.considers(step, date, want):
                continue
            probe = self._mediator_proposal(med, step, None, probe=True)
            surpluses = [self.factions[k].answer(view(k), probe).surplus for k in self.armed]
            ok, est = med.sees_range(surpluses)
            if ok:
                proposers.add(med.key)
                table.append(self._mediator_proposal(
                    med, step, None,
                    note="sees a bargaining range: est. surplus "
                         + ", ".join(f"{k} {e:+.3f}" for k, e in zip(self.armed, est,
                                                                      strict=True))))
        # factions that would rather freeze the line than fight on
        if self.status == "war":
            # random activation order, no first mover (shuffling a list draws what
            # permutation(n) draws, and orders the list as that permutation would)
            order = list(self.factions.items())
            self.rng.shuffle(order)
            for k, f in order:
                if step - f.last_proposal < f.p.proposal_interval or k in proposers:
                    continue
                if f.wants_to_propose(view(k)):
                    prop = f.own_terms(view(k), step, self._pid(), self._addressees(k))
                    f.last_proposal = step
                    self._announce(prop, view(k))
                    table.append(prop)
        if not table:
            return
        if self.status == "truce":  # during a truce only open-ended ceasefires are talked about
            table = [p for p in table if p.open_ended]
        # every addressee answers every proposal, from the same snapshot
        answers: dict[int, dict[str, Decision]] = {}
        counters: dict[str, Proposal] = {}
        for prop in table:
            answers[prop.id] = {}
            for k in prop.addressees:
                d = self.factions[k].answer(view(k), prop)
                answers[prop.id][k] = d
                self.log("response", k, prop.proposer, proposal_id=prop.id,
                         accepted=d.answer is Answer.ACCEPT, value=d.surplus,
                         reason=f"{d.answer.value}: {d.reason()}")
                f = self.factions[k]
                if (d.answer is Answer.COUNTER and k not in counters and self.status == "war"
                        and step - f.last_proposal >= f.p.proposal_interval):
                    counters[k] = f.own_terms(view(k), step + 1, self._pid(),
                                              self._addressees(k), counter_to=prop.id)
                    f.last_proposal = step
        # a ceasefire comes into force when every armed faction accepts the same proposal
        agreed = [p for p in table
                  if all(k == p.proposer or (k in answers[p.id]
                                             and answers[p.id][k].answer is Answer.ACCEPT)
                         for k in self.armed)]
        if agreed:
            best = [p for p in agreed if p.open_ended] or agreed
            self._start_deal(best[int(self.rng.integers(len(best)))], step)
        else:
            for k, prop in counters.items():
                self._announce(prop, view(k))
                self.pending.append(prop)

    def _pid(self) -> int:
        pid = self.next_pid
        self.next_pid += 1
        return pid

    def _addressees(self, proposer: str) -> tuple[str, ...]:
        return tuple(k for k in self.factions if k != proposer)

    def _announce(self, prop: Proposal, view: FactionView) -> None:
        self.counts["proposals"] += 1
        fight, _ = value_of_fighting(view)
        what = "counter-proposal" if prop.counter_to else "proposal"
        self.log("proposal", prop.proposer, "all", proposal_id=prop.id, value=fight,
                 reason=f"{what}: {prop.describe()} | momentum {view.momentum:+.3f}, "
                        f"fight {fight:.3f} < freeze")

    def _mediator_proposal(self, med: Mediator, step: int, ini, scheduled: str = "",
                           note: str = "", probe: bool = False) -> Proposal:
        """A mediator's proposal: its own terms, or a scheduled initiative's (`ini`)."""
        p = med.p
        duration = ini.duration_weeks if ini is not None else None
        wd = ini.withdrawal if ini is not None and ini.withdrawal is not None else p.withdrawal
        withdrawal = (tuple(self.blocs) if wd is True else (wd,) if isinstance(wd, str) else ())
        separation = (ini.separation if ini is not None and ini.separation is not None
                      else p.separation)
        guarantors = tuple(dict.fromkeys(
            ([ini.guarantor] if ini is not None and ini.guarantor else [])
            + (list(ini.guarantors) if ini is not None else [])))
        if not guarantors and p.guarantee_forces > 0:
            guarantors = (med.key,)
        monitoring, guarantee = self._guarantees(guarantors, med)
        inducement = []
        for k, f in self.factions.items():
            pull = sum(self.backers[b].p.leverage * self.dependence(self.backers[b])
                       for b in p.patrons if self.backers[b].client == k)
            inducement.append((k, med.inducement(f, pull)))
        prop = Proposal(
            id=0 if probe else self._pid(), proposer=med.key,
            kind="joint" if p.patrons else "mediator", step=step,
            addressees=tuple(self.factions), duration=duration,
            returns=tuple(ini.handover.items()) if ini is not None else (),
            withdrawal=withdrawal,
            political=med.political(self.blocs, ini.political_share if ini is not None
                                    else None),
            guarantors=guarantors, guarantee=guarantee, monitoring=monitoring,
            separation=separation, inducement=tuple(inducement),
        )
        if not probe:
            med.last_proposal = step
            self.counts["proposals"] += 1
            why = f"scheduled: {scheduled}" if scheduled else note
            self.log("proposal", med.key, "all", proposal_id=prop.id,
                     reason=f"{prop.describe()} | {why}")
        return prop

    def _guarantees(self, guarantors: tuple[str, ...], med: Mediator | None
                    ) -> tuple[float, float]:
        """(monitoring, guarantee) of a deal: the share of incidents its monitors and
        guarantors damp, M / (M + monitoring_scale), and the guarantors' committed forces
        (credibility-weighted; a backer's eroded by its fatigue)."""
        forces = 0.0
        for g in guarantors:
            if g in self.backers:
                b = self.backers[g]
                forces += b.p.guarantee_forces * (1 - b.fatigue)
            else:
                m = self.mediators[g]
                forces += m.p.guarantee_forces * m.p.credibility
        watch = forces + (med.p.monitors * med.p.credibility if med is not None else 0.0)
        monitoring = watch / (watch + self.mp.monitoring_scale) if watch > 0 else 0.0
        return monitoring, forces

    def _start_deal(self, prop: Proposal, step: int) -> None:
        for site, bloc in prop.returns:
            i = self.site_index[site]
            if self.bloc_of[self.ctrl[i]] != bloc:
                new = max(self._bloc_armed[bloc], key=lambda k: self.factions[k].effective)
                self.log("handover", new, site, proposal_id=prop.id,
                         reason=f"{site} handed over to {new} under proposal {prop.id}")
                self.ctrl[i] = new
        self._refresh_shares()
        self._invalidate()
        self.deal, self.deal_start = prop, step
        if prop.open_ended:
            self.status = "ceasefire"
            self.counts["ceasefires"] += 1
            if self.first_ceasefire is None:
                self.first_ceasefire = step
                self.ceasefire_by = (prop.proposer, prop.kind)
            kind = "ceasefire"
        else:
            self.status = "truce"
            self.counts["truces"] += 1
            kind = "truce"
        self.log(kind, prop.proposer, "all", proposal_id=prop.id, accepted=True,
                 reason=f"in force: {prop.describe()}; accepted by every armed faction")

    # ------------------------------------------------------------------ 4. fighting
    def _fighting(self, step: int) -> None:
        """Each armed faction plans its attacks from the same state and the same front terms
        it valued the war with; per front edge the attack with the best believed chance goes
        ahead (a tie is a coin flip); battles are fought in random order."""
        if not self.fronts():
            return
        m = self.mp.decisiveness
        options: dict[str, list] = {}
        for _bloc, dst, now, e, src, fa, fd in self._front_terms().attacks:
            options.setdefault(self.ctrl[src], []).append((e, src, dst, now, fa, fd))
        best_by_edge: dict[int, Attack] = {}
        for att, opts in options.items():
            A = self.factions[att]
            for plan in A.plan_attacks(opts, self._odds(A.belief, A.reference_ratio, m)):
                e = plan[1]
                best = best_by_edge.get(e)
                if best is None or plan[0] > best[0] or (
                        plan[0] == best[0] and self.rng.random() < 0.5):
                    best_by_edge[e] = plan
        plans = [best_by_edge[e] for e in sorted(best_by_edge)]
        if len(plans) > 1:  # battles in random order (a shuffle of one draws nothing)
            self.rng.shuffle(plans)  # draws and orders as permutation(len(plans)) would
        lost_by_backer: dict[str, float] = {}
        for believed, _e, src, dst, fa, fd in plans:
            self._battle(step, believed, src, dst, fa, fd, lost_by_backer)
        for b in self.backers.values():
            b.tire(lost_by_backer.get(b.key, 0.0))

    def _battle(self, step: int, believed: float, src: int, dst: int, fa: float, fd: float,
                lost_by_backer: dict[str, float]) -> None:
        """One attack from `src` on `dst`: the contest success function decides it, both sides
        lose in proportion to what they engaged, the winner takes the site."""
        mp = self.mp
        att, dfn = self.ctrl[src], self.ctrl[dst]
        if self.bloc_of[att] == self.bloc_of[dfn]:
            return  # the site changed hands earlier this week
        A, D = self.factions[att], self.factions[dfn]
        fa = min(fa, A.effective)
        fd = min(fd, D.effective)
        self.attacked[dst] = step
        m = mp.decisiveness
        num = fa**m
        den = num + (self.site_p[dst].defence * fd) ** m
        p_win = num / den if den > 0 else 1.0
        won = self.rng.random() < p_win
        la = A.lose(fa * (mp.attrition_win if won else mp.attrition_loss))
        ld = D.lose(fd * (mp.attrition_loss if won else mp.attrition_win))
        for lost in (la, ld):
            for b, n in lost.items():
                if b != "own":
                    lost_by_backer[b] = lost_by_backer.get(b, 0.0) + n
        A.battles += 1
        D.battles += 1
        site = self.site_keys[dst]
        if won:
            A.wins += 1
            self.ctrl[dst] = att
            self.last_capture = step
            self._refresh_shares()
            self.log("capture", att, site, value=p_win,
                     reason=f"took {site} from {dfn}: engaged {fa:.1f} vs {fd:.1f} (defence "
                            f"x{self.site_p[dst].defence:g}), P(win) {p_win:.2f}, believed "
                            f"{believed:.2f}")
        else:
            D.wins += 1
            self.log("battle", att, site, value=p_win,
                     reason=f"attack on {site} repelled by {dfn}: engaged {fa:.1f} vs "
                            f"{fd:.1f}, P(win) {p_win:.2f}, believed {believed:.2f}")

    def _deterrence(self) -> dict[tuple[str, str], float]:
        """Extra defence an attacker of bloc X expects at a declared red-line site of a rival
        backer."""
        out: dict[tuple[str, str], float] = {}
        for b in self.backers.values():
            if not b.p.red_lines or b.p.red_line_capacity <= 0 or b.declared is None:
                continue
            surge = (b.p.red_line_capacity * b.p.red_line_credibility * b.p.efficiency
                     * (b.p.arms + b.p.fighters) * self.mp.red_line_weeks)
            for s in b.p.red_lines:
                for bloc in self.blocs:
                    if bloc != self.bloc_of[b.client]:
                        out[(s, bloc)] = out.get((s, bloc), 0.0) + surge
        return out

    # ------------------------------------------------------------------ 4'. a deal's life
    def _ceasefire_life(self, step: int) -> None:
        """A truce or ceasefire in force, from the week it is signed: a truce that has run its
        course ends and the war resumes; otherwise each armed faction tests whether defecting
        beats keeping the deal (the commitment problem), then spoilers may cause incidents,
        which monitors and guarantors damp and which break the deal with a chance that falls
        with the deal's provisions and with the weeks it has held."""
        deal = self.deal
        assert deal is not None
        held = step - self.deal_start
        if not deal.open_ended and held >= deal.duration:
            self.log("truce_end", deal.proposer, "all", proposal_id=deal.id,
                     reason=f"{deal.duration}-week truce expired; war resumes")
            self._end_deal()
            self._fighting(step)  # a k-week truce spares k weeks, not k + 1
            return
        if not self._keep_or_break(deal, step, held):
            for b in self.backers.values():  # at the end of a week without battles
                b.tire(0.0)

    def _keep_or_break(self, deal: Proposal, step: int, held: int) -> bool:
        """Defection tests, then spoilers' incidents; returns whether the week saw fighting."""
        mp = self.mp
        # the guarantee is only as good as the guarantors' commitment now (their forces, their
        # fatigue, the events since the signing), not as it was signed
        monitoring, guarantee = self._guarantees(deal.guarantors,
                                                 self.mediators.get(deal.proposer))
        if monitoring != deal.monitoring or guarantee != deal.guarantee:
            deal = self.deal = dataclasses.replace(deal, monitoring=monitoring,
                                                   guarantee=guarantee)
        for k in self.armed:
            d = self.factions[k].keeps(self.view(k), deal, held)
            if d.answer is not Answer.ACCEPT:
                self.counts["breakdowns"] += 1
                self.log("breakdown", k, "all", proposal_id=deal.id, value=d.fight - d.deal,
                         reason=f"defects: fight {d.fight:.3f} > keep {d.deal:.3f} "
                                f"[{_terms(d.terms)}]")
                self._end_deal()
                self._fighting(step)  # war resumes the week a faction defects
                return True
        # monitors damp incidents; separation and withdrawal keep them from escalating
        escalate = (mp.incident_breakdown
                    * containment(deal, mp.separation_strength, mp.withdrawal_strength)
                    / (1 + held / mp.settle_weeks))
        for k in self.armed:
            rate = self.factions[k].p.spoiler_rate * (1 - deal.monitoring)
            if rate > 0 and self.rng.random() < rate:
                self.counts["incidents"] += 1
                broke = self.rng.random() < escalate
                strength = agreement_strength(deal, mp.separation_strength,
                                              mp.withdrawal_strength)
                self.log("incident", k, "all", proposal_id=deal.id, accepted=None,
                         reason=f"spoiler incident (p={rate:.3f}/week, monitoring "
                                f"{deal.monitoring:.2f}); breaks it with p={escalate:.3f} "
                                f"(agreement strength {strength:.2f}, held {held} weeks)"
                                + ("; the deal breaks down" if broke else "; contained"))
                if broke:
                    self.counts["breakdowns"] += 1
                    self.log("breakdown", k, "all", proposal_id=deal.id,
                             reason="incident escalated")
                    self._end_deal()
                    return False
        return False

    def _end_deal(self) -> None:
        self.status = "war"
        self.deal = None
        # a frozen front is measured in weeks of war: the clock restarts when war does
        self.last_capture = max(self.last_capture, self.step_no)

    # ------------------------------------------------------------------ 5. learning
    def _learning(self) -> None:
        """Beliefs absorb the week's battles; with the guns silent (truce or ceasefire all
        week) evidence is kept with `quiet_memory` instead of fading at `belief_memory`."""
        mp = self.mp
        mem = mp.belief_memory if self.status == "war" else mp.quiet_memory
        for k in self.armed:
            self.factions[k].tally_losses(mp.loss_smoothing)
        # political wings learn from their bloc's battles
        for f in self.factions.values():
            if not f.armed:
                same = [self.factions[a] for a in self._bloc_armed[f.bloc]]
                f.battles = sum(a.battles for a in same)
                f.wins = sum(a.wins for a in same)
        log_ratio = {b: math.log(self.force_ratio(b)) for b in self.blocs}
        for f in self.factions.values():
            f.learn(mem, log_ratio[f.bloc])

    def force_ratio(self, bloc: str) -> float:
        """The bloc's effective strength over its rivals'."""
        got = self._cache.get("ratio")
        if got is None:
            beff = self._bloc_eff()
            total = sum(beff.values())
            got = self._cache["ratio"] = {}
            for b, own in beff.items():
                rival = total - own
                got[b] = (1e-9 if own < 1e-9 else own) / (1e-9 if rival < 1e-9 else rival)
        return got[bloc]

    # ------------------------------------------------------------------ 6. end
    def _check_end(self, step: int) -> None:
        for b in self.blocs:
            self.share_history[b].append(self._bshare[b])
        mp = self.mp
        for b in self.blocs:
            # a bloc wins by holding victory_share of the value, or by taking every rival
            # faction's capital (one fallen capital of several does not end the war)
            capitals = [k for k in self.armed if self.bloc_of[k] != b
                        and self.factions[k].p.capital is not None]
            lost_capital = [k for k in capitals
                            if self.site_bloc(self.factions[k].p.capital) == b]
            if len(lost_capital) < len(capitals):
                lost_capital = []
            if self._bshare[b] >= mp.victory_share or lost_capital:
                winner = max((k for k in self.armed if self.bloc_of[k] == b),
                             key=lambda k: self._fshare.get(k, 0.0))
                self.victor = winner
                why = (f"holds {self._bshare[b]:.0%} of value" if not lost_capital
                       else f"took the capital of {', '.join(lost_capital)}")
                self.log("victory", winner, "all", reason=f"military victory: {why}")
                self.running = False
                return
        if step >= self.weeks:
            self.running = False

    # ================================================================== records
    def log(self, kind: str, actor: str, target: str, *, proposal_id: int | None = None,
            accepted: bool | None = None, value: float | None = None, reason: str = "") -> None:
        """Record an event; `momentum` is the acting faction's territorial momentum."""
        momentum = self.momentum(self.bloc_of[actor]) if actor in self.factions else None
        row = (self.step_no, kind, actor, target, proposal_id, accepted,
               None if value is None else float(value), momentum, reason)
        table = self.datacollector.tables["events"]
        for col, v in zip(EVENT_COLUMNS, row, strict=True):
            table[col].append(v)

    def outcome(self) -> str:
        """The run's outcome class."""
        if self.victor is not None:
            return f"victory:{self.victor}"
        step = self.step_no
        if self.status == "ceasefire":
            held = step - self.deal_start
            return "durable_ceasefire" if held >= self.mp.durable_weeks else "fragile_ceasefire"
        if step - self.last_capture >= self.mp.stalemate_weeks and self.status == "war":
            return "stalemate"
        return "ongoing"


# ---------------------------------------------------------------------- helpers
def _terms(terms: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:+.3f}" for k, v in terms.items() if abs(v) >= 5e-4)


class _Compiled:
    """What every run of one scenario object builds alike, built once: the site graph and
    index (read-only: tuples and a mapping proxy; `space` copies the graph), the parameter
    tables as dicts and the events by step (each run copies them)."""

    def __init__(self, scenario: Scenario) -> None:
        g = nx.Graph()
        self.site_keys = tuple(scenario.sites)
        g.add_nodes_from(self.site_keys)
        for k, s in scenario.sites.items():
            for n in s.neighbours:
                g.add_edge(k, n)
        self.graph = g
        pos = {k: (s.lon, s.lat) for k, s in scenario.sites.items()
               if s.lon is not None and s.lat is not None}
        self.layout = pos if len(pos) == len(g) else None
        idx = {k: i for i, k in enumerate(self.site_keys)}
        self.site_index = MappingProxyType(idx)  # shared by every run: read-only
        self.edges = tuple(sorted((idx[a], idx[b]) if idx[a] < idx[b] else (idx[b], idx[a])
                                  for a, b in g.edges))
        self.neigh = tuple(tuple(idx[n] for n in g.neighbors(k)) for k in self.site_keys)
        self.model_params = scenario.model.model_dump()
        self.site_params = [s.model_dump() for s in scenario.sites.values()]
        self._dumps: dict[int, tuple[object, dict]] = {}
        self.dates: dict[int, dt.date] = {}  # step -> date, filled as runs go
        self.events_by_step: dict[int, list] = {}
        for e in scenario.events:
            self.events_by_step.setdefault(scenario.date_step(e.date), []).append(e)

    def dump(self, spec) -> dict:
        got = self._dumps.get(id(spec))
        if got is None or got[0] is not spec:
            got = self._dumps[id(spec)] = (spec, spec.model_dump())
        return got[1]


_COMPILED: dict[int, tuple[weakref.ref, _Compiled]] = {}


def _compiled(scenario: Scenario) -> _Compiled:
    """The scenario's compiled form, kept while the scenario object lives."""
    key = id(scenario)
    got = _COMPILED.get(key)
    if got is not None and got[0]() is scenario:
        return got[1]
    c = _Compiled(scenario)
    _COMPILED[key] = (weakref.ref(scenario, lambda _r, k=key: _COMPILED.pop(k, None)), c)
    return c


class _Collector(mesa.DataCollector):
    """Mesa's DataCollector for model reporters, without a deep copy of values that cannot
    change after they are recorded (numbers, strings; Mesa copies every value), and without
    sorting out each reporter's kind at every step. Reporters are called as Mesa calls them: a
    function of the model, an attribute name, [function, args] or a method; values go to
    ``model_vars[name]`` as looked up at each collect."""

    #: (name, kind, reporter) per reporter, kinds as in `_reporter_kind`; the reporters
    #: themselves, so that a copy of the collector calls its own copies
    _calls: list | None = None

    def _new_model_reporter(self, name, reporter) -> None:
        super()._new_model_reporter(name, reporter)
        self._calls = None  # sorted out again at the next collect

    def collect(self, model) -> None:
        if self.agent_reporters or self.agenttype_reporters:
            super().collect(model)
            return
        calls = self._calls
        if calls is None:
            calls = self._calls = [(name, _reporter_kind(reporter), reporter)
                                   for name, reporter in self.model_reporters.items()]
        self._collection_steps.append(model.time)
        model_vars = self.model_vars
        for name, kind, reporter in calls:
            if kind == 0:
                value = reporter(model)
            elif kind == 1:
                value = getattr(model, reporter, None)
            elif kind == 2:
                value = reporter[0](*reporter[1])
            else:
                value = reporter()
            if type(value) not in _IMMUTABLE:
                value = copy.deepcopy(value)
            model_vars[name].append(value)


def _reporter_kind(reporter) -> int:
    """0: a function of the model, 1: an attribute name, 2: [function, args], 3: a callable
    of no arguments (a method): Mesa's order of tests."""
    if isinstance(reporter, types.LambdaType | partial):
        return 0
    if isinstance(reporter, str):
        return 1
    if isinstance(reporter, list):
        return 2
    return 3


_IMMUTABLE = frozenset({float, int, str, bool, type(None)})


class _Topology:
    """What follows from who holds which site and from the parameters: the fronts, each
    faction's stakes on them, incomes, red-line deterrence, the hazard a deal runs."""

    __slots__ = ("fronts", "directed", "income", "hazard", "site_values", "value_share")

    def __init__(self, m: NegotiationModel) -> None:
        ctrl, sp, bloc_of, keys = m.ctrl, m.site_p, m.bloc_of, m.site_keys
        tv = m.total_value
        self.fronts = [(a, b) for a, b in m.edges if bloc_of[ctrl[a]] != bloc_of[ctrl[b]]]
        # each faction spreads its effective strength over its fronts by what is at stake
        # (the value of the sites on both ends)
        stakes = [sp[a].value + sp[b].value for a, b in self.fronts]
        total: dict[str, float] = {}
        for (a, b), w in zip(self.fronts, stakes, strict=True):
            total[ctrl[a]] = total.get(ctrl[a], 0) + w
            total[ctrl[b]] = total.get(ctrl[b], 0) + w
        deter = m._deterrence()
        #: per directed front edge: (edge, src, dst, attacker, defender, attacker's bloc,
        #: defence, stake, attacker's and defender's total stakes, deterrent expected at dst)
        self.directed = []
        for e, ((a, b), w) in enumerate(zip(self.fronts, stakes, strict=True)):
            for src, dst in ((a, b), (b, a)):
                att, dfn = ctrl[src], ctrl[dst]
                self.directed.append((e, src, dst, att, dfn, bloc_of[att], sp[dst].defence, w,
                                      total[att], total[dfn],
                                      deter.get((keys[dst], bloc_of[att]), 0.0)))
        self.income: dict[str, float] = {}
        for p, c in zip(sp, ctrl, strict=True):
            self.income[c] = self.income.get(c, 0) + p.income
        hazard = sum(m.factions[k].p.spoiler_rate for k in m.armed) * m.mp.incident_breakdown
        self.hazard = min(hazard, 1.0)
        self.value_share = [p.value / tv for p in sp]
        self.site_values = tuple((k, bloc_of[c], v) for k, c, v in
                                 zip(keys, ctrl, self.value_share, strict=True))


class _FrontTerms:
    """Per directed front edge, the belief-free part of the believed odds of an attack: the
    contest success function's local force ratio (fa / (b fd))^m, where the defence an
    attacker expects includes a declared red line's deterrent; and the shift of that ratio
    that each bloc projects from the expected inflow of strength.

    attacks: (attacker's bloc, dst, ratio now, edge, src, fa, fd) per directed front edge.
    best[bloc]: per front site, (value share, best ratio now, best projected ratio), for the
    bloc's attacks and for the enemy's attacks on the bloc's sites. The projected ratio is the
    ratio times the shift, and multiplying by a positive number preserves order (also in
    floating point), so the best projected ratio is the best ratio, shifted.
    """

    __slots__ = ("attacks", "best")

    def __init__(self, model: NegotiationModel) -> None:
        blocs = model.blocs
        topo = model._topology()
        m = model.mp.decisiveness
        eff = model._effective()
        best: dict[str, dict[int, float]] = {b: {} for b in blocs}
        self.attacks = attacks = []
        for e, src, dst, att, dfn, abloc, dfc, w, ta, td, deter in topo.directed:
            fa = eff[att] * w / ta if ta > 0 else 0.0
            fd = eff[dfn] * w / td if td > 0 else 0.0
            seen = dfc * (fd + deter)
            local = (fa / (seen if seen >= 1e-9 else 1e-9)) ** m
            attacks.append((abloc, dst, local, e, src, fa, fd))
            got = best[abloc]
            if local > got.get(dst, -1.0):
                got[dst] = local
        self.best: dict[str, tuple[tuple, tuple]] = {}
        if not attacks:
            self.best = {b: ((), ()) for b in blocs}
            return
        h = model.mp.projection_weeks
        beff = model._bloc_eff()
        inflow = {b: model.expected_inflow(b, h) for b in blocs}
        vs = topo.value_share
        ranked = {b: sorted(best[b].items()) for b in blocs}
        for bloc in blocs:
            ratio = model.force_ratio(bloc)
            own_p = beff[bloc] + inflow[bloc]
            own_p = 1e-9 if own_p < 1e-9 else own_p
            rival_p = sum(beff[b] + inflow[b] for b in blocs if b != bloc)
            rival_p = 1e-9 if rival_p < 1e-9 else rival_p
            shift = ((own_p / rival_p) / ratio) ** m
            others = [b for b in blocs if b != bloc]
            if len(others) == 1:  # the one rival's best ratios (all >= 0)
                threat = ranked[others[0]]
            else:
                merged: dict[int, float] = {}
                for b in others:
                    for d, x in best[b].items():
                        if x > merged.get(d, -1.0):
                            merged[d] = x
                threat = sorted(merged.items())
            self.best[bloc] = (tuple([(vs[d], x, x * shift) for d, x in ranked[bloc]]),
                               tuple([(vs[d], x, x / shift) for d, x in threat]))


def _chances(best, odds: float, threshold: float) -> tuple[tuple[float, float, float], ...]:
    """(value share, chance now, chance projected) per site from the best local ratios; a
    chance below the attack threshold counts as no attack."""
    out = []
    for v, now, proj in best:
        q = odds * now
        q = q / (1 + q)
        r = odds * proj
        r = r / (1 + r)
        out.append((v, q if q >= threshold and q > 0.0 else 0.0,
                    r if r >= threshold and r > 0.0 else 0.0))
    return tuple(out)
