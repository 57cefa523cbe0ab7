"""The `negsim analyze` command (registered on sim.cli.app): sensitivity indices of a sweep
with SALib (see :mod:`sim.analysis`).

Importing this module registers the command on the app (``sim.cli`` imports it).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sim.cli.app import BadInput, app, err, guarded, options, out

__all__ = ["analyze"]

FolderArg = Annotated[Path, typer.Argument(
    help="A sweep folder written by `negsim sweep` (--design saltelli for Sobol indices, "
         "morris for elementary effects, any sampled design for delta). "
         "Example: results/libya-saltelli", show_default=False)]
OutcomeOpt = Annotated[str | None, typer.Option(
    "--outcome", metavar="SPEC",
    help="What is measured on each run: an outcome class (durable_ceasefire, the default; "
         "fragile_ceasefire, stalemate, ongoing, victory:<faction>), first_ceasefire (weeks "
         "to it; a run without one counts the horizon) or control:<faction> (final share of "
         "the sites' value). Averaged over each point's replicates. "
         "Example: --outcome victory:lna")]
MethodOpt = Annotated[str | None, typer.Option(
    "--method", metavar="[sobol|morris|delta]",
    help="sobol: first, second and total-order Sobol indices (needs a saltelli design); "
         "morris: mu*, sigma (needs a morris design); delta: Borgonovo's delta and S1 from the "
         "given data (any sampled design). Default: the design's own (sobol for saltelli, "
         "morris for morris, delta otherwise). Example: --method delta")]
SeedOpt = Annotated[int, typer.Option(
    "--seed", min=0, metavar="SEED",
    help="Seed of the bootstrap behind the intervals. Example: --seed 1")]
ChartOpt = Annotated[bool, typer.Option(
    "--chart/--no-chart",
    help="Draw the indices as a chart in FOLDER/charts/ (PNG and SVG, named after the method "
         "and the outcome). Example: --no-chart")]


@dataclasses.dataclass(frozen=True)
class AnalyzeOptions:
    folder: FolderArg
    outcome: OutcomeOpt = None
    method: MethodOpt = None
    seed: SeedOpt = 0
    chart: ChartOpt = True


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def _num(v: object) -> str:
    return "n/a" if v is None or v != v else f"{v:.3f}"  # (NaN != NaN)


def _table(a) -> Table:
    ix = a.indices
    cols = {"sobol": [("S1", True), ("ST", True)],
            "morris": [("mu_star", True), ("sigma", False), ("mu", False)],
            "delta": [("delta", True), ("S1", True)]}[a.method]
    t = Table(title=escape(f"{a.outcome_label}: {a.method} indices over {a.points} points "
                           f"({a.design} design, {a.noise.replicates}+ runs each)"),
              title_justify="left")
    t.add_column("path", overflow="fold")
    for c, _ in cols:
        t.add_column({"mu_star": "mu*"}.get(c, c), justify="right")
        if _:
            t.add_column("95% interval", justify="right")
    for r in ix.table.sort_values(ix.main, ascending=False).to_dict("records"):
        cells = []
        for c, conf in cols:
            cells.append(_num(r[c]))
            if conf:
                h = r[f"{c}_conf"]
                cells.append("n/a" if h != h else f"{r[c] - h:.3f} to {r[c] + h:.3f}")
        t.add_row(escape(str(r["path"])), *cells)
    return t


def _second(a) -> Table | None:
    sec = a.indices.second
    if sec is None or not len(sec):
        return None
    t = Table(title="Second-order Sobol indices (pairs)", title_justify="left")
    for c in ("path", "path", "S2", "95% interval"):
        t.add_column(c, justify="right" if c[0] in "S9" else "left", overflow="fold")
    for r in sec.to_dict("records"):
        h = r["S2_conf"]
        t.add_row(escape(r["path_a"]), escape(r["path_b"]), _num(r["S2"]),
                  "n/a" if h != h else f"{r['S2'] - h:.3f} to {r['S2'] + h:.3f}")
    return t


def _draw(a) -> str:
    from sim.folder import atomic_write
    from sim.plots.sensitivity import plot_indices
    from sim.plots.style import save_figure

    charts = a.folder / "charts"
    charts.mkdir(exist_ok=True)
    stem = f"sensitivity-{a.method}-{_slug(a.outcome)}"
    noisy = any(w.startswith("replicate noise") for w in a.warnings)  # the warning says it
    noise = "" if noisy else (f"; replicate noise {a.noise.share:.0%} of the variance of the "
                              "point means")
    notes = (f"{a.points} points of a {a.design} design, {a.noise.replicates} or more runs "
             f"per point{noise}.", *(w[0].upper() + w[1:] for w in a.warnings))
    fig = plot_indices(a.indices.table, a.method, a.outcome_label, notes)
    for fmt in ("png", "svg"):
        atomic_write(charts / f"{stem}.{fmt}",
                     lambda tmp, fmt=fmt: save_figure(fig, tmp, fmt=fmt))
    return f"charts/{stem}.png"


@app.command()
@guarded
@options(AnalyzeOptions)
def analyze(o: AnalyzeOptions) -> None:
    """Sensitivity indices of a sweep with SALib: the outcome averaged over each point's
    replicates, then Sobol indices (S1, S2, ST with 95% intervals) for a saltelli design,
    Morris's mu* and sigma for a morris design, or Borgonovo's delta for any sampled design.
    Prints a table, keeps the result in FOLDER/analysis.json (one entry per method and outcome)
    and draws a chart into FOLDER/charts/. Warns when the replicates' noise is a large share of
    the variance (saying how many runs per point would do) or when the intervals are wider
    than the indices.

    Examples:

      negsim sweep experiments/sensitivity_saltelli.toml --out results/sens

      negsim analyze results/sens --outcome victory:lna

      negsim analyze results/sens --method delta --outcome first_ceasefire
    """
    from sim.analysis import (
        AnalysisError,
        AnalyzeRequest,
        analyze_folder,
        read_analyses,
        write_analysis,
    )
    from sim.folder import ResultsError
    from sim.outcomes import OutcomeError

    try:
        a = analyze_folder(AnalyzeRequest(o.folder, o.outcome,
                                          o.method.strip().lower() if o.method else None,
                                          o.seed))
    except (AnalysisError, OutcomeError, ResultsError) as exc:
        raise BadInput(str(exc)) from None
    if not a.folder.joinpath("manifest.json").is_file():
        raise BadInput(f"{a.folder}: not a results folder")
    try:
        read_analyses(a.folder, strict=True)  # before anything is written
        if o.chart:
            a.chart = _draw(a)
        target = write_analysis(a)
    except AnalysisError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        raise BadInput(f"{a.folder}: cannot write the analysis ({exc.strerror})") from None
    out.print(_table(a))
    sec = _second(a)
    if sec is not None:
        out.print(sec)
    out.print(f"Replicate noise: {a.noise.share:.0%} of the variance of the point means "
              f"({a.noise.replicates} runs per point)")
    for w in a.warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}", soft_wrap=True)
    out.print(f"[green]analysis[/] {escape(str(target))}"
              + (f", chart {escape(str(a.folder / a.chart))} (and .svg)" if a.chart else ""),
              soft_wrap=True)
