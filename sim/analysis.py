"""Sensitivity analysis of a sweep with SALib (``negsim analyze``).

A sweep of a sampled design (``saltelli``, ``morris``, or any design for the ``delta`` method)
is read back point by point: each point's outcome is averaged over its replicates
(:func:`sim.outcomes.per_point`), and the means, in the design's order, go to SALib:

* ``sobol`` (a ``saltelli`` design): first-order (S1), total-order (ST) and, with two varied
  paths or more, second-order (S2) Sobol indices, each with a bootstrap 95% interval;
* ``morris`` (a ``morris`` design): the mean absolute elementary effect mu* (with its 95%
  interval) and the spread sigma of the effects, in the outcome's units per whole range;
* ``delta`` (any sampled design, on its given data): Borgonovo's moment-independent delta and a
  first-order index S1, with intervals.

The analysis works on the design's points on the unit cube, regenerated from the manifest (the
design, the specs, the samples and the sweep's seed) and checked against the manifest's digest
of the points, so SALib gets the rows in the order its samplers made them.

The model is stochastic: with R replicates a point's mean carries the noise of its runs (for a
share p, variance p(1 - p)/R). :func:`replicate_noise` estimates the share of the variance of
the point means that is this noise, and how many replicates would bring it under
``NOISE_LIMIT``; the indices of a noisy sweep overstate the total-order effects and blur the
first-order ones.

    >>> import numpy as np
    >>> from sim.sweep import make_design, parse_vary
    >>> d = make_design("saltelli", [parse_vary("a", "0..1"), parse_vary("b", "0..1")], 64, 0)
    >>> u = unit_points(d)
    >>> ix = compute_indices("sobol", d.design, u, 3 * u[:, 0] + 0.1 * u[:, 1], d.paths)
    >>> round(float(ix.table.loc[0, "S1"]), 1), round(float(ix.table.loc[1, "S1"]), 1)
    (1.0, 0.0)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.sweep import SAMPLED_DESIGNS, Design, SweepError, second_order, unit_sample

__all__ = ["ANALYSIS_FILE", "INDEX_COLUMNS", "METHODS", "NOISE_LIMIT", "Analysis", "AnalysisError",
           "Indices", "analyze_folder", "compute_indices", "default_method", "index_cell",
           "read_analyses", "replicate_noise", "unit_points", "write_analysis"]

#: The methods and the designs each needs.
METHODS = ("sobol", "morris", "delta")
METHOD_DESIGNS: dict[str, tuple[str, ...]] = {
    "sobol": ("saltelli",), "morris": ("morris",), "delta": SAMPLED_DESIGNS}
#: Above this share of the point means' variance, replicate noise gets a warning.
NOISE_LIMIT = 0.2
#: The file in the results folder that keeps every analysis made of it.
ANALYSIS_FILE = "analysis.json"
_INSTALL = "pip install 'negsim[sensitivity]'"


class AnalysisError(ValueError):
    """A folder or method that cannot be analysed as asked; the message says why and what
    would do."""


# ---------------------------------------------------------------------- indices
@dataclass(frozen=True)
class Indices:
    """SALib's indices: ``table`` one row per varied path (``path`` and the method's columns:
    sobol ``S1, S1_conf, ST, ST_conf``; morris ``mu_star, mu_star_conf, sigma, mu``; delta
    ``delta, delta_conf, S1, S1_conf``; ``_conf`` is the half-width of a 95% interval), and
    for sobol with two paths or more ``second`` (``path_a, path_b, S2, S2_conf``)."""

    method: str
    table: pd.DataFrame
    second: pd.DataFrame | None = None

    @property
    def main(self) -> str:
        """The column that ranks the paths: ST, mu_star or delta."""
        return {"sobol": "ST", "morris": "mu_star", "delta": "delta"}[self.method]


def default_method(design: str) -> str:
    """The method a design is made for: sobol for saltelli, morris for morris, else delta."""
    return {"saltelli": "sobol", "morris": "morris"}.get(design, "delta")


def check_method(method: str, design: str) -> None:
    """AnalysisError unless `method` can read a sweep of `design`."""
    if method not in METHODS:
        raise AnalysisError(f"--method {method!r}: expected one of {', '.join(METHODS)}")
    if design not in METHOD_DESIGNS[method]:
        need = {"sobol": "a saltelli design (negsim sweep --design saltelli --samples N)",
                "morris": "a morris design (negsim sweep --design morris --samples TRAJECTORIES)",
                "delta": "a sampled design (lhs, sobol-sequence, saltelli or morris), not a "
                         "grid"}[method]
        fits = ("delta" if design in METHOD_DESIGNS["delta"] and design not in
                ("saltelli", "morris") else default_method(design))
        alt = f"; this folder can be read with --method {fits}" if design != "grid" else ""
        raise AnalysisError(f"--method {method}: needs {need}; this sweep is a {design} "
                            f"design{alt}")


def _salib():
    try:
        from SALib.analyze import delta, morris, sobol
    except ImportError:
        raise AnalysisError(f"negsim analyze needs SALib: {_INSTALL}") from None
    return sobol, morris, delta


def compute_indices(method: str, design: str, u: np.ndarray, y: np.ndarray,
                    names: Sequence[str], seed: int = 0) -> Indices:
    """The `method`'s indices of outputs `y` at a `design`'s points `u` (on the unit cube,
    one row per point in the design's order), for the factors `names`; the bootstrap is
    seeded with `seed`. AnalysisError when the outputs cannot be analysed."""
    check_method(method, design)
    u = np.asarray(u, dtype=float)
    y = np.asarray(y, dtype=float)
    d = len(names)
    if u.ndim != 2 or u.shape != (len(y), d):
        raise AnalysisError(f"expected one output per point: {u.shape[0]} points of {d} "
                            f"factors, {len(y)} outputs")
    if not np.isfinite(y).all():
        raise AnalysisError("some points have no finite outcome value")
    if float(np.var(y)) == 0.0:
        raise AnalysisError(f"the outcome is {y[0]:.4g} at every point: it does not vary, so "
                            "there is no variance to attribute to the varied paths")
    sobol, morris, delta = _salib()
    from sim.sweep import MORRIS_LEVELS, salib_problem

    problem = salib_problem([f"x{i}" for i in range(d)])  # (SALib forbids some suffixes)
    with _contained(seed), _one_blas_thread():
        try:
            if method == "sobol":
                so = second_order(design, d)
                r = sobol.analyze(problem, y, calc_second_order=so, num_resamples=200,
                                  conf_level=0.95, seed=seed)
                tab = pd.DataFrame({"path": list(names), "S1": r["S1"], "S1_conf": r["S1_conf"],
                                    "ST": r["ST"], "ST_conf": r["ST_conf"]})
                sec = None
                if so:
                    rows = [{"path_a": names[i], "path_b": names[j], "S2": r["S2"][i, j],
                             "S2_conf": r["S2_conf"][i, j]}
                            for i in range(d) for j in range(i + 1, d)]
                    sec = pd.DataFrame(rows)
                return Indices(method, tab, sec)
            if method == "morris":
                r = morris.analyze(problem, u, y, num_resamples=200, conf_level=0.95,
                                   num_levels=MORRIS_LEVELS, seed=seed)
                return Indices(method, pd.DataFrame({
                    "path": list(names), "mu_star": r["mu_star"],
                    "mu_star_conf": r["mu_star_conf"], "sigma": r["sigma"], "mu": r["mu"]}))
            r = delta.analyze(problem, u, y, num_resamples=200, conf_level=0.95, seed=seed)
            key = "delta" if "delta" in r else "delta_raw"  # (SALib 1.6 names it so)
            return Indices(method, pd.DataFrame({
                "path": list(names), "delta": r[key], "delta_conf": r[f"{key}_conf"],
                "S1": r["S1"], "S1_conf": r["S1_conf"]}))
        except (ValueError, ZeroDivisionError, IndexError, np.linalg.LinAlgError) as exc:
            raise AnalysisError(f"SALib's {method} analysis failed on these outputs ({exc}); "
                                "a larger --samples usually helps") from None


@contextlib.contextmanager
def _contained(seed: int):
    """Keep SALib's side effects in: its delta draws its bootstrap from NumPy's global
    generator (seeding it only for a seed other than 0), sets the warnings filter to "once" and
    replaces ``warnings.formatwarning``. The global generator is seeded with `seed` here and
    restored after, as is the format, and SALib's warnings (bin notices, empty bootstrap
    samples) are recorded, not printed."""
    state = np.random.get_state()
    fmt = warnings.formatwarning
    try:
        with warnings.catch_warnings(record=True):
            np.random.seed(seed)  # noqa: NPY002 - SALib's delta reads it; restored below
            yield
    finally:
        warnings.formatwarning = fmt
        np.random.set_state(state)


def _one_blas_thread():
    """Run SALib's many tiny linear-algebra calls on one BLAS thread: delta's kernel densities
    are 20-50 times slower with a thread pool on a busy machine (0.2 s against 5 s for 200
    points and 20 resamples, measured on 2 shared cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def unit_points(design: Design) -> np.ndarray:
    """A sampled design's points on the unit cube, in its order."""
    assert design.samples is not None
    return unit_sample(design.design, len(design.varies), design.samples, design.seed)


# ---------------------------------------------------------------------- replicate noise
@dataclass(frozen=True)
class Noise:
    """How much of the variance of the point means is the noise of their replicates.

    ``share`` = mean over points of (within-point variance / runs) over the variance of the
    point means; ``needed``: the replicates per point that would bring it to NOISE_LIMIT
    (None when the point means vary no more than the noise alone would make them)."""

    replicates: int
    share: float
    needed: int | None

    @property
    def too_noisy(self) -> bool:
        return self.share > NOISE_LIMIT

    def to_dict(self) -> dict[str, Any]:
        return {"replicates": self.replicates, "share": self.share, "needed": self.needed,
                "limit": NOISE_LIMIT}


def replicate_noise(values: np.ndarray, points: np.ndarray) -> Noise:
    """The replicate noise of a sweep whose run values are `values` at sweep points `points`
    (one entry per run)."""
    df = pd.DataFrame({"p": np.asarray(points), "v": np.asarray(values, dtype=float)})
    g = df.groupby("p")["v"]
    n = g.size()
    means = g.mean()
    within = g.var(ddof=1).fillna(0.0)
    noise = float((within / n).mean())
    total = float(means.var(ddof=1)) if len(means) > 1 else 0.0
    r = int(n.min())
    if total <= 0.0:
        return Noise(r, 1.0 if noise > 0 else 0.0, None)
    share = min(noise / total, 1.0)
    signal = total - noise
    if signal <= 0:
        return Noise(r, share, None)
    # noise shrinks as 1/R: noise' / (signal + noise') <= limit  <=>
    # noise' <= signal * limit / (1 - limit)
    need = math.ceil(r * noise / (signal * NOISE_LIMIT / (1 - NOISE_LIMIT)))
    return Noise(r, share, max(need, r))


# ---------------------------------------------------------------------- a folder
@dataclass
class Analysis:
    """One analysis of a sweep folder: what was analysed, the indices and the warnings."""

    folder: Path
    method: str
    outcome: str
    outcome_label: str
    design: str
    samples: int
    points: int
    indices: Indices
    noise: Noise
    warnings: list[str] = field(default_factory=list)
    chart: str | None = None

    @property
    def key(self) -> str:
        return f"{self.method}:{self.outcome}"

    def to_dict(self) -> dict[str, Any]:
        ix = self.indices
        return {
            "method": self.method, "outcome": self.outcome, "outcome_label": self.outcome_label,
            "design": self.design, "samples": self.samples, "points": self.points,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "indices": _records(ix.table),
            "second_order": _records(ix.second) if ix.second is not None else None,
            "noise": self.noise.to_dict(), "warnings": list(self.warnings),
            "chart": self.chart}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for r in df.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else
                        float(v) if isinstance(v, (float, np.floating)) else v)
                    for k, v in r.items()})
    return out


