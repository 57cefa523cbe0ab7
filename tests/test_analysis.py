"""Sensitivity analysis with SALib: the saltelli and morris designs, the indices on functions
whose indices are known (Ishigami's Sobol indices, a factor with no effect for Morris), the
replicate-noise estimate, and `negsim analyze` end to end on a small saltelli sweep of the duel.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_run import bad
from cli_run import invoke as cli

from sim.analysis import (
    AnalysisError,
    _design_of,
    check_method,
    compute_indices,
    read_analyses,
    replicate_noise,
    unit_points,
)
from sim.folder import manifest_mismatches
from sim.scenario import load_scenario
from sim.sweep import (
    SpecError,
    SweepError,
    design_rng,
    load_spec,
    make_design,
    parse_vary,
    salib_problem,
)

ROOT = Path(__file__).resolve().parents[1]
DUEL = ROOT / "scenarios" / "symmetric_duel.toml"
VARY = ["--vary", "backers.west_patron.capacity=0..10", "--vary", "factions.west.optimism=0..0.3"]


# ---------------------------------------------------------------------- designs
def test_saltelli_points_are_salibs_in_its_order_seeded_from_the_sweep():
    from SALib.sample import sobol

    varies = [parse_vary("a.x", "0..2"), parse_vary("b.y", "-1..1"),
              parse_vary("c.z", "10..20", "int")]
    d = make_design("saltelli", varies, 16, 5)
    assert len(d.points) == 16 * (2 * 3 + 2)  # N (2D + 2)
    u = sobol.sample(salib_problem(["a", "b", "c"]), 16, seed=design_rng(5))
    assert np.allclose(unit_points(d), u)
    assert np.allclose([p["a.x"] for p in d.points], 2 * u[:, 0])
    assert np.allclose([p["b.y"] for p in d.points], -1 + 2 * u[:, 1])
    assert {type(p["c.z"]) for p in d.points} == {int}
    assert make_design("saltelli", varies, 16, 5).points == d.points
    assert make_design("saltelli", varies, 16, 6).points != d.points
    with pytest.raises(SweepError, match="power of two"):
        make_design("saltelli", varies, 12, 0)


def test_morris_points_are_trajectories_on_four_levels():
    varies = [parse_vary("a.x", "0..3"), parse_vary("b.y", "0..3")]
    d = make_design("morris", varies, 6, 1)
    assert len(d.points) == 6 * 3  # trajectories x (D + 1)
    x = np.array([[p["a.x"], p["b.y"]] for p in d.points])
    assert set(np.round(x.ravel(), 9)) <= {0.0, 1.0, 2.0, 3.0}
    # along a trajectory, each step moves exactly one factor
    for t in range(6):
        steps = np.diff(x[3 * t:3 * t + 3], axis=0)
        assert ((steps != 0).sum(axis=1) == 1).all()


def test_the_old_name_sobol_is_refused_pointing_to_both_new_ones(tmp_path):
    rng = parse_vary("a.x", "0..1")
    with pytest.raises(SweepError, match="saltelli.*sobol-sequence"):
        make_design("sobol", [rng], 8, 0)
    bad(cli("sweep", DUEL, "--design", "sobol", "--samples", "8", *VARY, "--out",
            tmp_path / "o"), "--design sobol", "saltelli", "sobol-sequence")
    assert not (tmp_path / "o").exists()
    spec = tmp_path / "old.toml"
    spec.write_text('scenario = "scenarios/symmetric_duel.toml"\ndesign = "sobol"\nsamples = 8'
                    '\n[vary]\n"factions.west.optimism" = "0..0.3"\n')
    with pytest.raises(SpecError, match="saltelli .Sobol indices. or sobol-sequence"):
        load_spec(spec)


def test_a_folder_of_the_old_sobol_design_still_resumes_and_regenerates():
    """A manifest that says `sobol` (the sequence) matches a `sobol-sequence` sweep of the
    same points, and its points are regenerated for analysis."""
    scn = load_scenario(DUEL)
    d = make_design("sobol-sequence", [parse_vary("factions.west.optimism", "0..0.3")], 8, 2)
    new = {"kind": "sweep", "seed": 2, "design": d.describe()}
    old = {**new, "design": {**d.describe(), "design": "sobol"}}
    assert manifest_mismatches(old, new) == []
    assert manifest_mismatches({**old, "design": {**old["design"], "samples": 16}}, new)
    again = _design_of(old, scn)
    assert again.points == d.points and again.design == "sobol"


# ---------------------------------------------------------------------- indices
def _ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_the_ishigami_function_cover_the_known_values():
    varies = [parse_vary(f"x{i}", f"{-math.pi}..{math.pi}") for i in (1, 2, 3)]
    d = make_design("saltelli", varies, 1024, 1)
    x = np.array([[p[v.path] for v in varies] for p in d.points])
    ix = compute_indices("sobol", "saltelli", unit_points(d), _ishigami(x), d.paths, seed=0)
    t = ix.table
    for col, known in (("S1", [0.314, 0.442, 0.0]), ("ST", [0.558, 0.442, 0.244])):
        low = t[col] - t[f"{col}_conf"]
        high = t[col] + t[f"{col}_conf"]
        assert ((low <= known) & (known <= high)).all(), (col, t)
        assert (t[f"{col}_conf"] < 0.1).all()  # and the intervals are tight enough to mean it
    s13 = ix.second.set_index(["path_a", "path_b"]).loc[("x1", "x3")]
    assert abs(s13["S2"] - 0.244) <= s13["S2_conf"]


def test_morris_finds_the_factor_without_effect():
    varies = [parse_vary(f"x{i}", "0..1") for i in range(3)]
    d = make_design("morris", varies, 20, 3)
    u = unit_points(d)
    y = 2.0 * u[:, 0] + 4.0 * u[:, 1] ** 2 + 0.0 * u[:, 2]
    t = compute_indices("morris", "morris", u, y, d.paths, seed=0).table.set_index("path")
    assert t.loc["x2", "mu_star"] == 0 and t.loc["x2", "sigma"] == 0
    assert t.loc["x0", "mu_star"] == pytest.approx(2.0) and t.loc["x0", "sigma"] < 1e-9
    assert t.loc["x1", "mu_star"] > t.loc["x0", "mu_star"] and t.loc["x1", "sigma"] > 0


def test_delta_reads_any_sampled_design_from_its_given_data():
    import warnings

    varies = [parse_vary(f"x{i}", "0..1") for i in range(2)]
    d = make_design("lhs", varies, 200, 0)
    u = unit_points(d)
    state, fmt = np.random.get_state()[1].copy(), warnings.formatwarning
    t = compute_indices("delta", "lhs", u, np.sin(3 * u[:, 0]), d.paths, seed=3).table
    # SALib's delta seeds NumPy's global generator and sets the warnings' format: undone
    assert (np.random.get_state()[1] == state).all() and warnings.formatwarning is fmt
    again = compute_indices("delta", "lhs", u, np.sin(3 * u[:, 0]), d.paths, seed=3).table
    pd.testing.assert_frame_equal(t, again)
    zero = [compute_indices("delta", "lhs", u, np.sin(3 * u[:, 0]), d.paths).table
            for _ in range(2)]  # the default seed 0 (which SALib would not seed) is seeded too
    pd.testing.assert_frame_equal(*zero)
    assert t.loc[0, "delta"] > 0.3 > t.loc[1, "delta"]
    assert t.loc[0, "S1"] > 0.5 > t.loc[1, "S1"]


@pytest.mark.parametrize(("method", "design", "needle"), [
    ("sobol", "lhs", "needs a saltelli design"), ("sobol", "morris", "needs a saltelli"),
    ("morris", "saltelli", "needs a morris design"), ("delta", "grid", "not a grid"),
    ("anova", "saltelli", "expected one of sobol, morris, delta")])
def test_a_method_that_does_not_fit_the_design_is_refused(method, design, needle):
    with pytest.raises(AnalysisError, match=needle):
        check_method(method, design)


def test_replicate_noise_is_the_share_of_the_variance_of_the_means():
    # 100 points, 2 runs each at m - 1 and m + 1: within-point variance 2, noise 2/2 = 1;
    # the means have variance 4, so noise is a quarter of it; 3 runs would bring it to
    # (2/3) / (3 + 2/3) = 18% (signal 3)
    m = np.resize([-2.0, 2.0], 100) * math.sqrt(99 / 100)
    vals = np.ravel(np.column_stack([m - 1, m + 1]))
    pts = np.repeat(np.arange(100), 2)
    n = replicate_noise(vals, pts)
    assert n.replicates == 2
    assert n.share == pytest.approx(0.25)
    assert n.too_noisy and n.needed == 3
    quiet = replicate_noise(np.repeat(m, 2), pts)
    assert quiet.share == 0 and not quiet.too_noisy


# ---------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def saltelli(tmp_path_factory) -> Path:
    """A saltelli sweep of the duel: N = 8, D = 2, so 48 points x 2 runs of 20 weeks."""
    folder = tmp_path_factory.mktemp("sens") / "out"
    r = cli("sweep", DUEL, "--design", "saltelli", "--samples", "8", *VARY, "--runs", "2",
            "--set", "model.weeks=20", "--seed", "1", "--jobs", "1", "--quiet", "--out", folder)
    assert r.exit_code == 0, r.output
    return folder


@pytest.mark.slow
def test_analyze_prints_writes_and_draws_the_sobol_indices(saltelli):
    r = cli("analyze", saltelli, "--outcome", "control:west")
    assert r.exit_code == 0, r.output
    out = r.output
    assert "sobol indices over 48 points" in out and "backers.west_patron.capacity" in out
    assert "Second-order Sobol indices" in out
    # two runs per point: the noise of the replicates dominates, and the command says so
    assert "warning: replicate noise is" in out and "runs per point would bring it under" in out
    data = json.loads((saltelli / "analysis.json").read_text())["analyses"]
    a = data["sobol:control:west"]
    assert a["design"] == "saltelli" and a["points"] == 48 and a["noise"]["replicates"] == 2
    assert [r["path"] for r in a["indices"]] == ["backers.west_patron.capacity",
                                                 "factions.west.optimism"]
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(a["indices"][0])
    assert len(a["second_order"]) == 1 and a["warnings"]
    assert (saltelli / a["chart"]).stat().st_size > 0
    assert (saltelli / a["chart"]).with_suffix(".svg").is_file()
    # the indices are those of the folder's per-point means, handed to SALib in its order
    runs = pd.read_parquet(saltelli / "runs.parquet")
    y = runs.groupby("point")["control_west"].mean().to_numpy()
    manifest = json.loads((saltelli / "manifest.json").read_text())
    d = _design_of(manifest, load_scenario(DUEL))
    again = compute_indices("sobol", "saltelli", unit_points(d), y, d.paths, seed=0).table
    assert np.allclose(again["ST"], [r["ST"] for r in a["indices"]])
    # delta reads the same folder; both analyses are kept, and the report section shows them
    r = cli("analyze", saltelli, "--outcome", "control:west", "--method", "delta",
            "--no-chart")
    assert r.exit_code == 0, r.output
    kept = json.loads((saltelli / "analysis.json").read_text())["analyses"]
    assert set(kept) == {"sobol:control:west", "delta:control:west"}
    r = cli("report", saltelli, "--only", "sweep-influence", "--out", saltelli / "r.html")
    assert r.exit_code == 0, r.output
    html = (saltelli / "r.html").read_text()
    start = html.index('<h2 id="sensitivity"')
    section = html[start:html.index("<h2 id=", start + 1)]
    assert section.count("<h3>") == 2 and section.count("data:text/csv") == 2
    assert section.count("<svg") == 2 and "<img" not in section
    for row in a["indices"]:
        assert row["path"] in section


@pytest.mark.slow
def test_a_saltelli_sweep_draws_the_sampled_designs_chart(saltelli):
    r = cli("plot", saltelli, "--only", "sweep-influence")
    assert r.exit_code == 0, r.output
    assert list((saltelli / "charts").glob("sweep-influence*.png"))


@pytest.mark.slow
@pytest.mark.parametrize(("args", "needles"), [
    (["--method", "morris"], ["--method morris", "needs a morris design", "saltelli"]),
    (["--outcome", "victory:nobody"], ["--outcome 'victory:nobody'", "victory:west"]),
    (["--method", "anova"], ["expected one of sobol, morris, delta"]),
])
def test_analyze_refuses_what_does_not_fit_with_exit_2(saltelli, args, needles):
    before = (saltelli / "analysis.json").read_bytes() if (saltelli / "analysis.json"
                                                            ).exists() else None
    bad(cli("analyze", saltelli, *args), *needles)
    after = (saltelli / "analysis.json").read_bytes() if (saltelli / "analysis.json"
                                                           ).exists() else None
    assert before == after


@pytest.mark.slow
def test_a_morris_sweep_is_analysed_end_to_end(tmp_path):
    folder = tmp_path / "morris"
    r = cli("sweep", DUEL, "--design", "morris", "--samples", "4", *VARY, "--runs", "2",
            "--set", "model.weeks=20", "--jobs", "1", "--quiet", "--out", folder)
    assert r.exit_code == 0, r.output
    assert len(pd.read_parquet(folder / "points.parquet")) == 4 * 3
    r = cli("analyze", folder, "--outcome", "control:west")
    assert r.exit_code == 0, r.output
    assert "morris indices over 12 points" in r.output and "mu*" in r.output
    a = json.loads((folder / "analysis.json").read_text())["analyses"]["morris:control:west"]
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(a["indices"][0])
    assert (folder / "charts" / "sensitivity-morris-control-west.svg").is_file()
    bad(cli("analyze", folder, "--method", "sobol"), "needs a saltelli design", "morris")


def test_without_salib_the_designs_and_analyze_say_how_to_install_it(tmp_path, monkeypatch):
    import sys

    for mod in ("SALib", "SALib.sample", "SALib.analyze"):
        monkeypatch.setitem(sys.modules, mod, None)  # import SALib... raises ImportError
    bad(cli("sweep", DUEL, "--design", "saltelli", "--samples", "8", *VARY, "--out",
            tmp_path / "o"), "needs SALib", "pip install 'negsim[sensitivity]'")
    assert not (tmp_path / "o").exists()
    with pytest.raises(AnalysisError, match=r"negsim\[sensitivity\]"):
        compute_indices("delta", "lhs", np.eye(2), np.array([0.0, 1.0]), ["a", "b"])


def test_analyze_refuses_what_is_not_a_sampled_sweep(tmp_path):
    bad(cli("analyze", tmp_path / "nowhere"), "no such folder")
    r = cli("sweep", DUEL, "--vary", "factions.west.optimism=0,0.2", "--runs", "1", "--steps",
            "2", "--quiet", "--jobs", "1", "--out", tmp_path / "grid")
    assert r.exit_code == 0, r.output
    out = bad(cli("analyze", tmp_path / "grid"), "a grid sweep", "needs a sampled design")
    assert "--method delta:" not in out  # no option the user did not give
    bad(cli("analyze", tmp_path / "grid", "--method", "delta"), "--method delta", "not a grid")
    assert read_analyses(tmp_path / "grid") == {}


def test_an_unreadable_analysis_file_is_refused_not_overwritten(saltelli, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(saltelli, folder)
    (folder / "analysis.json").write_text("{ not json")
    charts = set((folder / "charts").glob("*")) if (folder / "charts").exists() else set()
    bad(cli("analyze", folder, "--outcome", "control:west"), "analysis.json",
        "move it away")
    assert (folder / "analysis.json").read_text() == "{ not json"
    now = set((folder / "charts").glob("*")) if (folder / "charts").exists() else set()
    assert now == charts  # nothing drawn either
