"""Scenario loading: every kind of bad input is a ScenarioError naming file, field, line, expected.

Invalid scenarios are small edits of ``scenarios/symmetric_duel.toml`` written into ``tmp_path``;
expected line numbers are computed from the edited text, never hard-coded.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError
from scenario_text import BASE, DUEL, SCENARIOS, add, edit, event, table_span

from sim.scenario import Scenario, ScenarioError, load_scenario, parse_override


# ----------------------------------------------------------------------------- helpers
def line_no(text: str, needle: str, after: str | None = None) -> int:
    """1-based line of the first line containing `needle` (after the line containing `after`)."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        start = next(i for i, ln in enumerate(lines) if after in ln)
    return next(i for i in range(start, len(lines)) if needle in lines[i]) + 1


def write(tmp_path: Path, text: str | bytes, name: str = "scn.toml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def rejected(path: Path | str, overrides=()) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return info.value


def problem(exc: ScenarioError, path: str) -> tuple[str, int | None, str]:
    """The one problem reported for `path` (fails listing all problems if there is none)."""
    hits = [p for p in exc.problems if p[0] == path]
    assert hits, f"no problem for {path!r}; got {exc.problems}"
    return hits[0]


def assert_names(exc: ScenarioError, path: str, line: int | None, *expected: str) -> None:
    """The error names the file, the field path, the line (if given) and what was expected."""
    msg = str(exc)
    assert str(exc.source) in msg
    p, ln, what = problem(exc, path)
    assert ln == line, f"{path}: line {ln}, expected line {line}\n{msg}"
    assert f"{path}: expected " in msg
    if line is not None:
        assert f"line {line}, {path}: expected" in msg
    for e in expected:
        assert e in what, f"{e!r} not in {what!r}"


# ----------------------------------------------------------------------------- happy paths
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_load(path: Path) -> None:
    scn = load_scenario(path)
    assert isinstance(scn, Scenario)
    assert len(scn.armed_factions) >= 2
    assert scn.sites and scn.model.weeks >= 1
    for e in scn.events:  # every event falls inside the run
        assert 1 <= scn.date_step(e.date) <= scn.model.weeks


def test_base_text_is_the_valid_duel(tmp_path: Path) -> None:
    scn = load_scenario(write(tmp_path, BASE))
    assert set(scn.factions) == {"west", "east"}
    assert scn.backers["east_patron"].client == "east"
    assert scn.model.start_date == dt.date(2020, 1, 6)


def test_loaded_scenario_is_frozen() -> None:
    scn = load_scenario(DUEL)
    with pytest.raises(ValidationError):
        scn.model.weeks = 3
    with pytest.raises(ValidationError):
        scn.factions["west"].strength = 1.0
    with pytest.raises(ValidationError):
        scn.backers = {}
    assert scn.model.weeks == load_scenario(DUEL).model.weeks


def test_display_names_are_filled_from_table_names(tmp_path: Path) -> None:
    text = add("[factions.west]", 'name = "Western Alliance"\n')
    scn = load_scenario(write(tmp_path, text))
    assert scn.factions["west"].name == "Western Alliance"  # given names are kept
    assert scn.factions["east"].name == "East"
    assert scn.backers["east_patron"].name == "East Patron"
    assert scn.mediators["un"].name == "Un"
    assert scn.sites["west_capital"].name == "West Capital"
    for group in (scn.factions, scn.backers, scn.mediators, scn.sites):
        assert all(v.name for v in group.values())


def test_digest_is_stable_and_follows_content() -> None:
    a, b = load_scenario(DUEL), load_scenario(DUEL)
    assert a.digest() == b.digest()
    assert load_scenario(DUEL, ["model.weeks=3"]).digest() != a.digest()


def test_step_date_and_date_step_round_trip() -> None:
    scn = load_scenario(DUEL)
    start, day = scn.model.start_date, dt.timedelta(days=1)
    assert scn.step_date(0) == start
    for step in range(1, scn.model.weeks + 1):
        first, last = scn.step_date(step - 1), scn.step_date(step) - day
        # step s covers the week that ends on the day before step_date(s)
        assert scn.date_step(first) == step
        assert scn.date_step(last) == step
        assert (scn.step_date(step) - scn.step_date(step - 1)).days == 7
    d = start
    while d < scn.end_date:
        s = scn.date_step(d)
        assert scn.step_date(s - 1) <= d < scn.step_date(s)
        d += dt.timedelta(days=3)


def test_event_date_bounds_match_the_steps(tmp_path: Path) -> None:
    scn0 = load_scenario(DUEL)
    last_day = scn0.end_date - dt.timedelta(days=1)
    ok = load_scenario(write(tmp_path, event(f"date = {scn0.model.start_date}",
                                             text=event(f"date = {last_day}"))))
    assert sorted(ok.date_step(e.date) for e in ok.events) == [1, ok.model.weeks]
    exc = rejected(write(tmp_path, event(f"date = {scn0.end_date}"), "late.toml"))
    problem(exc, "events[0].date")


# ----------------------------------------------------------------------------- parse_override
@pytest.mark.parametrize(("text", "expected"), [
    ("model.weeks=3", ("model.weeks", 3)),
    ("  model.weeks = 5 ", ("model.weeks", 5)),
    ("backers.west_patron.capacity=0.5", ("backers.west_patron.capacity", 0.5)),
    ("mediators.un.withdrawal=true", ("mediators.un.withdrawal", True)),
    ('model.name="Duel 2"', ("model.name", "Duel 2")),
    ("model.name=Hello world", ("model.name", "Hello world")),  # bare string
    ("model.start_date=2021-01-04", ("model.start_date", dt.date(2021, 1, 4))),
    ('backers.west_patron.red_lines=["west_town"]',
     ("backers.west_patron.red_lines", ["west_town"])),
    ("model.name=a=b", ("model.name", "a=b")),  # split on the first '='
])
def test_parse_override_valid(text: str, expected: tuple) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["model.weeks", "weeks=3", "=3", "Model.weeks=3",
                                  "model..weeks=3", "model.weeks 3", ""])
