"""Calibration to the record: ABC-SMC over a scenario's uncertain facts against its observations.

``negsim calibrate SCENARIO --vary PATH=LOW..HIGH ...`` treats each varied fact as uniform over
its range (the prior) and runs ABC-SMC (:mod:`sim.abcsmc`). One evaluation of a parameter
vector is the scenario with those fields set, run ``runs_per_sample`` times, scored against the
scenario's ``[[observed]]`` facts as ``negsim score`` scores them (:mod:`sim.score`); its
distance to the record is ``1 - score``: the mean over observations of the shortfall
``1 - min(share / required, 1)``, 0 when the runs reproduce every fact at its required share.
Evaluation i runs with the master seed ``run_seed(seed, i)`` (``SeedSequence(seed,
spawn_key=(i,))``), so its runs, and the whole calibration, are the same on any executor.

A calibration folder keeps ``calibration.json`` (what was asked, and at the end the summary),
``batches/`` (every evaluated batch of candidates) and ``populations/`` (every finished
population: particles, weights, distances, epsilon), each written atomically as it completes.
The same command with the same ``--out`` resumes; a different one is refused, naming what
differs. At the end: ``posterior.csv`` (per parameter: prior range, weighted median, 50% and 90%
credible intervals and the narrowing: the posterior's 90% width over the prior's), ``particles.csv``
(the last population), ``populations.csv`` (epsilon and acceptance by population),
``charts/pairs.png`` and ``<scenario>_posterior.toml``: the scenario file with the posterior
medians written in.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.abcsmc import Batch, Box, Population, weighted_quantile
from sim.folder import atomic_json, atomic_write
from sim.scenario import EVENT_PATH, Scenario, ScenarioError, load_scenario, scenario_from_dict

__all__ = ["CalibrationError", "CalibrationFolder", "Distance", "Parameter", "parse_parameters",
           "posterior_scenario_text", "posterior_table", "write_posterior_scenario"]

#: The fields of calibration.json that must match for a folder to be resumed (the scenario by
#: its content, so the same file named by another path resumes).
KEY_FIELDS = ("scenario_digest", "sets", "parameters", "particles",
              "runs_per_sample", "seed", "quantile")


class CalibrationError(ValueError):
    """Bad input to a calibration, or a folder that cannot be resumed; the message says why."""


# ============================================================================ parameters
@dataclass(frozen=True)
class Parameter:
    """A calibrated fact: a number field of the scenario, uniform over ``low..high``."""

    path: str
    low: float
    high: float

    @property
    def spec(self) -> str:
        return f"{self.path}={self.low:g}..{self.high:g}"


def parse_parameters(scenario: Scenario, specs: Sequence[str]) -> list[Parameter]:
    """``--vary PATH=LOW..HIGH`` specs checked against the scenario: an existing number field
    (not an integer and not a dated event's entry), ``LOW < HIGH``, both ends valid values of the
    field, each path once. CalibrationError names the spec and what was expected."""
    from sim.sweep import SweepError, field_kind, parse_vary, split_vary

    if not specs:
        raise CalibrationError("--vary: give at least one uncertain fact to calibrate, e.g. "
                               "--vary factions.lna.strength=150..300")
    out: list[Parameter] = []
    data = scenario.to_dict()
    for text in specs:
        try:
            path, spec = split_vary(text)
            if EVENT_PATH.fullmatch(path):
                raise CalibrationError(
                    f"--vary {text}: calibration sets scenario fields; a dated event's entry "
                    "cannot be written into the posterior scenario")
            kind = field_kind(scenario, path)
            if kind != "float":
                raise CalibrationError(
                    f"--vary {text}: {path} is not a number field with continuous values "
                    f"({kind}); calibration draws real numbers")
            v = parse_vary(path, spec, kind)
        except SweepError as exc:
            raise CalibrationError(str(exc).replace("lo:hi:n, v1,v2 or lo..hi", "LOW..HIGH")
                                   ) from None
        if v.kind != "range":
            raise CalibrationError(f"--vary {text}: expected a range LOW..HIGH (the prior is "
                                   f"uniform over it), e.g. --vary {path}=0.5..2")
        if any(p.path == path for p in out):
            raise CalibrationError(f"--vary {path}: given twice")
        assert v.low is not None and v.high is not None
        for end in (v.low, v.high):
            try:
                scenario_from_dict(data, [(path, end)], source=scenario.model.name)
            except ScenarioError as exc:
                msg = "; ".join(m for _, _, m in exc.problems)
                raise CalibrationError(f"--vary {text}: {end:g} is not a valid value of "
                                       f"{path} (expected {msg})") from None
        out.append(Parameter(path, float(v.low), float(v.high)))
    return out


def box_of(params: Sequence[Parameter]) -> Box:
    return Box(tuple(p.low for p in params), tuple(p.high for p in params))


# ============================================================================ the distance
@dataclass
class Distance:
    """``evaluate(theta, first)`` for :func:`sim.abcsmc.abc_smc`: each row of `theta` as a
    scenario (`base` with the parameters set), ``runs`` replicates seeded from ``run_seed(seed,
    first + i)``, scored against `base`'s observations; the distance is ``1 - score``. The
    runs go to `executor` (None: this process), at most `window` chunks at a time; `progress`
    gets the runs each finished evaluation adds."""

    base: Scenario
    params: Sequence[Parameter]
    runs: int
    seed: int
    executor: Any = None
    window: int = 4
    progress: Callable[[int], None] | None = None
    failed: list[int] = field(default_factory=list)

    def scenario(self, theta: Sequence[float]) -> Scenario:
        return scenario_from_dict(self.base.to_dict(),
                                  [(p.path, float(x)) for p, x in zip(self.params, theta,
                                                                      strict=True)],
                                  source=self.base.model.name)

    def __call__(self, theta: np.ndarray, first: int) -> np.ndarray:
        from sim.experiment import run_seed, run_seeds
        from sim.runner import Chunk, execute, tables_in_memory
        from sim.score import score

        chunks = [Chunk(self.scenario(row), i, 0, tuple(range(self.runs)),
                        tuple(run_seeds(run_seed(self.seed, first + i), self.runs)))
                  for i, row in enumerate(theta)]
        kept: dict[str, dict] = {}

        def sink(c, tables) -> None:
            kept[c.name] = tables
            if self.progress:
                self.progress(len(c.runs))

        execute(chunks, sink, self.executor, window=self.window)
        res = tables_in_memory(chunks, kept, point_column=True)
        # an evaluation with a failed run has no distance (inf): it is never accepted, and it is
        # not scored on the runs that happened to finish
        dist = np.full(len(theta), np.inf)
        if len(res.runs):
            table = score({"runs": res.runs, "steps": res.steps, "events": res.events},
                          self.base)
            for r in table.overall.itertuples(index=False):
                dist[int(r.point)] = 1.0 - float(r.score)
        if len(res.failures):
            bad = [int(p) for p in res.failures["point"].unique()]
            self.failed.extend(first + p for p in bad)
            dist[bad] = np.inf
        return dist


# ============================================================================ the folder
class CalibrationFolder:
    """A calibration's folder: ``calibration.json``, ``batches/``, ``populations/`` (a
    :class:`sim.abcsmc.Store`) and the results."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path, self.meta = Path(path), meta

    @classmethod
    def open(cls, path: Path, meta: dict[str, Any]) -> tuple[CalibrationFolder, bool]:
        """Create the folder, or resume it if it holds this calibration (True); CalibrationError
        if it holds something else, naming what differs."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise CalibrationError(f"--out {path}: expected a folder, but it is a file")
        mpath = path / "calibration.json"
        if mpath.exists():
            try:
                old = json.loads(mpath.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise CalibrationError(f"--out {path}: cannot read {mpath} ({exc})") from None
            diffs = [f"{k}: the folder has {json.dumps(old.get(k), default=str)}, this command "
                     f"{json.dumps(meta.get(k), default=str)}"
                     for k in KEY_FIELDS if old.get(k) != meta.get(k)]
            if diffs:
                raise CalibrationError(
                    f"--out {path} holds a different calibration; refusing to resume it:\n  "
                    + "\n  ".join(diffs) + "\nRun the same command, or give a new --out.")
            merged = {**old, "budget": meta.get("budget"), "populations": meta.get(
                "populations"), "resumed": [*old.get("resumed", []), meta.get("created")]}
            atomic_json(merged, mpath)
            return cls(path, merged), True
        if path.is_dir() and any(path.iterdir()):
            raise CalibrationError(f"--out {path}: the folder is not empty and holds no "
                                   "calibration; give a new or empty folder")
        try:
            (path / "batches").mkdir(parents=True, exist_ok=True)
            (path / "populations").mkdir(exist_ok=True)
        except OSError as exc:
            raise CalibrationError(f"--out {path}: cannot make the folder ({exc.strerror})"
                                   ) from None
        atomic_json(meta, mpath)
        return cls(path, meta), False

    # ---- the Store protocol
    def _batch_path(self, t: int, b: int) -> Path:
        return self.path / "batches" / f"{t:03d}-{b:04d}.json"

    def batch(self, t: int, b: int) -> Batch | None:
        p = self._batch_path(t, b)
        return Batch.from_dict(json.loads(p.read_text())) if p.exists() else None

    def save_batch(self, batch: Batch) -> None:
        atomic_json(batch.to_dict(), self._batch_path(batch.t, batch.b))

    def populations(self) -> list[Population]:
        pops = []
        for t in range(10_000):
            p = self.path / "populations" / f"{t:03d}.json"
            if not p.exists():
                break
            pops.append(Population.from_dict(json.loads(p.read_text())))
        return pops

    def save_population(self, pop: Population) -> None:
        atomic_json(pop.to_dict(), self.path / "populations" / f"{pop.t:03d}.json")

    def finish(self, **summary: Any) -> None:
        self.meta = {**self.meta, **summary}
        atomic_json(self.meta, self.path / "calibration.json")


def metadata(scn: Scenario, source: str, sets: Sequence[str], params: Sequence[Parameter],
             settings: Any, runs_per_sample: int) -> dict[str, Any]:
    """calibration.json at the start: what must match to resume (:data:`KEY_FIELDS`) and the
    rest of what was asked."""
    import datetime as dt
    import sys

    from sim.experiment import code_version

    return {"kind": "calibration", "scenario_file": source, "scenario_name": scn.model.name,
            "scenario_digest": scn.digest(), "sets": list(sets),
            "parameters": [asdict(p) for p in params], "particles": settings.particles,
            "runs_per_sample": runs_per_sample, "seed": settings.seed,
            "quantile": settings.quantile, "budget": settings.budget,
            "populations": settings.populations, "code_version": code_version(),
            "command": " ".join(["negsim", *sys.argv[1:]]),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


# ============================================================================ results
def posterior_table(pop: Population, params: Sequence[Parameter]) -> pd.DataFrame:
    """Per parameter: the prior range, the weighted median, the 50% and 90% credible
    intervals (weighted quantiles) and ``narrowing``: the posterior's 90% width over the
    prior's (a uniform prior's 90% interval is 0.9 of its range), 1 when the record says
    nothing about the fact, near 0 when it pins it down."""
    rows = []
    for i, p in enumerate(params):
        q = weighted_quantile(pop.theta[:, i], pop.weights, [0.05, 0.25, 0.5, 0.75, 0.95])
        rows.append({"parameter": p.path, "prior_low": p.low, "prior_high": p.high,
                     "median": q[2], "q25": q[1], "q75": q[3], "q05": q[0], "q95": q[4],
                     "narrowing": (q[4] - q[0]) / (0.9 * (p.high - p.low))})
    return pd.DataFrame(rows)


def particles_table(pop: Population, params: Sequence[Parameter]) -> pd.DataFrame:
    df = pd.DataFrame(pop.theta, columns=[p.path for p in params])
    df.insert(0, "distance", pop.distances)
    df.insert(0, "weight", pop.weights)
    return df


def populations_table(pops: Sequence[Population], runs_per_sample: int) -> pd.DataFrame:
    return pd.DataFrame([{"population": p.t, "epsilon": p.epsilon,
                          "evaluations": p.evaluations, "runs": p.evaluations * runs_per_sample,
                          "acceptance": p.acceptance, "ess": p.ess,
                          "median_distance": float(weighted_quantile(p.distances, p.weights,
                                                                     0.5))} for p in pops])


_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def posterior_scenario_text(text: str, values: Mapping[str, Any],
                            notes: Mapping[str, str]) -> str:
    """The scenario file's text with each ``path = value`` written in: the value on the field's
    line replaced (its comment kept, `notes[path]` put before it), or a line added under the
    field's table. CalibrationError if the table is not in the file."""
    lines = text.splitlines()
    for path, value in values.items():
        table, key = path.rsplit(".", 1)
        start = next((i for i, ln in enumerate(lines) if (m := _HEADER.match(ln))
                      and m[1].strip() == table), None)
        if start is None:
            raise CalibrationError(f"{path}: the scenario file has no [{table}] table to write "
                                   "the posterior median into")
        end = next((i for i in range(start + 1, len(lines))
                    if re.match(r"^\s*\[", lines[i])), len(lines))
        pat = re.compile(rf"^(\s*{re.escape(key)}\s*=\s*)([^#]*?)(\s*#\s*(.*))?$")
        note = notes.get(path, "")
        for i in range(start + 1, end):
            if m := pat.match(lines[i]):
                rest = f"  # {note}" + (f"; was {m[2].strip()}: {m[4]}" if m[4] else
                                         f"; was {m[2].strip()}")
                lines[i] = f"{m[1]}{_toml_number(value)}{rest}"
                break
        else:
            lines.insert(start + 1, f"{key} = {_toml_number(value)}  # {note}")
    return "\n".join(lines) + "\n"


