"""An experiment: what to run, from which everything else about the runs follows.

An :class:`Experiment` is frozen: the points (one scenario each: a single run of
``negsim run`` is a sweep of one point), the replicates per point, the master seed, the weeks,
the chunk size and the model class. From it follow the replicate seeds (the same at every point:
common random numbers), the chunks of work, the manifest a results folder keeps, the check a
resume makes against that manifest, and the command that resumes it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from sim.executors import Workers, chunk_size_for, open_executor
from sim.folder import MATCH_KEYS, Results, ResultsFolder, manifest_mismatches
from sim.model import NegotiationModel
from sim.runner import Chunk, execute, tables_in_memory
from sim.scenario import Scenario

__all__ = ["MATCH_KEYS", "Experiment", "manifest_mismatches", "resume_command",
           "run_experiment", "run_replicates", "run_seed", "run_seeds", "run_sweep",
           "sweep_experiment"]


def run_seeds(seed: int, runs: int) -> list[int]:
    """One 63-bit seed per replicate, from ``SeedSequence(seed).spawn(runs)``."""
    children = np.random.SeedSequence(seed).spawn(runs)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def run_seed(seed: int, run: int) -> int:
    """``run_seeds(seed, n)[run]`` for any n > run, without spawning the others (the i-th
    child of ``SeedSequence(seed)`` is ``SeedSequence(seed, spawn_key=(i,))``)."""
    child = np.random.SeedSequence(seed, spawn_key=(run,))
    return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class Experiment:
    """Replicates of one or more scenarios (the points of a sweep).

    ``design`` describes how the points were made (for a sweep: the design, the varied paths
    and their values; None for a single scenario); ``source`` and ``overrides`` say where the
    base scenario came from. ``chunk_size`` None: chosen from the runs and the workers."""

    points: tuple[Scenario, ...]
    runs: int = 100
    seed: int = 0
    steps: int | None = None
    chunk_size: int = 50
    model_cls: type[NegotiationModel] = NegotiationModel
    design: dict[str, Any] | None = None
    source: str = ""
    overrides: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("an experiment needs at least one point")
        if self.runs < 1 or self.chunk_size < 1:
            raise ValueError("runs and chunk_size must be at least 1")

    @classmethod
    def of(cls, scenario: Scenario, runs: int = 100, seed: int = 0, **kw: Any) -> Experiment:
        """Replicates of one scenario."""
        return cls((scenario,), runs, seed, **kw)

    @property
    def kind(self) -> str:
        return "sweep" if self.design is not None else "run"

    @property
    def total_runs(self) -> int:
        return len(self.points) * self.runs

    def seeds(self) -> list[int]:
        return run_seeds(self.seed, self.runs)

    def chunks(self) -> list[Chunk]:
        """Every point's replicates in chunks of `chunk_size`, named point-index."""
        seeds, size, out = self.seeds(), self.chunk_size, []
        for p, scn in enumerate(self.points):
            for i in range(0, self.runs, size):
                out.append(Chunk(scn, p, i // size, tuple(range(i, min(i + size, self.runs))),
                                 tuple(seeds[i:i + size]), self.steps, self.model_cls))
        return out

    def manifest(self, **extra: Any) -> dict[str, Any]:
        """What a results folder records of the experiment (and of the code that ran it)."""
        base = self.points[0]
        return {
            "kind": self.kind,
            "scenario_name": base.model.name,
            "scenario_file": self.source,
            "scenario_digest": base.digest(),
            "overrides": list(self.overrides),
            **({"design": self.design} if self.design is not None else {}),
            "seed": self.seed,
            "runs": self.runs,
            "steps": self.steps if self.steps is not None else base.model.weeks,
            "chunk_size": self.chunk_size,
            "total_runs": self.total_runs,
            "code_version": code_version(),
            "packages": package_versions(),
            "command": " ".join(["negsim", *sys.argv[1:]]),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "complete": False,
            **extra,
            "scenario": base.to_dict(),
        }


