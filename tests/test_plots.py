"""Charts, report and compare: what is drawn (not only that a file exists), exact numbers on tiny
hand-built tables, and the plot/report/compare commands (happy paths and bad input)."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from typer.testing import CliRunner

from sim import plots as P
from sim.cli import app
from sim.compare import compare_results, median_ci, newcombe_paired, newcombe_unpaired
from sim.experiment import Experiment, run_replicates
from sim.folder import Results
from sim.report import build_report, reading, summary_tables
from sim.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]
DUEL = REPO / "scenarios" / "symmetric_duel.toml"
EVENTS = """
[[events]]
date = 2020-03-02
description = "Patrons raise their budgets"
scale = { "backers.west_patron.capacity" = 1.2, "backers.east_patron.capacity" = 1.2 }

[[events]]
date = 2020-09-07
description = "UN peace conference"
initiative = { mediator = "un" }
"""
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


# ============================================================================ fixtures
@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    """The symmetric duel with two dated events and costlier war (so some ceasefires occur)."""
    path = tmp_path_factory.mktemp("scn") / "duel_events.toml"
    text = DUEL.read_text().replace("optimism = 0.1", "optimism = 0.1\nwar_cost = 0.05")
    path.write_text(text + EVENTS)
    return path


@pytest.fixture(scope="module")
def run_a(tmp_path_factory, scenario_file) -> Path:
    out = tmp_path_factory.mktemp("runs") / "a"
    res = invoke("run", scenario_file, "--runs", 30, "--seed", 1, "--out", out, "-q")
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def run_b(tmp_path_factory, scenario_file) -> Path:
    out = tmp_path_factory.mktemp("runs") / "no_west_patron"
    res = invoke("run", scenario_file, "--runs", 30, "--seed", 1, "--out", out, "-q",
                 "--set", "backers.west_patron.capacity=0")
    assert res.exit_code == 0, res.output
    return out


def write_sweep(out: Path, scenario: Path, design: str, points: list[dict], runs: int,
                steps: int = 40) -> Path:
    """A sweep folder as `negsim sweep` writes it: tables with a point column, points.parquet
    and a manifest with the design (same replicate seeds at every point)."""
    out.mkdir(parents=True)
    tabs: dict[str, list[pd.DataFrame]] = {"runs": [], "steps": [], "events": []}
    for i, pt in enumerate(points):
        res = run_replicates(load_scenario(scenario, list(pt.items())), runs, 0, steps=steps)
        for name in tabs:
            df = getattr(res, name).copy()
            df.insert(0, "point", np.int32(i))
            tabs[name].append(df)
    for name, dfs in tabs.items():
        pd.concat(dfs, ignore_index=True).to_parquet(out / f"{name}.parquet", index=False)
    pts = pd.DataFrame([{"point": i, **pt} for i, pt in enumerate(points)])
    pts.to_parquet(out / "points.parquet", index=False)
    paths = list(points[0])
    m = Experiment.of(load_scenario(scenario), runs, 0, steps=steps, source=str(scenario),
                      design={"design": design, "paths": paths,
                              "points": len(points)}).manifest()
    m["complete"] = True
    (out / "manifest.json").write_text(json.dumps(m, default=str))
    return out


@pytest.fixture(scope="module")
def sweep_lhs(tmp_path_factory, scenario_file) -> Path:
    rng = np.random.default_rng(3)
    points = [{"model.incident_breakdown": float(round(x, 3)),
               "factions.west.war_cost": float(round(y, 4))}
              for x, y in zip(rng.uniform(0, 0.8, 10), rng.uniform(0.0, 0.1, 10), strict=True)]
    return write_sweep(tmp_path_factory.mktemp("sweep") / "lhs", scenario_file, "lhs", points, 4)


def tables(folder: Path) -> P.Tables:
    return P.as_tables(P.open_results(folder, need=P.TABLES))


# ---------------------------------------------------------------------- tiny exact tables
TINY_SCENARIO = {
    "model": {"name": "Tiny", "start_date": "2020-01-06", "weeks": 10, "durable_weeks": 4},
    "factions": {"a": {"name": "Alpha", "bloc": "x"}, "b": {"name": "Beta", "bloc": "y"}},
    "backers": {"pa": {"name": "Patron", "client": "a"}},
    "mediators": {"un": {"name": "UN"}},
    "sites": {"s1": {"controller": "a", "value": 1.0, "neighbours": ["s2"]},
              "s2": {"controller": "b", "value": 3.0, "neighbours": ["s1", "s3"]},
              "s3": {"controller": "b", "value": 1.0, "neighbours": ["s2"]}},
    "events": [{"date": "2020-02-03", "description": "Talks open"}],
}


def tiny() -> P.Tables:
    """Three runs: run 0 a UN ceasefire at week 3 that holds; run 1 a victory by Alpha at week
    5; run 2 a capture, a ceasefire proposed by Alpha at week 6 (with a handover) that breaks
    down (defection) at week 8."""
    runs = pd.DataFrame({
        "run": [0, 1, 2], "seed": np.array([11, 12, 13], dtype="uint64"),
        "outcome": ["durable_ceasefire", "victory:a", "ongoing"], "weeks": [10, 5, 10],
        "final_status": ["ceasefire", "war", "war"],
        "first_ceasefire_step": pd.array([3, None, 6], dtype="Int64"),
        "first_ceasefire_date": pd.to_datetime(["2020-01-27", None, "2020-02-17"]),
        "ceasefire_proposer": ["un", None, "a"], "ceasefire_proposer_kind": ["mediator", None,
                                                                             "faction"],
        "control_a": [0.2, 1.0, 0.2], "control_b": [0.8, 0.0, 0.8],
    })
    steps = []
    for run, weeks in ((0, 10), (1, 5), (2, 10)):
        st = np.arange(weeks + 1)
        ctrl = np.full(len(st), 0.2)
        if run == 1:
            ctrl = np.minimum(0.2 + 0.2 * st, 1.0)
        steps.append(pd.DataFrame({
            "run": run, "step": st,
            "date": pd.Timestamp("2020-01-06") + pd.to_timedelta(7 * st, "D"),
            "status": "war", "control_a": ctrl, "control_b": 1 - ctrl,
            "strength_a": 100.0 + st, "strength_b": 100.0 - st, "support_pa": 2.0 + run}))
    steps = pd.concat(steps, ignore_index=True)
    ev = pd.DataFrame([
        (0, 2, "proposal", "un", "all", 1, None, None, "proposal"),
        (0, 2, "response", "a", "un", 1, True, 0.1, "accept"),
        (0, 2, "response", "b", "un", 1, True, 0.1, "accept"),
        (0, 3, "ceasefire", "un", "all", 1, True, None, "in force"),
        (1, 1, "proposal", "a", "all", 1, None, None, "proposal"),
        (1, 1, "response", "b", "a", 1, False, -0.1, "reject"),
        (1, 2, "capture", "a", "s2", None, None, 0.5, "took s2"),
        (1, 4, "capture", "a", "s3", None, None, 0.5, "took s3"),
        (1, 5, "victory", "a", "all", None, None, None, "victory"),
        (2, 1, "capture", "b", "s1", None, None, 0.5, "took s1"),
        (2, 6, "proposal", "a", "all", 2, None, None, "proposal"),
        (2, 6, "response", "b", "a", 2, True, 0.2, "accept"),
        (2, 6, "handover", "a", "s1", 2, None, None, "s1 returned to a"),
        (2, 6, "ceasefire", "a", "all", 2, True, None, "in force"),
        (2, 8, "breakdown", "b", "all", 2, None, 0.1, "defects: fight 0.6 > keep 0.5"),
    ], columns=["run", "step", "kind", "actor", "target", "proposal_id", "accepted", "value",
                "reason"])
    ev["proposal_id"] = ev["proposal_id"].astype("Int64")
    ev["accepted"] = ev["accepted"].astype("boolean")
    ev.insert(2, "date", pd.Timestamp("2020-01-06") + pd.to_timedelta(7 * ev["step"], "D"))
    return P.as_tables({"runs": runs, "steps": steps, "events": ev}, scenario=TINY_SCENARIO)


def event_lines(ax) -> list:
    return [ln for ln in ax.lines if ln.get_gid() == "event-marker"]


def is_date_axis(ax) -> bool:
    return isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)


# ============================================================================ exact datasets
def test_kaplan_meier_matches_hand_computation():
    # durations 2,3,3+,5,6+,8 (+ censored): S = 1; x5/6 at 2; x4/5 at 3 (5 at risk);
    # x2/3 at 5 (3 at risk); x0 at 8 (1 at risk)
    times, surv = P.kaplan_meier([2, 3, 3, 5, 6, 8], [1, 1, 0, 1, 0, 1])
    np.testing.assert_allclose(times, [0, 2, 3, 5, 8])
    np.testing.assert_allclose(surv, [1, 5 / 6, 2 / 3, 4 / 9, 0])
    tab = P.km_table([2, 3, 3, 5, 6, 8], [1, 1, 0, 1, 0, 1])
    assert list(tab["at_risk"]) == [6, 6, 5, 3, 2, 1]
    assert list(tab["censored"]) == [0, 0, 1, 0, 1, 0]
    assert (tab["low"] <= tab["survival"] + 1e-12).all()
    assert (tab["high"] >= tab["survival"] - 1e-12).all()
    # no events: flat at 1
    times, surv = P.kaplan_meier([4, 4], [False, False])
    assert list(times) == [0] and list(surv) == [1]
    assert P.km_median(*P.kaplan_meier([2, 3, 3, 5, 6, 8], [1, 1, 0, 1, 0, 1])) == 5


def test_survival_dataset_censors_runs_without_a_ceasefire():
    sd = P.survival_dataset(tiny())
    assert list(sd.durations) == [3, 5, 6] and list(sd.observed) == [True, False, True]
    assert sd.censored_by_victory == 1
    np.testing.assert_allclose(sd.times, [0, 3, 6])
    np.testing.assert_allclose(sd.survival, [1, 2 / 3, 0])
    emp = sd.empirical.set_index("step")["share"]
    assert emp[2] == 1 and emp[3] == pytest.approx(2 / 3) and emp[10] == pytest.approx(1 / 3)


def test_fan_carries_runs_ended_by_victory_forward():
    fan = P.fan_dataset(tiny(), "control_a").set_index("step")
    assert len(fan) == 11  # weeks 0..10 although run 1 stopped at week 5
    assert fan.loc[8, "running"] == 2
    vals = np.array([0.2, 1.0, 0.2])  # run 1 carried at its final 1.0
    assert fan.loc[8, "q50"] == pytest.approx(0.2)
    assert fan.loc[8, "q95"] == pytest.approx(np.quantile(vals, 0.95))
    assert fan.loc[8, "date"] == np.datetime64("2020-03-02")


def test_final_controllers_from_captures_and_handovers():
    t = tiny()
    fc = P.final_controllers(t)
    assert fc.loc[0].to_dict() == {"s1": "a", "s2": "b", "s3": "b"}
    assert fc.loc[1].to_dict() == {"s1": "a", "s2": "a", "s3": "a"}
    assert fc.loc[2].to_dict() == {"s1": "a", "s2": "b", "s3": "b"}  # handed back to a
    sc = P.site_control_dataset(t)
    assert sc.loc["s1", "x"] == 1.0
    assert sc.loc["s2", "x"] == pytest.approx(1 / 3) and sc.loc["s2", "y"] == pytest.approx(2 / 3)
    assert list(sc["initial"]) == ["x", "y", "y"]


def test_diplomacy_dataset_counts_proposals_in_force():
    d = P.diplomacy_dataset(tiny())
    by = d.by_proposer.set_index("proposer")
    assert by.loc["un", "proposals"] == 1 and by.loc["un", "in_force"] == 1
    assert by.loc["a", "proposals"] == 2 and by.loc["a", "in_force"] == 1
    assert by.loc["a", "responses_accepted"] == pytest.approx(0.5)
    assert by.loc["un", "kind"] == "mediator" and by.loc["a", "kind"] == "faction"
    assert d.per_period[["a", "un"]].to_numpy().sum() == pytest.approx(3 / 3)
    assert sorted(d.first_ceasefire["proposer"]) == ["a", "un"]


def test_ceasefire_life_durations_and_causes():
    d = P.ceasefire_life_dataset(tiny())
    held = d.deals.set_index("run")["weeks_held"]
    assert held[0] == 7 and held[2] == 2  # run 0 censored at its end (week 10)
    np.testing.assert_allclose(d.times, [0, 2])
    np.testing.assert_allclose(d.survival, [1, 0.5])
    assert list(d.breakdowns["cause"]) == ["defection"]
    assert list(d.breakdowns["deal"]) == ["ceasefire"]


def test_compare_statistics():
    # Newcombe (1998) independent example: 56/70 vs 48/80 -> difference 0.2 in 0.0524..0.3339
    d, lo, hi = newcombe_unpaired(48, 80, 56, 70)
    assert (d, round(lo, 4), round(hi, 4)) == (pytest.approx(0.2), 0.0524, 0.3339)
    # paired with no correlation (phi = 0) is the independent interval of the marginals
    d2, lo2, hi2 = newcombe_paired(5, 5, 5, 5)
    d3, lo3, hi3 = newcombe_unpaired(10, 20, 10, 20)
    assert (d2, lo2, hi2) == pytest.approx((d3, lo3, hi3))
    # positive correlation narrows the paired interval
    _, lo4, hi4 = newcombe_paired(40, 2, 8, 50)
    _, lo5, hi5 = newcombe_unpaired(42, 100, 48, 100)
    assert hi4 - lo4 < hi5 - lo5
    med, mlo, mhi = median_ci(range(1, 21))
    assert (med, mlo, mhi) == (10.5, 6.0, 15.0)  # sign-test order statistics x(6), x(15)
    assert math.isnan(median_ci([1, 2, 3])[1])


def test_sweep_datasets_on_hand_built_points():
    runs = pd.DataFrame({"point": [0] * 4 + [1] * 4 + [2] * 4, "run": list(range(4)) * 3,
                         "outcome": ["durable_ceasefire"] * 1 + ["victory:a"] * 3
                         + ["durable_ceasefire"] * 2 + ["stalemate"] * 2
                         + ["durable_ceasefire"] * 4})
    pts = pd.DataFrame({"point": [0, 1, 2], "backers.pa.capacity": [0.0, 5.0, 10.0]})
    t = P.as_tables({"runs": runs, "manifest": {"kind": "sweep", "design": {
        "design": "grid", "paths": ["backers.pa.capacity"]}}}, scenario=TINY_SCENARIO,
        points=pts)
    assert P.sweep_paths(t) == ["backers.pa.capacity"]
    df = P.sweep_outcomes_dataset(t, "backers.pa.capacity")
    d = df[df["outcome"] == "durable_ceasefire"].set_index("x")["share"]
    assert list(d) == [0.25, 0.5, 1.0]
    assert set(df["grouping"]) == {"values"}
    assert P.path_label("backers.pa.capacity") == "backers.pa.capacity (units/week)"


# ============================================================================ charts: what is drawn
def test_outcomes_chart(run_a):
    t = tables(run_a)
    fig = P.plot_outcomes(t)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_gid() == "outcome-bar"]
    classes = P.outcomes_dataset(t)
    assert len(bars) == len(classes)
    assert [tk.get_text() for tk in ax.get_yticklabels()] == list(classes["label"])
    assert ax.get_xlabel() == "Share of runs"
    assert "Victory: West" in list(classes["label"])
    assert len(ax.texts) == len(classes)  # share and interval written at every bar


def test_survival_chart_has_dates_events_and_km(run_a):
    t = tables(run_a)
    fig = P.plot_survival(t)
    ax = fig.axes[0]
    assert is_date_axis(ax)
    assert len(event_lines(ax)) == 2
    assert any(ln.get_gid() == "km-curve" for ln in ax.lines)
    sd = P.survival_dataset(t)
    km = next(ln for ln in ax.lines if ln.get_gid() == "km-curve")
    np.testing.assert_allclose(km.get_ydata()[:-1], sd.table["survival"])
    assert "ceasefire" in ax.get_ylabel()
    assert any(c.get_gid() == "at-risk" for c in ax.child_axes)


def test_fan_chart_panels(run_a):
    t = tables(run_a)
    fig = P.plot_fans(t)
    axes = [a for a in fig.axes if a.get_gid() != "at-risk"]
    assert len(axes) == 4  # 2 armed factions x (control, strength)
    for ax in axes:
        gids = [c.get_gid() for c in ax.collections if isinstance(c, PolyCollection)]
        assert gids.count("fan-90") == 1 and gids.count("fan-50") == 1
        assert any(ln.get_gid() == "fan-median" for ln in ax.lines)
        assert len(event_lines(ax)) == 2
        assert is_date_axis(ax)
    assert "control" in axes[0].get_ylabel() and "strength" in axes[1].get_ylabel()
    assert axes[0].get_ylim() == (0, 1)


def test_support_chart_one_panel_per_bloc(run_a):
    t = tables(run_a)
    fig = P.plot_support(t)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 1
        assert ax.get_ylabel() == "units/week"
        assert is_date_axis(ax) and len(event_lines(ax)) == 2
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "West Patron"


def test_diplomacy_chart(run_a):
    t = tables(run_a)
    fig = P.plot_diplomacy(t)
    a, b, c = fig.axes[:3]
    d = P.diplomacy_dataset(t)
    bars = [p for p in a.patches if p.get_gid() == "proposal-bar"]
    assert len(bars) == len(d.per_period) * len(d.by_proposer)
    assert is_date_axis(a) and len(event_lines(a)) == 2
    assert len([p for p in b.patches if p.get_gid() == "in-force-bar"]) == len(d.by_proposer)
    assert len([p for p in c.patches if p.get_gid() == "first-ceasefire-bar"]) == \
        len(d.first_ceasefire)


def test_diplomacy_and_life_charts_on_tiny_tables():
    t = tiny()
    fig = P.plot_diplomacy(t)
    assert len([p for p in fig.axes[2].patches if p.get_gid() == "first-ceasefire-bar"]) == 2
    fig = P.plot_ceasefire_life(t)
    a, b = fig.axes[:2]
    assert any(ln.get_gid() == "durable-threshold" for ln in a.lines)
    assert a.get_xlabel().startswith("Weeks")
    bars = [p for p in b.patches if p.get_gid() == "breakdown-bar" and p.get_width() > 0]
    assert len(bars) == 1 and bars[0].get_width() == 1


def test_site_map(run_a):
    t = tables(run_a)
    fig = P.plot_site_map(t)
    ax = fig.axes[0]
    n_sites = len(t.info.sites)
    assert len([p for p in ax.patches if p.get_gid() == "site-ring"]) == n_sites
    assert len([p for p in ax.patches if p.get_gid() == "site-wedge"]) >= n_sites
    assert len([x for x in ax.texts if x.get_gid() == "site-label"]) == n_sites
    assert len([ln for ln in ax.lines if ln.get_gid() == "site-edge"]) == 7
    # every site's wedges sum to a full circle
    sc = P.site_control_dataset(t)
    np.testing.assert_allclose(sc[t.info.blocs].sum(axis=1), 1.0)
    # with no events changing site values, the reconstruction matches the runs table
    value = {k: s["value"] for k, s in t.info.sites.items()}
    fc = P.final_controllers(t)
    share_west = fc.apply(lambda r: sum(value[s] for s in fc.columns if r[s] == "west"), axis=1)
    np.testing.assert_allclose(share_west / sum(value.values()), t.runs["control_west"])


def test_site_map_with_coordinates_is_geographic():
    scn = json.loads(json.dumps(TINY_SCENARIO))
    for i, s in enumerate(scn["sites"].values()):
        s["lon"], s["lat"] = 13.0 + i, 32.0 - 0.5 * i
    pos, geo = P.site_layout(P.ScenarioInfo.from_dict(scn))
    assert geo and pos["s1"][1] == 32.0
    assert P.site_layout(P.ScenarioInfo.from_dict(TINY_SCENARIO))[1] is False
    fig = P.plot_site_map(P.as_tables(tiny(), scenario=scn))
    assert len([p for p in fig.axes[0].patches if p.get_gid() == "site-ring"]) == 3


def test_ceasefire_life_chart(run_a):
    t = tables(run_a)
    if P.CHARTS["ceasefire-life"].applies(t):
        pytest.skip("no ceasefire in this fixture")
    fig = P.plot_ceasefire_life(t)
    assert any(ln.get_gid() == "km-curve" for ln in fig.axes[0].lines)


def test_sweep_charts(sweep_lhs):
    t = tables(sweep_lhs)
    assert t.kind == "sweep" and t.n_points == 10
    paths = P.sweep_paths(t)
    fig = P.plot_sweep_outcomes(t, paths[0])
    df = P.sweep_outcomes_dataset(t, paths[0])
    visible = [a for a in fig.axes if a.get_visible()]
    assert visible[0].get_title(loc="left") == "Durable ceasefire"
    for ax in visible:
        assert len([ln for ln in ax.lines if ln.get_gid() == "sweep-line"]) == 1
        assert len(ax.lines[0].get_xdata()) == df["group"].nunique()
    fig = P.plot_sweep_heatmap(t, paths)   # a sampled design: one dot per point
    assert not fig.axes[0].images
    d = P.sweep_heatmap_dataset(t, *paths)
    assert d["n"].sum() == len(t.runs)
    inf = P.influence_dataset(t)
    assert set(inf["path"]) == set(paths)
    fig = P.plot_influence(t)
    assert len([p for p in fig.axes[0].patches if p.get_gid() == "spearman-bar"]) == 2
    done, skipped = P.render_charts(t, ["sweep-outcomes", "sweep-heatmap", "sweep-influence"])
    assert {r.chart for r in done} == {"sweep-outcomes", "sweep-heatmap", "sweep-influence"}
    assert not skipped


def test_charts_accept_given_axes(run_a):
    from matplotlib.figure import Figure

    t = tables(run_a)
    fig = Figure()
    ax = fig.subplots()
    assert P.plot_outcomes(t, ax=ax) is fig
    fig2 = Figure()
    axes = fig2.subplots(1, 3)
    assert P.plot_diplomacy(t, ax=axes) is fig2
    with pytest.raises(ValueError, match="3 Axes"):
        P.plot_diplomacy(t, ax=axes[:2])


# ============================================================================ report
def test_report_is_self_contained_and_has_every_chart(run_a, tmp_path):
    path = build_report(run_a, tmp_path / "r.html")
    text = path.read_text()
    t = tables(run_a)
    done, skipped = P.render_charts(t, keep=False)
    for r in done:
        assert f'id="chart-{r.stem}"' in text
    assert text.count("<svg ") == len(done) and "<img " not in text
    assert "data:image/png" not in text
    no_data = re.sub(r'href="data:text/csv;charset=utf-8;base64,[A-Za-z0-9+/=]+"', "", text)
    assert "http" not in no_data
    assert "<script" not in no_data and "<link" not in no_data
    assert not re.findall(r"url\((?!#)", no_data)  # the SVGs' clip paths point inside
    assert not re.findall(r'(src|href)="(?!data:|#)', text)
    assert "Symmetric duel" in text and "Manifest" in text
    assert "A durable ceasefire in" in text  # the outcomes reading
    assert skipped and "do not apply" not in text
    for name in skipped:  # charts that do not apply are left out, not listed
        assert name not in text


def test_readings_and_summary_tables():
    t = tiny()
    r = P.Rendered("outcomes", "outcomes", "", None)
    assert reading(t, r).startswith("A durable ceasefire in 33% of 3 runs (95% CI")
    assert "2 of 3 runs reached an open-ended ceasefire" in reading(
        t, P.Rendered("survival", "survival", "", None))
    assert "Most contested site at the end: S2" in reading(t, P.Rendered("map", "map", "", None))
    tabs = summary_tables(t)
    assert list(tabs["Outcomes"]["runs"]) == [1, 0, 1, 0, 0, 1]
    assert list(tabs["Who proposed the first open-ended ceasefire"]["proposer"]) == ["Alpha",
                                                                                    "UN"]


# ============================================================================ commands
def test_cli_plot_run_folder(run_a):
    res = invoke("plot", run_a)
    assert res.exit_code == 0, res.output
    charts = run_a / "charts"
    for name in ("outcomes", "survival", "fans", "support", "diplomacy", "map"):
        assert (charts / f"{name}.png").stat().st_size > 10_000
        assert name in res.output
    assert "not drawn" not in res.output  # sweep charts never apply to a run: unsaid
    res = invoke("plot", run_a, "--only", "outcomes,sweep-heatmap")
    assert res.exit_code == 0, res.output
    assert "not drawn sweep-heatmap: a run folder, not a sweep" in res.output  # asked: why not
    res = invoke("plot", run_a, "--format", "svg", "--only", "outcomes")
    assert res.exit_code == 0 and (charts / "outcomes.svg").exists()
    assert "http://matplotlib" not in (charts / "outcomes.svg").read_text()


def test_cli_plot_sweep_folder(sweep_lhs):
    res = invoke("plot", sweep_lhs, "--only", "sweep-outcomes,sweep-influence,outcomes")
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (sweep_lhs / "charts").iterdir())
    assert "sweep-influence.png" in files
    assert sum(f.startswith("sweep-outcomes-") for f in files) == 2
    # a run chart is not drawn from the pooled runs of different points: it names --point
    assert "outcomes.png" not in files
    assert re.search(r"not drawn outcomes: a run chart.*--point N \(0 to 9\)",
                     " ".join(res.output.split()))


def test_cli_bad_input(run_a, tmp_path):
    res = invoke("plot", run_a, "--only", "outcomes,nonsense")
    assert res.exit_code == 2 and "nonsense" in res.output
    res = invoke("plot", tmp_path / "missing")
    assert res.exit_code == 2 and "no such folder" in res.output
    res = invoke("plot", tmp_path)
    assert res.exit_code == 2 and "manifest.json" in res.output
    broken = tmp_path / "broken"
    shutil.copytree(run_a, broken, ignore=shutil.ignore_patterns("charts", "*.html"))
    (broken / "steps.parquet").unlink()
    res = invoke("plot", broken)
    assert res.exit_code == 2 and "steps.parquet" in res.output
    res = invoke("report", broken)
    assert res.exit_code == 2 and "steps.parquet" in res.output
    res = invoke("plot", run_a, "--format", "gif")
    assert res.exit_code == 2 and "png or svg" in res.output
    empty = tmp_path / "empty"
    shutil.copytree(run_a, empty, ignore=shutil.ignore_patterns("charts", "*.html"))
    pd.read_parquet(empty / "runs.parquet").iloc[:0].to_parquet(empty / "runs.parquet")
    res = invoke("report", empty)
    assert res.exit_code == 2 and "finished runs to chart" in res.output
    res = invoke("plot", run_a, "--only", "sweep-heatmap")
    assert res.exit_code == 2 and "a run folder, not a sweep" in res.output
    assert "Traceback" not in res.output


def test_cli_report(run_a):
    res = invoke("report", run_a, "--only", "outcomes,survival")
    assert res.exit_code == 0, res.output
    assert (run_a / "report.html").exists() and "report" in res.output


def test_cli_compare(run_a, run_b, tmp_path, sweep_lhs):
    res = invoke("compare", run_a, run_b)
    assert res.exit_code == 0, res.output
    assert "Paired by run" in res.output and "B − A" in res.output
    assert "Durable ceasefire" in res.output
    assert (run_b / "charts" / "compare-a.png").exists()
    c = compare_results(tables(run_a), tables(run_b))
    assert c.paired and c.pairs == 30
    assert c.outcomes["diff"].sum() == pytest.approx(0.0, abs=1e-12)
    # different seeds: said, and treated as independent samples
    r2 = Results.load(run_b)
    runs = r2.runs.copy()
    runs["seed"] = runs["seed"] + np.uint64(1)
    c2 = compare_results(P.as_tables({"runs": tables(run_a).runs, "manifest": {}},
                                     scenario=tables(run_a).info),
                         P.as_tables({"runs": runs, "manifest": {}}, scenario=tables(run_b).info))
    assert not c2.paired and "NOT paired" in c2.note
    res = invoke("compare", run_a, run_b, "--out", tmp_path / "cmp.svg")
    assert res.exit_code == 0 and (tmp_path / "cmp.svg").exists()
    res = invoke("compare", run_a, sweep_lhs)
    assert res.exit_code == 2 and "sweep" in res.output
    res = invoke("compare", run_a, tmp_path / "nope")
    assert res.exit_code == 2


def test_help_texts_have_examples():
    for cmd in ("plot", "report", "compare"):
        res = invoke(cmd, "--help")
        assert res.exit_code == 0
        assert "Example" in res.output


def test_compare_refuses_folders_of_different_scenarios(run_a, tmp_path):
    """Libya against the duel once printed 'Paired by run', mixed victory labels and exit 0."""
    libya = tmp_path / "libya"
    res = invoke("run", REPO / "scenarios" / "libya_2019.toml", "--runs", 2, "--steps", 3,
                 "--seed", 1, "--out", libya, "-q")
    assert res.exit_code == 0, res.output
    res = invoke("compare", run_a, libya)
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "different scenarios" in text and "only B has" in text and "Paired" not in text


def test_compare_of_a_folder_with_itself_warns(run_a):
    res = invoke("compare", run_a, run_a)
    assert res.exit_code == 0, res.output
    assert "same scenario with the same overrides and seed" in " ".join(res.output.split())


# ============================================================================ sweeps: designs,
# outcomes, points
@pytest.fixture(scope="module")
def sweep_grid(tmp_path_factory, scenario_file) -> Path:
    """A 3 x 2 grid over two paths, 3 runs per point."""
    points = [{"model.incident_breakdown": x, "factions.west.war_cost": y}
              for x in (0.0, 0.4, 0.8) for y in (0.0, 0.1)]
    return write_sweep(tmp_path_factory.mktemp("sweep") / "grid", scenario_file, "grid",
                       points, 3)


@pytest.mark.parametrize(("design", "sampled"), [
    ("grid", False), ("lhs", True), ("sobol", True), ("saltelli", True), ("morris", True),
    ("qmc-sobol", True), (" Grid ", False)])
def test_every_design_but_a_grid_is_sampled(design, sampled):
    assert P.is_sampled(design) is sampled
    t = P.as_tables({"runs": pd.DataFrame({"point": [0], "outcome": ["stalemate"]}),
                     "manifest": {"kind": "sweep", "design": {"design": design}}})
    assert P.is_sampled(t) is sampled


def test_sampled_two_path_chart_is_a_scatter_on_true_scales(sweep_lhs):
    t = tables(sweep_lhs)
    x, y = P.sweep_paths(t)
    fig = P.plot_sweep_heatmap(t, [x, y])
    ax = fig.axes[0]
    dots = [c for c in ax.collections if c.get_gid() == "sweep-scatter"][0]
    pts = t.points.set_index("point")
    assert len(dots.get_offsets()) == len(pts) == t.n_points
    d = P.sweep_scatter_dataset(t, x, y)
    np.testing.assert_allclose(dots.get_offsets()[:, 0], pts.loc[d["point"], x])
    np.testing.assert_allclose(dots.get_offsets()[:, 1], pts.loc[d["point"], y])
    durable = P.sweep_outcome(t).values(t.runs)
    expect = pd.Series(durable).groupby(t.runs["point"].to_numpy()).mean()
    np.testing.assert_allclose(dots.get_array(), expect.loc[d["point"]])
    assert fig.axes[1].get_ylabel() == "P(durable ceasefire)"   # the colorbar names it
    fig.draw_without_rendering()
    for tick in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        digits = re.sub(r"[^0-9]", "", tick.get_text())
        assert len(digits) <= 4, tick.get_text()     # no 7-digit sampled values as ticks


def test_sampled_two_path_chart_is_a_hexbin_for_many_points(sweep_lhs, monkeypatch):
    monkeypatch.setattr("sim.plots.sweeps.MAX_SCATTER_POINTS", 5)
    t = tables(sweep_lhs)
    ax = P.plot_sweep_heatmap(t).axes[0]
    assert [c for c in ax.collections if c.get_gid() == "sweep-hexbin"]


def hand_sweep(design: str = "lhs", n_points: int = 12, runs: int = 5) -> P.Tables:
    """A sweep of the tiny scenario built by hand: two sampled paths, outcomes drawn at random
    (victories by Alpha more likely at high patron capacity)."""
    rng = np.random.default_rng(5)
    cap = rng.uniform(0, 10, n_points).round(4)
    lev = rng.uniform(0, 0.05, n_points).round(6)
    rows = []
    for p in range(n_points):
        for r in range(runs):
            won = rng.random() < cap[p] / 12
            rows.append({"point": p, "run": r, "weeks": 10,
                         "outcome": "victory:a" if won else
                         rng.choice(["durable_ceasefire", "stalemate"]),
                         "first_ceasefire_step": pd.NA if won else int(rng.integers(1, 10)),
                         "control_a": rng.random(), "control_b": rng.random()})
    runs_df = pd.DataFrame(rows)
    runs_df["first_ceasefire_step"] = runs_df["first_ceasefire_step"].astype("Int64")
    pts = pd.DataFrame({"point": range(n_points), "backers.pa.capacity": cap,
                        "mediators.un.leverage": lev})
    return P.as_tables({"runs": runs_df, "manifest": {"kind": "sweep", "design": {
        "design": design, "paths": list(pts.columns[1:])}}}, scenario=TINY_SCENARIO,
        points=pts)


def test_victory_outcome_changes_the_plotted_values():
    t = hand_sweep()
    paths = P.sweep_paths(t)
    share = {o: t.runs.assign(y=t.runs["outcome"] == o).groupby("point")["y"].mean()
             for o in ("victory:a", "durable_ceasefire")}
    assert not np.allclose(share["victory:a"], share["durable_ceasefire"])
    for spec, label in (("victory:a", "P(victory: a)"), (None, "P(durable ceasefire)")):
        fig = P.plot_sweep_heatmap(t, paths, outcome=spec)
        dots = [c for c in fig.axes[0].collections if c.get_gid() == "sweep-scatter"][0]
        np.testing.assert_allclose(dots.get_array(), share[spec or "durable_ceasefire"])
        assert fig.axes[1].get_ylabel() == label
    df = P.sweep_outcomes_dataset(t, paths[0], outcome="victory:a")
    assert set(df["outcome"]) == {"victory:a"} and df["n"].sum() == len(t.runs)
    done, _ = P.render_charts(t, ["sweep-influence"],
                              options=P.ChartOptions(outcome="victory:a"))
    assert "P(victory: a)" in done[0].figure.get_suptitle()
    with pytest.raises(ValueError, match="expected one of .*victory:b"):
        P.plot_sweep_heatmap(t, paths, outcome="victory:nobody")


def test_mean_outcomes_of_a_sweep(sweep_lhs):
    t = tables(sweep_lhs)
    paths = P.sweep_paths(t)
    weeks = P.sweep_scatter_dataset(t, *paths, outcome="first_ceasefire")
    first = pd.to_numeric(t.runs["first_ceasefire_step"]).fillna(t.info.weeks)  # the horizon
    np.testing.assert_allclose(weeks["value"], first.groupby(t.runs["point"]).mean())
    from scipy import stats

    h = hand_sweep()
    inf = P.influence_dataset(h, outcome="control:a", n_boot=0)
    control = h.runs.groupby("point")["control_a"].mean()
    x = h.points.set_index("point").loc[control.index, inf["path"][0]]
    assert inf["spearman"][0] == pytest.approx(stats.spearmanr(x, control).statistic)
    fig = P.plot_sweep_outcomes(t, paths[0], outcome="first_ceasefire")
    assert len(fig.axes) == 1 and "weeks to the first ceasefire" in fig.get_suptitle()
    assert fig.axes[0].get_ylabel() == "Weeks"


def test_a_grid_line_never_joins_points_that_differ_in_another_path(sweep_grid):
    t = tables(sweep_grid)
    x, other = P.sweep_paths(t)
    fig = P.plot_sweep_outcomes(t, x, outcome="durable_ceasefire")
    lines = [ln for ln in fig.axes[0].lines if ln.get_gid() == "sweep-line"]
    assert sorted(ln.get_label() for ln in lines) == ["0", "0.1"]
    runs, pts = t.runs, t.points
    for ln in lines:
        at = pts[pts[other] == float(ln.get_label())].sort_values(x)
        assert len(ln.get_ydata()) == len(at) == 3
        expect = [(runs.loc[runs["point"] == p, "outcome"] == "durable_ceasefire").mean()
                  for p in at["point"]]
        np.testing.assert_allclose(ln.get_ydata(), expect)
    assert "One line per combination" in " ".join(fig._supxlabel.get_text().split())
    grid = P.sweep_heatmap_dataset(t, x, other)   # a cell per grid value, short labels
    assert grid["x_labels"] == ["0", "0.4", "0.8"] and grid["n"].min() == 3


def test_many_combinations_are_grey_lines_under_the_pooled_mean(sweep_grid, monkeypatch):
    monkeypatch.setattr("sim.plots.sweeps.MAX_COMBO_LINES", 1)
    t = tables(sweep_grid)
    x, _ = P.sweep_paths(t)
    ax = P.plot_sweep_outcomes(t, x, outcome="durable_ceasefire").axes[0]
    assert len([ln for ln in ax.lines if ln.get_gid() == "sweep-combo-line"]) == 2
    bold = [ln for ln in ax.lines if ln.get_gid() == "sweep-line"]
    assert len(bold) == 1 and "mean over the 2 combinations" in bold[0].get_label()
    pooled = P.sweep_outcomes_dataset(t, x, outcome="durable_ceasefire")
    np.testing.assert_allclose(bold[0].get_ydata(), pooled.sort_values("x")["value"])


def test_run_charts_of_a_sweep_are_per_point(sweep_lhs):
    t = tables(sweep_lhs)
    done, skipped = P.render_charts(t, ["outcomes", "fans", "sweep-outcomes"])
    assert {r.chart for r in done} == {"sweep-outcomes"}
    assert "--point N" in skipped["outcomes"] and "--point N" in skipped["fans"]
    done, skipped = P.render_charts(t, ["outcomes", "sweep-outcomes"],
                                    options=P.ChartOptions(point=4))
    assert [r.chart for r in done] == ["outcomes"] and "sweep-outcomes" in skipped
    bars = [p for p in done[0].figure.axes[0].patches if p.get_gid() == "outcome-bar"]
    four = t.runs[t.runs["point"] == 4]
    shares = P.outcomes_dataset(t.at_point(4)).set_index("outcome")["share"]
    assert shares.sum() == pytest.approx(1.0) and len(t.at_point(4).runs) == len(four) == 4
    assert shares["durable_ceasefire"] == pytest.approx(
        (four["outcome"] == "durable_ceasefire").mean())
    assert len(bars) == len(shares)
    assert "sweep point 4" in done[0].figure.get_suptitle()
    with pytest.raises(P.ResultsError, match="points are 0 to 9"):
        t.at_point(10)


def test_cli_plot_outcome_and_point(sweep_lhs, run_a):
    res = invoke("plot", sweep_lhs, "--only", "sweep-heatmap", "--outcome", "control:east")
    assert res.exit_code == 0, res.output
    assert "final control: east over" in " ".join(res.output.split())
    res = invoke("plot", sweep_lhs, "--outcome", "victory:nobody")
    assert res.exit_code == 2 and "victory:west" in res.output and "Traceback" not in res.output
    res = invoke("plot", sweep_lhs, "--only", "fans")
    assert res.exit_code == 2 and "--point N" in res.output
    res = invoke("plot", sweep_lhs, "--point", "2", "--only", "fans,sweep-heatmap")
    assert res.exit_code == 0, res.output
    assert (sweep_lhs / "charts" / "point-2" / "fans.png").stat().st_size > 10_000
    assert "Sweep point 2: model.incident_breakdown=" in res.output
    res = invoke("plot", sweep_lhs, "--point", "99")
    assert res.exit_code == 2 and "0 to 9" in res.output
    res = invoke("plot", run_a, "--point", "1")
    assert res.exit_code == 2 and "only for a sweep folder" in res.output


def test_sweep_summary_reads_the_outcome(scenario_file, tmp_path):
    args = ["sweep", scenario_file, "--vary", "backers.west_patron.capacity=0,30", "--runs",
            "3", "--steps", "30", "-q", "--jobs", "1"]
    res = invoke(*args, "--out", tmp_path / "a", "--outcome", "control:west")
    assert res.exit_code == 0, res.output
    runs = pd.read_parquet(tmp_path / "a" / "runs.parquet")
    mean = runs.groupby("point")["control_west"].mean()
    assert mean[1] > mean[0]      # a west patron with capacity 30 wins ground
    text = " ".join(res.output.split())
    assert f"Highest final control: west: point 1 (backers.west_patron.capacity=30): " \
        f"{mean[1]:.1%}" in text
    assert f"Lowest final control: west: point 0 (backers.west_patron.capacity=0): " \
        f"{mean[0]:.1%}" in text
    short = [*args[:6], "--steps", "1", *args[8:]]    # one week: every run still at war
    res = invoke(*short, "--out", tmp_path / "c", "--outcome", "ongoing")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "P(ongoing war) is 100.0% at every one of the 2 points (none differs)" in text
    assert "Highest" not in text and "Lowest" not in text
    res = invoke(*args, "--out", tmp_path / "b", "--outcome", "victory:nobody")
    assert res.exit_code == 2 and "first_ceasefire" in res.output
    assert not (tmp_path / "b").exists()    # nothing ran, nothing written


# ============================================================================ polish
def _tick_labels(ax) -> list[tuple[pd.Timestamp, str]]:
    lo, hi = ax.get_xlim()
    return [(pd.Timestamp(mdates.num2date(v)).tz_localize(None), t.get_text())
            for v, t in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
            if lo <= v <= hi]


def test_time_axes_carry_the_year(run_a):
    fig = P.plot_survival(tables(run_a))
    fig.draw_without_rendering()
    ticks = _tick_labels(fig.axes[0])
    assert ticks[0][1].endswith(str(ticks[0][0].year))       # e.g. "Feb 2020"
    for when, text in ticks:
        if when.month == 1:
            assert str(when.year) in text
        assert re.fullmatch(r"[A-Z][a-z]{2}( \d{4})?", text), text


@pytest.fixture(scope="module")
def libya_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("libya") / "run"
    res = invoke("run", REPO / "scenarios" / "libya_2019.toml", "--runs", 6, "--seed", 3,
                 "--out", out, "-q", "--jobs", 1)
    assert res.exit_code == 0, res.output
    return out


def _overlaps(texts) -> list[tuple[str, str]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = texts[0].figure
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_text()]
    return [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:]
            if ba.overlaps(bb)]


@pytest.mark.slow
def test_libya_labels_do_not_overlap(libya_run):
    t = tables(libya_run)
    fig = P.plot_site_map(t)
    ax = fig.axes[0]
    labels = [tx for tx in ax.texts if tx.get_gid() == "site-label"]
    assert len(labels) == len(t.info.sites) >= 12
    assert _overlaps(labels) == []
    inside = fig.bbox
    for tx in labels:
        b = tx.get_window_extent()
        assert inside.x0 <= b.x0 and b.x1 <= inside.x1 and inside.y0 <= b.y0, tx.get_text()
    fig = P.plot_diplomacy(t)
    a, b, c = fig.axes[:3]
    for panel in (b, c):
        texts = [*panel.get_yticklabels(), *panel.texts]
        assert len(texts) > 4 and _overlaps(texts) == []
    numbers = [tx for tx in a.texts if tx.get_gid() == "event-number"]
    assert len(numbers) >= 10 and _overlaps(numbers) == []
    assert _tick_labels(a)[0][1].endswith("2019")
