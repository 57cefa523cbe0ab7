"""The reworked mechanisms, one by one, on scripted inputs: each test fails if the line that
implements its mechanism is removed or changed.

Pure valuations are tested on hand-built views and proposals; model-level mechanisms on tiny
variants of the symmetric duel, with scripted agents (subclasses set on the model) wherever the
agents' own judgement would only blur what is tested. Parameters a test depends on are set
explicitly, so that a change of a library default does not change what the test checks.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from decision_inputs import freeze, replace, view

from sim.agents import Backer, Faction
from sim.model import NegotiationModel
from sim.negotiation import (
    Answer,
    Decision,
    Proposal,
    agreement_strength,
    deterrence,
    evaluate,
    freeze_value,
    keep_value,
    value_of_fighting,
)
from sim.runner import run_one
from sim.scenario import scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
DUEL = tomllib.loads((ROOT / "scenarios" / "symmetric_duel.toml").read_text())
START = DUEL["model"]["start_date"]


# ====================================================================== helpers
def mean_survival(hazard: float, discount: float = 0.98, horizon: int = 26) -> float:
    """The discount-weighted mean of (1 - hazard)^t over t = 1..horizon, from its definition."""
    d1 = sum(discount**t for t in range(1, horizon + 1))
    return sum((discount * (1 - hazard)) ** t for t in range(1, horizon + 1)) / d1


def data(**changes) -> dict:
    """The duel's data with dotted-path changes: ``data(**{"factions.west.strength": 50})``."""
    d = copy.deepcopy(DUEL)
    d["mediators"]["un"]["activity"] = 0.0  # no endogenous initiative unless a test wants one
    for path, value in changes.items():
        node = d
        *head, last = path.split(".")
        for part in head:
            node = node.setdefault(part, {})
        node[last] = value
    return d


def week(n: int) -> dt.date:
    """The date in simulated week `n` (step n)."""
    return START + dt.timedelta(weeks=n - 1)


def initiative(d: dict, step: int, **ini) -> dict:
    d.setdefault("events", []).append(
        {"date": week(step), "description": "conference", "initiative": {"mediator": "un", **ini}})
    return d


def event(d: dict, step: int, **sets) -> dict:
    d.setdefault("events", []).append(
        {"date": week(step), "description": "decision",
         "set": {k.replace("__", "."): v for k, v in sets.items()}})
    return d


def no_spoilers(d: dict) -> dict:
    for f in d["factions"].values():
        f["spoiler_rate"] = 0.0
    return d


def no_attacks(d: dict) -> dict:
    """Nobody believes any attack good enough to launch: no battles, no losses."""
    for f in d["factions"].values():
        f["attack_threshold"] = 0.999
    return d


ACCEPT = Decision(Answer.ACCEPT, 0.0, 0.0, {"scripted": 1.0})
REJECT = Decision(Answer.REJECT, 0.0, 0.0, {"scripted": 1.0})


class Signer(Faction):
    """Accepts every proposal and never proposes; keeps every deal (records each test of it as
    (week, faction, weeks held))."""

    def answer(self, view, proposal):
        return ACCEPT

    def wants_to_propose(self, view):
        return False

    def keeps(self, view, deal, weeks_held):
        self.model.kept.append((self.model.step_no, self.key, weeks_held))
        return ACCEPT


class JudgingSigner(Signer):
    """Signs every proposal, and judges each week whether to keep the deal as a real faction
    does (the commitment problem)."""

    def keeps(self, view, deal, weeks_held):
        return Faction.keeps(self, view, deal, weeks_held)


class WestDefects(Signer):
    """Signs, then west defects from the deal in its first week."""

    def keeps(self, view, deal, weeks_held):
        return REJECT if self.key == "west" else ACCEPT


def model(d: dict, *, faction=Signer, backer=Backer, rng=0, steps=None) -> NegotiationModel:
    cls = type("Scripted", (NegotiationModel,),
               {"faction_class": faction, "backer_class": backer})
    m = cls(scenario_from_dict(d), rng=rng, steps=steps)
    m.kept = []
    return m


def events(m: NegotiationModel):
    return m.datacollector.get_table_dataframe("events")


# ====================================================================== (1) aims
def test_aims_term_is_minus_weight_times_shortfall_and_is_printed():
    v = view(share=0.5, aim=0.7, aim_weight=0.4)
    d = evaluate(v, freeze())
    assert d.terms["aims"] == pytest.approx(-0.4 * 0.2)
    assert "aims -0.080" in d.reason()
    # it is a term of the deal's value: the same view without aims values it 0.08 higher
    assert evaluate(replace(v, aim=0.0), freeze()).deal - d.deal == pytest.approx(0.08)
    # no term when the deal meets or exceeds its aims
    assert evaluate(replace(v, aim=0.5), freeze()).terms["aims"] == 0.0
    assert evaluate(replace(v, aim=0.3), freeze()).terms["aims"] == 0.0
    # the political share counts toward aims: held = (1 - w) line + w political share
    pol = freeze(political=(("west", 0.8), ("east", 0.2)))
    held = 0.8 * 0.5 + 0.2 * 0.8
    assert evaluate(v, pol).terms["aims"] == pytest.approx(-0.4 * (0.7 - held))
    # a line with sites handed over counts too
    sites = (("x", "east", 0.1),)
    moved = evaluate(replace(v, site_values=sites), freeze(returns=(("x", "west"),)))
    assert moved.terms["aims"] == pytest.approx(-0.4 * (0.7 - (0.8 * 0.6 + 0.2 * 0.6)))


def test_a_deal_short_of_aims_but_worth_more_than_fighting_is_accepted():
    # fight = 0.5 - 0.04; the freeze holds 0.5, 0.05 short of aims
    v = view(share=0.5, aim=0.55, aim_weight=0.5, war_cost=0.04)
    d = evaluate(v, freeze())
    assert d.terms["aims"] == pytest.approx(-0.025)
    assert d.deal == pytest.approx(0.475) and d.fight == pytest.approx(0.46)
    assert d.answer is Answer.ACCEPT  # below its aims, yet accepted: not a veto
    # a heavier weight on the same shortfall tips it below fighting on
    heavy = evaluate(replace(v, aim_weight=1.0), freeze())
    assert heavy.deal == pytest.approx(0.45) and heavy.answer is not Answer.ACCEPT
    # the faction's own freeze counts its aims the same way
    assert freeze_value(v) == pytest.approx(freeze_value(replace(v, aim=0.0)) - 0.025)


