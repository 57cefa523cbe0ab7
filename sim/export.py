"""A results folder's tables as CSV files (``negsim export``), for spreadsheets and tools that do
not read Parquet.

Every file is first written under a temporary name in the output folder, and all are renamed
only once every table is written: an export that fails (a full disk, an unreadable table)
leaves no file behind, and one that succeeds leaves only whole files. Tables are streamed
batch by batch, so a steps table of millions of rows needs little memory. Dates (weekly, at
midnight) are written as ``YYYY-MM-DD``.

>>> from sim.export import export_tables                           # doctest: +SKIP
>>> export_tables(ExportRequest("results/libya", tables=("runs",)))  # doctest: +SKIP
[PosixPath('results/libya/csv/runs.csv')]
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sim.folder import ResultsError, ResultsFolder

__all__ = ["EXPORT_TABLES", "FORMATS", "ExportError", "ExportRequest", "export_tables",
           "plan_export"]

#: The tables `negsim export` writes, in this order (``points`` only for a sweep).
EXPORT_TABLES = ("runs", "events", "failures", "steps", "points")
#: The formats it writes.
FORMATS = ("csv",)


class ExportError(ValueError):
    """An export that cannot be done as asked; the message names the folder, option or file
    and what was expected."""


@dataclass(frozen=True)
class ExportRequest:
    """What to export: the results `folder`, the `fmt`, the output folder `out` (default
    ``<folder>/<fmt>/``), the `tables` (default all the folder has) and whether existing
    files may be replaced (`force`)."""

    folder: Path | str
    fmt: str = "csv"
    out: Path | str | None = None
    tables: Sequence[str] | None = None
    force: bool = False


@dataclass(frozen=True)
class ExportPlan:
    folder: ResultsFolder
    out: Path
    tables: tuple[str, ...]

    def target(self, name: str) -> Path:
        return self.out / f"{name}.csv"

    def rows(self) -> int:
        return sum(self.folder.rows(t) for t in self.tables)


def plan_export(req: ExportRequest) -> ExportPlan:
    """Check a request before anything is written: ExportError saying what is wrong."""
    fmt = str(req.fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"--format {req.fmt!r}: expected {' or '.join(FORMATS)}")
    try:
        rf = ResultsFolder.open(req.folder, need=())
    except ResultsError as exc:
        raise ExportError(str(exc)) from None
    if not rf.complete:
        raise ExportError(f"{rf.path}: unfinished results (the runs were interrupted or are "
                          "still running); finish them with the same command and --resume, "
                          "then export")
    here = [t for t in EXPORT_TABLES if t != "points" or rf.kind == "sweep"]
    if req.tables is None:
        names = tuple(here)
    else:
        names = tuple(dict.fromkeys(str(t).strip() for t in req.tables if str(t).strip()))
        unknown = [t for t in names if t not in here]
        if unknown or not names:
            extra = (" (points: only a sweep folder has one)"
                     if "points" in unknown and rf.kind != "sweep" else "")
            raise ExportError(f"--tables {','.join(req.tables)}: unknown table(s) "
                              f"{', '.join(unknown) or '(none)'}{extra}; expected a "
                              f"comma-separated list of: {', '.join(here)}")
    for t in names:
        try:
            rf.require(t)
            pq.read_metadata(rf.path / f"{t}.parquet")
        except ResultsError as exc:
            raise ExportError(str(exc)) from None
        except (pa.ArrowException, OSError) as exc:
            raise ExportError(f"{rf.path / f'{t}.parquet'}: unreadable Parquet table ({exc})"
                              ) from None
    out = Path(req.out) if req.out is not None else rf.path / fmt
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out}: is a file; expected a folder for the {fmt.upper()} "
                          "files")
    plan = ExportPlan(rf, out, names)
    there = [plan.target(t) for t in names if plan.target(t).exists()]
    if there and not req.force:
        raise ExportError(f"--out {out}: would overwrite {', '.join(p.name for p in there)}; "
                          "give another --out, or --force to replace them")
    for parent in (out, *out.parents):
        if parent.exists():
            if not os.access(parent, os.W_OK):
                raise ExportError(f"--out {out}: cannot write in {parent}")
            break
    return plan


def _csv_schema(data) -> pa.Schema:
    """The schema the CSV is written with: dictionary columns as their values, and timestamp
    columns whose every value is at midnight (the tables' weekly dates) as dates."""
    fields = []
    for f in data.schema:
        typ = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if pa.types.is_timestamp(typ):
            col = data.to_table(columns=[f.name]).column(0)
            if pc.all(pc.equal(pc.cast(pc.cast(col, pa.date32()), typ), col)).as_py() \
                    in (True, None):
                typ = pa.date32()
        fields.append(pa.field(f.name, typ))
    return pa.schema(fields)


def export_tables(req: ExportRequest, advance: Callable[[int], None] | None = None
                  ) -> list[Path]:
    """Write the tables of a results folder as CSV files; returns their paths. `advance` is
    called with the number of rows written after each batch (for a progress bar)."""
    plan = plan_export(req)
    made = not plan.out.exists()
    plan.out.mkdir(parents=True, exist_ok=True)
    tmps: dict[str, Path] = {}
    try:
        for name in plan.tables:
            tmp = plan.out / f".{name}.csv.tmp-{os.getpid()}"
            tmps[name] = tmp
            try:
                _write_csv(plan, name, tmp, advance)
            except (pa.ArrowException, ValueError) as exc:
                raise ExportError(f"{plan.folder.path / f'{name}.parquet'}: cannot export it "
                                  f"({exc}); nothing was written") from None
        for name, tmp in tmps.items():
            os.replace(tmp, plan.target(name))
    except BaseException:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
        if made:
            shutil.rmtree(plan.out, ignore_errors=True)
        raise
    return [plan.target(t) for t in plan.tables]


def _write_csv(plan: ExportPlan, name: str, tmp: Path,
               advance: Callable[[int], None] | None) -> None:
    data = plan.folder.dataset(name)
    schema = _csv_schema(data)
    with pacsv.CSVWriter(tmp, schema) as w:
        for batch in data.to_batches(batch_size=65_536):
            if batch.num_rows:
                w.write_batch(batch.cast(schema))
                if advance is not None:
                    advance(batch.num_rows)
