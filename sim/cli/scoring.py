"""The `negsim score` command (registered on sim.cli.app): runs against the historical record.

Importing this module registers the command on the app (``sim.cli`` imports it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from sim.cli.app import BadInput, app, err, guarded, out

__all__ = ["score"]


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def _short(text: str, width: int = 48) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _weeks(x: float) -> str:
    return "" if x is None or math.isnan(x) else f"{x:g} wk"


def _value(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _observations_table(obs, title: str) -> Table:
    t = Table(title=escape(title), title_justify="left")
    t.add_column("id")
    t.add_column("kind")
    t.add_column("description", overflow="fold")
    t.add_column("runs counted", justify="right")
    t.add_column("share [95% interval]", justify="right")
    t.add_column("required", justify="right")
    t.add_column("met", justify="center")
    t.add_column("timing error", justify="right")
    for r in obs.itertuples(index=False):
        counted = f"{r.counted} of {r.runs}"
        share = (f"{_pct(r.share)} [{_pct(r.low)}-{_pct(r.high)}]" if r.counted else "n/a")
        t.add_row(escape(r.id), r.kind, escape(_short(r.description)), counted, share,
                  f">= {_pct(r.required)}", "[green]✓[/]" if r.met else "[red]✗[/]",
                  _weeks(r.timing_error_weeks))
    return t


def _notes(obs) -> None:
    for r in obs.itertuples(index=False):
        if r.note:
            out.print(f"  [dim]{escape(r.id)}: {escape(r.note)}[/]")


def _print_run(table) -> None:
    out.print(_observations_table(table.observations,
                                  f"{table.scenario}: observations"))
    _notes(table.observations)
    o = table.overall.iloc[0]
    out.print(f"[bold]Overall score {o['score']:.2f}[/] (mean of min(share / required, 1)); "
              f"{int(o['met'])} of {int(o['total'])} observations met")


def _print_sweep(table, top: int = 10) -> None:
    obs, overall = table.observations, table.overall
    ids = list(dict.fromkeys(obs["id"]))
    t = Table(title=escape(f"{table.scenario}: share of runs matching each observation, by "
                           "sweep point (✓ met, ✗ not)"), title_justify="left")
    t.add_column("point", justify="right")
    for v in table.varied:
        t.add_column(escape(v), justify="right", overflow="fold")
    for i in ids:
        t.add_column(escape(i), justify="right")
    t.add_column("score", justify="right")
    t.add_column("met", justify="right")
    cell = {(int(r.point), r.id): (f"{_pct(r.share)} {'✓' if r.met else '✗'}"
                                   if r.counted else "n/a ✗")
            for r in obs.itertuples(index=False)}
    for r in overall.to_dict("records"):
        p = int(r["point"])
        t.add_row(str(p), *[_value(r[v]) for v in table.varied],
                  *[cell.get((p, i), "") for i in ids], f"{r['score']:.2f}",
                  f"{r['met']}/{r['total']}")
    out.print(t)
    req = ", ".join(f"{escape(r.id)} >= {_pct(r.required)}"
                    for r in obs.drop_duplicates("id").itertuples(index=False))
    out.print(f"[dim]required: {req}[/]")
    rk = table.ranking().head(top)
    r = Table(title=f"Best points by overall score (top {len(rk)} of {len(overall)})",
              title_justify="left")
    r.add_column("rank", justify="right")
    r.add_column("point", justify="right")
    r.add_column("score", justify="right")
    r.add_column("met", justify="right")
    for v in table.varied:
        r.add_column(escape(v), justify="right", overflow="fold")
    for i, row in enumerate(rk.to_dict("records"), 1):
        r.add_row(str(i), str(int(row["point"])), f"{row['score']:.2f}",
                  f"{row['met']}/{row['total']}", *[_value(row[v]) for v in table.varied])
    out.print(r)


@app.command()
@guarded
def score(
    folder: Annotated[Path, typer.Argument(
        help="A results folder written by `negsim run` or `negsim sweep`. "
             "Example: results/libya", show_default=False)],
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the scores as JSON (as written to score.json) instead of "
                       "tables.")] = False,
    scenario_file: Annotated[Path | None, typer.Option(
        "--scenario", metavar="FILE",
        help="Score against the \\[\\[observed]] entries of this scenario file (of the same war: "
             "they are checked against the folder's scenario) instead of the folder's. "
             "Example: --scenario scenarios/libya_2019.toml")] = None,
) -> None:
    r"""Score a results folder against the scenario's observations from the historical record
    (\[\[observed]] entries; see docs/observations.md): per observation, the runs counted, the
    share matching with its 95% interval, the share required, met or not and a timing error;
    then the overall score (mean over observations of min(share / required, 1)). A sweep
    folder is scored point by point, with a ranking. Writes FOLDER/score.json.

    Example: negsim score results/libya --scenario scenarios/libya_2019.toml
    """
    from sim.folder import ResultsError
    from sim.scenario import ScenarioError
    from sim.score import ScoreError, load_observations, read_folder, score_folder, write_json

    try:
        results = read_folder(folder)
        manifest, folder = results.manifest, results.path
        try:
            base = results.scenario()
        except ResultsError as exc:
            raise BadInput(str(exc)) from None
        except ScenarioError as exc:
            if scenario_file is None:
                raise BadInput(f"{folder}: its scenario does not validate with this version of "
                               f"negsim, so its observations cannot be read; pass --scenario "
                               f"FILE\n{exc}") from None
            base = None
            err.print(f"[yellow]warning:[/] {escape(str(folder))}: its scenario does not "
                      "validate with this version of negsim; scoring against "
                      f"{escape(str(scenario_file))} as it is")
        scn = base
        if scenario_file is not None:
            scn = load_observations(scenario_file, base)
        assert scn is not None
        where = str(scenario_file) if scenario_file is not None else f"{folder}'s scenario"
        if not scn.observed:
            raise BadInput(f"{where}: no observations to score against (add [[observed]] "
                           "entries, see docs/observations.md"
                           + (", or pass --scenario FILE)" if scenario_file is None else ")"))
        table = score_folder(folder, scn)
    except ScoreError as exc:
        raise BadInput(str(exc)) from None
    target = folder / "score.json"
    try:
        data = write_json(table, target, folder=str(folder),
                          observations_from=str(scenario_file) if scenario_file
                          else "manifest.json")
    except OSError as exc:
        raise BadInput(f"{target}: cannot write the scores ({exc.strerror})") from None
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    if not manifest.get("complete", True):
        err.print("[yellow]warning:[/] the manifest says these results are incomplete "
                  "(interrupted); the scores are of the finished runs only")
    if table.sweep:
        _print_sweep(table)
    else:
        _print_run(table)
    out.print(f"[green]scores[/] {escape(str(target))}")