def test_a_truce_is_judged_without_aims():
    v = view(aim=0.9, aim_weight=0.5)
    truce = freeze(duration=2)
    d = evaluate(v, truce)
    assert d.terms["aims"] == 0.0
    assert d.deal == pytest.approx(evaluate(replace(v, aim=0.0), truce).deal)
    assert d.answer is Answer.ACCEPT
    assert evaluate(v, freeze()).terms["aims"] == pytest.approx(-0.5 * 0.4)  # open-ended: yes
    # keeping a deal in force: the same rule, and a truce holds the line, not a political
    # settlement
    assert keep_value(v, truce, 0, 8.0, 0.02).terms["aims"] == 0.0
    pol = (("west", 0.9), ("east", 0.1))
    assert keep_value(v, replace(truce, political=pol), 0, 8.0, 0.02).deal == pytest.approx(
        keep_value(v, truce, 0, 8.0, 0.02).deal)
    assert keep_value(v, freeze(political=pol), 0, 8.0, 0.02).deal > (
        keep_value(v, freeze(), 0, 8.0, 0.02).deal)
    kept = keep_value(v, freeze(), 0, 8.0, 0.02)
    assert kept.terms["aims"] == pytest.approx(-0.5 * 0.4)
    assert kept.deal == pytest.approx(keep_value(replace(v, aim=0.0), freeze(), 0, 8.0,
                                                 0.02).deal - 0.2)


def _faction(**model_params) -> Faction:
    params = {"model.collapse_ratio": 0.5, "model.hurting_loss_rate": 0.02,
              "factions.west.aim_adaptation": 0.1, "factions.west.min_share": 0.8}
    params.update({f"model.{k}": v for k, v in model_params.items()})
    return NegotiationModel(scenario_from_dict(data(**params)), rng=0).factions["west"]


def test_aims_fall_toward_what_it_holds_while_losing_and_below_it_when_collapsing():
    losing = _faction()
    assert losing.adapt_aim(share=0.5, momentum=-0.1, expected_gain=1.0, ratio=1.0)
    assert losing.aim == pytest.approx(0.8 - 0.1 * (0.8 - 0.5))
    collapsing = _faction()  # forces at a quarter of its rival's, half the collapse ratio
    assert collapsing.adapt_aim(share=0.5, momentum=-0.1, expected_gain=1.0, ratio=0.25)
    assert collapsing.aim == pytest.approx(0.8 - 0.1 * (0.8 - 0.5 * 0.25 / 0.5))
    assert collapsing.aim < losing.aim  # faster
    # near collapse its aims fall even when they are already at what it holds, and even
    # while it advances with something to gain
    at = _faction()
    at.aim = 0.5
    assert at.adapt_aim(share=0.5, momentum=0.1, expected_gain=1.0, ratio=0.25)
    assert at.aim == pytest.approx(0.5 - 0.1 * (0.5 - 0.25))
    # just above the collapse ratio it does not
    fine = _faction()
    fine.aim = 0.5
    assert not fine.adapt_aim(share=0.5, momentum=0.1, expected_gain=1.0, ratio=0.5)
    assert fine.aim == 0.5


def test_aims_fall_in_a_hurting_stalemate_and_not_when_merely_holding_still():
    still = _faction()
    assert still.loss_rate == 0.0
    assert not still.adapt_aim(share=0.5, momentum=0.0, expected_gain=0.0, ratio=1.0)
    assert still.aim == 0.8
    below = _faction()
    below.loss_rate = 0.019  # losses, but below the hurting rate
    assert not below.adapt_aim(share=0.5, momentum=0.0, expected_gain=0.0, ratio=1.0)
    hurting = _faction()
    hurting.loss_rate = 0.02  # at the hurting rate, nothing to gain by fighting on
    assert hurting.adapt_aim(share=0.5, momentum=0.0, expected_gain=0.0, ratio=1.0)
    assert hurting.aim == pytest.approx(0.8 - 0.1 * 0.3)
    hopeful = _faction()
    hopeful.loss_rate = 0.05  # hurting, but it expects to gain by fighting on
    assert not hopeful.adapt_aim(share=0.5, momentum=0.0, expected_gain=0.01, ratio=1.0)
    assert hopeful.aim == 0.8
    # the model's own rule: the hurting rate is a parameter
    lenient = _faction(hurting_loss_rate=0.05)
    lenient.loss_rate = 0.04
    assert not lenient.adapt_aim(share=0.5, momentum=0.0, expected_gain=0.0, ratio=1.0)


# ====================================================================== (2) durability
def test_agreement_strength_is_one_minus_the_product_of_what_each_provision_lets_through():
    full = freeze(monitoring=0.4, separation=True, withdrawal=("east",))
    assert agreement_strength(full, 0.3, 0.2) == pytest.approx(1 - 0.6 * 0.7 * 0.8)
    assert agreement_strength(freeze(monitoring=0.4), 0.3, 0.2) == pytest.approx(0.4)
    assert agreement_strength(freeze(separation=True), 0.3, 0.2) == pytest.approx(0.3)
    assert agreement_strength(freeze(withdrawal=("west", "east")), 0.3, 0.2) == (
        pytest.approx(0.2))
    assert agreement_strength(freeze(), 0.3, 0.2) == 0.0
    # a deal's value counts it: the chance it holds is the mean survival of the escalating
    # incidents, hazard x (1 - strength)
    v = view(hazard=0.1, separation_strength=0.3, withdrawal_strength=0.2)
    for p in (freeze(), freeze(monitoring=0.4), freeze(separation=True), full):
        s = agreement_strength(p, 0.3, 0.2)
        assert evaluate(v, p).terms["holds"] == pytest.approx(mean_survival(0.1 * (1 - s)))
    assert evaluate(v, freeze(separation=True)).deal > evaluate(v, freeze()).deal
    # expecting the deal to settle as the model does (hazard / (1 + (t - 1) / settle_weeks)
    # in week t), it expects it to hold longer
    settling = evaluate(replace(v, settle_weeks=8.0), full)
    h = 0.1 * (1 - agreement_strength(full, 0.3, 0.2))
    alive = np.cumprod([1 - h / (1 + (t - 1) / 8.0) for t in range(1, 27)])
    disc = 0.98 ** np.arange(1, 27)
    assert settling.terms["holds"] == pytest.approx((disc * alive).sum() / disc.sum())
    assert settling.terms["holds"] > evaluate(v, full).terms["holds"]
    # a truce runs its course: no survival term
    assert evaluate(v, freeze(duration=3)).terms["holds"] == 1.0


def test_deterrence_grows_with_the_guarantors_forces_and_falls_with_the_defectors():
    assert deterrence(0.2, 300.0, 100.0) == pytest.approx(0.2 * 300 / 400)
    assert deterrence(0.2, 600.0, 100.0) > deterrence(0.2, 300.0, 100.0)
    assert deterrence(0.2, 300.0, 300.0) < deterrence(0.2, 300.0, 100.0)
    assert deterrence(0.2, 300.0, 300.0) == pytest.approx(0.1)
    assert deterrence(0.2, 0.0, 100.0) == 0.0
    assert deterrence(0.5, 10.0, 0.0) == pytest.approx(0.5)  # a disarmed side meets it all


