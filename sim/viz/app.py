"""The page of `negsim viz`: Mesa's SolaraViz with negsim's panels (needs the viz extra).

Mesa gives the Step / Play / Reset controls, the parameter inputs (see
:mod:`sim.viz.knobs`) and the time charts (``make_plot_component``, matplotlib backend: the
Altair one asks the browser for Vega files that are not served offline). negsim adds the week
and its date, the sites map (each site coloured by its controller, fronts in red, a ring on
sites that changed hands in the last step), the ceasefire status chart, the diplomacy panel
and the ensemble panel. Every panel reads Mesa's ``update_counter`` so that it redraws after
each step, as Mesa's own components do.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import solara
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from sim.scenario import Scenario
from sim.viz.ensemble import EnsembleCancelled, run_ensemble, shares_markdown
from sim.viz.knobs import (
    STATUS_LEVEL,
    VizModel,
    agents_at,
    front_edges,
    latest_proposals,
    site_positions,
    status_line,
    viz_model_class,
)

#: Sites that changed hands this many weeks back keep a grey ring on the map.
RECENT_WEEKS = 4
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
            "#17becf", "#bcbd22", "#7f7f7f"]


@dataclass(frozen=True)
class VizOptions:
    """What the page is built from: the scenario (with any --set applied), its file, the
    first seed, and the ensemble's size and workers."""

    scenario: Scenario
    source: str = "<scenario>"
    seed: int = 0
    ensemble_runs: int = 200
    jobs: int = 1


def faction_colours(scenario: Scenario) -> dict[str, str]:
    return {k: _PALETTE[i % len(_PALETTE)] for i, k in enumerate(scenario.factions)}


# ---------------------------------------------------------------------- panels
@solara.component
def StatusPanel(model: VizModel):
    """The current week and its date, the status and each faction's control share."""
    update_counter.get()
    with model.lock:
        text = _status_text(model)
    with solara.Card("Week and status"):
        solara.Markdown(text)


def _status_text(model: VizModel) -> str:
    names = {k: f.name for k, f in model.spec.factions.items()}
    lines = [f"### {status_line(model)}", ""]
    lines += [f"* **{names[k]}** ({k}): controls {model.control_share(k):.0%}, "
              f"strength {model.factions[k].effective:.0f}" for k in model.armed]
    backers = ", ".join(f"{b.name} → {names[b.client]}" for b in model.spec.backers.values())
    if backers:
        lines += ["", f"Backers: {backers}"]
    meds = ", ".join(m.name for m in model.spec.mediators.values())
    if meds:
        lines += ["", f"Mediators: {meds}"]
    changed = ", ".join(f"{path} = {value:g}" for path, value in model.overrides(model.settings))
    lines += ["", f"Seed {model.seed}; changed from the scenario: {changed or 'nothing'} "
              "(the sliders apply on Reset)"]
    return "\n".join(lines)


