"""`negsim check`, `negsim explain` and `negsim fields`: what a scenario says, what one run did,
and every field a scenario can set."""

from __future__ import annotations

import datetime
import json
import textwrap
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from sim.cli.app import (
    EXIT_BAD_INPUT,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    StepsOpt,
    app,
    err,
    guarded,
    load,
    out,
    plain,
)
from sim.scenario import Scenario, ScenarioError
from sim.text import count


# ---------------------------------------------------------------------- check
@app.command()
@guarded
def check(
    files: Annotated[list[Path], typer.Argument(
        help="Scenario files, or experiment (sweep spec) files, to validate.",
        show_default=False)],
    set_: SetOpt = None,
) -> None:
    """Validate scenario files (and overrides), or experiment files as the experiments they
    are (their scenario, every point of their design); exit 2 naming the file, field, line and
    what was expected for each invalid one.

    Example: negsim check scenarios/*.toml experiments/*.toml
    """
    from sim.sweep import SweepError, is_spec_file

    bad = 0
    for f in files:
        if f.suffix.lower() == ".toml" and f.is_file() and is_spec_file(f):
            try:
                _check_experiment(f, set_)
            except (SweepError, ScenarioError) as exc:
                err.print(f"[bold red]invalid:[/] {plain(str(exc))}", soft_wrap=True)
                bad += 1
            continue
        try:
            scn = load(f, set_)
        except ScenarioError as exc:
            err.print(f"[bold red]invalid:[/] {plain(str(exc))}", soft_wrap=True)
            bad += 1
            continue
        out.print(f"[green]ok[/] {plain(f)}: {plain(repr(scn.model.name))}, "
                  f"{count(len(scn.factions), 'faction')}, "
                  f"{count(len(scn.backers), 'backer')}, "
                  f"{count(len(scn.mediators), 'mediator')}, "
                  f"{len(scn.sites)} sites, {len(scn.events)} events, "
                  f"{scn.model.weeks} weeks from {scn.model.start_date}")
        _print_overrides(f, scn)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


def _check_experiment(path: Path, set_: list[str] | None) -> None:
    """Build the experiment `negsim sweep FILE` would run (every point validated) and say
    what it is."""
    from sim.cli.running import SweepOptions, sweep_experiment_of

    exp, spec, design = sweep_experiment_of(SweepOptions(target=path, set_=set_, yes=True), 1)
    name = plain(repr(exp.points[0].model.name))
    out.print(f"[green]ok[/] {plain(path)}: an experiment on {name} ({plain(spec.scenario)}): "
              f"{design.design} over {count(len(design.paths), 'path')}"
              f", {count(len(exp.points), 'point')} x {count(exp.runs, 'run')} = "
              f"{count(exp.total_runs, 'run')}", soft_wrap=True)


def _print_overrides(path: Path, scn: Scenario) -> None:
    """List the behavioural defaults a scenario overrides, with the reason its file gives."""
    from sim.scenario import behaviour_events, behaviour_overrides, override_reason

    found = behaviour_overrides(scn)
    dated = behaviour_events(scn)
    if dated:
        out.print(f"  behaviour changed by dated events ({len(dated)}):")
        for epath, value, what in dated:
            out.print(f"    {plain(epath)} = {value!r}: {plain(what)}", soft_wrap=True)
    if not found:
        out.print("  behaviour: the library's defaults, no overrides")
        return
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    out.print(f"  behavioural overrides ({len(found)}):")
    for fpath, value, default in found:
        reason = override_reason(text, fpath) or "[yellow]no reason given[/]"
        out.print(f"    {plain(fpath)} = {value!r} (default {default!r}): "
                  + (reason if reason.startswith("[yellow]") else plain(reason)),
                  soft_wrap=True)



# ---------------------------------------------------------------------- explain
STYLE = {
    "proposal": "bold cyan", "response": "cyan", "ceasefire": "bold green", "truce": "green",
    "breakdown": "bold red", "incident": "red", "capture": "yellow", "escalation": "magenta",
    "victory": "bold yellow", "event": "bold blue", "handover": "yellow", "truce_end": "green",
    "battle": "dim",
}