def test_parse_override_malformed(text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_override(text)
    exc = info.value
    assert exc.source == "--set"
    msg = str(exc)
    assert msg.startswith("--set")
    assert "PATH=VALUE" in msg or "dotted field path" in msg


# ----------------------------------------------------------------------------- file level
def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    text = edit("[model]", "weeks = 104", "weeks = = 104")
    p = write(tmp_path, text)
    exc = rejected(p)
    msg = str(exc)
    assert str(p) in msg
    assert "TOML" in msg
    assert f"line {line_no(text, 'weeks = = 104')}" in msg


def test_unclosed_header_names_line(tmp_path: Path) -> None:
    text = BASE.replace("[sites.east_town]", "[sites.east_town", 1)
    exc = rejected(write(tmp_path, text))
    assert f"line {line_no(text, '[sites.east_town')}" in str(exc)


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "empty"),
    (b"  \n\n\t\n", "empty"),
    (b"\x00\x01\x02SQLite format 3\x00" * 8, "binary"),
    (BASE.replace("Symmetric duel", "Sym\u00e9trique").encode("latin-1"), "UTF-8"),
    (b"\xff\xfe" + BASE.encode("utf-16-le"), "UTF-8|binary"),  # UTF-16 has NUL bytes
], ids=["empty", "blank", "binary", "latin1", "utf16"])
def test_unreadable_content(tmp_path: Path, content: bytes, expected: str) -> None:
    p = write(tmp_path, content)
    exc = rejected(p)
    assert exc.source == str(p)
    assert str(p) in str(exc)
    assert any(e in str(exc) for e in expected.split("|")), str(exc)
    assert exc.problems[0][0] == ""  # about the whole file, not a field


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope.toml"
    exc = rejected(p)
    assert str(p) in str(exc) and "not found" in str(exc)


