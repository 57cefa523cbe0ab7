"""Choose the library's behavioural defaults on the development wars, jointly.

One design over the model-wide behavioural parameters (PARAMETERS below) is run on every
development scenario with the same replicate seeds, and each point is scored against each
war's ``[[observed]]`` facts (:mod:`sim.score`). A point's joint score is the mean of the four
wars' scores, and the worst war's score breaks ties: defaults that serve one war at the others'
expense rank low. Point 0 is the library's current defaults, so the table says whether any
point beats them.

    .venv/bin/python experiments/calibrate_defaults.py --samples 48 --runs 60 --jobs 2 \\
        --out results/calibration

It prints the ranking and writes ``points.csv`` (every point: its values, each war's score and
observations met) and ``best.json`` to ``--out``. The defaults in ``sim/scenario.py`` were set
from such a run (see the README, "What the model reproduces"); a chosen value is rounded, and
a parameter whose best points spread over its whole range is left where it was.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

import sim
from sim.cli import available_cores, progress_bar
from sim.executors import open_executor
from sim.experiment import run_replicates
from sim.score import score
from sim.sweep import Design, make_design, parse_vary

ROOT = Path(__file__).resolve().parents[1]

#: The development wars: name -> scenario file.
WARS = {
    "libya": ROOT / "scenarios" / "libya_2019.toml",
    "donbas": ROOT / "scenarios" / "donbas_2014.toml",
    "bosnia": ROOT / "scenarios" / "bosnia_1995.toml",
    "sudan": ROOT / "scenarios" / "sudan_2023.toml",
}

#: Behavioural parameters and the range each is drawn from (lo..hi). A path with ``*`` for
#: the actor (``factions.*.war_cost``) is the library's default for every such actor: each
#: point sets it on every actor of every war that does not override it for a reason of its own.
PARAMETERS = {
    "model.aim_weight": "0.1..1.5",
    "model.collapse_ratio": "0.2..0.8",
    "model.hurting_loss_rate": "0.005..0.05",
    "model.settle_weeks": "2..30",
    "model.incident_breakdown": "0.1..0.6",
    "model.enforcement": "0..0.6",
    "model.quiet_response": "0..1",
    "model.deploy_distress": "0.1..0.6",
}


#: The actors' defaults, a second round (``--actors``).
ACTOR_PARAMETERS = {
    "factions.*.war_cost": "0.002..0.03",
    "factions.*.casualty_aversion": "0..1.5",
    "factions.*.audience_cost": "0..3",
    "factions.*.aim_adaptation": "0.02..0.5",
    "factions.*.attack_threshold": "0.3..0.6",
    "factions.*.spoiler_rate": "0.005..0.08",
    "backers.*.leverage": "0..0.1",
}


def expand(scn: sim.Scenario, point: dict) -> list[tuple[str, object]]:
    """A point's values as overrides of one war: ``group.*.field`` becomes one override per
    actor of that group that keeps the library's default (its own overrides stand)."""
    out = []
    for path, value in point.items():
        group, who, name = (path.split(".") + ["", ""])[:3] if "*" in path else ("", "", "")
        if who != "*":
            out.append((path, value))
            continue
        for key, actor in getattr(scn, group).items():
            if name not in actor.model_fields_set:
                out.append((f"{group}.{key}.{name}", value))
    return out


def _default(path: str):
    group, _, name = path.rpartition(".")
    cls = {"model": sim.scenario.ModelParams, "factions.*": sim.scenario.Faction,
           "backers.*": sim.scenario.Backer, "mediators.*": sim.scenario.Mediator}[group]
    return cls.model_fields[name].default


def design(samples: int, seed: int, params: dict[str, str] | None = None) -> Design:
    """A Latin hypercube over `params` (default PARAMETERS), with the current defaults as
    point 0."""
    params = params or PARAMETERS
    varies = [parse_vary(p, s) for p, s in params.items()]
    lhs = make_design("lhs", varies, samples, seed)
    current = {p: _default(p) for p in params}
    return Design("lhs", lhs.varies, samples, seed, (current, *lhs.points))


