"""The actors: factions, backers and mediators, each holding its own behaviour.

Agents decide; the model (``sim.model``) schedules phases, moves forces and records data. Each
agent keeps a mutable copy of its scenario parameters in ``self.p`` so that dated events can change
them (a parliament vote raising a backer's capacity) without touching the frozen scenario.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import mesa

from sim.negotiation import (
    Decision,
    FactionView,
    Proposal,
    concession,
    evaluate,
    value_of_fighting,
    wants_to_propose,
)

if TYPE_CHECKING:
    from sim.model import NegotiationModel

__all__ = ["Backer", "Faction", "Mediator"]


class Faction(mesa.Agent):
    """A belligerent or a political wing. Decides whether to attack, propose, accept or defect."""

    def __init__(self, model: NegotiationModel, key: str, spec) -> None:
        super().__init__(model)
        self.key = key
        self.p = model.params_of(spec)
        self.armed: bool = spec.armed
        self.bloc: str = spec.bloc
        self.strength: float = spec.strength if spec.armed else 0.0
        self.foreign: dict[str, float] = {}  # backer -> fighters it has in this faction
        self.pipeline: dict[int, float] = {}  # step -> arms strength arriving
        self.money: float = 0.0  # money received this week
        n0 = spec.belief_alpha + spec.belief_beta
        # prior mean shifted by optimism, with the prior's weight
        self.alpha0 = max(spec.belief_alpha + spec.optimism * n0, 1e-3)
        self.beta0 = max(spec.belief_beta - spec.optimism * n0, 1e-3)
        self.alpha, self.beta = self.alpha0, self.beta0
        self.wins = self.battles = 0  # this week, for learning
        # the balance of forces (log own/rival effective strength) the belief was learned at:
        # the prior is about an even fight (parity), then the battles' balance, weighted like
        # the battle evidence
        self.log_ratio0 = 0.0
        self.log_ratio_sum = 0.0
        self.evidence = 0.0
        self.losses_total = 0.0
        self.lost_this_week = 0.0
        self.loss_rate = 0.0  # smoothed share of strength lost in battle per week
        self.aim: float = spec.min_share  # the least share it would sign for, adapting
        self.last_proposal = -10**9
        self.first_proposal: int | None = None
        self.initial_sites: frozenset[str] = frozenset()

    # ------------------------------------------------------------------ state
    @property
    def belief(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def effective(self) -> float:
        return self.strength + sum(self.foreign.values())

    def income(self) -> float:
        return self.p.base_income + self.model.site_income(self.key) + self.money

    # ------------------------------------------------------------------ diplomacy
    def answer(self, view: FactionView, proposal: Proposal) -> Decision:
        """Accept, reject or counter a proposal (see `sim.negotiation.evaluate`)."""
        return evaluate(view, proposal)

    def defects(self, view: FactionView, deal: Proposal, monitoring: float
                ) -> tuple[bool, float, float]:
        """The commitment problem: does fighting on now beat keeping the deal in force?

        Keeping it is worth the line (and political share) plus its backers' pressure and the
        cost a guarantor's monitoring puts on defecting. Returns (defects, fight, keep).
        """
        mp = self.model.mp
        fight, _ = value_of_fighting(view)
        pol = deal.political_share(view.bloc)
        w = mp.political_value if pol is not None else 0.0
        keep = ((1 - w) * view.share + w * (pol or 0.0) + view.pressure
                + mp.enforcement * monitoring)
        return fight > keep + mp.defection_margin, fight, keep

    def may_propose(self, share: float) -> bool:
        """A necessary condition of `wants_to_propose`, from its bloc's share alone: it only
        proposes to freeze a line that meets its aims. The model asks this first so as not to
        build a view for a faction that cannot propose. A subclass that overrides
        `wants_to_propose` and not this gets no such shortcut (see `__init_subclass__`)."""
        return share + 1e-9 >= self.aim

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "wants_to_propose" in cls.__dict__ and "may_propose" not in cls.__dict__:
            cls.may_propose = _always  # its own rule decides, from a whole view

    def wants_to_propose(self, view: FactionView) -> bool:
        """Whether it puts its own terms on the table this week."""
        return wants_to_propose(view)

    def own_terms(self, view: FactionView, step: int, pid: int, addressees, counter_to=None):
        """Terms it puts forward itself: its aims, conceded over time (see `concession`)."""
        if self.first_proposal is None:
            self.first_proposal = step
        keep = concession(step - self.first_proposal, self.p.concession_weeks,
                          self.p.concession_exponent)
        lost = sorted(
            (s for s in self.initial_sites if self.model.site_bloc(s) != self.bloc),
            key=lambda s: (-self.model.site_value(s), s),
        )
        demanded = lost[: int(math.floor(len(lost) * keep + 1e-9))]
        withdrawal = view.foreign_rival > view.foreign_own + 0.05 and keep > 0
        return Proposal(
            id=pid, proposer=self.key, kind="faction", step=step, addressees=tuple(addressees),
            duration=None, returns=tuple((s, self.bloc) for s in demanded),
            withdrawal=withdrawal, counter_to=counter_to,
        )

    # ------------------------------------------------------------------ fighting
    def lose(self, amount: float) -> dict[str, float]:
        """Take `amount` of losses, shared pro rata between own strength and foreign fighters."""
        total = self.effective
        if total <= 0 or amount <= 0:
            return {}
        frac = min(amount / total, 1.0)
        lost = {"own": self.strength * frac}
        self.strength -= self.strength * frac
        for b, n in self.foreign.items():
            lost[b] = n * frac
            self.foreign[b] = n - n * frac
        taken = amount if frac < 1 else total
        self.losses_total += taken
        self.lost_this_week += taken
        return lost

    def tally_losses(self) -> None:
        """Smooth this week's battle losses into its casualty rate (drives casualty aversion)."""
        share = self.lost_this_week / max(self.effective + self.lost_this_week, 1e-9)
        self.loss_rate = 0.7 * self.loss_rate + 0.3 * share
        self.lost_this_week = 0.0

    def adapt_aim(self, share: float, momentum: float,
                  expected_gain: float | Callable[[], float]) -> bool:
        """Aspiration adaptation: while it loses ground, or holds still with nothing to gain by
        fighting on, its aims drift down toward what it holds. Returns whether they moved.

        `expected_gain` is a number, or a function of no arguments that returns it: the model
        passes a function, called only when the rule needs the gain (a subclass that overrides
        this method and needs the number calls it if it is callable)."""
        if self.aim > share and (momentum < 0 or (momentum <= 0 and (
                expected_gain() if callable(expected_gain) else expected_gain) <= 0)):
            self.aim -= self.p.aim_adaptation * (self.aim - share)
            return True
        return False

    @property
    def reference_ratio(self) -> float:
        """The balance of forces at which its belief was formed."""
        n0 = self.alpha0 + self.beta0
        return math.exp((n0 * self.log_ratio0 + self.log_ratio_sum) / (n0 + self.evidence))

    def learn(self, memory: float, log_ratio: float) -> None:
        """Beliefs fade toward the (optimism-shifted) prior, then absorb this week's battles,
        fought at the balance `log_ratio`."""
        self.alpha = self.alpha0 + memory * (self.alpha - self.alpha0) + self.wins
        self.beta = self.beta0 + memory * (self.beta - self.beta0) + (self.battles - self.wins)
        self.log_ratio_sum = memory * self.log_ratio_sum + self.battles * log_ratio
        self.evidence = memory * self.evidence + self.battles
        self.wins = self.battles = 0


