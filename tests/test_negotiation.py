"""Decision mechanics, tested on hand-built views: the valuations MODEL.md describes."""


import pytest
from decision_inputs import freeze, replace, view

from sim.negotiation import (
    Answer,
    Decision,
    aims_term,
    concession,
    deterrence,
    discount_sum,
    evaluate,
    expected_gain,
    freeze_value,
    front_gain,
    keep_value,
    value_of_fighting,
    wants_to_propose,
)


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


# ---------------------------------------------------------------------- exact values
# The tests below pin the decision functions to exact values, ties and the printed texts
# (`make mutants` runs mutation testing on this module: each of them kills mutants that the
# qualitative tests above let through).
def mean_survival(hazard: float, discount: float = 0.98, horizon: int = 26) -> float:
    """The discount-weighted mean of (1 - hazard)^t over t = 1..horizon, from its definition."""
    d1 = sum(discount**t for t in range(1, horizon + 1))
    return sum((discount * (1 - hazard)) ** t for t in range(1, horizon + 1)) / d1


def test_describe_names_every_provision_of_a_proposal():
    full = freeze(returns=(("x", "west"), ("y", "west")), withdrawal=("west", "east"),
                  separation=True, political=(("west", 0.6), ("east", 0.4)),
                  guarantors=("un", "turkey"), guarantee=150.4, monitoring=0.25)
    assert full.describe() == (
        "open-ended ceasefire; line: x->west, y->west; foreign forces of west/east withdraw; "
        "forces separate; political west 0.60/east 0.40; guarantors un, turkey (150 units); "
        "monitoring 0.25")
    # a truce that freezes the line, with no provision: only what is there is named
    assert freeze(duration=3).describe() == "3-week truce; line: freeze"
    assert freeze(monitoring=0.5).describe() == (
        "open-ended ceasefire; line: freeze; monitoring 0.50")


def test_reason_prints_the_comparison_and_the_terms_that_count():
    tie = Decision(Answer.ACCEPT, 0.5, 0.5,
                   {"gain": 0.0123, "tiny": 0.0004, "edge": 5e-4, "war_cost": -0.25})
    # a tie is a deal worth at least fighting on; terms below 0.0005 are left out
    assert tie.reason() == "deal 0.500 >= fight 0.500 [gain +0.012, edge +0.001, war_cost -0.250]"
    worse = Decision(Answer.REJECT, 0.5, 0.4, {"aims": -0.1})
    assert worse.reason() == "deal 0.400 < fight 0.500 [aims -0.100]"


def test_the_terms_of_a_decision_are_named_as_explain_prints_them():
    v = view(momentum=0.01, belief=0.6, aim=0.7, pressure=0.02, targets=((0.1, 0.2, 0.3),))
    d = evaluate(v, freeze(inducement=(("a", 0.03),)))
    assert set(d.terms) == {"share", "momentum", "belief", "line", "gain", "war_cost", "holds",
                            "aim", "aims", "audience", "pressure", "inducement", "withdrawal"}
    assert (d.terms["share"], d.terms["momentum"], d.terms["belief"], d.terms["aim"]) == (
        0.5, 0.01, 0.6, 0.7)
    assert (d.terms["pressure"], d.terms["inducement"]) == (0.02, 0.03)
    k = keep_value(v, freeze(inducement=(("a", 0.03),)), 0, 8.0, 0.02)
    assert set(k.terms) == {"share", "belief", "gain", "war_cost", "aim", "aims", "pressure",
                            "inducement", "guarantee", "margin"}
    assert (k.terms["share"], k.terms["belief"], k.terms["aim"], k.terms["pressure"],
            k.terms["inducement"]) == (0.5, 0.6, 0.7, 0.02, 0.03)


def test_ties_go_to_the_deal_and_to_the_counter_offer():
    """Accept when the deal is worth at least fighting on; counter when freezing the line is
    worth at least fighting on; propose only when freezing is worth more; keep a deal unless
    defecting is worth more. With nothing to gain and no war cost every value is the share."""
    calm = view(war_cost=0.0)
    d = evaluate(calm, freeze())
    assert d.deal == d.fight == 0.5
    assert d.answer is Answer.ACCEPT
    east = view(war_cost=0.0, bloc="east", site_values=(("x", "east", 0.2),))
    d = evaluate(east, freeze(returns=(("x", "west"),)))
    assert d.deal < d.fight == freeze_value(east)
    assert d.answer is Answer.COUNTER
    assert freeze_value(calm) == value_of_fighting(calm)[0]
    assert not wants_to_propose(calm)
    kept = keep_value(calm, freeze(), 0, 8.0, 0.0)
    assert kept.deal == kept.fight == 0.5
    assert kept.answer is Answer.ACCEPT


