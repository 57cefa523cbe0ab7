"""The model `negsim viz` steps, the parameters its page turns, and what its panels read.

Mesa's SolaraViz re-creates the model on Reset as ``type(model)(**parameters)``, with one
keyword per slider. :func:`viz_model_class` therefore makes, for one scenario, a subclass of
:class:`~sim.model.NegotiationModel` whose ``__init__`` takes exactly the knobs (each
backer's capacity, each mediator's leverage, each faction's optimism and cost of war, the
seed) as keyword arguments and builds the scenario from them. It takes no ``scenario``
argument, so SolaraViz never hands it Mesa's own scenario object (``mesa.Model.scenario`` is
Mesa's; negsim's scenario is ``model.spec``). Nothing here imports Solara.
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import networkx as nx

from sim.experiment import run_seed
from sim.model import NegotiationModel, _Collector
from sim.scenario import Scenario, scenario_from_dict

#: The run's status as a number for the status chart.
STATUS_LEVEL = {"war": 0, "truce": 1, "ceasefire": 2}


@dataclass(frozen=True)
class Knob:
    """One input of the page: a keyword of the model's ``__init__``, the scenario field it
    sets (None for the seed), its label, default and range."""

    name: str
    path: str | None
    label: str
    value: float
    min: float
    max: float
    step: float
    integer: bool = False

    def user_param(self) -> dict:
        """The input as Mesa's ``model_params`` entry (see ``mesa.visualization.UserInputs``)."""
        return {"type": "SliderInt" if self.integer else "SliderFloat", "label": self.label,
                "value": self.value, "min": self.min, "max": self.max, "step": self.step}


def _upper(value: float, floor: float) -> float:
    """A slider's top: at least twice the default and `floor`, rounded up to two figures."""
    top = max(2 * value, floor)
    mag = 10 ** (math.floor(math.log10(top)) - 1)
    return math.ceil(top / mag) * mag


def _slider(name: str, path: str, label: str, value: float, floor: float,
            low: float = 0.0, high: float | None = None) -> Knob:
    top = high if high is not None else _upper(value, floor)
    return Knob(name, path, label, float(value), low, top, (top - low) / 100)


def knobs_for(scenario: Scenario, seed: int = 0) -> list[Knob]:
    """The parameters an analyst turns most, defaulting to the scenario's values."""
    out = [Knob("seed", None, "seed", seed, 0, max(999, seed), 1, integer=True)]
    for k, b in scenario.backers.items():
        out.append(_slider(f"capacity__{k}", f"backers.{k}.capacity",
                           f"{b.name}: capacity (units/week)", b.capacity, 1.0))
    for k, m in scenario.mediators.items():
        out.append(_slider(f"leverage__{k}", f"mediators.{k}.leverage",
                           f"{m.name}: leverage (share of value)", m.leverage, 0.1))
    for k, f in scenario.factions.items():
        out.append(_slider(f"optimism__{k}", f"factions.{k}.optimism",
                           f"{f.name}: optimism", f.optimism, 0, low=-0.5, high=0.5))
        out.append(_slider(f"war_cost__{k}", f"factions.{k}.war_cost",
                           f"{f.name}: cost of a week of war", f.war_cost, 0.05,
                           high=min(1.0, _upper(f.war_cost, 0.05))))
    return out


class _LockedCollector(_Collector):
    """The model's collector, read under the model's lock: SolaraViz's Play steps the model in
    one thread while Mesa's charts read ``get_model_vars_dataframe`` in another, and a read
    in the middle of a collect finds columns of different lengths."""

    _lock: threading.RLock

    def get_model_vars_dataframe(self):
        with self._lock:
            return super().get_model_vars_dataframe()


class VizModel(NegotiationModel):
    """A run the page steps: the scenario with the knobs applied, seeded as run 0 of its seed.

    Subclasses made by :func:`viz_model_class` hold the base scenario and the knobs. Besides
    the model's own records it keeps which sites changed hands in the last step (`changed`)
    and when each site last did (`changed_at`). A step holds `lock`; the panels read the
    model under it (Play steps in another thread than the one drawing)."""

    base: Scenario
    knobs: tuple[Knob, ...] = ()
    source: str = "<scenario>"

    def __init__(self, **values) -> None:
        unknown = set(values) - {k.name for k in self.knobs}
        if unknown:
            raise TypeError(f"unknown parameters: {', '.join(sorted(unknown))}")
        self.settings = {k.name: values.get(k.name, k.value) for k in self.knobs}
        self.seed = int(self.settings.get("seed", 0))
        spec = self.scenario_with(self.settings)
        self.lock = threading.RLock()
        super().__init__(spec, rng=run_seed(self.seed, 0))
        self.datacollector.__class__ = _LockedCollector
        self.datacollector._lock = self.lock
        self.changed: dict[str, tuple[str, str]] = {}
        self.changed_at: dict[str, int] = {}

    @classmethod
    def overrides(cls, settings: Mapping[str, float]) -> list[tuple[str, float]]:
        """The scenario fields the settings change from the base scenario."""
        return [(k.path, float(settings[k.name])) for k in cls.knobs
                if k.path is not None and float(settings[k.name]) != k.value]

    @classmethod
    def scenario_with(cls, settings: Mapping[str, float]) -> Scenario:
        pairs = cls.overrides(settings)
        if not pairs:
            return cls.base
        return scenario_from_dict(cls.base.to_dict(), pairs, source=cls.source)

    def settings_key(self) -> tuple:
        """What an ensemble of these settings depends on (a new key: a new ensemble)."""
        return (self.seed, tuple(self.overrides(self.settings)), self.weeks)

    def step(self) -> None:
        with self.lock:
            self._step()

    def _step(self) -> None:
        before = list(self.ctrl)
        super().step()
        self.changed = {self.site_keys[i]: (a, b)
                        for i, (a, b) in enumerate(zip(before, self.ctrl, strict=True))
                        if a != b}
        for s in self.changed:
            self.changed_at[s] = self.step_no