def _always(self, share: float) -> bool:
    return True


class Backer(mesa.Agent):
    """A foreign backer: sets its support (Richardson escalation with distress, fatigue, budget
    and red lines), transfers it as arms, fighters and money, and presses its client."""

    def __init__(self, model: NegotiationModel, key: str, spec) -> None:
        super().__init__(model)
        self.key = key
        self.p = model.params_of(spec)
        self.client: str = spec.client
        self.support: float = min(spec.support, spec.capacity)
        self.history: list[float] = [self.support]
        self.fatigue = 0.0
        self.spent = 0.0
        self.troops_lost = 0.0
        self.troop_loss_rate = 0.0
        self.red_line_active = False
        self.declared: int | None = None  # step its red line was first declared
        self.preference = 0.0  # + wants a ceasefire, - wants the war to go on

    def capacity(self) -> float:
        cap = self.p.capacity + (self.p.red_line_capacity if self.red_line_active else 0.0)
        return cap * (1.0 - self.fatigue)

    def decide_support(self, distress: float, opposing: float, threatened: bool) -> float:
        """Next week's support: ds = k*s_opp - a*s + a*g + stake*distress*capacity, bounded."""
        p = self.p
        self.red_line_active = threatened and p.red_line_capacity > 0
        cap = self.capacity()
        push = p.distress_response * p.stake * distress * cap
        if threatened:
            push += p.distress_response * p.stake * cap
        s = self.support
        s = s + p.response * opposing - p.restraint * s + p.restraint * p.baseline + push
        # min(max(s, 0), cap), written out: this runs for every backer every week
        s = 0.0 if s < 0.0 else s
        return cap if cap < s else s

    def update_preference(self, client_gain: float) -> float:
        """Wants a ceasefire when the war costs it more than it expects to gain; the losses of
        its own fighters raise that cost sharply."""
        p = self.p
        cost = p.cost_per_unit * (self.support + p.troop_loss_aversion * self.troop_loss_rate)
        cost += self.fatigue * p.cost_per_unit * p.capacity
        gain = p.stake * client_gain
        denom = cost + abs(gain)
        if denom <= 0:
            self.preference = 0.0
        else:  # max(-1, min(1, x)), written out (the same for NaN)
            x = (cost - gain) / denom
            x = x if x < 1.0 else 1.0
            self.preference = x if x > -1.0 else -1.0
        return self.preference

    def tire(self, lost_fighters: float) -> None:
        p = self.p
        x = self.fatigue + (p.fatigue_rate * self.support - p.fatigue_recovery * self.fatigue)
        x = 0.0 if x < 0.0 else x
        self.fatigue = 0.95 if x > 0.95 else x  # within [0, 0.95]
        self.troops_lost += lost_fighters
        self.troop_loss_rate = 0.7 * self.troop_loss_rate + 0.3 * lost_fighters