def test_directory(tmp_path: Path) -> None:
    exc = rejected(tmp_path)
    assert str(tmp_path) in str(exc) and "directory" in str(exc)


# ----------------------------------------------------------------------------- unknown names
def test_unknown_field_names_path_and_its_own_line(tmp_path: Path) -> None:
    # `capacity` also appears under west_patron: the line must be east_patron's.
    text = edit("[backers.east_patron]", "capacity = 6.0", "capacty = 6.0")
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "backers.east_patron.capacty", line_no(text, "capacty"), "no such field")


def test_unknown_field_after_header_comment(tmp_path: Path) -> None:
    text = edit("[backers.east_patron]", "capacity = 6.0", "capacty = 6.0")
    text = text.replace("[backers.east_patron]", "[backers.east_patron]  # the east", 1)
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "backers.east_patron.capacty", line_no(text, "capacty"))


def test_unknown_model_field(tmp_path: Path) -> None:
    text = add("[model]", "wekks = 52\n")
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "model.wekks", line_no(text, "wekks"), "no such field")


@pytest.mark.parametrize(("text", "path", "needle"), [
    (BASE.replace("[model]", "[modle]", 1), "modle", "[modle]"),
    (BASE.replace("[backers.east_patron]", "[backer.east_patron]", 1), "backer",
     "[backer.east_patron]"),
    (BASE.replace("[model]", "weeks = 52\n\n[model]", 1), "weeks", "weeks = 52"),
], ids=["table", "table-with-subtable", "key-before-first-header"])
def test_unknown_top_level_name_has_path_and_line(tmp_path: Path, text: str, path: str,
                                                  needle: str) -> None:
    exc = rejected(write(tmp_path, text))
    assert_names(exc, path, line_no(text, needle), "no such field")


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    text = edit("[backers.east_patron]", "capacity = 6.0", "capacty = 6.0")
    text = edit("[factions.west]", "strength = 100.0", 'strength = "lots"', text)
    exc = rejected(write(tmp_path, text))
    problem(exc, "backers.east_patron.capacty")
    problem(exc, "factions.west.strength")


# ----------------------------------------------------------------------------- types and ranges
@pytest.mark.parametrize(("header", "old", "new", "path", "expected"), [
    ("[factions.west]", "strength = 100.0", 'strength = "lots"', "factions.west.strength",
     "number"),
    ("[model]", "weeks = 104", "weeks = 10.5", "model.weeks", "integer"),
    ("[model]", "start_date = 2020-01-06", 'start_date = "January"', "model.start_date", "date"),
    ("[sites.west_capital]", 'neighbours = ["west_town"]', 'neighbours = "west_town"',
     "sites.west_capital.neighbours", "tuple"),
    ("[factions.west]", 'capital = "west_capital"', "capital = 3", "factions.west.capital",
     "string"),
    ("[mediators.un]", "activity = 0.25", 'activity = "often"', "mediators.un.activity",
     "number"),
])
def test_wrong_type(tmp_path: Path, header, old, new, path, expected) -> None:
    text = edit(header, old, new)
    exc = rejected(write(tmp_path, text))
    (got,) = tomllib.loads(new).values()
    assert_names(exc, path, line_no(text, new, after=header), expected, repr(got))