def code_version() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).parent, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=Path(__file__).parent,
                               timeout=5)
        if rev.returncode == 0:
            return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("negsim", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "networkx", "scipy",
                "dask", "distributed"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def resume_command(args: Sequence[str], folder: Any, program: str = "negsim") -> str:
    """The command that resumes: `args` (the command's arguments) with ``--out folder
    --resume``, replacing any ``--out``; shell-quoted."""
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--out":
            skip = True
            continue
        if a.startswith("--out=") or a == "--resume":
            continue
        out.append(str(a))
    return shlex.join([program, *out, "--out", str(folder), "--resume"])


# ---------------------------------------------------------------------- running
def run_experiment(experiment: Experiment, *, out: ResultsFolder | str | Path | None = None,
                   jobs: int = 1, scheduler: str | None = None,
                   executor: Executor | None = None,
                   progress: Callable[[int], None] | None = None) -> Results:
    """Run an experiment and return its tables.

    Without `out` the tables are kept in memory. With `out` (a folder, or a
    :class:`~sim.folder.ResultsFolder` already created or resumed), each finished chunk is
    written there at once; a folder that already holds this experiment is resumed (its
    finished chunks are skipped), a new one is created; the tables are assembled there and
    read back when first used. The runs go to `executor` if given (any
    :class:`concurrent.futures.Executor`: a Dask ``Client.get_executor()``, say), else to the
    executor :func:`sim.executors.open_executor` opens for `jobs` and `scheduler`. `progress`
    is called with the number of runs each finished chunk adds. The tables are the same
    whatever runs them.
    """
    folder = _folder(experiment, out)
    chunks = experiment.chunks()
    todo = chunks
    kept: dict[str, dict] = {}
    if folder is not None:
        done = folder.done_chunks()
        todo = [c for c in chunks if c.name not in done]
        if progress and len(todo) < len(chunks):
            progress(sum(len(c.runs) for c in chunks if c.name in done))

    def sink(c: Chunk, tables: dict) -> None:
        if folder is not None:
            folder.write_part(c.name, tables)
        else:
            kept[c.name] = tables
        if progress:
            progress(len(c.runs))

    if folder is None or not folder.complete:
        with contextlib.ExitStack() as stack:
            if executor is not None:
                workers = Workers(executor, os.cpu_count() or 1)
            else:
                workers = stack.enter_context(
                    open_executor(min(jobs, max(len(todo), 1)), scheduler))
            execute(todo, sink, workers.executor, window=2 * workers.width + 2)
    sweep = experiment.kind == "sweep"
    if folder is None:
        return tables_in_memory(chunks, kept, point_column=sweep)
    if not folder.complete:
        folder.finish([c.name for c in chunks], point_column=sweep)
    return folder.results()


def _folder(experiment: Experiment, out) -> ResultsFolder | None:
    if out is None or isinstance(out, ResultsFolder):
        return out
    path = Path(out)
    if (path / "manifest.json").exists():
        return ResultsFolder.resume(path, experiment.manifest())
    return ResultsFolder.create(path, experiment.manifest())


def run_replicates(scenario: Scenario, runs: int = 100, seed: int = 0, *, jobs: int = 1,
                   steps: int | None = None, executor: Executor | None = None,
                   out: str | Path | None = None,
                   progress: Callable[[int], None] | None = None) -> Results:
    """Run `runs` replicates of a scenario and return the runs, steps and events tables.

    Seeds come from ``SeedSequence(seed).spawn(runs)``; the tables are identical for any
    `jobs` or `executor`. With `jobs` > 1, in a script, call this under
    ``if __name__ == "__main__":`` (the workers import the script that starts them). See
    :func:`run_experiment` for `out`, `executor` and `progress`, and :class:`Experiment` for
    more control (the chunk size, a model subclass).
    """
    width = jobs if executor is None else (os.cpu_count() or 1)
    exp = Experiment.of(scenario, runs, seed, steps=steps,
                        chunk_size=chunk_size_for(runs, width))
    return run_experiment(exp, out=out, jobs=jobs, executor=executor, progress=progress)


def sweep_experiment(scenario: Scenario, vary: Mapping[str, str | Sequence[Any]], *,
                     design: str = "grid", samples: int | None = None, runs: int = 100,
                     seed: int = 0, steps: int | None = None) -> Experiment:
    """The experiment ``negsim sweep`` makes of a scenario and its ``--vary`` specs.

    `vary` maps a field path to a spec as ``--vary`` takes it (``"0:2:5"``, ``"0,0.5,1"``,
    ``"0..2"`` for a sampled design) or to a list of values; `design` is ``grid``, ``lhs``,
    ``sobol-sequence`` (`samples` points), ``saltelli`` (`samples` base samples) or ``morris``
    (`samples` trajectories). Every point is validated; SweepError names a bad one."""
    from sim.sweep import design_for

    return _sweep_of(scenario, design_for(scenario, vary, design, samples, seed), runs, seed,
                     steps)


def _sweep_of(scenario: Scenario, d, runs: int, seed: int, steps: int | None) -> Experiment:
    from sim.sweep import point_scenarios

    points = point_scenarios(scenario.to_dict(), [], d, source=scenario.model.name)
    return Experiment(tuple(points), runs, seed, steps,
                      chunk_size_for(len(points) * runs, os.cpu_count() or 1),
                      design=d.describe(), source=scenario.model.name)


def run_sweep(scenario: Scenario, vary: Mapping[str, str | Sequence[Any]], *,
              design: str = "grid", samples: int | None = None, runs: int = 100,
              seed: int = 0, jobs: int = 1, out: str | Path | None = None) -> Results:
    """``negsim sweep`` from Python: `runs` replicates of every point of a design over `vary`
    (see :func:`sweep_experiment`), the same seeds at every point. The tables have a
    ``point`` column, and ``points`` (the varied values of each point). With `jobs` > 1, in
    a script, call this under ``if __name__ == "__main__":``.

    >>> res = sim.run_sweep(scn, {"backers.turkey.capacity": "0:2:3"}, runs=50)  # doctest: +SKIP
    >>> res.runs.groupby("point")["outcome"].value_counts(normalize=True)       # doctest: +SKIP
    """
    from sim.sweep import design_for, points_table

    d = design_for(scenario, vary, design, samples, seed)
    exp = _sweep_of(scenario, d, runs, seed, None)
    table = points_table(d)
    folder = _folder(exp, out)
    if folder is not None and not folder.has("points"):
        folder.write_table("points", table)
    res = run_experiment(exp, out=folder, jobs=jobs)
    if folder is None:
        res = Results(res.runs, res.steps, res.events, res.failures, points=table)
    return res
