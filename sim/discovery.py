"""Scenario discovery: which box of a sweep's varied parameters makes an outcome likely.

PRIM (the patient rule induction method of Friedman and Fisher, 1999, as the EMA Workbench's
``ema_workbench.analysis.prim`` implements it for scenario discovery, Bryant and Lempert 2010)
peels a sweep's parameter space, a few percent of the points at a time, keeping the box in
which the cases of interest are densest, and then pastes back what it over-peeled. Each box of
this peeling trajectory has a *coverage* (the share of all cases of interest that lie in it)
and a *density* (the share of its points that are cases of interest); the analyst picks a box
on the trade-off between them.

**The cases.** One case per sweep point: its x are the point's varied values, and it is of
interest when the point's outcome passes the threshold (for a share outcome, the share of the
point's runs with that outcome, e.g. ``P(durable ceasefire) >= 0.5``; for a continuous one, the
mean over the point's runs). Per point rather than per run: the question is which parameters
make the outcome *likely*, which is a property of a point, and the replicates at a point
average the model's own noise out before PRIM sees it (per run, PRIM would read every run's
luck as a signal and peel on ties of the same x).

**The chosen box.** With ``density`` given, the box of highest coverage whose density is at
least that; without, the trajectory's best trade-off: the box nearest the ideal corner of
100% coverage and 100% density (of equally near boxes, the densest). Its limits are given
per restricted parameter with a quasi-p-value (Bryant and Lempert 2010: a one-sided binomial
test of whether the restriction raises the density; below 0.05 the restriction matters).

:func:`discover` does the work on a results folder; :func:`run_prim` on any x and y.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.outcomes import Outcome, parse_outcome, per_point

__all__ = ["INSTALL_HINT", "Discovery", "DiscoveryError", "choose_box", "discover",
           "read_discovery", "knee", "load_prim", "plot_box", "plot_trajectory", "run_prim",
           "save_discovery"]

#: What to install when the EMA Workbench is missing.
INSTALL_HINT = "pip install 'negsim[explore]'"

#: The files `negsim discover` writes into a sweep folder.
FILES = ("discovery.json", "discovery-trajectory.png", "discovery-box.png")


class DiscoveryError(ValueError):
    """Input PRIM cannot work on (no sweep, no positives, ...); the message says what to do."""


def load_prim():
    """The EMA Workbench's PRIM module (quietly: it warns about optional parts on import);
    ImportError with the install hint when it is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError as exc:
        raise ImportError(f"scenario discovery needs the EMA Workbench: {INSTALL_HINT} "
                          f"({exc})") from None
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim


@dataclass(frozen=True)
class Discovery:
    """A PRIM result: the peeling trajectory, the chosen box and its limits.

    ``trajectory``: one row per box (``box``, ``coverage``, ``density``, ``mass``, ``res_dim``,
    ``n`` points in it, ``k`` cases of interest in it). ``limits``: one row per restricted
    parameter of the chosen box (``parameter``, ``low``, ``high``, ``range_low``,
    ``range_high`` (the sampled range), ``qp_low``, ``qp_high`` (quasi-p-values of the lower
    and upper limit, NaN for a side not restricted), ``qp`` (the larger), and for a
    categorical parameter ``values``)."""

    trajectory: pd.DataFrame
    chosen: int
    rule: str
    limits: pd.DataFrame
    cases: int
    points: int

    @property
    def box(self) -> pd.Series:
        return self.trajectory.iloc[self.chosen]


def knee(coverage: np.ndarray, density: np.ndarray) -> int:
    """The index of the trajectory's best trade-off: the box nearest the ideal corner,
    coverage 100% and density 100% (of equally near boxes, the last: the densest)."""
    c, d = np.asarray(coverage, float), np.asarray(density, float)
    dist = np.hypot(1 - c, 1 - d)
    return int(len(dist) - 1 - np.argmin(dist[::-1]))


def choose_box(trajectory: pd.DataFrame, density: float | None) -> tuple[int, str]:
    """The chosen box of a trajectory and the rule that chose it (see the module)."""
    if density is None:
        i = knee(trajectory["coverage"].to_numpy(), trajectory["density"].to_numpy())
        return i, "the box nearest 100% coverage and 100% density"
    ok = trajectory[trajectory["density"] >= density - 1e-12]
    if ok.empty:
        raise DiscoveryError(f"--density {density:g}: no box on the peeling trajectory is that "
                             f"dense (the densest has {trajectory['density'].max():.2f}); "
                             "lower it, or leave it out for the best trade-off")
    best = ok.sort_values(["coverage", "density"], ascending=False, kind="stable")
    return int(best.index[0]), f"the highest coverage with density >= {density:g}"


