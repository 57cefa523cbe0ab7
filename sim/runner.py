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


# ---------------------------------------------------------------------- one run
#: Types of the events table's columns (others: float64 if numeric, else str).
EVENT_TYPES = {"step": "int32", "proposal_id": "Int64", "accepted": "boolean",
               "value": "float64", "momentum": "float64", "kind": "str", "actor": "str",
               "target": "str", "reason": "str"}


def run_one(scenario: Scenario, run: int, seed: int, steps: int | None = None,
            model_cls: type[NegotiationModel] = NegotiationModel):
    """Simulate one replicate; return (runs row, steps table, events table)."""
    row, model_vars, events = simulate(scenario, run, seed, steps, model_cls)
    st, ev = _tables(scenario, [(run, model_vars, events)])
    return row, st, ev


def simulate(scenario: Scenario, run: int, seed: int, steps: int | None = None,
             model_cls: type[NegotiationModel] = NegotiationModel):
    """Simulate one replicate; return its runs row and its raw collected data (the model
    variables and the events table, as dicts of lists), to be tabled many runs at a time."""
    m = model_cls(scenario, rng=seed, steps=steps)
    m.run()
    dc = m.datacollector
    return _run_row(m, run, seed), dc.model_vars, dc.tables["events"]


def _tables(scenario: Scenario, raw: Sequence[tuple[int, dict, dict]],
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The steps and events tables of some runs: [(run, model_vars, events)] -> two frames
    (:func:`run_one`; chunks build Arrow tables of the same types, see `_arrow_tables`)."""
    if not raw:
        return pd.DataFrame(), pd.DataFrame()
    start = np.datetime64(scenario.model.start_date, "D")
    (st_run, step, cols), (ev_run, ecols) = _gather(raw)
    st = pd.DataFrame({"run": st_run, "step": step, "date": _dated(start, step),
                       **{k: _column(v) for k, v in cols.items()}})
    if "status" in st.columns:
        st["status"] = st["status"].astype("str")
    ev = pd.DataFrame({k: _typed(v, EVENT_TYPES.get(k) or _infer(v)) for k, v in ecols.items()},
                      columns=list(ecols))
    ev.insert(0, "run", ev_run)
    if "step" in ev.columns:
        ev.insert(2, "date", _dated(start, ev["step"].to_numpy()))
    return st, ev


def _gather(raw: Sequence[tuple[int, dict, dict]]):
    """The runs' recorded columns, joined: ((run, step, {reporter: values}), (run, {events
    column: values})), runs and steps as arrays, the rest as lists."""
    names, enames = list(raw[0][1]), list(raw[0][2])
    cols: dict[str, list] = {k: [] for k in names}
    ecols: dict[str, list] = {k: [] for k in enames}
    st_runs, steps, ev_runs = [], [], []
    for run, mv, ev in raw:
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


def _column(values: list):
    """A numeric column as a numpy array (pandas would scan a list value by value)."""
    if not values or isinstance(values[0], str):
        return values
    arr = np.asarray(values)
    return arr if arr.dtype.kind in "biuf" else values


def _typed(values: list, dtype: str):
    """An events column of the given type, converted in one pass."""
    if dtype == "float64":
        return np.asarray(values, dtype=np.float64)  # None becomes NaN
    if dtype == "int32":
        return np.asarray(values, dtype=np.int32)
    return pd.array(values, dtype=dtype)


def _arrow_tables(scenario: Scenario, raw: Sequence[tuple[int, dict, dict]],
                  ) -> tuple[pa.Table, pa.Table]:
    """:func:`_tables` as Arrow tables with pandas' metadata (readers get the same dtypes
    back), for a chunk of runs.

    Built straight from the recorded lists (about a millisecond a run less than pandas), with
    the types pandas gives the first run's columns, when those types are settled: no column of
    the first run is all missing, and every later value converts (a model whose reporter
    changes type, say). Otherwise the chunk goes through pandas, as :func:`_tables` would."""
    if not raw:
        return pa.table({}), pa.table({})
    schemas = _schemas(scenario, raw[0])
    if schemas is not None:
        try:
            return _build_arrow(scenario, raw, *schemas)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
    st, ev = _tables(scenario, raw)
    return (pa.Table.from_pandas(st, preserve_index=False),
            pa.Table.from_pandas(ev, preserve_index=False))


def _build_arrow(scenario: Scenario, raw: Sequence[tuple[int, dict, dict]],
                 st_schema: pa.Schema, ev_schema: pa.Schema) -> tuple[pa.Table, pa.Table]:
    start = np.datetime64(scenario.model.start_date, "D")
    (st_run, step, cols), (ev_run, ecols) = _gather(raw)
    st = _table_from({"run": st_run, "step": step, "date": _dated(start, step), **cols},
                     st_schema)
    ecols["run"] = ev_run
    if "step" in ecols:
        ecols["date"] = _dated(start, np.asarray(ecols["step"], dtype=np.int32))
    return st, _table_from(ecols, ev_schema)


def _table_from(cols: dict, schema: pa.Schema) -> pa.Table:
    """Columns (lists or arrays) as a table of a schema pandas gave such columns, their values
    converted as pandas converts them (None and NaN become nulls)."""
    return pa.Table.from_arrays(
        [pa.array(cols[f.name], type=f.type, from_pandas=True) for f in schema], schema=schema)


def _value_types(cols: dict[str, list]) -> tuple:
    """What decides the types pandas gives some columns: their names and the Python types of
    their values (the key of the schemas kept)."""
    return tuple((k, frozenset(map(type, v))) for k, v in cols.items())


def _dated(start: np.datetime64, step: np.ndarray) -> np.ndarray:
    return (start + step.astype("int64").astype("timedelta64[W]")).astype("datetime64[ms]")


_SCHEMAS: dict[tuple, tuple[pa.Schema, pa.Schema]] = {}


def _schemas(scenario: Scenario, first: tuple[int, dict, dict],
             ) -> tuple[pa.Schema, pa.Schema] | None:
    """The Arrow schemas pandas gives one run's steps and events tables (kept per set of
    columns and the Python types of their values), or None when a column has no type (all
    missing)."""
    key = (_value_types(first[1]), _value_types(first[2]))
    got = _SCHEMAS.get(key)
    if got is None:
        st, ev = _tables(scenario, [first])
        got = (pa.Schema.from_pandas(st, preserve_index=False),
               pa.Schema.from_pandas(ev, preserve_index=False))
        if any(pa.types.is_null(f.type) for sc in got for f in sc):
            return None
        _SCHEMAS[key] = got
    return got


def _infer(values: list) -> str:
    """The type of an events column the runner does not know: float64 if numeric, else str."""
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {int, float}:
        return "float64"
    return "boolean" if kinds == {bool} else "str"


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
            row, model_vars, events = simulate(chunk.scenario, run, seed, chunk.steps,
                                               chunk.model_cls)
        except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
            fails.append({"point": chunk.point, "run": run, "seed": seed,
                          "error": f"{type(exc).__name__}: {exc}",
                          "traceback": traceback.format_exc()})
            continue
        rows.append(row)
        raw.append((run, model_vars, events))
    steps, events = _arrow_tables(chunk.scenario, raw)
    del raw
    return _with_point({"runs": _runs_table(rows), "steps": steps, "events": events,
                        "failures": _failures_table(fails)}, chunk.point)


def _runs_frame(rows: list[dict]) -> pd.DataFrame:
    """The runs table of some runs (one row each, see `_run_row`), typed."""
    runs = pd.DataFrame(rows)
    if len(runs):
        runs = runs.astype({"first_ceasefire_step": "Int64", "ceasefire_proposer": "str",
                            "ceasefire_proposer_kind": "str", "outcome": "str",
                            "final_status": "str", "seed": "uint64"})
        runs["first_ceasefire_date"] = pd.to_datetime(runs["first_ceasefire_date"]).astype(
            "datetime64[ms]")
    return runs


_RUNS_SCHEMAS: dict[tuple, pa.Schema] = {}


def _runs_table(rows: list[dict]) -> pa.Table:
    """`_runs_frame` as an Arrow table, built straight from the rows with the schema pandas
    gives such rows (kept per set of columns and the Python types of their values: a fifth of
    the time of going through pandas, which a chunk does once and then only if a column has
    no type, or a value does not convert)."""
    key = None
    if rows and all(r.keys() == rows[0].keys() for r in rows):
        cols = {k: [r[k] for r in rows] for k in rows[0]}
        key = _value_types(cols)
        schema = _RUNS_SCHEMAS.get(key)
        if schema is not None:
            try:
                return _table_from(cols, schema)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                pass
    table = pa.Table.from_pandas(_runs_frame(rows), preserve_index=False)
    if key is not None and not any(pa.types.is_null(f.type) for f in table.schema):
        _RUNS_SCHEMAS[key] = table.schema
    return table


@functools.cache
def _no_failures() -> pa.Table:
    return pa.Table.from_pandas(pd.DataFrame(columns=FAILURE_COLUMNS), preserve_index=False)


def _failures_table(fails: list[dict]) -> pa.Table:
    if not fails:
        return _no_failures()
    return pa.Table.from_pandas(pd.DataFrame(fails, columns=FAILURE_COLUMNS),
                                preserve_index=False)


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
