"""`negsim run` and `negsim sweep`: one flow for both (a run is a sweep of one point).

Each command turns its options into an :class:`~sim.experiment.Experiment`, then
:func:`execute_experiment` starts or resumes its :class:`~sim.folder.ResultsFolder`, runs it on
the executor for ``--jobs``/``--scheduler`` with a progress bar, and says what is kept and how to
resume when it is stopped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from sim.cli.app import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_RUNS_FAILED,
    BadInput,
    OutcomeOpt,
    ScenarioArg,
    app,
    available_cores,
    err,
    guarded,
    load,
    options,
    out,
    outcome_of,
    plain,
    progress_bar,
)
from sim.scenario import Scenario, load_scenario, parse_override, scenario_from_dict
from sim.text import count

# The runner, the executors, the sweep designs and pandas (and through them Mesa) are imported
# by the functions that use them: registering the commands stays cheap, so `negsim --help` and
# the commands that do not run the model start in a fraction of a second.
if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment import Experiment
    from sim.folder import ResultsFolder
    from sim.outcomes import Outcome

__all__ = ["execute_experiment", "run", "sweep", "sweep_shares"]


#: A sweep of more runs than this asks before it starts (--yes skips the question).
CONFIRM_ABOVE = 100_000

# ---------------------------------------------------------------------- options
TargetArg = Annotated[Path, typer.Argument(
    help="A scenario TOML file (then give --vary), or a sweep spec file that names the "
         "scenario, what to vary, the design, runs and seed. "
         "Example: scenarios/libya_2019.toml, or experiments/turkey_vs_un.toml",
    show_default=False)]
VaryOpt = Annotated[list[str] | None, typer.Option(
    "--vary", metavar="PATH=SPEC",
    help="A scenario field to vary (any path --set takes, or what a dated event sets: "
         "events.<date>.set.<field>); repeatable. SPEC is lo:hi:n (n evenly "
         "spaced values, inclusive), v1,v2,v3 (a list: numbers, strings or booleans) or, for "
         "a sampled --design (lhs, sobol-sequence, saltelli, morris), lo..hi (a range). "
         "Integer fields get integers. Example: "
         "--vary backers.turkey.capacity=0:2:5 --vary mediators.un.leverage=0,0.03,0.1")]
DesignOpt = Annotated[str | None, typer.Option(
    "--design", metavar="DESIGN",
    help="grid: every combination of the values (first --vary varies slowest); lhs: a Latin "
         "hypercube of --samples points over the ranges; sobol-sequence: a scrambled Sobol "
         "quasi-random sequence (best with a power of two); saltelli: SALib's design for Sobol "
         "indices, --samples N base samples (a power of two) giving N(2D+2) points for D "
         "varied paths (3N for one); morris: SALib's Morris design, --samples trajectories "
         "of D+1 points on 4 levels. Read saltelli and morris sweeps with `negsim analyze`. "
         "Default grid, or the spec file's. Example: --design saltelli --samples 64")]
SamplesOpt = Annotated[int | None, typer.Option(
    "--samples", "-k", min=1, metavar="K",
    help="Points to draw for --design lhs or sobol-sequence; base samples N for saltelli; "
         "trajectories for morris (all seeded from --seed). Example: --samples 64")]
RunsOpt = Annotated[int | None, typer.Option(
    "--runs", "-n", min=1, max=10_000_000, metavar="N",
    help="Replicates per point; every point uses the same replicate seeds (common random "
         "numbers). Default 100, or the spec file's. Example: --runs 200")]
SweepSeedOpt = Annotated[int | None, typer.Option(
    "--seed", min=0, metavar="SEED",
    help="Master seed: replicate i of every point draws from the i-th child of "
         "SeedSequence(seed); sampled designs are seeded from it too. Default 0, or the "
         "spec file's. "
         "Example: --seed 42")]
JobsOpt = Annotated[int | None, typer.Option(
    "--jobs", "-j", min=1, metavar="J", show_default="all cores",
    help="Runs at once on this machine: J worker processes (with --scheduler local, J Dask "
         "workers). Results do not depend on it. Example: --jobs 2")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", metavar="ADDR",
    help="Run on Dask: 'local' starts a LocalCluster here (--jobs worker processes, one "
         "thread each, no dashboard); an address uses that cluster's scheduler (its workers "
         "need negsim installed). Example: --scheduler tcp://10.0.0.5:8786")]
StepsOpt = Annotated[int | None, typer.Option(
    "--steps", min=1, metavar="WEEKS",
    help="Weeks to simulate (default: the scenario's model.weeks). Example: --steps 52")]
RunSetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="PATH=VALUE",
    help="Override any scenario field, or what a dated event sets or scales "
         "(events.<date or index>.set.<field>); repeatable. Validated like the file. "
         "Example: --set backers.turkey.capacity=0 --set model.weeks=52")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="PATH=VALUE",
    help="Fix a scenario field for every point; repeatable; validated like the file. "
         "Example: --set model.weeks=52")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out",
    help="Output folder (default: a new folder in results/ named after the scenario and "
         "the time); "
         "must be new or empty unless --resume. Example: --out results/turkey_un")]
ResumeOpt = Annotated[bool, typer.Option(
    "--resume",
    help="Finish an interrupted run or sweep in --out: checks that the folder's manifest "
         "matches (scenario, overrides, design, seed, runs, steps), keeps finished chunks and "
         "runs the rest. Example: --out results/turkey_un --resume")]
ChunkOpt = Annotated[int | None, typer.Option(
    "--chunk-size", min=1, metavar="RUNS",
    help="Runs per task (default: tens to a hundred, from the runs and --jobs; kept on "
         "--resume). Results do not depend on it; on a large remote cluster, smaller chunks "
         "balance better. Example: --chunk-size 20")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress bar. Example: --quiet")]
YesOpt = Annotated[bool, typer.Option(
    "--yes", "-y",
    help=f"Run a sweep of more than {CONFIRM_ABOVE:,} runs without asking (without a "
         "terminal to ask on, such a sweep needs it). Example: --yes")]


# ---------------------------------------------------------------------- the shared flow
@dataclasses.dataclass(frozen=True)
class Invocation:
    """How a command was asked to run an experiment: where (``jobs``, ``scheduler``, ``out``,
    ``resume``), how loudly, its arguments as given (for the resume command), the stem of the
    default folder's name, and extra manifest fields."""

    jobs: int
    scheduler: str | None
    out: Path | None
    resume: bool
    quiet: bool
    args: tuple[str, ...]
    stem: str
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


