"""The chart of a sensitivity analysis (``negsim analyze``): Sobol or delta indices as bars with
their 95% intervals, or Morris's mu* against sigma."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.plots.style import INK, caption, new_figure, titles, whiskers

__all__ = ["plot_indices"]

_BARS = {"sobol": (("S1", "first order S1 (the path alone)", "#4575b4"),
                   ("ST", "total order ST (with its interactions)", "#d73027")),
         "delta": (("delta", "delta (moment-independent)", "#4575b4"),
                   ("S1", "first order S1", "#91bfdb"))}


def plot_indices(table: pd.DataFrame, method: str, outcome_label: str,
                 notes: tuple[str, ...] = ()) -> Figure:
    """A figure of `method`'s indices (:class:`sim.analysis.Indices` ``table``) of an outcome;
    `notes` go under it (the run counts, warnings)."""
    n = len(table)
    fig = new_figure(8.5, 1.6 + 0.55 * max(n, 2) + 0.25 * len(notes))
    ax = fig.add_subplot()
    if method == "morris":
        _morris(ax, table)
        sub = ("mu*: mean absolute change of the outcome as a path moves over its range "
               "(95% interval); sigma: how much it depends on the other paths")
    else:
        _bars(ax, table, method)
        sub = "Sobol indices (SALib, bootstrap 95% intervals)" if method == "sobol" else \
            "Delta and first-order indices from the given data (SALib, 95% intervals)"
    titles(fig, ax, f"Sensitivity of {outcome_label}", sub, True)
    caption(fig, notes, True)
    return fig


def _bars(ax, table: pd.DataFrame, method: str) -> None:
    y = np.arange(len(table))
    h = 0.38
    for k, (col, label, colour) in enumerate(_BARS[method]):
        v = table[col].astype(float).fillna(0).to_numpy()
        c = table[f"{col}_conf"].astype(float).fillna(0).to_numpy()
        yy = y + (k - 0.5) * h
        ax.barh(yy, v, height=h, color=colour, label=label, gid=f"bar-{col}")
        ax.errorbar(v, yy, xerr=whiskers(v, v - c, v + c), fmt="none", ecolor=INK, capsize=3,
                    lw=1)
    ax.set_yticks(y, list(table["path"]), fontsize=8.5)
    ax.invert_yaxis()
    ax.axvline(0, color=INK, lw=0.8)
    ax.set_xlim(min(-0.05, ax.get_xlim()[0]), max(1.0, ax.get_xlim()[1]))
    ax.set_xlabel("index (share of the outcome's variance)" if method == "sobol" else "index")
    ax.grid(axis="x", alpha=0.25)
    ax.legend(loc="best", fontsize=8, framealpha=0.9)


def _morris(ax, table: pd.DataFrame) -> None:
    mu = table["mu_star"].astype(float).to_numpy()
    c = table["mu_star_conf"].astype(float).fillna(0).to_numpy()
    sd = table["sigma"].astype(float).to_numpy()
    ax.errorbar(mu, sd, xerr=whiskers(mu, mu - c, mu + c), fmt="o", color="#4575b4",
                ecolor=INK, capsize=3, lw=1, gid="morris-points")
    for x, yv, p in zip(mu, sd, table["path"], strict=True):
        ax.annotate(str(p), (x, yv), xytext=(5, 4), textcoords="offset points", fontsize=8)
    top = float(np.nanmax(np.r_[mu + c, sd, 1e-9]))
    ax.plot([0, top], [0, top], color="#999999", lw=0.8, ls="--")
    ax.set_xlim(0, top * 1.15)
    ax.set_ylim(0, top * 1.15)
    ax.set_xlabel("mu* (mean absolute elementary effect)")
    ax.set_ylabel("sigma")
    ax.grid(alpha=0.25)
