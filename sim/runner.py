"""Many runs: seeds, chunks, any ``concurrent.futures.Executor``, tables streamed to disk.

Every run's seed is drawn in the parent from ``SeedSequence(seed).spawn(runs)``, so a run's
result depends only on (scenario, seed, run index): never on the executor, the number of workers
or the chunk size. Work goes out in chunks of runs; each finished chunk is written atomically as
Parquet part files (``parts/``), and the final tables are assembled from the parts.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.model import NegotiationModel
from sim.pool import LocalPool, Stopped, chunk_size_for, default_executor, stop_requested
from sim.scenario import Scenario

__all__ = [
    "Chunk",
    "ExecutionError",
    "Interrupted",
    "Results",
    "assemble",
    "atomic_json",
    "atomic_parquet",
    "execute",
    "make_chunks",
    "run_chunk",
    "run_one",
    "run_replicates",
    "run_seeds",
    "simulate",
]

TABLES = ("runs", "steps", "events", "failures")


def run_seeds(seed: int, runs: int) -> list[int]:
    """One 63-bit seed per replicate, from ``SeedSequence(seed).spawn(runs)``."""
    children = np.random.SeedSequence(seed).spawn(runs)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


class Results:
    """The tables of a set of runs: ``runs``, ``steps``, ``events`` (and ``failures``; for a
    sweep also ``points``, one row per sweep point).

    In memory, or backed by a results folder (tables are read from disk when first used).
    """

    def __init__(self, runs=None, steps=None, events=None, failures=None,
                 folder: str | Path | None = None, points=None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self._tabs = {"runs": runs, "steps": steps, "events": events, "failures": failures,
                      "points": points}

    @classmethod
    def load(cls, folder: str | Path) -> Results:
        return cls(folder=folder)

    def _get(self, name: str) -> pd.DataFrame:
        if self._tabs[name] is None:
            p = self.folder / f"{name}.parquet" if self.folder else None
            if p is not None and p.exists():
                self._tabs[name] = pd.read_parquet(p)
            else:
                self._tabs[name] = pd.DataFrame(
                    columns=FAILURE_COLUMNS if name == "failures" else [])
        return self._tabs[name]

    runs = property(lambda self: self._get("runs"))
    steps = property(lambda self: self._get("steps"))
    events = property(lambda self: self._get("events"))
    failures = property(lambda self: self._get("failures"))
    points = property(lambda self: self._get("points"))

    @property
    def manifest(self) -> dict:
        if self.folder is None or not (self.folder / "manifest.json").exists():
            return {}
        return json.loads((self.folder / "manifest.json").read_text())


# ---------------------------------------------------------------------- one run
#: The failures table's columns: a run that raised, and what it raised.
FAILURE_COLUMNS = ["point", "run", "seed", "error", "traceback"]

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
    #: Where the worker writes the chunk's part files itself (when it shares this machine's
    #: files); None: it returns the tables.
    parts_dir: str | None = None

    @property
    def name(self) -> str:
        return f"{self.point:05d}-{self.index:05d}"


_GC_LOCK = threading.Lock()
_GC_PAUSES = 0  # runs in progress in this process
_GC_WAS_ON = True


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during a run: a run makes little cyclic garbage, and the
    collector's passes over a model's live objects cost 1-2% of it.

    The collector is one switch for the whole process, and several threads may run chunks at
    once (a LocalPool's thread, a Dask worker's threads). So the pause holds only while one
    run is in progress: the first run in turns the collector off, a second that overlaps it
    turns it back on (runs back to back on several threads would otherwise keep it off for
    good, and every finished model, a web of cycles, would stay in memory), and the last one
    out leaves it as it found it."""
    global _GC_PAUSES, _GC_WAS_ON
    with _GC_LOCK:
        if _GC_PAUSES == 0:
            _GC_WAS_ON = gc.isenabled()
            gc.disable()
        elif _GC_WAS_ON:
            gc.enable()
        _GC_PAUSES += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES -= 1
            if _GC_PAUSES == 0 and _GC_WAS_ON:
                gc.enable()