def default_folder(stem: str) -> Path:
    """results/<stem>-<time>/ (with -2, -3, ... if taken)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("results") / f"{stem}-{stamp}"
    folder, i = base, 1
    while folder.exists():
        i += 1
        folder = base.with_name(f"{base.name}-{i}")
    return folder


def open_folder(exp: Experiment, how: Invocation) -> tuple[ResultsFolder, Experiment, bool]:
    """The folder (created, or resumed with the chunk size it was started with), the
    experiment as it will run, and whether this command created the folder."""
    from sim.folder import FolderError, ResultsFolder

    manifest = exp.manifest(**how.extra)
    try:
        if how.resume:
            if how.out is None:
                raise BadInput("--resume needs --out FOLDER: the folder of the interrupted run")
            folder = ResultsFolder.resume(how.out, manifest)
            size = int(folder.manifest.get("chunk_size") or exp.chunk_size)
            return folder, dataclasses.replace(exp, chunk_size=size), False
        return ResultsFolder.create(how.out or default_folder(how.stem), manifest), exp, True
    except FolderError as exc:
        raise BadInput(str(exc)) from None


def execute_experiment(exp: Experiment, how: Invocation,
                       summary: Callable[[ResultsFolder], None],
                       before: Callable[[ResultsFolder], None] | None = None) -> None:
    """Start or resume the results folder, run what is left with a progress bar, finish the
    folder and print `summary`; on a Ctrl-C or a failure outside the model, say what is kept
    and how to resume. `before` writes what the folder needs before the runs (a sweep's
    points)."""
    from sim.executors import ExecutionSetupError, start_forkserver
    from sim.experiment import resume_command, run_experiment
    from sim.runner import ExecutionError, Interrupted

    if how.scheduler is None and how.jobs > 1:
        start_forkserver()  # its imports overlap this process's preparations
    folder, exp, created = open_folder(exp, how)
    if folder.complete:
        err.print(f"{plain(folder.path)} is already complete; nothing to resume")
        summary(folder)
        return
    if before is not None:
        before(folder)
    if not how.quiet:
        what = (f"{len(exp.points)} points x {exp.runs} runs = " if len(exp.points) > 1 else "")
        err.print(f"{exp.points[0].model.name}: {what}{exp.total_runs:,} runs -> "
                  f"{plain(folder.path)}/", soft_wrap=True, highlight=False)
    prog, advance = progress_bar(exp.total_runs, how.quiet)
    try:
        with prog:
            run_experiment(exp, out=folder, jobs=how.jobs, scheduler=how.scheduler,
                           progress=advance)
    except ExecutionSetupError as exc:
        if created:
            folder.discard()  # nothing ran: the same command can be given again
        raise BadInput(str(exc)) from None
    except (Interrupted, ExecutionError, KeyboardInterrupt) as exc:
        hint = resume_command(how.args, folder.path)
        if isinstance(exc, ExecutionError):
            err.print(f"[bold red]error:[/] {plain(exc)}", soft_wrap=True)
            err.print(f"Finished chunks are kept in {plain(folder.parts)}. Resume with:\n"
                      f"  {plain(hint)}", soft_wrap=True)
            raise typer.Exit(EXIT_RUNS_FAILED) from None
        done = (f"{exc.done} of {exc.total} chunks" if isinstance(exc, Interrupted)
                else "chunks")
        err.print(f"[yellow]interrupted:[/] {done} finished and kept in "
                  f"{plain(folder.parts)}. Resume with:\n  {plain(hint)}", soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    summary(folder)
    if folder.manifest.get("failures"):
        raise typer.Exit(EXIT_RUNS_FAILED)


def _arguments(command: str, target: Path, options: Sequence[tuple[str, Any]],
               repeated: Sequence[tuple[str, Sequence[str] | None]]) -> tuple[str, ...]:
    """A command's arguments as given (for the resume command)."""
    args = [command, str(target)]
    for flag, values in repeated:
        for v in values or ():
            args += [flag, v]
    for flag, val in options:
        if val is True:
            args.append(flag)
        elif val is not None and val is not False:
            args += [flag, str(val)]
    return tuple(args)