def _design_of(manifest: dict[str, Any], base) -> Design:
    """The sweep's design regenerated from its manifest, checked against its points."""
    from sim.sweep import _from_unit, field_kind, parse_vary

    block = manifest.get("design") or {}
    name = block.get("design", "grid")
    paths = block.get("paths") or []
    specs = block.get("specs") or {}
    samples = block.get("samples")
    seed = int(manifest.get("seed") or 0)
    try:
        varies = [parse_vary(p, specs[p], field_kind(base, p)) for p in paths]
    except (KeyError, SweepError) as exc:
        raise AnalysisError(f"the manifest's design cannot be read ({exc})") from None
    try:
        u = unit_sample(name, len(varies), int(samples), seed)
    except SweepError as exc:  # (SALib is not installed)
        raise AnalysisError(str(exc)) from None
    pts = tuple({v.path: _from_unit(v, float(x)) for v, x in zip(varies, row, strict=True)}
                for row in u)
    d = Design(name, tuple(varies), int(samples), seed, pts)  # type: ignore[arg-type]
    if d.describe()["points_digest"] != block.get("points_digest"):
        raise AnalysisError(f"the {name} design regenerated from the manifest gives other "
                            "points than the sweep ran (another SALib or negsim version?), so "
                            "the order SALib expects cannot be trusted; rerun the sweep")
    return d