def test_a_truce_is_valued_at_its_line_then_the_war_it_delays():
    v = view(share=0.4, war_cost=0.02, pressure=0.02, targets=((0.1, 0.3, 0.3),))
    gain = expected_gain(v)
    d1, d4 = discount_sum(0.98, 26), discount_sum(0.98, 4)
    d = evaluate(v, freeze(duration=4, inducement=(("a", 0.03),)))
    base = (d4 * 0.4 + (d1 - d4) * (0.4 + gain - 0.02)) / d1
    assert d.terms["pressure"] == pytest.approx(0.02 * 4 / 26)
    assert d.terms["inducement"] == pytest.approx(0.03 * 4 / 26)
    assert d.deal == pytest.approx(base + (0.02 + 0.03) * 4 / 26)


def test_freeze_value_counts_the_war_that_follows_a_breakdown_and_every_other_term():
    v = view(hazard=0.1, war_cost=0.02, pressure=0.01, momentum=0.03, aim=0.6, aim_weight=0.5)
    hold = mean_survival(0.1)
    expect = hold * 0.5 + (1 - hold) * (0.5 - 0.02) - 0.5 * 0.1 - 1.0 * 0.03 + 0.01
    assert freeze_value(v) == pytest.approx(expect)


def test_keep_value_counts_the_inducements_that_come_with_compliance():
    v = view()
    plain = keep_value(v, freeze(), 0, 8.0, 0.0)
    paid = keep_value(v, freeze(inducement=(("a", 0.03), ("b", 0.5))), 0, 8.0, 0.0)
    assert paid.terms["inducement"] == 0.03
    assert paid.deal == pytest.approx(plain.deal + 0.03)


def test_the_line_moves_only_sites_that_change_bloc_and_skips_unknown_sites():
    sites = (("x", "west", 0.1), ("y", "east", 0.2))
    west = view(site_values=sites)
    line = {r: evaluate(west, freeze(returns=r)).terms["line"]
            for r in [(("atlantis", "west"), ("y", "west")), (("x", "west"),),
                      (("y", "north"),), (("x", "east"),)]}
    assert line == pytest.approx({
        (("atlantis", "west"), ("y", "west")): 0.2,  # an unknown site does not stop the rest
        (("x", "west"),): 0.0,  # its own site stays its own
        (("y", "north"),): 0.0,  # a rival's site going to a third bloc
        (("x", "east"),): -0.1})


def test_deterrence_at_small_forces_and_a_negative_strength_counts_as_none():
    assert deterrence(0.2, 0.5, 1.5) == pytest.approx(0.2 * 0.5 / 2.0)
    assert deterrence(0.2, 10.0, 0.5) == pytest.approx(0.2 * 10 / 10.5)
    assert deterrence(0.2, 10.0, -5.0) == pytest.approx(0.2)


def test_expected_gain_now_or_projected():
    v = view(targets=((0.1, 0.2, 0.4),), threats=((0.05, 0.1, 0.0),))
    now = 0.1 * (1 - mean_survival(0.2)) - 0.05 * (1 - mean_survival(0.1))
    projected = 0.1 * (1 - mean_survival(0.4))
    assert expected_gain(v, projected=False) == pytest.approx(now)
    assert expected_gain(v) == pytest.approx(projected)
    # front_gain projects by default, as expected_gain does
    assert front_gain(v.targets, v.threats, 0.5, 0.98, 26) == pytest.approx(projected)
    assert front_gain(v.targets, v.threats, 0.5, 0.98, 26, False) == pytest.approx(now)


def test_a_shortfall_within_rounding_costs_nothing():
    assert aims_term(view(aim=1e-9), 0.0) == 0.0
    assert aims_term(view(aim=2e-9, aim_weight=0.5), 0.0) == pytest.approx(-1e-9)


def test_concession_ends_at_the_line_and_an_exponent_of_zero_or_less_concedes_at_once():
    assert concession(30, 20, 1.0) == 0.0  # past the concession weeks: nothing more to give
    assert concession(5, 20, 1.0) == 0.75
    assert concession(5, 20, 0.0) == 0.0
    assert concession(5, 20, -1.0) == 0.0
