"""The `negsim` command line: run, check, explain (and sweep, plot, report, compare)."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from sim.scenario import Scenario, ScenarioError, load_scenario

app = typer.Typer(
    name="negsim",
    help="Simulate ceasefire bargaining in wars with foreign backers and mediators.\n\n"
         "Example: negsim run scenarios/libya_2019.toml --runs 200 --set backers.turkey.capacity=0",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console(emoji=False)  # ":b:" in a spec is text, not an emoji
err = Console(stderr=True, emoji=False)

EXIT_BAD_INPUT = 2
EXIT_RUNS_FAILED = 1
EXIT_INTERRUPTED = 130


class BadInput(Exception):
    """A user error that is not about a scenario file (paths, folders, options)."""


def guarded(fn):
    """Turn input errors into a clear message and exit code 2 (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ScenarioError as exc:
            err.print(f"[bold red]error:[/] {_escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except BadInput as exc:
            err.print(f"[bold red]error:[/] {_escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


def _escape(text: object) -> str:
    """Show user text verbatim (scenario names and paths may contain [brackets])."""
    return escape(str(text))


# ---------------------------------------------------------------------- options
ScenarioArg = Annotated[Path, typer.Argument(
    help="Scenario TOML file, e.g. scenarios/libya_2019.toml.", show_default=False)]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="PATH=VALUE",
    help="Override any scenario field, or what a dated event sets or scales "
         "(events.<date or index>.set.<field>); repeatable. Validated like the file. "
         "Example: --set backers.turkey.capacity=0 --set model.weeks=52 "
         "--set events.2020-01-02.scale.backers.turkey.capacity=1")]
SeedOpt = Annotated[int, typer.Option(
    "--seed", min=0, help="Master seed; run i uses SeedSequence(seed).spawn(runs)[i]. "
                          "Example: --seed 42")]
StepsOpt = Annotated[int | None, typer.Option(
    "--steps", min=1, help="Weeks to simulate (default: the scenario's model.weeks). "
                           "Example: --steps 52")]


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def load(path: Path, sets: list[str] | None) -> Scenario:
    return load_scenario(path, sets or [])


def new_out_dir(out_opt: Path | None, stem: str, kind: str = "") -> Path:
    """The output folder: the one given (must be new or empty) or results/<stem>-<time>/."""
    if out_opt is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path("results") / f"{stem}{kind}-{stamp}"
        folder, i = base, 1
        while folder.exists():
            i += 1
            folder = base.with_name(f"{base.name}-{i}")
        return folder
    if out_opt.exists() and (not out_opt.is_dir() or any(out_opt.iterdir())):
        raise BadInput(f"--out {out_opt}: expected a new or empty folder; it already holds "
                       "results (use --resume to finish an interrupted run, or another --out)")
    return out_opt


def progress_bar(total: int, quiet: bool, label: str = "runs"):
    """A rich progress bar with runs done, rate and ETA; returns (context, advance)."""
    prog = Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("eta"),
        TimeRemainingColumn(), console=err, disable=quiet, transient=False,
    )
    task = prog.add_task(label, total=total, rate="")
    start = [None]

    def advance(n: int) -> None:
        import time

        if start[0] is None:
            start[0] = time.perf_counter()
        prog.advance(task, n)
        t = prog.tasks[0]
        el = time.perf_counter() - start[0]
        if el > 0 and t.completed:
            prog.update(task, rate=f"{t.completed / el:,.0f} runs/s")

    return prog, advance


# ---------------------------------------------------------------------- check
@app.command()
@guarded
def check(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to validate.",
                                                show_default=False)],
    set_: SetOpt = None,
) -> None:
    """Validate scenario files (and overrides); exit 2 naming the file, field, line and what was
    expected for the first invalid one.

    Example: negsim check scenarios/*.toml
    """
    bad = 0
    for f in files:
        try:
            scn = load(f, set_)
        except ScenarioError as exc:
            err.print(f"[bold red]invalid:[/] {_escape(str(exc))}", soft_wrap=True)
            bad += 1
            continue
        out.print(f"[green]ok[/] {_escape(f)}: {_escape(repr(scn.model.name))}, "
                  f"{len(scn.factions)} factions, "
                  f"{len(scn.backers)} backers, {len(scn.mediators)} mediators, "
                  f"{len(scn.sites)} sites, {len(scn.events)} events, "
                  f"{scn.model.weeks} weeks from {scn.model.start_date}")
        _print_overrides(f, scn)
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)


