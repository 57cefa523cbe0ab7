"""Sweeps: many scenarios from one, over a grid or a sampled design, with common random numbers.

A sweep varies scenario fields (dotted paths, as ``--set`` takes them) over

* ``lo:hi:n``  n evenly spaced values from lo to hi, inclusive (grid);
* ``v1,v2``  a list of values (numbers, strings or booleans);
* ``lo..hi``   a range, for the sampled designs.

``grid`` crosses the values (the first path varies slowest); ``lhs`` and ``sobol-sequence`` (a
scrambled Sobol quasi-random sequence) draw K points from the ranges (``scipy.stats.qmc``);
``saltelli`` and ``morris`` are SALib's designs for sensitivity indices (``negsim analyze``):
Saltelli's scheme for Sobol indices, N base samples giving N(2D+2) points (N(D+2) for one
path, which has no second-order index), and Morris's
trajectories (4 levels), each of D+1 points. Every sampled design is seeded from the sweep's
seed; a list in a sampled design is a categorical factor. Integer fields get integer values.
Every point is a scenario validated like a file, before anything runs, and every point uses
the same replicate seeds (``run_seeds(seed, runs)``): differences between points come from
the parameters alone.

A dated event's change is a path too: ``events.2020-01-19.set.factions.gna.base_income`` (or
``events.6.set...`` by index; ``.scale.`` for a factor) varies what the event of that date sets.
A plain field that an event later *sets* holds only until that event (one it *scales* keeps
scaling the swept value); :func:`event_overwrites` finds such cases and the command says so.

A sweep can be written as a spec file (``experiments/*.toml``), so an experiment is a file in git::

    scenario = "../scenarios/libya_2019.toml"   # relative to this file (or to the repository)
    design = "grid"                             # grid, lhs, sobol-sequence, saltelli or morris
    runs = 200
    seed = 2024
    [vary]
    "backers.turkey.capacity" = "0:2:5"
    "mediators.un.leverage" = [0.0, 0.03, 0.1]
    [set]
    "model.weeks" = 104
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
import types
import typing
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel

from sim.scenario import (
    EVENT_PATH,
    FIELD_PATH,
    Scenario,
    ScenarioError,
    parse_override,
    scenario_from_dict,
)
from sim.scenario import event_entry as scenario_event_entry

if TYPE_CHECKING:  # pandas loads when tables are made: the command line validates a sweep
    # before it imports the runner
    import pandas as pd

__all__ = [
    "DESIGNS",
    "SAMPLED_DESIGNS",
    "design_for",
    "event_entry",
    "event_overwrites",
    "Design",
    "SpecError",
    "SweepError",
    "SweepSpec",
    "Vary",
    "is_spec_file",
    "load_spec",
    "make_points",
    "unit_sample",
    "parse_vary",
    "point_scenarios",
    "points_table",
]

DESIGNS = ("grid", "lhs", "sobol-sequence", "saltelli", "morris")
DesignName = Literal["grid", "lhs", "sobol-sequence", "saltelli", "morris", "sobol"]
#: The designs that draw points from ranges (``--samples``); ``sobol`` is the name
#: ``sobol-sequence`` had before, still read from old folders' manifests.
SAMPLED_DESIGNS = ("lhs", "sobol-sequence", "saltelli", "morris", "sobol")
#: Morris's grid: each factor takes MORRIS_LEVELS evenly spaced levels of its range.
MORRIS_LEVELS = 4
_OLD_SOBOL = ("--design sobol: the name is ambiguous and no longer used; give saltelli for "
              "Sobol sensitivity indices (then negsim analyze), or sobol-sequence for the "
              "scrambled Sobol quasi-random sequence it used to mean")
REPO = Path(__file__).resolve().parents[1]

_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_GRID = re.compile(rf"^\s*({_NUM})\s*:\s*({_NUM})\s*:\s*(\d+)\s*$")
_RANGE = re.compile(rf"^\s*({_NUM})\s*\.\.\s*({_NUM})\s*$")
_PATH = re.compile(rf"{FIELD_PATH}|{EVENT_PATH.pattern}")


class SweepError(Exception):
    """A bad ``--vary``, design or sample count: names the path or spec and what was expected."""


class SpecError(SweepError):
    """A bad sweep spec file: names the file, the field (and line) and what was expected."""

    def __init__(self, source: str, problems: list[tuple[str, int | None, str]]):
        self.source, self.problems = source, problems
        lines = [f"{source}: invalid sweep spec"]
        for path, line, msg in problems:
            where = f"line {line}, " if line else ""
            lines.append(f"  {where}{path or '(file)'}: expected {msg}")
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------------- field types
FieldKind = Literal["int", "float", "bool", "str", "other"]


def _kind_of_annotation(ann: Any) -> FieldKind | None:
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return _kind_of_annotation(args[0])
        return None
    if ann is bool:
        return "bool"
    if ann is int:
        return "int"
    if ann is float:
        return "float"
    if ann is str:
        return "str"
    return None


def _kind_of_value(v: Any) -> FieldKind:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    return "other"


def field_kind(scenario: Scenario, path: str) -> FieldKind:
    """The type of the scenario field at a dotted path; SweepError if there is no such field."""
    if EVENT_PATH.fullmatch(path):
        i, kind, key = event_entry(scenario.to_dict()["events"], path)
        return "float" if kind == "scale" else _kind_of_value(
            getattr(scenario.events[i], kind)[key])
    node: Any = scenario
    parts = path.split(".")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, BaseModel):
            fields = type(node).model_fields
            if part not in fields:
                raise SweepError(f"{path}: no field '{part}' in {'.'.join(parts[:i]) or 'the '
                                 'scenario'} (known: {', '.join(fields)})")
            if last:
                return (_kind_of_annotation(fields[part].annotation)
                        or _kind_of_value(getattr(node, part)))
            node = getattr(node, part)
        elif isinstance(node, Mapping):
            if part not in node:
                known = ", ".join(map(str, node)) or "none"
                raise SweepError(f"{path}: there is no '{where}' (known: {known})")
            node = node[part]
            if last:
                return _kind_of_value(node)
        elif isinstance(node, (list, tuple)) and part.isdigit():
            if int(part) >= len(node):
                raise SweepError(f"{path}: '{'.'.join(parts[:i])}' has {len(node)} entries")
            node = node[int(part)]
            if last:
                return _kind_of_value(node)
        else:
            raise SweepError(f"{path}: '{'.'.join(parts[:i])}' is a value, not a table")
    return "other"


# ---------------------------------------------------------------------- event entries
def event_entry(events: Sequence[Mapping[str, Any]], path: str) -> tuple[int, str, str]:
    """:func:`sim.scenario.event_entry`, its error a SweepError naming the path."""
    try:
        return scenario_event_entry(events, path)
    except ValueError as exc:
        raise SweepError(f"{path}: expected {exc}") from None


def event_overwrites(scenario: Scenario, paths: Sequence[str]) -> dict[str, list[str]]:
    """Varied fields that a dated event later sets: path -> ["2019-11-27 (events.3)", ...].
    Such a value holds only until the event; vary the event's entry to change what it sets."""
    out: dict[str, list[str]] = {}
    for p in paths:
        hits = [f"{e.date} (events.{i})" for i, e in enumerate(scenario.events) if p in e.set]
        if hits:
            out[p] = hits
    return out