@dataclass(frozen=True)
class AnalyzeRequest:
    """What ``negsim analyze`` asks: the folder, the outcome spec (None: the default), the
    method (None: the design's own) and the bootstrap's seed."""

    folder: Path
    outcome: str | None = None
    method: str | None = None
    seed: int = 0


def analyze_folder(req: AnalyzeRequest) -> Analysis:
    """Analyse a sweep folder (AnalysisError, OutcomeError or ResultsError when it cannot be)."""
    from sim.folder import ResultsError, ResultsFolder
    from sim.outcomes import parse_outcome, per_point

    folder = ResultsFolder.open(req.folder, need=("runs",))
    m = folder.manifest
    if folder.kind != "sweep":
        raise AnalysisError(f"{folder.path}: a run folder (negsim run), not a sweep; analyze a "
                            "folder of negsim sweep --design saltelli (or morris, lhs, "
                            "sobol-sequence)")
    name = (m.get("design") or {}).get("design", "grid")
    if req.method is None and name == "grid":
        raise AnalysisError(f"{folder.path}: a grid sweep; negsim analyze needs a sampled "
                            "design: saltelli (Sobol indices), morris (elementary effects), or "
                            "lhs or sobol-sequence (--method delta)")
    method = req.method or default_method(name)
    check_method(method, name)
    try:
        base = folder.scenario()
    except ResultsError as exc:
        raise AnalysisError(str(exc)) from None
    outcome = parse_outcome(req.outcome, base.armed_factions, m.get("steps") or None)
    design = _design_of(m, base)
    runs = folder.table("runs")
    vals = outcome.values(runs)
    pp = per_point(runs, outcome)
    have = set(pp["point"].astype(int))
    missing = [i for i in range(len(design.points)) if i not in have]
    if missing:
        raise AnalysisError(f"{folder.path}: {len(missing)} of {len(design.points)} points have "
                            f"no finished runs (e.g. point {missing[0]}); every point is "
                            "needed (finish the sweep with --resume)")
    y = pp.sort_values("point")["value"].to_numpy(dtype=float)
    ix = compute_indices(method, name, unit_points(design), y, design.paths, req.seed)
    noise = replicate_noise(vals, runs["point"].to_numpy())
    a = Analysis(folder.path, method, outcome.spec, outcome.label, name, int(design.samples or 0),
                 len(design.points), ix, noise)
    a.warnings.extend(assess(a))
    return a


