"""Observations from the historical record (`sim.observed`) and scoring runs against them
(`sim.score`, `negsim score`).

Most tests build small runs/steps/events tables by hand, in the shape of the real ones, on the
symmetric duel's calendar (step 0 is 2020-01-06; a date falls in week
``(date - 2020-01-06).days // 7 + 1``), so every kind is checked exactly, including the runs
left out of the denominator and dates on the edge of a week.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scenario_text import BASE, DUEL
from typer.testing import CliRunner

from sim.cli import app
from sim.folder import scenario_from_manifest
from sim.observed import observed_line
from sim.results import wilson
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict
from sim.score import ScoreError, load_observations, score, score_folder

DUEL_DATA = tomllib.loads(BASE)
START = dt.date(2020, 1, 6)
ENV = {"COLUMNS": "400", "NO_COLOR": "1", "NEGSIM_DEBUG": None}


# ----------------------------------------------------------------------------- helpers
def week(s: int, day: int = 0) -> str:
    """A date in simulated week `s` (day 0 is its first day, 6 its last)."""
    return (START + dt.timedelta(days=7 * (s - 1) + day)).isoformat()


def obs(kind: str, id: str = "o", **fields) -> dict:
    return {"kind": kind, "id": id, "description": f"{kind} test", "source": "test", **fields}


def scenario(*entries: dict):
    return scenario_from_dict({**DUEL_DATA, "observed": list(entries)})


def runs_table(*rows: dict) -> pd.DataFrame:
    full = [{"run": i, "outcome": "ongoing", "weeks": 104, "first_ceasefire_step": None, **r}
            for i, r in enumerate(rows)]
    df = pd.DataFrame(full)
    df["first_ceasefire_step"] = df["first_ceasefire_step"].astype("Int64")
    return df


def events_table(*rows: tuple) -> pd.DataFrame:
    """(run, step, kind, actor, target[, proposal_id[, accepted]]) rows."""
    cols = ["run", "step", "kind", "actor", "target", "proposal_id", "accepted"]
    full = [tuple(r) + (None,) * (len(cols) - len(r)) for r in rows]
    df = pd.DataFrame(full, columns=cols)
    df["run"] = df["run"].astype("int32")
    df["step"] = df["step"].astype("int32")
    df["proposal_id"] = df["proposal_id"].astype("Int64")
    df["accepted"] = df["accepted"].astype("boolean")
    df["date"] = pd.to_datetime(START) + pd.to_timedelta(df["step"] * 7, unit="D")
    df["reason"] = ""
    return df


def steps_table(runs: pd.DataFrame, status=None, support=None) -> pd.DataFrame:
    """One row per run and week 0..weeks; `status(run, step)` and `support(run, step)` (the
    west patron's weekly support; the east patron's is 1)."""
    rows = []
    for r in runs.itertuples():
        for s in range(int(r.weeks) + 1):
            rows.append({"run": r.run, "step": s,
                         "status": status(r.run, s) if status else "war",
                         "support_west_patron": support(r.run, s) if support else 1.0,
                         "support_east_patron": 1.0})
    return pd.DataFrame(rows)


def one(entry: dict, runs: pd.DataFrame, events: pd.DataFrame | None = None,
        steps: pd.DataFrame | None = None) -> pd.Series:
    """Score one observation; its row of the observations table."""
    tables = {"runs": runs,
              "events": events if events is not None else events_table(),
              "steps": steps if steps is not None else steps_table(runs)}
    table = score(tables, scenario(entry))
    assert len(table.observations) == 1
    return table.observations.iloc[0]


def assert_counts(row: pd.Series, counted: int, matched: int) -> None:
    assert (row["counted"], row["matched"]) == (counted, matched), row.to_dict()
    assert row["share"] == pytest.approx(matched / counted)
    lo, hi = wilson(matched, counted)
    assert (row["low"], row["high"]) == (pytest.approx(lo), pytest.approx(hi))


# ----------------------------------------------------------------------------- site_held
def _site_runs():
    runs = runs_table({}, {}, {"outcome": "victory:east", "weeks": 6}, {"weeks": 5}, {}, {})
    events = events_table(
        (1, 5, "capture", "east", "west_border"), (1, 12, "capture", "west", "west_border"),
        (2, 3, "capture", "east", "west_border"), (2, 6, "victory", "east", "all"),
        (4, 2, "capture", "east", "west_border"), (4, 8, "handover", "west", "west_border"),
        (4, 9, "capture", "west", "east_border"),  # another site: ignored
        (5, 10, "capture", "east", "west_border"), (5, 10, "capture", "west", "west_border"),
        (5, 11, "mystery", "east", "west_border"),  # an unknown kind: ignored
    )
    return runs, events


def test_site_held_reconstructs_the_holder_from_captures_and_handovers() -> None:
    runs, events = _site_runs()
    row = one(obs("site_held", site="west_border", bloc="west", date=week(10, 3)), runs, events)
    # run 0 never lost it; run 1 lost it weeks 5-11; run 2 lost it and the war (victory: its
    # state stays); run 3 stopped at week 5 (not counted); run 4 got it back by a handover in
    # week 8; run 5 lost and retook it in week 10 (the holder at the week's end counts)
    assert_counts(row, 5, 3)
    assert row["runs"] == 6
    assert row["met"]  # 60% >= 50%
    assert "1 run not counted: not simulated to" in row["note"]
    # distance to the nearest week held: 0, 2 (week 12), 8 (held to week 2), 0, 0
    assert row["timing_error_weeks"] == 0


def test_site_held_tolerance_and_timing() -> None:
    runs, events = _site_runs()
    row = one(obs("site_held", site="west_border", bloc="west", date=week(10),
                  tolerance_weeks=2), runs, events)
    assert_counts(row, 5, 4)  # run 1 holds it again in week 12
    row = one(obs("site_held", site="west_border", bloc="east", date=week(10)), runs, events)
    # east held it in run 1 (weeks 5-11) and run 2 (from week 3, for good); in run 4 weeks
    # 2-7 (3 weeks off); never at the end of a week in runs 0 and 5
    assert_counts(row, 5, 2)
    assert row["timing_error_weeks"] == 0  # median of 0, 0, 3


def test_site_held_edge_of_a_week() -> None:
    runs = runs_table({})
    events = events_table((0, 5, "capture", "east", "west_border"))
    # the last day of week 4 is before the capture; the first day of week 5 is in its week
    last_of_4 = one(obs("site_held", site="west_border", bloc="west", date=week(4, 6)),
                    runs, events)
    first_of_5 = one(obs("site_held", site="west_border", bloc="west", date=week(5, 0)),
                     runs, events)
    assert last_of_4["matched"] == 1 and first_of_5["matched"] == 0
    assert first_of_5["timing_error_weeks"] == 1  # held to week 4
    never = one(obs("site_held", site="east_border", bloc="west", date=week(5)), runs, events)
    assert never["matched"] == 0 and math.isnan(never["timing_error_weeks"])


# ----------------------------------------------------------------------------- ceasefires
def test_ceasefire_in_force_reads_the_weekly_status() -> None:
    runs = runs_table({}, {}, {"weeks": 3})
    steps = steps_table(runs, status=lambda r, s: "ceasefire" if r == 0 and 5 <= s <= 8
                        else "truce" if r == 1 else "war")
    row = one(obs("ceasefire_in_force", date=week(10), tolerance_weeks=2), runs, steps=steps)
    assert_counts(row, 2, 1)  # run 1 had truces only; run 2 stopped at week 3
    assert row["timing_error_weeks"] == 2
    assert "not simulated to" in row["note"]
    row = one(obs("ceasefire_in_force", date=week(10), tolerance_weeks=1), runs, steps=steps)
    assert_counts(row, 2, 0)
    row = one(obs("ceasefire_in_force", date=week(8, 6)), runs, steps=steps)
    assert_counts(row, 2, 1)


def test_no_ceasefire_before() -> None:
    runs = runs_table({"first_ceasefire_step": 4}, {}, {"first_ceasefire_step": 10},
                      {"weeks": 5}, {"first_ceasefire_step": 9},
                      {"outcome": "victory:west", "weeks": 3})
    row = one(obs("no_ceasefire_before", date=week(10, 6)), runs)
    # a ceasefire in the week of the date is not before it; run 3 stopped too early to tell
    assert_counts(row, 5, 3)
    assert row["timing_error_weeks"] == 1  # weeks early: 6, 0, 1
    assert "1 run not counted" in row["note"]


def test_first_ceasefire_window_and_timing() -> None:
    runs = runs_table({"first_ceasefire_step": 4}, {}, {"first_ceasefire_step": 10},
                      {"first_ceasefire_step": 20}, {"first_ceasefire_step": 21},
                      {"weeks": 15}, {"outcome": "victory:east", "weeks": 8})
    row = one(obs("first_ceasefire", **{"from": week(10), "until": week(20, 6)}), runs)
    # both edges inside; no ceasefire counts unless the run stopped before the window ended
    assert_counts(row, 6, 2)
    assert row["timing_error_weeks"] == 0.5  # 6, 0, 0, 1 weeks from the window
    assert "1 run not counted: not simulated to" in row["note"]


def test_first_ceasefire_from_events_when_the_runs_table_lacks_it() -> None:
    runs = runs_table({}, {}).drop(columns="first_ceasefire_step")
    events = events_table((0, 12, "truce", "un", "all", 1, True),
                          (0, 15, "truce_end", "un", "all", 1),
                          (0, 30, "ceasefire", "un", "all", 2, True),
                          (1, 11, "ceasefire", "west", "all", 1, True))
    row = one(obs("first_ceasefire", **{"from": week(10), "until": week(20)}), runs, events)
    assert_counts(row, 2, 1)  # run 0's first open-ended ceasefire is in week 30


# ----------------------------------------------------------------------------- deals
def _deal_runs():
    runs = runs_table(*[{}] * 7)
    events = events_table(
        (0, 5, "truce", "un", "all", 1, True), (0, 6, "breakdown", "west", "all", 1),
        (1, 5, "truce", "un", "all", 1, True), (1, 7, "truce_end", "un", "all", 1),
        (2, 5, "truce", "un", "all", 1, True), (2, 6, "incident", "east", "all", 1),
        (2, 8, "breakdown", "east", "all", 1),
        (4, 5, "truce", "un", "all", 1, True), (4, 6, "ceasefire", "un", "all", 2, True),
        (4, 7, "breakdown", "east", "all", 2),
        (5, 103, "truce", "un", "all", 1, True),
        (6, 5, "truce", "west", "all", 1, True), (6, 6, "breakdown", "east", "all", 1),
        (6, 10, "truce", "east", "all", 2, True), (6, 20, "breakdown", "west", "all", 2),
    )
    return runs, events


def test_broken_within_counts_only_runs_with_such_deals() -> None:
    runs, events = _deal_runs()
    row = one(obs("broken_within", deal="truce", weeks=2), runs, events)
    # run 0 broke in 1 week, run 1 expired in 2 (the edge); run 2 broke in 3; run 4's truce
    # was replaced by a ceasefire; run 6 broke one of two; run 3 had none and run 5's is in
    # force at the end after 1 week (too young to tell): both left out
    assert_counts(row, 5, 2)
    assert "2 runs not counted: no truce came into force" in row["note"]
    assert math.isnan(row["timing_error_weeks"])


def test_broken_within_deal_types_share_of_deals_and_window() -> None:
    runs, events = _deal_runs()
    row = one(obs("broken_within", deal="ceasefire", weeks=2), runs, events)
    assert_counts(row, 1, 1)  # only run 4 had a ceasefire
    row = one(obs("broken_within", weeks=2), runs, events)  # any deal: run 4 broke 1 of 2
    assert_counts(row, 5, 2)
    row = one(obs("broken_within", weeks=2, min_share_of_deals=0.5), runs, events)
    assert_counts(row, 5, 4)  # runs 4 and 6 broke half of theirs
    row = one(obs("broken_within", deal="truce", weeks=2, **{"from": week(9)}), runs, events)
    assert_counts(row, 1, 0)  # only run 6's second truce (10 weeks) started from week 9
    row = one(obs("broken_within", deal="truce", weeks=10, **{"from": week(9)}), runs, events)
    assert_counts(row, 1, 1)


def test_holds_and_censoring() -> None:
    runs = runs_table(*[{}] * 6)
    events = events_table(
        (0, 5, "ceasefire", "un", "all", 1, True), (0, 15, "breakdown", "west", "all", 1),
        (1, 5, "ceasefire", "un", "all", 1, True), (1, 14, "breakdown", "west", "all", 1),
        (2, 100, "ceasefire", "un", "all", 1, True),
        (3, 5, "ceasefire", "un", "all", 1, True), (3, 8, "breakdown", "west", "all", 1),
        (3, 90, "ceasefire", "west", "all", 2, True),
        (5, 5, "truce", "un", "all", 1, True), (5, 30, "truce_end", "un", "all", 1),
    )
    row = one(obs("holds", weeks=10), runs, events)
    # run 0 held exactly 10 weeks; run 1 9; run 2's is in force after 4 weeks at the end
    # (censored: left out); run 3's second holds to the end (14 weeks); run 4 had none; a
    # truce is not a ceasefire (run 5)
    assert_counts(row, 5, 2)
    assert "1 run not counted: censored" in row["note"]
    row = one(obs("holds", weeks=10, **{"from": week(50)}), runs, events)
    assert_counts(row, 5, 1)
    row = one(obs("holds", weeks=4, **{"from": week(50)}), runs, events)
    assert_counts(row, 6, 2)  # run 2's ceasefire has lasted 4 weeks: no longer censored


def test_answer_first_any_every() -> None:
    runs = runs_table(*[{}] * 5)
    events = events_table(
        (0, 10, "proposal", "un", "all", 3), (0, 10, "response", "west", "un", 3, False),
        (0, 10, "response", "east", "un", 3, True),
        (1, 11, "proposal", "un", "all", 2), (1, 11, "response", "east", "un", 2, False),
        (1, 12, "proposal", "un", "all", 5), (1, 12, "response", "east", "un", 5, True),
        (2, 9, "proposal", "un", "all", 1), (2, 9, "response", "east", "un", 1, True),
        (3, 10, "proposal", "west", "all", 1), (3, 10, "response", "east", "west", 1, True),
        (4, 12, "proposal", "un", "all", 7), (4, 13, "response", "east", "un", 7, False),
    )
    window = {"from": week(10), "until": week(12, 6)}

    def ans(accepted: bool, which: str = "first") -> pd.Series:
        return one(obs("answer", proposer="un", responder="east", accepted=accepted,
                       which=which, **window), runs, events)

    # counted: runs 0, 1, 4 (run 2's proposal is before the window, run 3's is by west)
    assert_counts(ans(True), 3, 1)
    assert_counts(ans(True, "any"), 3, 2)
    assert_counts(ans(True, "every"), 3, 1)
    assert_counts(ans(False), 3, 2)  # run 1 first rejected; run 4 countered (answered later)
    assert "2 runs not counted: no proposal by un in the window" in ans(True)["note"]
    row = one(obs("answer", proposer="west", responder="east", accepted=True, **window),
              runs, events)
    assert_counts(row, 1, 1)


def test_support_higher_sums_backers_and_skips_runs_without_the_windows() -> None:
    runs = runs_table({}, {}, {"outcome": "victory:west", "weeks": 3})
    steps = steps_table(runs, support=lambda r, s: (5.0 if r == 0 and s >= 20 else 2.0))
    higher = {"from": week(20), "until": week(30)}
    lower = {"from": week(1), "until": week(10)}
    row = one(obs("support_higher", backer="west_patron", higher=higher, lower=lower),
              runs, steps=steps)
    assert_counts(row, 2, 1)  # run 1 is level (not higher); run 2 ended before week 20
    assert "no simulated week in one of the windows" in row["note"]
    both = obs("support_higher", backer=["west_patron", "east_patron"], higher=higher,
               lower=lower, factor=2.0)  # 6 vs 3: exactly twice is not more than twice
    assert_counts(one(both, runs, steps=steps), 2, 0)
    both["factor"] = 1.9
    assert_counts(one(both, runs, steps=steps), 2, 1)


def test_no_victory() -> None:
    runs = runs_table({"outcome": "victory:west"}, {"outcome": "victory:east"},
                      {"outcome": "durable_ceasefire"}, {"outcome": "ongoing"})
    assert_counts(one(obs("no_victory"), runs), 4, 2)
    assert_counts(one(obs("no_victory", faction="west"), runs), 4, 3)
    assert_counts(one(obs("no_victory", bloc="east"), runs), 4, 3)


# ----------------------------------------------------------------------------- overall
def test_overall_score_met_and_an_observation_no_run_counts() -> None:
    runs = runs_table({"outcome": "victory:west"}, {}, {}, {})
    scn = scenario(obs("no_victory", "a", share=0.5),          # 3/4 >= 0.5: credit 1
                   obs("no_victory", "b", faction="east", share=1.0),  # 4/4: 1
                   obs("no_victory", "c", bloc="west", share=1.0),     # 3/4: 0.75
                   obs("holds", "d", weeks=5))                 # no ceasefire: 0/4, credit 0
    t = score({"runs": runs, "steps": steps_table(runs), "events": events_table()}, scn)
    assert list(t.observations["met"]) == [True, True, False, False]
    assert t.score == pytest.approx((1 + 1 + 0.75 + 0) / 4)
    assert (t.overall["met"].iloc[0], t.overall["total"].iloc[0]) == (2, 4)
    none = scenario(obs("broken_within", "e", weeks=2))
    t = score({"runs": runs, "steps": steps_table(runs), "events": events_table()}, none)
    row = t.observations.iloc[0]
    assert row["counted"] == 0 and math.isnan(row["share"]) and not row["met"]
    assert row["note"].startswith("no run counted")
    assert t.score == 0
    d = t.to_dict()
    assert d["observations"][0]["share"] is None and d["overall"]["score"] == 0
    json.dumps(d, allow_nan=False)


def test_a_sweep_is_scored_point_by_point() -> None:
    runs = pd.concat([runs_table({"outcome": "victory:west"}, {}).assign(point=0),
                      runs_table({}, {}).assign(point=1)], ignore_index=True)
    steps = pd.concat([steps_table(runs_table({}, {})).assign(point=p) for p in (0, 1)])
    events = events_table((0, 5, "capture", "west", "east_border")).assign(point=1)
    points = pd.DataFrame({"point": [0, 1], "backers.west_patron.capacity": [1.0, 6.0]})
    scn = scenario(obs("no_victory", "nv", share=1.0),
                   obs("site_held", "eb", site="east_border", bloc="west", date=week(8)))
    t = score({"runs": runs, "steps": steps, "events": events, "points": points}, scn)
    assert t.sweep and t.varied == ("backers.west_patron.capacity",)
    obs_ = t.observations.set_index(["point", "id"])
    assert obs_.loc[(0, "nv"), "matched"] == 1 and obs_.loc[(1, "nv"), "matched"] == 2
    assert obs_.loc[(0, "eb"), "matched"] == 0 and obs_.loc[(1, "eb"), "matched"] == 1
    assert list(t.ranking()["point"]) == [1, 0]
    d = t.to_dict()
    assert d["points"][1]["values"] == {"backers.west_patron.capacity": 6.0}
    assert d["ranking"][0] == {"point": 1, "score": 1.0, "met": 2}
    with pytest.raises(ValueError):
        _ = t.score


def test_a_scenario_without_observations_cannot_be_scored() -> None:
    runs = runs_table({})
    with pytest.raises(ScoreError, match="no observations"):
        score({"runs": runs, "steps": steps_table(runs), "events": events_table()},
              scenario())


def test_ten_thousand_runs_score_in_seconds() -> None:
    import time

    n = 10_000
    rng = np.random.default_rng(0)
    runs = pd.DataFrame({"run": np.arange(n), "outcome": "ongoing", "weeks": 104,
                         "first_ceasefire_step": pd.array(rng.integers(1, 104, n),
                                                          dtype="Int64")})
    steps = pd.DataFrame({"run": np.repeat(np.arange(n), 105),
                          "step": np.tile(np.arange(105), n),
                          "status": rng.choice(["war", "ceasefire"], n * 105),
                          "support_west_patron": rng.random(n * 105)})
    k = 100 * n
    kinds = rng.choice(["capture", "proposal", "response", "ceasefire", "breakdown",
                        "battle"], k)
    events = pd.DataFrame({"run": np.repeat(np.arange(n), 100),
                           "step": np.tile(np.sort(rng.integers(1, 105, 100)), n),
                           "kind": kinds, "actor": rng.choice(["west", "east", "un"], k),
                           "target": rng.choice(["west_border", "west", "un"], k),
                           "proposal_id": pd.array(rng.integers(1, 30, k), dtype="Int64"),
                           "accepted": pd.array(rng.random(k) < 0.5, dtype="boolean")})
    scn = scenario(
        obs("site_held", "a", site="west_border", bloc="west", date=week(50)),
        obs("ceasefire_in_force", "b", date=week(50), tolerance_weeks=2),
        obs("first_ceasefire", "c", **{"from": week(20), "until": week(40)}),
        obs("broken_within", "d", weeks=4), obs("holds", "e", weeks=10),
        obs("answer", "f", proposer="un", responder="east", accepted=True,
            **{"from": week(10), "until": week(60)}),
        obs("support_higher", "g", backer="west_patron",
            higher={"from": week(50), "until": week(60)},
            lower={"from": week(1), "until": week(10)}),
        obs("no_victory", "h"), obs("no_ceasefire_before", "i", date=week(30)))
    t0 = time.perf_counter()
    t = score({"runs": runs, "steps": steps, "events": events}, scn)
    assert time.perf_counter() - t0 < 10
    assert (t.observations["runs"] == n).all()


# ----------------------------------------------------------------------------- real runs
@pytest.fixture(scope="module")
def duel_with_observations():
    entries = [
        obs("site_held", "wb", site="west_border", bloc="west", date="2020-06-01",
            tolerance_weeks=1),
        obs("ceasefire_in_force", "cf", date="2020-09-01"),
        obs("no_ceasefire_before", "ncb", date="2020-03-01"),
        obs("first_ceasefire", "fc", **{"from": "2020-04-01", "until": "2020-10-01"}),
        obs("broken_within", "bw", deal="ceasefire", weeks=4, min_share_of_deals=0.5),
        obs("answer", "ans", proposer="un", responder="east", accepted=True,
            **{"from": "2020-01-06", "until": "2021-12-01"}),
        obs("support_higher", "sup", backer=["west_patron", "east_patron"],
            higher={"from": "2020-06-01", "until": "2020-09-01"},
            lower={"from": "2020-01-06", "until": "2020-02-01"}),
        obs("holds", "hold", weeks=8),
        obs("no_victory", "nv", share=0.8),
    ]
    data = tomllib.loads(DUEL.read_text())
    data["observed"] = entries
    return scenario_from_dict(data)


def test_scores_a_real_run_of_the_duel(duel_with_observations, tmp_path: Path) -> None:
    import sim
    from sim.experiment import Experiment
    from sim.folder import Results, atomic_json

    scn = duel_with_observations
    res = sim.run_replicates(scn, runs=12, seed=4)
    t = score(res, scn)
    o = t.observations.set_index("id")
    assert list(o.index) == [e.id for e in scn.observed]
    runs, steps = res.runs, res.steps
    # independent checks from the tables
    assert o.loc["nv", "matched"] == (~runs["outcome"].str.startswith("victory:")).sum()
    first = runs["first_ceasefire_step"].astype("Float64")
    a, b = scn.date_step(dt.date(2020, 4, 1)), scn.date_step(dt.date(2020, 10, 1))
    assert o.loc["fc", "matched"] == ((first >= a) & (first <= b)).fillna(False).sum()
    s0 = scn.date_step(dt.date(2020, 9, 1))
    at = steps[steps["step"] == s0].set_index("run")["status"]
    assert o.loc["cf", "matched"] == (at == "ceasefire").sum()
    assert o.loc["cf", "counted"] == 12  # every run got there, or ended in a victory
    assert (o["runs"] == 12).all()
    assert 0 <= t.score <= 1
    # the same from a folder, with the scenario read back from its manifest
    for name in ("runs", "steps", "events"):
        getattr(res, name).to_parquet(tmp_path / f"{name}.parquet", index=False)
    atomic_json(Experiment.of(scn, 12, 4, source="test").manifest(), tmp_path / "manifest.json")
    assert scenario_from_manifest(Results.load(tmp_path).manifest) == scn
    for other in (score(Results.load(tmp_path)), score_folder(tmp_path)):
        pd.testing.assert_frame_equal(other.observations, t.observations)
        assert other.score == t.score


# ----------------------------------------------------------------------------- validation
def _problems(*entries) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as exc:
        scenario(*entries)
    return [(p, m) for p, _, m in exc.value.problems]


def test_unknown_names_are_errors() -> None:
    probs = _problems(
        obs("site_held", "a", site="atlantis", bloc="north", date=week(3)),
        obs("answer", "b", proposer="nato", responder="un", accepted=True,
            **{"from": week(3), "until": week(4)}),
        obs("support_higher", "c", backer=["west_patron", "ghost"],
            higher={"from": week(3), "until": week(4)}, lower={"from": week(1),
                                                                 "until": week(2)}),
        obs("no_victory", "d", faction="south"))
    paths = dict(probs)
    assert "known site; 'atlantis'" in paths["observed[0].site"]
    assert "known bloc; 'north'" in paths["observed[0].bloc"]
    assert "'nato'" in paths["observed[1].proposer"]
    assert "known faction; 'un'" in paths["observed[1].responder"]
    assert "'ghost'" in paths["observed[2].backer"]
    assert "known faction; 'south'" in paths["observed[3].faction"]


def test_unknown_kind_and_missing_fields() -> None:
    probs = dict(_problems(obs("site_taken", "a"), {"id": "b", "description": "", "source": ""},
                           obs("holds", "c"), "a string"))
    assert "'site_held'" in probs["observed[0].kind"] and "(got 'site_taken')" in \
        probs["observed[0].kind"]
    assert probs["observed[1].kind"] == "this required field"
    assert probs["observed[2].weeks"] == "this required field"
    assert "valid dictionary" in probs["observed[3]"]


def test_windows_dates_ids_and_shares() -> None:
    probs = dict(_problems(
        obs("first_ceasefire", "a", **{"from": week(10), "until": week(9, 6)}),
        obs("support_higher", "a", backer="west_patron",
            higher={"from": week(5), "until": week(4)}, lower={"from": week(1),
                                                               "until": week(2)}),
        obs("no_ceasefire_before", "c", date="2019-12-31"),
        obs("ceasefire_in_force", "d", date=week(105)),
        obs("no_victory", "f", faction="west", bloc="east")))
    assert "on or after from" in probs["observed[0].until"]
    assert "a unique id; 'a' is also observed[0]" in probs["observed[1].id"]
    assert "on or after from" in probs["observed[1].higher.until"]
    assert "within the run, 2020-01-06 to 2022-01-02" in probs["observed[2].date"]
    assert "within the run" in probs["observed[3].date"]
    assert "a faction or a bloc, not both" in probs["observed[4].bloc"]
    # (a type error stops validation before the names and dates are checked)
    assert "greater than 0" in dict(_problems(obs("no_victory", "e", share=0)))[
        "observed[0].share"]


def test_same_window_day_is_valid_and_manifest_round_trip() -> None:
    scn = scenario(obs("first_ceasefire", "a", **{"from": week(10), "until": week(10)}),
                   obs("support_higher", "b", backer="west_patron",
                       higher={"from": week(5), "until": week(6)},
                       lower={"start": week(1), "end": week(2)}))
    d = scn.to_dict()
    assert d["observed"][0]["from"] == week(10) and d["observed"][1]["backer"] == ["west_patron"]
    assert d["observed"][1]["lower"] == {"from": week(1), "until": week(2)}
    assert scenario_from_manifest({"scenario": d}) == scn


def test_the_documented_examples_are_valid_on_the_libya_scenario() -> None:
    import re
    import textwrap

    import sim.observed

    libya = tomllib.loads((DUEL.parent / "libya_2019.toml").read_text())
    doc = (DUEL.parents[1] / "docs" / "observations.md").read_text()
    from_docs = [tomllib.loads(b)["observed"][0]
                 for b in re.findall(r"```toml\n(.*?)```", doc, flags=re.S)]
    text = sim.observed.__doc__.split("::", 1)[1].split("\nType and value errors")[0]
    from_module = tomllib.loads(textwrap.dedent(text))["observed"]
    kinds = list(sim.observed.KINDS)
    for entries in (from_docs, from_module):
        assert [e["kind"] for e in entries] == kinds  # one example of each kind
        assert len(scenario_from_dict({**libya, "observed": entries}).observed) == len(kinds)


OBSERVED_TOML = """
[[observed]]
kind = "no_victory"
id = "nobody_wins"
description = "Nobody wins"
source = "test"
share = 0.1