@pytest.mark.parametrize(("header", "line", "path", "bound"), [
    ("[factions.west]", "discount = 1.5", "factions.west.discount", "less than or equal to 1"),
    ("[factions.west]", "discount = nan", "factions.west.discount", "less than or equal to 1"),
    ("[factions.west]", "attack_threshold = 1.0", "factions.west.attack_threshold",
     "less than 1"),
    ("[backers.east_patron]", "arms_lag = -2", "backers.east_patron.arms_lag",
     "greater than or equal to 0"),
    ("[mediators.un]", "bias = 2.0", "mediators.un.bias", "less than or equal to 1"),
    ("[sites.east_town]", "defence = 0", "sites.east_town.defence",
     "greater than or equal to 0.1"),
    ("[model]", "victory_share = 0.5", "model.victory_share", "greater than 0.5"),
], ids=lambda v: v.replace(" ", "") if isinstance(v, str) and " = " in v else "")
def test_out_of_range_names_the_bound(tmp_path: Path, header, line, path, bound) -> None:
    key = line.split("=")[0].strip()
    text = BASE
    start, stop = table_span(text, header)
    if f"\n{key} =" in "\n" + text[start:stop]:
        old = next(ln for ln in text[start:stop].splitlines() if ln.startswith(f"{key} ="))
        text = edit(header, old, line)
    else:
        text = add(header, line + "\n")
    exc = rejected(write(tmp_path, text))
    assert_names(exc, path, line_no(text, line, after=header), bound)


def test_negative_capacity(tmp_path: Path) -> None:
    text = edit("[backers.west_patron]", "capacity = 6.0", "capacity = -1.0")
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "backers.west_patron.capacity", line_no(text, "capacity = -1.0"),
                 "greater than or equal to 0", "-1.0")


def test_weeks_zero(tmp_path: Path) -> None:
    text = edit("[model]", "weeks = 104", "weeks = 0")
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "model.weeks", line_no(text, "weeks = 0"), "greater than or equal to 1")


# ----------------------------------------------------------------------------- references
REFERENCES = [
    # (id, text, path, line needle, (header for the needle), expected words)
    ("backer-client", edit("[backers.east_patron]", 'client = "east"', 'client = "eest"'),
     "backers.east_patron.client", 'client = "eest"', None, ("faction", "'eest'", "east")),
    ("site-controller",
     edit("[sites.east_town]", 'controller = "east"', 'controller = "nobody"'),
     "sites.east_town.controller", 'controller = "nobody"', None, ("faction", "'nobody'")),
    ("site-neighbour",
     edit("[sites.east_capital]", 'neighbours = ["east_town"]', 'neighbours = ["east_twn"]'),
     "sites.east_capital.neighbours", "east_twn", None, ("site", "'east_twn'")),
    ("mediator-patrons", add("[mediators.un]", 'patrons = ["ghost"]\n'),
     "mediators.un.patrons", "ghost", None, ("backer", "'ghost'")),
    ("red-line-site", add("[backers.west_patron]", 'red_lines = ["atlantis"]\n'),
     "backers.west_patron.red_lines", "atlantis", None, ("site", "'atlantis'")),
    ("faction-capital",
     edit("[factions.west]", 'capital = "west_capital"', 'capital = "nowhere"'),
     "factions.west.capital", "nowhere", None, ("site", "'nowhere'")),
    ("mediator-favours", add("[mediators.un]", 'favours = "north"\n'),
     "mediators.un.favours", "north", None, ("bloc", "'north'")),
    ("initiative-mediator",
     event("date = 2020-03-02", 'initiative = { mediator = "eu" }'),
     "events[0].initiative", "initiative = ", None, ("mediator", "'eu'", "un")),
    ("initiative-guarantor",
     event("date = 2020-03-02", 'initiative = { mediator = "un", guarantor = "nato" }'),
     "events[0].initiative", "initiative = ", None, ("'nato'",)),
]


@pytest.mark.parametrize(("text", "path", "needle", "after", "expected"),
                         [r[1:] for r in REFERENCES], ids=[r[0] for r in REFERENCES])
def test_reference_to_unknown_actor(tmp_path: Path, text, path, needle, after, expected) -> None:
    exc = rejected(write(tmp_path, text))
    hits = [p for p in exc.problems if p[0].startswith(path)]
    assert len(hits) == 1, exc.problems
    full_path, line, what = hits[0]
    assert line == line_no(text, needle, after=after), str(exc)
    assert f"line {line}, {full_path}: expected " in str(exc)
    for e in expected:
        assert e in what


