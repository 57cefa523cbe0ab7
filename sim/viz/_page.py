"""The module Solara's server serves for `negsim viz` (``solara run sim.viz._page``).

It builds the page from the settings :func:`sim.viz.server.serve` puts in the environment
(``NEGSIM_VIZ``, JSON: the scenario file, its ``--set`` overrides, the seed, the ensemble's
runs and workers), once per server."""

from __future__ import annotations

import json
import os

from sim.scenario import load_scenario
from sim.viz.app import VizOptions, make_page

_cfg = json.loads(os.environ.get("NEGSIM_VIZ") or "{}")
if not _cfg:
    raise RuntimeError("sim.viz._page is served by `negsim viz SCENARIO`, which sets NEGSIM_VIZ")

Page = make_page(VizOptions(
    load_scenario(_cfg["scenario"], _cfg.get("sets", [])), source=_cfg["scenario"],
    seed=int(_cfg.get("seed", 0)), ensemble_runs=int(_cfg.get("ensemble_runs", 200)),
    jobs=int(_cfg.get("jobs", 1))))