def run_chunk(chunk: Chunk) -> dict[str, pa.Table] | None:
    """Run a chunk; a run that raises becomes a row of the failures table. Returns the tables,
    or writes them as part files when the chunk names a `parts_dir` (and returns None)."""
    rows, raw, fails = [], [], []
    for run, seed in zip(chunk.runs, chunk.seeds, strict=True):
        if stop_requested():  # on a LocalPool's thread, after Ctrl-C: drop the chunk
            raise Stopped(chunk.name)
        try:
            with _gc_paused():
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
    out = {
        "runs": _runs_table(rows),
        "steps": steps,
        "events": events,
        "failures": _failures_table(fails),
    }
    if chunk.parts_dir is None:
        return out
    write_parts(Path(chunk.parts_dir), chunk.name, _with_point(out, chunk.point))
    return None


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


def atomic_parquet(df: pd.DataFrame | pa.Table, path: Path, compression: str = "snappy"
                   ) -> None:
    """Write a table so that readers see the old file or the whole new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tab = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(tab, tmp, compression=compression,
                   use_dictionary=_dictionary_columns(tab.schema))
    os.replace(tmp, path)


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Dictionary-encode the text columns (few distinct values); numbers do not gain enough
    to pay for it (it doubles the time to write a steps table)."""
    return [f.name for f in schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]


