"""`negsim discover`: PRIM finds a known box; the box it reports is the one its points are in;
the best trade-off and the density rule choose the documented boxes; bad input exits 2.

The end-to-end sweep is small: the symmetric duel, 20 LHS points of 6 runs over 30 weeks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_run import bad, invoke

from sim.discovery import DiscoveryError, choose_box, knee, run_prim

ROOT = Path(__file__).resolve().parents[1]
DUEL = ROOT / "scenarios" / "symmetric_duel.toml"


# ---------------------------------------------------------------------- PRIM on known data
def test_prim_finds_the_box_that_makes_the_outcome():
    """y = x1 > 0.7 and x2 < 0.3 (x3 is noise): the chosen box is that box."""
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.random((400, 3)), columns=["x1", "x2", "x3"])
    y = ((x.x1 > 0.7) & (x.x2 < 0.3)).to_numpy()
    d = run_prim(x, y)
    assert d.box["density"] >= 0.9 and d.box["coverage"] >= 0.9
    lim = d.limits.set_index("parameter")
    assert abs(lim.loc["x1", "low"] - 0.7) < 0.05
    assert abs(lim.loc["x2", "high"] - 0.3) < 0.05
    assert lim.loc["x1", "qp"] < 0.001 and lim.loc["x2", "qp"] < 0.001
    # x1's upper and x2's lower limits are the data's own: not restricted there
    assert np.isnan(lim.loc["x1", "qp_high"]) and np.isnan(lim.loc["x2", "qp_low"])
    assert "x3" not in lim.index or lim.loc["x3", "qp"] > 0.05
    # the trajectory starts with every point and its coverage/density add up
    t = d.trajectory
    assert t.loc[0, "n"] == 400 and t.loc[0, "coverage"] == 1.0
    assert np.allclose(t["density"], t["k"] / t["n"])
    assert np.allclose(t["coverage"], t["k"] / y.sum())


def test_prim_needs_both_kinds_of_case():
    x = pd.DataFrame({"a": np.linspace(0, 1, 20)})
    with pytest.raises(DiscoveryError, match="0 of 20"):
        run_prim(x, np.zeros(20, dtype=bool))


def test_the_best_trade_off_is_the_box_nearest_full_coverage_and_density():
    cov = np.array([1.0, 0.95, 0.8, 0.4])
    den = np.array([0.2, 0.5, 0.85, 1.0])
    assert knee(cov, den) == 2
    # a trajectory that keeps every case: the densest box
    assert knee(np.ones(4), np.array([0.1, 0.3, 0.6, 1.0])) == 3


def test_a_density_floor_chooses_the_widest_box_that_dense():
    t = pd.DataFrame({"coverage": [1.0, 0.9, 0.7, 0.5], "density": [0.2, 0.6, 0.8, 0.95]})
    assert choose_box(t, 0.75)[0] == 2
    assert choose_box(t, 0.6)[0] == 1
    with pytest.raises(DiscoveryError, match="densest has 0.95"):
        choose_box(t, 0.99)


# ---------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def duel_sweep(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("discover") / "sweep"
    r = invoke("sweep", DUEL, "--design", "lhs", "--samples", "20", "--runs", "6",
               "--steps", "30", "--seed", "4", "--jobs", "1", "--quiet", "--out", out,
               "--vary", "backers.west_patron.capacity=0..12",
               "--vary", "backers.east_patron.capacity=0..12",
               "--vary", "mediators.un.leverage=0..0.1")
    assert r.exit_code == 0, r.output
    return out


def test_discover_on_a_sweep_writes_its_box_and_charts(duel_sweep: Path):
    r = invoke("discover", duel_sweep, "--outcome", "control:west", "--threshold", "0.5")
    assert r.exit_code == 0, r.output
    assert "Peeling trajectory" in r.output and "quasi-p" in r.output
    for name in ("discovery.json", "discovery-trajectory.png", "discovery-box.png"):
        assert (duel_sweep / name).stat().st_size > 0
    data = json.loads((duel_sweep / "discovery.json").read_text())
    assert data["outcome"] == "control:west" and data["points"] == 20
    pp = pd.DataFrame(data["per_point"])
    assert (pp["case"] == (pp["value"] >= 0.5)).all()
    assert data["cases_of_interest"] == int(pp["case"].sum())
    # the reported box holds exactly the points its limits say, and k of them are cases
    points = pd.read_parquet(duel_sweep / "points.parquet").set_index("point")
    inside = np.ones(len(points), dtype=bool)
    for lim in data["limits"]:
        v = points[lim["parameter"]].to_numpy()
        inside &= (v >= lim["low"]) & (v <= lim["high"])
    cases = pp.set_index("point").loc[points.index, "case"].to_numpy()
    assert inside.sum() == data["box"]["n"]
    assert cases[inside].sum() == data["box"]["k"]
    assert data["trajectory"][data["chosen_box"]]["n"] == data["box"]["n"]


def test_discover_json_and_density(duel_sweep: Path):
    r = invoke("discover", duel_sweep, "--outcome", "control:west", "--threshold", "0.5",
               "--density", "0.01", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    # every box is that dense: of those that keep every case, the densest
    t = pd.DataFrame(data["trajectory"])
    assert data["box"]["coverage"] == 1.0
    assert data["box"]["density"] == t.loc[t["coverage"] == 1.0, "density"].max()


def test_discover_rejects_bad_input(duel_sweep: Path, tmp_path: Path):
    bad(invoke("discover", duel_sweep, "--outcome", "control:west", "--threshold", "0.99"),
        "--threshold 0.99", "no point of 20", "lower the threshold")
    bad(invoke("discover", duel_sweep, "--outcome", "control:west", "--threshold", "0.001"),
        "every point of 20", "raise the threshold")
    bad(invoke("discover", duel_sweep, "--outcome", "control:west"),
        "--threshold", "not a share")
    bad(invoke("discover", duel_sweep, "--threshold", "1.5"), "--threshold 1.5",
        "at most 1")
    bad(invoke("discover", duel_sweep, "--outcome", "victory:nobody"),
        "--outcome 'victory:nobody'", "victory:west")
    bad(invoke("discover", tmp_path / "missing"), "no such folder")
    run = tmp_path / "run"
    r = invoke("run", DUEL, "--runs", "2", "--steps", "4", "--quiet", "--out", run)
    assert r.exit_code == 0, r.output
    bad(invoke("discover", run), "needs a sweep's")


def test_discover_without_the_ema_workbench_says_how_to_install(duel_sweep: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ema_workbench", None)
    monkeypatch.setitem(sys.modules, "ema_workbench.analysis", None)
    bad(invoke("discover", duel_sweep), "pip install 'negsim[explore]'")


def test_the_report_shows_the_recorded_discovery(duel_sweep: Path, tmp_path: Path):
    from sim.discovery import read_discovery

    assert invoke("discover", duel_sweep, "--outcome", "control:west", "--threshold",
                  "0.5").exit_code == 0
    data, d = read_discovery(duel_sweep)
    assert d.points == 20 and d.chosen == data["chosen_box"]
    assert list(d.limits["parameter"]) == [r["parameter"] for r in data["limits"]]
    assert read_discovery(tmp_path) is None
    r = invoke("report", duel_sweep, "--out", tmp_path / "report.html")
    assert r.exit_code == 0, r.output
    html = (tmp_path / "report.html").read_text()
    section = html[html.index('id="discovery"'):]
    assert "The chosen box" in section and "data:text/csv" in section
    assert section.count("<svg") >= 2 and "<img" not in section  # charts as SVG
    for p in d.limits["parameter"]:
        assert p in section
