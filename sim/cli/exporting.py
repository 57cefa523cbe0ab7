"""The `negsim export` command (registered on sim.cli.app): a results folder's tables as CSV.

Importing this module registers the command on the app (``sim.cli`` imports it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sim.cli.app import BadInput, app, err, guarded, options, out
from sim.text import count

__all__ = ["export"]


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    folder: Annotated[Path, typer.Argument(
        help="A finished results folder written by `negsim run` or `negsim sweep`. "
             "Example: results/libya_2019-20250101-120000", show_default=False)]
    fmt: Annotated[str, typer.Option(
        "--format", "-f", metavar="csv",
        help="File format: csv (one file per table, a header row, dates as YYYY-MM-DD, "
             "empty cells for missing values). Example: --format csv")] = "csv"
    out_dir: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Folder for the files (made if missing; default FOLDER/csv). "
                            "Example: --out ~/libya-csv")] = None
    tables: Annotated[str | None, typer.Option(
        "--tables", "-t", metavar="NAME,...",
        help="Only these tables (comma-separated): runs, events, failures, steps and, for a "
             "sweep, points (default: all of them). Example: --tables runs,events")] = None
    force: Annotated[bool, typer.Option(
        "--force", help="Replace files of the same names already in the output folder "
                        "(otherwise the export refuses and writes nothing). "
                        "Example: --force")] = False
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress bar. Example: --quiet")] = False


@app.command()
@guarded
@options(ExportOptions)
def export(o: ExportOptions) -> None:
    """Write the tables of a results folder (runs, events, failures, steps and, for a sweep,
    points) as CSV files, one per table, for spreadsheets and tools that do not read Parquet.
    Files appear only when every table is written (nothing half-written is left); existing
    files are not replaced without --force.

    Example: negsim export results/libya --format csv --tables runs,events --out libya-csv
    """
    from sim.export import ExportError, ExportRequest, export_tables, plan_export

    req = ExportRequest(o.folder, o.fmt, o.out_dir,
                        None if o.tables is None else o.tables.split(","), o.force)
    try:
        plan = plan_export(req)
        prog = Progress(TextColumn("[bold]rows"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, disable=o.quiet, transient=True)
        task = prog.add_task("rows", total=plan.rows())
        with prog:
            paths = export_tables(req, lambda n: prog.advance(task, n))
    except ExportError as exc:
        raise BadInput(str(exc)) from None
    except OSError as exc:
        where = exc.filename or o.out_dir or o.folder
        raise BadInput(f"{where}: cannot write the files ({exc.strerror}); nothing was "
                       "written") from None
    rows = {p.stem: plan.folder.rows(p.stem) for p in paths}
    out.print(f"[green]exported[/] {count(len(paths), 'table')} to {escape(str(plan.out))}/: "
              + ", ".join(f"{escape(p.name)} ({count(rows[p.stem], 'row')})" for p in paths))
