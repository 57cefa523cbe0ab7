"""Attribution: how much of an outcome each actor accounts for (Shapley values).

The game: the players are a scenario's backers (or its mediators); a coalition S is the
scenario in which the actors outside S are *absent*, and its value v(S) is the outcome's mean
over R runs (for an outcome class, its probability). An actor's Shapley value is its marginal
contribution v(S + i) - v(S) averaged over every order in which the actors could join; the
values add up to v(all) - v(none) (efficiency).

**Absent**, by the scenario's own fields:

* a backer gives nothing: its ``capacity``, ``baseline``, starting ``support``,
  ``red_line_capacity`` (so it declares no red line), ``troops``, ``air`` and
  ``guarantee_forces`` are zero, and so is any of them that a dated event sets (what an event
  scales stays zero). It remains a name in the scenario, and a joint mediator it is a patron
  of keeps it as a patron; but a joint mediator moves on its own only when every patron
  prefers a deal, and a backer that gives nothing has no cost of war to prefer one by, so the
  joint mediator's own initiatives (not its scheduled ones) stop with it: a patron's Shapley
  value includes its share in that joint mediation;
* a mediator does nothing: its ``activity`` is zero (no initiative of its own) and its
  scheduled initiatives are taken off the dated events (the events' other changes stay).

**Estimate.** M orderings are drawn (seeded); each is walked from no actor to all, adding one
at a time, and every coalition met is run once (R runs, the same R run seeds for every
coalition: common random numbers, so two coalitions differ by the actors, not by luck). When
M is at least the number of orderings (n!), every ordering is used once and the values are
exact up to the runs' noise. The interval is the mean's normal 95% interval over the sampled
orderings (zero when every ordering is used); the runs' own noise is shared by every coalition
(common random numbers) and is not in it: it shows in v(all) and v(none)'s intervals.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.stats import Z95

__all__ = ["ABSENT_BACKER_FIELDS", "ACTOR_KINDS", "Attribution", "AttributionError",
           "absent_data", "attribution_section", "coalition_scenario", "coalitions_of",
           "orderings", "plot_attribution", "save_attribution", "shapley"]

ACTOR_KINDS = ("backers", "mediators")

#: The backer fields that are zero when it is absent.
ABSENT_BACKER_FIELDS = ("capacity", "baseline", "support", "red_line_capacity", "troops", "air",
                        "guarantee_forces")

#: The files `negsim attribute` writes.
FILES = ("attribution.json", "attribution.csv", "attribution.png")


class AttributionError(ValueError):
    """Input attribution cannot work on; the message says what to do."""


# ---------------------------------------------------------------------- absent actors
def absent_data(data: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """Scenario data (as :meth:`Scenario.to_dict` gives it) with actor `name` of `kind`
    absent (see the module); `data` is changed in place and returned."""
    if kind == "backers":
        b = data["backers"][name]
        for f in ABSENT_BACKER_FIELDS:
            b[f] = 0.0
        for e in data.get("events", ()):
            sets = e.get("set") or {}
            for f in ABSENT_BACKER_FIELDS:
                key = f"backers.{name}.{f}"
                if key in sets:
                    sets[key] = 0.0
    elif kind == "mediators":
        data["mediators"][name]["activity"] = 0.0
        for e in data.get("events", ()):
            ini = e.get("initiative")
            if ini and ini.get("mediator") == name:
                e["initiative"] = None
    else:
        raise AttributionError(f"--actors {kind!r}: expected one of {', '.join(ACTOR_KINDS)}")
    return data


def coalition_scenario(base: dict[str, Any], kind: str, actors: Sequence[str],
                       present: Iterable[str], source: str = "<scenario>"):
    """The scenario of a coalition: `base` data with every actor of `actors` not in `present`
    absent, validated."""
    from sim.scenario import scenario_from_dict

    data = json.loads(json.dumps(base, default=str))
    keep = set(present)
    for a in actors:
        if a not in keep:
            absent_data(data, kind, a)
    return scenario_from_dict(data, source=source)


# ---------------------------------------------------------------------- Shapley values
def orderings(n: int, m: int, seed: int) -> tuple[np.ndarray, bool]:
    """The orderings of n actors to walk: every one (n! of them) when m >= n!, else m drawn
    uniformly with their own generator from `seed`; and whether they are every one."""
    import itertools

    if n <= 8 and math.factorial(n) <= m:
        return np.array(list(itertools.permutations(range(n))), dtype=int).reshape(-1, n), True
    rng = np.random.default_rng(np.random.SeedSequence([0x5A4A_9E1E, seed]))
    return np.array([rng.permutation(n) for _ in range(m)], dtype=int).reshape(-1, n), False


def coalitions_of(perms: np.ndarray) -> list[frozenset[int]]:
    """Every coalition the orderings meet (the empty one first, then in the order met)."""
    seen: dict[frozenset[int], None] = {frozenset(): None}
    for p in perms:
        s: set[int] = set()
        for i in p:
            s.add(int(i))
            seen.setdefault(frozenset(s), None)
    return list(seen)


def shapley(perms: np.ndarray, value: Callable[[frozenset[int]], float]) -> np.ndarray:
    """Each ordering's marginal contributions: an (orderings x actors) array whose row sums
    are v(all) - v(none) and whose column means are the Shapley estimates."""
    n = perms.shape[1]
    out = np.zeros(perms.shape, dtype=float)
    for r, p in enumerate(perms):
        s: set[int] = set()
        before = value(frozenset())
        for i in p:
            s.add(int(i))
            after = value(frozenset(s))
            out[r, int(i)] = after - before
            before = after
    assert out.shape[1] == n
    return out


@dataclass(frozen=True)
class Attribution:
    """The result: the actors, each coalition's value, each ordering's contributions."""

    kind: str
    actors: tuple[str, ...]
    names: tuple[str, ...]
    outcome: Any                       # sim.outcomes.Outcome
    runs: int
    seed: int
    perms: np.ndarray
    exact: bool
    values: dict[frozenset[int], tuple[float, float, float]]   # v, low, high
    contributions: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def v_all(self) -> tuple[float, float, float]:
        return self.values[frozenset(range(len(self.actors)))]

    @property
    def v_none(self) -> tuple[float, float, float]:
        return self.values[frozenset()]

    def table(self) -> pd.DataFrame:
        """One row per actor, ranked by Shapley value: actor, name, shapley, low, high (95%),
        se, share (of v(all) - v(none))."""
        c = self.contributions
        m = len(c)
        mean = c.mean(axis=0)
        if self.exact:
            se = np.zeros_like(mean)
        elif m < 2:  # one ordering says nothing of the spread
            se = np.full_like(mean, np.nan)
        else:
            se = c.std(axis=0, ddof=1) / math.sqrt(m)
        total = self.v_all[0] - self.v_none[0]
        df = pd.DataFrame({
            "actor": list(self.actors), "name": list(self.names), "shapley": mean,
            "low": mean - Z95 * se, "high": mean + Z95 * se, "se": se,
            "share": mean / total if abs(total) > 1e-12 else np.nan})
        return df.sort_values("shapley", ascending=False, kind="stable").reset_index(drop=True)


def attribution_data(a: Attribution) -> dict[str, Any]:
    """What ``attribution.json`` holds."""
    def num(v: float) -> float | None:
        return None if v is None or not math.isfinite(v) else float(v)

    return {
        **a.meta,
        "actors_kind": a.kind,
        "outcome": a.outcome.spec,
        "outcome_label": a.outcome.label,
        "runs_per_coalition": a.runs,
        "seed": a.seed,
        "orderings": len(a.perms),
        "every_ordering": a.exact,
        "coalitions": len(a.values),
        "v_all": [num(v) for v in a.v_all],
        "v_none": [num(v) for v in a.v_none],
        "shapley": [{k: (num(v) if isinstance(v, float) else v) for k, v in r.items()}
                    for r in a.table().to_dict("records")],
        "coalition_values": [
            {"present": [a.actors[i] for i in sorted(s)], "value": num(v[0]), "low": num(v[1]),
             "high": num(v[2])} for s, v in a.values.items()],
        "orderings_walked": [[a.actors[i] for i in p] for p in a.perms.tolist()],
    }


# ---------------------------------------------------------------------- running it
@dataclass(frozen=True)
class AttributionRun:
    """What to attribute: the scenario, which actors, the outcome, the runs and orderings."""

    scenario: Any                      # sim.scenario.Scenario (with any --set applied)
    kind: str = "backers"
    outcome: str | None = None
    permutations: int = 20
    runs: int = 50
    seed: int = 0
    steps: int | None = None
    source: str = "<scenario>"


def plan(spec: AttributionRun):
    """The actors, the outcome, the orderings and one scenario per coalition (validated)."""
    from sim.outcomes import parse_outcome

    scn = spec.scenario
    if spec.kind not in ACTOR_KINDS:
        raise AttributionError(f"--actors {spec.kind!r}: expected one of "
                               f"{', '.join(ACTOR_KINDS)}")
    table = getattr(scn, spec.kind)
    actors = tuple(table)
    if not actors:
        raise AttributionError(f"{spec.source}: the scenario has no {spec.kind} to attribute "
                               f"the outcome to; try --actors "
                               f"{'mediators' if spec.kind == 'backers' else 'backers'}")
    armed = [k for k, f in scn.factions.items() if f.armed]
    outcome = parse_outcome(spec.outcome, armed, spec.steps or scn.model.weeks)
    perms, exact = orderings(len(actors), spec.permutations, spec.seed)
    coalitions = coalitions_of(perms)
    base = scn.to_dict()
    scenarios = [coalition_scenario(base, spec.kind, actors, [actors[i] for i in s],
                                    source=spec.source) for s in coalitions]
    names = tuple(table[a].name or a for a in actors)
    return actors, names, outcome, perms, exact, coalitions, scenarios


def attribute(spec: AttributionRun, *, jobs: int = 1, scheduler: str | None = None,
              progress: Callable[[int], None] | None = None, planned=None) -> Attribution:
    """Run every coalition the orderings meet (R runs each, the same seeds) on the executor
    for `jobs` / `scheduler`, and return the Shapley values (see the module). `planned`:
    what :func:`plan` gave for `spec`, if already made."""
    import os

    from sim.executors import chunk_size_for, open_executor
    from sim.experiment import Experiment
    from sim.runner import execute

    actors, names, outcome, perms, exact, coalitions, scenarios = planned or plan(spec)
    width = jobs if scheduler is None else max(jobs, os.cpu_count() or 1)
    exp = Experiment(tuple(scenarios), spec.runs, spec.seed, spec.steps,
                     chunk_size_for(len(scenarios) * spec.runs, width))
    got = np.full((len(scenarios), spec.runs), np.nan)
    failed: list[str] = []

    def sink(chunk, tables) -> None:
        runs = tables["runs"].to_pandas()
        if len(runs):
            got[chunk.point, runs["run"].to_numpy()] = outcome.values(runs)
        fails = tables["failures"]
        if fails.num_rows:
            failed.extend(str(e) for e in fails.column("error").to_pylist())
        if progress:
            progress(len(chunk.runs))

    chunks = exp.chunks()
    with open_executor(min(jobs, max(len(chunks), 1)), scheduler) as workers:
        execute(chunks, sink, workers.executor, window=2 * workers.width + 2)
    if failed or np.isnan(got).any():
        raise AttributionError(f"{len(failed)} runs failed, so the coalitions' values are not "
                               f"comparable (first: {failed[0] if failed else 'a missing run'})")
    values = {s: outcome.summary(got[k]) for k, s in enumerate(coalitions)}
    contributions = shapley(perms, lambda s: values[s][0])
    return Attribution(spec.kind, actors, names, outcome, spec.runs, spec.seed, perms, exact,
                       values, contributions,
                       meta={"scenario": scn_name(spec), "source": spec.source,
                             "steps": spec.steps or spec.scenario.model.weeks,
                             "total_runs": len(scenarios) * spec.runs})


def scn_name(spec: AttributionRun) -> str:
    return spec.scenario.model.name


# ---------------------------------------------------------------------- chart and files
def plot_attribution(a: Attribution, ax=None, title: str | None = None):
    """Each actor's Shapley value with its 95% interval, ranked, as horizontal bars."""
    from sim.plots.style import INK, caption, figure_of, new_figure, titles, whiskers
    from sim.text import count

    t = a.table()
    fig, own = figure_of(ax)
    if own:
        fig = new_figure(6.8, 1.6 + 0.38 * len(t))
        ax = fig.subplots()
    y = np.arange(len(t))
    colours = ["#1a9850" if v >= 0 else "#d62728" for v in t["shapley"]]
    ax.barh(y, t["shapley"], color=colours, height=0.6, zorder=2)
    ax.errorbar(t["shapley"], y, xerr=whiskers(t["shapley"], t["low"], t["high"]), fmt="none",
                ecolor=INK, capsize=3, lw=1, zorder=3)
    ax.axvline(0, color=INK, lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(t["name"])
    ax.invert_yaxis()
    share = a.outcome.binary
    unit = "percentage points" if share else (a.outcome.unit or "")
    scale = 100.0 if share else 1.0
    ax.xaxis.set_major_formatter(
        lambda v, _p: "0" if abs(v * scale) < 1e-9 else (f"{v * scale:+.0f}" if share
                                                          else f"{v:+.3g}"))
    ax.set_xlabel(f"Shapley value: contribution to {a.outcome.label}"
                  + (f" ({unit})" if unit else ""))
    ax.grid(axis="x", alpha=0.3, zorder=0)
    va, vn = a.v_all[0], a.v_none[0]
    fmt = (lambda v: f"{v:.0%}") if share else (lambda v: f"{v:.3g}")
    how = (f"every one of the {len(a.perms)} orderings" if a.exact
           else count(len(a.perms), "sampled ordering"))
    titles(fig, ax, title or f"Who made the outcome: {a.outcome.label}",
           f"{a.meta.get('scenario', '')}: {a.kind}, {how}, {a.runs} runs per coalition",
           own)
    noise = ("the runs' own noise is shared by every coalition (common random numbers)")
    caption(fig, [f"{a.outcome.label} with every actor: {fmt(va)}; with none: {fmt(vn)}. The "
                  "values add up to the difference. "
                  + ("Every ordering is used, so there is no ordering error; " + noise + "."
                     if a.exact else
                     f"Whiskers: 95% intervals over the sampled orderings; {noise}.")], own)
    return fig


def save_attribution(a: Attribution, folder: str | Path) -> list[Path]:
    """Write ``attribution.json``, ``attribution.csv`` and the chart into `folder` (created;
    each file atomically)."""
    from sim.folder import atomic_json, atomic_write
    from sim.plots.style import save_figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f for f in FILES]
    atomic_write(paths[1], lambda tmp: a.table().to_csv(tmp, index=False))
    fig = plot_attribution(a)
    atomic_write(paths[2], lambda tmp: save_figure(fig, tmp, fmt="png"))
    atomic_json(attribution_data(a), paths[0])
    return paths


