"""Decision mechanics, tested on hand-built views: the valuations MODEL.md describes."""

from dataclasses import replace

import pytest

from sim.negotiation import (
    Answer,
    FactionView,
    Proposal,
    concession,
    discount_sum,
    evaluate,
    expected_gain,
    freeze_value,
    value_of_fighting,
    wants_to_propose,
)


def view(**kw) -> FactionView:
    base = dict(
        faction="a", bloc="west", share=0.5, momentum=0.0, belief=0.5, targets=(), threats=(),
        war_cost=0.01, audience_cost=1.0, aim=0.0, discount=0.98, horizon=26,
        political_value=0.2, withdrawal_value=0.15,
    )
    base.update(kw)
    return FactionView(**base)


def freeze(**kw) -> Proposal:
    base = dict(id=1, proposer="un", kind="mediator", step=1, addressees=("a", "b"))
    base.update(kw)
    return Proposal(**base)


def test_discount_sum_matches_the_definition():
    assert discount_sum(0.9, 5) == pytest.approx(0.9 + 0.81 + 0.729 + 0.6561 + 0.59049)


def test_stalemate_has_no_expected_gain_and_fighting_only_costs():
    v = view(targets=((0.1, 0.0, 0.0),), threats=((0.1, 0.0, 0.0),))
    assert expected_gain(v) == 0.0
    fight, parts = value_of_fighting(v)
    assert fight == pytest.approx(0.5 - 0.01)
    assert parts["war_cost"] == -0.01


def test_expected_gain_is_the_discounted_chance_of_taking_each_site():
    q = 0.2
    v = view(targets=((0.1, q, q),))
    d1 = discount_sum(0.98, 26)
    expect = 0.1 * (1 - sum((0.98 * (1 - q)) ** t for t in range(1, 27)) / d1)
    assert expected_gain(v) == pytest.approx(expect)
    # threats count against it, the projection (third entry) is what the valuation uses
    v2 = view(targets=((0.1, 0.0, q),), threats=((0.1, 0.0, q),))
    assert expected_gain(v2) == pytest.approx(0.0)
    assert expected_gain(view(targets=((0.1, 0.0, q),))) > 0


def test_gains_are_capped_by_what_is_there_to_take():
    v = view(share=0.95, targets=((0.5, 1.0, 1.0),))
    assert expected_gain(v) <= 0.05 + 1e-12


def test_ripe_stalemate_accepts_a_freeze():
    d = evaluate(view(), freeze())
    assert d.answer is Answer.ACCEPT
    assert d.deal >= d.fight
    assert "fight" in d.reason() and "deal" in d.reason()


def test_advancing_side_rejects_and_losing_side_accepts_the_same_proposal():
    advancing = view(momentum=0.1, targets=((0.1, 0.3, 0.3),))
    losing = view(momentum=-0.1, threats=((0.1, 0.3, 0.3),))
    assert evaluate(advancing, freeze()).answer is not Answer.ACCEPT
    assert evaluate(losing, freeze()).answer is Answer.ACCEPT
    # and only the loser would put a freeze on the table itself
    assert wants_to_propose(losing)
    assert not wants_to_propose(advancing)


def test_audience_cost_alone_turns_an_acceptance_into_a_rejection():
    calm = view(momentum=0.0)
    proud = view(momentum=0.05, audience_cost=1.0)
    assert evaluate(calm, freeze()).answer is Answer.ACCEPT
    d = evaluate(proud, freeze())
    assert d.answer is not Answer.ACCEPT
    assert d.terms["audience"] == pytest.approx(-0.05)


def test_short_truce_carries_a_fraction_of_the_audience_cost():
    proud = view(momentum=0.05, audience_cost=1.0, targets=((0.05, 0.3, 0.3),))
    truce = evaluate(proud, freeze(duration=1))
    final = evaluate(proud, freeze())
    assert truce.terms["audience"] == pytest.approx(-0.05 / 26)
    # a holiday truce costs an advancing side far less than locking in the line
    assert truce.surplus > final.surplus
    assert final.answer is not Answer.ACCEPT
    # with nothing to gain, a truce saves a week of war and is taken
    assert evaluate(view(), freeze(duration=1)).answer is Answer.ACCEPT


def test_backer_pressure_and_inducements_move_the_decision():
    v = view(momentum=0.02, audience_cost=1.0)
    assert evaluate(v, freeze()).answer is not Answer.ACCEPT
    assert evaluate(replace(v, pressure=0.03), freeze()).answer is Answer.ACCEPT
    assert evaluate(v, freeze(inducement=(("a", 0.03),))).answer is Answer.ACCEPT
    assert evaluate(v, freeze(inducement=(("b", 0.03),))).answer is not Answer.ACCEPT


