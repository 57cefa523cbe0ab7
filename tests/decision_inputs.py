"""Hand-built decision inputs for the tests of the pure decision functions."""

from __future__ import annotations

import dataclasses

from sim.negotiation import FactionView, Proposal


def replace(obj, **changes):
    """A copy of a view (a named tuple) or of a proposal (a dataclass) with `changes`."""
    if isinstance(obj, FactionView):
        return obj._replace(**changes)
    return dataclasses.replace(obj, **changes)


def view(**kw) -> FactionView:
    """A faction's view: half the value, a stalemate, no aims; `kw` changes any field."""
    base = dict(
        faction="a", bloc="west", share=0.5, momentum=0.0, belief=0.5, targets=(), threats=(),
        war_cost=0.01, audience_cost=1.0, aim=0.0, discount=0.98, horizon=26,
        political_value=0.2, withdrawal_value=0.15, aim_weight=0.5,
    )
    base.update(kw)
    return FactionView(**base)


def freeze(**kw) -> Proposal:
    """A mediator's open-ended proposal to freeze the line; `kw` changes any term."""
    base = dict(id=1, proposer="un", kind="mediator", step=1, addressees=("a", "b"))
    base.update(kw)
    return Proposal(**base)