def test_keep_value_counts_the_guarantee_and_a_margin_that_grows_as_the_deal_settles():
    v = view(targets=((0.2, 0.3, 0.3),), enforcement=0.2, effective=100.0)
    fight = value_of_fighting(v)[0]
    plain = keep_value(v, freeze(), 0, 8.0, 0.0)
    assert plain.fight == pytest.approx(fight)
    assert plain.deal == pytest.approx(0.5)  # the line it holds, nothing else
    gap = fight - plain.deal
    assert gap > 0.01  # fighting on beats keeping the deal
    margin = gap / 1.5  # more than the margin at first, less than it after settle_weeks
    first = keep_value(v, freeze(), 0, 8.0, margin)
    assert first.terms["margin"] == pytest.approx(margin)
    assert first.deal == pytest.approx(0.5 + margin)
    assert first.answer is Answer.REJECT  # defects
    settled = keep_value(v, freeze(), 8, 8.0, margin)
    assert settled.terms["margin"] == pytest.approx(2 * margin)  # x (1 + 8 / 8)
    assert settled.answer is Answer.ACCEPT
    assert keep_value(v, freeze(), 4, 8.0, margin).terms["margin"] == pytest.approx(1.5 * margin)
    # guarantor forces: the cost of defecting against them keeps the deal from the first week
    guarded = keep_value(v, freeze(guarantors=("un",), guarantee=300.0), 0, 8.0, margin)
    assert guarded.terms["guarantee"] == pytest.approx(deterrence(0.2, 300.0, 100.0))
    assert guarded.deal == pytest.approx(first.deal + 0.15)
    assert guarded.answer is Answer.ACCEPT


def test_the_model_tests_a_deal_from_its_first_week_with_the_weeks_held():
    d = no_spoilers(initiative(data(), 3))
    m = model(d, steps=7)
    m.run()
    assert m.status == "ceasefire" and m.deal_start == 3
    assert [(s, held) for s, k, held in m.kept if k == "west"] == [
        (3, 0), (4, 1), (5, 2), (6, 3), (7, 4)]
    assert {k for _, k, _ in m.kept} == {"west", "east"}


def test_factions_keep_a_deal_with_the_models_parameters_and_their_blocs_forces():
    d = no_spoilers(initiative(data(**{
        "model.settle_weeks": 5.0, "model.defection_margin": 0.03, "model.enforcement": 0.3,
        "model.aim_weight": 0.7, "model.separation_strength": 0.4,
        "model.withdrawal_strength": 0.25, "mediators.un.guarantee_forces": 100.0,
        "mediators.un.credibility": 1.0}), 2))
    m = model(d, steps=2)
    m.run()
    v = m.view("west")
    assert (v.aim, v.aim_weight, v.enforcement, v.separation_strength, v.withdrawal_strength,
            v.settle_weeks) == (m.factions["west"].aim, 0.7, 0.3, 0.4, 0.25, 5.0)
    assert v.effective == pytest.approx(m.bloc_effective("west"))
    got = Faction.keeps(m.factions["west"], v, m.deal, 10)
    assert got.terms["margin"] == pytest.approx(0.03 * (1 + 10 / 5.0))
    assert got.terms["guarantee"] == pytest.approx(
        deterrence(0.3, 100.0, m.bloc_effective("west")))
    assert got == keep_value(v, m.deal, 10, 5.0, 0.03)


def test_incidents_escalate_less_the_longer_a_deal_has_held():
    """Every incident logs the chance it breaks the deal: incident_breakdown x (1 - agreement
    strength) / (1 + weeks held / settle_weeks); and deals break at about that rate."""
    d = initiative(data(**{"model.incident_breakdown": 0.6, "model.settle_weeks": 1.0,
                           "model.separation_strength": 0.5,
                           "factions.west.spoiler_rate": 1.0,
                           "factions.east.spoiler_rate": 0.0}), 1, separation=True)
    by_held: dict[int, list[bool]] = {}
    for seed in range(40):
        m = model(d, rng=seed, steps=14)
        m.run()
        ev = events(m)
        start = int(ev[ev.kind == "ceasefire"].step.iloc[0])
        for r in ev[ev.kind == "incident"].itertuples():
            held = r.step - start
            p = float(re.search(r"breaks it with p=([0-9.]+)", r.reason).group(1))
            assert p == pytest.approx(0.6 * (1 - 0.5) / (1 + held / 1.0), abs=6e-4)
            by_held.setdefault(held, []).append(r.reason.endswith("breaks down"))
    # in the first week about 30% of the incidents break it (p 0.3), after three weeks and
    # more few do (p <= 0.075); without the settling factor both would break at 0.3
    early, late = by_held[0], [b for h, bs in by_held.items() if h >= 3 for b in bs]
    assert len(early) == 40 and len(late) > 100
    assert 0.12 < np.mean(early) < 0.5
    assert np.mean(late) < 0.15


def test_a_large_guarantor_force_makes_a_ceasefire_hold_longer():
    """Same seeds, same deal signed in week 1, factions that judge each week whether to keep it:
    with 1000 guarantor units (x credibility 0.7) vs none. Tolerance: on average at least five
    more weeks in force per run, of the 30 the deal could last (measured: all 30 in every run
    with the guarantor; without it every faction that can gain defects in the first week).
    The guarantor's deterrence, not only its monitoring, is what keeps it here."""
    def weeks_in_force(forces: float) -> tuple[int, int]:
        d = data(**{"mediators.un.guarantee_forces": forces, "model.enforcement": 0.2})
        d = initiative(d, 1, **({"guarantor": "un"} if forces else {}))
        total = breakdowns = 0
        for seed in range(30):
            m = model(d, faction=JudgingSigner, rng=seed, steps=30)
            m.run()
            st = m.datacollector.get_model_vars_dataframe()
            total += int((st.status == "ceasefire").sum())
            breakdowns += m.counts["breakdowns"]
        return total, breakdowns

    (unguarded, broke), (guarded, broke_guarded) = weeks_in_force(0.0), weeks_in_force(1000.0)
    assert guarded >= unguarded + 5 * 30
    assert broke_guarded < broke


def test_beliefs_do_not_fade_under_a_ceasefire_but_do_in_war():
    d = no_attacks(no_spoilers(initiative(
        data(**{"model.belief_memory": 0.8, "model.quiet_memory": 0.97}), 3)))
    m = model(d)
    f = m.factions["west"]
    f.alpha += 4.0  # evidence of battles won, before any week is run
    excess = [f.alpha - f.alpha0]
    for _ in range(5):
        m.step()
        excess.append(f.alpha - f.alpha0)
    statuses = list(m.datacollector.get_model_vars_dataframe().status)
    assert statuses == ["war", "war", "war", "ceasefire", "ceasefire", "ceasefire"]
    ratios = [b / a for a, b in zip(excess, excess[1:], strict=False)]
    assert ratios == pytest.approx([0.8, 0.8, 0.97, 0.97, 0.97])  # no battles in any week


