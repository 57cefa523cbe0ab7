"""`negsim sweep`: many runs across a grid or a sampled design, resumable, on any executor.

Also the command-line helpers that ``negsim run`` shares (``--jobs``/``--scheduler``,
``--resume``): :func:`open_output`, :func:`executor_for`, :func:`resume_hint`,
:func:`report_stop`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import tomllib
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from sim.cli import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_RUNS_FAILED,
    BadInput,
    app,
    err,
    guarded,
    new_out_dir,
    out,
    progress_bar,
)
from sim.scenario import Scenario, load_scenario, parse_override, scenario_from_dict

# The runner, the executors, the sweep designs and pandas (and through them Mesa) are imported
# by the functions that use them: registering the command stays cheap, so `negsim --help` and
# the commands that do not run the model start in a fraction of a second.
if TYPE_CHECKING:
    import pandas as pd

__all__ = ["executor_for", "open_output", "report_stop", "resume_hint", "sweep"]


# ---------------------------------------------------------------------- shared helpers
def translated(fn):
    """Sweep, resume and executor errors are input errors: a clear message and exit 2.

    (Printed here rather than by ``guarded``: specs like ``lo:hi:n`` must not become emoji.)
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from sim.execution import ExecutionSetupError, ResumeError
        from sim.sweep import SweepError

        try:
            return fn(*args, **kwargs)
        except (SweepError, ResumeError, ExecutionSetupError) as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", emoji=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return wrapper


def open_output(out_opt: Path | None, stem: str, manifest: dict[str, Any], *, resume: bool,
                kind: str = "") -> tuple[Path, dict[str, Any]]:
    """The results folder and the manifest in force.

    New (``resume`` False): `out_opt` must be new or empty (default
    ``results/<stem><kind>-<time>``); the folder is created and `manifest` written.
    Resume: `out_opt` is required and its manifest must match (scenario digest, overrides,
    design, seed, runs, steps), else BadInput (exit 2) listing what differs; the folder's
    manifest is returned (use its ``chunk_size``; check its ``complete``).
    """
    from sim.execution import ResumeError, start_folder

    if resume:
        if out_opt is None:
            raise BadInput("--resume needs --out FOLDER: the folder of the interrupted run")
        try:
            return out_opt, start_folder(out_opt, manifest, resume=True)
        except ResumeError as exc:
            raise BadInput(str(exc)) from None
    folder = new_out_dir(out_opt, stem, kind)
    return folder, start_folder(folder, manifest, resume=False)


@contextlib.contextmanager
def executor_for(jobs: int, scheduler: str | None, pool: Executor | None = None,
                 ) -> Iterator[Executor | None]:
    """``--jobs``/``--scheduler`` as an executor (None: this process); BadInput if a scheduler
    cannot be reached. Without a scheduler, `pool`: the local pool :func:`local_pool` opened
    (None: this process)."""
    from sim.execution import ExecutionSetupError, open_executor

    if scheduler is None:
        yield pool
        return
    with contextlib.ExitStack() as stack:
        try:
            ex = stack.enter_context(open_executor(jobs, scheduler))
        except ExecutionSetupError as exc:
            raise BadInput(str(exc)) from None
        yield ex


def chunks_to_run(points: int, runs: int, size: int, out_dir: Path | None,
                  resume: bool) -> int:
    """How many chunks of runs the command will run (to size the local pool): all of them,
    or on a resume those the folder has not finished, in the chunk size its manifest says."""
    tasks = points * math.ceil(runs / size)
    if not resume or out_dir is None:
        return tasks
    try:
        manifest = json.loads((out_dir / "manifest.json").read_text())
        if manifest.get("complete"):
            return 1  # nothing to run: the summary only
        size = int(manifest["chunk_size"])
        # the part files' done markers (`sim.runner.done_chunks`; not imported here: the
        # pool opens before the runner is imported)
        done = sum(1 for _ in (out_dir / "parts").glob("done-*"))
        return max(points * math.ceil(runs / max(size, 1)) - done, 1)
    except Exception:  # noqa: BLE001 - whatever is wrong, the resume itself says it
        return tasks