def atomic_json(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def write_parts(parts_dir: Path, chunk_name: str, tables: dict[str, pa.Table]) -> None:
    """Write one chunk's tables; the 'done' marker goes last, so a chunk is all or nothing."""
    for t in TABLES:  # lz4: parts are temporary, written and read once; speed over size
        atomic_parquet(tables[t], parts_dir / f"{t}-{chunk_name}.parquet", compression="lz4")
    (parts_dir / f"done-{chunk_name}").touch()


def done_chunks(parts_dir: Path) -> set[str]:
    return {p.name[5:] for p in parts_dir.glob("done-*")}


def assemble(parts_dir: Path, names: Sequence[str], out_dir: Path,
             point_column: bool = False) -> None:
    """Stream part files (in chunk order) into the final tables, one part in memory at a time."""
    for t in TABLES:
        files = [parts_dir / f"{t}-{n}.parquet" for n in names]
        schemas = [pq.read_schema(f) for f in files]
        schemas = [sc for sc in schemas if len(sc.names) and not _all_null_empty(sc)]
        target = out_dir / f"{t}.parquet"
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        if not schemas:
            empty = pd.DataFrame(columns=FAILURE_COLUMNS if t == "failures" else [])
            empty.to_parquet(tmp, index=False)
            os.replace(tmp, target)
            continue
        schema = pa.unify_schemas(schemas, promote_options="permissive")
        schema = pa.schema([fl.with_type(pa.string()) if pa.types.is_null(fl.type) else fl
                            for fl in schema])
        if not point_column and t != "failures" and "point" in schema.names:
            schema = schema.remove(schema.get_field_index("point"))
        bare = schema
        schema = schema.with_metadata(schemas[0].metadata or {})
        with pq.ParquetWriter(tmp, schema, use_dictionary=_dictionary_columns(schema)) as w:
            for f in files:
                tab = pq.ParquetFile(f).read(use_threads=False)
                if tab.num_rows == 0:
                    continue
                tab = tab.replace_schema_metadata(None)
                if "point" in tab.column_names and "point" not in schema.names:
                    tab = tab.drop_columns("point")
                if tab.schema.equals(bare):
                    tab = tab.replace_schema_metadata(schema.metadata)
                else:
                    tab = pa.table({n: _cast(tab, n, schema.field(n).type)
                                    for n in schema.names}, schema=schema)
                w.write_table(tab)
        os.replace(tmp, target)


def _all_null_empty(schema: pa.Schema) -> bool:
    return all(pa.types.is_null(f.type) for f in schema)


def _cast(tab: pa.Table, name: str, typ: pa.DataType):
    if name not in tab.column_names:
        return pa.nulls(tab.num_rows, typ)
    return tab.column(name).cast(typ)


# ---------------------------------------------------------------------- executors
def shares_filesystem(executor: Executor | None) -> bool:
    """Whether the executor's workers see this machine's files: this process, a local process
    pool or a Dask LocalCluster (a remote scheduler's workers may not)."""
    if executor is None or isinstance(executor, ProcessPoolExecutor | LocalPool):
        return True
    cluster = getattr(getattr(executor, "_client", None), "cluster", None)
    return type(cluster).__name__ == "LocalCluster"


def executor_width(executor: Executor | None) -> int:
    """How many tasks an executor runs at once (best effort: process pools and Dask clients)."""
    if executor is None:
        return 1
    if isinstance(executor, LocalPool):
        return executor.jobs
    n = getattr(executor, "_max_workers", None)
    if isinstance(n, int) and n > 0:
        return n
    client = getattr(executor, "_client", None)  # distributed.cfexecutor.ClientExecutor
    if client is not None:
        with contextlib.suppress(Exception):
            return max(1, sum(client.nthreads().values()))
    return os.cpu_count() or 1


def stop_executor(executor: Executor) -> None:
    """Stop at once: cancel what is queued and end the workers of a process pool (their
    running chunks are lost, finished ones are on disk)."""
    if isinstance(executor, LocalPool):
        executor.stop()
        return
    procs = list((getattr(executor, "_processes", None) or {}).values())  # shutdown forgets
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # Dask's ClientExecutor: shutdown(wait=False) cancels
        with contextlib.suppress(Exception):
            executor.shutdown(wait=False)
    except Exception:  # noqa: BLE001 - best effort while stopping
        pass
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()


class Interrupted(Exception):
    """Stopped by the user; finished chunks are kept on disk."""

    def __init__(self, done: int, total: int, out: Path | None):
        self.done, self.total, self.out = done, total, out
        super().__init__(f"interrupted after {done} of {total} chunks")


class ExecutionError(Exception):
    """A task failed outside the model (a worker died, the cluster went away); finished chunks
    are kept on disk."""

    def __init__(self, chunk: str, cause: BaseException, done: int, total: int):
        self.chunk, self.cause, self.done, self.total = chunk, cause, done, total
        super().__init__(f"chunk {chunk} failed outside the model "
                         f"({type(cause).__name__}: {cause}); {done} of {total} chunks finished")


def execute(chunks: Sequence[Chunk], *, executor: Executor | None, parts_dir: Path | None,
            progress: Callable[[int], None] | None = None,
            point_column: bool = False, max_in_flight: int | None = None,
            ) -> dict[str, pd.DataFrame]:
    """Run chunks (skipping those already on disk).

    With `parts_dir`, each finished chunk is written there (by the worker itself when it shares
    this machine's files, see :func:`shares_filesystem`) and nothing is kept in memory (call
    :func:`assemble`); without, the tables are returned. At most `max_in_flight` tasks (default:
    the executor's ``window`` if it has one, as :class:`~sim.pool.LocalPool` does, else twice
    its width, plus two) are submitted at a time, and a finished task's result is dropped once
    written, so memory does not grow with the number of runs.
    """
    kept: dict[str, dict[str, pa.Table]] = {}
    todo = list(chunks)
    if parts_dir is not None:
        parts_dir.mkdir(parents=True, exist_ok=True)
        finished = done_chunks(parts_dir)
        if progress:
            progress(sum(len(c.runs) for c in todo if c.name in finished))
        todo = [c for c in todo if c.name not in finished]
        if shares_filesystem(executor):  # workers write their own parts: less to send back
            todo = [replace(c, parts_dir=str(parts_dir.resolve())) for c in todo]

    def _store(c: Chunk, tables: dict[str, pa.Table] | None) -> None:
        if tables is not None:  # else the worker wrote the chunk's parts
            _with_point(tables, c.point)
            if parts_dir is not None:
                write_parts(parts_dir, c.name, tables)
            else:
                kept[c.name] = tables
        nonlocal done
        done += 1
        if progress:
            progress(len(c.runs))

    done = len(chunks) - len(todo)

    def _finished() -> int:
        """Chunks finished when the work stopped: on disk (workers write their own parts, and
        may finish one after the last result was counted) or counted here."""
        if parts_dir is None:
            return done
        return len(done_chunks(parts_dir) & {c.name for c in chunks})

    try:
        if executor is None:
            for c in todo:
                _store(c, run_chunk(c))
        else:
            window = (max_in_flight or getattr(executor, "window", None)
                      or 2 * executor_width(executor) + 2)
            queue = iter(todo)
            futures: dict[Future, Chunk] = {}

            def _fill() -> None:
                while len(futures) < window:
                    c = next(queue, None)
                    if c is None:
                        return
                    try:
                        futures[executor.submit(run_chunk, c)] = c
                    except Exception as exc:  # noqa: BLE001 - a broken or closed executor
                        stop_executor(executor)
                        raise ExecutionError(c.name, exc, _finished(), len(chunks)) from exc

            _fill()
            while futures:
                finished_now, _ = wait(futures, return_when=FIRST_COMPLETED)
                for f in finished_now:
                    c = futures.pop(f)
                    try:
                        tables = f.result()
                    except Exception as exc:  # noqa: BLE001 - not the model: stop, keep parts
                        stop_executor(executor)
                        raise ExecutionError(c.name, exc, _finished(), len(chunks)) from exc
                    _store(c, tables)
                    del tables
                _fill()
    except KeyboardInterrupt:
        if executor is not None:
            stop_executor(executor)
        raise Interrupted(_finished(), len(chunks),
                          parts_dir.parent if parts_dir else None) from None
    names = [c.name for c in chunks]
    if parts_dir is not None:
        return {}
    out = {}
    for t in TABLES:
        tabs = [kept[n][t] for n in names if kept[n][t].num_columns]
        df = (pa.concat_tables(tabs, promote_options="permissive").to_pandas() if tabs
              else pd.DataFrame())
        if not point_column and "point" in df.columns and t != "failures":
            df = df.drop(columns="point")
        out[t] = df
    return out


def make_chunks(scenario: Scenario, seeds: Sequence[int], point: int = 0,
                chunk_size: int = 50, steps: int | None = None,
                model_cls: type[NegotiationModel] = NegotiationModel) -> list[Chunk]:
    """Split the replicates of one scenario (one sweep point) into chunks of `chunk_size` runs."""
    return [
        Chunk(scenario, point, i // chunk_size, tuple(range(i, min(i + chunk_size, len(seeds)))),
              tuple(seeds[i:i + chunk_size]), steps, model_cls)
        for i in range(0, len(seeds), chunk_size)
    ]


def run_replicates(
    scenario: Scenario,
    runs: int = 100,
    seed: int = 0,
    *,
    jobs: int = 1,
    steps: int | None = None,
    executor: Executor | None = None,
    chunk_size: int | None = None,
    parts_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    model_cls: type[NegotiationModel] = NegotiationModel,
) -> Results:
    """Run `runs` replicates of a scenario and return the runs, steps and events tables.

    Seeds come from ``SeedSequence(seed).spawn(runs)``; the tables are identical for any `jobs`,
    `executor` or `chunk_size`. Pass an executor (a Dask ``Client.get_executor()``, say) to run
    elsewhere; with none, `jobs` > 1 runs on a :class:`~sim.pool.LocalPool` (this process's
    thread and `jobs` - 1 spawned workers; no more lanes than chunks). With `parts_dir`, finished
    chunks are streamed there and chunks already there are skipped (resume); the tables are then
    assembled next to it and read back lazily.
    """
    seeds = run_seeds(seed, runs)
    width = executor_width(executor) if executor is not None else jobs
    size = chunk_size or chunk_size_for(runs, width)
    chunks = make_chunks(scenario, seeds, 0, size, steps, model_cls)
    jobs = min(jobs, len(chunks))  # a lane without a chunk would only start up
    own = executor is None and jobs > 1
    ex = executor if executor is not None else default_executor(jobs)
    try:
        tabs = execute(chunks, executor=ex, parts_dir=parts_dir, progress=progress)
    finally:
        if own and ex is not None:
            ex.shutdown(wait=True, cancel_futures=True)
    if parts_dir is not None:
        assemble(parts_dir, [c.name for c in chunks], parts_dir.parent)
        return Results(folder=parts_dir.parent)
    return Results(tabs["runs"], tabs["steps"], tabs["events"], tabs["failures"])
