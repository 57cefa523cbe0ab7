"""Colours, figure and axis helpers shared by every chart (and by :mod:`sim.compare`).

Nothing here reads results: the helpers take a figure, an axes, colours or dated marks.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

__all__ = [
    "BLOC_COLOURS",
    "EVENT_INK",
    "INK",
    "MEDIATOR_COLOURS",
    "OUTCOME_COLOURS",
    "OUTCOME_NAMES",
    "SHADES",
    "Calendar",
    "EventMark",
    "axes_list",
    "caption",
    "date_axis",
    "event_key",
    "figure_of",
    "mark_events",
    "new_figure",
    "pct",
    "percent_axis",
    "save_figure",
    "shade",
    "titles",
    "whiskers",
]


# ============================================================================ colours
BLOC_COLOURS = ["#1f77b4", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
                "#bcbd22"]
MEDIATOR_COLOURS = ["#e6ab02", "#7570b3", "#a6761d", "#666666", "#1b9e77", "#e7298a"]
OUTCOME_COLOURS = {"durable_ceasefire": "#1a9850", "fragile_ceasefire": "#a6d96a",
                   "stalemate": "#969696", "ongoing": "#fdae61"}
OUTCOME_NAMES = {"durable_ceasefire": "Durable ceasefire", "fragile_ceasefire": "Fragile ceasefire",
                 "stalemate": "Stalemate (frozen front)", "ongoing": "Still fighting at the end"}
INK = "#333333"          # text and whiskers
EVENT_INK = "#555555"    # dated-event lines and their numbers


def shade(colour: str, t: float) -> str:
    """Blend a colour toward white (t > 0) or black (t < 0) by |t|."""
    rgb = np.array(mcolors.to_rgb(colour))
    target = np.ones(3) if t > 0 else np.zeros(3)
    return mcolors.to_hex(rgb + (target - rgb) * abs(t))


#: The shades (see :func:`shade`) of a bloc's colour for its first, second, ... faction.
SHADES = [0.0, 0.4, -0.35, 0.65, -0.55, 0.2, -0.2, 0.8]


# ============================================================================ figure helpers
class Calendar(Protocol):
    """What a date axis needs of a scenario (:class:`sim.plots.ScenarioInfo` has it)."""

    @property
    def start(self) -> pd.Timestamp: ...

    @property
    def end(self) -> pd.Timestamp: ...


def new_figure(width: float, height: float) -> Figure:
    """A new figure of that size (inches) with the constrained layout, outside pyplot."""
    return Figure(figsize=(width, height), layout="constrained")


def figure_of(ax) -> tuple[Figure, bool]:
    """(figure of `ax`, False), or (None, True) when `ax` is None and the chart makes its own."""
    return (ax.figure, False) if ax is not None else (None, True)


def axes_list(ax, n: int, make: Callable[[], Sequence[Axes]]) -> tuple[list[Axes], bool]:
    """The `n` Axes a chart draws into: the caller's (checked), else ``make()``'s; and own."""
    if ax is None:
        return list(make()), True
    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(ax))
    if len(axes) != n:
        raise ValueError(f"this chart draws {n} panels: pass {n} Axes (got {len(axes)})")
    return axes, False


def titles(fig: Figure, ax: Axes, title: str, subtitle: str, own: bool) -> None:
    """Title and subtitle of a chart in its own figure, else the title on the caller's axes."""
    if own:
        fig.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold")
        if subtitle:
            ax.set_title(subtitle, loc="left", fontsize=9, color=INK)
    else:
        ax.set_title(title, loc="left", fontsize=11)


def caption(fig: Figure, lines: Iterable[str], own: bool) -> None:
    """Wrapped notes (empty ones dropped) under a chart that has its own figure."""
    text = [ln for ln in lines if ln]
    if not own or not text:
        return
    width = max(int(fig.get_figwidth() * 15), 60)
    wrapped = "\n".join(textwrap.fill(t, width) for t in text)
    fig.supxlabel(wrapped, x=0.01, ha="left", fontsize=8, color="#444444",
                  multialignment="left")


def date_axis(ax: Axes, info: Calendar, label: bool = False) -> None:
    """Concise calendar dates on the x axis, limited to the run's start and end dates."""
    loc = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))
    ax.set_xlim(np.datetime64(info.start.date()), np.datetime64(info.end.date()))
    if label:
        ax.set_xlabel("Date")


def percent_axis(axis) -> None:
    """Label an axis (``ax.xaxis`` or ``ax.yaxis``) of shares as whole percentages."""
    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def whiskers(mid, low, high) -> np.ndarray:
    """Error-bar extents (2 x n) from intervals: no NaN, never negative (rounding)."""
    e = np.vstack([np.asarray(mid, float) - np.asarray(low, float),
                   np.asarray(high, float) - np.asarray(mid, float)])
    return np.clip(np.nan_to_num(e), 0, None)


def pct(x: float) -> str:
    """A share as a whole percentage, or "n/a" for None or NaN."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def save_figure(fig: Figure, path: Any, fmt: str | None = None, dpi: int = 130) -> Any:
    """Save a chart (to a path or a binary file object) without tool metadata: no URLs in the
    file, and stable bytes for SVG."""
    if isinstance(path, (str, Path)):
        path = Path(path)
        fmt = fmt or path.suffix.lstrip(".") or "png"
    fmt = fmt or "png"
    meta = {"Software": None} if fmt == "png" else {"Creator": None, "Date": None}
    fig.savefig(path, format=fmt, dpi=dpi, metadata=meta, facecolor="white")
    return path


# ============================================================================ dated events
@dataclass(frozen=True)
class EventMark:
    """A numbered dated event of the scenario, as the charts mark it."""

    n: int
    date: pd.Timestamp
    text: str


def mark_events(ax: Axes, marks: Sequence[EventMark], numbers: bool = True) -> None:
    """Dashed vertical lines at the events' dates, numbered at the top of the axes (numbers of
    events close in time are staggered downward). Call after the x limits are set."""
    lo, hi = ax.get_xlim()
    last_x, level = -math.inf, 0
    for m in marks:
        x = np.datetime64(m.date.date())
        ln = ax.axvline(x, color=EVENT_INK, lw=0.9, ls=(0, (2, 2)), zorder=1.5)
        ln.set_gid("event-marker")
        if not numbers:
            continue
        frac = (mdates.date2num(x) - lo) / max(hi - lo, 1e-9)
        level = level + 1 if frac - last_x < 0.022 else 0
        last_x = frac
        ax.annotate(str(m.n), xy=(x, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, -3 - 11 * (level % 4)), textcoords="offset points",
                    ha="center", va="top", fontsize=7, color="white", gid="event-number",
                    bbox={"boxstyle": "circle,pad=0.2", "fc": EVENT_INK, "ec": "none"},
                    zorder=6)


def event_key(marks: Sequence[EventMark]) -> str:
    """The caption line that explains the numbered event marks ("" without marks)."""
    if not marks:
        return ""
    return "Dated events (dashed lines): " + ";  ".join(
        f"({m.n}) {m.date.date()} {m.text}" for m in marks)