# ---------------------------------------------------------------------- --vary
@dataclass(frozen=True)
class Vary:
    """One varied field: its path, the spec as written and what it means."""

    path: str
    spec: str
    kind: Literal["grid", "list", "range"]
    values: tuple[Any, ...] = ()  # grid and list
    low: float | None = None  # range
    high: float | None = None
    field: FieldKind = "float"

    @property
    def integer(self) -> bool:
        return self.field == "int"


def split_vary(text: str) -> tuple[str, str]:
    """``PATH=SPEC`` -> (path, spec)."""
    if "=" not in text:
        raise SweepError(f"--vary {text!r}: expected PATH=SPEC, e.g. "
                         "backers.turkey.capacity=0:2:5 (grid), =0.5,1,2 (list) or =0..2 (range)")
    path, spec = (s.strip() for s in text.split("=", 1))
    if not _PATH.fullmatch(path):
        raise SweepError(f"--vary {text!r}: expected a dotted field path like "
                         "backers.turkey.capacity before '='")
    if not spec:
        raise SweepError(f"--vary {path}: expected a spec after '=' (lo:hi:n, v1,v2 or lo..hi)")
    return path, spec


def _value(raw: str) -> Any:
    return parse_override(f"x.v={raw}")[1]


def parse_vary(path: str, spec: str | Sequence[Any], field: FieldKind = "float") -> Vary:
    """Parse a spec (``lo:hi:n``, ``v1,v2,...``, ``lo..hi``, or a list of values from a spec file)
    for the field at `path` of type `field`."""
    if not isinstance(spec, str):
        values = tuple(spec)
        if not values:
            raise SweepError(f"--vary {path}: expected at least one value in the list")
        return Vary(path, json.dumps(list(values), default=str), "list",
                    tuple(_coerce(path, v, field) for v in values), field=field)
    numeric = field in ("int", "float")
    if m := _GRID.match(spec):
        a, b, n = float(m[1]), float(m[2]), int(m[3])
        if not numeric:
            raise SweepError(f"--vary {path}={spec}: lo:hi:n needs a numeric field; {path} is "
                             f"{_FIELD_NAMES[field]} (give a list: v1,v2)")
        if n < 2:
            raise SweepError(f"--vary {path}={spec}: expected n >= 2 in lo:hi:n (for one value, "
                             "give just the value)")
        vals = np.linspace(a, b, n)
        if field == "int":
            ints = [int(round(v)) for v in vals]
            if len(set(ints)) < len(ints):
                raise SweepError(f"--vary {path}={spec}: {path} is an integer field and {n} "
                                 f"values from {m[1]} to {m[2]} repeat when rounded ({ints}); "
                                 "use fewer values or a list")
            values: tuple[Any, ...] = tuple(ints)
        else:
            values = tuple(_tidy(float(v)) for v in vals)
        return Vary(path, spec, "grid", values, field=field)
    if m := _RANGE.match(spec):
        a, b = float(m[1]), float(m[2])
        if not numeric:
            raise SweepError(f"--vary {path}={spec}: lo..hi needs a numeric field; {path} is "
                             f"{_FIELD_NAMES[field]} (give a list: v1,v2)")
        if not a < b:
            raise SweepError(f"--vary {path}={spec}: expected lo < hi in the range lo..hi")
        if field == "int" and (a != int(a) or b != int(b)):
            raise SweepError(f"--vary {path}={spec}: {path} is an integer field; expected "
                             "integer ends")
        return Vary(path, spec, "range", low=a, high=b, field=field)
    items = [x.strip() for x in spec.split(",")]
    if any(not x for x in items):
        raise SweepError(f"--vary {path}={spec}: expected lo:hi:n, lo..hi or a comma-separated "
                         "list without empty items")
    values = tuple(_coerce(path, _value(x), field) for x in items)
    return Vary(path, spec, "list", values, field=field)