def run_prim(x: pd.DataFrame, y: np.ndarray, density: float | None = None,
             peel_alpha: float = 0.05, mass_min: float = 0.05) -> Discovery:
    """PRIM on cases `x` (one column per parameter) and yes/no `y`: one box, chosen by
    `density` (see :func:`choose_box`)."""
    prim = load_prim()
    y = np.asarray(y, dtype=bool)
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} rows and y {len(y)}")
    if not y.any() or y.all():
        raise DiscoveryError("PRIM needs cases of interest and others: "
                             f"{int(y.sum())} of {len(y)} are cases of interest")
    x = x.reset_index(drop=True)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(x, y, peel_alpha=peel_alpha, mass_min=mass_min)
        box = p.find_box()
    traj = box.peeling_trajectory.reset_index(drop=True)
    traj = pd.DataFrame({"box": np.arange(len(traj)),
                         **{c: traj[c].to_numpy() for c in
                            ("coverage", "density", "mass", "res_dim", "n", "k")}})
    chosen, rule = choose_box(traj, density)
    limits = _limits(x, box.box_lims[chosen], box.box_lims[0], box.p_values[chosen])
    return Discovery(traj, chosen, rule, limits, int(y.sum()), len(y))


#: The columns of :attr:`Discovery.limits`.
LIMIT_COLUMNS = ["parameter", "low", "high", "range_low", "range_high", "qp_low", "qp_high", "qp",
                 "values"]


def _limits(x: pd.DataFrame, lims: pd.DataFrame, init: pd.DataFrame,
            pvals: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for col in x.columns:
        if col not in pvals:
            continue
        qp = [float(v) if v is not None and v >= 0 else math.nan for v in pvals[col]]
        row: dict[str, Any] = {"parameter": col}
        if pd.api.types.is_numeric_dtype(x[col]):
            row.update(low=float(lims[col].iloc[0]), high=float(lims[col].iloc[1]),
                       range_low=float(init[col].iloc[0]), range_high=float(init[col].iloc[1]),
                       values=None)
        else:
            kept = sorted(map(str, lims[col].iloc[0]))
            row.update(low=math.nan, high=math.nan, range_low=math.nan, range_high=math.nan,
                       values=kept)
        qp_low, qp_high = (qp + [math.nan, math.nan])[:2]
        row.update(qp_low=qp_low, qp_high=qp_high,
                   qp=max((v for v in (qp_low, qp_high) if not math.isnan(v)), default=math.nan))
        rows.append(row)
    return pd.DataFrame(rows, columns=LIMIT_COLUMNS)


# ---------------------------------------------------------------------- a sweep folder
@dataclass(frozen=True)
class Cases:
    """A sweep's points as PRIM's cases: x (varied values), the outcome per point and y."""

    x: pd.DataFrame
    per_point: pd.DataFrame
    y: np.ndarray
    outcome: Outcome
    threshold: float
    below: bool

    @property
    def rule(self) -> str:
        return f"{self.outcome.label} {'<' if self.below else '>='} {self.threshold:g}"


def sweep_cases(folder, outcome_spec: str | None, threshold: float | None,
                below: bool = False) -> Cases:
    """The cases of a sweep folder (a :class:`~sim.folder.ResultsFolder`): one per point."""
    from sim.folder import ResultsError

    if folder.kind != "sweep":
        raise DiscoveryError(f"{folder.path}: a run folder (negsim run), not a sweep; "
                             "scenario discovery needs a sweep's, made by `negsim sweep` "
                             "with several points, e.g. --design lhs --samples 64")
    try:
        points = folder.table("points")
        runs = folder.table("runs")
    except ResultsError as exc:
        raise DiscoveryError(str(exc)) from None
    factions = [c.removeprefix("control_") for c in runs.columns if c.startswith("control_")]
    outcome = parse_outcome(outcome_spec, factions, folder.manifest.get("steps") or None)
    if threshold is None:
        if not outcome.binary:
            raise DiscoveryError(f"--threshold: {outcome.label} is not a share; give the value "
                                 "a point's mean must reach, e.g. --threshold 52")
        threshold = 0.5
    if outcome.binary and not 0 < threshold <= 1:
        raise DiscoveryError(f"--threshold {threshold:g}: {outcome.label} is a share; expected "
                             "a number above 0 and at most 1, e.g. --threshold 0.5")
    pp = per_point(runs, outcome)
    params = [c for c in points.columns if c != "point"]
    x = points.set_index("point").loc[pp["point"], params].reset_index(drop=True)
    for c in params:  # the EMA Workbench reads only float, int and categorical columns
        if pd.api.types.is_bool_dtype(x[c]):
            x[c] = x[c].astype(str)
        elif pd.api.types.is_integer_dtype(x[c]):
            x[c] = x[c].astype(np.int64)
        elif pd.api.types.is_float_dtype(x[c]):
            x[c] = x[c].astype(np.float64)
    if len(pp) < 4:
        raise DiscoveryError(f"{folder.path}: {len(pp)} sweep points with runs; PRIM needs "
                             "tens of points (a sampled design, e.g. --design lhs --samples 64)")
    v = pp["value"].to_numpy(dtype=float)
    y = v < threshold if below else v >= threshold
    cases = Cases(x, pp, y, outcome, float(threshold), below)
    if not y.any() or y.all():
        word = "no" if not y.any() else "every"
        hint = ("lower" if not y.any() else "raise") if not below else \
            ("raise" if not y.any() else "lower")
        raise DiscoveryError(
            f"--threshold {threshold:g}: {word} point of {len(y)} has {cases.rule} (the points' "
            f"values run from {np.nanmin(v):.3g} to {np.nanmax(v):.3g}); {hint} the threshold "
            "so that some points are cases of interest and some are not")
    return cases


def discover(path: str | Path, outcome: str | None = None, threshold: float | None = None, *,
             below: bool = False, density: float | None = None) -> tuple[Cases, Discovery]:
    """Scenario discovery on the sweep folder at `path` (see the module)."""
    from sim.folder import ResultsFolder

    folder = ResultsFolder.open(path, need=("runs",))
    cases = sweep_cases(folder, outcome, threshold, below)
    return cases, run_prim(cases.x, cases.y, density)


def discovery_data(cases: Cases, d: Discovery, folder: str | Path) -> dict[str, Any]:
    """What ``discovery.json`` holds."""
    def clean(v: Any) -> Any:
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, np.generic):
            return clean(v.item())
        return v

    box = d.box
    return {
        "folder": str(folder),
        "method": "PRIM (ema_workbench.analysis.prim), one case per sweep point",
        "outcome": cases.outcome.spec,
        "outcome_label": cases.outcome.label,
        "threshold": cases.threshold,
        "direction": "below" if cases.below else "at least",
        "case_of_interest": cases.rule,
        "points": d.points,
        "cases_of_interest": d.cases,
        "chosen_box": d.chosen,
        "rule": d.rule,
        "box": {k: clean(box[k]) for k in ("coverage", "density", "mass", "res_dim", "n", "k")},
        "limits": [{k: clean(v) for k, v in r.items()} for r in d.limits.to_dict("records")],
        "trajectory": [{k: clean(v) for k, v in r.items()}
                       for r in d.trajectory.to_dict("records")],
        "per_point": [{k: clean(v) for k, v in r.items()}
                      for r in cases.per_point.assign(case=cases.y).to_dict("records")],
    }


