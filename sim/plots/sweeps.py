"""Charts of a sweep folder: an outcome against each varied path, over two paths (a heatmap for
a grid, a scatter of the points for a sampled design) and the influence of each path.

Every chart reads one outcome, a spec of :mod:`sim.outcomes` (``outcome=``; default the durable
ceasefire): a share of runs (outcome classes, ``victory:<faction>``) or a mean
(``first_ceasefire``, ``control:<faction>``)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.outcomes import Outcome, parse_outcome, per_point
from sim.plots.data import Tables, as_tables, outcome_colour, outcome_label
from sim.plots.style import (
    INK,
    axes_list,
    caption,
    figure_of,
    new_figure,
    percent_axis,
    shade,
    titles,
    whiskers,
)
from sim.results import ResultsError, outcome_classes
from sim.stats import Z95

__all__ = [
    "MAX_COMBO_LINES",
    "MAX_SCATTER_POINTS",
    "design_kind",
    "heatmap_pairs",
    "influence_dataset",
    "is_sampled",
    "number",
    "path_label",
    "plot_influence",
    "plot_sweep_heatmap",
    "plot_sweep_outcomes",
    "sweep_heatmap_dataset",
    "sweep_outcomes_dataset",
    "sweep_outcome",
    "sweep_paths",
    "sweep_scatter_dataset",
]


# ============================================================================ varied paths
def sweep_paths(data: Any) -> list[str]:
    """The varied paths of a sweep: the manifest's design paths found in the points table."""
    t = as_tables(data)
    pts = t.points
    if pts is None:
        return []
    design = t.manifest.get("design") or {}
    paths = [p for p in (design.get("paths") or []) if p in pts.columns]
    return paths or [c for c in pts.columns if c != "point"]


def design_kind(data: Any) -> str:
    """The sweep's design (grid, lhs, sobol-sequence, saltelli, morris; ``sobol`` in folders
    made before the sequence was renamed) from its manifest; "grid" when not stated."""
    return str((as_tables(data).manifest.get("design") or {}).get("design", "grid"))


def is_sampled(design: Any) -> bool:
    """Whether a sweep's design samples its points (``lhs``, ``sobol-sequence``, SALib's
    ``saltelli`` and ``morris``: any name but ``grid``) rather than crossing every value of every
    path. `design`: a design name, or a sweep's data (its manifest's design).

    In a sampled design each point has its own value of every path, so the charts show points
    on the paths' true scales (never a cell per distinct value) and say that a path's trend is
    marginalised over the others."""
    name = design if isinstance(design, str) else design_kind(design)
    return name.strip().lower() != "grid"


def sweep_outcome(data: Any, outcome: str | Outcome | None = None) -> Outcome:
    """The :class:`sim.outcomes.Outcome` a sweep chart reads: `outcome` parsed against the
    scenario's armed factions (None: the durable ceasefire); :class:`sim.outcomes.OutcomeError`
    naming the valid specs otherwise."""
    if isinstance(outcome, Outcome):
        return outcome
    t = as_tables(data)
    return parse_outcome(outcome, t.info.armed, t.info.weeks)


def path_label(path: str) -> str:
    """A dotted path with its unit from the scenario schema, e.g. 'backers.x.capacity
    (units/week)'."""
    from sim import scenario as S

    groups = {"model": S.ModelParams, "factions": S.Faction, "backers": S.Backer,
              "mediators": S.Mediator, "sites": S.Site}
    cls = groups.get(path.split(".")[0])
    f = cls.model_fields.get(path.split(".")[-1]) if cls else None
    extra = f.json_schema_extra if f is not None and isinstance(f.json_schema_extra, dict) \
        else {}
    unit = extra.get("unit", "")
    return f"{path} ({unit})" if unit else path


def _runs_and_points(t: Tables) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = t.runs
    if "point" not in runs.columns:
        raise ResultsError("the runs table has no point column (not a sweep)")
    pts = t.points
    if pts is None:
        raise ResultsError("no points table (points.parquet)")
    return runs, pts


def _frame(t: Tables, outcome: Outcome) -> pd.DataFrame:
    """One row per run: its point, its outcome value ``y`` and the point's varied values."""
    runs, pts = _runs_and_points(t)
    df = pd.DataFrame({"point": runs["point"].to_numpy(), "y": outcome.values(runs)})
    return df.merge(pts, on="point", how="left")


def _is_categorical(values: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values)


