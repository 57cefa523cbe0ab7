"""The actors: factions, backers and mediators, each holding its own behaviour.

Agents decide; the model (``sim.model``) schedules the week's phases over them, moves forces and
records data. A decision is a method that takes what the actor may know (a frozen
:class:`~sim.negotiation.FactionView`, a proposal, its client's distress) and returns what it
does. Each agent keeps a mutable copy of its scenario parameters in ``self.p`` so that dated events
can change them (a parliament vote raising a backer's capacity) without touching the frozen
scenario.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import mesa
import numpy as np
from mesa.discrete_space import CellAgent

from sim.negotiation import (
    Decision,
    FactionView,
    Proposal,
    concession,
    evaluate,
    keep_value,
    wants_to_propose,
)


class World(Protocol):
    """What agents read of the model they are in (a :class:`~sim.model.NegotiationModel`;
    named by this protocol so that this module does not import the one that imports it)."""

    mp: Any
    rng: np.random.Generator
    datacollector: mesa.DataCollector

    def bloc_loss_rate(self, bloc: str) -> float: ...

    def site_income(self, faction: str) -> float: ...

__all__ = ["Attack", "Backer", "Faction", "Mediator"]

#: A planned attack: (believed chance, front edge, from site, on site, engaged force, defending
#: force), site indices as in the model.
Attack = tuple[float, int, int, int, float, float]


class Faction(CellAgent):
    """A belligerent or a political wing. Decides whether to attack, propose, accept or defect,
    and adapts its aims."""

    def __init__(self, model: World, key: str, spec) -> None:
        super().__init__(model)
        self.key = key
        self.p = model.params_of(spec)
        self.armed: bool = spec.armed
        self.bloc: str = spec.bloc
        self.strength: float = spec.strength if spec.armed else 0.0
        self.foreign: dict[str, float] = {}  # backer -> fighters it has in this faction
        self.deployed: dict[str, float] = {}  # backer -> its own troops on this faction's fronts
        self.air = 0.0  # effectiveness its backers' air campaigns add this week
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
        #: the least share it would sign for, adapting (the model sets the default: what its
        #: bloc holds at the start plus its claims)
        self.aim: float = spec.min_share if spec.min_share is not None else 0.0
        self.last_proposal = -10**9
        self.first_proposal: int | None = None
        self.initial_sites: frozenset[str] = frozenset()
        self.claims: tuple[str, ...] = tuple(spec.claims)

    # ------------------------------------------------------------------ state
    @property
    def belief(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def forces(self) -> float:
        """Men under arms on its fronts: its own, foreign fighters, backers' deployed troops."""
        n = self.strength
        if self.foreign:
            n += sum(self.foreign.values())
        if self.deployed:
            n += sum(self.deployed.values())
        return n

    @property
    def effective(self) -> float:
        """Its forces times what air campaigns add to their effectiveness."""
        n = self.forces
        return n * (1.0 + self.air) if self.air else n

    def income(self) -> float:
        return self.p.base_income + self.model.site_income(self.key) + self.money

    # ------------------------------------------------------------------ diplomacy
    def answer(self, view: FactionView, proposal: Proposal) -> Decision:
        """Accept, reject or counter a proposal (see `sim.negotiation.evaluate`)."""
        return evaluate(view, proposal)

    def keeps(self, view: FactionView, deal: Proposal, weeks_held: int) -> Decision:
        """The commitment problem, each week a deal is in force: keep it (ACCEPT) or defect
        (REJECT), with the numbers (see `sim.negotiation.keep_value`)."""
        mp = self.model.mp
        return keep_value(view, deal, weeks_held, mp.settle_weeks, mp.defection_margin)

    def wants_to_propose(self, view: FactionView) -> bool:
        """Whether it puts its own terms on the table this week."""
        return wants_to_propose(view)

    def own_terms(self, view: FactionView, step: int, pid: int, addressees, counter_to=None):
        """Terms it puts forward itself: the sites it lost and the sites it claims, conceded
        over time (see `concession`), and the withdrawal of the rival's foreign forces when
        they outweigh its own."""
        if self.first_proposal is None:
            self.first_proposal = step
        keep = concession(step - self.first_proposal, self.p.concession_weeks,
                          self.p.concession_exponent)
        m = self.model
        wanted = set(self.initial_sites) | set(self.claims)
        lost = sorted((s for s in wanted if m.site_bloc(s) != self.bloc),
                      key=lambda s: (-m.site_value(s), s))
        demanded = lost[: int(math.floor(len(lost) * keep + 1e-9))]
        withdrawal = ()
        if view.foreign_rival > view.foreign_own and keep > 0:
            withdrawal = tuple(b for b in m.blocs if b != self.bloc)
        return Proposal(
            id=pid, proposer=self.key, kind="faction", step=step, addressees=tuple(addressees),
            duration=None, returns=tuple((s, self.bloc) for s in demanded),
            withdrawal=withdrawal, counter_to=counter_to,
        )

    def adapt_aim(self, share: float, momentum: float,
                  expected_gain: float | Callable[[], float], ratio: float = 1.0) -> bool:
        """Aspiration adaptation: its aims move toward what it holds while it loses ground, or
        in a hurting stalemate (losses above the hurting rate and nothing to gain by fighting
        on); near collapse (its forces below `collapse_ratio` of its rivals') toward less than
        it holds, in proportion. Returns whether they moved.

        `expected_gain` is a number, or a function of no arguments that returns it: the model
        passes a function, called only when the rule needs the gain."""
        mp = self.model.mp
        target = share
        collapsing = ratio < mp.collapse_ratio
        if collapsing:
            target = share * ratio / mp.collapse_ratio
        if self.aim <= target:
            return False
        if not (collapsing or momentum < 0):
            # its bloc's losses: a political wing hurts with the forces it speaks for
            if self.model.bloc_loss_rate(self.bloc) < mp.hurting_loss_rate:
                return False
            gain = expected_gain() if callable(expected_gain) else expected_gain
            if gain > 0:
                return False
        self.aim -= self.p.aim_adaptation * (self.aim - target)
        return True

    # ------------------------------------------------------------------ fighting
    def plan_attacks(self, options: Sequence[tuple[int, int, int, float, float, float]],
                     odds: float) -> list[Attack]:
        """The attacks it launches this week: every front where its believed chance of taking
        the site passes its attack threshold. `options` are (edge, from, on, local force ratio
        term, engaged, defending) per front edge it can attack from; the believed chance is
        odds x local / (1 + odds x local) (see `NegotiationModel._odds`)."""
        threshold = self.p.attack_threshold
        plans = []
        for e, src, dst, local, fa, fd in options:
            if fa <= 0:
                continue
            x = odds * local
            believed = x / (1 + x)
            if believed >= threshold:
                plans.append((believed, e, src, dst, fa, fd))
        return plans

    def lose(self, amount: float) -> dict[str, float]:
        """Take `amount` of losses (in effective units), shared pro rata between its own
        strength, foreign fighters and backers' deployed troops. Returns the losses of each
        (``"own"`` and the backers' keys)."""
        total = self.effective
        if total <= 0 or amount <= 0:
            return {}
        frac = min(amount / total, 1.0)
        lost = {"own": self.strength * frac}
        self.strength -= self.strength * frac
        for pool in (self.foreign, self.deployed):
            for b, n in pool.items():
                lost[b] = lost.get(b, 0.0) + n * frac
                pool[b] = n - n * frac
        taken = amount if frac < 1 else total
        self.losses_total += taken
        self.lost_this_week += taken
        return lost

    def tally_losses(self, smoothing: float) -> None:
        """Smooth this week's battle losses into its loss rate (drives casualty aversion and
        the hurting stalemate)."""
        share = self.lost_this_week / max(self.effective + self.lost_this_week, 1e-9)
        self.loss_rate = (1 - smoothing) * self.loss_rate + smoothing * share
        self.lost_this_week = 0.0

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


