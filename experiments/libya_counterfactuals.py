"""What moved the Libyan war towards a ceasefire, and what would have made it hold?

The Libya scenario against its counterfactuals, every variant on the same replicate seeds
(common random numbers: the differences come from the change, not from luck). For each variant
it prints the outcome shares and their paired differences from the baseline with 95% intervals,
and it draws the variants' outcome shares side by side.

    .venv/bin/python experiments/libya_counterfactuals.py --runs 200 --jobs 2
    .venv/bin/python experiments/libya_counterfactuals.py --only "no Turkish intervention"

A variant is a list of ``--set`` overrides; add your own to VARIANTS.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

import sim
from sim.cli import available_cores, progress_bar
from sim.compare import compare_results

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "libya_2019.toml"

#: label -> overrides (as `negsim run --set` takes them)
VARIANTS: dict[str, list[str]] = {
    "baseline": [],
    # Turkey's drones, air defence and Syrian fighters from December 2019 (facts file)
    "no Turkish intervention": ["backers.turkey.capacity=0", "backers.turkey.baseline=0"],
    # Wagner's contractors from September 2019, the jets at Jufra in May 2020
    "no Wagner": ["backers.russia.capacity=0"],
    # Sisi's Sirte-Jufra line of 2020-06-20, backed by the parliament's authorisation
    "no Egyptian red line": ["backers.egypt.red_line_capacity=0"],
    # an armed UN monitoring mission behind the UN's proposals (there was none)
    "a UN monitoring mission": ["mediators.un.guarantee_forces=50"],
}

#: the outcomes the table shows (the rest are in the chart)
SHOWN = ("durable_ceasefire", "fragile_ceasefire", "victory:lna", "victory:gna")
HEADS = {"durable_ceasefire": "durable\nceasefire", "fragile_ceasefire": "fragile\nceasefire",
         "victory:lna": "LNA wins", "victory:gna": "GNA wins"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Example: experiments/libya_counterfactuals.py "
                                        "--runs 200 --jobs 2 --out results/counterfactuals.png")
    ap.add_argument("--runs", type=int, default=200, help="replicates per variant (200)")
    ap.add_argument("--seed", type=int, default=20190404, help="master seed (20190404)")
    ap.add_argument("--jobs", type=int, default=available_cores(),
                    help="runs at once (all cores)")
    ap.add_argument("--steps", type=int, default=None, help="weeks (the scenario's 104)")
    ap.add_argument("--only", action="append", choices=list(VARIANTS)[1:], metavar="VARIANT",
                    help="run only these variants besides the baseline; repeatable")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "libya_counterfactuals.png",
                    help="the chart (.png or .svg)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.jobs < 1:
        ap.error("--runs and --jobs must be at least 1")

    labels = ["baseline", *(args.only or list(VARIANTS)[1:])]
    scenarios = {k: sim.load_scenario(SCENARIO, VARIANTS[k]) for k in labels}  # checked first
    prog, advance = progress_bar(args.runs * len(labels), args.quiet)
    results = {}
    with prog:
        for k in labels:
            results[k] = sim.run_replicates(scenarios[k], args.runs, args.seed, jobs=args.jobs,
                                            steps=args.steps, progress=advance)

    base = results["baseline"]
    table = Table(title=f"Libya 2019-2021: {args.runs} runs a variant, seed {args.seed}",
                  caption="share of runs; below it, the paired difference from the baseline in "
                          "percentage points [95% interval]", title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("variant")
    for o in SHOWN:
        table.add_column(HEADS[o], justify="right", no_wrap=True)
    for k in labels:
        outcomes = compare_results(base, results[k]).outcomes.set_index("outcome")
        cells = []
        for o in SHOWN:
            r = outcomes.loc[o] if o in outcomes.index else None
            if r is None:
                cells.append("-")
            elif k == "baseline":
                cells.append(f"{r.b_share:.1%}")
            else:
                cells.append(f"{r.b_share:.1%}\n{100 * r['diff']:+.0f} "
                             f"[{100 * r.low:+.0f},{100 * r.high:+.0f}]")
        table.add_row(k, *cells)
    Console().print(table)

    fig = _chart({k: results[k] for k in labels}, scenarios["baseline"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sim.plots.save_figure(fig, args.out)
    print(f"Chart: {args.out}")
    return 0


def _chart(results: dict, scenario):
    """Each variant's outcome shares, one panel a variant, on the same scale."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 2.2 * len(results)), layout="constrained")
    axes = fig.subplots(len(results), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (label, res) in zip(axes, results.items(), strict=True):
        sim.plots.plot_outcomes(res, scenario=scenario, ax=ax)
        ax.set_title(label, loc="left", fontsize=10)
    return fig


if __name__ == "__main__":
    sys.exit(main())