@app.command()
@guarded
def explain(
    scenario: ScenarioArg,
    seed: SeedOpt = 0,
    run_: Annotated[int, typer.Option("--run", min=0, max=10_000_000, metavar="I",
                                      help="Which replicate of --seed to tell (as in "
                                           "runs.parquet). Example: --run 17")] = 0,
    steps: StepsOpt = None,
    set_: SetOpt = None,
    battles: Annotated[bool, typer.Option("--battles",
                                          help="Also list repelled attacks.")] = False,
) -> None:
    """Tell one run as a dated story: proposals and answers with their reasons, support,
    captures, ceasefires and breakdowns. Same seed and run, same story.

    Example: negsim explain scenarios/libya_2019.toml --seed 3
    """
    from sim.experiment import run_seed
    from sim.runner import run_one

    scn = load(scenario, set_)
    s = run_seed(seed, run_)
    row, _, ev = run_one(scn, run_, s, steps)
    out.print(f"[bold]{plain(scn.model.name)}[/] - seed {seed}, run {run_} (run seed {s})")
    # a dated event acts in the week that holds its date: say its own date too
    dated = {e.description: e.date for e in scn.events}
    last = None
    for r in ev.itertuples():
        if r.kind == "battle" and not battles:
            continue
        d = r.date.date()
        if d != last:
            out.print(f"\n[bold]{d}[/] (week {r.step})")
            last = d
        style = STYLE.get(r.kind, "")
        head = f"{r.kind:<10} {r.actor}"
        if r.kind == "response":
            head += f" -> #{r.proposal_id} by {r.target}"
        elif r.kind == "proposal":
            head += f" #{r.proposal_id}"
        elif r.target and r.target != "all":
            head += f" -> {r.target}"
        if r.kind == "event":
            when = next((d for desc, d in dated.items() if str(r.reason).startswith(desc)), None)
            if when is not None and when != r.date.date():
                head += f" (dated {when})"
        out.print(f"  [{style}]{plain(head)}[/]: {plain(str(r.reason))}" if style
                  else f"  {plain(head)}: {plain(str(r.reason))}")
    out.print(f"\n[bold]Outcome:[/] {row['outcome']} after {row['weeks']} weeks; "
              + ", ".join(f"{k[8:]} {v:.0%}" for k, v in row.items()
                          if k.startswith("control_"))
              + f"; {count(row['n_proposals'], 'proposal')}, "
                f"{count(row['n_ceasefires'], 'ceasefire')}, {count(row['n_truces'], 'truce')}, "
                f"{count(row['n_breakdowns'], 'breakdown')}")


# ---------------------------------------------------------------------- schema
@app.command()
def fields(
    table: Annotated[str | None, typer.Argument(
        help="model, factions, backers, mediators, sites, events, initiative, or observed "
             "(every kind of [[observed]] entry) (default: all).")] = None,
) -> None:
    """List every scenario field with its kind, default, unit, allowed range and meaning.

    Kinds: a [bold]fact[/] is stated by the scenario (actors, forces, capacities, the map,
    events); a [bold]behaviour[/] has one library default calibrated on several wars, which a
    scenario overrides only with a case-specific reason (negsim check lists such overrides); a
    [bold]setting[/] says how a run is set up and classified.

    Example: negsim fields backers
    """
    from sim import observed as O
    from sim import scenario as S

    tables = {"model": S.ModelParams, "factions": S.Faction, "backers": S.Backer,
              "mediators": S.Mediator, "sites": S.Site, "events": S.Event,
              "initiative": S.Initiative}
    tables |= {f"observed:{k}": cls for k, cls in O.KINDS.items()}
    if table == "observed":
        tables = {k: v for k, v in tables.items() if k.startswith("observed:")}
        table = None
    if table is not None and table not in tables:
        err.print(f"[bold red]error:[/] unknown table {table!r}; expected one of "
                  + ", ".join([*tables, "observed"]))
        raise typer.Exit(EXIT_BAD_INPUT)
    width = max(40, min(out.width, 100))
    first = True
    for name, cls in tables.items():
        if table is not None and name != table:
            continue
        if not first:
            out.print()
        first = False
        head = ("[model]" if name == "model" else "[[events]]" if name == "events"
                else "[events.initiative]" if name == "initiative"
                else "[[observed]]" if name.startswith("observed:")  # its kind: the first field
                else f"[{name}.NAME]")  # valid TOML: one table per actor or site
        out.print(Text(head, style="bold"))
        for fname, f in cls.model_fields.items():
            _print_field(fname, f, width)


def _print_field(name: str, f, width: int) -> None:
    """One field as TOML: its meaning and kind (unit, range) as a comment, then
    ``name = default`` (commented out when the field is required or unset by default)."""
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    meta = "; ".join(x for x in (extra.get("kind", "fact"), extra.get("unit", ""), _range(f))
                     if x)
    lines = textwrap.wrap(f.description or "", width - 2, break_on_hyphens=False) or [""]
    if len(lines[-1]) + len(meta) + 3 <= width - 2:  # the kind, unit and range stay whole
        lines[-1] = f"{lines[-1]} ({meta})".lstrip()
    else:
        lines.append(f"({meta})")
    out.print()
    for line in lines:
        out.print(Text(f"# {line}", style="dim"))
    if f.is_required():
        out.print(Text(f"# {name} = ...  (required)", style="yellow"))
        return
    value = toml_value(f.get_default(call_default_factory=True))
    if value is None:
        out.print(Text(f"# {name} =  (unset by default)", style="dim"))
    else:
        out.print(Text.assemble((name, "bold cyan"), f" = {value}"))


def toml_value(v: Any) -> str | None:
    """A default written as TOML (None: TOML has no null, so an unset field has no value)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(str(toml_value(x)) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML form for {v!r}")


def _range(f) -> str:
    """A field's bounds, e.g. ">= 0, <= 1,000,000" ("" when unbounded)."""
    lo = hi = None
    for m in f.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">")):
            if getattr(m, attr, None) is not None:
                lo = f"{sym} {_num(getattr(m, attr))}"
        for attr, sym in (("le", "<="), ("lt", "<")):
            if getattr(m, attr, None) is not None:
                hi = f"{sym} {_num(getattr(m, attr))}"
    return ", ".join(x for x in (lo, hi) if x)


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"
