"""negsim: an agent-based simulator of ceasefire bargaining in wars with foreign backers.

Pipeline: scenario (``sim.scenario``) -> model and agents (``sim.model``, ``sim.agents``,
``sim.negotiation``) -> runs (``sim.runner``) -> results and summaries (``sim.results``) ->
command line (``sim.cli``).
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # (not imported from typing: `negsim` starts here, as light as it can)
if TYPE_CHECKING:
    from sim.model import NegotiationModel
    from sim.runner import Results, run_replicates, run_seeds
    from sim.scenario import Scenario, ScenarioError, load_scenario

#: Where each public name lives. They are imported on first use (PEP 562), so that importing
#: `sim.scenario` or the command line does not import Mesa, pandas and SciPy (1.5 s).
_HOME = {
    "NegotiationModel": "sim.model",
    "Results": "sim.runner",
    "run_replicates": "sim.runner",
    "run_seeds": "sim.runner",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "load_scenario": "sim.scenario",
}

__all__ = [
    "NegotiationModel",
    "Results",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "run_replicates",
    "run_seeds",
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