class Mediator(mesa.Agent):
    """A mediator: assesses (with noise) whether a bargaining range exists and proposes; delivers
    scheduled initiatives. A joint patron pair acts only when its patrons all want a ceasefire."""

    def __init__(self, model: NegotiationModel, key: str, spec) -> None:
        super().__init__(model)
        self.key = key
        self.p = model.params_of(spec)
        self.last_proposal = -10**9

    def active(self, date) -> bool:
        p = self.p
        return (p.active_from is None or date >= p.active_from) and (
            p.active_until is None or date <= p.active_until
        )

    def political(self, blocs: list[str], share: float | None = None):
        share = self.p.political_share if share is None else share
        if self.p.favours is None or self.p.favours not in blocs:
            return tuple((b, 1.0 / len(blocs)) for b in blocs)
        rest = (1.0 - share) / max(len(blocs) - 1, 1)
        return tuple((b, share if b == self.p.favours else rest) for b in blocs)

    def inducement(self, faction: Faction, patron_pull: float) -> float:
        """Per-week value of its inducements to `faction`; a biased mediator's promises count
        less with the side it does not favour."""
        p = self.p
        tilt = 1.0
        if p.favours is not None:
            tilt = 1.0 + p.bias if faction.bloc == p.favours else 1.0 - p.bias
        return p.leverage * p.credibility * tilt + patron_pull

    def sees_range(self, surpluses: list[float]) -> tuple[bool, list[float]]:
        """Its noisy estimate of each party's surplus from a deal; a range exists when all >= 0."""
        est = [s + self.model.rng.normal(0.0, self.p.noise) if self.p.noise > 0 else s
               for s in surpluses]
        return all(e >= 0 for e in est), est

