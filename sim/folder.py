"""A results folder: the one place that creates, resumes, finishes and opens one.

A folder holds ``manifest.json`` (the experiment, the code and packages that ran it, whether it
is complete), ``parts/`` while its runs are under way (one set of Parquet part files per
finished chunk, its ``done-`` marker written last, so a chunk is all or nothing), and when
complete the tables ``runs``, ``steps``, ``events``, ``failures`` (and for a sweep ``points``)
as Parquet files. Every file is written atomically (to a temporary name, then renamed), so a
reader sees the old file or the whole new one, and an interrupted command loses at most the
chunks that were running.

Plots, reports, comparisons and scores read results only through :meth:`ResultsFolder.open`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

__all__ = ["FAILURE_COLUMNS", "MATCH_KEYS", "TABLES", "FolderError", "Results", "ResultsError",
           "ResultsFolder", "atomic_json", "atomic_parquet", "atomic_text", "atomic_write",
           "manifest_mismatches",
           "scenario_from_manifest"]

#: The tables every results folder has.
TABLES = ("runs", "steps", "events", "failures")

#: The failures table's columns: a run that raised, and what it raised.
FAILURE_COLUMNS = ["point", "run", "seed", "error", "traceback"]

#: Manifest fields a resume must match: they decide which runs exist and what they compute.
MATCH_KEYS = ("kind", "scenario_digest", "overrides", "design", "seed", "runs", "steps")


class ResultsError(ValueError):
    """A folder that is not a usable results folder; the message names the path."""


class FolderError(Exception):
    """A folder that cannot be started or resumed as asked; the message says why and what to
    do instead."""


# ---------------------------------------------------------------------- atomic files
def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write `path` so that readers see the old file or the whole new one, never a part:
    `write` writes a temporary file beside it (named for this process, so two processes never
    share one), which then replaces `path`; if `write` fails, the temporary file is removed
    and `path` is left as it was."""
    path = Path(path)
    tmp = _tmp(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_parquet(df: pd.DataFrame | pa.Table, path: Path, compression: str = "snappy"
                   ) -> None:
    """Write a table atomically (see :func:`atomic_write`)."""
    tab = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(
        tab, tmp, compression=compression, use_dictionary=_dictionary_columns(tab.schema)))