def test_initiative_mediator_in_subtable_is_located(tmp_path: Path) -> None:
    text = event("date = 2020-03-02", "", "[events.initiative]", 'mediator = "eu"')
    exc = rejected(write(tmp_path, text))
    _, line, what = problem(exc, "events[0].initiative.mediator")
    assert line is not None and line >= line_no(text, "[[events]]")
    assert "'eu'" in what


def test_backer_without_client(tmp_path: Path) -> None:
    text = edit("[backers.east_patron]", 'client = "east"\n', "")
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "backers.east_patron.client", line_no(text, "[backers.east_patron]"),
                 "required")


def test_site_without_controller(tmp_path: Path) -> None:
    text = edit("[sites.west_town]", 'controller = "west"\n', "")
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "sites.west_town.controller", line_no(text, "[sites.west_town]"),
                 "required")


def test_single_bloc_is_rejected(tmp_path: Path) -> None:
    text = edit("[factions.east]", 'bloc = "east"', 'bloc = "west"')
    exc = rejected(write(tmp_path, text))
    _, _, what = problem(exc, "factions")
    assert "two armed factions" in what


# ----------------------------------------------------------------------------- events
@pytest.mark.parametrize("date", ["2019-12-30", "2030-01-07"])
def test_event_outside_the_run(tmp_path: Path, date: str) -> None:
    text = event('description = "early or late"', f"date = {date}")
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "events[0].date", line_no(text, f"date = {date}"),
                 "within the run", "2020-01-06", "2022-01-02")


def test_second_event_is_numbered_and_located(tmp_path: Path) -> None:
    text = event("date = 2030-03-02", text=event("date = 2020-03-02"))
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "events[1].date", line_no(text, "date = 2030-03-02"), "within the run")
    assert not [p for p in exc.problems if p[0].startswith("events[0]")]


def test_event_without_date(tmp_path: Path) -> None:
    text = event('description = "undated"')
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "events[0].date", line_no(text, "[[events]]"), "required")


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("backers.ghost.capacity", "3.0", "'ghost'"),
    ("backers.west_patron.capacty", "3.0", "'capacty'"),
    ("capacity", "3.0", "a path like"),
    ("backers.west_patron.capacity.x", "3.0", "a path like"),
    ("sites.west_town.controller", "1", "structure"),
    ("backers.west_patron.client", "1", "structure"),
    ("factions.west.bloc", "1", "structure"),
    ("sites.west_town.neighbours", "1", "structure"),
    ("factions.west.discount", "1.5", "less than or equal to 1"),
])
def test_event_set_path(tmp_path: Path, key: str, value: str, expected: str) -> None:
    text = event("date = 2020-03-02", f'set = {{ "{key}" = {value} }}')
    exc = rejected(write(tmp_path, text))
    assert_names(exc, f"events[0].set.{key}", line_no(text, "set = {"), expected)


def test_event_set_as_subtable_is_located(tmp_path: Path) -> None:
    text = event("date = 2020-03-02", "", "[events.set]", '"sites.west_town.controller" = 1')
    exc = rejected(write(tmp_path, text))
    _, line, what = problem(exc, "events[0].set.sites.west_town.controller")
    assert line is not None and line >= line_no(text, "[[events]]")
    assert "structure" in what


def test_event_scale_of_a_flag(tmp_path: Path) -> None:
    text = event("date = 2020-03-02", 'scale = { "mediators.un.withdrawal" = 2.0 }')
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "events[0].scale.mediators.un.withdrawal", line_no(text, "scale = {"),
                 "numeric")