_FIELD_NAMES = {"bool": "a boolean field", "str": "a text field", "other": "not a number",
                "int": "an integer field", "float": "a number field"}


def _coerce(path: str, v: Any, field: FieldKind) -> Any:
    """Integer fields get integers (2.0 -> 2); anything else is checked by the scenario."""
    if field == "int" and isinstance(v, float) and v.is_integer():
        return int(v)
    if field == "float" and isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def _tidy(v: float) -> float:
    """Round away floating-point dust from linspace (0.30000000000000004 -> 0.3)."""
    return float(f"{v:.12g}")


# ---------------------------------------------------------------------- designs
@dataclass(frozen=True)
class Design:
    """A sweep design: what varies, how, and the points it gives."""

    design: DesignName
    varies: tuple[Vary, ...]
    samples: int | None
    seed: int
    points: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def paths(self) -> list[str]:
        return [v.path for v in self.varies]

    def describe(self) -> dict[str, Any]:
        """The manifest's ``design`` block (also what a resume must match)."""
        blob = json.dumps([[p[k] for k in self.paths] for p in self.points], default=str)
        return {"design": self.design, "paths": self.paths,
                "specs": {v.path: v.spec for v in self.varies}, "samples": self.samples,
                "points": len(self.points),
                "points_digest": hashlib.sha256(blob.encode()).hexdigest()[:16]}


def design_for(base: Scenario, vary: Mapping[str, str | Sequence[Any]], design: str,
               samples: int | None, seed: int) -> Design:
    """The design over `vary` (path -> spec as ``--vary`` takes it, or a list of values),
    each spec parsed for the type of its field in `base`."""
    return make_design(design, [parse_vary(p, s, field_kind(base, p)) for p, s in vary.items()],
                       samples, seed)