def _toml_number(x: Any) -> str:
    """A TOML value: a float to 4 significant digits (always with a point or exponent)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, str):
        return json.dumps(x)
    s = f"{x:.4g}"
    return s if any(c in s for c in ".en") else s + ".0"


def write_posterior_scenario(source: Path, target: Path, table: pd.DataFrame,
                             sets: Sequence[str], header: str) -> Scenario:
    """Write `source` with the posterior medians (and the calibration's fixed `sets`, which
    the posterior is conditional on) to `target`, checked to load as a scenario; return it."""
    from sim.scenario import parse_override

    values: dict[str, Any] = {r.parameter: float(r.median)
                              for r in table.itertuples(index=False)}
    notes = {r.parameter: (f"posterior median (negsim calibrate; prior {r.prior_low:g}.."
                           f"{r.prior_high:g}, 90% interval {r.q05:.4g}-{r.q95:.4g})")
             for r in table.itertuples(index=False)}
    fixed = dict(parse_override(s) for s in sets)
    for path, v in fixed.items():
        if not EVENT_PATH.fullmatch(path) and isinstance(v, (bool, int, float, str)):
            values.setdefault(path, v)
            notes.setdefault(path, "fixed by --set during the calibration")
    text = posterior_scenario_text(source.read_text(encoding="utf-8"), values, notes)
    text = header + text
    loaded: list[Scenario] = []

    def write(tmp: Path) -> None:  # the file is checked before it takes the target's place
        tmp.write_text(text, encoding="utf-8")
        loaded.append(load_scenario(tmp))

    atomic_write(target, write)
    return loaded[0]


def json_ready(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in r.items()} for r in df.to_dict("records")]
