"""Outcome charts for a results folder (matplotlib; no pyplot state, safe in servers and tests).

Every chart is two steps: a ``*_dataset`` function turns the tables into exactly the numbers that
are drawn (plain DataFrames and arrays, testable without matplotlib), and a ``plot_*`` function
draws them into an ``Axes`` (or a new ``Figure``) and returns the ``Figure``. The command line
(``negsim plot``, ``negsim report``) and scripts use the same functions.

Charts take their data as a :class:`sim.folder.Results` (in memory or folder backed), a
:class:`Tables`, a mapping ``{"runs": df, "steps": df, "events": df}``, or a single table
(recognised by its columns). The scenario (names, blocs, sites, dated events, start date) comes
from the folder's manifest, or from ``scenario=`` (a manifest-style dict or a
:class:`sim.scenario.Scenario`); without either, what can be inferred from the tables is used.

>>> from sim.plots import open_results, plot_outcomes          # doctest: +SKIP
>>> fig = plot_outcomes(open_results("results/libya"))          # doctest: +SKIP
>>> fig.savefig("outcomes.png")                                 # doctest: +SKIP

Runs are keyed by ``run`` (and ``point`` in a sweep folder). A sweep folder's run charts are
drawn for one point (``Tables.at_point(n)``, ``ChartOptions(point=n)``); its sweep charts read
one outcome spec of :mod:`sim.outcomes` (``outcome=``), and a sampled design (see
:func:`is_sampled`) is drawn as points on the true scales of its paths.

The package, each module importing only those above it:

- :mod:`sim.plots.style`: colours, figure and axis helpers, dated-event marks, ``save_figure``;
- :mod:`sim.plots.data`: reading a results folder for the charts (``open_results``,
  ``Tables``, ``as_tables``) and what they need of its scenario (``ScenarioInfo``);
- :mod:`sim.plots.runs`: the charts of runs (outcomes, survival, fans, support, diplomacy,
  map, ceasefire life);
- :mod:`sim.plots.sweeps`: the charts of a sweep (outcomes against a path, heatmap,
  influence);
- :mod:`sim.plots.registry`: the charts the command line draws (``CHARTS``,
  ``render_charts``).

The statistics they draw (Kaplan–Meier, intervals) are in :mod:`sim.stats` and
:mod:`sim.results`.
"""

from __future__ import annotations

from sim.plots.data import (
    TABLES,
    ScenarioInfo,
    Tables,
    as_tables,
    event_marks,
    nullable_float,
    open_results,
    outcome_colour,
    outcome_label,
    run_key,
)
from sim.plots.registry import (
    CHARTS,
    Chart,
    ChartOptions,
    Rendered,
    applies,
    chart_names,
    render_charts,
)
from sim.plots.runs import (
    CAUSE_LABELS,
    QUANTILES,
    CeasefireLife,
    DiplomacyData,
    SurvivalData,
    ceasefire_life_dataset,
    diplomacy_dataset,
    ended_early,
    fan_dataset,
    final_controllers,
    outcomes_dataset,
    plot_ceasefire_life,
    plot_diplomacy,
    plot_fan,
    plot_fans,
    plot_outcomes,
    plot_site_map,
    plot_support,
    plot_survival,
    site_control_dataset,
    site_layout,
    support_blocs,
    support_dataset,
    survival_dataset,
)
from sim.plots.style import (
    BLOC_COLOURS,
    EVENT_INK,
    INK,
    MEDIATOR_COLOURS,
    OUTCOME_COLOURS,
    OUTCOME_NAMES,
    SHADES,
    Calendar,
    EventMark,
    axes_list,
    caption,
    date_axis,
    event_key,
    figure_of,
    mark_events,
    new_figure,
    pct,
    percent_axis,
    save_figure,
    shade,
    titles,
    whiskers,
)
from sim.plots.sweeps import (
    MAX_COMBO_LINES,
    MAX_SCATTER_POINTS,
    design_kind,
    heatmap_pairs,
    influence_dataset,
    is_sampled,
    path_label,
    plot_influence,
    plot_sweep_heatmap,
    plot_sweep_outcomes,
    sweep_heatmap_dataset,
    sweep_outcome,
    sweep_outcomes_dataset,
    sweep_paths,
    sweep_scatter_dataset,
)
from sim.results import ResultsError  # raised by the charts, caught by the commands
from sim.stats import Z95, kaplan_meier, km_median, km_table

__all__ = [
    "BLOC_COLOURS",
    "CAUSE_LABELS",
    "CHARTS",
    "EVENT_INK",
    "INK",
    "MAX_COMBO_LINES",
    "MAX_SCATTER_POINTS",
    "MEDIATOR_COLOURS",
    "OUTCOME_COLOURS",
    "OUTCOME_NAMES",
    "QUANTILES",
    "SHADES",
    "TABLES",
    "Z95",
    "Calendar",
    "CeasefireLife",
    "Chart",
    "ChartOptions",
    "DiplomacyData",
    "EventMark",
    "Rendered",
    "ResultsError",
    "ScenarioInfo",
    "SurvivalData",
    "Tables",
    "applies",
    "as_tables",
    "axes_list",
    "caption",
    "ceasefire_life_dataset",
    "chart_names",
    "date_axis",
    "design_kind",
    "diplomacy_dataset",
    "ended_early",
    "event_key",
    "event_marks",
    "fan_dataset",
    "figure_of",
    "final_controllers",
    "heatmap_pairs",
    "influence_dataset",
    "is_sampled",
    "kaplan_meier",
    "km_median",
    "km_table",
    "mark_events",
    "new_figure",
    "nullable_float",
    "open_results",
    "outcome_colour",
    "outcome_label",
    "outcomes_dataset",
    "path_label",
    "pct",
    "percent_axis",
    "plot_ceasefire_life",
    "plot_diplomacy",
    "plot_fan",
    "plot_fans",
    "plot_influence",
    "plot_outcomes",
    "plot_site_map",
    "plot_support",
    "plot_survival",
    "plot_sweep_heatmap",
    "plot_sweep_outcomes",
    "render_charts",
    "run_key",
    "save_figure",
    "shade",
    "site_control_dataset",
    "site_layout",
    "support_blocs",
    "support_dataset",
    "survival_dataset",
    "sweep_heatmap_dataset",
    "sweep_outcome",
    "sweep_outcomes_dataset",
    "sweep_paths",
    "sweep_scatter_dataset",
    "titles",
    "whiskers",
]