class Backer(CellAgent):
    """A foreign backer: sets its support (Richardson escalation with distress, fatigue, budget
    and red lines), transfers it as arms, fighters and money, commits its own troops and air
    power when its client is in distress, and presses its client."""

    def __init__(self, model: World, key: str, spec) -> None:
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
        self.committed_until = -1  # last step its own forces stay committed
        self.preference = 0.0  # + wants a ceasefire, - wants the war to go on

    @property
    def peak_deployed(self) -> float:
        """The most of its forces (troops, fighters) on the client's fronts in any week, as
        the steps table recorded them (0 for a backer with neither)."""
        got = self.model.datacollector.model_vars.get(f"deployed_{self.key}")
        return max(got) if got else 0.0

    def capacity(self) -> float:
        cap = self.p.capacity + (self.p.red_line_capacity if self.red_line_active else 0.0)
        return cap * (1.0 - self.fatigue)

    def decide_support(self, distress: float, opposing: float, threatened: bool,
                       quiet: float = 1.0) -> float:
        """Next week's support, within [0, capacity]: s + quiet * (k * s_opp + push) - a * s +
        a * g, where push = distress_response * stake * capacity * (distress, plus 1 while a
        red line is threatened), k is its response, a its restraint and g its baseline.
        `quiet` (< 1 under a truce or ceasefire) damps the response and the push."""
        p = self.p
        self.red_line_active = threatened and p.red_line_capacity > 0
        cap = self.capacity()
        push = p.distress_response * p.stake * distress * cap
        if threatened:
            push += p.distress_response * p.stake * cap
        s = self.support
        s = s + quiet * (p.response * opposing + push) - p.restraint * s + p.restraint * p.baseline
        # min(max(s, 0), cap), written out: this runs for every backer every week
        s = 0.0 if s < 0.0 else s
        return cap if cap < s else s

    def commits(self, distress: float, threatened: bool, step: int) -> bool:
        """Whether its own forces (troops, air) are on the client's side this week: while a
        dated decision commits them, and when its client's distress reaches the deployment
        threshold or a red line is threatened, for at least `deploy_weeks`."""
        p = self.p
        if p.troops <= 0 and p.air <= 0:
            return False
        mp = self.model.mp
        if threatened or distress >= mp.deploy_distress:
            self.committed_until = max(self.committed_until, step + mp.deploy_weeks - 1)
        return p.committed or step <= self.committed_until

    def deploy(self, client: Faction, committed: bool, withdraw: bool) -> None:
        """Bring its troops on the client's fronts up to what it can commit (replacing
        losses), or pull them out over time when not committed or under a withdrawal clause;
        its air campaign adds to the client's effectiveness while committed."""
        p = self.p
        here = client.deployed.get(self.key, 0.0)
        if committed and not withdraw:
            target = p.troops * (1.0 - self.fatigue)
            here = target if here < target else here
        else:
            here *= 1.0 - self.model.mp.withdrawal_rate
            here = 0.0 if here < 1e-6 else here
        if here > 0 or self.key in client.deployed:
            client.deployed[self.key] = here
        if committed and not withdraw and p.air > 0:
            client.air += p.air * (1.0 - self.fatigue)

    def update_preference(self, client_gain: float) -> float:
        """Wants a ceasefire when the war costs it more than it expects to gain; the losses of
        its own fighters and troops raise that cost sharply."""
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
        """Fatigue grows with the support it gives and recovers over time; count the week's
        losses of its fighters and troops."""
        p, mp = self.p, self.model.mp
        x = self.fatigue + (p.fatigue_rate * self.support - p.fatigue_recovery * self.fatigue)
        x = 0.0 if x < 0.0 else x
        self.fatigue = mp.fatigue_cap if x > mp.fatigue_cap else x
        self.troops_lost += lost_fighters
        s = mp.loss_smoothing
        self.troop_loss_rate = (1 - s) * self.troop_loss_rate + s * lost_fighters


class Mediator(mesa.Agent):
    """A mediator: assesses (with noise) whether a bargaining range exists and proposes; delivers
    scheduled initiatives. A joint patron pair acts only when its patrons all want a ceasefire."""

    def __init__(self, model: World, key: str, spec) -> None:
        super().__init__(model)
        self.key = key
        self.p = model.params_of(spec)
        self.last_proposal = -10**9

    def active(self, date) -> bool:
        p = self.p
        return (p.active_from is None or date >= p.active_from) and (
            p.active_until is None or date <= p.active_until
        )

    def considers(self, step: int, date, patrons_want: bool) -> bool:
        """Whether it looks at the war this week with a view to an initiative of its own: it
        is active, its last initiative is far enough back, its weekly chance comes up, and (a
        joint patron pair) its patrons all want a ceasefire."""
        p = self.p
        if step - self.last_proposal < p.proposal_interval or not self.active(date):
            return False
        if self.model.rng.random() >= p.activity:
            return False
        return patrons_want

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