def _print_overrides(path: Path, scn: Scenario) -> None:
    """List the behavioural defaults a scenario overrides, with the reason its file gives."""
    from sim.scenario import behaviour_events, behaviour_overrides, override_reason

    found = behaviour_overrides(scn)
    dated = behaviour_events(scn)
    if dated:
        out.print(f"  behaviour changed by dated events ({len(dated)}):")
        for epath, value, what in dated:
            out.print(f"    {_escape(epath)} = {value!r}: {_escape(what)}", soft_wrap=True)
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
        out.print(f"    {_escape(fpath)} = {value!r} (default {default!r}): "
                  + (reason if reason.startswith("[yellow]") else _escape(reason)),
                  soft_wrap=True)


# ---------------------------------------------------------------------- run
@app.command()
@guarded
def run(
    scenario: ScenarioArg,
    runs: Annotated[int, typer.Option("--runs", "-n", min=1, max=10_000_000,
                                      help="Number of replicates. Example: --runs 1000")] = 200,
    seed: SeedOpt = 0,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, show_default="all cores",
        help="Runs at once: this process and J-1 spawned workers (with --scheduler local, J "
             "Dask workers). Results do not depend on it. Example: --jobs 2")] = None,
    steps: StepsOpt = None,
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Output folder (default results/<scenario>-<timestamp>/). "
                      "Example: --out results/no_turkey")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", metavar="ADDR",
        help="Run on a Dask cluster instead of local processes: a scheduler address, or "
             "'local' for a LocalCluster of --jobs workers. Example: --scheduler "
             "tcp://10.0.0.5:8786")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Finish an interrupted run in --out: checks that the scenario, "
                         "overrides, seed, runs and steps match, keeps finished chunks and runs "
                         "the rest. Example: --out results/libya --resume")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress bar.")] = False,
) -> None:
    """Run N replicates of a scenario and write runs/steps/events tables (Parquet).

    Finished chunks of runs are written as they come; Ctrl-C keeps them and prints the
    command that resumes. Example: negsim run scenarios/libya_2019.toml --runs 500 --jobs 2
    --set backers.turkey.capacity=0
    """
    from sim.cli_sweep import chunks_to_run, local_pool
    from sim.pool import chunk_size_for

    scn = load(scenario, set_)
    jobs = jobs or available_cores()
    # a local pool's workers start now and import while this process does
    size = chunk_size_for(runs, jobs)
    with local_pool(jobs, scheduler, chunks_to_run(1, runs, size, out_dir, resume)) as pool:
        _run(scn, scenario, runs, seed, jobs, steps, set_, out_dir, scheduler, resume, quiet,
             size, pool)


def _run(scn, scenario, runs, seed, jobs, steps, set_, out_dir, scheduler, resume, quiet,
         size, pool) -> None:
    from sim.cli_sweep import executor_for, open_output, report_stop
    from sim.execution import finish_folder
    from sim.results import make_manifest
    from sim.runner import ExecutionError, Interrupted, Results, run_replicates

    manifest = make_manifest(scn, source=str(scenario), overrides=list(set_ or []), seed=seed,
                             runs=runs, steps=steps,
                             extra={"jobs": jobs, "scheduler": scheduler,
                                    "chunk_size": size})
    prog, advance = progress_bar(runs, quiet)
    again = ["run", str(scenario), "--runs", str(runs), "--seed", str(seed),
             *(["--steps", str(steps)] if steps else []),
             *[a for s in (set_ or []) for a in ("--set", s)],
             *(["--scheduler", scheduler] if scheduler else []), "--jobs", str(jobs)]
    folder, manifest = open_output(out_dir, scenario.stem, manifest, resume=resume)
    if manifest.get("complete"):
        out.print(f"{_escape(folder)} is already complete.")
        print_summary(Results.load(folder), scn, folder)
        return
    try:  # from here on, a Ctrl-C says what is kept and how to resume
        with executor_for(jobs, scheduler, pool) as ex, prog:
            res = run_replicates(scn, runs, seed, jobs=jobs, steps=steps, executor=ex,
                                 chunk_size=manifest["chunk_size"],
                                 parts_dir=folder / "parts", progress=advance)
    except (Interrupted, ExecutionError, KeyboardInterrupt) as exc:
        raise typer.Exit(report_stop(exc, folder, again)) from None
    if pool is not None:
        pool.shutdown()  # the runs are done: end the workers before the summary
    finish_folder(folder, manifest, failures=len(res.failures))
    print_summary(res, scn, folder)
    if len(res.failures):
        raise typer.Exit(EXIT_RUNS_FAILED)


