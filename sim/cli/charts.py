"""The `negsim plot`, `negsim report` and `negsim compare` commands (registered on sim.cli.app).

Importing this module registers the commands on the app (``sim.cli`` imports it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sim.cli.app import (
    EXIT_RUNS_FAILED,
    BadInput,
    OutcomeOpt,
    app,
    err,
    guarded,
    out,
    outcome_of,
)
from sim.text import count

__all__ = ["compare", "plot", "report"]

CHART_LIST = ("outcomes, survival, fans, support, diplomacy, map, ceasefire-life (run charts); "
              "sweep-outcomes, sweep-heatmap, sweep-influence (sweep charts)")

FolderArg = Annotated[Path, typer.Argument(
    help="A results folder written by `negsim run` or `negsim sweep` (it holds manifest.json "
         "and the Parquet tables). Example: results/libya_2019-20250101-120000",
    show_default=False)]


def _open(folder: Path, need=("runs", "steps", "events")):
    from sim.plots import ResultsError, open_results

    try:
        return open_results(folder, need=need)
    except ResultsError as exc:
        raise BadInput(str(exc)) from None


def _names(only: str | None) -> list[str] | None:
    from sim.plots import CHARTS

    if only is None:
        return None
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHARTS]
    if unknown or not names:
        raise BadInput(f"--only {only!r}: unknown chart name(s) {', '.join(unknown) or '(none)'}"
                       f"; expected a comma-separated list of: {', '.join(CHARTS)}")
    return names


def _needs(names: list[str] | None) -> tuple[str, ...]:
    from sim.plots import CHARTS

    need: dict[str, None] = {"runs": None}
    for n in names or CHARTS:
        for t in CHARTS[n].needs:
            need[t] = None
    return tuple(need)


# ---------------------------------------------------------------------- plot
@app.command()
@guarded
def plot(
    folder: FolderArg,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", metavar="png|svg",
        help="Image format of the chart files. Example: --format svg")] = "png",
    only: Annotated[str | None, typer.Option(
        "--only", metavar="NAME,...",
        help=f"Draw only these charts (comma-separated): {CHART_LIST}. "
             "Example: --only outcomes,survival")] = None,
    outcome: OutcomeOpt = None,
    point: Annotated[int | None, typer.Option(
        "--point", metavar="N", min=0,
        help="A sweep folder: draw the run charts (outcomes, fans, map, ...) of sweep point N "
             "alone, into FOLDER/charts/point-N/ (points.parquet lists the points). Without it "
             "a sweep gets only its sweep charts: pooling the runs of points with different "
             "parameters would mix them. Example: --point 12")] = None,
) -> None:
    """Draw the outcome charts of a results folder into FOLDER/charts/ and list them.

    Works on run and sweep folders; says which charts do not apply, and why. A sweep folder
    gets its sweep charts (the outcome against each varied path, over two paths, the influence
    of each path), reading the outcome --outcome names; its run charts per point with --point.

    Examples: negsim plot results/libya_2019-20250101-120000 --only outcomes,map

      negsim plot results/turkey_un --outcome victory:lna

      negsim plot results/turkey_un --point 3
    """
    from sim.plots import ChartOptions, ResultsError, as_tables, render_charts

    fmt = fmt.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise BadInput(f"--format {fmt!r}: expected png or svg")
    names = _names(only)
    res = _open(folder, _needs(names))
    t = as_tables(res)
    if outcome is not None:
        outcome_of(outcome, t.info.armed)
    if point is not None:
        try:
            t = t.at_point(point)
        except ResultsError as exc:
            raise BadInput(str(exc)) from None
    charts = folder / "charts" / (f"point-{point}" if point is not None else "")
    try:
        charts.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{charts}: cannot create the charts folder ({exc.strerror})") from None
    try:
        done, skipped = render_charts(t, names, out_dir=charts, fmt=fmt, keep=False,
                                      errors="skip", options=ChartOptions(outcome=outcome))
    except OSError as exc:
        raise BadInput(f"{charts}: cannot write the charts ({exc.strerror})") from None
    _warn_incomplete(res)
    if point is not None and t.point_values:
        vals = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in t.point_values.items())
        out.print(f"Sweep point {point}: {escape(vals)} ({count(len(t.runs), 'run')})",
                  soft_wrap=True)
    if done:
        tab = Table(title=f"{len(done)} charts in {escape(str(charts))}/", title_justify="left")
        tab.add_column("chart")
        tab.add_column("file", overflow="fold")
        tab.add_column("shows")
        for r in done:
            tab.add_row(r.chart, escape(r.path.name), escape(r.title))
        out.print(tab)
    failed = {k: v for k, v in skipped.items() if v.startswith("failed:")}
    _say_skipped(skipped, "not drawn", asked=names is not None)
    if outcome is not None and t.kind != "sweep":
        out.print("[yellow]note:[/] --outcome applies to the sweep charts; the run charts show "
                  "every outcome")
    for name, why in failed.items():
        err.print(f"[bold red]error:[/] chart {name} {escape(why)} (a bug: please report it)")
    if failed:
        raise typer.Exit(EXIT_RUNS_FAILED)
    if not done:
        raise BadInput(f"{folder}: none of the charts asked for applies to this folder"
                       + ("; for the run charts of a sweep, give --point N"
                          if t.kind == "sweep" and point is None else ""))


def _warn_incomplete(res) -> None:
    if not res.manifest.get("complete", True):
        err.print("[yellow]warning:[/] the manifest says these results are incomplete "
                  "(interrupted); the charts show the finished runs only")


def _say_skipped(skipped: dict[str, str], verb: str, asked: bool) -> None:
    """One line per reason for the charts left out (failures are reported apart). The sweep
    charts of a run folder go unsaid unless asked for by --only: they never apply to one."""
    from sim.plots.registry import NOT_A_SWEEP

    same: dict[str, list[str]] = {}
    for name, why in skipped.items():
        if why.startswith("failed:") or (not asked and why == NOT_A_SWEEP):
            continue
        same.setdefault(why, []).append(name)
    for why, which in same.items():
        out.print(f"[yellow]{verb}[/] {', '.join(which)}: {escape(why)}")


# ---------------------------------------------------------------------- report
@app.command()
@guarded
def report(
    folder: FolderArg,
    out_file: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Where to write the report (default FOLDER/report.html). "
                            "Example: --out ~/libya-report.html")] = None,
    only: Annotated[str | None, typer.Option(
        "--only", metavar="NAME,...",
        help=f"Include only these charts (comma-separated): {CHART_LIST}. "
             "Example: --only outcomes,survival")] = None,
    outcome: OutcomeOpt = None,
) -> None:
    """Write one self-contained HTML report of a results folder: summary tables, every chart
    that applies (as inline SVG) with a one-line reading, the scenario (every parameter as
    tables, the --set overrides and a sweep's design) and the manifest. A sweep's report
    leads with its per-point table and its sweep charts, both of --outcome, and the scenario
    discovery if negsim discover ran on it. Every table has a CSV download link. Nothing is
    external (no files, links or scripts), so the report reads offline and can be mailed.

    Examples:

      negsim report results/libya_2019-20250101-120000

      negsim report results/turkey_un --outcome victory:lna
    """
    from sim.folder import atomic_text
    from sim.plots import ChartOptions, as_tables, render_charts
    from sim.report import render_html

    names = _names(only)
    res = _open(folder, ("runs", "steps", "events"))
    target = out_file if out_file is not None else folder / "report.html"
    if target.exists() and target.is_dir():
        raise BadInput(f"--out {target}: is a folder; expected a file name like report.html")
    if not target.parent.exists():
        raise BadInput(f"--out {target}: the folder {target.parent} does not exist")
    t = as_tables(res)
    if outcome is not None:
        outcome_of(outcome, t.info.armed)
    rendered, skipped = render_charts(t, names, errors="skip",
                                      options=ChartOptions(outcome=outcome))
    text = render_html(t, rendered, skipped, outcome=outcome)
    try:
        atomic_text(text, target)
    except OSError as exc:
        raise BadInput(f"{target}: cannot write the report ({exc.strerror})") from None
    _warn_incomplete(res)
    out.print(f"[green]report[/] {escape(str(target))} ({len(rendered)} charts, "
              f"{target.stat().st_size / 1e6:.1f} MB)")
    for name, why in skipped.items():
        if why.startswith("failed:"):
            err.print(f"[bold red]error:[/] chart {name} {escape(why)} (a bug: please report it)")
    _say_skipped(skipped, "not included", asked=names is not None)
    if any(v.startswith("failed:") for v in skipped.values()):
        raise typer.Exit(EXIT_RUNS_FAILED)


# ---------------------------------------------------------------------- compare
@app.command()
@guarded
def compare(
    folder_a: Annotated[Path, typer.Argument(
        help="The baseline results folder (A). Example: results/libya", show_default=False)],
    folder_b: Annotated[Path, typer.Argument(
        help="The variant results folder (B), run with the same --seed and --runs. "
             "Example: results/no_turkey", show_default=False)],
    out_file: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Where to write the overlaid survival chart (.png or .svg; "
                            "default FOLDER_B/charts/compare-<A's folder name>.png). "
                            "Example: --out compare.png")] = None,
) -> None:
    """Compare two runs of variants of a scenario (a counterfactual, e.g. with and without a
    backer): outcome shares and the first open-ended ceasefire, as differences B − A with 95%
    intervals. Runs are paired by run number when their seeds match (same --seed): the
    differences are then paired; otherwise the folders are compared as independent samples,
    and the output says so. Also writes the two survival curves overlaid.

    Example: negsim compare results/libya results/no_turkey
    """
    from sim.compare import compare_results, default_chart_path, plot_compare_survival
    from sim.plots import ResultsError, as_tables, save_figure

    ra, rb = _open(folder_a, ("runs",)), _open(folder_b, ("runs",))
    for f, r in ((folder_a, ra), (folder_b, rb)):
        if r.manifest.get("kind") == "sweep":
            raise BadInput(f"{f}: a sweep folder; compare takes two run folders")
    ta, tb = as_tables(ra), as_tables(rb)
    if (ra.manifest.get("scenario_digest") == rb.manifest.get("scenario_digest")
            and ra.manifest.get("seed") == rb.manifest.get("seed")):
        err.print("[yellow]warning:[/] A and B are the same scenario with the same overrides and "
                  "seed: every difference below is zero by construction", soft_wrap=True)
    try:
        c = compare_results(ta, tb)
    except ResultsError as exc:
        raise BadInput(str(exc)) from None
    target = out_file if out_file is not None else default_chart_path(folder_a, folder_b)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise BadInput(f"--out {target}: expected a .png or .svg file name")
    out.print(f"[bold]A[/] {escape(c.a_label)}: {count(c.n_a, 'run')}")
    out.print(f"[bold]B[/] {escape(c.b_label)}: {count(c.n_b, 'run')}")
    style = "green" if c.paired else "bold yellow"
    out.print(f"[{style}]{escape(c.note)}[/]")
    t = Table(title="Outcome shares: B − A" + (" (paired)" if c.paired else " (unpaired)"),
              title_justify="left")
    for col in ("outcome", "A", "B", "B − A", "95% interval"):
        t.add_column(col, justify="left" if col == "outcome" else "right")
    for r in c.outcomes.itertuples():
        t.add_row(escape(r.label), f"{r.a_share:.1%}", f"{r.b_share:.1%}",
                  f"{r.diff * 100:+.1f} pts", f"{r.low * 100:+.1f} to {r.high * 100:+.1f}")
    out.print(t)
    tm = c.timing
    out.print("[bold]First open-ended ceasefire[/]")
    out.print(f"  share of runs with one: A {tm['a_share']:.1%}, B {tm['b_share']:.1%}; B − A "
              f"{tm['share_diff'] * 100:+.1f} pts (95% interval {tm['share_low'] * 100:+.1f} "
              f"to {tm['share_high'] * 100:+.1f})")
    if c.paired:
        if tm["both"]:
            ci = ("" if math.isnan(tm["median_low"]) else
                  f" (95% interval {tm['median_low']:+.0f} to {tm['median_high']:+.0f})")
            out.print(f"  in the {tm['both']} runs where both had one: median B − A "
                      f"{tm['median_diff']:+.1f} weeks{ci}; earlier in B in "
                      f"{tm['earlier_in_b']}, later in {tm['later_in_b']}, same week in "
                      f"{tm['same']}")
        else:
            out.print("  no run had one in both A and B: no paired timing difference")
    elif "median_diff" in tm:
        out.print(f"  median week of the first (runs with one): A {tm['median_a']:.0f}, B "
                  f"{tm['median_b']:.0f}; difference {tm['median_diff']:+.1f} weeks (unpaired)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        save_figure(plot_compare_survival(ta, tb), target, fmt)
    except OSError as exc:
        raise BadInput(f"{target}: cannot write the chart ({exc.strerror})") from None
    out.print(f"[green]chart[/] {escape(str(target))}")