def atomic_json(obj: Any, path: Path) -> None:
    """Write `obj` as JSON atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n"))


def atomic_text(text: str, path: Path) -> None:
    """Write UTF-8 text atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Dictionary-encode the text columns (few distinct values); numbers do not gain enough
    to pay for it (it doubles the time to write a steps table)."""
    return [f.name for f in schema
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]


# ---------------------------------------------------------------------- the tables
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


# ---------------------------------------------------------------------- the folder
class ResultsFolder:
    """A results folder on disk; made by :meth:`create`, :meth:`resume` or :meth:`open`."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = Path(path)
        self.manifest = manifest

    # ---- starting
    @staticmethod
    def check_new(path: Path) -> None:
        """FolderError unless `path` can be a new results folder (absent, or an empty folder
        under a folder or a path that can be made)."""
        if path.exists() and not path.is_dir():
            raise FolderError(f"--out {path}: expected a folder for the results, but it is a "
                              "file; give a new folder")
        if path.is_dir() and any(path.iterdir()):
            holds = ("already holds results (use --resume to finish an interrupted run, or "
                     "another --out)" if (path / "manifest.json").exists()
                     else "is not empty; give a new or empty folder")
            raise FolderError(f"--out {path}: {holds}")
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise FolderError(f"--out {path}: {parent} is a file, so no folder can be "
                                      "made under it; give another --out")
                if not os.access(parent, os.W_OK):
                    raise FolderError(f"--out {path}: cannot write in {parent}")
                break

    @classmethod
    def create(cls, path: Path, manifest: dict[str, Any]) -> ResultsFolder:
        """A new folder with its manifest (see :meth:`check_new`)."""
        cls.check_new(path)
        path.mkdir(parents=True, exist_ok=True)
        atomic_json(manifest, path / "manifest.json")
        return cls(path, manifest)

    @classmethod
    def resume(cls, path: Path, manifest: dict[str, Any],
               mismatches: Sequence[str] | None = None) -> ResultsFolder:
        """The folder of an interrupted experiment, to finish: FolderError if it is none, or
        if `mismatches` (what differs between its manifest and this experiment's; computed
        here with :func:`sim.experiment.manifest_mismatches` when None) is not empty. Keeps
        the folder's ``chunk_size`` (so finished chunks are recognised) and records the
        resume."""
        if not path.is_dir():
            raise FolderError(f"--resume: {path} does not exist; give the --out folder of the "
                              "interrupted run")
        mpath = path / "manifest.json"
        try:
            old = json.loads(mpath.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FolderError(f"--resume: {path} has no manifest.json; it is not a negsim "
                              "results folder") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FolderError(f"--resume: cannot read {mpath} ({exc})") from None
        if mismatches is None:
            mismatches = manifest_mismatches(old, manifest)
        if mismatches:
            raise FolderError(f"--resume: {path} holds a different experiment; refusing to mix "
                              "results:\n  " + "\n  ".join(mismatches)
                              + "\nRun it with the same options, or use a new --out folder.")
        if old.get("complete"):
            return cls(path, old)
        resumed = {**old, "resumed": [*old.get("resumed", []), manifest.get("created")]}
        for k in ("command", "packages"):
            if k in manifest:
                resumed[f"last_{k}"] = manifest[k]
        if old.get("code_version") != manifest.get("code_version"):
            resumed.setdefault("code_versions", [old.get("code_version")])
            resumed["code_versions"].append(manifest.get("code_version"))
        atomic_json(resumed, mpath)
        return cls(path, resumed)

    def discard(self) -> None:
        """Remove a folder this command created and wrote no runs to (the work never started:
        an unreachable scheduler, say), so that the same command can be given again."""
        if not self.done_chunks():
            shutil.rmtree(self.path, ignore_errors=True)

    @property
    def complete(self) -> bool:
        return bool(self.manifest.get("complete"))

    # ---- parts
    @property
    def parts(self) -> Path:
        return self.path / "parts"

    def done_chunks(self) -> set[str]:
        """The names of the chunks whose part files are all written."""
        if not self.parts.is_dir():
            return set()
        return {p.name[5:] for p in self.parts.glob("done-*")}

    def write_part(self, chunk: str, tables: dict[str, pa.Table]) -> None:
        """Write one chunk's tables; the done marker goes last, so a chunk is all or nothing."""
        self.parts.mkdir(exist_ok=True)
        for t in TABLES:  # lz4: parts are temporary, written and read once; speed over size
            atomic_parquet(tables[t], self.parts / f"{t}-{chunk}.parquet", compression="lz4")
        (self.parts / f"done-{chunk}").touch()

    def write_table(self, name: str, table: pd.DataFrame | pa.Table) -> None:
        atomic_parquet(table, self.path / f"{name}.parquet")

    def finish(self, names: Sequence[str], point_column: bool = False, **fields: Any) -> None:
        """Assemble the part files of the chunks `names` (in that order) into the tables, mark
        the folder complete (with the number of failed runs and `fields` in the manifest),
        then drop the parts."""
        for t in TABLES:
            self._assemble(t, names, point_column)
        self.manifest["failures"] = self.rows("failures")
        self.manifest.update(fields)
        self.manifest["complete"] = True
        atomic_json(self.manifest, self.path / "manifest.json")
        shutil.rmtree(self.parts, ignore_errors=True)

    def _assemble(self, t: str, names: Sequence[str], point_column: bool) -> None:
        """Stream the parts of table `t` into one file, one part in memory at a time, under
        the schema that unifies theirs."""
        files = [self.parts / f"{t}-{n}.parquet" for n in names]
        schemas = [sc for sc in map(pq.read_schema, files)
                   if len(sc.names) and not all(pa.types.is_null(f.type) for f in sc)]
        target = self.path / f"{t}.parquet"
        tmp = _tmp(target)
        if not schemas:
            pd.DataFrame(columns=FAILURE_COLUMNS if t == "failures" else []).to_parquet(
                tmp, index=False)
            os.replace(tmp, target)
            return
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

    # ---- reading
    @classmethod
    def open(cls, path: str | Path, need: Sequence[str] = ("runs",)) -> ResultsFolder:
        """A results folder to read, after checking that it, its manifest (of kind run or
        sweep) and the tables `need` are there; ResultsError naming the path otherwise."""
        path = Path(path)
        if not path.exists():
            raise ResultsError(f"{path}: no such folder")
        if not path.is_dir():
            raise ResultsError(f"{path}: expected a results folder (written by `negsim run` or "
                               "`negsim sweep`), not a file")
        mf = path / "manifest.json"
        if not mf.exists():
            raise ResultsError(f"{path}: not a results folder (no manifest.json; expected a "
                               "folder written by `negsim run` or `negsim sweep`)")
        try:
            manifest = json.loads(mf.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ResultsError(f"{mf}: unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("kind") not in ("run", "sweep"):
            raise ResultsError(f"{mf}: expected a manifest with kind 'run' or 'sweep'")
        folder = cls(path, manifest)
        for name in need:
            folder.require(name)
        return folder

    @property
    def kind(self) -> str:
        return self.manifest.get("kind", "run")

    def has(self, name: str) -> bool:
        return (self.path / f"{name}.parquet").exists()

    def require(self, name: str) -> None:
        """ResultsError if the table `name` is missing (with the resume hint when the runs
        did not finish)."""
        if not self.has(name):
            hint = (" (the runs may have been interrupted: finish them with --resume)"
                    if not self.manifest.get("complete", True) else "")
            raise ResultsError(f"{self.path / f'{name}.parquet'}: missing table{hint}")

    def dataset(self, name: str) -> ds.Dataset:
        """A table as a :class:`pyarrow.dataset.Dataset` (read lazily, column by column)."""
        self.require(name)
        return ds.dataset(self.path / f"{name}.parquet", format="parquet")

    def table(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A table as a DataFrame (only `columns`, if given); ResultsError if unreadable."""
        self.require(name)
        path = self.path / f"{name}.parquet"
        try:
            return pd.read_parquet(path, columns=list(columns) if columns else None)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise ResultsError(f"{path}: unreadable Parquet table ({exc})") from None

    def rows(self, name: str) -> int:
        """The number of rows of a table (0 when it is missing), from its metadata."""
        path = self.path / f"{name}.parquet"
        return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0

    def results(self) -> Results:
        """The tables, read when first used."""
        return Results(folder=self.path)

    def scenario(self):
        """The scenario the runs were made from, as a :class:`~sim.scenario.Scenario` (for a
        sweep, its base scenario); ResultsError if the manifest has none, ScenarioError if it
        does not validate with this version of negsim."""
        return scenario_from_manifest(self.manifest, str(self.path / "manifest.json"))


def _norm(key: str, value: Any) -> Any:
    if key == "overrides" and isinstance(value, list):
        return sorted(map(str, value))
    if key == "design" and isinstance(value, dict) and value.get("design") == "sobol":
        # `sobol` was the name of `sobol-sequence` (the same points): such folders resume
        value = {**value, "design": "sobol-sequence"}
    return json.loads(json.dumps(value, default=str))


def manifest_mismatches(old: dict[str, Any], new: dict[str, Any],
                        keys: Sequence[str] = MATCH_KEYS) -> list[str]:
    """What differs between a folder's manifest and this invocation's (empty: resumable)."""
    out = []
    for k in keys:
        a, b = _norm(k, old.get(k)), _norm(k, new.get(k))
        if a != b:
            what = {"scenario_digest": "scenario digest (the scenario file or a --set changed)"
                    }.get(k, k)
            out.append(f"{what}: the folder has {_show(a)}, this command gives {_show(b)}")
    return out


def _show(v: Any) -> str:
    text = json.dumps(v, default=str) if not isinstance(v, str) else v
    return text if len(text) <= 200 else text[:197] + "..."


def scenario_from_manifest(manifest: dict[str, Any], source: str = "manifest.json"):
    """The scenario in a manifest (``manifest["scenario"]``, the resolved scenario with its
    overrides; for a sweep, the base scenario of every point) as a
    :class:`~sim.scenario.Scenario`."""
    from sim.scenario import scenario_from_dict

    data = manifest.get("scenario")
    if not isinstance(data, dict):
        raise ResultsError(f"{source}: the manifest holds no scenario")
    return scenario_from_dict(data, source=f"{source} (the scenario the runs used)")


def _cast(tab: pa.Table, name: str, typ: pa.DataType):
    if name not in tab.column_names:
        return pa.nulls(tab.num_rows, typ)
    return tab.column(name).cast(typ)
