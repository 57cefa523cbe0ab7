"""What the model reproduces: every development war scored against its record.

Runs each development war with the library's defaults (the runs and seeds of
``tests/test_facts.py``), scores the runs against the war's ``[[observed]]`` facts and prints
the README's table "What the model reproduces" (one row per war) and, with ``--facts FILE``,
writes the table of every fact (met or not, its share of runs with the 95% interval).

    .venv/bin/python experiments/what_it_reproduces.py --jobs 2 --facts docs/facts.md

The stylized facts no observation kind can state are tested in ``tests/test_facts.py``; a
fact the model misses is marked there with its reason.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sim
from sim.cli import available_cores
from sim.experiment import run_replicates
from sim.score import score

ROOT = Path(__file__).resolve().parents[1]

#: war -> (scenario file, runs, seed): as tests/test_facts.py runs them
WARS = {
    "Libya 2019-2021": ("libya_2019.toml", 200, 20190404),
    "Donbas 2014-2015": ("donbas_2014.toml", 200, 20140407),
    "Bosnia 1994-1996": ("bosnia_1995.toml", 200, 19941219),
    "Sudan 2023-2024 (negative control)": ("sudan_2023.toml", 300, 20230415),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Example: python experiments/what_it_reproduces.py "
                                        "--jobs 2 --facts docs/facts.md")
    ap.add_argument("--jobs", type=int, default=available_cores(),
                    help="processes (default: the cores available)")
    ap.add_argument("--facts", type=Path, default=None,
                    help="also write every fact's row to this Markdown file")
    a = ap.parse_args(argv)
    rows, facts = [], ["# Every fact of the development wars, met or not", "",
                       "Written by `python experiments/what_it_reproduces.py --facts "
                       "docs/facts.md` (the runs and seeds of `tests/test_facts.py`).", ""]
    for name, (file, runs, seed) in WARS.items():
        scn = sim.load_scenario(ROOT / "scenarios" / file)
        res = run_replicates(scn, runs, seed=seed, jobs=a.jobs)
        table = score(res, scn)
        o = table.observations
        met = o[o.met]
        missed = o[~o.met]
        overrides = len(sim.scenario.behaviour_overrides(scn))
        dated = len(sim.scenario.behaviour_events(scn))
        own = f"{overrides}" + (f" (+{dated} by dated events)" if dated else "")
        rows.append(f"| {name} | {table.score:.2f} | {len(met)} of {len(o)} | {own} | "
                    + (", ".join(f"`{i}`" for i in missed.id) or "none") + " |")
        facts += [f"## {name} (`scenarios/{file}`, {runs} runs, seed {seed})", "",
                  "| fact | kind | share of runs [95%] | required | met |",
                  "|---|---|---|---|---|"]
        for r in o.itertuples():
            facts.append(f"| `{r.id}`: {r.description} | {r.kind} | {r.share:.0%} "
                         f"[{r.low:.0%}, {r.high:.0%}] of {r.counted} | {r.required:.0%} | "
                         f"{'yes' if r.met else 'no'} |")
        facts.append("")
    print("| war | score | facts met | behavioural overrides | not met |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    if a.facts is not None:
        a.facts.write_text("\n".join(facts) + "\n")
        print(f"\nwrote {a.facts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
