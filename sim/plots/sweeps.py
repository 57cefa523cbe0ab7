"""Charts of a sweep folder: outcomes against each varied path, a heatmap over two paths and
the influence of each path on a durable ceasefire."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

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
from sim.results import ResultsError, outcome_classes, wilson
from sim.stats import Z95

__all__ = [
    "design_kind",
    "heatmap_pairs",
    "influence_dataset",
    "path_label",
    "plot_influence",
    "plot_sweep_heatmap",
    "plot_sweep_outcomes",
    "sweep_heatmap_dataset",
    "sweep_outcomes_dataset",
    "sweep_paths",
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
    """The sweep's design (grid, lhs, sobol, ...) from its manifest; "grid" when not stated."""
    return str((as_tables(data).manifest.get("design") or {}).get("design", "grid"))


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


def _point_runs(t: Tables) -> pd.DataFrame:
    runs = t.runs
    if "point" not in runs.columns:
        raise ResultsError("the runs table has no point column (not a sweep)")
    pts = t.points
    if pts is None:
        raise ResultsError("no points table (points.parquet)")
    return runs[["point", "outcome"]].merge(pts, on="point", how="left")


def _is_categorical(values: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values)


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
        return code, [f"{u:g}" for u in uniq], uniq.astype(float), "values"
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


def sweep_outcomes_dataset(data: Any, path: str, *, max_bins: int = 10) -> pd.DataFrame:
    """Probability of each outcome against the value of one varied path (other paths pooled).

    With few distinct values each is its own group; sampled ranges are grouped into quantile
    bins; strings and booleans are categories. Columns: group, label, x, grouping ("values",
    "bins" or "categories"), outcome, runs, n, share, low, high (Wilson 95%).
    """
    t = as_tables(data)
    pr = _point_runs(t)
    if path not in pr.columns:
        raise ResultsError(f"{path!r} is not a varied path of this sweep")
    code, labels, mids, mode = _bins(pr[path], max_bins)
    pr = pr.assign(group=code.to_numpy())
    classes = outcome_classes(t.runs, t.info.armed)
    rows = []
    for g, sub in pr.groupby("group", sort=True):
        n = len(sub)
        counts = sub["outcome"].astype(str).value_counts()
        for c in classes:
            k = int(counts.get(c, 0))
            lo, hi = wilson(k, n)
            rows.append({"group": int(g), "label": labels[int(g)], "x": mids[int(g)],
                         "grouping": mode, "outcome": c, "runs": k, "n": n,
                         "share": k / n if n else math.nan, "low": lo, "high": hi})
    return pd.DataFrame(rows)


def plot_sweep_outcomes(data: Any, path: str, *, ax: Sequence[Axes] | None = None) -> Figure:
    """Small multiples, one per outcome (durable ceasefire first): the probability of the
    outcome against the value of `path`, with 95% Wilson bands (other varied paths pooled).
    `ax`: one Axes per outcome that occurs (and the durable ceasefire)."""
    t = as_tables(data)
    info = t.info
    df = sweep_outcomes_dataset(t, path)
    seen = df.groupby("outcome")["runs"].sum()
    order = ["durable_ceasefire"] + [o for o in dict.fromkeys(df["outcome"])
                                     if o != "durable_ceasefire" and seen.get(o, 0) > 0]
    n = len(order)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)

    def make():
        fig = new_figure(4.0 * ncols + 0.6, 2.9 * nrows + 1.6)
        axs = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
        for extra in axs[n:]:
            extra.set_visible(False)
        return axs[:n]

    axes, own = axes_list(ax, n, make)
    fig = axes[0].figure
    mode = str(df["grouping"].iloc[0]) if len(df) else "values"
    binned = mode == "bins"
    for a, o in zip(axes, order, strict=True):
        sub = df[df["outcome"] == o].sort_values("x")
        col = outcome_colour(o, info)
        a.fill_between(sub["x"], sub["low"], sub["high"], color=col, alpha=0.25, lw=0)
        a.plot(sub["x"], sub["share"], color=shade(col, -0.2), marker="o", ms=4, lw=1.8,
               gid="sweep-line")
        a.set_title(outcome_label(o, info), loc="left", fontsize=10,
                    fontweight="bold" if o == "durable_ceasefire" else "normal")
        a.set_ylim(0, 1)
        percent_axis(a.yaxis)
        a.grid(alpha=0.25)
        if mode == "categories":
            labels = sub.drop_duplicates("x")
            a.set_xticks(labels["x"], labels["label"])
    for a in axes:
        if a.get_subplotspec().is_last_row() or not own:
            a.set_xlabel(path_label(path), fontsize=9)
        if a.get_subplotspec().is_first_col():
            a.set_ylabel("Share of runs")
    if own:
        # the last row may be incomplete: label the x axes of panels with no panel below
        for i, a in enumerate(axes):
            if i + ncols >= n:
                a.set_xlabel(path_label(path), fontsize=9)
                a.xaxis.set_tick_params(labelbottom=True)
        others = [p for p in sweep_paths(t) if p != path]
        fig.suptitle(f"{info.name}: outcomes against {path}", x=0.01, ha="left", fontsize=13,
                     fontweight="bold")
        caption(fig, [f"Lines: share of runs with each outcome; bands: 95% Wilson intervals. "
                       f"{len(t.runs)} runs at {t.n_points} sweep points."
                       + (" Values grouped into quantile bins (points: bin medians)."
                          if binned else "")
                       + (f" Pooled over the other varied paths: {', '.join(others)}."
                          if others else "")], own)
    return fig