def number(v: Any) -> str:
    """A varied value for a tick or a legend: at most 4 significant digits (0.0426, 4.667,
    1.2e+05), text as it is."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)):
        return str(v)
    return f"{float(v):.4g}"


def _bins(values: pd.Series, max_bins: int) -> tuple[pd.Series, list[str], np.ndarray, str]:
    """Group a varied path's values: each distinct value when few ("values"), quantile bins of
    a sampled range ("bins"), or the categories of a list of strings or booleans
    ("categories"). Returns (group code per row, group labels, x position per group, mode)."""
    if _is_categorical(values):
        text = values.astype(str)
        cats = sorted(text.unique())
        code = text.map({c: i for i, c in enumerate(cats)}).astype(int)
        return code, cats, np.arange(len(cats), dtype=float), "categories"
    v = pd.to_numeric(values, errors="coerce")
    uniq = np.sort(v.dropna().unique())
    if len(uniq) <= max_bins:
        code = pd.Series(np.searchsorted(uniq, v), index=values.index)
        return code, [number(u) for u in uniq], uniq.astype(float), "values"
    edges = np.unique(np.quantile(v.dropna(), np.linspace(0, 1, max_bins + 1)))
    code = pd.Series(np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2),
                     index=values.index)
    labels = [f"{edges[i]:.3g}–{edges[i + 1]:.3g}" for i in range(len(edges) - 1)]
    mids = np.array([float(v[code == i].median()) if (code == i).any() else
                     (edges[i] + edges[i + 1]) / 2 for i in range(len(edges) - 1)])
    return code, labels, mids, "bins"


def _codes(values: pd.Series) -> np.ndarray:
    """Numeric values of a varied path (categories as their sorted codes)."""
    if _is_categorical(values):
        text = values.astype(str)
        cats = sorted(text.unique())
        return text.map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _class_outcomes(t: Tables) -> list[Outcome]:
    """Every outcome class of the runs as a yes/no outcome (victories first)."""
    classes = outcome_classes(t.runs, t.info.armed)
    factions = [*t.info.armed, *(c.split(":", 1)[1] for c in classes if ":" in c)]
    return [parse_outcome(c, factions) for c in classes]


def _combos(pr: pd.DataFrame, others: list[str]) -> pd.Series:
    """Each run's combination of the other varied paths' values, as a label ("" if none)."""
    if not others:
        return pd.Series([""] * len(pr), index=pr.index)
    return pr[others].apply(lambda r: ", ".join(number(v) for v in r), axis=1)


def sweep_outcomes_dataset(data: Any, path: str, *, max_bins: int = 10,
                           outcome: str | Outcome | None = None, split: bool = False
                           ) -> pd.DataFrame:
    """An outcome against the value of one varied path.

    `outcome`: a spec of :mod:`sim.outcomes` (e.g. ``victory:lna``, ``first_ceasefire``); by
    default every outcome class, each as a share of runs. Rows have the estimate (``value``,
    also ``share``), its 95% interval (``low``, ``high``: Wilson for shares, normal for means)
    and ``n`` runs. With few distinct values each is its own group; sampled ranges are grouped
    into quantile bins; strings and booleans are categories.

    The other varied paths are pooled (``others`` is ""), unless `split` and the design is a
    grid with other paths: then one row per group and combination of the other paths' values
    (``others``, their values in :func:`sweep_paths` order), so a line never joins points that
    differ in another path. Columns: group, label, x, grouping ("values", "bins" or
    "categories"), others, outcome, runs (runs with the outcome; NaN for a mean), n, value,
    share, low, high.
    """
    t = as_tables(data)
    outcomes = _class_outcomes(t) if outcome is None else [sweep_outcome(t, outcome)]
    base = _frame(t, outcomes[0])
    if path not in base.columns:
        raise ResultsError(f"{path!r} is not a varied path of this sweep")
    code, labels, mids, mode = _bins(base[path], max_bins)
    others = [p for p in sweep_paths(t) if p != path] if split and not is_sampled(t) else []
    labels_ = _combos(base, others).to_numpy()
    rank = (base[others].apply(tuple, axis=1).rank(method="dense").to_numpy(dtype=int)
            if others else np.zeros(len(base), dtype=int))   # combinations in value order
    keys = pd.DataFrame({"rank": rank, "others": labels_, "group": code.to_numpy()})
    rows = []
    runs = t.runs
    for o in outcomes:
        y = o.values(runs)
        for (_, combo, g), idx in keys.groupby(["rank", "others", "group"],
                                               sort=True).groups.items():
            sel = y[np.asarray(idx)]
            est, lo, hi = o.summary(sel)
            rows.append({"group": int(g), "label": labels[int(g)], "x": mids[int(g)],
                         "grouping": mode, "others": combo, "outcome": o.spec,
                         "runs": int(sel.sum()) if o.binary else math.nan, "n": len(sel),
                         "value": est, "share": est, "low": lo, "high": hi})
    return pd.DataFrame(rows, columns=["group", "label", "x", "grouping", "others", "outcome",
                                       "runs", "n", "value", "share", "low", "high"])


#: Most lines of one per combination of the other paths a grid's outcome chart draws in colour;
#: beyond, each combination is a thin grey line under the bold mean over them.
MAX_COMBO_LINES = 8


def _value_axis(a: Axes, o: Outcome, values: np.ndarray) -> None:
    if o.binary or o.kind == "level" and o.unit.startswith("share"):
        a.set_ylim(0, 1)
        percent_axis(a.yaxis)
    else:
        top = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
        a.set_ylim(0, max(top * 1.08, 1.0))


def plot_sweep_outcomes(data: Any, path: str, *, ax: Sequence[Axes] | None = None,
                        outcome: str | Outcome | None = None) -> Figure:
    """An outcome against the value of `path`, with 95% bands: by default small multiples of
    every outcome class that occurs (durable ceasefire first), with `outcome` (a spec of
    :mod:`sim.outcomes`) one panel of that outcome.

    How the other varied paths enter is stated on the chart: a grid draws one line per
    combination of their values (up to :data:`MAX_COMBO_LINES`, with a legend; beyond, thin grey
    lines per combination under the bold mean over them), so no line joins points that differ
    in another path; a sampled design bins `path` and marginalises over the others (each point's
    own value as a dot). `ax`: one Axes per panel."""
    t = as_tables(data)
    info = t.info
    sampled = is_sampled(t)
    df = sweep_outcomes_dataset(t, path, outcome=outcome, split=True)
    if outcome is None:
        seen = df.groupby("outcome")["runs"].sum()
        order = ["durable_ceasefire"] + [o for o in dict.fromkeys(df["outcome"])
                                         if o != "durable_ceasefire" and seen.get(o, 0) > 0]
        outs = {o.spec: o for o in _class_outcomes(t)}
    else:
        one = sweep_outcome(t, outcome)
        order, outs = [one.spec], {one.spec: one}
    n = len(order)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)

    def make():
        fig = new_figure(4.0 * ncols + 0.6 + (5.0 if n == 1 else 0), 2.9 * nrows + 1.8
                         + (1.4 if n == 1 else 0))
        axs = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
        for extra in axs[n:]:
            extra.set_visible(False)
        return axs[:n]

    axes, own = axes_list(ax, n, make)
    fig = axes[0].figure
    mode = str(df["grouping"].iloc[0]) if len(df) else "values"
    combos = list(dict.fromkeys(df["others"])) if len(df) else [""]
    others = [p for p in sweep_paths(t) if p != path]
    coloured = len(combos) <= MAX_COMBO_LINES
    pooled = None
    if not coloured:
        pooled = sweep_outcomes_dataset(t, path, outcome=outcome)
    per_point_y = {}
    if sampled:
        pts = t.points.set_index("point")
        for spec in order:
            pp = per_point(t.runs, outs[spec]).set_index("point")
            per_point_y[spec] = (_codes(pts.loc[pp.index, path]), pp["value"].to_numpy())
    palette = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
               "#666666"]
    for a, spec in zip(axes, order, strict=True):
        o = outs[spec]
        sub = df[df["outcome"] == spec]
        col = outcome_colour(spec, info) if o.binary else "#4575b4"
        if coloured:
            xs = sub["x"].to_numpy(dtype=float)
            dodge = 0.012 * (float(np.ptp(xs)) if len(xs) and mode != "categories" else 1.0)
            for k, combo in enumerate(combos):
                c = sub[sub["others"] == combo].sort_values("x")
                if len(combos) == 1:
                    lc = shade(col, -0.2)
                    a.fill_between(c["x"], c["low"], c["high"], color=col, alpha=0.25, lw=0)
                    a.plot(c["x"], c["value"], color=lc, marker="o", ms=4, lw=1.8,
                           gid="sweep-line")
                    continue
                lc = palette[k % len(palette)]
                cx = c["x"].to_numpy(dtype=float) + (k - (len(combos) - 1) / 2) * dodge
                a.errorbar(cx, c["value"], yerr=whiskers(c["value"], c["low"], c["high"]),
                           fmt="none", ecolor=lc, elinewidth=0.8, alpha=0.55)
                a.plot(cx, c["value"], color=lc, marker="o", ms=4, lw=1.6, gid="sweep-line",
                       label=combo)
        else:
            c = pooled[pooled["outcome"] == spec].sort_values("x")
            a.fill_between(c["x"], c["low"], c["high"], color=col, alpha=0.25, lw=0)
            a.plot(c["x"], c["value"], color=shade(col, -0.35), marker="o", ms=4, lw=2.2,
                   gid="sweep-line", label=f"mean over the {len(combos)} combinations", zorder=4)
            for combo in combos:
                cc = sub[sub["others"] == combo].sort_values("x")
                a.plot(cc["x"], cc["value"], color="#9e9e9e", lw=0.7, alpha=0.6,
                       gid="sweep-combo-line", zorder=2)
        if sampled and spec in per_point_y:
            px, py = per_point_y[spec]
            a.scatter(px, py, s=9, color="#555555", alpha=0.45, lw=0, gid="sweep-point",
                      zorder=1.5)
        title = outcome_label(spec, info) if o.binary else o.label[:1].upper() + o.label[1:]
        if outcome is not None:
            title = f"against {path}"
        a.set_title(title, loc="left", fontsize=10,
                    fontweight="bold" if spec == "durable_ceasefire" else "normal")
        _value_axis(a, o, np.concatenate([sub["high"].to_numpy(dtype=float),
                                          sub["value"].to_numpy(dtype=float)]))
        a.grid(alpha=0.25)
        if mode == "categories":
            labels = sub.drop_duplicates("x")
            a.set_xticks(labels["x"], labels["label"])
    for a in axes:
        if a.get_subplotspec().is_last_row() or not own:
            a.set_xlabel(path_label(path), fontsize=9)
        if a.get_subplotspec().is_first_col():
            o0 = outs[order[0]]
            a.set_ylabel("Share of runs" if o0.binary else o0.unit[:1].upper() + o0.unit[1:])
    if (len(combos) > 1 or not coloured) and len(df):
        legend = {"title": ("Other paths:\n" + "\n".join(others)) if coloured else None,
                  "fontsize": 7.5, "title_fontsize": 7.5, "frameon": False}
        if own:
            handles, names = axes[0].get_legend_handles_labels()
            fig.legend(handles, names, loc="outside right upper", **legend)
        else:
            axes[0].legend(loc="best", **legend)
    if own:
        for i, a in enumerate(axes):
            if i + ncols >= n:
                a.set_xlabel(path_label(path), fontsize=9)
                a.xaxis.set_tick_params(labelbottom=True)
        what = f"outcomes against {path}" if outcome is None else outs[order[0]].label
        fig.suptitle(f"{info.name}: {what}", x=0.01, ha="left", fontsize=13, fontweight="bold")
        caption(fig, [_outcomes_caption(t, outs[order[0]] if outcome is not None else None,
                                        mode, others, coloured, len(combos))], own)
    return fig


def _outcomes_caption(t: Tables, o: Outcome | None, mode: str, others: list[str],
                      coloured: bool, n_combos: int) -> str:
    bands = "bands" if n_combos == 1 or not coloured else "whiskers"
    if o is None or o.binary:
        which = "each" if o is None else "the"
        est = f"Lines: share of runs with {which} outcome; {bands}: 95% Wilson intervals."
    else:
        est = f"Lines: mean {o.label}; {bands}: 95% normal intervals."
    text = f"{est} {len(t.runs)} runs at {t.n_points} sweep points ({design_kind(t)} design)."
    if mode == "bins":
        text += " Values grouped into quantile bins (line points: bin medians)."
    if not others:
        return text
    names = ", ".join(others)
    if is_sampled(t):
        return (text + f" The other varied paths ({names}) are marginalised over: each bin "
                "mixes their sampled values, so a trend may partly reflect them. Dots: each "
                "sweep point's own value.")
    if coloured:
        return text + (f" One line per combination of the other varied paths ({names}): a "
                       "line joins only points that share their values (nudged sideways so "
                       "they do not hide each other).")
    return text + (f" Thin grey lines: each of the {n_combos} combinations of the other varied "
                   f"paths ({names}); bold line: the runs pooled over them (a balanced grid: "
                   "their mean).")


def sweep_heatmap_dataset(data: Any, x_path: str, y_path: str, *, max_bins: int = 8,
                          outcome: str | Outcome | None = None) -> dict[str, Any]:
    """An outcome (default P(durable ceasefire)) over two varied paths (others pooled): a grid.

    Returns ``share`` (the estimate, also as ``value``), ``low``, ``high`` and ``n`` (arrays
    indexed [y, x]), the x and y group labels, whether the values were binned (more distinct
    values than `max_bins`: quantile bins) and the outcome. A grid design keeps every distinct
    value of its paths; sampled designs are drawn as a scatter (:func:`sweep_scatter_dataset`).
    """
    t = as_tables(data)
    o = sweep_outcome(t, outcome)
    pr = _frame(t, o)
    for p in (x_path, y_path):
        if p not in pr.columns:
            raise ResultsError(f"{p!r} is not a varied path of this sweep")
    if not is_sampled(t):
        max_bins = max(max_bins, 10_000)
    cx, lx, _, mx = _bins(pr[x_path], max_bins)
    cy, ly, _, my = _bins(pr[y_path], max_bins)
    y = pr["y"].to_numpy()
    shape = (len(ly), len(lx))
    share, low, high = (np.full(shape, np.nan) for _ in range(3))
    n = np.zeros(shape, dtype=int)
    for (i, j), idx in pd.DataFrame({"y": cy, "x": cx}).groupby(["y", "x"]).groups.items():
        sel = y[np.asarray(list(idx))]
        n[i, j] = len(sel)
        share[i, j], low[i, j], high[i, j] = o.summary(sel)
    return {"x_path": x_path, "y_path": y_path, "x_labels": lx, "y_labels": ly,
            "share": share, "value": share, "low": low, "high": high, "n": n,
            "binned": mx == "bins" or my == "bins", "outcome": o}


def sweep_scatter_dataset(data: Any, x_path: str, y_path: str, *,
                          outcome: str | Outcome | None = None) -> pd.DataFrame:
    """The outcome at each sweep point with the point's values of two paths (on their true
    scales; categories as their sorted codes): columns point, x, y, runs, value, low, high."""
    t = as_tables(data)
    o = sweep_outcome(t, outcome)
    runs, pts = _runs_and_points(t)
    for p in (x_path, y_path):
        if p not in pts.columns:
            raise ResultsError(f"{p!r} is not a varied path of this sweep")
    pp = per_point(runs, o)
    at = pts.set_index("point").loc[pp["point"]]
    return pd.DataFrame({"point": pp["point"].to_numpy(), "x": _codes(at[x_path]),
                         "y": _codes(at[y_path]), "runs": pp["runs"].to_numpy(),
                         "value": pp["value"].to_numpy(), "low": pp["low"].to_numpy(),
                         "high": pp["high"].to_numpy()})


#: Above this many points the sampled two-path chart is a hexbin of the mean outcome per hex.
MAX_SCATTER_POINTS = 400


def _colour_scale(o: Outcome, values: np.ndarray) -> tuple[float, float, Any]:
    finite = values[np.isfinite(values)]
    if o.binary or o.unit.startswith("share"):
        top = max(0.05, math.ceil(finite.max() * 10) / 10) if len(finite) else 1.0
        return 0.0, top, PercentFormatter(1.0, decimals=0)
    lo = float(finite.min()) if len(finite) else 0.0
    hi = float(finite.max()) if len(finite) else 1.0
    return lo, max(hi, lo + 1e-9), None


def plot_sweep_heatmap(data: Any, paths: Sequence[str] | None = None, *,
                       ax: Axes | None = None, outcome: str | Outcome | None = None) -> Figure:
    """An outcome (default P(durable ceasefire); `outcome`: a spec of :mod:`sim.outcomes`) over
    two varied paths, the others pooled.

    A grid design is a heatmap with a cell per pair of values (annotated with the estimate and
    its runs). A sampled design (see :func:`is_sampled`) is a scatter of its points on the true
    scales of both paths, coloured by the outcome at the point (a hexbin of the mean per hex
    above :data:`MAX_SCATTER_POINTS` points)."""
    t = as_tables(data)
    paths = list(paths or sweep_paths(t)[:2])
    if len(paths) != 2:
        raise ResultsError("a heatmap needs two varied paths")
    if is_sampled(t):
        return _plot_scatter(t, paths, ax, sweep_outcome(t, outcome))
    info = t.info
    d = sweep_heatmap_dataset(t, paths[0], paths[1], outcome=outcome)
    o: Outcome = d["outcome"]
    fig, own = figure_of(ax)
    share = d["share"]
    if own:
        fig = new_figure(max(6.5, 0.9 * share.shape[1] + 3.5), max(4.8, 0.6 * share.shape[0] + 2.8))
        ax = fig.subplots()
    vmin, vmax, fmt = _colour_scale(o, share)
    im = ax.imshow(share, origin="lower", cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto",
                   gid="heatmap")
    cb = ax.figure.colorbar(im, ax=ax, format=fmt)
    cb.set_label(o.label)
    if share.size <= 150:
        for i in range(share.shape[0]):
            for j in range(share.shape[1]):
                v = share[i, j]
                if np.isnan(v):
                    continue
                light = im.cmap(im.norm(v))
                lum = 0.299 * light[0] + 0.587 * light[1] + 0.114 * light[2]
                est = f"{v:.0%}" if fmt is not None else f"{v:.3g}"
                ax.text(j, i, f"{est}\nn={d['n'][i, j]}", ha="center", va="center",
                        fontsize=7.5, color="black" if lum > 0.55 else "white")
    tilt = d["binned"] or len(d["x_labels"]) > 8
    ax.set_xticks(range(len(d["x_labels"])), d["x_labels"], rotation=30 if tilt else 0,
                  ha="right" if tilt else "center")
    ax.set_yticks(range(len(d["y_labels"])), d["y_labels"])
    ax.set_xlabel(path_label(paths[0]))
    ax.set_ylabel(path_label(paths[1]))
    others = [p for p in sweep_paths(t) if p not in paths]
    est = "share" if o.binary else "mean"
    titles(fig, ax, f"{info.name}: {o.label}",
            f"{len(t.runs)} runs at {t.n_points} sweep points; cell: {est} and runs", own)
    caption(fig, [("Values grouped into quantile bins. " if d["binned"] else "")
                   + (f"Pooled over the other varied paths: {', '.join(others)} (a balanced "
                      "grid: the mean over their values)." if others else "")], own)
    return fig


def _plot_scatter(t: Tables, paths: list[str], ax: Axes | None, o: Outcome) -> Figure:
    info = t.info
    d = sweep_scatter_dataset(t, paths[0], paths[1], outcome=o)
    fig, own = figure_of(ax)
    if own:
        fig = new_figure(8.2, 6.2)
        ax = fig.subplots()
    vmin, vmax, fmt = _colour_scale(o, d["value"].to_numpy(dtype=float))
    hexbin = len(d) > MAX_SCATTER_POINTS
    if hexbin:
        art = ax.hexbin(d["x"], d["y"], C=d["value"], reduce_C_function=np.mean,
                        gridsize=int(min(30, max(8, math.sqrt(len(d) / 3)))), cmap="viridis",
                        vmin=vmin, vmax=vmax, mincnt=1, linewidths=0.2, gid="sweep-hexbin")
    else:
        runs = d["runs"].to_numpy(dtype=float)
        size = 18 + 70 * np.sqrt(runs / max(runs.max(), 1))
        art = ax.scatter(d["x"], d["y"], c=d["value"], s=size, cmap="viridis", vmin=vmin,
                         vmax=vmax, edgecolors="#333333", linewidths=0.4, gid="sweep-scatter")
    cb = ax.figure.colorbar(art, ax=ax, format=fmt)
    cb.set_label(textwrap.fill(o.label + (" (mean per hexagon)" if hexbin else ""), 38))
    pts = t.points
    for axis, p in ((ax.xaxis, paths[0]), (ax.yaxis, paths[1])):
        if _is_categorical(pts[p]):
            cats = sorted(pts[p].astype(str).unique())
            (ax.set_xticks if axis is ax.xaxis else ax.set_yticks)(range(len(cats)), cats)
        else:
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v)))
    ax.margins(0.04)
    ax.grid(alpha=0.2)
    ax.set_xlabel(path_label(paths[0]))
    ax.set_ylabel(path_label(paths[1]))
    others = [p for p in sweep_paths(t) if p not in paths]
    runs_per = sorted(set(int(r) for r in d["runs"]))
    each = (f"{runs_per[0]} runs each" if len(runs_per) == 1
            else f"{runs_per[0]}–{runs_per[-1]} runs each (larger: more runs)")
    what = "hexagons: mean over the points in each" if hexbin else f"one dot per point, {each}"
    titles(fig, ax, f"{info.name}: {o.label}",
           f"{design_kind(t)} design, {len(d)} sweep points ({what})", own)
    est = ("the point's share of runs" if o.binary else f"the point's mean {o.label}")
    if hexbin:
        est = f"the mean over the points in the hexagon of {est.replace('the ', 'each ', 1)}"
    marks = "hexagons" if hexbin else "dots"
    caption(fig, [f"Colour: {est}, with Monte Carlo noise from finite runs. Both axes on "
                   "the sampled values' own scales."
                   + (f" The other varied paths ({', '.join(others)}) vary between points too: "
                      f"neighbouring {marks} can differ because of them." if others else "")],
            own)
    return fig


def influence_dataset(data: Any, *, n_boot: int = 200, seed: int = 0,
                      outcome: str | Outcome | None = None) -> pd.DataFrame:
    """How much each varied path moves an outcome (default the share of durable ceasefires;
    `outcome`: a spec of :mod:`sim.outcomes`), over sweep points.

    Per path: Spearman's rank correlation of the point's value with the point's outcome (its
    share of runs, or its mean) (95% interval by Fisher's z with the Bonett–Wright standard error
    sqrt(1.06 / (n - 3)), and its p-value); and a first-order sensitivity index estimated from
    the given sample (Var(E[Y | X_i]) / Var(Y), by quantile bins of X_i, bias-adjusted like
    epsilon-squared so a path with no effect scores about 0; 95% interval by bootstrap over
    points). Y, the point's outcome, includes Monte Carlo noise from its finite runs.
    """
    from scipy import stats

    t = as_tables(data)
    runs = t.runs
    pts = t.points
    if pts is None or "point" not in runs.columns:
        raise ResultsError("not a sweep: no points table")
    per = per_point(runs, sweep_outcome(t, outcome)).set_index("point")[["value", "runs"]]
    df = pts.set_index("point").join(per, how="inner")
    y = df["value"].to_numpy(dtype=float)
    n = len(df)
    rng = np.random.default_rng(seed)
    boots = [rng.integers(0, n, n) for _ in range(n_boot)] if n > 3 else []
    rows = []
    for p in sweep_paths(t):
        x = _codes(df[p])
        ok = ~np.isnan(x)
        categorical = _is_categorical(df[p])
        if categorical or ok.sum() < 4 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
            rho, pval = math.nan, math.nan
        else:
            res = stats.spearmanr(x[ok], y[ok])
            rho, pval = float(res.statistic), float(res.pvalue)
        m = int(ok.sum())
        if m > 4 and not math.isnan(rho):
            zr = math.atanh(max(min(rho, 0.999999), -0.999999))
            se = math.sqrt(1.06 / (m - 3))
            lo, hi = math.tanh(zr - Z95 * se), math.tanh(zr + Z95 * se)
        else:
            lo = hi = math.nan
        xo, yo = x[ok], y[ok]
        s1 = _first_order(xo, yo)
        bs = [_first_order(xo[i], yo[i]) for i in boots if len(xo) == n]
        bs = [v for v in bs if not math.isnan(v)]
        s_lo, s_hi = (np.quantile(bs, [0.025, 0.975]) if len(bs) > 10 else (math.nan, math.nan))
        rows.append({"path": p, "categorical": categorical, "points": m, "spearman": rho,
                     "low": lo, "high": hi, "p_value": pval, "first_order": s1,
                     "first_order_low": float(s_lo), "first_order_high": float(s_hi)})
    out = pd.DataFrame(rows)
    if len(out):
        out = out.sort_values("spearman", key=lambda s: -s.abs().fillna(-1), ignore_index=True)
    return out


def _first_order(x: np.ndarray, y: np.ndarray) -> float:
    """Given-data first-order index: between-bin share of variance, bias-adjusted (epsilon²)."""
    n = len(y)
    if n < 8 or np.ptp(y) == 0:
        return math.nan
    n_bins = int(min(max(2, round(math.sqrt(n / 2))), len(np.unique(x)), 20))
    if n_bins < 2:
        return math.nan
    if len(np.unique(x)) <= n_bins:
        code = np.searchsorted(np.unique(x), x)
    else:
        order = np.argsort(x, kind="stable")
        code = np.empty(n, dtype=int)
        code[order] = np.arange(n) * n_bins // n
    mean = y.mean()
    ss_tot = float(((y - mean) ** 2).sum())
    ss_b = sum(len(y[code == g]) * (y[code == g].mean() - mean) ** 2 for g in np.unique(code))
    k = len(np.unique(code))
    ms_w = (ss_tot - ss_b) / max(n - k, 1)
    return float(max(0.0, (ss_b - (k - 1) * ms_w) / (ss_tot + ms_w)))


def plot_influence(data: Any, *, ax: Sequence[Axes] | None = None,
                   outcome: str | Outcome | None = None) -> Figure:
    """The influence of each varied path on an outcome (default the share of durable
    ceasefires; `outcome`: a spec of :mod:`sim.outcomes`): Spearman rank correlations (left)
    and given-data first-order sensitivity indices (right), each with 95% intervals. See
    :func:`influence_dataset` for the estimators. `ax`: two Axes."""
    t = as_tables(data)
    info = t.info
    o = sweep_outcome(t, outcome)
    df = influence_dataset(t, outcome=o)
    n = len(df)
    axes, own = axes_list(ax, 2, lambda: new_figure(12, 0.55 * n + 2.6).subplots(
        1, 2, sharey=True))
    fig = axes[0].figure
    a, b = axes
    y = np.arange(n)
    cols = ["#1a9850" if v > 0 else "#d73027" for v in df["spearman"].fillna(0)]
    a.barh(y, df["spearman"].fillna(0), color=cols, height=0.6, gid="spearman-bar")
    a.errorbar(df["spearman"].fillna(0), y, xerr=whiskers(df["spearman"], df["low"], df["high"]),
               fmt="none", ecolor=INK, capsize=3, lw=1)
    for yi, r in zip(y, df.itertuples(), strict=True):
        ptxt = "p<0.001" if r.p_value < 0.001 else f"p={r.p_value:.2g}"
        why = ("categorical: no rank order" if r.categorical
               else "no variation in the outcome")
        a.text(0.98, yi - 0.32, f"ρ={r.spearman:+.2f}, {ptxt}" if not math.isnan(r.spearman)
               else why, va="center", ha="right", fontsize=8,
               color=INK, transform=a.get_yaxis_transform())
    a.axvline(0, color=INK, lw=0.8)
    a.set_xlim(-1, 1)
    a.set_yticks(y, [path_label(p) for p in df["path"]], fontsize=8.5)
    a.invert_yaxis()
    a.set_xlabel(f"Spearman ρ: point value vs. its {o.label}")
    a.set_title("Rank correlation (95% interval)", loc="left", fontsize=10)
    a.grid(axis="x", alpha=0.25)
    b.barh(y, df["first_order"].fillna(0), color="#4575b4", height=0.6, gid="sobol-bar")
    b.errorbar(df["first_order"].fillna(0), y, xerr=whiskers(
        df["first_order"], df["first_order_low"], df["first_order_high"]), fmt="none",
        ecolor=INK, capsize=3, lw=1)
    b.set_xlim(0, 1)
    b.set_xlabel("First-order index (share of the variance due to the path alone)")
    b.set_title("First-order sensitivity (given-data estimate, 95% bootstrap)", loc="left",
                fontsize=10)
    b.grid(axis="x", alpha=0.25)
    if own:
        fig.suptitle(f"{info.name}: which varied paths matter for {o.label}", x=0.01,
                     ha="left", fontsize=13, fontweight="bold")
        est = "share of runs" if o.binary else "mean over its runs"
        caption(fig, [f"{design_kind(t)} design, {t.n_points} points, {len(t.runs)} runs. "
                       f"Outcome per point: {o.label}, its {est} (with Monte Carlo "
                       "noise from its runs). First-order index Var(E[Y|X])/Var(Y) estimated "
                       "from the sample by quantile bins of each path, bias-adjusted "
                       "(epsilon²), not by Saltelli's pick-freeze scheme: for Sobol indices "
                       "with intervals, sweep a saltelli design and run negsim analyze."], own)
    return fig


def heatmap_pairs(t: Tables, *, outcome: str | Outcome | None = None
                  ) -> list[tuple[str, str]]:
    """The pairs of varied paths the two-path chart shows: the two paths of a two-path sweep or
    a grid, else the two most influential on `outcome` (by |Spearman's rho|, see
    :func:`influence_dataset`)."""
    paths = sweep_paths(t)
    if len(paths) == 2:
        return [(paths[0], paths[1])]
    if design_kind(t) == "grid" or t.n_points < 8:
        return [(paths[0], paths[1])]
    inf = influence_dataset(t, n_boot=0, outcome=outcome)
    top = list(inf["path"][:2])
    return [(top[0], top[1])]