# ---------------------------------------------------------------------- run
RunsNOpt = Annotated[int, typer.Option("--runs", "-n", min=1, max=10_000_000, metavar="N",
                                       help="Number of replicates. Example: --runs 1000")]
RunSeedOpt = Annotated[int, typer.Option(
    "--seed", min=0, metavar="SEED",
    help="Master seed: run i draws from the i-th child of SeedSequence(seed), the same for "
         "any --runs or --jobs. Example: --seed 42")]


@dataclasses.dataclass(frozen=True)
class RunOptions:
    scenario: ScenarioArg
    runs: RunsNOpt = 200
    seed: RunSeedOpt = 0
    jobs: JobsOpt = None
    steps: StepsOpt = None
    set_: RunSetOpt = None
    out_dir: OutOpt = None
    scheduler: SchedulerOpt = None
    resume: ResumeOpt = False
    quiet: QuietOpt = False


@app.command()
@guarded
@options(RunOptions)
def run(o: RunOptions) -> None:
    """Run N replicates of a scenario and write runs/steps/events tables (Parquet).

    Finished chunks of runs are written as they come; Ctrl-C keeps them and prints the
    command that resumes. Example: negsim run scenarios/libya_2019.toml --runs 500 --jobs 2
    --set backers.turkey.capacity=0
    """
    from sim.executors import chunk_size_for
    from sim.experiment import Experiment

    scn = load(o.scenario, o.set_)
    jobs = o.jobs or available_cores()
    exp = Experiment.of(scn, o.runs, o.seed, steps=o.steps,
                        chunk_size=chunk_size_for(o.runs, jobs), source=str(o.scenario),
                        overrides=tuple(o.set_ or ()))
    args = _arguments("run", o.scenario, [
        ("--runs", o.runs), ("--seed", o.seed), ("--steps", o.steps),
        ("--scheduler", o.scheduler), ("--jobs", o.jobs), ("--quiet", o.quiet)],
        [("--set", o.set_)])
    how = Invocation(jobs, o.scheduler, o.out_dir, o.resume, o.quiet, args, o.scenario.stem,
                     {"jobs": jobs, "scheduler": o.scheduler})
    execute_experiment(exp, how, lambda f: print_summary(f.results(), scn, f.path))