def test_returning_sites_changes_the_line_for_both_sides():
    sites = (("x", "west", 0.1), ("y", "east", 0.2))
    west = view(bloc="west", share=0.5, site_values=sites)
    east = view(faction="b", bloc="east", share=0.5, site_values=sites)
    p = freeze(returns=(("y", "west"),))
    assert evaluate(west, p).terms["line"] == pytest.approx(0.2)
    assert evaluate(east, p).terms["line"] == pytest.approx(-0.2)
    assert evaluate(east, p).answer is not Answer.ACCEPT


def test_withdrawal_is_worth_more_to_the_side_without_foreign_forces():
    p = freeze(withdrawal=("west", "east"))  # every bloc's foreign forces leave
    a = evaluate(view(foreign_own=0.0, foreign_rival=0.4), p)
    b = evaluate(view(foreign_own=0.4, foreign_rival=0.0), p)
    assert a.terms["withdrawal"] == pytest.approx(0.15 * 0.4)
    assert b.terms["withdrawal"] == pytest.approx(-0.15 * 0.4)


def test_withdrawal_by_one_bloc_counts_only_that_blocs_foreign_forces():
    both = view(foreign_own=0.3, foreign_rival=0.4)  # a west view
    assert evaluate(both, freeze(withdrawal=("west", "east"))).terms["withdrawal"] == (
        pytest.approx(0.15 * (0.4 - 0.3)))
    # only the rival's leave: a gain, its own stay
    assert evaluate(both, freeze(withdrawal=("east",))).terms["withdrawal"] == pytest.approx(
        0.15 * 0.4)
    # only its own leave: a loss, the rival's stay
    assert evaluate(both, freeze(withdrawal=("west",))).terms["withdrawal"] == pytest.approx(
        -0.15 * 0.3)
    assert evaluate(both, freeze()).terms["withdrawal"] == 0.0


def test_aims_are_a_reservation_value_not_a_veto():
    """A shortfall from its aims costs aim_weight x the shortfall: a small one leaves a freeze
    worth more than fighting on (accepted, and it would propose it), a large one does not."""
    plain = evaluate(view(), freeze())
    assert plain.terms["aims"] == 0.0
    near = view(aim=0.51, aim_weight=0.5)  # holds 0.5: 0.01 short
    d = evaluate(near, freeze())
    assert d.terms["aims"] == pytest.approx(-0.5 * 0.01)
    assert d.deal == pytest.approx(plain.deal - 0.005)
    assert d.answer is Answer.ACCEPT
    assert wants_to_propose(near)
    far = view(aim=0.6, aim_weight=0.5)  # 0.1 short: -0.05 outweighs the war cost of 0.01
    d = evaluate(far, freeze())
    assert d.terms["aims"] == pytest.approx(-0.05)
    assert d.deal < d.fight and d.answer is not Answer.ACCEPT
    assert not wants_to_propose(far)
    assert freeze_value(far) == pytest.approx(freeze_value(view()) - 0.05)
    # the same shortfall with no weight on aims is the plain freeze again
    assert evaluate(replace(far, aim_weight=0.0), freeze()).answer is Answer.ACCEPT


def test_political_share_makes_a_deal_attractive_to_the_smaller_side():
    small = view(share=0.3, momentum=0.02, audience_cost=1.0)
    p = freeze(political=(("west", 0.5), ("east", 0.5)))
    assert evaluate(small, freeze()).answer is not Answer.ACCEPT
    assert evaluate(small, p).answer is Answer.ACCEPT


def test_monitoring_raises_the_value_of_an_open_ended_deal():
    v = view(hazard=0.05)
    plain = evaluate(v, freeze())
    guarded = evaluate(v, freeze(guarantors=("turkey",), guarantee=100.0, monitoring=0.9))
    assert guarded.deal > plain.deal


def test_counter_when_it_wants_a_deal_but_not_this_one():
    v = view(bloc="east", share=0.5, site_values=(("x", "east", 0.2),))
    d = evaluate(v, freeze(returns=(("x", "west"),)))
    assert d.answer is Answer.COUNTER
    assert freeze_value(v) >= d.fight


@pytest.mark.parametrize(("exponent", "early"), [(0.4, True), (3.0, False)])
def test_concession_curves(exponent, early):
    assert concession(0, 20, exponent) == 1.0
    assert concession(20, 20, exponent) == 0.0
    mid = concession(5, 20, exponent)
    # boulware (exponent < 1) still demands most after a quarter of the time; conceder does not
    assert (mid > 0.75) is early
    values = [concession(t, 20, exponent) for t in range(21)]
    assert values == sorted(values, reverse=True)