def print_summary(res, scn: Scenario, folder: Path | None) -> None:
    from sim.results import ceasefire_timing, outcome_shares, succeeded_by

    runs = res.runs
    n = len(runs)
    t = Table(title=_escape(f"{scn.model.name}: outcomes over {n} runs"),
              title_justify="left")
    t.add_column("outcome")
    t.add_column("runs", justify="right")
    t.add_column("share", justify="right")
    t.add_column("95% interval", justify="right")
    for _, r in outcome_shares(runs, scn.armed_factions).iterrows():
        t.add_row(r["outcome"], str(r["runs"]), f"{r['share']:.1%}",
                  f"{r['low']:.1%} - {r['high']:.1%}")
    out.print(t)
    ct = ceasefire_timing(runs)
    if ct["with_ceasefire"]:
        out.print(f"First open-ended ceasefire: in {ct['with_ceasefire']} of {n} runs "
                  f"({ct['share']:.0%}); median {ct['median']}, IQR {ct['q25']} to {ct['q75']}")
    else:
        out.print(f"First open-ended ceasefire: none in {n} runs")
    sb = succeeded_by(runs)
    if len(sb):
        who = ", ".join(f"{r.proposer} ({r.kind}) {r.runs}" for r in sb.itertuples())
        out.print(f"Ceasefires proposed by: {_escape(who)}")
    if len(res.failures):
        err.print(f"[bold red]{len(res.failures)} runs failed[/]; see failures.parquet")
    if folder is not None:
        out.print(f"Results: {_escape(folder)}/ (runs.parquet, steps.parquet, "
                  "events.parquet, manifest.json)")


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
    run_: Annotated[int, typer.Option("--run", min=0,
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
    from sim.runner import run_one, run_seeds

    scn = load(scenario, set_)
    s = run_seeds(seed, run_ + 1)[run_]
    row, _, ev = run_one(scn, run_, s, steps)
    out.print(f"[bold]{_escape(scn.model.name)}[/] - seed {seed}, run {run_} (run seed {s})")
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
        out.print(f"  [{style}]{_escape(head)}[/]: {_escape(str(r.reason))}" if style
                  else f"  {_escape(head)}: {_escape(str(r.reason))}")
    out.print(f"\n[bold]Outcome:[/] {row['outcome']} after {row['weeks']} weeks; "
              + ", ".join(f"{k[8:]} {v:.0%}" for k, v in row.items()
                          if k.startswith("control_"))
              + f"; {row['n_proposals']} proposals, {row['n_ceasefires']} ceasefires, "
                f"{row['n_truces']} truces, {row['n_breakdowns']} breakdowns")


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
    for name, cls in tables.items():
        if table is not None and name != table:
            continue
        title = ("[model]" if name == "model" else "[[events]]" if name == "events"
                 else "[events.initiative]" if name == "initiative"
                 else f'[[observed]] kind = "{name[9:]}"' if name.startswith("observed:")
                 else f"[{name}.<name>]")
        t = Table(title=_escape(title), title_justify="left")
        for c in ("field", "kind", "default", "unit", "range", "meaning"):
            t.add_column(c, overflow="fold")
        for fname, f in cls.model_fields.items():
            default = "required" if f.is_required() else repr(f.default)
            extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
            rng = _range(f)
            t.add_row(fname, extra.get("kind", "fact"), default, extra.get("unit", ""), rng,
                      f.description or "")
        out.print(t)


def _range(f) -> str:
    lo = hi = None
    for m in f.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">")):
            if getattr(m, attr, None) is not None:
                lo = f"{sym}{getattr(m, attr)}"
        for attr, sym in (("le", "<="), ("lt", "<")):
            if getattr(m, attr, None) is not None:
                hi = f"{sym}{getattr(m, attr)}"
    return " ".join(x for x in (lo, hi) if x)


def main() -> None:
    """Console entry point."""
    if os.environ.get("NEGSIM_DEBUG"):
        app()
        return
    try:
        app()
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
    except SystemExit as exc:
        # typer turns a KeyboardInterrupt in a command into exit code 130 and prints nothing;
        # a command that stops its runs says more itself (and its exit has no such cause)
        if exc.code == EXIT_INTERRUPTED and isinstance(
                getattr(exc.__context__, "__cause__", None), KeyboardInterrupt):
            err.print("[yellow]interrupted[/]")
        raise


# Commands defined in their own modules register on `app` (imported last: they import it).
import sim.cli_plots  # noqa: E402, F401  (plot, report, compare)
import sim.cli_score  # noqa: E402, F401  (score)
import sim.cli_sweep  # noqa: E402, F401  (sweep)