def print_summary(res, scn: Scenario, folder: Path | None) -> None:
    from sim.results import MEDIAN_AMONG_LABEL, ceasefire_timing, outcome_shares, succeeded_by

    runs = res.runs
    n = len(runs)
    t = Table(title=plain(f"{scn.model.name}: outcomes over {count(n, 'run')}"),
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
                  f"({ct['share']:.0%}); "
                  f"{MEDIAN_AMONG_LABEL.format(n=ct['with_ceasefire'])}: {ct['median']} "
                  f"(interquartile range {ct['q25']} to {ct['q75']})")
    else:
        out.print(f"First open-ended ceasefire: none in {count(n, 'run')}")
    sb = succeeded_by(runs)
    if len(sb):
        who = ", ".join(f"{r.proposer} ({r.kind}) {r.runs}" for r in sb.itertuples())
        out.print(f"Ceasefires proposed by: {plain(who)}")
    if len(res.failures):
        err.print(f"[bold red]{len(res.failures)} runs failed[/]; see failures.parquet")
    if folder is not None:
        out.print(f"Results: {plain(folder)}/ (runs.parquet, steps.parquet, "
                  "events.parquet, manifest.json)")



# ---------------------------------------------------------------------- sweep
@dataclasses.dataclass(frozen=True)
class SweepOptions:
    target: TargetArg
    vary: VaryOpt = None
    design: DesignOpt = None
    samples: SamplesOpt = None
    runs: RunsOpt = None
    seed: SweepSeedOpt = None
    jobs: JobsOpt = None
    scheduler: SchedulerOpt = None
    steps: StepsOpt = None
    set_: SetOpt = None
    out_dir: OutOpt = None
    resume: ResumeOpt = False
    chunk_size: ChunkOpt = None
    quiet: QuietOpt = False
    yes: YesOpt = False
    outcome: OutcomeOpt = None


@app.command()
@guarded
@options(SweepOptions)
def sweep(o: SweepOptions) -> None:
    """Run a scenario across a grid or a sampled design of parameter values, R replicates per
    point with the same seeds at every point, and write the runs/steps/events tables with a
    `point` column, points.parquet (the varied values of each point) and manifest.json. Stop
    with Ctrl-C at any time and finish later with --resume.

    Examples:

      negsim sweep scenarios/libya_2019.toml --vary backers.turkey.capacity=0:2:5
      --vary mediators.un.leverage=0,0.03,0.1 --runs 200 --jobs 2

      negsim sweep scenarios/libya_2019.toml --design lhs --samples 64
      --vary backers.russia.capacity=0.1..1 --vary factions.lna.optimism=0..0.25

      negsim sweep experiments/turkey_vs_un.toml --scheduler local --jobs 2

      negsim sweep experiments/red_lines_lhs.toml --outcome first_ceasefire
    """
    from sim.sweep import SweepError, points_table

    jobs = o.jobs or available_cores()
    try:
        exp, spec, design = sweep_experiment_of(o, jobs)
    except SweepError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", emoji=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    outcome = outcome_of(o.outcome, exp.points[0].armed_factions)
    if o.scheduler is not None and o.scheduler != "local" and o.jobs is not None:
        err.print("[yellow]note:[/] --jobs is ignored with a remote --scheduler (the cluster "
                  "has its own workers)")
    args = _arguments("sweep", o.target, [
        ("--design", o.design), ("--samples", o.samples),
        ("--runs", o.runs), ("--seed", o.seed), ("--steps", o.steps),
        ("--chunk-size", o.chunk_size), ("--scheduler", o.scheduler), ("--jobs", o.jobs),
        ("--outcome", o.outcome),
        ("--quiet", o.quiet), ("--yes", o.yes)], [("--vary", o.vary), ("--set", o.set_)])
    how = Invocation(jobs, o.scheduler, o.out_dir, o.resume, o.quiet, args,
                     f"{(o.target if spec else Path(exp.source)).stem}-sweep",
                     {"spec_file": str(o.target) if spec else None,
                      "description": spec.description if spec else "", "jobs": jobs,
                      "scheduler": o.scheduler})
    execute_experiment(
        exp, how, lambda f: _summarise(f, exp.points[0], design.paths, outcome),
        before=lambda f: f.write_table("points", points_table(design)))


def _confirm_size(points: int, runs: int, yes: bool) -> None:
    """Ask before a sweep of more than CONFIRM_ABOVE runs (a typo in a grid spec can make
    millions); without a terminal, such a sweep needs --yes."""
    import sys

    total = points * runs
    if total <= CONFIRM_ABOVE or yes:
        return
    what = f"{total:,} runs ({points:,} points x {runs:,} runs)"
    if not sys.stdin.isatty():
        raise BadInput(f"this sweep is {what}, more than {CONFIRM_ABOVE:,}: check the --vary "
                       "specs, or pass --yes to run it")
    if not typer.confirm(f"This sweep is {what}. Run it?", default=False, err=True):
        err.print("Not run.")
        raise typer.Exit(EXIT_RUNS_FAILED)


