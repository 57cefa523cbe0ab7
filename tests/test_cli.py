"""The `negsim` command line: bad input exits 2 with a clear message, never a traceback, and a
run that could not start leaves no results folder; the happy paths write what they document.

Invalid scenarios are small edits of ``scenarios/symmetric_duel.toml`` written into ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import typer
from scenario_text import BASE, DUEL, ROOT, SCENARIOS, add, edit, event
from typer.testing import CliRunner

from sim.cli import app

ENV = {"COLUMNS": "400", "NO_COLOR": "1", "NEGSIM_DEBUG": None}
FAST = ["--runs", "2", "--steps", "3", "--quiet"]


# ----------------------------------------------------------------------------- helpers
def line_no(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args], env=ENV)


def assert_bad_input(result, *needles: str) -> str:
    """Exit code 2, no traceback, and every needle in the output."""
    out = result.output
    assert result.exit_code == 2, f"exit {result.exit_code}\n{out}\n{result.exception!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r}\n{out}")
    assert "Traceback" not in out
    for n in needles:
        assert n in out, f"{n!r} not in output:\n{out}"
    return out


def run_bad(command: str, scenario: Path, out_dir: Path, *extra: str):
    """`check` or `run` on a bad input; a rejected run must not create its --out folder."""
    if command == "check":
        return invoke("check", scenario, *extra)
    result = invoke("run", scenario, *FAST, "--out", out_dir, *extra)
    assert not out_dir.exists(), f"{out_dir} created by a run that could not start"
    return result


# ----------------------------------------------------------------------------- bad files
def _case(name: str, text: str | bytes, *needles: str):
    """A bad file and the texts its error must show."""
    return pytest.param(text, list(needles), id=name)


def _field(name: str, text: str, path: str, line_of: str, *more: str):
    """A bad field: the error must show "line N, <path>: expected" (N: line of `line_of`)."""
    return pytest.param(text, [f"line {line_no(text, line_of)}, {path}: expected", *more], id=name)


_syntax = edit("[model]", "weeks = 104", "weeks = = 104")
_capacty = edit("[backers.east_patron]", "capacity = 6.0", "capacty = 6.0")
_backer_table = BASE.replace("[backers.east_patron]", "[backer.east_patron]", 1)
_strength = edit("[factions.west]", "strength = 100.0", 'strength = "lots"')
_discount = add("[factions.west]", "discount = 1.5\n")
_capacity = edit("[backers.west_patron]", "capacity = 6.0", "capacity = -1.0")
_client = edit("[backers.east_patron]", 'client = "east"', 'client = "eest"')
_controller = edit("[sites.east_town]", 'controller = "east"', 'controller = "nobody"')
_neighbour = edit("[sites.east_capital]", 'neighbours = ["east_town"]',
                  'neighbours = ["east_twn"]')
_patrons = add("[mediators.un]", 'patrons = ["ghost"]\n')
_initiative = event("date = 2020-03-02", 'initiative = { mediator = "eu" }')
_red_line = add("[backers.west_patron]", 'red_lines = ["atlantis"]\n')
_no_client = edit("[backers.east_patron]", 'client = "east"\n', "")
_late = event("date = 2030-01-07")
_early = event("date = 2019-12-30")
_set_ghost = event("date = 2020-03-02", 'set = { "backers.ghost.capacity" = 3.0 }')
_set_typo = event("date = 2020-03-02", 'set = { "backers.west_patron.capacty" = 3.0 }')
_set_struct = event("date = 2020-03-02", 'set = { "sites.west_town.controller" = 1 }')
_mix = add("[backers.west_patron]", "arms = 0.5\nfighters = 0.5\nmoney = 0.5\n")

BAD_FILES = [
    _case("syntax", _syntax, f"line {line_no(_syntax, 'weeks = = 104')}", "TOML"),
    _case("empty", b"", "empty"),
    _case("binary", b"\x00\x01\x02\x03garbage\x00" * 16, "binary"),
    _case("non-utf8", BASE.replace("Symmetric", "Sym\u00e9tric").encode("latin-1"), "UTF-8"),
    _field("unknown-field", _capacty, "backers.east_patron.capacty", "capacty",
           "no such field"),
    _field("unknown-table", _backer_table, "backer", "[backer.east_patron]", "no such field"),
    _field("wrong-type", _strength, "factions.west.strength", 'strength = "lots"', "'lots'"),
    _field("discount-range", _discount, "factions.west.discount", "discount = 1.5",
           "less than or equal to 1"),
    _field("negative-capacity", _capacity, "backers.west_patron.capacity", "capacity = -1.0",
           "greater than or equal to 0"),
    _field("backer-client", _client, "backers.east_patron.client", "eest", "known faction",
           "'eest'"),
    _field("site-controller", _controller, "sites.east_town.controller", "nobody", "'nobody'"),
    _field("site-neighbour", _neighbour, "sites.east_capital.neighbours", "east_twn",
           "'east_twn'"),
    _field("mediator-patrons", _patrons, "mediators.un.patrons", "ghost", "'ghost'"),
    _field("initiative-mediator", _initiative, "events[0].initiative.mediator", "initiative =",
           "'eu'"),
    _field("red-line-site", _red_line, "backers.west_patron.red_lines", "atlantis",
           "'atlantis'"),
    _field("backer-without-client", _no_client, "backers.east_patron.client",
           "[backers.east_patron]", "required"),
    _field("event-after-run", _late, "events[0].date", "date = 2030-01-07", "within the run"),
    _field("event-before-run", _early, "events[0].date", "date = 2019-12-30",
           "within the run"),
    _field("event-set-unknown-actor", _set_ghost, "events[0].set.backers.ghost.capacity",
           "set = {", "'ghost'"),
    _field("event-set-unknown-field", _set_typo, "events[0].set.backers.west_patron.capacty",
           "set = {", "'capacty'"),
    _field("event-set-structural", _set_struct, "events[0].set.sites.west_town.controller",
           "set = {", "structure"),
    _field("support-mix", _mix, "backers.west_patron", "[backers.west_patron]", "sum to 1"),
]


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize(("text", "needles"), BAD_FILES)
def test_bad_scenario_file(tmp_path: Path, command: str, text, needles: list[str]) -> None:
    scn = tmp_path / "bad.toml"
    if isinstance(text, bytes):
        scn.write_bytes(text)
    else:
        scn.write_text(text, encoding="utf-8")
    result = run_bad(command, scn, tmp_path / "out")
    assert_bad_input(result, str(scn), *needles)


@pytest.mark.parametrize("command", ["check", "run"])
def test_missing_file(tmp_path: Path, command: str) -> None:
    scn = tmp_path / "nope.toml"
    assert_bad_input(run_bad(command, scn, tmp_path / "out"), str(scn), "not found")


@pytest.mark.parametrize("command", ["check", "run"])
def test_directory_instead_of_file(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    assert_bad_input(run_bad(command, folder, tmp_path / "out"), str(folder), "directory")


def test_explain_rejects_bad_input_too(tmp_path: Path) -> None:
    scn = tmp_path / "bad.toml"
    scn.write_text(_capacty, encoding="utf-8")
    assert_bad_input(invoke("explain", scn, "--steps", "3"), str(scn),
                     "backers.east_patron.capacty")


def test_check_reports_every_file_and_fails_if_any_is_bad(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(_strength, encoding="utf-8")
    out = assert_bad_input(invoke("check", DUEL, bad), str(bad), "factions.west.strength")
    assert f"ok {DUEL}" in out


# ----------------------------------------------------------------------------- --set
BAD_SETS = [
    pytest.param("model.wekks=3", "model.wekks", id="unknown-field"),
    pytest.param("backers.ghost.capacity=1", "backers.ghost", id="unknown-actor"),
    pytest.param("model.weeks=many", "model.weeks", id="bad-type"),
    pytest.param("model.weeks=0", "greater than or equal to 1", id="out-of-range"),
    pytest.param("backers.west_patron.capacity=-1", "greater than or equal to 0",
                 id="negative"),
    pytest.param("model.weeks", "PATH=VALUE", id="no-equals"),
    pytest.param("weeks=3", "dotted field path", id="not-dotted"),
    pytest.param("backers.west_patron.arms=0.9", "sum to 1", id="breaks-support-mix"),
]


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize(("override", "needle"), BAD_SETS)
def test_bad_override(tmp_path: Path, command: str, override: str, needle: str) -> None:
    result = run_bad(command, DUEL, tmp_path / "out", "--set", override)
    out = assert_bad_input(result, "--set", needle)
    assert "line " not in out  # the file is fine: no file line to blame


_WITH_EVENT = event("date = 2020-02-03", 'set = { "backers.west_patron.capacity" = 2.0 }')
BAD_EVENT_SETS = [
    pytest.param(_WITH_EVENT, "events.0.set.backers.west_patron.capacity=-5",
                 ["events[0].set.backers.west_patron.capacity (from --set)",
                  "greater than or equal to 0"], id="bad-value"),
    pytest.param(_WITH_EVENT, "events.2020-02-04.set.backers.west_patron.capacity=1",
                 ["one event of 2020-02-04", "found 0", "2020-02-03 (events.0)"],
                 id="no-such-date"),
    pytest.param(_WITH_EVENT, "events.1.scale.backers.west_patron.capacity=1",
                 ["an event index below 1"], id="no-such-index"),
    pytest.param(event("date = 2020-02-03", 'set = "backers.west_patron.capacity"'),
                 "events.0.set.backers.west_patron.capacity=1",
                 ["has no 'backers.west_patron.capacity'"], id="set-not-a-table"),
    pytest.param(BASE + "\n[events]\nfoo = 1\n", "events.0.set.backers.west_patron.capacity=1",
                 ["a list of [[events]] tables"], id="events-not-a-list"),
]


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize(("text", "override", "needles"), BAD_EVENT_SETS)
def test_bad_event_override(tmp_path: Path, command: str, text: str, override: str,
                            needles: list[str]) -> None:
    """What a dated event sets can be overridden too; a bad one is named like any other, and
    a malformed events table is an error message, not a traceback."""
    path = tmp_path / "s.toml"
    path.write_text(text)
    out = assert_bad_input(run_bad(command, path, tmp_path / "out", "--set", override),
                           "--set", *needles)
    assert "line " not in out  # the value came from the command line, not from the file


def test_valid_override_is_applied_and_recorded(tmp_path: Path) -> None:
    out_dir = tmp_path / "short"
    result = invoke("run", DUEL, "--runs", "2", "--quiet", "--out", out_dir,
                    "--set", "model.weeks=3", "--set", "model.name=Short duel")
    assert result.exit_code == 0, result.output
    assert "Short duel: outcomes over 2 runs" in result.output
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["overrides"] == ["model.weeks=3", "model.name=Short duel"]
    assert manifest["steps"] == 3
    assert manifest["scenario"]["model"]["weeks"] == 3
    runs = pd.read_parquet(out_dir / "runs.parquet")
    steps = pd.read_parquet(out_dir / "steps.parquet")
    assert runs["weeks"].max() <= 3
    assert steps["step"].max() <= 3


def test_check_applies_override() -> None:
    result = invoke("check", DUEL, "--set", "model.weeks=7")
    assert result.exit_code == 0, result.output
    assert "7 weeks" in result.output


@pytest.mark.parametrize("command", ["check", "run", "explain"])
def test_brackets_in_scenario_name_are_shown_verbatim(tmp_path: Path, command: str) -> None:
    # A valid name with square brackets must not be read as console markup (no traceback).
    name = "Duel [draft] [/b]"
    scn = tmp_path / "named.toml"
    scn.write_text(edit("[model]", 'name = "Symmetric duel"', f'name = "{name}"'),
                   encoding="utf-8")
    args = {"check": ["check", scn],
            "run": ["run", scn, *FAST, "--out", tmp_path / "out"],
            "explain": ["explain", scn, "--steps", "3"]}[command]
    result = invoke(*args)
    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    assert name in result.output


# ----------------------------------------------------------------------------- out folder
def test_run_refuses_a_folder_that_holds_results(tmp_path: Path) -> None:
    out_dir = tmp_path / "done"
    out_dir.mkdir()
    (out_dir / "runs.parquet").write_bytes(b"keep me")
    assert_bad_input(invoke("run", DUEL, *FAST, "--out", out_dir), "--out", str(out_dir))
    assert sorted(p.name for p in out_dir.iterdir()) == ["runs.parquet"]
    assert (out_dir / "runs.parquet").read_bytes() == b"keep me"


# ----------------------------------------------------------------------------- happy paths
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_check_shipped_scenarios(path: Path) -> None:
    result = invoke("check", path)
    assert result.exit_code == 0, result.output
    assert f"ok {path}" in result.output


def test_check_all_shipped_scenarios_at_once() -> None:
    result = invoke("check", *SCENARIOS)
    assert result.exit_code == 0, result.output
    assert sum(ln.startswith("ok ") for ln in result.output.splitlines()) == len(SCENARIOS)


@pytest.fixture(scope="module")
def duel_run(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("runs") / "duel"
    result = CliRunner().invoke(app, ["run", str(DUEL), *FAST, "--seed", "5",
                                      "--out", str(out_dir)], env=ENV)
    return result, out_dir


def test_run_writes_documented_tables(duel_run) -> None:
    result, out_dir = duel_run
    assert result.exit_code == 0, result.output
    for name in ("manifest.json", "runs.parquet", "steps.parquet", "events.parquet"):
        assert (out_dir / name).is_file(), name
    assert not (out_dir / "parts").exists()

    factions, backers = ["west", "east"], ["west_patron", "east_patron"]
    runs = pd.read_parquet(out_dir / "runs.parquet")
    expected = {"run", "seed", "outcome", "first_ceasefire_step", "first_ceasefire_date",
                "n_truces", "n_ceasefires", "n_breakdowns", "n_proposals"}
    expected |= {f"control_{f}" for f in factions} | {f"losses_{f}" for f in factions}
    expected |= {f"support_{b}" for b in backers}
    assert expected <= set(runs.columns), expected - set(runs.columns)
    assert sorted(runs["run"]) == [0, 1]
    assert runs["seed"].nunique() == 2
    assert runs[[f"control_{f}" for f in factions]].sum(axis=1).round(6).eq(1).all()

    steps = pd.read_parquet(out_dir / "steps.parquet")
    expected = {"run", "step", "date", "status"}
    expected |= {f"{k}_{f}" for k in ("control", "strength", "belief") for f in factions}
    expected |= {f"support_{b}" for b in backers}
    assert expected <= set(steps.columns), expected - set(steps.columns)
    assert set(steps["run"]) == {0, 1}
    assert steps["step"].min() == 0 and steps["step"].max() <= 3
    start = pd.Timestamp("2020-01-06")
    assert (pd.to_datetime(steps["date"]) == start + pd.to_timedelta(steps["step"] * 7, "D")).all()

    events = pd.read_parquet(out_dir / "events.parquet")
    expected = {"run", "step", "date", "kind", "actor", "target", "proposal_id", "accepted",
                "reason"}
    assert expected <= set(events.columns), expected - set(events.columns)
    assert events["step"].between(1, 3).all()


def test_run_manifest_and_summary(duel_run) -> None:
    result, out_dir = duel_run
    assert result.exit_code == 0, result.output
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["runs"] == 2 and manifest["seed"] == 5 and manifest["steps"] == 3
    assert manifest["overrides"] == []
    assert manifest["scenario_file"] == str(DUEL)
    assert manifest["scenario"]["model"]["name"] == "Symmetric duel"
    out = result.output
    assert "Symmetric duel: outcomes over 2 runs" in out
    assert "ongoing" in out and "First open-ended ceasefire" in out
    assert f"Results: {out_dir}" in out
    assert "Traceback" not in out


def _story(seed: int) -> str:
    result = invoke("explain", DUEL, "--seed", str(seed), "--steps", "30")
    assert result.exit_code == 0, result.output
    head, _, body = result.output.partition("\n")
    assert f"seed {seed}, run 0" in head
    assert "Outcome:" in body
    return body


def test_explain_same_seed_same_story_other_seed_other_story() -> None:
    first = _story(1)
    assert "(week " in first
    assert _story(1) == first
    assert any(_story(s) != first for s in (2, 3, 4)), "three other seeds told the same story"


def _field_rows(output: str) -> dict[str, str]:
    """Each field's lines (its comment and its TOML line), by field name (first table)."""
    rows: dict[str, str] = {}
    for block in output.split("\n\n"):
        last = block.strip().splitlines()[-1] if block.strip() else ""
        name = last.lstrip("# ").split(" = ")[0].strip()
        if " = " in last and name not in rows:
            rows[name] = block
    return rows