def attribution_section(folder: str | Path) -> str | None:
    """The report's attribution section as HTML (the chart inlined), or None when the folder
    has no ``attribution.json`` (``negsim attribute --out FOLDER`` writes it)."""
    import base64
    import html

    from sim.text import count

    folder = Path(folder)
    try:
        data = json.loads((folder / FILES[0]).read_text())
    except (OSError, ValueError):
        return None
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(r['name'])}</td><td>{r['shapley']:+.3f}</td>"
        f"<td>{_interval(r['low'], r['high'])}</td></tr>" for r in data["shapley"])
    img = ""
    if (folder / FILES[2]).exists():
        b64 = base64.b64encode((folder / FILES[2]).read_bytes()).decode()
        img = f'<img alt="attribution" src="data:image/png;base64,{b64}">'
    how = ("every ordering" if data["every_ordering"]
           else count(data["orderings"], "sampled ordering"))
    return (
        "<section><h2>Attribution</h2>"
        f"<p>Shapley values of the {esc(data['actors_kind'])} over "
        f"{esc(data['outcome_label'])}: {how}, {data['coalitions']} coalitions of "
        f"{data['runs_per_coalition']} runs each (the same seeds). With every actor "
        f"{data['v_all'][0]:.3f}, with none {data['v_none'][0]:.3f}.</p>"
        "<table><thead><tr><th>actor</th><th>Shapley value</th><th>95% interval</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>{img}</section>")


def _interval(low: float | None, high: float | None) -> str:
    return "n/a" if low is None or high is None else f"{low:+.3f} to {high:+.3f}"
