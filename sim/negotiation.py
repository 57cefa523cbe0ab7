"""Proposals, answers and the valuations behind every decision.

Decisions are pure functions of a frozen :class:`FactionView` (what a faction may know) and a
:class:`Proposal`; they return a :class:`Decision` carrying the numbers behind it. The model builds
views; agents call these functions. Values are per-week averages over the faction's horizon, in
shares of total site value, so every term reads the same way: "worth x of the country per week".

Value of fighting on = expected control over the horizon (belief and projected strength) - war cost.
Value of a proposal = value kept under its line (and political share), weighed by the chance it
holds, - the shortfall from its aims (a reservation value, not a veto; open-ended deals only) -
audience cost of conceding while advancing + backers' pressure + mediator's inducement + value of
the rival's foreign forces leaving. Accept when the proposal is worth at least fighting on.

The chance a deal holds follows from the incidents its spoilers cause and how far the deal's
provisions keep an incident from becoming a breakdown: monitors and guarantor forces damp
incidents, a separation of forces and the withdrawal of foreign forces contain them
(:func:`agreement_strength`). Under a ceasefire, keeping it is worth the line plus the pressure
to keep it and the cost of defecting against the guarantors' forces (:func:`keep_value`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "Answer",
    "agreement_strength",
    "containment",
    "keep_value",
    "Decision",
    "FactionView",
    "Proposal",
    "deterrence",
    "discount_sum",
    "evaluate",
    "freeze_value",
    "expected_gain",
    "value_of_fighting",
    "wants_to_propose",
]


class Answer(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    COUNTER = "counter"


@dataclass(frozen=True, slots=True)
class Proposal:
    """Terms put on the table by a mediator or a faction.

    ``returns``: sites whose control passes to the named bloc when the deal starts (a faction's
    own sites returned, or a negotiated map's handovers).
    ``duration``: weeks of a short truce, or None for an open-ended ceasefire.
    ``withdrawal``: the blocs whose foreign forces (backers' fighters and troops) leave.
    ``political``: bloc -> share of the political settlement.
    ``guarantors``: backers or mediators that commit forces; ``guarantee`` is their committed
    forces (credibility-weighted), ``monitoring`` the share of incidents that monitors and
    guarantors damp; ``separation``: the forces pull apart (heavy weapons back, a buffer).
    ``inducement``: faction -> per-week value of the proposer's inducements and sanctions.
    """

    id: int
    proposer: str
    kind: str  # "mediator", "faction" or "joint"
    step: int
    addressees: tuple[str, ...]
    duration: int | None = None
    returns: tuple[tuple[str, str], ...] = ()
    withdrawal: tuple[str, ...] = ()
    political: tuple[tuple[str, float], ...] = ()
    guarantors: tuple[str, ...] = ()
    guarantee: float = 0.0
    monitoring: float = 0.0
    separation: bool = False
    inducement: tuple[tuple[str, float], ...] = ()
    counter_to: int | None = None

    @property
    def open_ended(self) -> bool:
        return self.duration is None

    def political_share(self, bloc: str) -> float | None:
        for b, s in self.political:
            if b == bloc:
                return s
        return None

    def inducement_for(self, faction: str) -> float:
        for f, v in self.inducement:
            if f == faction:
                return v
        return 0.0

    def describe(self) -> str:
        parts = ["open-ended ceasefire" if self.open_ended else f"{self.duration}-week truce"]
        parts.append(
            "line: " + (", ".join(f"{s}->{f}" for s, f in self.returns) if self.returns
                        else "freeze")
        )
        if self.withdrawal:
            parts.append("foreign forces of " + "/".join(self.withdrawal) + " withdraw")
        if self.separation:
            parts.append("forces separate")
        if self.political:
            parts.append("political " + "/".join(f"{b} {s:.2f}" for b, s in self.political))
        if self.guarantors:
            parts.append(f"guarantors {', '.join(self.guarantors)} ({self.guarantee:.0f} units)")
        if self.monitoring > 0:
            parts.append(f"monitoring {self.monitoring:.2f}")
        return "; ".join(parts)


class FactionView(NamedTuple):
    """What a faction knows when it decides: its own state, beliefs and the pressure on it.

    share: its bloc's share of total value; momentum: change of that share over the momentum
    window; belief: believed chance of winning a battle (prior shifted by optimism, updated by
    battles); targets: per enemy site on the fronts, (value share, believed weekly chance of
    taking it now, the same with the strength it projects projection_weeks ahead), zero where it
    would not attack; threats: the same for its own front sites and the enemy; aim: the least
    value share it would sign for (its reservation value, adapting); pressure: its backers'
    pull toward a deal (dependence-weighted, + wants a deal); hazard: weekly chance it expects an
    unprotected deal to break in its first week (its spoilers' incidents escalating), falling
    as it settles over settle_weeks (0: not at all); foreign_own / foreign_rival:
    shares of its own / the rival's effective strength that are foreign forces; effective: its
    bloc's effective strength (what a guarantor's forces are set against).

    A named tuple rather than a frozen dataclass: as immutable, and built about nine times
    faster (a view is built about twice a week per run; see benchmarks/RESULTS.md).
    """

    faction: str
    bloc: str
    share: float
    momentum: float
    belief: float
    targets: tuple[tuple[float, float, float], ...]
    threats: tuple[tuple[float, float, float], ...]
    war_cost: float
    audience_cost: float
    aim: float
    discount: float
    horizon: int
    political_value: float
    withdrawal_value: float
    aim_weight: float = 0.5
    pressure: float = 0.0
    hazard: float = 0.0
    settle_weeks: float = 0.0
    foreign_own: float = 0.0
    foreign_rival: float = 0.0
    effective: float = 0.0
    enforcement: float = 0.0
    separation_strength: float = 0.0
    withdrawal_strength: float = 0.0
    site_values: tuple[tuple[str, str, float], ...] = ()  # (site, bloc, share)


@dataclass(frozen=True, slots=True)
class Decision:
    """An answer (or a defection test) with the numbers behind it: every term of the valuation
    (``terms``), aims and guarantees included."""

    answer: Answer
    fight: float
    deal: float
    terms: dict[str, float]

    @property
    def surplus(self) -> float:
        return self.deal - self.fight

    def reason(self) -> str:  # noqa: D102
        rel = ">=" if self.deal >= self.fight else "<"
        bits = ", ".join(f"{k} {v:+.3f}" for k, v in self.terms.items() if abs(v) >= 5e-4)
        return f"deal {self.deal:.3f} {rel} fight {self.fight:.3f} [{bits}]"


@lru_cache(maxsize=512)
def discount_sum(discount: float, horizon: int) -> float:
    """Sum of discount^t for t = 1..horizon: the weight of a per-week value over the horizon."""
    return sum(discount**t for t in range(1, horizon + 1))


def expected_gain(v: FactionView, projected: bool = True) -> float:
    """Expected change of its value share, averaged (discounted) over the horizon.

    Each front site changes hands within t weeks with probability 1 - (1 - q)^t, where q is the
    believed weekly chance of taking it (or of losing it, for its own sites). A stalemate in
    which no side expects to win an attack has no expected gain: fighting on only costs.
    """
    return front_gain(v.targets, v.threats, v.share, v.discount, v.horizon, projected)


def front_gain(targets, threats, share: float, discount: float, horizon: int,
               projected: bool = True) -> float:
    """:func:`expected_gain` from its parts (targets and threats as in FactionView)."""
    col = 2 if projected else 1
    gain = 0.0
    for site in targets:
        if site[col] > 0:
            gain += site[0] * (1.0 - _mean_survival(site[col], discount, horizon))
    for site in threats:
        if site[col] > 0:
            gain -= site[0] * (1.0 - _mean_survival(site[col], discount, horizon))
    return min(max(gain, -share), 1.0 - share)


def value_of_fighting(v: FactionView) -> tuple[float, dict[str, float]]:
    """Per-week value of fighting on over the horizon, and its parts."""
    gain = expected_gain(v)
    return v.share + gain - v.war_cost, {"gain": gain, "war_cost": -v.war_cost}


def _line_share(v: FactionView, p: Proposal) -> float:
    if not p.returns:
        return v.share
    owner = {s: b for s, b, _ in v.site_values}
    val = {s: x for s, _, x in v.site_values}
    share = v.share
    for site, to_bloc in p.returns:
        if site not in owner:
            continue
        if owner[site] == v.bloc and to_bloc != v.bloc:
            share -= val[site]
        elif owner[site] != v.bloc and to_bloc == v.bloc:
            share += val[site]
    return share


def containment(p: Proposal, separation_strength: float, withdrawal_strength: float) -> float:
    """Share of incidents that still escalate despite the deal's structural provisions: a
    separation of forces and the withdrawal of foreign forces each contain their share."""
    through = 1.0
    if p.separation:
        through *= 1.0 - separation_strength
    if p.withdrawal:
        through *= 1.0 - withdrawal_strength
    return through


def agreement_strength(p: Proposal, separation_strength: float,
                       withdrawal_strength: float) -> float:
    """Share of the breakdowns an unprotected deal would suffer that the deal's provisions
    prevent (Fortna 2004): monitors and guarantors damp incidents, a separation of forces and
    the withdrawal of foreign forces keep them from escalating; each prevents its share of what
    the others let through."""
    return 1.0 - (1.0 - p.monitoring) * containment(p, separation_strength, withdrawal_strength)


def deterrence(enforcement: float, guarantee: float, effective: float) -> float:
    """Weekly cost of defecting against guarantor forces `guarantee` for a side of effective
    strength `effective`: defecting means fighting them too, so the cost grows with their size
    against the defector's forces."""
    if guarantee <= 0:
        return 0.0
    return enforcement * guarantee / (guarantee + (effective if effective > 0 else 0.0))


def held_share(v: FactionView, p: Proposal) -> tuple[float, float]:
    """(the territorial line a deal gives, the value it holds under it with its political
    share)."""
    line = _line_share(v, p)
    pol = p.political_share(v.bloc)
    if pol is None:
        return line, line
    w = v.political_value
    return line, (1 - w) * line + w * pol


def aims_term(v: FactionView, held: float) -> float:
    """Value lost to the shortfall of a deal from the faction's aims (its reservation value)."""
    short = v.aim - held
    return -v.aim_weight * short if short > 1e-9 else 0.0


def _withdrawal_term(v: FactionView, p: Proposal) -> float:
    if not p.withdrawal:
        return 0.0
    own = v.bloc in p.withdrawal
    rival = any(b != v.bloc for b in p.withdrawal)
    return v.withdrawal_value * ((v.foreign_rival if rival else 0.0)
                                 - (v.foreign_own if own else 0.0))


def evaluate(v: FactionView, p: Proposal) -> Decision:
    """Value a proposal against fighting on and answer it.

    Returns ACCEPT when the proposal is worth at least fighting on, every term counted (the
    shortfall from its aims among them); otherwise COUNTER when the faction would still prefer
    a deal on its own terms (freezing today's line is worth more than fighting on), or REJECT.
    A short truce is judged without territorial aims: it settles nothing.
    """
    fight, fparts = value_of_fighting(v)
    d1 = discount_sum(v.discount, v.horizon)
    line, held = held_share(v, p)
    if p.open_ended:
        # the chance it still holds, averaged over the horizon: incidents that escalate
        strength = agreement_strength(p, v.separation_strength, v.withdrawal_strength)
        hold = _deal_survival(v.hazard * (1 - strength), v.discount, v.horizon,
                              v.settle_weeks)
        base = hold * held + (1 - hold) * (line - v.war_cost)
        scale = 1.0
        aims = aims_term(v, held)
    else:
        k = min(p.duration, v.horizon)
        dk = discount_sum(v.discount, k)
        # truce for k weeks at the line, then the war goes on from there (its gains delayed)
        later = discount_sum(v.discount, v.horizon) - dk
        base = (dk * line + later * (line + fparts["gain"] - v.war_cost)) / d1
        scale = k / v.horizon
        hold = 1.0
        aims = 0.0
    audience = -v.audience_cost * max(v.momentum, 0.0) * scale
    pressure = v.pressure * scale
    inducement = p.inducement_for(v.faction) * scale
    withdrawal = _withdrawal_term(v, p)
    deal = base + aims + audience + pressure + inducement + withdrawal
    terms = {
        "share": v.share,
        "momentum": v.momentum,
        "belief": v.belief,
        "line": line - v.share,
        **fparts,
        "holds": hold,
        "aim": v.aim,
        "aims": aims,
        "audience": audience,
        "pressure": pressure,
        "inducement": inducement,
        "withdrawal": withdrawal,
    }
    if deal >= fight:
        answer = Answer.ACCEPT
    elif freeze_value(v) >= fight:
        answer = Answer.COUNTER  # it wants a deal, on its own terms
    else:
        answer = Answer.REJECT
    return Decision(answer, fight, deal, terms)


def keep_value(v: FactionView, deal: Proposal, weeks_held: int, settle_weeks: float,
               margin: float) -> Decision:
    """The commitment problem, under a deal in force: ACCEPT (keep it) unless fighting on now
    beats keeping it by more than the defection margin.

    Keeping it is worth the line (and political share), less any shortfall from its aims
    (open-ended deals), plus its backers' pressure, the inducements that come with compliance
    and the cost of defecting against the guarantors' forces. The margin grows as the deal
    settles (1 + weeks held / settle_weeks): the hazard of breakdown falls the longer a
    ceasefire holds.
    """
    fight, fparts = value_of_fighting(v)
    line, held = held_share(v, deal)
    if not deal.open_ended:  # a truce holds the line and settles nothing else
        held = line
    aims = aims_term(v, held) if deal.open_ended else 0.0
    guarantee = deterrence(v.enforcement, deal.guarantee, v.effective)
    settled = margin * (1.0 + weeks_held / settle_weeks)
    inducement = deal.inducement_for(v.faction)
    keep = held + aims + v.pressure + inducement + guarantee
    terms = {"share": v.share, "belief": v.belief, **fparts, "aim": v.aim, "aims": aims,
             "pressure": v.pressure, "inducement": inducement, "guarantee": guarantee,
             "margin": settled}
    answer = Answer.REJECT if fight > keep + settled else Answer.ACCEPT
    return Decision(answer, fight, keep + settled, terms)


def freeze_value(v: FactionView) -> float:
    """Per-week value of freezing today's line for good, as the faction itself would propose it."""
    hold = _deal_survival(v.hazard, v.discount, v.horizon, v.settle_weeks)
    return (hold * v.share + (1 - hold) * (v.share - v.war_cost) + aims_term(v, v.share)
            - v.audience_cost * max(v.momentum, 0.0) + v.pressure)


def wants_to_propose(v: FactionView) -> bool:
    """A faction proposes when fighting on is worth less than freezing today's line (its aims
    counted)."""
    return freeze_value(v) > value_of_fighting(v)[0]


@lru_cache(maxsize=4096)
def _deal_survival(hazard: float, discount: float, horizon: int, settle_weeks: float) -> float:
    """Discount-weighted mean chance that a deal still holds, over the horizon, when its
    weekly hazard in its t-th week (t = 1, 2, ...) is hazard / (1 + (t - 1) / settle_weeks):
    it settles as it holds (the model's own rule, so expectations match it). Without
    settling, `_mean_survival`."""
    if hazard <= 0:
        return 1.0
    if settle_weeks <= 0:
        return _mean_survival(hazard, discount, horizon)
    alive, total, weight, d = 1.0, 0.0, 0.0, 1.0
    for t in range(1, horizon + 1):
        alive *= 1.0 - hazard / (1.0 + (t - 1) / settle_weeks)
        d *= discount
        total += d * alive
        weight += d
    return total / weight


@lru_cache(maxsize=4096)
def _mean_survival(hazard: float, discount: float, horizon: int) -> float:
    """Discount-weighted mean of (1 - hazard)^t over the horizon."""
    if hazard <= 0:
        return 1.0
    d1 = discount_sum(discount, horizon)
    q = (1 - hazard) * discount
    total = q * (1 - q**horizon) / (1 - q) if q != 1 else float(horizon)
    return total / d1


def concession(elapsed: int, weeks: int, exponent: float) -> float:
    """Share of its aims a faction still demands after `elapsed` weeks of proposing.

    1 at the start, 0 after `weeks`; exponent < 1 concedes late (boulware), > 1 early
    (conceder), as the time-dependent tactics of automated negotiation.
    """
    x = min(max(elapsed / weeks, 0.0), 1.0)
    return 1.0 - x ** (1.0 / exponent) if exponent > 0 else 0.0