def test_fields_lists_fields_with_defaults() -> None:
    result = invoke("fields")
    assert result.exit_code == 0, result.output
    rows = _field_rows(result.output)
    for name in ("weeks", "start_date", "bloc", "discount", "client", "capacity", "patrons",
                 "controller", "neighbours", "date", "set", "mediator"):
        assert name in rows, name
    assert "104" in rows["weeks"] and "weeks" in rows["weeks"]
    backers = invoke("fields", "backers")
    assert backers.exit_code == 0, backers.output
    rows = _field_rows(backers.output)
    assert "10.0" in rows["capacity"] and "units/week" in rows["capacity"]
    assert ">= 0" in rows["capacity"]
    assert "required" in rows["client"]
    assert "0.5" in rows["arms"]
    assert "weeks" not in rows  # only the backers table


def test_fields_are_toml_with_the_defaults_at_80_columns() -> None:
    import tomllib

    from sim.scenario import Backer, ModelParams

    result = CliRunner().invoke(app, ["fields", "model"], env={**ENV, "COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    model = tomllib.loads(result.output)["model"]
    assert model == {k: f.default for k, f in ModelParams.model_fields.items()
                     if not f.is_required() and f.default is not None}
    backers = tomllib.loads(invoke("fields", "backers").output)["backers"]["NAME"]
    assert backers["capacity"] == Backer.model_fields["capacity"].default
    assert "client" not in backers  # required: commented out, with no default to show
    assert "# client = ...  (required)" in invoke("fields", "backers").output


def test_fields_titles_name_the_tables() -> None:
    out = invoke("fields").output
    for title in ("[model]", "[factions.NAME]", "[backers.NAME]", "[mediators.NAME]",
                  "[sites.NAME]", "[[events]]"):
        assert title in out, f"table title {title} missing from `negsim fields`"


def test_fields_unknown_table() -> None:
    assert_bad_input(invoke("fields", "backer"), "backer", "backers", "observed")


def test_fields_say_what_each_field_states() -> None:
    rows = _field_rows(invoke("fields", "backers").output)
    assert "fact" in rows["capacity"] and "fact" in rows["troops"]
    assert "behaviour" in rows["response"] and "behaviour" in rows["leverage"]
    rows = _field_rows(invoke("fields", "model").output)
    assert "setting" in rows["weeks"] and "behaviour" in rows["aim_weight"]


def test_fields_observed_lists_every_kind_of_observation() -> None:
    from sim.observed import KINDS

    out = invoke("fields", "observed").output
    for kind in KINDS:
        assert f'kind = "{kind}"' in out, kind
    assert "[model]" not in out


def test_check_lists_behavioural_overrides_with_their_reasons(tmp_path: Path) -> None:
    out = invoke("check", ROOT / "scenarios" / "libya_2019.toml").output
    assert "behavioural overrides (3)" in out
    assert "factions.lna.optimism = 0.2 (default 0.0)" in out
    assert '"no need"' in out  # the reason given on the field's line
    text = (ROOT / "scenarios" / "symmetric_duel.toml").read_text().replace(
        "optimism = 0.2  # synthetic", "optimism = 0.2\n# synthetic", 1)
    bare = tmp_path / "bare.toml"
    bare.write_text(text)
    out = invoke("check", bare).output
    assert "no reason given" in out
    donbas = invoke("check", ROOT / "scenarios" / "donbas_2014.toml").output
    assert "behaviour changed by dated events" in donbas
    assert "fatigue_rate" in donbas


# ----------------------------------------------------------------------------- help
COMMANDS = sorted(typer.main.get_command(app).commands)


def test_the_documented_commands_exist() -> None:
    assert {"check", "run", "explain", "fields"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_has_an_example(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert "negsim" in result.output


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_reads_whole_at_80_columns(command: str) -> None:
    """No word of the help (an example, a path) is cut with an ellipsis in a terminal of 80
    columns, and no line is wider."""
    args = [command, "--help"] if command else ["--help"]
    result = CliRunner().invoke(app, args, env={**ENV, "COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_top_level_help() -> None:
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    for command in ("check", "run", "explain", "fields"):
        assert command in result.output


# ----------------------------------------------------------------------------- end to end
def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NEGSIM_DEBUG"}
    env.update(COLUMNS="400", NO_COLOR="1")
    return env


def test_python_dash_m_sim_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "sim", "--help"], capture_output=True,
                          text=True, cwd=ROOT, env=_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "run" in proc.stdout and "Example" in proc.stdout


def test_negsim_run_bad_file_end_to_end(tmp_path: Path) -> None:
    negsim = Path(sys.executable).with_name("negsim")
    if not negsim.exists():
        pytest.skip("negsim console script not installed next to this python")
    scn = tmp_path / "bad.toml"
    scn.write_text(_capacty, encoding="utf-8")
    out_dir = tmp_path / "out"
    proc = subprocess.run([str(negsim), "run", str(scn), *FAST, "--out", str(out_dir)],
                          capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"line {line_no(_capacty, 'capacty')}, backers.east_patron.capacty" in proc.stderr
    assert str(scn) in proc.stderr
    assert not out_dir.exists()
    assert not (tmp_path / "results").exists()


def test_the_command_line_imports_the_model_only_to_run_it() -> None:
    """`negsim --help`, `check` and `explain` start without Mesa, pandas and SciPy (1.5 s of
    imports); the commands that run or read results import them when they start."""
    code = ("import sys; from sim.cli import app; import sim; sim.load_scenario; "
            "heavy = sorted({'mesa', 'pandas', 'scipy', 'matplotlib'} & set(sys.modules)); "
            "print(','.join(heavy)); sim.NegotiationModel; print('mesa' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.splitlines()
    assert out == ["", "True"]  # none of them at first; Mesa once the model is asked for


# ----------------------------------------------------------------------------- Ctrl-C
def test_a_ctrl_c_before_the_runs_says_so(monkeypatch, capsys, tmp_path: Path) -> None:
    """typer turns a KeyboardInterrupt into exit code 130 and prints nothing: the command
    line says it was interrupted (the runs themselves say what they keep, see test_sweep)."""
    import sim.cli.running

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.cli.running, "load", interrupted)
    monkeypatch.delenv("NEGSIM_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["negsim", "run", str(DUEL), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as got:
        sim.cli.main()
    assert got.value.code == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_ctrl_c_while_the_command_line_imports_is_one_line(monkeypatch, capsys) -> None:
    """The command line's imports (typer, rich, pydantic) take a moment; a Ctrl-C then printed
    Python's traceback."""
    import importlib.abc

    import sim.__main__

    class Interrupting(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "sim.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "sim.cli")
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    with pytest.raises(SystemExit) as got:
        sim.__main__.main()
    assert got.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


# ---------------------------------------------------------------------- what a user meets
def test_version():
    r = invoke("--version")
    assert r.exit_code == 0 and r.output.startswith("negsim ")


def test_explain_past_a_sane_number_of_runs_is_an_error_not_a_hang():
    r = invoke("explain", DUEL, "--run", "1000000000")
    assert r.exit_code == 2 and "--run" in r.output


def test_explain_tells_a_far_run_at_once():
    import time

    t = time.time()
    r = invoke("explain", DUEL, "--run", "9999999", "--steps", "3")
    assert r.exit_code == 0, r.output
    assert "run 9999999" in r.output and time.time() - t < 30


@pytest.mark.parametrize(("make", "needle"), [
    (lambda p: (p / "f").write_text("x") and p / "f", "is a file"),
    (lambda p: (p / "f").write_text("x") and p / "f" / "sub", "no folder can be made under it"),
    (lambda p: (p / "d").mkdir() or (p / "d" / "x.txt").write_text("x") and p / "d",
     "is not empty"),
])
def test_out_that_cannot_hold_results_is_bad_input_and_leaves_nothing(tmp_path, make, needle):
    out = make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    r = invoke("run", DUEL, *FAST, "--out", out)
    assert r.exit_code == 2, r.output
    assert needle in " ".join(r.output.split()) and "Traceback" not in r.output
    assert sorted(tmp_path.rglob("*")) == before


def test_an_unreachable_scheduler_leaves_no_folder_behind(tmp_path, monkeypatch):
    monkeypatch.setattr("sim.executors.CONNECT_TIMEOUT", "1s")
    out = tmp_path / "o"
    r = invoke("run", DUEL, *FAST, "--scheduler", "tcp://127.0.0.1:9", "--out", out)
    assert r.exit_code == 2, r.output
    assert "could not connect" in " ".join(r.output.split())
    assert not out.exists()  # so the same command can be given again


def test_counts_read_as_words():
    r = invoke("check", DUEL)
    assert "1 mediator," in " ".join(r.output.split())  # not "1 mediators"
    r = invoke("run", DUEL, "--runs", "1", "--steps", "2", "--quiet", "--out",
               Path(tempfile.mkdtemp()) / "o")
    assert "outcomes over 1 run" in r.output and "1 runs" not in r.output


def test_explain_shows_a_dated_event_at_its_own_date():
    """An event acts in the week that holds its date; explain gives that date too."""
    libya = Path(__file__).resolve().parents[1] / "scenarios" / "libya_2019.toml"
    r = invoke("explain", libya, "--steps", "40")
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "scenario (dated 2019-11-27): Turkey-GNA security and maritime" in text
