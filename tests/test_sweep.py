"""`negsim sweep`: the documented points for grid, lhs and sobol-sequence; clear errors before
any run; the same tables whatever the executor, the workers or the chunk size; a sweep stopped
at any moment and resumed gives exactly the rows of an uninterrupted one; a run that raises is
recorded.

The command is driven through typer's CliRunner (and through a
subprocess for the interrupt tests); sweeps are small: the symmetric duel, a few weeks.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_run import bad
from typer.testing import CliRunner

from sim.cli import app
from sim.experiment import run_seeds
from sim.model import NegotiationModel
from sim.scenario import ScenarioError, load_scenario
from sim.sweep import (
    SpecError,
    SweepError,
    field_kind,
    load_spec,
    make_design,
    make_points,
    parse_vary,
    split_vary,
)

ROOT = Path(__file__).resolve().parents[1]
DUEL = ROOT / "scenarios" / "symmetric_duel.toml"
SCN = load_scenario(DUEL)
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "NEGSIM_DEBUG": None}
GRID = ["--vary", "backers.west_patron.capacity=0:12:3", "--vary", "mediators.un.leverage=0,0.1"]
SMALL = [*GRID, "--runs", "4", "--steps", "8", "--seed", "3", "--quiet"]
TABLES = ("runs", "steps", "events", "failures", "points")
CLI = [sys.executable, "-c", "from sim.cli import main; main()"]


def invoke(*args):
    return CliRunner().invoke(app, ["sweep", *map(str, args)], env=ENV)


def tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(folder / f"{t}.parquet") for t in TABLES}


def assert_same(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    for t in TABLES:
        pd.testing.assert_frame_equal(ta[t], tb[t], check_dtype=t != "failures", obj=t)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The small grid sweep, in this process."""
    folder = tmp_path_factory.mktemp("ref") / "out"
    r = invoke(DUEL, *SMALL, "--out", folder)
    assert r.exit_code == 0, r.output
    return folder