def test_event_set_with_a_string_value_names_the_path_once(tmp_path: Path) -> None:
    text = event("date = 2020-03-02", 'set = { "model.tempo" = "fast" }')
    exc = rejected(write(tmp_path, text))
    # One problem, for the path the user wrote (not one per member of the value's type union).
    assert [p[0] for p in exc.problems] == ["events[0].set.model.tempo"], str(exc)
    assert "'fast'" in exc.problems[0][2]


def test_valid_events_load(tmp_path: Path) -> None:
    text = event("date = 2020-03-02", 'set = { "backers.west_patron.capacity" = 3.0 }',
                 'scale = { "sites.west_town.value" = 0.5 }',
                 'initiative = { mediator = "un", duration_weeks = 4, guarantor = "un" }')
    scn = load_scenario(write(tmp_path, text))
    (e,) = scn.events
    assert e.set == {"backers.west_patron.capacity": 3.0}
    assert e.initiative.mediator == "un"
    assert scn.date_step(e.date) == 9


# ----------------------------------------------------------------------------- arms+fighters+money
@pytest.mark.parametrize(("mix", "total"), [((0.5, 0.5, 0.5), "1.5"), ((0.5, 0.2, 0.2), "0.9"),
                                            ((0.0, 0.0, 0.0), "0")])
def test_support_mix_must_sum_to_one(tmp_path: Path, mix, total) -> None:
    arms, fighters, money = mix
    text = add("[backers.west_patron]", f"arms = {arms}\nfighters = {fighters}\nmoney = {money}\n")
    exc = rejected(write(tmp_path, text))
    assert_names(exc, "backers.west_patron", line_no(text, "[backers.west_patron]"),
                 "arms + fighters + money", "sum to 1", f"sum to {total})")


def test_support_mix_summing_to_one_is_fine(tmp_path: Path) -> None:
    text = add("[backers.west_patron]", "arms = 0.1\nfighters = 0.2\nmoney = 0.7\n")
    scn = load_scenario(write(tmp_path, text))
    assert scn.backers["west_patron"].money == pytest.approx(0.7)


# ----------------------------------------------------------------------------- overrides
def test_valid_overrides_are_applied() -> None:
    scn = load_scenario(DUEL, ["model.weeks=3", ("backers.west_patron.capacity", 0.0),
                               "model.name=Hello world"])
    assert scn.model.weeks == 3
    assert scn.backers["west_patron"].capacity == 0.0
    assert scn.model.name == "Hello world"
    assert load_scenario(DUEL).model.weeks == 104  # the file is not changed


@pytest.mark.parametrize(("override", "path", "expected"), [
    ("model.wekks=3", "model.wekks", "no such field"),
    ("backers.ghost.capacity=1", "backers.ghost.capacity", "no 'backers.ghost'"),
    ("mediators.eu.leverage=0.1", "mediators.eu.leverage", "no 'mediators.eu'"),
    ("model.weeks=many", "model.weeks", "integer"),
    ("model.weeks=0", "model.weeks", "greater than or equal to 1"),
    ("backers.west_patron.capacity=-1", "backers.west_patron.capacity",
     "greater than or equal to 0"),
    ("factions.west.strength=1e9", "factions.west.strength", "less than or equal to"),
    ("backers.west_patron.client=ghost", "backers.west_patron.client", "'ghost'"),
])
def test_bad_override_says_it_came_from_set(override: str, path: str, expected: str) -> None:
    exc = rejected(DUEL, [override])
    assert exc.source == str(DUEL)
    (p, line, what), *_ = exc.problems
    assert path in p and "--set" in p, exc.problems
    assert line is None  # not a line of the file
    assert expected in what
    assert "--set" in str(exc)


def test_override_breaking_the_support_mix_says_it_came_from_set() -> None:
    exc = rejected(DUEL, ["backers.west_patron.arms=0.9"])
    (p, line, what), = exc.problems
    assert "sum to 1" in what
    # The file is fine: blaming a line of it would send the user to the wrong place.
    assert "--set" in p, str(exc)
    assert line is None, str(exc)
