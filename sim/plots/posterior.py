"""The pair plot of a calibration's posterior (``negsim calibrate``).

On the diagonal, each parameter's weighted histogram over its prior range, with the median and
the 90% credible interval; below it, every pair of parameters as the particles (area by weight);
the axes span the prior ranges, so how far the posterior is narrowed shows at a glance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from sim.abcsmc import Population, weighted_quantile
from sim.plots.style import BLOC_COLOURS, INK, caption, new_figure

__all__ = ["pair_plot"]


def _short(path: str) -> str:
    return path if len(path) <= 28 else "…" + path[-27:]


def pair_plot(pop: Population, paths: Sequence[str], ranges: Sequence[tuple[float, float]],
              title: str, note: str = "") -> Figure:
    """A figure of ``len(paths)`` x ``len(paths)`` panels (see the module)."""
    d = len(paths)
    size = max(2.4, min(3.2, 10 / d))
    fig = new_figure(size * d + 0.4, size * d + 1.0)
    axes = np.atleast_2d(fig.subplots(d, d, squeeze=False))
    w = pop.weights
    colour = BLOC_COLOURS[0]
    bins = int(np.clip(1.5 * np.sqrt(len(w)), 8, 25))  # ~9 for 40 particles, 25 from 280
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
                continue
            xi = pop.theta[:, j]
            lo, hi = ranges[j]
            if i == j:
                ax.hist(xi, bins=bins, range=(lo, hi), weights=w, color=colour, alpha=0.75)
                q05, q50, q95 = weighted_quantile(xi, w, [0.05, 0.5, 0.95])
                ax.axvspan(q05, q95, color=colour, alpha=0.12, lw=0)
                ax.axvline(q50, color=INK, lw=1.2)
                ax.set_yticks([])
                ax.set_title(f"{_short(paths[i])}\nmedian {q50:.3g} [{q05:.3g}, {q95:.3g}]",
                             fontsize=8, loc="left")
            else:
                yi = pop.theta[:, i]
                ax.scatter(xi, yi, s=8 + 400 * w / w.max() / np.sqrt(len(w)), color=colour,
                           alpha=0.45, lw=0)
                ax.set_ylim(*ranges[i])
                if j == 0:
                    ax.set_ylabel(_short(paths[i]), fontsize=8)
            ax.set_xlim(lo, hi)
            ax.tick_params(labelsize=7)
            if i == d - 1:
                ax.set_xlabel(_short(paths[j]), fontsize=8)
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    caption(fig, ["Diagonal: weighted histogram of each fact over its prior range, the median "
                  "(line) and the 90% credible interval (band). Below: the particles of the last "
                  "population, area by importance weight.", note], True)
    return fig