@contextlib.contextmanager
def local_pool(jobs: int, scheduler: str | None, tasks: int) -> Iterator[Executor | None]:
    """The local pool for ``--jobs`` (None with a --scheduler, or for one lane), opened as soon
    as the input is checked, so that its workers import while this process prepares; no more
    lanes than `tasks` (chunks of runs). A Dask cluster starts later, once the results folder
    is settled (:func:`executor_for`)."""
    from sim.execution import open_executor

    lanes = min(jobs, tasks)
    if scheduler is not None or lanes <= 1:
        yield None
        return
    with open_executor(lanes, None) as ex:
        yield ex


def resume_hint(args: Sequence[str], folder: Path) -> str:
    """The exact command that resumes: ``negsim <args> --out <folder> --resume``."""
    from sim.execution import resume_command

    return resume_command(args, folder)


def report_stop(exc: BaseException, folder: Path, args: Sequence[str]) -> int:
    """Print why the work stopped, what is kept and how to resume; return the exit code."""
    from sim.runner import ExecutionError, Interrupted

    hint = resume_hint(args, folder)
    if isinstance(exc, ExecutionError):
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        err.print(f"Finished chunks are kept in {escape(str(folder))}/parts. Resume with:\n"
                  f"  {escape(hint)}", soft_wrap=True)
        return EXIT_RUNS_FAILED
    done = f"{exc.done} of {exc.total} chunks" if isinstance(exc, Interrupted) else "chunks"
    err.print(f"[yellow]interrupted:[/] {done} finished and kept in {escape(str(folder))}/parts."
              f" Resume with:\n  {escape(hint)}", soft_wrap=True)
    return EXIT_INTERRUPTED


# ---------------------------------------------------------------------- options
class DesignName(StrEnum):
    grid = "grid"
    lhs = "lhs"
    sobol = "sobol"


TargetArg = Annotated[Path, typer.Argument(
    help="A scenario TOML file (then give --vary), or a sweep spec file that names the "
         "scenario, what to vary, the design, runs and seed. "
         "Example: scenarios/libya_2019.toml, or experiments/turkey_vs_un.toml",
    show_default=False)]
VaryOpt = Annotated[list[str] | None, typer.Option(
    "--vary", metavar="PATH=SPEC",
    help="A scenario field to vary (any path --set takes, or what a dated event sets: "
         "events.2020-01-02.set.backers.turkey.capacity); repeatable. SPEC is lo:hi:n (n evenly "
         "spaced values, inclusive), v1,v2,v3 (a list: numbers, strings or booleans) or, for "
         "--design lhs/sobol, lo..hi (a range). Integer fields get integers. Example: "
         "--vary backers.turkey.capacity=0:2:5 --vary mediators.un.leverage=0,0.03,0.1")]
DesignOpt = Annotated[DesignName | None, typer.Option(
    "--design", case_sensitive=False,
    help="grid: every combination of the values (first --vary varies slowest); lhs: a Latin "
         "hypercube of --samples points over the ranges; sobol: a scrambled Sobol sequence "
         "(best with a power of two). Default grid, or the spec file's. Example: --design lhs")]
SamplesOpt = Annotated[int | None, typer.Option(
    "--samples", "-k", min=1,
    help="Points to draw for --design lhs or sobol (seeded from --seed). Example: --samples 64")]
RunsOpt = Annotated[int | None, typer.Option(
    "--runs", "-n", min=1, max=10_000_000,
    help="Replicates per point; every point uses the same replicate seeds (common random "
         "numbers). Default 100, or the spec file's. Example: --runs 200")]
SeedOpt = Annotated[int | None, typer.Option(
    "--seed", min=0,
    help="Master seed: replicate i of every point uses SeedSequence(seed).spawn(runs)\\[i]; "
         "lhs/sobol draws are seeded from it too. Default 0, or the spec file's. "
         "Example: --seed 42")]
JobsOpt = Annotated[int, typer.Option(
    "--jobs", "-j", min=1,
    help="Runs at once on this machine: this process and J-1 spawned workers (with "
         "--scheduler local, J Dask workers). Results do not depend on it. Example: --jobs 2")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", metavar="ADDR",
    help="Run on Dask: 'local' starts a LocalCluster here (--jobs worker processes, one "
         "thread each, no dashboard); an address uses that cluster's scheduler (its workers "
         "need negsim installed). Example: --scheduler tcp://10.0.0.5:8786")]
