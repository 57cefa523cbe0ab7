"""`negsim calibrate` (sim.calibrate): its --vary specs, the posterior scenario, and the
command end to end on a small scenario with an observation: outputs, resume, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from scenario_text import BASE, DUEL
from typer.testing import CliRunner

from sim.calibrate import CalibrationError, parse_parameters, posterior_scenario_text
from sim.cli import app
from sim.scenario import load_scenario

ENV = {"COLUMNS": "400", "NO_COLOR": "1", "NEGSIM_DEBUG": None}


def test_parse_parameters_checks_each_spec():
    scn = load_scenario(DUEL)
    ps = parse_parameters(scn, ["factions.west.strength=50..200",
                                "backers.west_patron.capacity=0..12"])
    assert [(p.path, p.low, p.high) for p in ps] == [("factions.west.strength", 50, 200),
                                                     ("backers.west_patron.capacity", 0, 12)]
    bad = {
        "factions.west.strength=50:200:4": "expected a range LOW..HIGH",
        "factions.west.strength=1,2": "expected a range LOW..HIGH",
        "factions.west.strenth=1..2": "no field 'strenth'",
        "factions.north.strength=1..2": "there is no 'factions.north'",
        "factions.west.strength=-50..200": "-50 is not a valid value of factions.west.strength",
        "factions.west.capital=1..2": "not a number field",
        "factions.west.strength=5..1": "expected lo < hi",
        "factions.west.strength": "expected PATH=SPEC",
    }
    for spec, needle in bad.items():
        with pytest.raises(CalibrationError, match=needle.replace(".", r"\.")):
            parse_parameters(scn, [spec])
    with pytest.raises(CalibrationError, match="given twice"):
        parse_parameters(scn, ["factions.west.strength=1..2", "factions.west.strength=3..4"])
    with pytest.raises(CalibrationError, match="at least one"):
        parse_parameters(scn, [])


def test_posterior_scenario_text_writes_values_and_keeps_comments():
    text = ("[factions.west]\nstrength = 100.0   # a source\nbloc = \"west\"\n\n"
            "[factions.east]\nstrength = 100.0\n")
    new = posterior_scenario_text(text, {"factions.west.strength": 142.123456,
                                         "factions.east.base_income": 2.5},
                                  {"factions.west.strength": "median"})
    lines = new.splitlines()
    assert lines[1] == "strength = 142.1  # median; was 100.0: a source"
    assert "base_income = 2.5  # " in lines[5] and lines[6] == "strength = 100.0"
    with pytest.raises(CalibrationError, match=r"no \[mediators\.un\] table"):
        posterior_scenario_text(text, {"mediators.un.leverage": 0.1}, {})


# ----------------------------------------------------------------------------- the command
def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def assert_bad(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for n in needles:
        assert n in result.output, result.output


OBSERVED = """
[[observed]]
kind = "site_held"
id = "west_takes_east_town"
description = "West held the east's town after half a year"
source = "a test"
site = "east_town"
bloc = "west"
date = 2020-07-06
share = 0.8
"""


@pytest.fixture(scope="module")
def duel(tmp_path_factory) -> Path:
    """The duel over 30 weeks with one observation that needs a strong West (West's share of
    runs holding the east's town: 5% at strength 50, 60% at 100, 80% at 150)."""
    path = tmp_path_factory.mktemp("cal") / "duel_obs.toml"
    path.write_text(BASE.replace("weeks = 104", "weeks = 30") + OBSERVED, encoding="utf-8")
    return path


def _cal(scn: Path, out: Path, budget: int, *extra: str, jobs: int = 1):
    return invoke("calibrate", scn, "--vary", "factions.west.strength=50..200",
                  "--particles", "10", "--runs-per-sample", "3", "--budget", budget,
                  "--populations", "4", "--jobs", jobs, "--seed", "5", "--out", out, *extra)


@pytest.mark.slow
def test_calibrate_writes_the_posterior_and_resumes(duel, tmp_path):
    a = tmp_path / "a"
    first = _cal(duel, a, 90)  # the prior (30 runs), then two batches of population 1
    assert first.exit_code == 0, first.output
    meta = json.loads((a / "calibration.json").read_text())
    assert meta["stopped"] == "budget" and meta["runs_total"] <= 90
    second = _cal(duel, a, 240)
    assert second.exit_code == 0, second.output
    assert "resuming" in second.output
    fresh = tmp_path / "fresh"  # in one go, on two worker processes
    assert _cal(duel, fresh, 240, jobs=2).exit_code == 0
    for name in ("posterior.csv", "particles.csv", "populations.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(a / name), pd.read_csv(fresh / name))
    post = pd.read_csv(a / "posterior.csv")
    row = post.iloc[0]
    assert row["parameter"] == "factions.west.strength"
    assert 50 <= row["q05"] <= row["q25"] <= row["median"] <= row["q75"] <= row["q95"] <= 200
    assert row["median"] > 125  # the record wants a strong West (the prior's median is 125)
    pops = pd.read_csv(a / "populations.csv")
    assert len(pops) >= 2 and pops["epsilon"].iloc[1] < 1
    assert (a / "charts" / "pairs.png").stat().st_size > 10_000
    # the posterior scenario loads, with the median written in
    scn = load_scenario(a / "duel_obs_posterior.toml")
    assert scn.factions["west"].strength == pytest.approx(row["median"], rel=1e-3)
    assert scn.factions["east"].strength == 100
    assert "posterior median (negsim calibrate" in (a / "duel_obs_posterior.toml").read_text()
    # another seed or range on the same folder is refused, saying what differs
    assert_bad(_cal(duel, a, 240, "--seed", "6"), "holds a different calibration",
               "seed: the folder has 5, this command 6")
    other = invoke("calibrate", duel, "--vary", "factions.west.strength=60..200",
                   "--particles", "10", "--runs-per-sample", "3", "--seed", "5", "--out", a)
    assert_bad(other, "parameters: the folder has", '"low": 50.0', '"low": 60.0')


def test_calibrate_rejects_bad_input_without_writing(duel, tmp_path):
    out = tmp_path / "never"
    assert_bad(invoke("calibrate", duel, "--vary", "factions.west.strength=50:200:3",
                      "--out", out), "expected a range LOW..HIGH")
    assert_bad(invoke("calibrate", duel, "--out", out), "--vary: give at least one")
    assert_bad(invoke("calibrate", DUEL, "--vary", "factions.west.strength=50..200",
                      "--out", out), "no observations to calibrate against")
    assert_bad(invoke("calibrate", duel, "--vary", "factions.west.strength=50..200",
                      "--budget", "10", "--out", out), "--budget 10")
    assert_bad(invoke("calibrate", duel, "--vary", "factions.west.strength=50..200",
                      "--set", "factions.west.strength=3", "--out", out), "also fixed by --set")
    assert not out.exists()
