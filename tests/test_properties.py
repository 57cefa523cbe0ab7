"""Invariants that hold for any valid scenario and seed (hypothesis property tests)."""

import tomllib
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.runner import run_one
from sim.scenario import scenario_from_dict

ROOT = Path(__file__).resolve().parents[1]
BASE = {
    "duel": tomllib.loads((ROOT / "scenarios" / "symmetric_duel.toml").read_text()),
    "libya": tomllib.loads((ROOT / "scenarios" / "libya_2019.toml").read_text()),
}


@st.composite
def scenarios(draw):
    """A random valid variant of a shipped scenario: forces, beliefs, support, terrain."""
    name = draw(st.sampled_from(["duel", "duel", "libya"]))
    data = _copy(BASE[name])
    for f in data["factions"].values():
        if f.get("armed", True):
            f["strength"] = draw(st.floats(1.0, 600.0))
        f["optimism"] = draw(st.floats(-0.3, 0.3))
        f["attack_threshold"] = draw(st.floats(0.2, 0.8))
        f["min_share"] = draw(st.floats(0.0, 0.9))
        f["audience_cost"] = draw(st.floats(0.0, 3.0))
    for b in data["backers"].values():
        b["capacity"] = draw(st.floats(0.0, 30.0))
        b["red_line_capacity"] = draw(st.floats(0.0, 30.0))
        b["fatigue_rate"] = draw(st.floats(0.0, 0.01))
    for s in data["sites"].values():
        s["defence"] = draw(st.floats(0.5, 4.0))
    data["model"]["decisiveness"] = draw(st.floats(0.5, 4.0))
    data["model"]["incident_breakdown"] = draw(st.floats(0.0, 1.0))
    for m in data["mediators"].values():
        m["activity"] = draw(st.floats(0.0, 1.0))
    return scenario_from_dict(data), draw(st.integers(0, 2**63 - 1))


def budget_bound(scn, key: str) -> float:
    """The most a backer can ever give per week: its capacity as dated events set or scale it
    (the largest value along the way) plus its red-line reserve (likewise)."""
    b = scn.backers[key]
    cap, red = b.capacity, b.red_line_capacity
    top_cap, top_red = cap, red
    for e in sorted(scn.events, key=lambda e: e.date):
        cap = e.set.get(f"backers.{key}.capacity", cap) * e.scale.get(
            f"backers.{key}.capacity", 1.0)
        red = e.set.get(f"backers.{key}.red_line_capacity", red) * e.scale.get(
            f"backers.{key}.red_line_capacity", 1.0)
        top_cap, top_red = max(top_cap, cap), max(top_red, red)
    return top_cap + top_red


def _copy(obj):
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy(v) for v in obj]
    return obj


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold_for_any_scenario_and_seed(case):
    scn, seed = case
    row, steps, events = run_one(scn, 0, seed, steps=40)
    # total control is conserved, every week
    control = steps.filter(like="control_").to_numpy()
    assert np.allclose(control.sum(axis=1), 1.0)
    assert (control >= -1e-12).all()
    # no negative strength or support; support within budget (capacity + red-line reserve)
    assert (steps.filter(like="strength_").to_numpy() >= 0).all()
    for k in scn.backers:
        s = steps[f"support_{k}"].to_numpy()
        assert (s >= 0).all()
        assert (s <= budget_bound(scn, k) + 1e-9).all()
    beliefs = steps.filter(like="belief_").to_numpy()
    assert ((beliefs > 0) & (beliefs < 1)).all()
    # no battle while a truce or ceasefire holds
    quiet = set(steps.step[steps.status != "war"])
    fights = events[events.kind.isin(["battle", "capture"])]
    assert not quiet & set(fights.step)
    # a deal in force means every armed faction (but the proposer) accepted that proposal
    armed = set(scn.armed_factions)
    for deal in events[events.kind.isin(["ceasefire", "truce"])].itertuples():
        yes = events[(events.kind == "response") & (events.proposal_id == deal.proposal_id)
                     & events.accepted.fillna(False).astype(bool)]
        assert armed - {deal.actor} <= set(yes.actor)
    # the run's summary agrees with its own tables
    assert row["n_ceasefires"] == (events.kind == "ceasefire").sum()
    assert row["n_breakdowns"] == (events.kind == "breakdown").sum()
    if row["outcome"].startswith("victory:"):
        assert (events.kind == "victory").sum() == 1