def make_design(design: str, varies: Sequence[Vary], samples: int | None, seed: int) -> Design:
    """Check the design against its varied fields and compute its points."""
    if design == "sobol":
        raise SweepError(_OLD_SOBOL)
    if design not in DESIGNS:
        raise SweepError(f"--design {design!r}: expected one of {', '.join(DESIGNS)}")
    if not varies:
        raise SweepError("a sweep needs at least one --vary PATH=SPEC, e.g. "
                         "--vary backers.turkey.capacity=0:2:5")
    seen: set[str] = set()
    for v in varies:
        if v.path in seen:
            raise SweepError(f"--vary {v.path}: given twice")
        seen.add(v.path)
    if design == "grid":
        for v in varies:
            if v.kind == "range":
                raise SweepError(f"--vary {v.path}={v.spec}: a grid needs values (lo:hi:n or "
                                 "v1,v2,...); ranges lo..hi are for --design lhs, "
                                 "sobol-sequence, saltelli or morris")
        if samples is not None:
            raise SweepError("--samples: a grid's points are its values crossed; --samples is "
                             "for --design lhs, sobol-sequence, saltelli or morris")
    else:
        for v in varies:
            if v.kind == "grid":
                raise SweepError(f"--vary {v.path}={v.spec}: --design {design} draws from "
                                 "ranges (lo..hi) or lists (v1,v2); lo:hi:n is for --design grid")
        if samples is None:
            what = {"saltelli": "the number of base samples N (N(2D+2) points), e.g. "
                                "--samples 64",
                    "morris": "the number of trajectories (D+1 points each), e.g. --samples 20"
                    }.get(design, "the number of points to draw, e.g. --samples 64")
            raise SweepError(f"--samples: --design {design} needs {what}")
        if samples < 1:
            raise SweepError(f"--samples {samples}: expected at least 1")
        if design == "saltelli" and (samples < 2 or samples & (samples - 1)):
            raise SweepError(f"--samples {samples}: --design saltelli needs a power of two "
                             "(the Sobol sequence it is built on is balanced only then), e.g. "
                             f"--samples {max(2, 1 << max(1, round(math.log2(max(samples, 1)))))}")
        if design == "morris" and samples < 2:
            raise SweepError(f"--samples {samples}: --design morris needs at least 2 "
                             "trajectories (10 to 50 is usual)")
    points = make_points(design, varies, samples, seed)
    return Design(design, tuple(varies), samples, seed, tuple(points))  # type: ignore[arg-type]


def design_rng(seed: int) -> np.random.Generator:
    """The generator of a sampled design: from the sweep's seed, apart from the runs' seeds."""
    return np.random.default_rng(np.random.SeedSequence([0x5EED_DE51, seed]))


def second_order(design: str, d: int) -> bool:
    """Whether a Saltelli design of `d` factors has the points for second-order indices (it
    does for two factors or more)."""
    return design == "saltelli" and d >= 2