StepsOpt = Annotated[int | None, typer.Option(
    "--steps", min=1,
    help="Weeks to simulate (default: the scenario's model.weeks). Example: --steps 52")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", metavar="PATH=VALUE",
    help="Fix a scenario field for every point; repeatable; validated like the file. "
         "Example: --set model.weeks=52")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out",
    help="Output folder (default results/<scenario>-sweep-<timestamp>/); must be new or "
         "empty unless --resume. Example: --out results/turkey_un")]
ResumeOpt = Annotated[bool, typer.Option(
    "--resume",
    help="Finish an interrupted sweep in --out: checks the folder's manifest matches (same "
         "scenario, overrides, design, seed, runs), skips finished chunks, runs the rest. "
         "Example: --out results/turkey_un --resume")]
ChunkOpt = Annotated[int | None, typer.Option(
    "--chunk-size", min=1,
    help="Runs per task (default: tens to a hundred, from the runs and --jobs; kept on "
         "--resume). Results do not depend on it; on a large remote cluster, smaller chunks "
         "balance better. Example: --chunk-size 20")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress bar. Example: --quiet")]


# ---------------------------------------------------------------------- the command
@app.command()
@guarded
@translated
def sweep(
    target: TargetArg,
    vary: VaryOpt = None,
    design: DesignOpt = None,
    samples: SamplesOpt = None,
    runs: RunsOpt = None,
    seed: SeedOpt = None,
    jobs: JobsOpt = 1,
    scheduler: SchedulerOpt = None,
    steps: StepsOpt = None,
    set_: SetOpt = None,
    out_dir: OutOpt = None,
    resume: ResumeOpt = False,
    chunk_size: ChunkOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run a scenario across a grid or a sampled design of parameter values, R replicates per
    point with the same seeds at every point, and write the runs/steps/events tables with a
    `point` column, points.parquet (the varied values of each point) and manifest.json. Stop
    with Ctrl-C at any time and finish later with --resume.

    Examples:

      negsim sweep scenarios/libya_2019.toml --vary backers.turkey.capacity=0:2:5
      --vary mediators.un.leverage=0,0.03,0.1 --runs 200 --jobs 2

      negsim sweep scenarios/libya_2019.toml --design lhs --samples 64
      --vary backers.russia.capacity=0.1..1 --vary factions.lna.optimism=0..0.25

      negsim sweep experiments/turkey_vs_un.toml --scheduler local --jobs 2
    """
    from sim.pool import chunk_size_for
    from sim.sweep import (
        event_overwrites,
        field_kind,
        is_spec_file,
        load_spec,
        make_design,
        parse_vary,
        point_scenarios,
        points_table,
        split_vary,
        sweep_chunks,
    )

    # ---- what to run: spec file and options
    spec = None
    if target.suffix.lower() == ".toml" and target.is_file() and is_spec_file(target):
        spec = load_spec(target)
        scenario_path = spec.scenario
    else:
        scenario_path = target
    design_name = design.value if design is not None else (spec.design if spec else "grid")
    samples_n = samples if samples is not None else (spec.samples if spec else None)
    runs_n = runs if runs is not None else (spec.runs if spec and spec.runs else 100)
    seed_n = seed if seed is not None else (spec.seed if spec and spec.seed is not None else 0)
    steps_n = steps if steps is not None else (spec.steps if spec else None)
    fixed = list(spec.set) if spec else []
    overrides = [f"{p}={json.dumps(v, default=str)}" for p, v in fixed]
    for s in set_ or []:
        fixed.append(parse_override(s))
        overrides.append(s)
    varied: dict[str, Any] = dict(spec.vary) if spec else {}
    for v in vary or []:
        p, s = split_vary(v)
        varied[p] = s

    # ---- validate everything before anything runs (no folder for a bad sweep)
    load_scenario(scenario_path)  # the file itself: not found, bad TOML, invalid fields
    text = scenario_path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    base = scenario_from_dict(data, fixed, source=str(scenario_path), text=text)
    varies = [parse_vary(p, s, field_kind(base, p)) for p, s in varied.items()]
    d = make_design(design_name, varies, samples_n, seed_n)
    scenarios = point_scenarios(data, fixed, d, source=str(scenario_path), text=text)
    for p, when in event_overwrites(base, d.paths).items():
        err.print(f"[yellow]note:[/] {p} is also set by the event(s) of {', '.join(when)}: "
                  "each point's value holds only until then. To vary what an event sets, "
                  f"vary events.<date>.set.{p}", soft_wrap=True)
    if scheduler is not None and scheduler != "local" and jobs != 1:
        err.print("[yellow]note:[/] --jobs is ignored with a remote --scheduler (the cluster "
                  "has its own workers)")
    total = len(scenarios) * runs_n
    size = chunk_size or chunk_size_for(total, jobs)
    # ---- a local pool's workers start now and import while this process does
    tasks = chunks_to_run(len(scenarios), runs_n, size, out_dir, resume)
    with local_pool(jobs, scheduler, tasks) as pool:
        from sim.execution import finish_folder
        from sim.results import make_manifest
        from sim.runner import (
            ExecutionError,
            Interrupted,
            assemble,
            atomic_parquet,
            execute,
            run_seeds,
        )

        manifest = make_manifest(
            base, source=str(scenario_path), overrides=overrides, seed=seed_n, runs=runs_n,
            steps=steps_n, kind="sweep",
            extra={"design": d.describe(), "spec_file": str(target) if spec else None,
                   "description": spec.description if spec else "", "jobs": jobs,
                   "scheduler": scheduler, "chunk_size": size, "total_runs": total})
        stem = (target if spec else scenario_path).stem
        args = _canonical_args(target, vary, design, samples, runs, seed, jobs, scheduler, steps,
                               set_, chunk_size, quiet)
        folder, manifest = open_output(out_dir, stem, manifest, resume=resume, kind="-sweep")
        if manifest.get("complete"):
            err.print(f"{folder} is already complete; nothing to resume")
            _summarise(folder, scenarios[0], d.paths)
            return
        try:  # from here on, a Ctrl-C says what is kept and how to resume
            atomic_parquet(points_table(d), folder / "points.parquet")

            # ---- run
            seeds = run_seeds(seed_n, runs_n)
            chunks = sweep_chunks(scenarios, seeds, int(manifest.get("chunk_size") or size),
                                  steps_n)
            if not quiet:
                err.print(f"Sweep: {len(scenarios)} points ({d.design} over "
                          f"{', '.join(d.paths)}) x {runs_n} runs = {total:,} runs in "
                          f"{len(chunks)} tasks -> {folder}/", soft_wrap=True)
            prog, advance = progress_bar(total, quiet)
            parts = folder / "parts"
            with executor_for(jobs, scheduler, pool) as ex, prog:
                execute(chunks, executor=ex, parts_dir=parts, progress=advance, point_column=True)
            if pool is not None:
                pool.shutdown()  # the runs are done: end the workers before assembling
            assemble(parts, [c.name for c in chunks], folder, point_column=True)
        except (Interrupted, ExecutionError, KeyboardInterrupt) as exc:
            raise typer.Exit(report_stop(exc, folder, args)) from None
        failed = _count(folder / "failures.parquet")
        finish_folder(folder, manifest, failures=failed)
        _summarise(folder, scenarios[0], d.paths)
        if failed:
            raise typer.Exit(EXIT_RUNS_FAILED)


def _canonical_args(target, vary, design, samples, runs, seed, jobs, scheduler, steps, set_,
                    chunk_size, quiet) -> list[str]:
    """The sweep's arguments as given (for the resume hint)."""
    args = ["sweep", str(target)]
    for v in vary or []:
        args += ["--vary", v]
    for flag, val in (("--design", design.value if design else None), ("--samples", samples),
                      ("--runs", runs), ("--seed", seed), ("--steps", steps),
                      ("--chunk-size", chunk_size), ("--scheduler", scheduler)):
        if val is not None:
            args += [flag, str(val)]
    if jobs != 1:
        args += ["--jobs", str(jobs)]
    for s in set_ or []:
        args += ["--set", s]
    if quiet:
        args.append("--quiet")
    return args


def _count(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows if path.exists() else 0


# ---------------------------------------------------------------------- summary
def sweep_shares(runs: pd.DataFrame, points: pd.DataFrame,
                 factions: list[str] | None = None) -> pd.DataFrame:
    """Per point: the varied values, the runs and the share of each outcome class; plus the
    Wilson interval of a durable ceasefire (``durable_low``, ``durable_high``)."""
    import pandas as pd

    from sim.results import outcome_classes, wilson

    classes = outcome_classes(runs, factions)
    counts = (runs.groupby(["point", "outcome"]).size().unstack(fill_value=0)
              if len(runs) else pd.DataFrame())
    rows = []
    for _, pt in points.iterrows():
        i = int(pt["point"])
        c = counts.loc[i] if i in counts.index else pd.Series(dtype=int)
        n = int(c.sum())
        row = {**pt.to_dict(), "runs": n}
        for k in classes:
            row[k] = int(c.get(k, 0)) / n if n else math.nan
        lo, hi = wilson(int(c.get("durable_ceasefire", 0)), n)
        row["durable_low"], row["durable_high"] = lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def _summarise(folder: Path, scn: Scenario, paths: list[str], show: int = 40) -> None:
    import pandas as pd

    runs = pd.read_parquet(folder / "runs.parquet", columns=None)
    runs = runs[["point", "outcome"]] if len(runs.columns) else pd.DataFrame(
        columns=["point", "outcome"])
    points = pd.read_parquet(folder / "points.parquet")
    tab = sweep_shares(runs, points, scn.armed_factions)
    classes = [c for c in tab.columns if c.startswith("victory:")] + [
        "durable_ceasefire", "fragile_ceasefire", "stalemate", "ongoing"]
    shown = tab
    note = ""
    if len(tab) > show:
        order = tab.sort_values(["durable_ceasefire", "point"], ascending=[False, True])
        shown = pd.concat([order.head(show // 2), order.tail(show // 2)]).drop_duplicates(
            "point")
        note = (f" ({show // 2} highest and lowest P(durable) of {len(tab)} points; all in "
                "runs.parquet and points.parquet)")
    t = Table(title=f"{scn.model.name}: outcome shares per sweep point{note}",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    t.add_column("point", justify="right", min_width=5)
    for p in paths:
        head = p.replace(".", ".\n")
        t.add_column(escape(head), justify="right",
                     min_width=max(len(x) for x in head.split("\n")))
    t.add_column("runs", justify="right", min_width=4)
    for c in classes:
        head = _SHORT.get(c) or c.replace("victory:", "won\n")
        t.add_column(head, justify="right", min_width=max(len(x) for x in head.split("\n")))
    for _, r in shown.iterrows():
        t.add_row(str(int(r["point"])), *(_fmt(r[p]) for p in paths), str(int(r["runs"])),
                  *("-" if pd.isna(r[c]) else f"{r[c]:.0%}" for c in classes))
    out.print(t)
    have = tab[tab["runs"] > 0]
    if len(have):
        hi = have.sort_values(["durable_ceasefire", "point"], ascending=[False, True]).iloc[0]
        lo = have.sort_values(["durable_ceasefire", "point"], ascending=[True, True]).iloc[0]
        for label, r in (("Highest", hi), ("Lowest", lo)):
            vals = ", ".join(f"{p}={_fmt(r[p])}" for p in paths)
            ties = int((have["durable_ceasefire"] == r["durable_ceasefire"]).sum()) - 1
            tie = f"; {ties} other points tie" if ties else ""
            out.print(f"{label} P(durable ceasefire): point {int(r['point'])} ({escape(vals)}): "
                      f"{r['durable_ceasefire']:.1%} (95% interval {r['durable_low']:.1%} - "
                      f"{r['durable_high']:.1%}, {int(r['runs'])} runs{tie})", soft_wrap=True)
    failed = _count(folder / "failures.parquet")
    if failed:
        err.print(f"[bold red]{failed} runs failed[/]; see {folder}/failures.parquet "
                  "(point, run, seed, error, traceback)")
    out.print(f"Results: {folder}/ (runs, steps, events, points, failures .parquet; "
              "manifest.json)", soft_wrap=True)


_SHORT = {"durable_ceasefire": "durable", "fragile_ceasefire": "fragile",
          "stalemate": "stale-\nmate", "ongoing": "ongoing"}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

