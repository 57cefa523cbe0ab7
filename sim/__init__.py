"""negsim: an agent-based simulator of ceasefire bargaining in wars with foreign backers.

Pipeline: scenario (``sim.scenario``) -> model and agents (``sim.model``, ``sim.agents``,
``sim.negotiation``) -> runs (``sim.runner``) -> results and summaries (``sim.results``) ->
command line (``sim.cli``).
"""

from sim.model import NegotiationModel
from sim.runner import Results, run_replicates, run_seeds
from sim.scenario import Scenario, ScenarioError, load_scenario

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