class QuietRecorder(Backer):
    def decide_support(self, distress, opposing, threatened, quiet=1.0):
        self.model.quiet.append((self.model.step_no, self.key, quiet))
        return super().decide_support(distress, opposing, threatened, quiet)


def test_backers_respond_less_under_a_ceasefire():
    m = NegotiationModel(scenario_from_dict(data()), rng=0)
    b = m.backers["west_patron"]
    b.support, b.p.response, b.p.restraint, b.p.baseline = 2.0, 0.1, 0.1, 1.0
    loud = b.decide_support(distress=0.3, opposing=5.0, threatened=False)
    quiet = b.decide_support(distress=0.3, opposing=5.0, threatened=False, quiet=0.4)
    push = b.p.distress_response * b.p.stake * 0.3 * b.capacity()
    assert loud == pytest.approx(2.0 + (0.1 * 5.0 + push) - 0.1 * 2.0 + 0.1 * 1.0)
    assert quiet == pytest.approx(2.0 + 0.4 * (0.1 * 5.0 + push) - 0.1 * 2.0 + 0.1 * 1.0)
    # in the model: the factor is quiet_response in the weeks that start under a deal
    d = no_spoilers(initiative(data(**{"model.quiet_response": 0.3}), 2))
    m = model(d, backer=QuietRecorder, steps=4)
    m.quiet = []
    m.run()
    assert sorted(set(m.quiet)) == sorted(
        {(s, k, 1.0) for s in (1, 2) for k in ("west_patron", "east_patron")}
        | {(s, k, 0.3) for s in (3, 4) for k in ("west_patron", "east_patron")})


# ====================================================================== (3) first week
def test_a_one_week_truce_can_break_in_its_first_week():
    d = initiative(data(**{"model.incident_breakdown": 1.0, "factions.west.spoiler_rate": 1.0,
                           "factions.east.spoiler_rate": 0.0}), 2, duration_weeks=1)
    m = model(d, steps=2)
    m.run()
    ev = events(m)
    at2 = ev[ev.step == 2]
    assert list(at2.kind[at2.kind.isin(["truce", "incident", "breakdown"])]) == [
        "truce", "incident", "breakdown"]
    assert m.status == "war" and m.counts == {**m.counts, "truces": 1, "breakdowns": 1}
    assert "held 0 weeks" in at2[at2.kind == "incident"].reason.iloc[0]


def test_a_defection_is_followed_by_fighting_in_the_same_week():
    d = no_spoilers(initiative(data(**{"factions.west.attack_threshold": 0.05,
                                       "factions.east.attack_threshold": 0.05}), 2))
    m = model(d, faction=WestDefects, steps=2)
    m.run()
    ev = events(m)
    at2 = ev[ev.step == 2].reset_index(drop=True)
    kinds = list(at2.kind)
    assert kinds.index("ceasefire") < kinds.index("breakdown")
    fights = at2.index[at2.kind.isin(["battle", "capture"])]
    assert len(fights) > 0 and fights.min() > kinds.index("breakdown")
    assert at2.actor[kinds.index("breakdown")] == "west"
    assert m.status == "war"


# ====================================================================== (4) terms
def test_an_initiatives_handover_moves_the_named_sites_when_the_deal_starts():
    d = no_attacks(no_spoilers(initiative(data(), 2, handover={"east_border": "west"})))
    # a second, stronger armed faction in the west bloc takes the site
    d["factions"]["west_militia"] = {"bloc": "west", "strength": 500.0}
    m = model(d, steps=1)
    m.run()
    assert m.site_bloc("east_border") == "east"
    m.step()
    assert m.status == "ceasefire"
    assert m.deal.returns == (("east_border", "west"),)
    assert m.ctrl[m.site_index["east_border"]] == "west_militia"
    assert m.bloc_share("west") == pytest.approx(8 / 14)
    ev = events(m)
    ho = ev[ev.kind == "handover"]
    assert list(zip(ho.step, ho.actor, ho.target, strict=True)) == [
        (2, "west_militia", "east_border")]


def test_withdrawal_by_one_bloc_removes_only_that_blocs_foreign_forces_over_time():
    d = data(**{"model.withdrawal_rate": 0.2, "model.demobilisation": 0.01,
                "model.deploy_distress": 10.0})
    for side in ("west", "east"):
        d["backers"][f"{side}_patron"].update(
            arms=0.3, fighters=0.5, money=0.2, troops=40.0, air=0.5, committed=True,
            fatigue_rate=0.0)
    d = no_attacks(no_spoilers(initiative(d, 2, withdrawal="east")))
    m = model(d)
    west, east = m.factions["west"], m.factions["east"]
    seen = []
    for _ in range(6):
        m.step()
        seen.append((east.foreign["east_patron"], east.deployed["east_patron"], east.air,
                     west.foreign["west_patron"], west.deployed["west_patron"], west.air,
                     m.backers["west_patron"].support))
    assert m.deal.withdrawal == ("east",) and m.deal_start == 2
    # until the deal is in force (the support phase of week 3 on), both keep theirs
    for s in seen[:2]:
        assert s[1] == 40.0 and s[4] == 40.0 and s[2] == 0.5 and s[5] == 0.5
    for before, after in zip(seen[1:], seen[2:], strict=False):
        # east: no new fighters, those there leave at the withdrawal rate (after upkeep),
        # its backer's troops leave at the withdrawal rate, its air campaign stops
        assert after[0] == pytest.approx(before[0] * 0.99 * 0.8)
        assert after[1] == pytest.approx(before[1] * 0.8)
        assert after[2] == 0.0
        # west: fighters keep coming (half its support) and stay but for upkeep, troops and
        # air stay
        assert after[3] == pytest.approx((before[3] + 0.5 * after[6]) * 0.99)
        assert after[4] == 40.0 and after[5] == 0.5


def test_several_guarantors_add_their_forces():
    def deal(**ini):
        d = data(**{"mediators.un.guarantee_forces": 100.0, "mediators.un.credibility": 0.7,
                    "mediators.un.monitors": 20.0, "backers.west_patron.guarantee_forces": 30.0,
                    "backers.west_patron.fatigue_rate": 0.0, "model.monitoring_scale": 50.0})
        m = model(no_spoilers(initiative(d, 1, **ini)), steps=1)
        m.run()
        return m.deal

    both = deal(guarantors=["un", "west_patron"])
    assert both.guarantors == ("un", "west_patron")
    assert both.guarantee == pytest.approx(100 * 0.7 + 30)
    watch = 100 * 0.7 + 30 + 20 * 0.7  # guarantors' forces and the mediator's monitors
    assert both.monitoring == pytest.approx(watch / (watch + 50))
    assert deal(guarantor="un", guarantors=["west_patron", "un"]).guarantee == (
        pytest.approx(100))  # the single guarantor and the list, each counted once
    assert deal(guarantors=["west_patron"]).guarantee == pytest.approx(30)
    assert deal().guarantee == pytest.approx(70)  # by default the mediator guarantees