def assess(a: Analysis) -> list[str]:
    """Warnings on an analysis: replicate noise above NOISE_LIMIT, and intervals wider than
    the indices they bound."""
    out = []
    n = a.noise
    if n.too_noisy:
        if n.needed is None:
            fix = ("the point means vary no more than replicate noise alone makes them vary: "
                   "the indices are noise; vary wider ranges or run many more replicates")
        else:
            fix = (f"about {n.needed} runs per point would bring it under "
                   f"{NOISE_LIMIT:.0%}")
        hurt = {"sobol": "the total-order indices", "morris": "sigma, the spread of the effects",
                "delta": "the indices"}.get(a.method, "the indices")
        out.append(f"replicate noise is {n.share:.0%} of the variance of the point means with "
                   f"{n.replicates} runs per point; {fix} (noise inflates {hurt})")
    t = a.indices.table
    col = a.indices.main
    vals = t[col].to_numpy(dtype=float)
    conf = t[f"{col}_conf"].to_numpy(dtype=float)
    top = np.nanmax(np.abs(vals)) if len(vals) else 0.0
    wide = [p for p, v, c in zip(t["path"], vals, conf, strict=True)
            if abs(v) >= 0.1 * top and c > abs(v)]
    if wide:
        ratio = max(c / abs(v) for v, c in zip(vals, conf, strict=True)
                    if abs(v) >= 0.1 * top and abs(v) > 0)
        more = 2 ** math.ceil(math.log2(max(2.0, ratio ** 2)))
        what = {"sobol": "base samples N", "morris": "trajectories",
                "delta": "points"}[a.method]
        out.append(f"the 95% intervals of {col} are wider than the index for "
                   f"{', '.join(wide)}: too few {what} ({a.samples}) for stable indices; "
                   f"about {more} times as many would narrow them enough")
    return out