# ---------------------------------------------------------------------- charts
def plot_trajectory(d: Discovery, ax=None, title: str = "PRIM peeling trajectory"):
    """Coverage against density of every box on the trajectory, coloured by the number of
    restricted parameters, the chosen box ringed."""
    from matplotlib import colormaps

    from sim.plots.style import caption, figure_of, new_figure, percent_axis, titles

    fig, own = figure_of(ax)
    if own:
        fig = new_figure(6.4, 4.6)
        ax = fig.subplots()
    t = d.trajectory
    dims = t["res_dim"].to_numpy()
    cmap = colormaps["viridis"].resampled(max(int(dims.max()) + 1, 2))
    sc = ax.scatter(t["coverage"], t["density"], c=dims, cmap=cmap, vmin=-0.5,
                    vmax=max(int(dims.max()), 1) + 0.5, s=22, zorder=3)
    ax.plot(t["coverage"], t["density"], color="#bbbbbb", lw=0.8, zorder=2)
    b = d.box
    ax.scatter([b["coverage"]], [b["density"]], s=160, facecolors="none", edgecolors="#d62728",
               linewidths=2, zorder=4)
    left = b["coverage"] > 0.5
    ax.annotate(f"chosen: box {d.chosen}\ncoverage {b['coverage']:.0%}, density "
                f"{b['density']:.0%}", (b["coverage"], b["density"]),
                xytext=(-12 if left else 12, -26), textcoords="offset points",
                ha="right" if left else "left", fontsize=8, color="#d62728")
    ax.set_xlabel("Coverage (share of all cases of interest inside the box)")
    ax.set_ylabel("Density (share of the box's points that are cases)")
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.set_xlim(-0.03, 1.05)
    ax.set_ylim(-0.03, 1.05)
    ax.grid(alpha=0.3)
    cb = fig.colorbar(sc, ax=ax, ticks=range(int(dims.max()) + 1))
    cb.set_label("restricted parameters")
    titles(fig, ax, title, f"{d.points} points, {d.cases} of them cases of interest", own)
    caption(fig, ["Each dot is a box on PRIM's peeling trajectory, from all points (coverage "
                  f"100%) to the densest box. Ringed: the box chosen, {d.rule}."], own)
    return fig