def sweep_heatmap_dataset(data: Any, x_path: str, y_path: str, *, max_bins: int = 8
                          ) -> dict[str, Any]:
    """P(durable ceasefire) over two varied paths (others pooled): a grid of shares.

    Returns share and n (arrays indexed [y, x]), the x and y group labels, and whether the
    values were binned (sampled designs: quantile bins).
    """
    t = as_tables(data)
    pr = _point_runs(t)
    for p in (x_path, y_path):
        if p not in pr.columns:
            raise ResultsError(f"{p!r} is not a varied path of this sweep")
    cx, lx, _, mx = _bins(pr[x_path], max_bins)
    cy, ly, _, my = _bins(pr[y_path], max_bins)
    bx, by = mx == "bins", my == "bins"
    durable = (pr["outcome"].astype(str) == "durable_ceasefire").to_numpy()
    share = np.full((len(ly), len(lx)), np.nan)
    n = np.zeros((len(ly), len(lx)), dtype=int)
    for (i, j), idx in pd.DataFrame({"y": cy, "x": cx}).groupby(["y", "x"]).groups.items():
        sel = durable[np.asarray(list(idx))]
        n[i, j] = len(sel)
        share[i, j] = sel.mean() if len(sel) else np.nan
    return {"x_path": x_path, "y_path": y_path, "x_labels": lx, "y_labels": ly,
            "share": share, "n": n, "binned": bx or by}


def plot_sweep_heatmap(data: Any, paths: Sequence[str] | None = None, *,
                       ax: Axes | None = None) -> Figure:
    """Heatmap of the probability of a durable ceasefire over two varied paths (annotated with
    the share and the number of runs per cell; other paths pooled)."""
    t = as_tables(data)
    info = t.info
    paths = list(paths or sweep_paths(t)[:2])
    if len(paths) != 2:
        raise ResultsError("a heatmap needs two varied paths")
    d = sweep_heatmap_dataset(t, paths[0], paths[1])
    fig, own = figure_of(ax)
    share = d["share"]
    if own:
        fig = new_figure(max(6.5, 0.9 * share.shape[1] + 3.5), max(4.8, 0.6 * share.shape[0] + 2.8))
        ax = fig.subplots()
    vmax = max(0.05, math.ceil(np.nanmax(share) * 10) / 10) if np.isfinite(share).any() else 1
    im = ax.imshow(share, origin="lower", cmap="viridis", vmin=0, vmax=vmax, aspect="auto",
                   gid="heatmap")
    cb = ax.figure.colorbar(im, ax=ax, format=PercentFormatter(1.0, decimals=0))
    cb.set_label("P(durable ceasefire)")
    if share.size <= 150:
        for i in range(share.shape[0]):
            for j in range(share.shape[1]):
                v = share[i, j]
                if np.isnan(v):
                    continue
                light = im.cmap(im.norm(v))
                lum = 0.299 * light[0] + 0.587 * light[1] + 0.114 * light[2]
                ax.text(j, i, f"{v:.0%}\nn={d['n'][i, j]}", ha="center", va="center",
                        fontsize=7.5, color="black" if lum > 0.55 else "white")
    ax.set_xticks(range(len(d["x_labels"])), d["x_labels"],
                  rotation=30 if d["binned"] or len(d["x_labels"]) > 8 else 0,
                  ha="right" if d["binned"] or len(d["x_labels"]) > 8 else "center")
    ax.set_yticks(range(len(d["y_labels"])), d["y_labels"])
    ax.set_xlabel(path_label(paths[0]))
    ax.set_ylabel(path_label(paths[1]))
    others = [p for p in sweep_paths(t) if p not in paths]
    titles(fig, ax, f"{info.name}: probability of a durable ceasefire",
            f"{len(t.runs)} runs at {t.n_points} sweep points; cell: share and runs", own)
    caption(fig, [("Values grouped into quantile bins. " if d["binned"] else "")
                   + (f"Pooled over the other varied paths: {', '.join(others)}."
                      if others else "")], own)
    return fig


