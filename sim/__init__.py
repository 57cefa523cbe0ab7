"""negsim: an agent-based simulator of ceasefire bargaining in wars with foreign backers.

Pipeline: scenario (``sim.scenario``) -> model and agents (``sim.model``, ``sim.agents``,
``sim.negotiation``) -> a chunk of runs as tables (``sim.runner``) -> an experiment's points,
seeds and chunks (``sim.experiment``) on an executor (``sim.executors``) -> a results folder
(``sim.folder``) -> summaries, charts, reports and scores (``sim.results``, ``sim.plots``,
``sim.report``, ``sim.compare``, ``sim.score``) -> command line (``sim.cli``).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # (not imported from typing: `negsim` starts here, as light as it can)
if TYPE_CHECKING:
    from sim.experiment import Experiment, run_experiment, run_replicates, run_seeds, run_sweep
    from sim.folder import Results, ResultsFolder
    from sim.model import NegotiationModel
    from sim.scenario import Scenario, ScenarioError, load_scenario

#: Where each public name lives. They are imported on first use (PEP 562), so that importing
#: `sim.scenario` or the command line does not import Mesa, pandas and SciPy (1.5 s).
_HOME = {
    "NegotiationModel": "sim.model",
    "Experiment": "sim.experiment",
    "Results": "sim.folder",
    "ResultsFolder": "sim.folder",
    "run_experiment": "sim.experiment",
    "run_replicates": "sim.experiment",
    "run_seeds": "sim.experiment",
    "run_sweep": "sim.experiment",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario",
}

__all__ = [
    "Experiment",
    "NegotiationModel",
    "Results",
    "ResultsFolder",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "run_experiment",
    "run_replicates",
    "run_seeds",
    "run_sweep",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
    elif not name.startswith("_"):  # a submodule: `import sim; sim.plots`
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'sim' has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})
