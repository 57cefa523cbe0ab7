"""Many runs: seeds, chunks, any ``concurrent.futures.Executor``, tables streamed to disk.

Every run's seed is drawn in the parent from ``SeedSequence(seed).spawn(runs)``, so a run's
result depends only on (scenario, seed, run index): never on the executor, the number of workers
or the chunk size. Work goes out in chunks of runs; each finished chunk is written atomically as
Parquet part files (``parts/``), and the final tables are assembled from the parts.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.executors import Stopped, stop_requested
from sim.folder import FAILURE_COLUMNS, TABLES, Results
from sim.model import NegotiationModel
from sim.scenario import Scenario

__all__ = [
    "Chunk",
    "ExecutionError",
    "Interrupted",
    "execute",
    "run_chunk",
    "run_one",
    "simulate",
]


# ---------------------------------------------------------------------- schemas
#: pandas dtypes of the runs table's columns (one row per run, see `_run_row`); the rest
#: (control, losses, support, deployed, lost) are float64.
RUN_DTYPES = {
    "run": "int64", "seed": "uint64", "outcome": "str", "weeks": "int64",
    "final_status": "str", "first_ceasefire_step": "Int64",
    "first_ceasefire_date": "datetime64[ms]", "ceasefire_proposer": "str",
    "ceasefire_proposer_kind": "str", "n_truces": "int64", "n_ceasefires": "int64",
    "n_breakdowns": "int64", "n_incidents": "int64", "n_proposals": "int64",
    "last_capture_step": "int64",
}
#: pandas dtypes of the events table's columns (see `sim.model.EVENT_COLUMNS`).
EVENT_DTYPES = {"run": "int32", "step": "int32", "date": "datetime64[ms]", "kind": "str",
                "actor": "str", "target": "str", "proposal_id": "Int64",
                "accepted": "boolean", "value": "float64", "momentum": "float64",
                "reason": "str"}
#: pandas dtypes of the failures table's columns.
FAILURE_DTYPES = {"point": "int64", "run": "int64", "seed": "uint64", "error": "str",
                  "traceback": "str"}
#: The steps table's own columns, before the model's reporters (`column_types`).
STEP_DTYPES = {"run": "int32", "step": "int32", "date": "datetime64[ms]"}


@functools.lru_cache(maxsize=64)
def arrow_schema(columns: tuple[tuple[str, str], ...]) -> pa.Schema:
    """The Arrow schema of columns of these pandas dtypes, with pandas' metadata (so that
    pandas reads the tables back with the same dtypes)."""
    empty = pd.DataFrame({k: pd.Series(dtype=d) for k, d in columns})
    return pa.Schema.from_pandas(empty, preserve_index=False)


def _schema(names, dtypes: dict[str, str], default: str) -> pa.Schema:
    return arrow_schema(tuple((k, dtypes.get(k, default)) for k in names))


def _table_from(cols: dict, schema: pa.Schema, table: str) -> pa.Table:
    """Columns (lists or arrays) as a table of `schema` (None and NaN become nulls); a value
    that does not convert is an error naming the table, the column and its type."""
    arrays = []
    for f in schema:
        try:
            arrays.append(pa.array(cols[f.name], type=f.type, from_pandas=True))
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
            raise ValueError(
                f"the {table} table's column {f.name!r} is of type {f.type}, but a run recorded "
                f"a value that does not convert ({exc}); a model subclass declares its "
                "reporters' types in column_types()") from None
    return pa.Table.from_arrays(arrays, schema=schema)


# ---------------------------------------------------------------------- one run
def run_one(scenario: Scenario, run: int, seed: int, steps: int | None = None,
            model_cls: type[NegotiationModel] = NegotiationModel):
    """Simulate one replicate; return (runs row, steps table, events table)."""
    row, *raw = simulate(scenario, run, seed, steps, model_cls)
    st, ev = _arrow_tables(scenario, [(run, *raw)])
    return row, st.to_pandas(), ev.to_pandas()


def simulate(scenario: Scenario, run: int, seed: int, steps: int | None = None,
             model_cls: type[NegotiationModel] = NegotiationModel):
    """Simulate one replicate; return its runs row and its raw collected data (the model
    variables and the events table, as dicts of lists, and the model's column types), to be
    tabled many runs at a time."""
    m = model_cls(scenario, rng=seed, steps=steps)
    m.run()
    dc = m.datacollector
    return _run_row(m, run, seed), dc.model_vars, dc.tables["events"], m.column_types()


def _gather(raw: Sequence[tuple[int, dict, dict, dict]]):
    """The runs' recorded columns, joined: ((run, step, {reporter: values}), (run, {events
    column: values})), runs and steps as arrays, the rest as lists."""
    names, enames = list(raw[0][1]), list(raw[0][2])
    cols: dict[str, list] = {k: [] for k in names}
    ecols: dict[str, list] = {k: [] for k in enames}
    st_runs, steps, ev_runs = [], [], []
    for run, mv, ev, _types in raw:
        n = len(mv[names[0]]) if names else 0
        st_runs.append(np.full(n, run, dtype=np.int32))
        steps.append(np.arange(n, dtype=np.int32))
        for k in names:
            cols[k].extend(mv[k])
        ev_runs.append(np.full(len(ev[enames[0]]) if enames else 0, run, dtype=np.int32))
        for k in enames:
            ecols[k].extend(ev[k])
    return ((np.concatenate(st_runs), np.concatenate(steps), cols),
            (np.concatenate(ev_runs), ecols))


def _dated(start: np.datetime64, step: np.ndarray) -> np.ndarray:
    return (start + step.astype("int64").astype("timedelta64[W]")).astype("datetime64[ms]")


def _arrow_tables(scenario: Scenario, raw: Sequence[tuple[int, dict, dict, dict]],
                  ) -> tuple[pa.Table, pa.Table]:
    """The steps and events tables of some runs ([(run, model_vars, events, column types)]),
    built straight from the recorded lists under explicit schemas: the steps table's from the
    model's reporters and their declared types (`column_types`), the events table's from
    :data:`EVENT_DTYPES`."""
    if not raw:
        return pa.table({}), pa.table({})
    start = np.datetime64(scenario.model.start_date, "D")
    (st_run, step, cols), (ev_run, ecols) = _gather(raw)
    st_schema = _schema(["run", "step", "date", *cols], {**STEP_DTYPES, **raw[0][3]}, "float64")
    st = _table_from({"run": st_run, "step": step, "date": _dated(start, step), **cols},
                     st_schema, "steps")
    ecols["run"] = ev_run
    if "step" in ecols:
        ecols["date"] = _dated(start, np.asarray(ecols["step"], dtype=np.int32))
    names = ["run", *(["step", "date"] if "step" in ecols else []),
             *(k for k in ecols if k not in ("run", "step", "date"))]
    ev = _table_from(ecols, _schema(names, EVENT_DTYPES, "str"), "events")
    return st, ev


def _run_row(m: NegotiationModel, run: int, seed: int) -> dict:
    first = m.first_ceasefire
    row = {
        "run": run,
        "seed": seed,
        "outcome": m.outcome(),
        "weeks": m.step_no,
        "final_status": m.status,
        "first_ceasefire_step": first,
        "first_ceasefire_date": (pd.Timestamp(m.date(first)) if first is not None else pd.NaT),
        "ceasefire_proposer": m.ceasefire_by[0] if m.ceasefire_by else None,
        "ceasefire_proposer_kind": m.ceasefire_by[1] if m.ceasefire_by else None,
        "n_truces": m.counts["truces"],
        "n_ceasefires": m.counts["ceasefires"],
        "n_breakdowns": m.counts["breakdowns"],
        "n_incidents": m.counts["incidents"],
        "n_proposals": m.counts["proposals"],
        "last_capture_step": m.last_capture,
    }
    for k in m.armed:
        row[f"control_{k}"] = m.control_share(k)
    for k in m.armed:
        row[f"losses_{k}"] = m.factions[k].losses_total
    for k, b in m.backers.items():
        row[f"support_{k}"] = b.spent
    for k, b in m.backers.items():
        row[f"deployed_{k}"] = b.peak_deployed
        row[f"lost_{k}"] = b.troops_lost
    return row


# ---------------------------------------------------------------------- chunks
@dataclass(frozen=True)
class Chunk:
    """A unit of work: some replicates of one scenario (one sweep point)."""

    scenario: Scenario
    point: int
    index: int
    runs: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int | None = None
    #: The model class (a subclass of NegotiationModel, importable by the workers).
    model_cls: type[NegotiationModel] = NegotiationModel

    @property
    def name(self) -> str:
        return f"{self.point:05d}-{self.index:05d}"


def run_chunk(chunk: Chunk) -> dict[str, pa.Table]:
    """Run a chunk and return its tables (with the point as a column); a run that raises
    becomes a row of the failures table. In a worker whose pool is told to stop, the chunk is
    dropped after the run under way (:class:`~sim.executors.Stopped`)."""
    rows, raw, fails = [], [], []
    for run, seed in zip(chunk.runs, chunk.seeds, strict=True):
        if stop_requested():
            raise Stopped(chunk.name)
        try:
            row, *recorded = simulate(chunk.scenario, run, seed, chunk.steps,
                                      chunk.model_cls)
        except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
            fails.append({"point": chunk.point, "run": run, "seed": seed,
                          "error": f"{type(exc).__name__}: {exc}",
                          "traceback": traceback.format_exc()})
            continue
        rows.append(row)
        raw.append((run, *recorded))
    steps, events = _arrow_tables(chunk.scenario, raw)
    del raw
    return _with_point({"runs": _runs_table(rows), "steps": steps, "events": events,
                        "failures": _failures_table(fails)}, chunk.point)


def _runs_table(rows: list[dict]) -> pa.Table:
    """The runs table of some runs (one row each, see `_run_row`), under its explicit schema
    (:data:`RUN_DTYPES`)."""
    if not rows:
        return pa.table({})
    names = list(rows[0])
    cols = {k: [r.get(k) for r in rows] for k in names}
    return _table_from(cols, _schema(names, RUN_DTYPES, "float64"), "runs")


def _failures_table(fails: list[dict]) -> pa.Table:
    cols = {k: [f[k] for f in fails] for k in FAILURE_DTYPES}
    return _table_from(cols, _schema(list(FAILURE_DTYPES), FAILURE_DTYPES, "str"), "failures")


def _with_point(tables: dict[str, pa.Table], point: int) -> dict[str, pa.Table]:
    """The sweep point as a first column (of the tables that have rows)."""
    for t in ("runs", "steps", "events"):
        tab = tables[t]
        if tab.num_rows and "point" not in tab.column_names:
            tables[t] = tab.add_column(0, pa.field("point", pa.int64()),
                                       pa.array(np.full(tab.num_rows, point, dtype=np.int64)))
    return tables


class Interrupted(Exception):
    """Stopped by the user; the chunks finished before are kept (by the caller's sink)."""

    def __init__(self, done: int, total: int):
        self.done, self.total = done, total
        super().__init__(f"interrupted after {done} of {total} chunks")


class ExecutionError(Exception):
    """A task failed outside the model (a worker died, the cluster went away); the chunks
    finished before are kept (by the caller's sink)."""

    def __init__(self, chunk: str, cause: BaseException, done: int, total: int):
        self.chunk, self.cause, self.done, self.total = chunk, cause, done, total
        hint = ""
        if "BrokenProcessPool" in type(cause).__name__:
            hint = ("; if this is a script, run it under `if __name__ == \"__main__\":` "
                    "(worker processes import the script that starts them)")
        super().__init__(f"chunk {chunk} failed outside the model "
                         f"({type(cause).__name__}: {cause}); {done} of {total} chunks "
                         f"finished{hint}")


Sink = Callable[[Chunk, dict[str, pa.Table]], None]


def execute(chunks: Sequence[Chunk], sink: Sink, executor: Executor | None = None,
            window: int = 4) -> None:
    """Run chunks and hand each one's tables to `sink` as it finishes (in the order they
    finish), on this process (no executor) or on any :class:`concurrent.futures.Executor`.

    At most `window` tasks are submitted at a time (a finished one's tables are dropped once
    the sink has them), so memory does not grow with the number of runs. A Ctrl-C raises
    :class:`Interrupted` and a task that fails outside the model :class:`ExecutionError`,
    after cancelling the tasks not yet started; stopping the workers is the executor owner's
    business (:func:`sim.executors.open_executor` does it)."""
    done = 0
    futures: dict[Future, Chunk] = {}
    try:
        if executor is None:
            for c in chunks:
                sink(c, run_chunk(c))
                done += 1
            return
        queue = iter(chunks)

        def fill() -> None:
            while len(futures) < window:
                c = next(queue, None)
                if c is None:
                    return
                try:
                    futures[executor.submit(run_chunk, c)] = c
                except Exception as exc:  # noqa: BLE001 - a broken or closed executor
                    raise ExecutionError(c.name, exc, done, len(chunks)) from exc

        fill()
        while futures:
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for f in finished:
                c = futures.pop(f)
                try:
                    tables = f.result()
                except Exception as exc:  # noqa: BLE001 - not the model: stop, keep the rest
                    raise ExecutionError(c.name, exc, done, len(chunks)) from exc
                sink(c, tables)
                del tables
                done += 1
            fill()
    except KeyboardInterrupt:
        raise Interrupted(done, len(chunks)) from None
    finally:
        for f in futures:
            f.cancel()


def tables_in_memory(chunks: Sequence[Chunk], kept: dict[str, dict[str, pa.Table]],
                     point_column: bool = False) -> Results:
    """The tables of chunks kept in memory by name, in chunk order."""
    out = {}
    for t in TABLES:
        tabs = [kept[c.name][t] for c in chunks if kept[c.name][t].num_columns]
        df = (pa.concat_tables(tabs, promote_options="permissive").to_pandas() if tabs
              else pd.DataFrame(columns=FAILURE_COLUMNS if t == "failures" else []))
        if not point_column and "point" in df.columns and t != "failures":
            df = df.drop(columns="point")
        out[t] = df
    return Results(out["runs"], out["steps"], out["events"], out["failures"])
