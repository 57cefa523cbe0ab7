"""Replicates of the page's current settings, run in the background for the ensemble panel.

:func:`run_ensemble` runs an :class:`~sim.experiment.Experiment` of the settings' scenario on
the project's process pool (:func:`sim.executors.open_executor`), hands the runs finished so
far to a callback after every chunk, and stops (queued chunks cancelled, running ones ending
after the run under way) when its `cancel` event is set: on Reset or new settings. The seeds
are those of ``negsim run --seed S`` for the same scenario, so the numbers are the same
whatever the number of workers, and the same as the command line's. Nothing here imports
Solara.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from sim.executors import chunk_size_for, open_executor
from sim.experiment import Experiment
from sim.results import ceasefire_timing, outcome_shares
from sim.runner import Chunk, execute
from sim.scenario import Scenario


class EnsembleCancelled(Exception):
    """The ensemble was stopped before it finished (its settings changed)."""


@dataclass(frozen=True)
class EnsembleSummary:
    """What the panel shows of the runs finished so far."""

    done: int
    total: int
    shares: pd.DataFrame = field(repr=False)  # outcome, runs, share, low, high
    timing: dict = field(repr=False)  # see sim.results.ceasefire_timing

    @property
    def finished(self) -> bool:
        return self.done >= self.total


def summarise(runs: pd.DataFrame, total: int, factions: list[str]) -> EnsembleSummary:
    """Outcome shares with Wilson 95% intervals and the first ceasefire's timing."""
    return EnsembleSummary(len(runs), total, outcome_shares(runs, factions),
                           ceasefire_timing(runs) if len(runs) else {"runs": 0})


def run_ensemble(scenario: Scenario, runs: int, seed: int, *, jobs: int = 1,
                 on_update: Callable[[EnsembleSummary], None] | None = None,
                 cancel: threading.Event | None = None) -> EnsembleSummary:
    """Run `runs` replicates of `scenario` (master seed `seed`) on `jobs` workers, calling
    `on_update` with the summary after every finished chunk; raise
    :class:`EnsembleCancelled` once `cancel` is set (checked as each chunk finishes)."""
    exp = Experiment.of(scenario, runs, seed, chunk_size=chunk_size_for(runs, max(jobs, 1)))
    chunks = exp.chunks()
    factions = list(scenario.armed_factions)
    order = {c.name: i for i, c in enumerate(chunks)}
    kept: dict[str, pa.Table] = {}

    def current() -> EnsembleSummary:
        tabs = [kept[n] for n in sorted(kept, key=order.__getitem__) if kept[n].num_rows]
        df = (pa.concat_tables(tabs, promote_options="permissive").to_pandas() if tabs
              else pd.DataFrame({"outcome": pd.Series([], dtype=str),
                                 "first_ceasefire_date": pd.Series([], dtype="datetime64[ns]"),
                                 "first_ceasefire_step": pd.Series([], dtype=float)}))
        return summarise(df, runs, factions)

    def sink(c: Chunk, tables: dict) -> None:
        if cancel is not None and cancel.is_set():
            raise EnsembleCancelled
        kept[c.name] = tables["runs"]
        if on_update is not None:
            on_update(current())

    if cancel is not None and cancel.is_set():
        raise EnsembleCancelled
    with open_executor(min(jobs, len(chunks))) as workers:
        execute(chunks, sink, workers.executor, window=2 * workers.width + 2)
    return current()


def shares_markdown(summary: EnsembleSummary) -> str:
    """The summary as a Markdown table and a line on the first ceasefire."""
    lines = [f"**{summary.done} of {summary.total} runs**"
             + ("" if summary.finished else " (running)"), "",
             "| outcome | share | 95% interval |", "|---|---:|---|"]
    for r in summary.shares.itertuples():
        if summary.done and not math.isnan(r.share):
            lines.append(f"| {r.outcome} | {r.share:.0%} | {r.low:.0%} to {r.high:.0%} |")
    t = summary.timing
    lines.append("")
    if not summary.done:
        lines.append("No run has finished yet.")
    elif t.get("with_ceasefire"):
        lines.append(f"First open-ended ceasefire in {t['share']:.0%} of runs: median "
                     f"{t['median']} (week {t['median_step']:.0f}; quartiles {t['q25']} to "
                     f"{t['q75']}).")
    else:
        lines.append("No open-ended ceasefire in any run so far.")
    return "\n".join(lines)