def plot_box(d: Discovery, ax=None, title: str = "The chosen box's limits"):
    """Each restricted parameter's limits in the chosen box, as a share of its sampled range,
    with the limits' values and quasi-p-values."""
    from sim.plots.style import INK, caption, figure_of, new_figure, titles

    fig, own = figure_of(ax)
    lim = d.limits
    if own:
        fig = new_figure(6.4, 1.4 + 0.55 * max(len(lim), 1))
        ax = fig.subplots()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("Share of the parameter's sampled range")
    if lim.empty:
        ax.text(0.5, 0.5, "the chosen box restricts no parameter", ha="center", va="center",
                transform=ax.transAxes, color=INK)
        ax.set_yticks([])
    for i, r in enumerate(lim.itertuples(index=False)):
        ax.barh(i, 1.0, left=0.0, height=0.5, color="#eeeeee", edgecolor="#cccccc")
        if r.values is not None:
            ax.text(0.5, i, "{" + ", ".join(r.values) + "}", ha="center", va="center",
                    fontsize=8, color=INK)
            continue
        span = (r.range_high - r.range_low) or 1.0
        lo, hi = (r.low - r.range_low) / span, (r.high - r.range_low) / span
        ax.barh(i, hi - lo, left=lo, height=0.5, color="#1f77b4")
        inside = hi - lo > 0.3
        ax.text((lo + hi) / 2 if inside else (hi + 0.01 if hi < 0.7 else lo - 0.01), i,
                f"{r.low:.3g} to {r.high:.3g}", va="center", fontsize=8,
                ha="center" if inside else ("left" if hi < 0.7 else "right"),
                color="white" if inside else INK)
    ax.set_yticks(range(len(lim)))
    ax.set_yticklabels([f"{r.parameter}\nqp {_qp(r.qp)}" for r in lim.itertuples(index=False)],
                       fontsize=8)
    ax.set_ylim(-0.6, max(len(lim), 1) - 0.2)
    ax.invert_yaxis()
    b = d.box
    titles(fig, ax, title, f"box {d.chosen}: coverage {b['coverage']:.0%}, density "
                           f"{b['density']:.0%}, {int(b['n'])} of {d.points} points", own)
    caption(fig, ["Blue: the box's range of each restricted parameter within its sampled "
                  "range (grey). qp: the quasi-p-value of the restriction (a one-sided binomial "
                  "test; below 0.05 it matters)."], own)
    return fig


def _qp(v: float) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{v:.2g}"


def save_discovery(cases: Cases, d: Discovery, folder: str | Path) -> list[Path]:
    """Write ``discovery.json`` and the two charts into `folder` (each atomically)."""
    from sim.folder import atomic_json, atomic_write
    from sim.plots.style import save_figure

    folder = Path(folder)
    out = [folder / f for f in FILES]
    for fig, path in ((plot_trajectory(d), out[1]), (plot_box(d), out[2])):
        atomic_write(path, lambda tmp, fig=fig: save_figure(fig, tmp, fmt="png"))
    atomic_json(discovery_data(cases, d, folder), out[0])
    return out


# ---------------------------------------------------------------------- reading back
def read_discovery(folder: str | Path) -> tuple[dict[str, Any], Discovery] | None:
    """The folder's ``discovery.json`` (``negsim discover`` writes it) and the
    :class:`Discovery` it records, so that the charts can be drawn again (the report draws
    them as SVG); None when the folder has none or it does not read."""
    import json

    try:
        data = json.loads((Path(folder) / FILES[0]).read_text())
        limits = pd.DataFrame(data["limits"], columns=LIMIT_COLUMNS).astype(
            {c: float for c in LIMIT_COLUMNS if c not in ("parameter", "values")})
        d = Discovery(trajectory=pd.DataFrame(data["trajectory"]).astype(float),
                      chosen=int(data["chosen_box"]), rule=str(data["rule"]), limits=limits,
                      cases=int(data["cases_of_interest"]), points=int(data["points"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data, d
