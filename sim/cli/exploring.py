"""The `negsim discover` and `negsim attribute` commands (registered on sim.cli.app): scenario
discovery over a sweep (PRIM) and each actor's share of an outcome (Shapley values).

Importing this module registers the commands on the app (``sim.cli`` imports it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sim.cli.app import EXIT_RUNS_FAILED, BadInput, app, err, guarded, options, out, plain
from sim.cli.running import JobsOpt, QuietOpt, RunSetOpt, SchedulerOpt, StepsOpt
from sim.text import count

__all__ = ["attribute", "discover"]


def _need_prim():
    try:
        from sim.discovery import load_prim

        load_prim()
    except ImportError as exc:
        raise BadInput(str(exc)) from None


@dataclass(frozen=True)
class DiscoverOptions:
    folder: Annotated[Path, typer.Argument(
        help="A sweep's results folder (written by `negsim sweep`, best with a sampled design "
             "of tens of points). Example: results/red_lines_lhs", show_default=False)]
    outcome: Annotated[str | None, typer.Option(
        "--outcome", metavar="SPEC",
        help="What makes a point a case of interest: an outcome class (durable_ceasefire, "
             "fragile_ceasefire, stalemate, ongoing, victory:<faction>: the share of the "
             "point's runs), first_ceasefire (mean weeks) or control:<faction> (mean final "
             "share). Default durable_ceasefire. Example: --outcome victory:lna")] = None
    threshold: Annotated[float | None, typer.Option(
        "--threshold", metavar="X",
        help="A point is a case of interest when its outcome is at least X (a share: default "
             "0.5; a continuous outcome needs it). Example: --threshold 0.7")] = None
    below: Annotated[bool, typer.Option(
        "--below",
        help="Cases of interest are the points whose outcome is below the threshold instead. "
             "Example: --outcome first_ceasefire --threshold 40 --below")] = False
    density: Annotated[float | None, typer.Option(
        "--density", min=0.0, max=1.0, metavar="D",
        help="Choose the box of highest coverage whose density is at least D (default: the box "
             "nearest 100% coverage and 100% density). Example: --density 0.8")] = None
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print discovery.json instead of the tables. Example: --json")] = False


@app.command()
@guarded
@options(DiscoverOptions)
def discover(o: DiscoverOptions) -> None:
    """Scenario discovery on a sweep (PRIM, from the EMA Workbench): which box of the varied
    parameters makes an outcome likely. Each sweep point is a case; it is a case of interest
    when its outcome passes --threshold. Prints the peeling trajectory's trade-off between
    coverage (the share of all cases of interest inside a box) and density (the share of a
    box's points that are cases), and the chosen box's limits per restricted parameter with
    their quasi-p-values; writes FOLDER/discovery.json and the charts
    discovery-trajectory.png and discovery-box.png.

    Example: negsim discover results/red_lines_lhs --outcome durable_ceasefire --threshold 0.7
    """
    from sim.discovery import DiscoveryError, save_discovery
    from sim.discovery import discover as run_discovery
    from sim.folder import ResultsError
    from sim.outcomes import OutcomeError

    _need_prim()
    try:
        cases, d = run_discovery(o.folder, o.outcome, o.threshold, below=o.below,
                                 density=o.density)
    except (ResultsError, DiscoveryError, OutcomeError) as exc:
        raise BadInput(str(exc)) from None
    try:
        paths = save_discovery(cases, d, o.folder)
    except OSError as exc:
        raise BadInput(f"{o.folder}: cannot write the results ({exc.strerror})") from None
    if o.as_json:
        typer.echo(paths[0].read_text())
        return
    _print_discovery(cases, d)
    out.print("[green]wrote[/] " + ", ".join(escape(str(p)) for p in paths), soft_wrap=True)


def _num(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"


def _print_discovery(cases, d) -> None:
    out.print(f"{d.points} sweep points; {d.cases} are cases of interest "
              f"({escape(cases.rule)})", highlight=False)
    t = Table(title="Peeling trajectory (every 5th box, and the chosen one)",
              title_justify="left")
    for c in ("box", "coverage", "density", "points", "restricted"):
        t.add_column(c, justify="right")
    traj = d.trajectory
    show = sorted({*range(0, len(traj), 5), len(traj) - 1, d.chosen})
    for i in show:
        r = traj.iloc[i]
        mark = "[bold red]" if i == d.chosen else ""
        end = "[/]" if mark else ""
        t.add_row(f"{mark}{i}{' *' if i == d.chosen else ''}{end}", f"{r.coverage:.0%}",
                  f"{r.density:.0%}", str(int(r.n)), str(int(r.res_dim)))
    out.print(t)
    b = d.box
    lt = Table(title=f"Box {d.chosen} ({d.rule}): coverage {b.coverage:.0%}, density "
                     f"{b.density:.0%}, {int(b.n)} of {d.points} points",
               title_justify="left")
    lt.add_column("parameter", overflow="fold")
    for c in ("low", "high", "sampled range", "quasi-p"):
        lt.add_column(c, justify="right")
    for r in d.limits.itertuples(index=False):
        if r.values is not None:
            lt.add_row(escape(r.parameter), escape("{" + ", ".join(r.values) + "}"), "", "",
                       _num(r.qp))
        else:
            lt.add_row(escape(r.parameter), _num(r.low), _num(r.high),
                       f"{_num(r.range_low)} to {_num(r.range_high)}", _num(r.qp))
    if d.limits.empty:
        lt.add_row("(no parameter restricted)", "", "", "", "")
    out.print(lt)
    out.print("[dim]quasi-p: a one-sided binomial test of the restriction (Bryant and Lempert "
              "2010); below 0.05 it matters[/]")


# ---------------------------------------------------------------------- attribute
@dataclass(frozen=True)
class AttributeOptions:
    scenario: Annotated[Path, typer.Argument(
        help="Scenario TOML file. Example: scenarios/libya_2019.toml", show_default=False)]
    actors: Annotated[str, typer.Option(
        "--actors", metavar="backers|mediators",
        help="Whose contributions: the backers (absent = no capacity, baseline, support, red "
             "lines, troops, air or guarantee forces, also where a dated event sets them) or "
             "the mediators (absent = no initiative of their own and no scheduled one). "
             "Example: --actors mediators")] = "backers"
    outcome: Annotated[str | None, typer.Option(
        "--outcome", metavar="SPEC",
        help="The outcome to attribute: an outcome class (its probability), first_ceasefire "
             "(mean weeks) or control:<faction> (mean final share). Default durable_ceasefire. "
             "Example: --outcome victory:lna")] = None
    permutations: Annotated[int, typer.Option(
        "--permutations", "-m", min=1, max=100_000, metavar="M",
        help="Orderings of the actors to walk (sampled; when at least n!, every ordering once: "
             "exact). More narrows the intervals. Example: --permutations 40")] = 20
    runs: Annotated[int, typer.Option(
        "--runs", "-n", min=1, max=1_000_000, metavar="N",
        help="Runs per coalition (the same seeds for every coalition). Example: --runs 100")
    ] = 50
    seed: Annotated[int, typer.Option(
        "--seed", min=0, metavar="SEED",
        help="Master seed of the runs and of the sampled orderings. Example: --seed 42")] = 0
    steps: StepsOpt = None
    sets: RunSetOpt = None
    jobs: JobsOpt = None
    scheduler: SchedulerOpt = None
    out_dir: Annotated[Path | None, typer.Option(
        "--out",
        help="Folder for attribution.json, attribution.csv and attribution.png (created if "
             "needed; default: a new folder in results/ named after the scenario and the "
             "time). Example: --out "
             "results/libya_attribution")] = None
    quiet: QuietOpt = False


@app.command()
@guarded
@options(AttributeOptions)
def attribute(o: AttributeOptions) -> None:
    """Attribute an outcome to the actors who made it: each backer's (or mediator's) Shapley
    value over the outcome's probability, where removing an actor means the scenario's own
    absent version of it. Orderings of the actors are sampled; each coalition they meet is
    run --runs times with the same seeds (common random numbers). Prints a ranked table with
    95% intervals and checks that the values add up to P(every actor) - P(none); writes
    attribution.json, attribution.csv and a ranked chart.

    Example: negsim attribute scenarios/libya_2019.toml --actors backers --permutations 20 --runs 40
    """
    from sim.attribution import AttributionError, AttributionRun, plan, save_attribution
    from sim.attribution import attribute as run_attribution
    from sim.cli.app import EXIT_INTERRUPTED, available_cores, load, progress_bar
    from sim.cli.running import default_folder
    from sim.executors import ExecutionSetupError
    from sim.outcomes import OutcomeError
    from sim.runner import ExecutionError, Interrupted

    if o.out_dir is not None and o.out_dir.exists() and not o.out_dir.is_dir():
        raise BadInput(f"--out {o.out_dir}: a file; expected a folder")
    scn = load(o.scenario, o.sets)
    spec = AttributionRun(scn, o.actors, o.outcome, o.permutations, o.runs, o.seed, o.steps,
                          str(o.scenario))
    try:
        planned = plan(spec)
    except (AttributionError, OutcomeError) as exc:
        raise BadInput(str(exc)) from None
    actors, _names, outcome, perms, exact, coalitions, _scns = planned
    total = len(coalitions) * o.runs
    jobs = o.jobs or available_cores()
    if not o.quiet:
        how = (f"every one of the {len(perms)} orderings" if exact
               else count(len(perms), "sampled ordering"))
        err.print(f"{plain(scn.model.name)}: {len(actors)} {o.actors}, {how}: "
                  f"{len(coalitions)} coalitions x {o.runs} runs = {total:,} runs",
                  highlight=False)
    prog, advance = progress_bar(total, o.quiet)
    try:
        with prog:
            a = run_attribution(spec, jobs=jobs, scheduler=o.scheduler, progress=advance,
                                planned=planned)
    except ExecutionSetupError as exc:
        raise BadInput(str(exc)) from None
    except AttributionError as exc:
        err.print(f"[bold red]error:[/] {plain(exc)}", soft_wrap=True)
        raise typer.Exit(EXIT_RUNS_FAILED) from None
    except ExecutionError as exc:
        err.print(f"[bold red]error:[/] {plain(exc)}", soft_wrap=True)
        raise typer.Exit(EXIT_RUNS_FAILED) from None
    except (Interrupted, KeyboardInterrupt):
        err.print("[yellow]interrupted:[/] nothing written")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    folder = o.out_dir or default_folder(f"{o.scenario.stem}-attribution")
    try:
        paths = save_attribution(a, folder)
    except OSError as exc:
        raise BadInput(f"--out {folder}: cannot write the results ({exc.strerror})") from None
    _print_attribution(a, outcome)
    out.print("[green]wrote[/] " + ", ".join(escape(str(p)) for p in paths), soft_wrap=True)


def _print_attribution(a, outcome) -> None:
    share = outcome.binary

    def fmt(v: float) -> str:
        return f"{v * 100:+.1f} pp" if share else f"{v:+.4g}"

    def lvl(v: float) -> str:
        return f"{v:.1%}" if share else f"{v:.4g}"

    unit = " (pp)" if share else ""
    t = Table(title=f"{escape(a.meta['scenario'])}: who made {escape(outcome.label)} "
                    f"({'every ordering' if a.exact else count(len(a.perms), 'sampled ordering')}"
                    f", {len(a.values)} coalitions x {a.runs} runs)", title_justify="left")
    for c, j in (("rank", "right"), (a.kind[:-1], "left"), (f"Shapley value{unit}", "right"),
                 (f"95% interval{unit}", "right")):
        t.add_column(c, justify=j)

    def bare(v: float) -> str:
        return f"{v * 100:+.1f}" if share else f"{v:+.4g}"

    for i, r in enumerate(a.table().itertuples(index=False), 1):
        t.add_row(str(i), escape(r.name), bare(r.shapley),
                  "every ordering" if a.exact else
                  ("n/a" if math.isnan(r.low) else f"[{bare(r.low)}, {bare(r.high)}]"))
    out.print(t)
    va, vn = a.v_all, a.v_none
    total = float(a.contributions.sum(axis=1).mean())
    out.print(f"{escape(outcome.label)} with every actor {lvl(va[0])} [{lvl(va[1])}, "
              f"{lvl(va[2])}], with none {lvl(vn[0])} [{lvl(vn[1])}, {lvl(vn[2])}]; the "
              f"values add up to {fmt(total)} (= {fmt(va[0] - vn[0])})", highlight=False)
    out.print("[dim]intervals: over the sampled orderings (none when every ordering is used); "
              "the runs' own noise is shared by every coalition (the same seeds) and shows in "
              "the two levels' intervals[/]")