def draw_sites(model: VizModel, ax) -> None:
    """The sites map on `ax`: nodes coloured by controller, fronts red, a black ring on sites
    that changed hands in the last step, the agents standing on the Network named."""
    pos = site_positions(model)
    colours = faction_colours(model.spec)
    fronts = {frozenset(e) for e in front_edges(model)}
    for a, b in model.space.G.edges:
        front = frozenset((a, b)) in fronts
        ax.plot([pos[a][0], pos[b][0]], [pos[a][1], pos[b][1]],
                color="#d62728" if front else "#bbbbbb", lw=2.5 if front else 1,
                zorder=1)
    now = model.step_no
    for i, k in enumerate(model.site_keys):
        x, y = pos[k]
        size = 80 + 60 * model.site_p[i].value / max(p.value for p in model.site_p)
        recent = now - model.changed_at.get(k, -10**9)
        ring, width = (("black", 3) if k in model.changed
                       else ("#888888", 2) if recent < RECENT_WEEKS else ("white", 1))
        ax.scatter([x], [y], s=size * 2, color=colours[model.ctrl[i]], zorder=2,
                   edgecolors=ring, linewidths=width)
        ax.annotate(model.spec.sites[k].name, (x, y), textcoords="offset points",
                    xytext=(0, -12), ha="center", fontsize=6, zorder=3)
    for site, names in agents_at(model).items():
        factions = [n for n in names if n in model.factions]
        if factions:
            ax.annotate(", ".join(factions), pos[site], textcoords="offset points",
                        xytext=(0, 8), ha="center", fontsize=7, fontweight="bold", zorder=4)
    handles = [Line2D([], [], marker="o", ls="", color=colours[k],
                      label=model.spec.factions[k].name)
               for k in model.factions if k in set(model.ctrl) or k in model.armed]
    handles.append(Line2D([], [], color="#d62728", lw=2.5, label="front"))
    handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec="black", mew=2,
                          label="changed hands this week"))
    handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec="#888888", mew=2,
                          label=f"... in the last {RECENT_WEEKS} weeks"))
    ax.legend(handles=handles, fontsize=6, loc="best", framealpha=0.7)
    ax.margins(0.12)
    ax.set_title(f"Sites on {model.date().isoformat()}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


@solara.component
def SitesMap(model: VizModel):
    update_counter.get()
    fig = Figure(figsize=(6, 4.5))
    with model.lock:
        draw_sites(model, fig.add_subplot())
    with solara.Card("Sites map"):
        solara.FigureMatplotlib(fig, format="png", bbox_inches="tight")


@solara.component
def StatusChart(model: VizModel):
    """War, truce or ceasefire, week by week."""
    update_counter.get()
    with model.lock:
        status = list(model.datacollector.model_vars["status"])
    fig = Figure(figsize=(6, 2.5))
    ax = fig.add_subplot()
    ax.step(range(len(status)), [STATUS_LEVEL[s] for s in status], where="post")
    ax.set_yticks(list(STATUS_LEVEL.values()), list(STATUS_LEVEL))
    ax.set_ylim(-0.3, 2.3)
    ax.set_xlabel("week")
    ax.set_title("Ceasefire status", fontsize=9)
    solara.FigureMatplotlib(fig, format="png", bbox_inches="tight")


@solara.component
def DiplomacyPanel(model: VizModel):
    """The latest proposals, who answered what, and the numbers behind each answer."""
    update_counter.get()
    with model.lock:
        tabled = latest_proposals(model, 4)
        dates = {t.step: model.date(t.step).isoformat() for t in tabled}
    lines = []
    if not tabled:
        lines.append("No proposal yet.")
    for t in tabled:
        lines += ["", f"**#{t.id}, week {t.step} ({dates[t.step]}), "
                  f"{t.proposer}**: {t.terms}", ""]
        for a in t.answers:
            s = "" if a.surplus is None else f" (surplus {a.surplus:+.3f})"
            lines.append(f"* {a.actor}: **{a.answer}**{s}: {a.reason}")
    with solara.Card("Diplomacy"):
        solara.Markdown("\n".join(lines))


def make_ensemble_panel(runs: int, jobs: int):
    @solara.component
    def EnsemblePanel(model: VizModel):
        """Outcome shares over replicates of the current settings, as they finish."""
        key = model.settings_key()
        state, set_state = solara.use_state(None)

        def work(cancel):
            if runs < 1:
                return
            with contextlib.suppress(EnsembleCancelled):
                run_ensemble(model.spec, runs, model.seed, jobs=jobs, cancel=cancel,
                             on_update=lambda s: set_state((key, s)))

        result = solara.use_thread(work, dependencies=[key], intrusive_cancel=False)
        with solara.Card(f"Ensemble: {runs} runs of these settings"):
            if runs < 1:
                solara.Markdown("Off (`--ensemble-runs 0`).")
                return
            summary = state[1] if state is not None and state[0] == key else None
            if summary is None:
                solara.Markdown(f"**0 of {runs} runs** (running)")
            else:
                solara.Markdown(shares_markdown(summary))
            if result.error is not None:
                solara.Error(f"ensemble failed: {result.error}")
            solara.Markdown(f"Seeds of `negsim run --seed {model.seed}`; restarts on Reset.")

    return EnsemblePanel


def _titled(title: str, names: dict[str, str]):
    """Mesa's chart post-processing: a title, and the actors' names in the legend."""
    def post(ax):
        ax.set_title(title, fontsize=9)
        for line in ax.get_lines():
            line.set_label(names.get(line.get_label(), line.get_label()))
        ax.legend(fontsize=6, loc="best")
    return post


def components_for(model_cls: type[VizModel], options: VizOptions) -> list:
    """The panels, in the page's grid order (page 0)."""
    scn = model_cls.base
    armed = [k for k, f in scn.factions.items() if f.armed]
    who = {k: f.name for k, f in scn.factions.items()} | {k: b.name
                                                         for k, b in scn.backers.items()}

    def chart(column: str, keys: list[str], title: str):
        names = {f"{column}_{k}": who[k] for k in keys}
        return make_plot_component(list(names), post_process=_titled(title, names))

    comps = [
        (StatusPanel, 0),
        (SitesMap, 0),
        chart("control", armed, "Control share (of value)"),
        chart("strength", armed, "Effective strength"),
        (StatusChart, 0),
        (DiplomacyPanel, 0),
        (make_ensemble_panel(options.ensemble_runs, options.jobs), 0),
    ]
    if scn.backers:
        comps.insert(4, chart("support", list(scn.backers), "Support per backer (units/week)"))
    return comps


def make_page(options: VizOptions):
    """The app's page component: one model per browser session, on SolaraViz."""
    model_cls = viz_model_class(options.scenario, options.seed, options.source)
    params = {k.name: k.user_param() for k in model_cls.knobs}
    comps = components_for(model_cls, options)
    name = f"negsim: {options.scenario.model.name}"

    @solara.component
    def Page():
        model = solara.use_memo(model_cls, [])
        SolaraViz(model, components=comps, model_params=params, name=name)

    return Page
