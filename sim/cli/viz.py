"""`negsim viz`: watch a run and turn its knobs in the browser (Mesa's SolaraViz, offline)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.app import (
    BadInput,
    ScenarioArg,
    SeedOpt,
    SetOpt,
    app,
    available_cores,
    guarded,
    load,
    options,
    out,
    plain,
)

PortOpt = Annotated[int, typer.Option(
    "--port", "-p", min=0, max=65535,
    help="Port to serve the page on (0: any free port). Example: --port 8800")]
HostOpt = Annotated[str, typer.Option(
    "--host", help="Address to listen on; the default serves this machine only. "
                   "Example: --host 0.0.0.0 (every interface)")]
EnsembleRunsOpt = Annotated[int, typer.Option(
    "--ensemble-runs", min=0, max=100_000,
    help="Replicates the ensemble panel runs in the background for the current settings "
         "(0: no ensemble panel runs). Example: --ensemble-runs 500")]
VizJobsOpt = Annotated[int | None, typer.Option(
    "--jobs", "-j", min=1, show_default="2, or 1 on a single core",
    help="Worker processes for the ensemble panel. Its numbers do not depend on it. "
         "Example: --jobs 4")]


@dataclasses.dataclass(frozen=True)
class VizCommandOptions:
    scenario: ScenarioArg
    port: PortOpt = 8765
    host: HostOpt = "127.0.0.1"
    seed: SeedOpt = 0
    ensemble_runs: EnsembleRunsOpt = 200
    jobs: VizJobsOpt = None
    set_: SetOpt = None


@app.command()
@guarded
@options(VizCommandOptions)
def viz(o: VizCommandOptions) -> None:
    r"""Watch one run in the browser and turn its knobs: Mesa's SolaraViz app on this machine.

    The page shows the week and its date, the sites map (coloured by controller, fronts in
    red, sites that changed hands ringed), charts of control, strength, support and the
    ceasefire status, the latest proposals with every answer and its numbers, Step / Play /
    Reset, sliders for each backer's capacity, each mediator's leverage, the factions'
    optimism and cost of war and the seed (applied on Reset), and an ensemble panel: outcome
    shares with 95% intervals over --ensemble-runs replicates of the current settings, run in
    the background. Everything is served from this machine (no CDN). Ctrl-C stops it.

    Needs the viz extra: pip install 'negsim\[viz]'.

    Example: negsim viz scenarios/libya_2019.toml --port 8800 --set backers.turkey.capacity=0
    """
    from sim.viz import VIZ_EXTRA_HINT, viz_available

    missing = viz_available()
    if missing is not None:
        raise BadInput(f"{VIZ_EXTRA_HINT}; {missing} is not installed")
    load(o.scenario, o.set_)  # a bad file or --set fails here, before the server starts
    from sim.viz.server import check_port, free_port, serve

    port = o.port or free_port(o.host)
    why = check_port(o.host, port)
    if why is not None:
        opt = "--host" if "resolve" in why else "--port"
        raise BadInput(f"{opt}: {why}; expected a free port on this machine, "
                       f"e.g. --port {port + 1 if port < 65535 else 8765} (or --port 0)")
    jobs = o.jobs if o.jobs is not None else min(2, available_cores())
    shown = "localhost" if o.host in ("127.0.0.1", "::1") else o.host
    out.print(f"negsim viz: serving {plain(o.scenario)} at http://{shown}:{port}/ "
              "(Ctrl-C stops)", soft_wrap=True)
    serve({"scenario": str(Path(o.scenario).resolve()), "sets": list(o.set_ or []),
           "seed": o.seed, "ensemble_runs": o.ensemble_runs, "jobs": jobs}, o.host, port)