def test_claims_enter_a_factions_default_aim_and_its_own_terms():
    claims = data(**{"factions.west.claims": ["east_border", "east_town"]})
    m = NegotiationModel(scenario_from_dict(claims), rng=0)
    west, east = m.factions["west"], m.factions["east"]
    assert west.aim == pytest.approx((7 + 1 + 2) / 14)
    assert east.aim == pytest.approx(7 / 14)  # what its bloc holds at the start
    terms = west.own_terms(m.view("west"), 1, 99, ("east",))
    assert terms.returns == (("east_town", "west"), ("east_border", "west"))  # by value
    assert east.own_terms(m.view("east"), 1, 98, ("west",)).returns == ()
    # an explicit aim overrides the default
    claims["factions"]["west"]["min_share"] = 0.3
    assert NegotiationModel(scenario_from_dict(claims), rng=0).factions["west"].aim == 0.3


# ====================================================================== (5) backers' forces
def test_a_backer_commits_its_forces_on_distress_a_red_line_or_a_decision_for_deploy_weeks():
    d = data(**{"model.deploy_distress": 0.25, "model.deploy_weeks": 3,
                "backers.west_patron.troops": 50.0})
    m = NegotiationModel(scenario_from_dict(d), rng=0)
    b = m.backers["west_patron"]
    assert not b.commits(distress=0.24, threatened=False, step=5)
    assert b.commits(distress=0.25, threatened=False, step=5)
    assert b.committed_until == 7
    assert b.commits(0.0, False, 6) and b.commits(0.0, False, 7)  # deploy_weeks in all
    assert not b.commits(0.0, False, 8)
    assert b.commits(0.0, True, 20) and b.committed_until == 22  # a red line threatened
    b.p.committed = True  # a dated decision
    assert b.commits(0.0, False, 100)
    # no troops and no air: nothing to commit, whatever the distress
    assert not m.backers["east_patron"].commits(5.0, True, 5)


def test_a_backer_deploys_when_its_clients_distress_passes_the_threshold_or_a_red_line():
    """At week 1 the west is outgunned 1:3: distress 0.6 - 0.25 = 0.35 (no ground lost yet)."""
    def deployed(threshold: float, **more) -> float:
        d = no_attacks(data(**{"model.deploy_distress": threshold, "model.parity": 0.6,
                               "factions.east.strength": 300.0,
                               "backers.west_patron.troops": 50.0,
                               "backers.west_patron.fatigue_rate": 0.0, **more}))
        m = model(d, steps=1)
        assert m._distress()["west"] == pytest.approx(0.35)
        m.run()
        return m.factions["west"].deployed.get("west_patron", 0.0)

    assert deployed(0.34) == 50.0
    assert deployed(0.36) == 0.0
    # a red-line site held by the enemy: it deploys whatever the distress
    red = {"backers.west_patron.red_lines": ["west_border"],
           "backers.west_patron.red_line_capacity": 1.0,
           "sites.west_border.controller": "east"}
    assert deployed(10.0, **red) == 50.0


def test_deployed_troops_stay_deploy_weeks_then_leave_and_the_steps_table_shows_them():
    d = no_attacks(data(**{"model.deploy_distress": 0.0, "model.deploy_weeks": 4,
                           "model.withdrawal_rate": 0.25,
                           "backers.west_patron.troops": 60.0,
                           "backers.west_patron.arms": 0.7, "backers.west_patron.fighters": 0.0,
                           "backers.west_patron.fatigue_rate": 0.0,
                           "backers.east_patron.fatigue_rate": 0.0}))
    # a third backer with neither troops nor fighters
    d["backers"]["west_donor"] = {"client": "west", "arms": 0.7, "fighters": 0.0, "money": 0.3}
    d = event(d, 3, model__deploy_distress=10.0)  # from week 3 on, no new commitment
    _, st, ev = run_one(scenario_from_dict(d), 0, 0, 9)
    assert "deployed_west_patron" in st.columns  # troops
    assert "deployed_east_patron" in st.columns  # fighters
    assert "deployed_west_donor" not in st.columns  # neither
    assert st.deployed_east_patron[0] == 0.0 and (st.deployed_east_patron[1:] > 0).all()
    got = list(st.deployed_west_patron)
    # committed in weeks 1 and 2, so until week 2 + 4 - 1 = 5; then 25% leave each week
    assert got[:6] == [0.0, 60.0, 60.0, 60.0, 60.0, 60.0]
    assert got[6:] == pytest.approx([45.0, 33.75, 25.3125, 18.984375])
    dep = ev[ev.kind == "deployment"]
    assert list(zip(dep.step, dep.actor, dep.target, strict=True)) == [(1, "west_patron", "west")]


def test_troops_add_to_the_clients_forces_and_share_of_foreign_forces():
    d = no_attacks(data(**{"model.deploy_distress": 0.0, "backers.west_patron.troops": 80.0,
                           "backers.west_patron.fatigue_rate": 0.0}))
    m = model(d, steps=1)
    m.run()
    w = m.factions["west"]
    assert w.deployed == {"west_patron": 80.0}
    assert w.forces == pytest.approx(w.strength + sum(w.foreign.values()) + 80.0)
    assert w.effective == pytest.approx(w.forces)  # no air
    m._invalidate()
    assert m.view("west").foreign_own == pytest.approx((w.forces - w.strength) / w.forces)
    assert m.view("east").foreign_rival == pytest.approx(m.view("west").foreign_own)
    assert m.deployed("west_patron") == pytest.approx(80.0 + w.foreign["west_patron"])


def test_air_multiplies_the_clients_effectiveness_only_while_committed():
    d = no_attacks(data(**{"model.deploy_distress": 10.0, "backers.west_patron.air": 0.5,
                           "backers.west_patron.fatigue_rate": 0.0}))
    d = event(d, 3, backers__west_patron__committed=True)
    d = event(d, 5, backers__west_patron__committed=False)
    m = model(d)
    w = m.factions["west"]
    airs = []
    for _ in range(6):
        m.step()
        airs.append(w.air)
        assert w.effective == pytest.approx(w.forces * (1 + w.air))
    assert airs == [0.0, 0.0, 0.5, 0.5, 0.0, 0.0]
    assert "west_patron" not in w.deployed  # air only: no troops on the ground


class Counted(Faction):
    def lose(self, amount):
        lost = super().lose(amount)
        for k, n in lost.items():
            if k != "own":
                self.model.lost[k] = self.model.lost.get(k, 0.0) + n
        return lost


class Replenished(Backer):
    """Records its troops on the client's fronts before and after each week's deployment."""

    def deploy(self, client, committed, withdraw):
        was = client.deployed.get(self.key, 0.0)
        super().deploy(client, committed, withdraw)
        self.model.deploys.append((self.key, was, client.deployed.get(self.key, 0.0)))