@pytest.fixture(scope="module")
def dask_scheduler():
    """A Dask cluster on loopback with two worker processes, for --scheduler ADDR."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


# ---------------------------------------------------------------------- designs
def test_grid_specs_give_the_documented_values():
    assert parse_vary("backers.turkey.capacity", "0:20:5").values == (0.0, 5.0, 10.0, 15.0,
                                                                      20.0)
    assert parse_vary("x.y", "0.1:0.3:3").values == (0.1, 0.2, 0.3)  # no float dust
    assert parse_vary("x.y", "-1:1:3").values == (-1.0, 0.0, 1.0)
    weeks = parse_vary("model.weeks", "10:20:3", field_kind(SCN, "model.weeks"))
    assert weeks.values == (10, 15, 20) and all(type(v) is int for v in weeks.values)
    assert parse_vary("x.y", "1,2.5,3").values == (1.0, 2.5, 3.0)
    assert parse_vary("x.y", "true,false", "bool").values == (True, False)
    assert parse_vary("x.y", "tripoli, benghazi", "str").values == ("tripoli", "benghazi")
    r = parse_vary("x.y", "0..0.5")
    assert (r.kind, r.low, r.high) == ("range", 0.0, 0.5)


def test_grid_crosses_values_first_path_slowest():
    a = parse_vary("a.x", "1,2")
    b = parse_vary("b.y", "10,20,30")
    assert make_points("grid", [a, b]) == [
        {"a.x": 1.0, "b.y": 10.0}, {"a.x": 1.0, "b.y": 20.0}, {"a.x": 1.0, "b.y": 30.0},
        {"a.x": 2.0, "b.y": 10.0}, {"a.x": 2.0, "b.y": 20.0}, {"a.x": 2.0, "b.y": 30.0}]


@pytest.mark.parametrize("design", ["lhs", "sobol-sequence"])
def test_sampled_designs_are_bounded_counted_and_seeded(design):
    varies = [parse_vary("a.x", "0..2"), parse_vary("b.y", "-1..1"),
              parse_vary("model.weeks", "10..13", "int"), parse_vary("c.z", "p,q", "str")]
    pts = make_points(design, varies, 16, seed=4)
    assert len(pts) == 16
    x = np.array([p["a.x"] for p in pts])
    y = np.array([p["b.y"] for p in pts])
    assert ((x >= 0) & (x <= 2)).all() and ((y >= -1) & (y <= 1)).all()
    assert {p["model.weeks"] for p in pts} <= {10, 11, 12, 13}
    assert all(type(p["model.weeks"]) is int for p in pts)
    assert {p["c.z"] for p in pts} == {"p", "q"}
    assert make_points(design, varies, 16, seed=4) == pts
    assert make_points(design, varies, 16, seed=5) != pts
    # space filling: each of 16 equal strata of every range holds exactly one point (LHS), and
    # so does a scrambled Sobol set of 2**4 points
    assert sorted(np.floor(x / 2 * 16).astype(int)) == list(range(16))
    assert sorted(np.floor((y + 1) / 2 * 16).astype(int)) == list(range(16))


def test_design_checks_specs_against_the_design():
    grid = parse_vary("a.x", "0:1:3")
    rng = parse_vary("a.x", "0..1")
    with pytest.raises(SweepError, match="ranges lo..hi are for --design lhs"):
        make_design("grid", [rng], None, 0)
    with pytest.raises(SweepError, match="lo:hi:n is for --design grid"):
        make_design("lhs", [grid], 8, 0)
    with pytest.raises(SweepError, match="--samples"):
        make_design("sobol-sequence", [rng], None, 0)
    with pytest.raises(SweepError, match="given twice"):
        make_design("grid", [grid, grid], None, 0)
    d = make_design("lhs", [rng], 5, 0)
    assert d.describe()["points"] == 5 and d.describe()["specs"] == {"a.x": "0..1"}


@pytest.mark.parametrize(("text", "needle"), [
    ("capacity", "expected PATH=SPEC"),
    ("Backers.x=1", "dotted field path"),
    ("backers.west_patron.capacity=", "expected a spec"),
    ("backers.west_patron.capacity=1:5:1", "n >= 2"),
    ("backers.west_patron.capacity=5..1", "lo < hi"),
    ("backers.west_patron.capacity=1,,2", "without empty items"),
    ("model.weeks=10:12:5", "repeat when rounded"),
])
def test_bad_vary_specs_are_refused_clearly(text, needle):
    with pytest.raises(SweepError, match=needle):
        p, s = split_vary(text)
        parse_vary(p, s, field_kind(SCN, p))


def test_what_a_dated_event_sets_can_be_varied(tmp_path):
    from sim.sweep import event_entry, event_overwrites

    scn = SCN.model_copy(update={"events": ()})
    events = [{"date": "2020-03-02", "set": {"backers.west_patron.capacity": 9.0}},
              {"date": "2020-06-01", "set": {"backers.west_patron.capacity": 3.0}}]
    assert event_entry(events, "events.2020-06-01.set.backers.west_patron.capacity") == (
        1, "set", "backers.west_patron.capacity")
    assert event_entry(events, "events.0.set.backers.west_patron.capacity")[0] == 0
    with pytest.raises(SweepError, match="found 0"):
        event_entry(events, "events.2020-06-02.set.backers.west_patron.capacity")
    with pytest.raises(SweepError, match="has no 'backers.east_patron.capacity'"):
        event_entry(events, "events.1.set.backers.east_patron.capacity")
    spec = tmp_path / "duel.toml"
    text = DUEL.read_text() + "".join(
        f'\n[[events]]\ndate = {e["date"]}\nset = {{ "backers.west_patron.capacity" = '
        f'{e["set"]["backers.west_patron.capacity"]} }}\n' for e in events)
    spec.write_text(text)
    # --set takes an event's entry too (every command: it is the scenario's own override)
    changed = load_scenario(spec, ["events.2020-06-01.set.backers.west_patron.capacity=5",
                                   "events.0.set.backers.west_patron.capacity=8",
                                   "backers.west_patron.capacity=4"])
    assert [dict(e.set) for e in changed.events] == [
        {"backers.west_patron.capacity": 8.0}, {"backers.west_patron.capacity": 5.0}]
    assert changed.backers["west_patron"].capacity == 4
    with pytest.raises(ScenarioError, match=r"--set events.2020-06-02.set.backers.west_patron."
                                            r"capacity: expected one event of 2020-06-02"):
        load_scenario(spec, ["events.2020-06-02.set.backers.west_patron.capacity=5"])
    scn = load_scenario(spec)
    assert scn.events[1].set["backers.west_patron.capacity"] == 3.0
    assert event_overwrites(scn, ["backers.west_patron.capacity", "model.weeks"]) == {
        "backers.west_patron.capacity": ["2020-03-02 (events.0)", "2020-06-01 (events.1)"]}
    r = invoke(spec, "--vary", "events.2020-06-01.set.backers.west_patron.capacity=1,2",
               "--vary", "backers.west_patron.capacity=4,5", "--runs", "1", "--steps", "2",
               "--quiet", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert "also set by the event(s) of 2020-03-02 (events.0)" in " ".join(r.output.split())
    pts = pd.read_parquet(tmp_path / "o" / "points.parquet")
    assert pts.columns[1] == "events.2020-06-01.set.backers.west_patron.capacity"
    assert pts.iloc[:, 1].tolist() == [1.0, 1.0, 2.0, 2.0]


# ---------------------------------------------------------------------- command: errors
@pytest.mark.parametrize(("args", "needles"), [
    (["--vary", "backers.west_patrn.capacity=0:1:2"], ["backers.west_patrn", "west_patron"]),
    (["--vary", "backers.west_patron.capacty=0:1:2"], ["capacty", "no field"]),
    (["--vary", "backers.west_patron.capacity=-1:1:3"],
     ["point 0", "backers.west_patron.capacity=-1.0", "(from --vary)"]),
    (["--vary", "backers.west_patron.capacity=0..1"],
     ["--design lhs, sobol-sequence, saltelli or morris"]),
    (["--vary", "backers.west_patron.capacity=0..1", "--design", "lhs"], ["--samples"]),
    (["--vary", "model.weeks=a,b"], ["model.weeks", "integer"]),
    (["--set", "backers.west_patron.capacity=1", "--vary", "backers.west_patron.capacity=1,2"],
     ["also fixed by --set"]),
    ([], ["at least one --vary"]),
    (["--vary", "capacity"], ["--vary 'capacity'", "PATH=SPEC"]),
    (["--vary", "backers.west_patron.capacity=5..1", "--design", "lhs", "--samples", "2"],
     ["backers.west_patron.capacity=5..1", "lo < hi"]),
    (["--vary", "factions.west.armed=1:2:2"], ["lo:hi:n needs a numeric field"]),
    (["--vary", "backers.west_patron.capacity=0,1", "--vary", "backers.west_patron.capacity=2"],
     ["backers.west_patron.capacity is given twice"]),
    (["--vary", "backers.west_patron.capacity=0:1:1001", "--vary",
      "mediators.un.leverage=0:0.1:1001"],
     ["1,002,001 points", "more than 100,000", "--yes"]),  # (no terminal here to ask on)
])
def test_bad_sweeps_exit_2_before_any_run_and_create_no_folder(tmp_path, args, needles):
    out = tmp_path / "never"
    bad(invoke(DUEL, *args, "--runs", "2", "--steps", "2", "--out", out), *needles)
    assert not out.exists()


def test_resume_of_a_different_sweep_is_refused(reference):
    before = sorted(p.name for p in reference.iterdir())
    bad(invoke(DUEL, *SMALL[:-1], "--runs", "5", "--out", reference, "--resume"),
        "different experiment", "runs: the folder has 4, this command gives 5")
    bad(invoke(DUEL, *SMALL, "--set", "model.stalemate_weeks=9", "--out", reference,
               "--resume"), "scenario digest")
    bad(invoke(DUEL, *SMALL, "--out", reference), "--resume")  # not empty: no overwrite
    assert sorted(p.name for p in reference.iterdir()) == before


def test_resume_needs_the_folder_of_the_interrupted_sweep(tmp_path):
    bad(invoke(DUEL, *SMALL, "--resume"), "--resume needs --out")
    bad(invoke(DUEL, *SMALL, "--resume", "--out", tmp_path / "none"), "does not exist")
    (tmp_path / "other").mkdir()
    bad(invoke(DUEL, *SMALL, "--resume", "--out", tmp_path / "other"), "no manifest.json")


def test_help_explains_every_option_with_an_example():
    text = CliRunner().invoke(app, ["sweep", "--help"], env=ENV).output
    for opt in ("--vary", "--design", "--samples", "--runs", "--seed", "--jobs", "--scheduler",
                "--steps", "--set", "--out", "--resume", "--chunk-size", "--quiet"):
        assert opt in text
    assert text.count("Example") >= 13


# ---------------------------------------------------------------------- command: output
def test_a_sweep_writes_the_tables_with_points_and_a_manifest(reference):
    t = tables(reference)
    assert list(t["points"].columns) == ["point", "backers.west_patron.capacity",
                                         "mediators.un.leverage"]
    assert t["points"].values.tolist() == [[0, 0.0, 0.0], [1, 0.0, 0.1], [2, 6.0, 0.0],
                                           [3, 6.0, 0.1], [4, 12.0, 0.0], [5, 12.0, 0.1]]
    for name in ("runs", "steps", "events"):
        assert t[name].columns[0] == "point"
    runs = t["runs"]
    assert len(runs) == 24 and not runs.duplicated(["point", "run"]).any()
    # common random numbers: the same replicate seeds at every point
    seeds = run_seeds(3, 4)
    for _, g in runs.groupby("point"):
        assert g["seed"].tolist() == seeds
    m = json.loads((reference / "manifest.json").read_text())
    assert m["kind"] == "sweep" and m["complete"] is True
    assert {k: m["design"][k] for k in ("design", "paths", "specs", "samples", "points")} == {
        "design": "grid", "paths": ["backers.west_patron.capacity", "mediators.un.leverage"],
        "specs": {"backers.west_patron.capacity": "0:12:3", "mediators.un.leverage": "0,0.1"},
        "samples": None, "points": 6}
    assert (m["seed"], m["runs"], m["steps"]) == (3, 4, 8)
    assert not (reference / "parts").exists()


def test_the_summary_gives_shares_per_point_and_the_extremes(tmp_path):
    r = invoke(DUEL, *SMALL, "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert "outcome shares per sweep point" in r.output
    text = " ".join(r.output.split())
    # 8 weeks are too few for a durable ceasefire anywhere: one line says no point differs
    assert "P(durable ceasefire) is 0.0% at every one of the 6 points (none differs)" in text
    r = invoke(DUEL, *SMALL, "--out", tmp_path / "c", "--outcome", "control:west")
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "Highest final control: west: point" in text
    assert "Lowest final control: west: point" in text and "95% interval" in text


def test_a_lhs_sweep_runs_its_points(tmp_path):
    r = invoke(DUEL, "--design", "lhs", "--samples", "3", "--vary",
               "factions.west.optimism=0..0.2", "--vary", "model.stalemate_weeks=4..12",
               "--runs", "2", "--steps", "4", "--quiet", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    pts = pd.read_parquet(tmp_path / "o" / "points.parquet")
    assert len(pts) == 3 and pts["model.stalemate_weeks"].dtype.kind == "i"
    assert pts["factions.west.optimism"].between(0, 0.2).all()
    assert len(pd.read_parquet(tmp_path / "o" / "runs.parquet")) == 6


# ---------------------------------------------------------------------- spec files
def test_a_spec_file_is_an_experiment(tmp_path, reference):
    spec = tmp_path / "duel.toml"
    spec.write_text(f'''
description = "the small grid"
scenario = "{DUEL}"
design = "grid"
runs = 4
seed = 3
steps = 8
[vary]
"backers.west_patron.capacity" = "0:12:3"
mediators.un.leverage = [0, 0.1]
''')
    r = invoke(spec, "--quiet", "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert_same(reference, tmp_path / "o")
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["spec_file"] == str(spec)


def test_a_spec_scenario_is_found_relative_to_the_spec_or_the_repository(tmp_path):
    spec = tmp_path / "x.toml"
    spec.write_text('scenario = "scenarios/symmetric_duel.toml"\n[vary]\n"model.weeks" = "1,2"\n')
    assert load_spec(spec).scenario.resolve() == DUEL.resolve()


@pytest.mark.parametrize(("body", "needles"), [
    ('scenario = "nowhere.toml"\n[vary]\n"model.weeks" = "1,2"\n', ["scenario", "not found"]),
    ('scenario = "scenarios/symmetric_duel.toml"\ndesing = "lhs"\n[vary]\n"model.weeks" = "1,2"\n',
     ["line 2", "desing", "known: scenario"]),
    ('scenario = "scenarios/symmetric_duel.toml"\ndesign = "random"\n[vary]\n"model.weeks" = "1"\n',
     ["design", "grid, lhs, sobol-sequence, saltelli, morris"]),
    ('scenario = "scenarios/symmetric_duel.toml"\nruns = -3\n[vary]\n"model.weeks" = "1"\n',
     ["runs", "integer >= 1"]),
    ('scenario = "scenarios/symmetric_duel.toml"\n', ["vary", "at least one entry"]),
    ('scenario = "scenarios/symmetric_duel.toml"\n[vary]\n"model.weeks" = 3\n',
     ["vary.model.weeks", "line 3"]),
    ('scenario = "scenarios/symmetric_duel.toml"\n[vary\n', ["valid TOML"]),
])
def test_bad_spec_files_exit_2_naming_file_and_field(tmp_path, body, needles):
    spec = tmp_path / "bad.toml"
    spec.write_text(body)
    with pytest.raises(SpecError):
        load_spec(spec)
    if "[vary\n" not in body:  # (a broken file is not recognised as a spec: see below)
        bad(invoke(spec, "--out", tmp_path / "o"), "bad.toml", "invalid sweep spec", *needles)
        assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "experiments").glob("*.toml")))
def test_shipped_experiments_are_valid(name):
    from sim.sweep import point_scenarios

    spec = load_spec(ROOT / "experiments" / name)
    base = load_scenario(spec.scenario, spec.set)
    varies = [parse_vary(p, s, field_kind(base, p)) for p, s in spec.vary]
    d = make_design(spec.design, varies, spec.samples, spec.seed or 0)
    import tomllib

    text = spec.scenario.read_text()
    assert len(point_scenarios(tomllib.loads(text), spec.set, d, source=str(spec.scenario),
                               text=text)) == len(d.points) >= 8


# ---------------------------------------------------------------------- executors
@pytest.mark.parametrize("extra", [["--jobs", "2", "--chunk-size", "3"],
                                   ["--chunk-size", "1"], ["--chunk-size", "100"]],
                         ids=["jobs2", "chunk1", "chunk100"])
def test_results_do_not_depend_on_workers_or_chunks(tmp_path, reference, extra):
    r = invoke(DUEL, *SMALL, *extra, "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert_same(reference, tmp_path / "o")


def test_results_are_the_same_on_a_dask_cluster(tmp_path, reference, dask_scheduler):
    r = invoke(DUEL, *SMALL, "--scheduler", dask_scheduler, "--chunk-size", "2",
               "--out", tmp_path / "o")
    assert r.exit_code == 0, r.output
    assert_same(reference, tmp_path / "o")


def test_an_unreachable_scheduler_is_bad_input(tmp_path, monkeypatch):
    monkeypatch.setattr("sim.executors.CONNECT_TIMEOUT", "1s")
    bad(invoke(DUEL, *SMALL, "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "o"),
        "--scheduler tcp://127.0.0.1:9", "could not connect")


# ---------------------------------------------------------------------- stop and resume
#: The command, with every run of this process slowed down (a sleep), so that it is stopped
#: midway every time (with --jobs 2, the runs of its thread; its worker runs at full speed).
SLOW_CLI = [sys.executable, "-c",
            "import time, sim.runner as r; f = r.simulate; "
            "r.simulate = lambda *a, **k: (time.sleep(0.05), f(*a, **k))[1]; "
            "from sim.cli import main; main()"]


@pytest.mark.parametrize(("sig", "jobs"), [(signal.SIGINT, "1"), (signal.SIGKILL, "1"),
                                           (signal.SIGINT, "2")],
                         ids=["ctrl-c", "kill-9", "ctrl-c-jobs2"])
def test_a_stopped_sweep_resumed_equals_an_uninterrupted_one(tmp_path, reference, sig, jobs):
    out = tmp_path / "o"
    args = ["sweep", str(DUEL), *SMALL, "--chunk-size", "1", "--jobs", jobs, "--out", str(out)]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "300"}
    # Ctrl-C's default action in the child even when this process inherited it ignored (a
    # shell's background job, some CI runners)
    p = subprocess.Popen([*SLOW_CLI, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t0 = time.time()
    while len(list((out / "parts").glob("done-*"))) < 5:
        assert p.poll() is None and time.time() - t0 < 60, p.communicate()
        time.sleep(0.01)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert 5 <= len(list((out / "parts").glob("done-*"))) < 24
    assert not (out / "runs.parquet").exists()
    resume = [*args, "--resume"]
    if sig == signal.SIGINT:
        assert p.returncode == 130, err
        assert "Resume with:" in err and "Traceback" not in err
        hint = shlex.split(err.split("Resume with:")[1].strip())
        assert hint[:2] == ["negsim", "sweep"] and hint[-3:] == ["--out", str(out), "--resume"]
        resume = hint[1:]  # the command it gives is the one we run
    r = subprocess.run([*CLI, *resume], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert_same(reference, out)
    assert not pd.read_parquet(out / "runs.parquet").duplicated(["point", "run"]).any()
    assert not pd.read_parquet(out / "steps.parquet").duplicated(["point", "run", "step"]).any()
    assert json.loads((out / "manifest.json").read_text())["complete"] is True
    assert not (out / "parts").exists()


# ---------------------------------------------------------------------- failures
def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch, reference):
    bad_seed = run_seeds(3, 4)[2]
    step = NegotiationModel.step

    def flaky(self):
        if self._seed == bad_seed and self.spec.backers["west_patron"].capacity == 6.0:
            raise ValueError("no luck")
        step(self)

    monkeypatch.setattr(NegotiationModel, "step", flaky)  # (in this process: --jobs 1)
    r = invoke(DUEL, *SMALL, "--jobs", "1", "--out", tmp_path / "o")
    assert r.exit_code == 1, r.output
    assert "2 runs failed" in r.output
    f = pd.read_parquet(tmp_path / "o" / "failures.parquet")
    assert f[["point", "run"]].values.tolist() == [[2, 2], [3, 2]]
    assert (f["seed"] == bad_seed).all() and (f["error"] == "ValueError: no luck").all()
    assert f["traceback"].str.contains("no luck").all()
    runs = pd.read_parquet(tmp_path / "o" / "runs.parquet")
    ref = pd.read_parquet(reference / "runs.parquet")
    keep = ~(ref["point"].isin([2, 3]) & (ref["run"] == 2))
    pd.testing.assert_frame_equal(runs, ref[keep].reset_index(drop=True))


def test_a_resume_sizes_the_pool_by_the_chunks_left(tmp_path, monkeypatch):
    """A resume with one chunk left needs no worker process (each takes a while to start)."""
    import sim.experiment as E
    from sim.folder import ResultsFolder
    from sim.runner import run_chunk

    scn = load_scenario(DUEL)
    exp = E.Experiment((scn, scn), runs=4, seed=1, steps=5, chunk_size=2, design={"x": 1})
    folder = ResultsFolder.create(tmp_path / "o", exp.manifest())
    for c in exp.chunks()[:-1]:
        folder.write_part(c.name, run_chunk(c))
    asked = []
    real = E.open_executor

    def spy(jobs, scheduler=None):
        asked.append(jobs)
        return real(jobs, scheduler)

    monkeypatch.setattr(E, "open_executor", spy)
    E.run_experiment(exp, out=folder, jobs=2)
    assert asked == [1]
    assert ResultsFolder.open(tmp_path / "o").complete


def test_the_python_sweep_gives_the_commands_tables(reference, tmp_path):
    """sim.run_sweep mirrors `negsim sweep` (here with the weeks set on the scenario instead
    of --steps: the same runs)."""
    import sim

    scn = load_scenario(DUEL, ["model.weeks=8"])
    vary = {"backers.west_patron.capacity": "0:12:3", "mediators.un.leverage": "0,0.1"}
    res = sim.run_sweep(scn, vary, runs=4, seed=3, out=tmp_path / "o")
    for t in ("runs", "steps", "events", "points"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o" / f"{t}.parquet"),
                                      tables(reference)[t], obj=t)
    mem = sim.run_sweep(scn, vary, runs=4, seed=3)
    pd.testing.assert_frame_equal(mem.runs, res.runs)
    pd.testing.assert_frame_equal(mem.points, res.points)


def test_check_validates_an_experiment_file_as_an_experiment(tmp_path):
    good = invoke_cli("check", ROOT / "experiments" / "turkey_vs_un.toml")
    assert good.exit_code == 0, good.output
    assert "20 points x 200 runs = 4,000 runs" in " ".join(good.output.split())
    spec = tmp_path / "bad.toml"
    spec.write_text(f'scenario = "{DUEL}"\nruns = 2\n[vary]\n'
                    '"backers.west_patron.capacty" = "0:1:2"\n')
    bad = invoke_cli("check", spec)
    assert bad.exit_code == 2
    assert "capacty" in bad.output and "invalid scenario" not in bad.output


def invoke_cli(*args):
    return CliRunner().invoke(app, list(map(str, args)), env=ENV)