def influence_dataset(data: Any, *, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """How much each varied path moves the share of durable ceasefires, over sweep points.

    Per path: Spearman's rank correlation of the point's value with the point's durable-ceasefire
    share (95% interval by Fisher's z with the Bonett–Wright standard error
    sqrt(1.06 / (n - 3)), and its p-value); and a first-order sensitivity index estimated from
    the given sample (Var(E[Y | X_i]) / Var(Y), by quantile bins of X_i, bias-adjusted like
    epsilon-squared so a path with no effect scores about 0; 95% interval by bootstrap over
    points). Y, the point's share, includes Monte Carlo noise from its finite runs.
    """
    from scipy import stats

    t = as_tables(data)
    runs = t.runs
    pts = t.points
    if pts is None or "point" not in runs.columns:
        raise ResultsError("not a sweep: no points table")
    per = runs.assign(d=(runs["outcome"].astype(str) == "durable_ceasefire")).groupby(
        "point")["d"].agg(["mean", "size"]).rename(columns={"mean": "durable", "size": "runs"})
    df = pts.set_index("point").join(per, how="inner")
    y = df["durable"].to_numpy(dtype=float)
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


def plot_influence(data: Any, *, ax: Sequence[Axes] | None = None) -> Figure:
    """The influence of each varied path on the share of durable ceasefires: Spearman rank
    correlations (left) and given-data first-order sensitivity indices (right), each with 95%
    intervals. See :func:`influence_dataset` for the estimators. `ax`: two Axes."""
    t = as_tables(data)
    info = t.info
    df = influence_dataset(t)
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
    a.set_xlabel("Spearman ρ: point value vs. its durable-ceasefire share")
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
        fig.suptitle(f"{info.name}: which varied paths matter for a durable ceasefire", x=0.01,
                     ha="left", fontsize=13, fontweight="bold")
        caption(fig, [f"{design_kind(t)} design, {t.n_points} points, {len(t.runs)} runs. "
                       "Outcome per point: its share of durable ceasefires (with Monte Carlo "
                       "noise from its runs). First-order index Var(E[Y|X])/Var(Y) estimated "
                       "from the sample by quantile bins of each path, bias-adjusted "
                       "(epsilon²), not by Saltelli's pick-freeze scheme."], own)
    return fig


def heatmap_pairs(t: Tables) -> list[tuple[str, str]]:
    """The pairs of varied paths the heatmap chart shows: the two paths of a two-path sweep or
    a grid, else the two most influential (by |Spearman's rho|, see :func:`influence_dataset`)."""
    paths = sweep_paths(t)
    if len(paths) == 2:
        return [(paths[0], paths[1])]
    if design_kind(t) == "grid" or t.n_points < 8:
        return [(paths[0], paths[1])]
    inf = influence_dataset(t, n_boot=0)
    top = list(inf["path"][:2])
    return [(top[0], top[1])]