def sweep_experiment_of(o: SweepOptions, jobs: int):
    """The sweep's experiment, its spec file (None without) and its design, every point
    checked before anything runs (SweepError or ScenarioError otherwise)."""
    from sim.executors import chunk_size_for
    from sim.experiment import Experiment
    from sim.sweep import (
        SweepError,
        design_for,
        event_overwrites,
        is_spec_file,
        load_spec,
        point_scenarios,
        split_vary,
    )

    spec = None
    target = o.target
    if target.suffix.lower() == ".toml" and target.is_file() and is_spec_file(target):
        spec = load_spec(target)
        scenario_path = spec.scenario
    else:
        scenario_path = target
    design_name = (o.design.strip().lower() if o.design is not None
                   else (spec.design if spec else "grid"))
    samples = o.samples if o.samples is not None else (spec.samples if spec else None)
    runs = o.runs if o.runs is not None else (spec.runs if spec and spec.runs else 100)
    seed = o.seed if o.seed is not None else (spec.seed if spec and spec.seed is not None
                                              else 0)
    steps = o.steps if o.steps is not None else (spec.steps if spec else None)
    fixed = list(spec.set) if spec else []
    overrides = [f"{p}={json.dumps(v, default=str)}" for p, v in fixed]
    for s in o.set_ or []:
        fixed.append(parse_override(s))
        overrides.append(s)
    varied: dict[str, Any] = dict(spec.vary) if spec else {}
    given: set[str] = set()
    for v in o.vary or []:
        p, s = split_vary(v)
        if p in given:
            raise SweepError(f"--vary {p} is given twice; give each path once, with all its "
                             f"values in one spec (e.g. {p}=0,0.5,1)")
        given.add(p)
        varied[p] = s
    load_scenario(scenario_path)  # the file itself: not found, bad TOML, invalid fields
    text = scenario_path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    base = scenario_from_dict(data, fixed, source=str(scenario_path), text=text)
    design = design_for(base, varied, design_name, samples, seed)
    _confirm_size(len(design.points), runs, o.yes)
    scenarios = point_scenarios(data, fixed, design, source=str(scenario_path), text=text)
    for p, when in event_overwrites(base, design.paths).items():
        err.print(f"[yellow]note:[/] {p} is also set by the event(s) of {', '.join(when)}: "
                  "each point's value holds only until then. To vary what an event sets, "
                  f"vary events.<date>.set.{p}", soft_wrap=True)
    size = o.chunk_size or chunk_size_for(len(scenarios) * runs, jobs)
    exp = Experiment(tuple(scenarios), runs, seed, steps, size, design=design.describe(),
                     source=str(scenario_path), overrides=tuple(overrides))
    return exp, spec, design