def viz_model_class(scenario: Scenario, seed: int = 0, source: str = "<scenario>",
                    ) -> type[VizModel]:
    """A :class:`VizModel` subclass for `scenario` whose ``__init__`` signature names every
    knob with its default (SolaraViz checks the page's parameters against it)."""
    knobs = tuple(knobs_for(scenario, seed))
    cls = type(f"{scenario.model.name.title().replace(' ', '')}Model".replace("-", ""),
               (VizModel,), {"base": scenario, "knobs": knobs, "source": source,
                             "__module__": __name__})

    def __init__(self, **values):
        VizModel.__init__(self, **values)

    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(k.name, inspect.Parameter.KEYWORD_ONLY,
                             default=int(k.value) if k.integer else k.value, annotation=float)
           for k in knobs])
    cls.__init__ = __init__
    return cls


# ---------------------------------------------------------------------- what panels read
def site_positions(model: NegotiationModel) -> dict[str, tuple[float, float]]:
    """Where each site is drawn: its longitude and latitude (where the Network places its
    cell) when every site has them, else a layout of the graph (the same at every step)."""
    sites = model.spec.sites
    if all(s.lon is not None and s.lat is not None for s in sites.values()):
        return {k: (float(s.lon), float(s.lat)) for k, s in sites.items()}
    got = getattr(model, "_viz_layout", None)
    if got is None:
        pos = nx.kamada_kawai_layout(model.space.G) if len(sites) > 1 else {
            k: (0.0, 0.0) for k in sites}
        got = model._viz_layout = {k: (float(v[0]), float(v[1])) for k, v in pos.items()}
    return got


def front_edges(model: NegotiationModel) -> list[tuple[str, str]]:
    """The fronts as pairs of site keys."""
    keys = model.site_keys
    return [(keys[a], keys[b]) for a, b in model.fronts()]


def agents_at(model: NegotiationModel) -> dict[str, list[str]]:
    """The names of the agents standing on each site of the Network (factions, backers)."""
    out: dict[str, list[str]] = {}
    for cell in model.space.all_cells:
        names = [getattr(a, "key", str(a.unique_id)) for a in cell.agents]
        if names:
            out[cell.coordinate] = names
    return out


@dataclass(frozen=True)
class Answered:
    actor: str
    answer: str
    surplus: float | None
    reason: str


@dataclass(frozen=True)
class Tabled:
    """A proposal on the table and every answer to it."""

    id: int
    step: int
    proposer: str
    terms: str
    answers: tuple[Answered, ...]


def latest_proposals(model: NegotiationModel, n: int = 5) -> list[Tabled]:
    """The last `n` proposals (newest first) with who answered what and the numbers why."""
    ev = model.datacollector.tables["events"]
    kinds, ids = ev["kind"], ev["proposal_id"]
    answers: dict[int, list[Answered]] = {}
    for i, kind in enumerate(kinds):
        if kind == "response":
            reason = ev["reason"][i] or ""
            word, _, why = reason.partition(": ")
            answers.setdefault(ids[i], []).append(
                Answered(ev["actor"][i], word, ev["value"][i], why))
    out: list[Tabled] = []
    for i in range(len(kinds) - 1, -1, -1):
        if kinds[i] != "proposal":
            continue
        reason = ev["reason"][i] or ""
        out.append(Tabled(ids[i], ev["step"][i], ev["actor"][i], reason,
                          tuple(answers.get(ids[i], ()))))
        if len(out) == n:
            break
    return out


def status_line(model: NegotiationModel) -> str:
    """The current week, its date, the status and, once the run ended, its outcome."""
    step = model.step_no
    text = f"Week {step}: {model.date(step).isoformat()}, {model.status}"
    if model.deal is not None and model.status != "war":
        text += f" ({model.deal.describe()}, since week {model.deal_start})"
    if not model.running:
        text += f"; run ended: {model.outcome()}"
    return text