# ---------------------------------------------------------------------- files
def read_analyses(folder: Path, strict: bool = False) -> dict[str, Any]:
    """The analyses kept in a folder's analysis.json (empty when none; also when it does not
    read, unless `strict`: then an AnalysisError, so that nothing overwrites it)."""
    import json

    p = Path(folder) / ANALYSIS_FILE
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        kept = data["analyses"]
        if not isinstance(kept, dict):
            raise TypeError("analyses is not a table")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if strict:
            raise AnalysisError(f"{p}: does not read as the analyses negsim analyze keeps "
                                f"({exc}); move it away to start it again") from None
        return {}
    return kept


def write_analysis(a: Analysis) -> Path:
    """Add (or replace) this analysis in the folder's analysis.json, atomically (an
    AnalysisError, writing nothing, if the file there does not read)."""
    from sim.folder import atomic_json

    kept = read_analyses(a.folder, strict=True)
    kept[a.key] = a.to_dict()
    target = a.folder / ANALYSIS_FILE
    atomic_json({"analyses": kept}, target)
    return target


# ---------------------------------------------------------------------- reading back
#: Each method's index columns and their headings, as the report shows them.
INDEX_COLUMNS = {"sobol": [("S1", "first order S1"), ("ST", "total order ST")],
                 "morris": [("mu_star", "mu*"), ("sigma", "sigma")],
                 "delta": [("delta", "delta"), ("S1", "first order S1")]}


def index_cell(r: dict[str, Any], col: str) -> str:
    """An index with the half-width of its 95% interval, e.g. "0.412 ± 0.051"."""
    v = r.get(col)
    if v is None:
        return "n/a"
    c = r.get(f"{col}_conf")
    return f"{v:.3f} ± {c:.3f}" if c is not None else f"{v:.3f}"
