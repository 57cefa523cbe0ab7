"""Proposals, answers and the valuations behind every decision.

Decisions are pure functions of a frozen :class:`FactionView` (what a faction may know) and a
:class:`Proposal`; they return a :class:`Decision` carrying the numbers behind it. The model builds
views; agents call these functions. Values are per-week averages over the faction's horizon, in
shares of total site value, so every term reads the same way: "worth x of the country per week".

Value of fighting on = expected control over the horizon (belief and projected strength) - war cost.
Value of a proposal = value kept under its line (and political share), weighed by the chance it
holds, - audience cost of conceding while advancing + backers' pressure + mediator's inducement +
value of the rival's foreign forces leaving. Accept when the proposal is worth at least fighting on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "Answer",
    "Decision",
    "FactionView",
    "Proposal",
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

    ``returns``: sites whose control passes to the named faction when the deal starts.
    ``duration``: weeks of a short truce, or None for an open-ended ceasefire.
    ``political``: bloc -> share of the political settlement.
    ``inducement``: faction -> per-week value of the proposer's inducements and sanctions.
    """

    id: int
    proposer: str
    kind: str  # "mediator", "faction" or "joint"
    step: int
    addressees: tuple[str, ...]
    duration: int | None = None
    returns: tuple[tuple[str, str], ...] = ()
    withdrawal: bool = False
    political: tuple[tuple[str, float], ...] = ()
    guarantor: str | None = None
    monitoring: float = 0.0
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
            parts.append("foreign forces withdraw")
        if self.political:
            parts.append("political " + "/".join(f"{b} {s:.2f}" for b, s in self.political))
        if self.guarantor:
            parts.append(f"guarantor {self.guarantor}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class FactionView:
    """What a faction knows when it decides: its own state, beliefs and the pressure on it.

    share: its bloc's share of total value; momentum: change of that share over the momentum
    window; belief: believed chance of winning a battle (prior shifted by optimism, updated by
    battles); targets: per enemy site on the fronts, (value share, believed weekly chance of
    taking it now, the same with the strength it projects half a horizon ahead), zero where it
    would not attack; threats: the same for its own front sites and the enemy; pressure: its
    backers' pull toward a deal (dependence-weighted, + wants a deal); hazard: weekly chance it
    expects a deal to break without monitoring; foreign_own / foreign_rival: shares of its own /
    the rival's effective strength that are foreign fighters.
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
    min_share: float
    discount: float
    horizon: int
    political_value: float
    withdrawal_value: float
    pressure: float = 0.0
    hazard: float = 0.0
    foreign_own: float = 0.0
    foreign_rival: float = 0.0
    site_values: tuple[tuple[str, str, float], ...] = field(default=())  # (site, bloc, share)


@dataclass(frozen=True, slots=True)
class Decision:
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


def evaluate(v: FactionView, p: Proposal) -> Decision:
    """Value a proposal against fighting on and answer it.

    Returns ACCEPT when the proposal is worth at least fighting on and meets the faction's aims;
    otherwise REJECT, or COUNTER when the faction would still prefer a deal on its own terms
    (freezing today's line is worth more than fighting on).
    """
    fight, fparts = value_of_fighting(v)
    d1 = discount_sum(v.discount, v.horizon)
    line = _line_share(v, p)
    pol = p.political_share(v.bloc)
    w = v.political_value if pol is not None else 0.0
    held = (1 - w) * line + w * (pol if pol is not None else 0.0)
    if p.open_ended:
        # the chance it still holds, averaged over the horizon; monitoring damps incidents
        hold = _mean_survival(v.hazard * (1 - p.monitoring), v.discount, v.horizon)
        base = hold * held + (1 - hold) * (line - v.war_cost)
        scale = 1.0
    else:
        k = min(p.duration, v.horizon)
        dk = discount_sum(v.discount, k)
        # truce for k weeks at the line, then the war goes on from there (its gains delayed)
        later = discount_sum(v.discount, v.horizon) - dk
        base = (dk * line + later * (line + fparts["gain"] - v.war_cost)) / d1
        scale = k / v.horizon
    audience = -v.audience_cost * max(v.momentum, 0.0) * scale
    pressure = v.pressure * scale
    inducement = p.inducement_for(v.faction) * scale
    withdrawal = v.withdrawal_value * (v.foreign_rival - v.foreign_own) if p.withdrawal else 0.0
    deal = base + audience + pressure + inducement + withdrawal
    terms = {
        "share": v.share,
        "momentum": v.momentum,
        "belief": v.belief,
        "line": line - v.share,
        **fparts,
        "audience": audience,
        "pressure": pressure,
        "inducement": inducement,
        "withdrawal": withdrawal,
    }
    meets_aims = held + 1e-9 >= v.min_share
    if deal >= fight and meets_aims:
        answer = Answer.ACCEPT
    elif freeze_value(v) >= fight and v.share + 1e-9 >= v.min_share:
        answer = Answer.COUNTER  # it wants a deal, on its own terms
    else:
        answer = Answer.REJECT
    return Decision(answer, fight, deal, terms)


def freeze_value(v: FactionView) -> float:
    """Per-week value of freezing today's line for good, as the faction itself would propose it."""
    hold = _mean_survival(v.hazard, v.discount, v.horizon)
    return (hold * v.share + (1 - hold) * (v.share - v.war_cost)
            - v.audience_cost * max(v.momentum, 0.0) + v.pressure)


def wants_to_propose(v: FactionView) -> bool:
    """A faction proposes when fighting on is worth less than freezing today's line, and
    today's line meets its aims."""
    return v.share + 1e-9 >= v.min_share and freeze_value(v) > value_of_fighting(v)[0]


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