def run(samples: int, runs: int, seed: int, jobs: int, quiet: bool = False,
        params: dict[str, str] | None = None) -> pd.DataFrame:
    """Every point on every war: one row per point with each war's score."""
    d = design(samples, seed, params)
    wars = {name: sim.load_scenario(path) for name, path in WARS.items()}
    for name, scn in wars.items():
        if not scn.observed:
            raise SystemExit(f"{WARS[name]}: no [[observed]] facts to score against")
    rows = []
    total = len(d.points) * len(wars) * runs
    ctx, advance = progress_bar(total, quiet, "runs")
    with open_executor(jobs) as workers, ctx:
        ex = workers.executor
        for i, point in enumerate(d.points):
            row: dict = {"point": i, **point}
            for name, base in wars.items():
                scn = sim.load_scenario(WARS[name], expand(base, point))
                res = run_replicates(scn, runs, seed, executor=ex, progress=advance)
                table = score(res, scn)
                row[f"score_{name}"] = table.score
                row[f"met_{name}"] = int(table.overall["met"].iloc[0])
                row[f"facts_{name}"] = int(table.overall["total"].iloc[0])
            scores = [row[f"score_{n}"] for n in wars]
            row["score"] = sum(scores) / len(scores)
            row["worst"] = min(scores)
            rows.append(row)
    return pd.DataFrame(rows).sort_values(["score", "worst"], ascending=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Example: python experiments/calibrate_defaults.py "
                                        "--samples 48 --runs 60 --jobs 2 --out results/cal")
    ap.add_argument("--samples", type=int, default=48, help="points of the design besides "
                    "the current defaults (default 48)")
    ap.add_argument("--runs", type=int, default=60, help="runs per point and war (default 60)")
    ap.add_argument("--seed", type=int, default=2026, help="seed of the design and the runs")
    ap.add_argument("--jobs", type=int, default=available_cores(),
                    help="processes (default: the cores available)")
    ap.add_argument("--out", type=Path, default=None, help="folder for points.csv and best.json")
    ap.add_argument("--param", action="append", default=[], metavar="PATH=LO..HI",
                    help="vary only these model parameters (repeatable), for a focused round, "
                         "e.g. --param model.deploy_distress=0.05..0.3")
    ap.add_argument("--actors", action="store_true",
                    help="vary the actors' behavioural defaults (ACTOR_PARAMETERS) instead of "
                         "the model-wide ones")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    a = ap.parse_args(argv)
    params = dict(p.split("=", 1) for p in a.param) or (
        ACTOR_PARAMETERS if a.actors else PARAMETERS)
    table = run(a.samples, a.runs, a.seed, a.jobs, a.quiet, params)
    con = Console(width=max(Console().width, 150))
    t = Table(title="Points by joint score (mean of the wars' scores; worst war as tie-break)")
    for c in ["point", "score", "worst", *(f"score_{n}" for n in WARS), *params]:
        t.add_column(c.removeprefix("model.").removeprefix("score_").replace(".*.", "."),
                     justify="right")
    for _, r in table.head(12).iterrows():
        t.add_row(str(int(r["point"])), *(f"{r[c]:.3f}" for c in ["score", "worst"]),
                  *(f"{r[f'score_{n}']:.2f}" for n in WARS),
                  *(f"{r[p]:.3g}" for p in params))
    con.print(t)
    base = table[table.point == 0].iloc[0]
    best = table.iloc[0]
    con.print(f"current defaults (point 0): score {base['score']:.3f}; best: point "
              f"{int(best['point'])}, {best['score']:.3f}")
    if a.out is not None:
        a.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(a.out / "points.csv", index=False)
        (a.out / "best.json").write_text(json.dumps(
            {p: float(best[p]) for p in params} | {"score": float(best["score"])},
            indent=2))
        con.print(f"wrote {a.out / 'points.csv'} and {a.out / 'best.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
