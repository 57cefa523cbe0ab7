"""`negsim calibrate`: approximate Bayesian computation of a scenario's uncertain facts against
its observations (see :mod:`sim.calibrate` and :mod:`sim.abcsmc`).

Importing this module registers the command on the app (``sim.cli`` imports it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sim.cli.app import (
    EXIT_INTERRUPTED,
    EXIT_RUNS_FAILED,
    BadInput,
    ScenarioArg,
    app,
    available_cores,
    err,
    guarded,
    load,
    options,
    out,
    plain,
    progress_bar,
)
from sim.cli.running import JobsOpt, QuietOpt, SchedulerOpt, SetOpt, default_folder

__all__ = ["calibrate"]

CalVaryOpt = Annotated[list[str] | None, typer.Option(
    "--vary", metavar="PATH=LOW..HIGH",
    help="An uncertain fact to calibrate: a number field of the scenario (any path --set "
         "takes) and its range; the prior is uniform over it. Repeatable. Example: "
         "--vary factions.lna.strength=150..300")]
BudgetOpt = Annotated[int, typer.Option(
    "--budget", min=1, metavar="RUNS",
    help="The most model runs in all (evaluations x --runs-per-sample, counting those of "
         "earlier sessions of a resumed calibration); it stops before a batch of --particles "
         "evaluations that would go past it, and the posterior is the last complete "
         "population. Rerun with a larger budget and the same --out to continue. "
         "Example: --budget 3000")]
ParticlesOpt = Annotated[int, typer.Option(
    "--particles", min=2, metavar="N",
    help="Particles per population (also the evaluations proposed at once). Example: "
         "--particles 100")]
PerSampleOpt = Annotated[int, typer.Option(
    "--runs-per-sample", "-r", min=1, metavar="R",
    help="Replicates per evaluated parameter vector; its distance is 1 - the score of those "
         "runs against the observations (as negsim score computes it). More runs, less "
         "noise in each distance. Example: --runs-per-sample 10")]
PopulationsOpt = Annotated[int, typer.Option(
    "--populations", min=1, metavar="N",
    help="The most populations: the first draws from the prior; each later one's tolerance is "
         "the --quantile of the previous one's distances. Example: --populations 6")]
QuantileOpt = Annotated[float, typer.Option(
    "--quantile", min=0.01, max=0.99, metavar="Q",
    help="The tolerance of each population is this weighted quantile of the previous "
         "population's distances. Example: --quantile 0.5")]
CalSeedOpt = Annotated[int, typer.Option(
    "--seed", min=0, metavar="SEED",
    help="Master seed: evaluation i runs with seed SeedSequence(seed, spawn_key=(i,)), and "
         "the proposals are drawn from it; results do not depend on --jobs. Example: "
         "--seed 7")]
CalOutOpt = Annotated[Path | None, typer.Option(
    "--out",
    help="Output folder (default: a new folder in results/ named after the scenario and "
         "the time). A folder holding "
         "the same calibration is resumed from its last evaluated batch; one holding a "
         "different calibration is refused. Example: --out results/libya-cal")]


@dataclasses.dataclass(frozen=True)
class CalibrateOptions:
    scenario: ScenarioArg
    vary: CalVaryOpt = None
    budget: BudgetOpt = 2000
    particles: ParticlesOpt = 50
    runs_per_sample: PerSampleOpt = 5
    populations: PopulationsOpt = 8
    quantile: QuantileOpt = 0.5
    seed: CalSeedOpt = 0
    set_: SetOpt = None
    jobs: JobsOpt = None
    scheduler: SchedulerOpt = None
    out_dir: CalOutOpt = None
    quiet: QuietOpt = False


def _arguments(o: CalibrateOptions, folder: Path) -> str:
    import shlex

    args = ["negsim", "calibrate", str(o.scenario)]
    for v in o.vary or ():
        args += ["--vary", v]
    for s in o.set_ or ():
        args += ["--set", s]
    args += ["--budget", str(o.budget), "--particles", str(o.particles), "--runs-per-sample",
             str(o.runs_per_sample), "--populations", str(o.populations), "--quantile",
             f"{o.quantile:g}", "--seed", str(o.seed)]
    if o.jobs is not None:
        args += ["--jobs", str(o.jobs)]
    if o.scheduler is not None:
        args += ["--scheduler", o.scheduler]
    return shlex.join([*args, "--out", str(folder)])


@app.command()
@guarded
@options(CalibrateOptions)
def calibrate(o: CalibrateOptions) -> None:
    """Calibrate a scenario's uncertain facts to its observations from the record by
    approximate Bayesian computation (ABC-SMC): which values of the --vary facts make runs
    reproduce the \\[\\[observed]] facts. Writes the posterior (posterior.csv: median, 50% and
    90% credible intervals, narrowing = posterior 90% width / prior 90% width), the particles,
    a pair plot (charts/pairs.png) and the scenario with the posterior medians written in
    (<scenario>_posterior.toml). Interrupt at any time; the same command resumes.

    Example: negsim calibrate scenarios/libya_2019.toml --vary factions.lna.strength=150..300
    --vary factions.gna.strength=120..300 --budget 3000 --jobs 2 --out results/libya-cal
    """
    from sim.abcsmc import Settings
    from sim.calibrate import CalibrationError, parse_parameters

    scn = load(o.scenario, o.set_)
    if not scn.observed:
        raise BadInput(f"{o.scenario}: no observations to calibrate against (add [[observed]] "
                       "entries, see docs/observations.md)")
    try:
        params = parse_parameters(scn, o.vary or [])
    except CalibrationError as exc:
        raise BadInput(str(exc)) from None
    from sim.scenario import parse_override

    fixed = {parse_override(t)[0] for t in o.set_ or ()}
    for p in params:
        if p.path in fixed:
            raise BadInput(f"--vary {p.path}: also fixed by --set {p.path}; calibrate it or fix "
                           "it")
    if o.budget < o.particles * o.runs_per_sample:
        raise BadInput(f"--budget {o.budget}: the first population alone takes --particles x "
                       f"--runs-per-sample = {o.particles * o.runs_per_sample} runs; give at "
                       "least that")
    from sim.sweep import event_overwrites

    for path, when in event_overwrites(scn, [p.path for p in params]).items():
        err.print(f"[yellow]note:[/] {plain(path)} is set by dated events ({plain(', '.join(when))}"
                  "); a calibrated value holds only until the first of them", soft_wrap=True)
    settings = Settings(particles=o.particles, quantile=o.quantile, populations=o.populations,
                        budget=o.budget // o.runs_per_sample, seed=o.seed)
    _run(o, scn, params, settings)


def _run(o: CalibrateOptions, scn, params, settings) -> None:
    from sim.abcsmc import abc_smc
    from sim.calibrate import (
        CalibrationError,
        CalibrationFolder,
        Distance,
        box_of,
        metadata,
    )
    from sim.executors import ExecutionSetupError, open_executor, start_forkserver
    from sim.runner import ExecutionError, Interrupted

    meta = metadata(scn, str(o.scenario), o.set_ or (), params, settings, o.runs_per_sample)
    path = o.out_dir or default_folder(f"{o.scenario.stem}-calibrate")
    try:
        folder, resumed = CalibrationFolder.open(path, meta)
    except CalibrationError as exc:
        raise BadInput(str(exc)) from None
    jobs = o.jobs or available_cores()
    if o.scheduler is None and jobs > 1:
        start_forkserver()
    hint = _arguments(o, folder.path)
    if not o.quiet:
        err.print(f"{scn.model.name}: ABC-SMC over {len(params)} facts, {o.particles} particles, "
                  f"{o.runs_per_sample} runs per sample, budget {o.budget:,} runs -> "
                  f"{plain(folder.path)}/" + (" (resuming)" if resumed else ""),
                  soft_wrap=True, highlight=False)
    prog, advance = progress_bar(o.budget, o.quiet)

    def population_done(pop) -> None:
        advance(0)
        if not o.quiet:
            eps = "prior" if pop.t == 0 else f"epsilon {pop.epsilon:.3f}"
            prog.console.print(f"population {pop.t}: {eps}, acceptance {pop.acceptance:.0%}, "
                               f"median distance {_median(pop):.3f}", highlight=False)

    try:
        with prog, open_executor(jobs, o.scheduler) as workers:
            dist = Distance(scn, params, o.runs_per_sample, o.seed, workers.executor,
                            2 * workers.width + 2, advance)
            prior_runs = _runs_done(folder) * o.runs_per_sample
            if prior_runs:
                advance(min(prior_runs, o.budget))
            result = abc_smc(dist, box_of(params), settings, folder, population_done)
    except ExecutionSetupError as exc:
        raise BadInput(str(exc)) from None
    except (Interrupted, ExecutionError, KeyboardInterrupt) as exc:
        if isinstance(exc, ExecutionError):
            err.print(f"[bold red]error:[/] {plain(exc)}", soft_wrap=True)
        else:
            err.print("[yellow]interrupted:[/]", end=" ")
        err.print(f"the evaluated batches are kept in {plain(folder.path)}. Resume with:\n  "
                  f"{plain(hint)}", soft_wrap=True)
        raise typer.Exit(EXIT_RUNS_FAILED if isinstance(exc, ExecutionError)
                         else EXIT_INTERRUPTED) from None
    if not result.populations:
        raise BadInput(f"--budget {o.budget}: no population finished")
    _finish(o, folder, scn, params, result, dist.failed)
    if dist.failed:
        raise typer.Exit(EXIT_RUNS_FAILED)


def _runs_done(folder) -> int:
    """Evaluations in the batches an earlier session of this calibration kept."""
    import json

    return sum(len(json.loads(p.read_text())["distances"])
               for p in (folder.path / "batches").glob("*.json"))


def _median(pop) -> float:
    from sim.abcsmc import weighted_quantile

    return float(weighted_quantile(pop.distances, pop.weights, 0.5))


_STOPPED = {"populations": "the last of --populations", "budget": "the --budget was reached",
            "acceptance": "acceptance fell below 2%", "epsilon": "the tolerance reached 0",
            "stalled": "every particle's distance equals the tolerance: it cannot fall"}


def _finish(o: CalibrateOptions, folder, scn, params, result, failed) -> None:
    from sim.calibrate import (
        json_ready,
        particles_table,
        populations_table,
        posterior_table,
        write_posterior_scenario,
    )
    from sim.folder import atomic_write
    from sim.plots.posterior import pair_plot
    from sim.plots.style import save_figure

    pop = result.posterior
    table = posterior_table(pop, params)
    pops = populations_table(result.populations, o.runs_per_sample)
    for name, df in (("posterior.csv", table), ("particles.csv", particles_table(pop, params)),
                     ("populations.csv", pops)):
        atomic_write(folder.path / name, lambda tmp, df=df: df.to_csv(tmp, index=False))
    (folder.path / "charts").mkdir(exist_ok=True)
    fig = pair_plot(pop, [p.path for p in params], [(p.low, p.high) for p in params],
                    f"{scn.model.name}: posterior of {len(params)} facts given the record",
                    f"ABC-SMC, population {pop.t} (tolerance {pop.epsilon:.3f} on the distance "
                    f"1 - score), {len(pop.weights)} particles, {o.runs_per_sample} runs each.")
    atomic_write(folder.path / "charts" / "pairs.png",
                 lambda tmp: save_figure(fig, tmp, fmt="png"))
    target = folder.path / f"{o.scenario.stem}_posterior.toml"
    header = (f"# {o.scenario.name} with the posterior medians of `negsim calibrate` written in "
              f"(population {pop.t}, {result.evaluations * o.runs_per_sample} runs).\n")
    write_posterior_scenario(o.scenario, target, table, o.set_ or (), header)
    folder.finish(posterior=json_ready(table), populations_summary=json_ready(pops),
                  evaluations=result.evaluations,
                  runs_total=result.evaluations * o.runs_per_sample, stopped=result.stopped,
                  failed_evaluations=failed)
    _print(scn, table, pop, result, o)
    out.print(f"[green]posterior[/] {plain(folder.path / 'posterior.csv')}, "
              f"{plain(folder.path / 'charts' / 'pairs.png')}, {plain(target)}",
              soft_wrap=True)


def _print(scn, table, pop, result, o: CalibrateOptions) -> None:
    t = Table(title=plain(f"{scn.model.name}: posterior given the record (population {pop.t}, "
                          f"tolerance {pop.epsilon:.3f}; stopped: "
                          f"{_STOPPED.get(result.stopped, result.stopped)})"),
              title_justify="left")
    t.add_column("fact", overflow="fold")
    for c in ("prior", "median", "50% interval", "90% interval", "narrowing"):
        t.add_column(c, justify="right", no_wrap=True)
    for r in table.itertuples(index=False):
        t.add_row(plain(r.parameter), f"{r.prior_low:g}..{r.prior_high:g}", f"{r.median:.3g}",
                  f"{r.q25:.3g}-{r.q75:.3g}", f"{r.q05:.3g}-{r.q95:.3g}", f"{r.narrowing:.2f}")
    out.print(t)
    out.print(f"[dim]narrowing: the posterior's 90% width over the prior's (1 = the record "
              f"says nothing about it). {result.evaluations * o.runs_per_sample:,} runs in "
              f"{len(result.populations)} populations; effective sample size "
              f"{pop.ess:.0f} of {len(pop.weights)}.[/]")
