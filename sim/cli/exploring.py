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

from sim.cli.app import BadInput, app, guarded, options, out

__all__ = ["discover"]


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
    for c, j in (("parameter", "left"), ("low", "right"), ("high", "right"),
                 ("sampled range", "right"), ("quasi-p", "right")):
        lt.add_column(c, justify=j)
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