def salib_problem(names: Sequence[str]) -> dict[str, Any]:
    """The SALib problem of a sampled design: every factor on the unit interval (its points
    map the unit values onto the ranges, integers and lists)."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def unit_sample(design: str, d: int, samples: int, seed: int) -> np.ndarray:
    """The points of a sampled design on the unit cube, one row per point in the design's
    order (SALib's order for saltelli and morris, which its analysis expects)."""
    rng = design_rng(seed)
    if design in ("saltelli", "morris"):
        try:
            from SALib.sample import morris as salib_morris
            from SALib.sample import sobol as salib_sobol
        except ImportError:
            raise SweepError(f"--design {design} needs SALib: pip install 'negsim[sensitivity]'"
                             ) from None
        problem = salib_problem([f"x{i}" for i in range(d)])
        if design == "saltelli":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return salib_sobol.sample(problem, samples, seed=rng,
                                          calc_second_order=second_order(design, d))
        return salib_morris.sample(problem, samples, num_levels=MORRIS_LEVELS, seed=rng)
    from scipy.stats import qmc

    if design == "lhs":
        return qmc.LatinHypercube(d=d, rng=rng).random(samples)
    if design in ("sobol-sequence", "sobol"):
        sampler = qmc.Sobol(d=d, scramble=True, rng=rng)
        m = int(math.log2(samples)) if samples > 0 else 0
        if 2**m == samples:
            return sampler.random_base2(m)
        with warnings.catch_warnings():  # balance needs 2**m points; the CLI says so
            warnings.simplefilter("ignore", UserWarning)
            return sampler.random(samples)
    raise SweepError(f"--design {design!r}: expected one of {', '.join(DESIGNS)}")


def make_points(design: str, varies: Sequence[Vary], samples: int | None = None,
                seed: int = 0) -> list[dict[str, Any]]:
    """The points of a design: one dict (path -> value) per point, in a fixed order."""
    paths = [v.path for v in varies]
    if design == "grid":
        return [dict(zip(paths, combo, strict=True))
                for combo in itertools.product(*(v.values for v in varies))]
    assert samples is not None
    u = unit_sample(design, len(varies), samples, seed)
    points = []
    for row in u:
        points.append({v.path: _from_unit(v, float(x)) for v, x in zip(varies, row,
                                                                        strict=True)})
    return points


def _from_unit(v: Vary, x: float) -> Any:
    if v.kind == "list":
        return v.values[min(int(x * len(v.values)), len(v.values) - 1)]
    assert v.low is not None and v.high is not None
    if v.integer:  # uniform over the integers low..high, inclusive
        lo, hi = int(v.low), int(v.high)
        return min(lo + int(x * (hi - lo + 1)), hi)
    return v.low + x * (v.high - v.low)


def points_table(design: Design) -> pd.DataFrame:
    """One row per point: ``point`` and the value of every varied path (column = path)."""
    import pandas as pd

    df = pd.DataFrame({"point": np.arange(len(design.points), dtype=np.int32)})
    for p in design.paths:
        col = [pt[p] for pt in design.points]
        kinds = {type(x) for x in col}
        df[p] = col if len(kinds) == 1 or kinds <= {int, float} else [str(x) for x in col]
    return df


# ---------------------------------------------------------------------- scenarios
def point_scenarios(data: Mapping[str, Any], fixed: Sequence[tuple[str, Any]], design: Design,
                    *, source: str, text: str = "") -> list[Scenario]:
    """Validate every point's scenario (file + fixed overrides + the point's values).

    Raises SweepError naming the point, its values and the field for the first bad point.
    """
    fixed_paths = {p for p, _ in fixed}
    for p in design.paths:
        if p in fixed_paths:
            raise SweepError(f"--vary {p}: also fixed by --set {p}; vary it or fix it")
    out = []
    for i, pt in enumerate(design.points):
        try:
            out.append(scenario_from_dict(data, [*fixed, *pt.items()], source=source,
                                          text=text))
        except ScenarioError as exc:
            vals = ", ".join(f"{k}={v!r}" for k, v in pt.items())
            probs = []
            for path, line, msg in exc.problems:
                for q in design.paths:
                    if path in (f"--set {q}", f"{q} (from --set)"):
                        path = f"{q} (from --vary)"
                probs.append(f"  {f'line {line}, ' if line else ''}{path}: expected {msg}")
            raise SweepError(f"{source}: sweep point {i} ({vals}) is not a valid scenario\n"
                             + "\n".join(probs)) from None
    return out


# ---------------------------------------------------------------------- spec files
_SPEC_FIELDS = {
    "scenario": "the scenario file, relative to this file or to the repository",
    "description": "one paragraph on the experiment",
    "design": "grid, lhs, sobol-sequence, saltelli or morris",
    "samples": "the points of an lhs or sobol-sequence design, a saltelli design's base "
               "samples N or a morris design's trajectories",
    "runs": "replicates per point",
    "seed": "the master seed",
    "steps": "weeks to simulate",
    "vary": "a table of path = spec ('lo:hi:n', 'v1,v2', 'lo..hi' or a list of values)",
    "set": "a table of fixed overrides, path = value",
}


@dataclass(frozen=True)
class SweepSpec:
    """A sweep spec file, read and checked (paths and specs are checked against the scenario
    later, when the scenario is loaded)."""

    source: Path
    scenario: Path
    design: str = "grid"
    samples: int | None = None
    runs: int | None = None
    seed: int | None = None
    steps: int | None = None
    description: str = ""
    vary: tuple[tuple[str, str | tuple[Any, ...]], ...] = ()
    set: tuple[tuple[str, Any], ...] = ()


def is_spec_file(path: Path) -> bool:
    """A sweep spec names a scenario and what to vary; a scenario file has none of these keys."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(data.get("scenario"), str) or "vary" in data


def _line(text: str, key: str, table: str | None = None) -> int | None:
    lines = text.splitlines()
    start = 0
    if table is not None:
        start = next((i + 1 for i, ln in enumerate(lines)
                      if re.match(rf"\s*\[{re.escape(table)}\]", ln)), 0)
    pat = re.compile(rf'\s*"?{re.escape(key)}"?\s*=')
    for i in range(start, len(lines)):
        if i > start and table is None and lines[i].lstrip().startswith("["):
            break
        if pat.match(lines[i]):
            return i + 1
    return None


def _flatten(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{backers: {turkey: {capacity: "0:2:5"}}}`` (unquoted dotted keys) -> dotted paths."""
    out = []
    for k, v in d.items():
        p = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            out.extend(_flatten(v, p))
        else:
            out.append((p, v))
    return out


def load_spec(path: str | Path) -> SweepSpec:
    """Read a sweep spec file; SpecError naming the file, field and line for anything wrong."""
    path = Path(path)
    src = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(src, [("", None, "an existing file (not found)")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(src, [("", None, f"a readable UTF-8 file ({exc})")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(src, [("", getattr(exc, "lineno", None),
                               f"valid TOML syntax ({getattr(exc, 'msg', exc)})")]) from None
    probs: list[tuple[str, int | None, str]] = []

    def bad(key: str, msg: str, table: str | None = None) -> None:
        probs.append((key if table is None else f"{table}.{key}", _line(text, key.split(".")[-1]
                      if table is None else key, table), msg))

    for k in data:
        if k not in _SPEC_FIELDS:
            bad(k, f"a known field; '{k}' is not one (known: {', '.join(_SPEC_FIELDS)})")

    def integer(key: str, lo: int) -> int | None:
        v = data.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            bad(key, f"an integer >= {lo} (got {v!r})")
            return None
        return v

    scen = data.get("scenario")
    scenario_path = Path()
    if not isinstance(scen, str) or not scen:
        bad("scenario", "the scenario file as a string, e.g. scenario = "
                        "\"../scenarios/libya_2019.toml\"" + (" (missing)" if scen is None
                                                             else f" (got {scen!r})"))
    else:
        found = resolve_scenario(scen, path.parent)
        if found is None:
            bad("scenario", f"an existing file, relative to {path.parent or '.'} or to the "
                            f"repository; '{scen}' was not found")
        else:
            scenario_path = found
    design = data.get("design", "grid")
    if design == "sobol":
        bad("design", "saltelli (Sobol indices) or sobol-sequence (the quasi-random sequence "
                      "'sobol' used to mean); 'sobol' is no longer a design name")
    elif design not in DESIGNS:
        bad("design", f"one of {', '.join(DESIGNS)} (got {design!r})")
    samples = integer("samples", 1)
    runs = integer("runs", 1)
    seed = integer("seed", 0)
    steps = integer("steps", 1)
    desc = data.get("description", "")
    if not isinstance(desc, str):
        bad("description", f"a string (got {desc!r})")
    vary: list[tuple[str, Any]] = []
    raw_vary = data.get("vary", {})
    if not isinstance(raw_vary, Mapping) or not raw_vary:
        bad("vary", "a table [vary] of path = spec with at least one entry, e.g. "
                    "\"backers.turkey.capacity\" = \"0:2:5\"")
    else:
        for p, v in _flatten(raw_vary):
            if not _PATH.fullmatch(p):
                bad(p, "a dotted field path like backers.turkey.capacity", "vary")
            elif isinstance(v, str):
                vary.append((p, v))
            elif isinstance(v, list) and v and all(not isinstance(x, (list, dict)) for x in v):
                vary.append((p, tuple(v)))
            else:
                bad(p, "a spec string ('lo:hi:n', 'v1,v2' or 'lo..hi') or a non-empty list of "
                       f"values (got {v!r})", "vary")
    fixed: list[tuple[str, Any]] = []
    raw_set = data.get("set", {})
    if not isinstance(raw_set, Mapping):
        bad("set", "a table [set] of path = value")
    else:
        for p, v in _flatten(raw_set):
            if not _PATH.fullmatch(p):
                bad(p, "a dotted field path like model.weeks", "set")
            else:
                fixed.append((p, v))
    if probs:
        raise SpecError(src, probs)
    return SweepSpec(source=path, scenario=scenario_path, design=design, samples=samples,
                     runs=runs, seed=seed, steps=steps, description=desc, vary=tuple(vary),
                     set=tuple(fixed))


def resolve_scenario(name: str, base: Path) -> Path | None:
    """A spec's scenario path: relative to the spec file, else the working folder, else the
    repository."""
    p = Path(name)
    for cand in ((p,) if p.is_absolute() else (base / p, p, REPO / p)):
        if cand.is_file():
            return cand
    return None