# ---------------------------------------------------------------------- summary
def sweep_shares(runs: pd.DataFrame, points: pd.DataFrame,
                 factions: list[str] | None = None) -> pd.DataFrame:
    """Per point: the varied values, the runs and the share of each outcome class; plus the
    Wilson interval of a durable ceasefire (``durable_low``, ``durable_high``)."""
    import pandas as pd

    from sim.results import outcome_classes, wilson

    classes = outcome_classes(runs, factions)
    counts = (runs.groupby(["point", "outcome"]).size().unstack(fill_value=0)
              if len(runs) else pd.DataFrame())
    rows = []
    for _, pt in points.iterrows():
        i = int(pt["point"])
        c = counts.loc[i] if i in counts.index else pd.Series(dtype=int)
        n = int(c.sum())
        row = {**pt.to_dict(), "runs": n}
        for k in classes:
            row[k] = int(c.get(k, 0)) / n if n else math.nan
        lo, hi = wilson(int(c.get("durable_ceasefire", 0)), n)
        row["durable_low"], row["durable_high"] = lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def _summarise(folder: ResultsFolder, scn: Scenario, paths: list[str], outcome: Outcome,
               show: int = 40) -> None:
    """Print the outcome shares per point and the points where `outcome` is highest and
    lowest (with its 95% interval); a mean outcome (weeks, control) gets its own column."""
    import pandas as pd

    from sim.outcomes import per_point

    runs = folder.table("runs")
    if not len(runs.columns):
        runs = pd.DataFrame(columns=["point", "outcome"])
    points = folder.table("points")
    tab = sweep_shares(runs[["point", "outcome"]], points, scn.armed_factions)
    classes = [c for c in tab.columns if c.startswith("victory:")] + [
        "durable_ceasefire", "fragile_ceasefire", "stalemate", "ongoing"]
    est = (per_point(runs, outcome) if len(runs) else
           pd.DataFrame(columns=["point", "runs", "value", "low", "high"]))
    tab = tab.merge(est[["point", "value", "low", "high"]], on="point", how="left")
    key = "value"
    extra = [] if outcome.spec in classes else [outcome.spec]
    if extra:
        tab[outcome.spec] = tab["value"]
    shown = tab
    note = ""
    if len(tab) > show:
        order = tab.sort_values([key, "point"], ascending=[False, True], na_position="last")
        shown = pd.concat([order.head(show // 2), order.tail(show // 2)]).drop_duplicates(
            "point")
        note = (f" ({show // 2} highest and lowest {outcome.label} of {len(tab)} points; all "
                "in runs.parquet and points.parquet)")
    t = Table(title=f"{scn.model.name}: outcome shares per sweep point{note}",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    t.add_column("point", justify="right", min_width=5)
    for p in paths:
        head = p.replace(".", ".\n")
        t.add_column(escape(head), justify="right",
                     min_width=max(len(x) for x in head.split("\n")))
    t.add_column("runs", justify="right", min_width=4)
    for c in classes + extra:
        head = (_SHORT.get(c) or ("weeks to\nceasefire" if c == "first_ceasefire" else
                c.replace("victory:", "won\n").replace("control:", "control\n")))
        t.add_column(escape(head), justify="right",
                     min_width=max(len(x) for x in head.split("\n")))
    for _, r in shown.iterrows():
        t.add_row(str(int(r["point"])), *(_fmt(r[p]) for p in paths), str(int(r["runs"])),
                  *("-" if pd.isna(r[c]) else f"{r[c]:.0%}" for c in classes),
                  *("-" if pd.isna(r[c]) else _amount(outcome, r[c], unit=False)
                    for c in extra))
    out.print(t)
    have = tab[tab["runs"] > 0]
    if len(have) > 1 and have[key].nunique() == 1:  # no point differs: one line says so
        out.print(f"{escape(outcome.label)} is {_amount(outcome, have[key].iloc[0], 1)} at "
                  f"every one of the {count(len(have), 'point')} (none differs)",
                  soft_wrap=True)
    elif len(have):
        hi = have.sort_values([key, "point"], ascending=[False, True]).iloc[0]
        lo = have.sort_values([key, "point"], ascending=[True, True]).iloc[0]
        for label, r in (("Highest", hi), ("Lowest", lo)):
            vals = ", ".join(f"{p}={_fmt(r[p])}" for p in paths)
            ties = int((have[key] == r[key]).sum()) - 1
            tie = (f"; {count(ties, 'other point')} tie" if ties > 1
                   else "; 1 other point ties" if ties else "")
            ci = ("" if pd.isna(r["low"]) else
                  f"95% interval {_amount(outcome, r['low'], 1, unit=False)} - "
                  f"{_amount(outcome, r['high'], 1)}, ")
            out.print(f"{label} {escape(outcome.label)}: point {int(r['point'])} "
                      f"({escape(vals)}): {_amount(outcome, r[key], 1)} ({ci}"
                      f"{int(r['runs'])} runs{tie})", soft_wrap=True)
    failed = folder.rows("failures")
    if failed:
        err.print(f"[bold red]{failed} runs failed[/]; see {plain(folder.path)}/failures.parquet "
                  "(point, run, seed, error, traceback)")
    out.print(f"Results: {plain(folder.path)}/ (runs, steps, events, points, failures "
              ".parquet; manifest.json)", soft_wrap=True)


def _amount(outcome: Outcome, v: float, digits: int = 0, unit: bool = True) -> str:
    """An outcome's estimate as text: a share as a percentage, a time in weeks (with the
    word when `unit`)."""
    if outcome.kind == "time":
        return f"{v:.1f}" + (" weeks" if unit else "")
    return f"{v:.{digits}%}"


_SHORT = {"durable_ceasefire": "durable", "fragile_ceasefire": "fragile",
          "stalemate": "stale-\nmate", "ongoing": "ongoing"}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

