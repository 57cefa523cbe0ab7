"""The charts the command line draws (``negsim plot``, ``negsim report``): each chart's name,
the tables it needs, when it applies, and how to draw and save it.

Run charts (outcomes, fans, survival, ...) describe the runs of one scenario: on a sweep folder
they apply only to one point (``ChartOptions(point=N)``, ``negsim plot DIR --point N``), never to
the runs of different points pooled. Sweep charts compare the points, reading one outcome
(``ChartOptions(outcome=SPEC)``, a spec of :mod:`sim.outcomes`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from sim.outcomes import parse_outcome
from sim.plots.data import Tables, as_tables
from sim.plots.runs import (
    plot_ceasefire_life,
    plot_diplomacy,
    plot_fans,
    plot_outcomes,
    plot_site_map,
    plot_support,
    plot_survival,
)
from sim.plots.style import save_figure
from sim.plots.sweeps import (
    heatmap_pairs,
    is_sampled,
    plot_influence,
    plot_sweep_heatmap,
    plot_sweep_outcomes,
    sweep_outcome,
    sweep_paths,
)

__all__ = ["CHARTS", "NOT_A_SWEEP", "Chart", "ChartOptions", "Rendered", "applies",
           "chart_names", "render_charts"]


@dataclass(frozen=True)
class ChartOptions:
    """What to draw the charts of: `outcome`, the spec of :mod:`sim.outcomes` the sweep charts
    read (None: the durable ceasefire); `point`, the sweep point whose runs the run charts show
    (None: run charts do not apply to a sweep folder)."""

    outcome: str | None = None
    point: int | None = None


Drawn = list[tuple[str, str, Figure]]  # (file stem, title, figure)


# ============================================================================ registry
@dataclass(frozen=True)
class Chart:
    """A chart the command line can draw: name, what it shows, which tables it needs."""

    name: str
    title: str
    needs: tuple[str, ...]
    sweep: bool
    applies: Callable[[Tables], str | None]     # None if it applies, else the reason not
    draw: Callable[[Tables, ChartOptions], Drawn]


@dataclass
class Rendered:
    """A drawn chart: its name, file stem, title, figure and (once saved) its path."""

    chart: str
    stem: str
    title: str
    figure: Figure
    path: Path | None = None
    extra: dict = field(default_factory=dict)


def _always(t: Tables) -> str | None:
    return None


def _needs_backers(t: Tables) -> str | None:
    if not any(c.startswith("support_") for c in t.steps.columns):
        return "the scenario has no backers"
    return None


def _needs_proposals(t: Tables) -> str | None:
    ev = t.events
    if not len(ev) or not (ev["kind"] == "proposal").any():
        return "no proposal was made in any run"
    return None


def _needs_sites(t: Tables) -> str | None:
    return None if t.info.sites else "the manifest has no scenario (sites unknown)"


def _needs_deals(t: Tables) -> str | None:
    ev = t.events
    if not len(ev) or not ev["kind"].isin(["ceasefire", "truce"]).any():
        return "no ceasefire or truce came into force in any run"
    return None


#: Why a sweep chart does not apply to a run folder.
NOT_A_SWEEP = "a run folder, not a sweep (no varied paths)"


def _needs_sweep(t: Tables) -> str | None:
    if t.point is not None:
        return (f"compares sweep points; --point {t.point} draws the run charts of one point "
                "(drop --point for the sweep charts)")
    if t.kind != "sweep":
        return NOT_A_SWEEP
    if not sweep_paths(t):
        return "the sweep has no varied paths in points.parquet"
    return None


def _needs_two_paths(t: Tables) -> str | None:
    why = _needs_sweep(t)
    if why:
        return why
    n = len(sweep_paths(t))
    return None if n >= 2 else f"needs two varied paths; this sweep varies {n}"


def _needs_sampled(t: Tables) -> str | None:
    why = _needs_sweep(t)
    if why:
        return why
    if not is_sampled(t):
        return ("only for sampled designs (lhs, sobol-sequence, saltelli, morris); this sweep "
                "is a grid design")
    if t.n_points < 8:
        return f"needs at least 8 sweep points; this sweep has {t.n_points}"
    return None


def _one(stem: str, title: str, fn) -> Callable[[Tables, ChartOptions], Drawn]:
    return lambda t, o: [(stem, title, fn(t))]


def _draw_sweep_outcomes(t: Tables, o: ChartOptions) -> Drawn:
    what = "Outcomes" if o.outcome is None else sweep_outcome(t, o.outcome).label
    return [(f"sweep-outcomes-{p}", f"{what} against {p}",
             plot_sweep_outcomes(t, p, outcome=o.outcome)) for p in sweep_paths(t)]


def _draw_heatmap(t: Tables, o: ChartOptions) -> Drawn:
    label = sweep_outcome(t, o.outcome).label
    how = "points of the sampled design" if is_sampled(t) else "grid"
    return [(f"sweep-heatmap-{x}-{y}", f"{label} over {x} and {y} ({how})",
             plot_sweep_heatmap(t, [x, y], outcome=o.outcome))
            for x, y in heatmap_pairs(t, outcome=o.outcome)]


def _draw_influence(t: Tables, o: ChartOptions) -> Drawn:
    label = sweep_outcome(t, o.outcome).label
    return [("sweep-influence", f"Influence of each varied path on {label}",
             plot_influence(t, outcome=o.outcome))]


CHARTS: dict[str, Chart] = {c.name: c for c in [
    Chart("outcomes", "Outcome shares", ("runs",), False, _always,
          _one("outcomes", "Outcome shares with 95% intervals", plot_outcomes)),
    Chart("survival", "Time to the first ceasefire", ("runs",), False, _always,
          _one("survival", "Time to the first open-ended ceasefire (Kaplan–Meier)",
               plot_survival)),
    Chart("fans", "Control and strength over time", ("runs", "steps"), False, _always,
          _one("fans", "Control and strength over time (fan charts)", plot_fans)),
    Chart("support", "Backers' support over time", ("runs", "steps"), False, _needs_backers,
          _one("support", "Backers' support over time", plot_support)),
    Chart("diplomacy", "Diplomacy", ("runs", "events"), False, _needs_proposals,
          _one("diplomacy", "Proposals, acceptance and successful proposers", plot_diplomacy)),
    Chart("map", "Who holds each site at the end", ("runs", "events"), False, _needs_sites,
          _one("map", "Who holds each site at the end", plot_site_map)),
    Chart("ceasefire-life", "Ceasefire life and breakdowns", ("runs", "events"), False,
          _needs_deals,
          _one("ceasefire-life", "How long ceasefires held and why they broke down",
               plot_ceasefire_life)),
    Chart("sweep-outcomes", "Outcomes against each varied path", ("runs",), True, _needs_sweep,
          _draw_sweep_outcomes),
    Chart("sweep-heatmap", "The outcome over two paths", ("runs",), True,
          _needs_two_paths, _draw_heatmap),
    Chart("sweep-influence", "Influence of each varied path", ("runs",), True, _needs_sampled,
          _draw_influence),
]}


def applies(chart: Chart, t: Tables) -> str | None:
    """None if `chart` applies to the data, else the reason it does not. A run chart does not
    apply to a whole sweep folder: its points differ in the varied parameters, so pooling their
    runs would mix them (select one with :meth:`Tables.at_point`, ``--point N``)."""
    if not chart.sweep and t.kind == "sweep" and t.point is None:
        k = t.n_points
        return (f"a run chart; this sweep's {k} points differ in their varied parameters and "
                f"their runs are not pooled: draw it for one point with negsim plot --point N "
                f"(0 to {k - 1})")
    return chart.applies(t)


def chart_names() -> list[str]:
    """The names of the charts the command line knows, in drawing order."""
    return list(CHARTS)


def render_charts(data: Any, names: Sequence[str] | None = None, *,
                  out_dir: str | Path | None = None, fmt: str = "png", dpi: int = 130,
                  keep: bool = True, errors: str = "raise", options: ChartOptions | None = None
                  ) -> tuple[list[Rendered], dict[str, str]]:
    """Draw the named charts (default: all) that apply to the data.

    `options`: the outcome the sweep charts read and the sweep point the run charts show (see
    :class:`ChartOptions`); a bad outcome raises :class:`sim.outcomes.OutcomeError`, a point
    the sweep does not have :class:`sim.results.ResultsError`, before anything is drawn.

    Returns (rendered charts, {chart name: reason} for those that do not apply). With
    `out_dir`, each figure is saved there as ``<stem>.<fmt>``. With ``keep=False`` figures are
    dropped after saving (their ``figure`` is None) to save memory. With ``errors="skip"`` a
    chart that fails to draw is reported in the second result as ``"failed: ..."`` instead of
    raising (the command line uses this so one bad chart does not lose the others).
    """
    opts = options or ChartOptions()
    t = as_tables(data)
    if opts.point is not None:
        t = t.at_point(opts.point)
    if opts.outcome is not None:
        parse_outcome(opts.outcome, t.info.armed)
    names = list(names or CHARTS)
    unknown = [n for n in names if n not in CHARTS]
    if unknown:
        raise ValueError(f"unknown chart(s): {', '.join(unknown)}; known: "
                         + ", ".join(CHARTS))
    done: list[Rendered] = []
    skipped: dict[str, str] = {}
    for name in names:
        chart = CHARTS[name]
        try:
            why = applies(chart, t)
            if why:
                skipped[name] = why
                continue
            for stem, title, fig in chart.draw(t, opts):
                r = Rendered(name, stem, title, fig)
                if out_dir is not None:
                    r.path = save_figure(fig, Path(out_dir) / f"{stem}.{fmt}", fmt, dpi)
                if not keep:
                    r.figure = None
                done.append(r)
        except OSError:
            raise  # cannot write the file: the caller says where
        except Exception as exc:  # noqa: BLE001 - reported per chart with errors="skip"
            if errors == "raise":
                raise
            skipped[name] = f"failed: {type(exc).__name__}: {exc}"
    return done, skipped