def test_deployed_troops_take_losses_the_backer_counts_and_that_raise_its_preference():
    d = data(**{"model.deploy_distress": 0.0, "backers.west_patron.troops": 100.0,
                "backers.west_patron.arms": 0.7, "backers.west_patron.fighters": 0.0,
                "backers.west_patron.fatigue_rate": 0.0,
                "backers.east_patron.arms": 0.7, "backers.east_patron.fighters": 0.0,
                "factions.west.attack_threshold": 0.05, "factions.east.attack_threshold": 0.05})
    m = model(d, faction=type("C", (Counted, Signer), {}), backer=Replenished, steps=6)
    m.lost, m.deploys = {}, []
    m.run()
    b = m.backers["west_patron"]
    assert m.lost["west_patron"] > 0
    assert b.troops_lost == pytest.approx(m.lost["west_patron"])
    # while committed, each week's deployment replaces last week's losses
    west = [(was, now) for k, was, now in m.deploys if k == "west_patron"]
    assert len(west) == 6 and all(now == 100.0 for _, now in west)
    assert any(0 < was < 100.0 for was, _ in west)
    assert "east_patron" not in m.lost and m.backers["east_patron"].troops_lost == 0.0
    # a loss share of the client's forces falls on its troops pro rata
    w = m.factions["west"]
    before = dict(w.deployed), w.strength, w.effective
    lost = w.lose(10.0)
    frac = 10.0 / before[2]
    assert lost["west_patron"] == pytest.approx(before[0]["west_patron"] * frac)
    assert lost["own"] == pytest.approx(before[1] * frac)
    # the losses raise its wish for a ceasefire
    fresh = NegotiationModel(scenario_from_dict(data()), rng=0).backers["west_patron"]
    calm = fresh.update_preference(client_gain=0.01)
    fresh.tire(20.0)
    assert fresh.troops_lost == 20.0
    assert fresh.troop_loss_rate > 0
    assert fresh.update_preference(client_gain=0.01) > calm


# ====================================================================== (6) invariants
def _check_invariants(m: NegotiationModel) -> dict[str, int]:
    """What the model guarantees about deals and fighting, week by week; returns how often
    each case was seen."""
    st = m.datacollector.get_model_vars_dataframe()
    ev = events(m)
    status = list(st.status)
    ctrl = st.filter(like="control_").to_numpy()
    seen = dict.fromkeys(("quiet", "defect_fight", "incident_break", "truce_end", "handover"), 0)
    for step in range(1, len(status)):
        week_ev = ev[ev.step == step].reset_index(drop=True)
        kinds = list(week_ev.kind)
        fights = [i for i, k in enumerate(kinds) if k in ("battle", "capture")]
        started = [i for i, k in enumerate(kinds) if k in ("ceasefire", "truce")]
        ended = [i for i, k in enumerate(kinds) if k in ("breakdown", "truce_end")]
        if status[step] != "war":
            # a deal in force at the end of the week: no battle at all that week
            seen["quiet"] += 1
            assert not fights, (step, kinds)
            if "handover" not in kinds:
                assert (ctrl[step] == ctrl[step - 1]).all()  # the line does not move
        if status[step - 1] != "war" or started:
            # a deal was in force some time this week: battles only after it ended, and only
            # if a faction defected or a truce ran out (an escalated incident ends it quietly)
            if fights:
                assert ended and min(fights) > ended[0], (step, kinds)
                why = week_ev.reason[ended[0]]
                assert kinds[ended[0]] == "truce_end" or why.startswith("defects"), why
                seen["defect_fight" if kinds[ended[0]] == "breakdown" else "truce_end"] += 1
            if ended and kinds[ended[0]] == "breakdown" and \
                    week_ev.reason[ended[0]] == "incident escalated":
                assert not fights
                seen["incident_break"] += 1
        seen["handover"] += kinds.count("handover")
        assert ctrl[step].sum() == pytest.approx(1.0)
    return seen


def test_no_fighting_under_a_deal_in_force_and_battles_only_after_it_ends():
    """Mediated deals signed by factions that judge each week whether to keep them, with
    spoilers, truces and a negotiated map, over a few seeds; every case is seen at least once."""
    d = data(**{"factions.west.attack_threshold": 0.3, "factions.east.attack_threshold": 0.3,
                "factions.west.spoiler_rate": 0.3, "factions.east.spoiler_rate": 0.3,
                "model.incident_breakdown": 0.5})
    initiative(d, 2, duration_weeks=2)
    initiative(d, 7, handover={"east_border": "west"})
    initiative(d, 12)
    initiative(d, 16, duration_weeks=1)
    initiative(d, 18)
    total: dict[str, int] = {}
    for seed in range(12):
        m = model(d, faction=JudgingSigner, rng=seed, steps=22)
        m.run()
        for k, n in _check_invariants(m).items():
            total[k] = total.get(k, 0) + n
    assert all(n > 0 for n in total.values()), total


def test_the_invariants_hold_with_the_factions_own_judgement():
    d = data(**{"mediators.un.activity": 1.0, "factions.west.war_cost": 0.05,
                "factions.east.war_cost": 0.05})
    for seed in range(4):
        m = NegotiationModel(scenario_from_dict(d), rng=seed, steps=40)
        m.run()
        _check_invariants(m)



# ====================================================================== (7) agents, exactly
# The agents' decision methods on exact values, ties and edge cases (`make mutants` runs
# mutation testing on sim/agents.py: these kill mutants the model-level tests let through).
def fresh(**changes) -> NegotiationModel:
    """A model of the duel (with `data` changes) before its first week."""
    return NegotiationModel(scenario_from_dict(data(**changes)), rng=0)


