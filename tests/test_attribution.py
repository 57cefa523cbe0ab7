"""`negsim attribute`: Shapley values by permutation sampling are exact on games with known
values and efficient on every ordering; an absent actor is the scenario's own absent version;
the coalitions run with the same seeds as `negsim run`; bad input exits 2.

End to end on the symmetric duel (two backers, one mediator), a few runs of 20 weeks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_run import bad, invoke

from sim.attribution import (
    ABSENT_BACKER_FIELDS,
    AttributionRun,
    absent_data,
    attribute,
    coalition_scenario,
    coalitions_of,
    orderings,
    shapley,
)
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DUEL = ROOT / "scenarios" / "symmetric_duel.toml"
LIBYA = ROOT / "scenarios" / "libya_2019.toml"


# ---------------------------------------------------------------------- the estimator
def test_an_additive_game_gives_each_actor_its_own_contribution_exactly():
    w = np.array([0.3, -0.1, 0.05, 0.2, 0.0, 0.12])
    perms, exact = orderings(6, 15, seed=3)
    assert not exact and perms.shape == (15, 6)
    c = shapley(perms, lambda s: 0.4 + sum(w[i] for i in s))
    assert np.allclose(c, np.tile(w, (15, 1)))  # every ordering, not just on average


def test_a_symmetric_game_splits_the_gain_equally_over_every_ordering():
    f = [0.0, 0.1, 0.5, 0.6]  # v depends on the coalition's size only
    perms, exact = orderings(3, 6, seed=0)
    assert exact and len(perms) == 6 and len({tuple(p) for p in perms}) == 6
    c = shapley(perms, lambda s: f[len(s)])
    assert np.allclose(c.mean(axis=0), (f[3] - f[0]) / 3)


def glove(s: frozenset[int]) -> float:
    """The glove game: actor 0 holds a left glove, 1 and 2 a right one each; a coalition is
    worth 1 when it can make a pair. Its Shapley values are 2/3, 1/6, 1/6."""
    return float(0 in s and (1 in s or 2 in s))


def test_the_glove_game_gets_its_known_shapley_values():
    """Asymmetric and not additive: exact over every ordering of its 3 actors; with 6 dummy
    actors added (9! orderings, so they are sampled) the dummies get exactly 0 and the
    sampled estimates fall within 3 standard errors of 2/3, 1/6, 1/6."""
    perms, exact = orderings(3, 6, seed=0)
    assert exact
    assert np.allclose(shapley(perms, glove).mean(axis=0), [2 / 3, 1 / 6, 1 / 6])
    perms, exact = orderings(9, 2000, seed=4)
    assert not exact
    c = shapley(perms, glove)
    assert np.all(c[:, 3:] == 0)
    se = c.std(axis=0, ddof=1) / np.sqrt(len(c))
    assert np.all(np.abs(c.mean(axis=0)[:3] - [2 / 3, 1 / 6, 1 / 6]) <= 3 * se[:3])


def test_every_ordering_is_efficient_on_any_game():
    rng = np.random.default_rng(5)
    n = 7
    perms, _ = orderings(n, 25, seed=9)
    table = {s: rng.random() for s in coalitions_of(perms)}
    c = shapley(perms, table.__getitem__)
    full, empty = frozenset(range(n)), frozenset()
    assert np.allclose(c.sum(axis=1), table[full] - table[empty], atol=1e-12)


def test_orderings_are_seeded_and_coalitions_met_once():
    a, _ = orderings(9, 20, seed=1)
    b, _ = orderings(9, 20, seed=1)
    c, _ = orderings(9, 20, seed=2)
    assert (a == b).all() and not (a == c).all()
    co = coalitions_of(a)
    assert co[0] == frozenset() and frozenset(range(9)) in co
    assert len(co) == len(set(co)) <= 20 * 8 + 2


# ---------------------------------------------------------------------- absent actors
def test_an_absent_backer_gives_nothing_even_where_an_event_would_set_it():
    scn = load_scenario(LIBYA)
    data = scn.to_dict()
    assert any("backers.turkey.baseline" in (e.get("set") or {}) for e in data["events"])
    absent_data(data, "backers", "turkey")
    for f in ABSENT_BACKER_FIELDS:
        assert data["backers"]["turkey"][f] == 0.0
    for e in data["events"]:
        for k, v in (e.get("set") or {}).items():
            if k.startswith("backers.turkey."):
                assert v == 0.0 or k.rsplit(".", 1)[1] not in ABSENT_BACKER_FIELDS
    # the other backers are untouched
    assert data["backers"]["russia"] == scn.to_dict()["backers"]["russia"]


def test_an_absent_mediator_has_no_initiative_of_its_own_or_scheduled():
    scn = load_scenario(LIBYA)
    data = absent_data(scn.to_dict(), "mediators", "russia_turkey")
    assert data["mediators"]["russia_turkey"]["activity"] == 0.0
    assert not [e for e in data["events"]
                if (e.get("initiative") or {}).get("mediator") == "russia_turkey"]
    assert len(data["events"]) == len(scn.events)  # their other changes stay
    assert [e for e in data["events"] if (e.get("initiative") or {}).get("mediator") == "un"]
    none = coalition_scenario(scn.to_dict(), "mediators", tuple(scn.mediators), [])
    assert len(none.events) == len(scn.events)
    assert all(e.initiative is None for e in none.events)
    assert all(m.activity == 0 for m in none.mediators.values())


def test_the_full_coalition_is_the_scenario_itself():
    scn = load_scenario(LIBYA)
    actors = tuple(scn.backers)
    assert coalition_scenario(scn.to_dict(), "backers", actors, actors).digest() == scn.digest()
    none = coalition_scenario(scn.to_dict(), "backers", actors, [])
    assert all(b.capacity == 0 and b.red_line_capacity == 0 for b in none.backers.values())


# ---------------------------------------------------------------------- end to end
def test_attribute_on_the_duel_is_efficient_and_uses_the_runs_seeds(tmp_path: Path):
    out = tmp_path / "att"
    r = invoke("attribute", DUEL, "--runs", "6", "--steps", "20", "--seed", "4", "--jobs", "1",
               "--outcome", "control:west", "--quiet", "--out", out)
    assert r.exit_code == 0, r.output
    assert "West Patron" in r.output and "add up to" in r.output
    data = json.loads((out / "attribution.json").read_text())
    assert data["every_ordering"] and data["orderings"] == 2 and data["coalitions"] == 4
    total = sum(s["shapley"] for s in data["shapley"])
    assert math.isclose(total, data["v_all"][0] - data["v_none"][0], abs_tol=1e-12)
    csv = pd.read_csv(out / "attribution.csv")
    assert list(csv["actor"]) == [s["actor"] for s in data["shapley"]]
    assert (out / "attribution.png").stat().st_size > 0
    # v(every backer) is `negsim run` of the scenario with the same seed and runs
    run = tmp_path / "run"
    assert invoke("run", DUEL, "--runs", "6", "--steps", "20", "--seed", "4", "--quiet",
                  "--out", run).exit_code == 0
    runs = pd.read_parquet(run / "runs.parquet")
    assert math.isclose(data["v_all"][0], runs["control_west"].mean(), rel_tol=1e-12)


@pytest.mark.slow
def test_attribution_does_not_depend_on_the_workers():
    spec = AttributionRun(load_scenario(DUEL), "mediators", None, 5, 6, 2, 12, "duel")
    one, two = attribute(spec, jobs=1), attribute(spec, jobs=2)
    assert one.values == two.values
    assert np.array_equal(one.contributions, two.contributions)
    # one mediator: its value is the whole difference
    assert math.isclose(float(one.contributions.mean()), one.v_all[0] - one.v_none[0])


def test_attribute_rejects_bad_input(tmp_path: Path):
    bad(invoke("attribute", DUEL, "--actors", "factions", "--out", tmp_path / "a"),
        "--actors 'factions'", "backers, mediators")
    bad(invoke("attribute", DUEL, "--outcome", "victory:nobody", "--out", tmp_path / "b"),
        "victory:west")
    bad(invoke("attribute", DUEL, "--set", "backers.nobody.capacity=1"), "backers.nobody")
    bad(invoke("attribute", tmp_path / "missing.toml"), "not found")
    bad(invoke("attribute", DUEL, "--runs", "0"), "--runs")
    f = tmp_path / "file"
    f.write_text("x")
    bad(invoke("attribute", DUEL, "--out", f), "expected a folder")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
