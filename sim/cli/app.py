"""The command line's shared parts: the app, its consoles, exit codes, input errors, the common
options and the progress bar. Each command group lives in its own module and registers here."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import time
import typing
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
            err.print(f"[bold red]error:[/] {plain(str(exc))}", soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except BadInput as exc:
            err.print(f"[bold red]error:[/] {plain(str(exc))}", soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


def plain(text: object) -> str:
    """Show user text verbatim (scenario names and paths may contain [brackets])."""
    return escape(str(text))


# ---------------------------------------------------------------------- options
ScenarioArg = Annotated[Path, typer.Argument(
    help="Scenario TOML file, e.g. scenarios/libya_2019.toml.", show_default=False)]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="PATH=VALUE",
    help="Override any scenario field, or what a dated event sets or scales "
         "(events.<date or index>.set.<field>); repeatable. Validated like the file. "
         "Example: --set backers.turkey.capacity=0 --set model.weeks=52")]
SeedOpt = Annotated[int, typer.Option(
    "--seed", min=0, metavar="SEED",
    help="Master seed: run i draws from the i-th child of SeedSequence(seed), the same for "
         "any --runs or --jobs. Example: --seed 42")]
StepsOpt = Annotated[int | None, typer.Option(
    "--steps", min=1, metavar="WEEKS",
    help="Weeks to simulate (default: the scenario's model.weeks). Example: --steps 52")]

OutcomeOpt = Annotated[str | None, typer.Option(
    "--outcome", metavar="SPEC",
    help="What the sweep charts and summary read at each point (default durable_ceasefire): "
         "an outcome class (durable_ceasefire, fragile_ceasefire, stalemate, ongoing, "
         "victory:<faction>) as a share of runs with a Wilson 95% interval; first_ceasefire, "
         "the weeks to the first open-ended ceasefire (a run without one counts the horizon), "
         "or control:<faction>, its final share of the sites' value, as a mean with a 95% "
         "interval. Example: --outcome victory:lna")]


def outcome_of(spec: str | None, factions: list[str]):
    """The :class:`sim.outcomes.Outcome` of ``--outcome`` (BadInput naming the valid specs)."""
    from sim.outcomes import OutcomeError, parse_outcome

    try:
        return parse_outcome(spec, factions)
    except OutcomeError as exc:
        raise BadInput(str(exc)) from None


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def load(path: Path, sets: list[str] | None) -> Scenario:
    return load_scenario(path, sets or [])


def progress_bar(total: int, quiet: bool, label: str = "runs"):
    """A rich progress bar with runs done, rate and ETA; returns (context, advance)."""
    prog = Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("eta"),
        TimeRemainingColumn(), console=err, disable=quiet, transient=False,
    )
    task = prog.add_task(label, total=total, rate="")
    start = time.perf_counter()  # the work starts with its bar (not at its first result)

    def advance(n: int) -> None:
        prog.advance(task, n)
        el = time.perf_counter() - start
        done = prog.tasks[0].completed
        if el > 0 and done:
            prog.update(task, rate=f"{done / el:,.1f} {label}/s" if done / el < 10
                        else f"{done / el:,.0f} {label}/s")

    return prog, advance




def options(cls):
    """Declare a command's options as a frozen dataclass whose fields are typer parameters
    (``Annotated`` types, defaults): the command then takes one argument, the options.

    Typer reads a command's parameters from its signature; this gives it the dataclass's
    fields as that signature, so a command with many options is still a function of one."""
    hints = typing.get_type_hints(cls, include_extras=True)
    params = [inspect.Parameter(
        f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=hints[f.name],
        default=inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(cls)]

    def decorate(fn):
        def command(**given):
            return fn(cls(**given))

        command.__signature__ = inspect.Signature(params)
        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            setattr(command, attr, getattr(fn, attr))
        return command

    return decorate


def _print_version(value: bool) -> None:
    if value:
        from importlib import metadata

        import sim

        try:
            v = metadata.version("negsim")
        except metadata.PackageNotFoundError:  # run from a source tree
            v = sim.__version__
        out.print(f"negsim {v}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print negsim's version and exit. Example: negsim --version")] = False,
) -> None:
    """Simulate ceasefire bargaining in wars with foreign backers and mediators.

    Example: negsim run scenarios/libya_2019.toml --runs 200 --set backers.turkey.capacity=0
    """