def test_a_new_faction_starts_with_no_losses_evidence_money_or_air_and_a_wing_with_no_forces():
    d = data(**{"sites.west_town.income": 3.0})
    d["factions"]["west_wing"] = {"bloc": "west", "armed": False, "strength": 50.0}
    m = NegotiationModel(scenario_from_dict(d), rng=0)
    w, wing = m.factions["west"], m.factions["west_wing"]
    assert (wing.strength, wing.forces, wing.effective) == (0.0, 0.0, 0.0)  # speaks, no army
    assert (w.air, w.money, w.evidence, w.losses_total, w.lost_this_week, w.loss_rate) == (
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert w.effective == w.forces == w.strength == 100.0
    assert w.income() == 2.0 + 3.0  # base income plus what its sites yield
    assert m.factions["east"].income() == 2.0
    assert w.initial_sites == {"west_capital", "west_town", "west_border"}
    # it has never proposed: no proposal interval (at most 520 weeks) holds back its first
    assert 1 - w.last_proposal > 520
    st = m.datacollector.get_model_vars_dataframe()
    assert (st.losses_west[0], st.strength_west[0]) == (0.0, 100.0)


def test_a_new_backer_has_spent_nothing_lost_nothing_and_prefers_neither_war_nor_peace():
    m = fresh()
    b = m.backers["west_patron"]
    assert (b.spent, b.troops_lost, b.troop_loss_rate, b.peak_deployed, b.fatigue,
            b.preference) == (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert not b.red_line_active
    assert m.view("west").pressure == 0.0  # no backer pulls toward a deal before week 1


def test_the_prior_keeps_a_floor_of_a_thousandth_battle_under_extreme_optimism():
    m = fresh(**{"factions.west.belief_alpha": 1.0, "factions.west.belief_beta": 1.0,
                 "factions.west.optimism": 0.5, "factions.east.belief_alpha": 1.0,
                 "factions.east.belief_beta": 1.0, "factions.east.optimism": -0.5})
    west, east = m.factions["west"], m.factions["east"]
    assert (west.alpha0, west.beta0) == (2.0, 1e-3)
    assert (east.alpha0, east.beta0) == (1e-3, 2.0)
    assert west.belief == pytest.approx(2.0 / 2.001)


def test_the_reference_balance_weighs_the_battles_like_the_prior():
    f = fresh().factions["west"]
    n0 = f.alpha0 + f.beta0
    f.battles, f.wins = 2, 1
    f.learn(0.5, math.log(2.0))
    assert f.evidence == 2.0
    assert f.reference_ratio == pytest.approx(math.exp(2 * math.log(2.0) / (n0 + 2)))
    f.battles = f.wins = 1
    f.learn(0.5, 0.0)
    assert f.evidence == 2.0  # 0.5 x 2 + 1
    assert f.reference_ratio == pytest.approx(math.exp(math.log(2.0) / (n0 + 2)))


def test_losses_fall_pro_rata_on_its_own_the_fighters_and_the_troops_and_add_up():
    m = fresh()
    f = m.factions["west"]
    f.foreign = {"west_patron": 20.0}
    f.deployed = {"west_patron": 30.0, "ally": 50.0}
    assert f.effective == 200.0
    assert f.lose(0.0) == {} and f.lose(-1.0) == {}
    assert f.losses_total == 0.0
    lost = f.lose(20.0)  # a tenth of everything
    assert lost == pytest.approx({"own": 10.0, "west_patron": 2.0 + 3.0, "ally": 5.0})
    assert (f.strength, f.foreign["west_patron"]) == pytest.approx((90.0, 18.0))
    assert f.deployed == pytest.approx({"west_patron": 27.0, "ally": 45.0})
    assert f.losses_total == pytest.approx(20.0) and f.lost_this_week == pytest.approx(20.0)
    f.lose(18.0)
    assert f.losses_total == pytest.approx(38.0) and f.lost_this_week == pytest.approx(38.0)
    # more than it has: it loses everything, and what it had is what it lost
    lost = f.lose(1000.0)
    assert lost == pytest.approx({"own": 81.0, "west_patron": 16.2 + 24.3, "ally": 40.5})
    assert (f.strength, f.effective) == pytest.approx((0.0, 0.0))
    assert f.losses_total == pytest.approx(200.0) and f.lost_this_week == pytest.approx(200.0)
    assert f.lose(5.0) == {}  # nothing left to lose
    small = m.factions["east"]
    small.strength = 0.5
    assert small.lose(0.25) == pytest.approx({"own": 0.25})


def test_the_loss_rate_smooths_the_share_of_its_forces_lost_this_week():
    f = fresh().factions["west"]
    f.strength, f.lost_this_week, f.loss_rate = 90.0, 10.0, 0.2
    f.tally_losses(0.5)
    assert f.loss_rate == pytest.approx(0.5 * 0.2 + 0.5 * 10.0 / 100.0)
    assert f.lost_this_week == 0.0
    f.strength, f.lost_this_week, f.loss_rate = 0.3, 0.2, 0.0  # a remnant: under one unit
    f.tally_losses(1.0)
    assert f.loss_rate == pytest.approx(0.2 / 0.5)


def test_attacks_go_where_the_believed_chance_reaches_the_threshold_with_forces_engaged():
    f = fresh().factions["west"]
    f.p.attack_threshold = 0.5
    options = [(0, 1, 2, 1.0, 0.0, 5.0),  # nothing to engage
               (1, 1, 3, 1.0, 0.5, 5.0),  # odds 1: believed 0.5, at the threshold
               (2, 1, 4, 1.0, 10.0, 5.0),
               (3, 1, 5, 0.5, 10.0, 5.0)]  # believed 1/3
    assert f.plan_attacks(options, 1.0) == [(0.5, 1, 1, 3, 0.5, 5.0), (0.5, 2, 1, 4, 10.0, 5.0)]


def test_aims_stay_at_the_collapse_ratio_itself_and_do_not_move_when_already_met():
    at_ratio = _faction()  # collapse_ratio 0.5, advancing, not hurting
    assert not at_ratio.adapt_aim(share=0.5, momentum=0.1, expected_gain=1.0, ratio=0.5)
    assert at_ratio.aim == 0.8
    met = _faction()
    met.aim = 0.5
    assert not met.adapt_aim(share=0.5, momentum=-0.1, expected_gain=1.0, ratio=1.0)
    assert met.aim == 0.5


def test_own_terms_carry_the_proposals_identity_and_ask_no_withdrawal_at_equal_foreign_shares():
    m = fresh()
    west = m.factions["west"]
    v = replace(m.view("west"), foreign_own=0.1, foreign_rival=0.1)
    got = west.own_terms(v, 3, 41, ["east"], counter_to=7)
    assert got == Proposal(id=41, proposer="west", kind="faction", step=3,
                           addressees=("east",), duration=None, returns=(), withdrawal=(),
                           counter_to=7)
    more = west.own_terms(replace(v, foreign_rival=0.2), 4, 42, ["east"])
    assert more.withdrawal == ("east",) and more.counter_to is None


def test_support_responds_to_stake_distress_and_a_threatened_red_line_within_capacity():
    m = fresh()
    b = m.backers["west_patron"]
    p = b.p
    p.stake, p.distress_response, p.capacity, p.red_line_capacity = 2.0, 0.1, 6.0, 3.0
    p.response, p.restraint, p.baseline = 0.1, 0.1, 1.0
    b.support = 2.0
    calm = b.decide_support(distress=0.2, opposing=1.0, threatened=False)
    assert not b.red_line_active and b.capacity() == 6.0
    assert calm == pytest.approx(2.0 + (0.1 * 1.0 + 0.1 * 2.0 * 0.2 * 6.0) - 0.2 + 0.1)
    alarmed = b.decide_support(distress=0.2, opposing=1.0, threatened=True)
    assert b.red_line_active and b.capacity() == 9.0
    push = 0.1 * 2.0 * 0.2 * 9.0 + 0.1 * 2.0 * 9.0
    assert alarmed == pytest.approx(2.0 + (0.1 * 1.0 + push) - 0.2 + 0.1)
    p.red_line_capacity = 0.5  # a small latent capacity is a red line too
    b.decide_support(0.2, 1.0, True)
    assert b.red_line_active
    p.red_line_capacity = 0.0  # no latent capacity: nothing to unlock
    b.decide_support(0.2, 1.0, True)
    assert not b.red_line_active
    # bounded below by zero (strong restraint) and not rounded up
    p.restraint, p.baseline = 2.5, 0.0
    assert b.decide_support(0.0, 0.0, False) == 0.0
    p.restraint, b.support = 0.1, 0.5
    assert b.decide_support(0.0, 0.0, False) == pytest.approx(0.45)


def test_a_backer_with_half_a_unit_of_troops_commits_them():
    m = fresh(**{"model.deploy_distress": 0.25, "model.deploy_weeks": 2})
    b = m.backers["west_patron"]
    b.p.troops, b.p.air = 0.5, 0.0
    assert b.commits(distress=0.3, threatened=False, step=3)


def test_deployment_tops_troops_up_to_what_fatigue_allows_and_withdraws_them_to_zero():
    d = data(**{"model.withdrawal_rate": 0.5, "backers.west_patron.troops": 40.0,
                "backers.west_patron.air": 0.5})
    d["backers"]["west_ally"] = {"client": "west", "air": 0.2, "troops": 0.5}
    m = NegotiationModel(scenario_from_dict(d), rng=0)
    west = m.factions["west"]
    b, ally = m.backers["west_patron"], m.backers["west_ally"]
    b.fatigue = 0.25
    b.deploy(west, committed=True, withdraw=False)
    assert west.deployed == {"west_patron": 30.0}
    assert west.air == pytest.approx(0.5 * 0.75)
    ally.deploy(west, committed=True, withdraw=False)  # air campaigns add up
    assert west.air == pytest.approx(0.5 * 0.75 + 0.2)
    assert west.deployed["west_ally"] == 0.5
    west.deployed["west_patron"] = 35.0  # more than it can commit now: those there stay
    b.deploy(west, committed=True, withdraw=False)
    assert west.deployed["west_patron"] == 35.0
    # not committed: half leave each week, down to zero once under a millionth of a unit
    for here, left in [(1.5, 0.75), (2e-6, 1e-6), (1.5e-6, 0.0)]:
        west.deployed["west_patron"] = here
        b.deploy(west, committed=False, withdraw=False)
        assert west.deployed["west_patron"] == left


def test_a_backers_preference_weighs_the_cost_of_the_war_its_fatigue_and_losses_against_gain():
    b = fresh().backers["west_patron"]
    b.support, b.troop_loss_rate, b.fatigue = 2.0, 0.1, 0.2
    b.p.cost_per_unit, b.p.troop_loss_aversion, b.p.capacity, b.p.stake = 0.01, 5.0, 6.0, 1.0
    cost = 0.01 * (2.0 + 5.0 * 0.1) + 0.2 * 0.01 * 6.0
    assert b.update_preference(0.01) == pytest.approx((cost - 0.01) / (cost + 0.01))
    b.support, b.troop_loss_rate, b.fatigue = 0.0, 0.0, 0.0
    assert b.update_preference(0.0) == 0.0  # nothing at stake either way
    assert b.update_preference(0.01) == -1.0  # a free war with something to gain
    nan = float("nan")
    assert b.update_preference(nan) == max(-1.0, min(1.0, nan)) == 1.0  # as written out


def test_fatigue_is_capped_and_the_troop_loss_rate_is_smoothed():
    m = fresh(**{"model.fatigue_cap": 0.3})
    b = m.backers["west_patron"]
    b.p.fatigue_rate, b.support = 0.1, 5.0
    b.tire(0.0)
    assert b.fatigue == 0.3
    s = m.mp.loss_smoothing
    b.tire(10.0)
    b.tire(0.0)
    assert b.troop_loss_rate == pytest.approx((1 - s) * s * 10.0)
    assert b.troops_lost == 10.0


def test_a_mediator_is_active_from_and_until_its_dates_inclusive():
    med = fresh().mediators["un"]
    med.p.active_from, med.p.active_until = dt.date(2020, 3, 2), dt.date(2020, 6, 1)
    assert [med.active(dt.date(*ymd)) for ymd in
            [(2020, 3, 1), (2020, 3, 2), (2020, 6, 1), (2020, 6, 2)]] == [
        False, True, True, False]


def test_a_mediator_considers_its_first_initiative_whatever_its_interval():
    m = fresh()
    med = m.mediators["un"]
    med.p.proposal_interval, med.p.activity = 520, 1.0
    assert med.considers(1, m.date(1), True)
    assert not med.considers(1, m.date(1), False)


def test_political_shares_favour_the_favoured_bloc_and_split_the_rest():
    med = fresh().mediators["un"]

    def shares(blocs, share=None):
        got = med.political(blocs, share)
        assert [b for b, _ in got] == blocs
        return [s for _, s in got]

    med.p.favours, med.p.political_share = None, 0.6
    assert shares(["west", "east"]) == [0.5, 0.5]
    med.p.favours = "west"
    assert shares(["west", "east"]) == pytest.approx([0.6, 0.4])
    assert shares(["west", "east"], 0.7) == pytest.approx([0.7, 0.3])  # an initiative's share
    assert shares(["east", "west", "north"], 0.5) == pytest.approx([0.25, 0.5, 0.25])
    med.p.favours = "south"  # favours no bloc at the table: an even split
    assert shares(["west", "east"]) == [0.5, 0.5]


def test_inducements_are_leverage_times_credibility_tilted_by_bias_plus_the_patrons_pull():
    m = fresh()
    med = m.mediators["un"]
    west, east = m.factions["west"], m.factions["east"]
    med.p.leverage, med.p.credibility, med.p.bias = 0.02, 0.5, 0.4
    med.p.favours = None
    assert med.inducement(west, 0.003) == pytest.approx(0.02 * 0.5 + 0.003)
    med.p.favours = "west"
    assert med.inducement(west, 0.003) == pytest.approx(0.02 * 0.5 * 1.4 + 0.003)
    assert med.inducement(east, 0.003) == pytest.approx(0.02 * 0.5 * 0.6 + 0.003)


def test_a_mediator_without_noise_sees_the_surpluses_as_they_are_and_draws_nothing():
    m = fresh()
    med = m.mediators["un"]
    med.p.noise = 0.0
    state = m.rng.bit_generator.state
    assert med.sees_range([0.0, 0.2]) == (True, [0.0, 0.2])  # a zero surplus is a range
    assert med.sees_range([-1e-9, 0.2]) == (False, [-1e-9, 0.2])
    assert m.rng.bit_generator.state == state
    med.p.noise = 0.1
    ok, est = med.sees_range([0.0, 0.2])
    assert est != [0.0, 0.2] and m.rng.bit_generator.state != state