[[observed]]
kind = "site_held"
id = "west_holds"
description = "West holds its border"
source = "test"
site = "west_bordr"
bloc = "west"
date = 2020-02-03
"""


def test_errors_in_a_file_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = BASE + OBSERVED_TOML
    bad.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "west_bordr" in ln)
    assert observed_line(text, "observed[1].site") == line
    assert observed_line(text, "observed[1]") == line - 5
    assert observed_line(text, "observed[2].site") is None
    with pytest.raises(ScenarioError) as exc:
        load_observations(bad)
    assert (("observed[1].site", line) == exc.value.problems[0][:2])
    assert f"line {line}, observed[1].site: expected a known site" in str(exc.value)
    with pytest.raises(ScenarioError, match=r"observed\[1\]\.site"):
        load_scenario(bad)


# ----------------------------------------------------------------------------- command line
def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def assert_bad_input(result, *needles: str) -> None:
    assert result.exit_code == 2, f"exit {result.exit_code}\n{result.output}"
    assert "Traceback" not in result.output
    for n in needles:
        assert n in result.output, f"{n!r} not in\n{result.output}"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("score")
    good = base / "good.toml"
    good.write_text(BASE + OBSERVED_TOML.replace("west_bordr", "west_border"))
    fast = ["--runs", "3", "--steps", "12", "--quiet", "--jobs", "1"]
    for name, scn in (("observed", good), ("plain", DUEL)):
        r = invoke("run", scn, *fast, "--seed", "2", "--out", base / name)
        assert r.exit_code == 0, r.output
    r = invoke("sweep", good, "--vary", "mediators.un.leverage=0,0.05", *fast,
               "--out", base / "sweep")
    assert r.exit_code == 0, r.output
    return base


def test_cli_scores_a_run_folder(folders: Path) -> None:
    r = invoke("score", folders / "observed")
    assert r.exit_code == 0, r.output
    for text in ("nobody_wins", "west_holds", "runs counted", "Overall score",
                 "observations met"):
        assert text in r.output
    data = json.loads((folders / "observed" / "score.json").read_text())
    assert data["kind"] == "run" and data["overall"]["total"] == 2
    assert [o["id"] for o in data["observations"]] == ["nobody_wins", "west_holds"]
    assert {"counted", "matched", "share", "low", "high", "met", "required",
            "timing_error_weeks"} <= set(data["observations"][1])
    r = invoke("score", folders / "observed", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["overall"] == data["overall"]


def test_cli_scores_a_sweep_point_by_point(folders: Path) -> None:
    r = invoke("score", folders / "sweep")
    assert r.exit_code == 0, r.output
    assert "mediators.un.leverage" in r.output and "Best points" in r.output
    data = json.loads((folders / "sweep" / "score.json").read_text())
    assert [p["values"]["mediators.un.leverage"] for p in data["points"]] == [0.0, 0.05]
    assert sorted(p["point"] for p in data["ranking"]) == [0, 1]


def test_cli_scenario_option(folders: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(BASE + OBSERVED_TOML.replace("west_bordr", "east_border"))
    r = invoke("score", folders / "plain", "--scenario", other)
    assert r.exit_code == 0, r.output
    data = json.loads((folders / "plain" / "score.json").read_text())
    assert data["observations_from"] == str(other)
    bad = tmp_path / "bad.toml"
    text = BASE + OBSERVED_TOML
    bad.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "west_bordr" in ln)
    assert_bad_input(invoke("score", folders / "plain", "--scenario", bad),
                     f"line {line}, observed[1].site: expected a known site")
    assert_bad_input(invoke("check", bad), "observed[1].site: expected a known site")


def test_cli_bad_folders(folders: Path, tmp_path: Path) -> None:
    assert_bad_input(invoke("score", folders / "plain"), "no observations to score against")
    assert_bad_input(invoke("score", tmp_path), "not a results folder")
    assert_bad_input(invoke("score", tmp_path / "missing"), "no such folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "manifest.json").write_text((folders / "observed" / "manifest.json").read_text())
    pd.read_parquet(folders / "observed" / "runs.parquet").head(0).to_parquet(
        empty / "runs.parquet")
    assert_bad_input(invoke("score", empty), "no runs to score")


def test_cli_folder_whose_scenario_no_longer_validates(folders: Path, tmp_path: Path) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(folders / "observed", old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["scenario"]["model"]["retired_field"] = 1.0
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert_bad_input(invoke("score", old), "does not validate", "pass --scenario FILE")
    good = tmp_path / "good.toml"
    good.write_text(BASE + OBSERVED_TOML.replace("west_bordr", "west_border"))
    r = invoke("score", old, "--scenario", good)
    assert r.exit_code == 0, r.output
    assert "warning" in r.output and "west_holds" in r.output


def test_report_lists_the_observations(folders: Path) -> None:
    r = invoke("report", folders / "observed", "--only", "outcomes")
    assert r.exit_code == 0, r.output
    html = (folders / "observed" / "report.html").read_text()
    assert 'id="observations"' in html and "west_holds" in html and "Overall score" in html
    r = invoke("report", folders / "plain", "--only", "outcomes")
    assert r.exit_code == 0, r.output
    assert 'id="observations"' not in (folders / "plain" / "report.html").read_text()
