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
from matplotlib.text import Text
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
    "YearDateFormatter",
    "EventMark",
    "axes_list",
    "caption",
    "date_axis",
    "declutter",
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


class YearDateFormatter(mdates.ConciseDateFormatter):
    """Concise dates that never leave the year to guess: the first tick shown and every
    January tick carry it ("Apr 2019", "Jul", "Oct", "Jan 2020"); yearly ticks are the year,
    ticks less than a month apart the day and month ("15 Apr 2019", "1 May")."""

    def format_ticks(self, values):
        lo, hi = (self.axis.get_view_interval() if self.axis is not None
                  else (min(values, default=0), max(values, default=0)))
        step = float(np.median(np.diff(values))) if len(values) > 1 else 31.0
        out, first = [], True
        for v in values:
            d = mdates.num2date(v)
            shown = lo - 1e-6 <= v <= hi + 1e-6
            year = first and shown or d.month == 1 and d.day <= max(step, 1)
            if step >= 330:
                text = f"{d.year}"
            elif step >= 26:
                text = d.strftime("%b") + (f" {d.year}" if year else "")
            else:
                text = f"{d.day} {d.strftime('%b')}" + (f" {d.year}" if year else "")
            first = first and not shown
            out.append(text)
        return out


def date_axis(ax: Axes, info: Calendar, label: bool = False) -> None:
    """Calendar dates on the x axis (the first tick and every January with the year, see
    :class:`YearDateFormatter`), limited to the run's start and end dates."""
    loc = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(YearDateFormatter(loc, show_offset=False))
    ax.set_xlim(np.datetime64(info.start.date()), np.datetime64(info.end.date()))
    if label:
        ax.set_xlabel("Date")


def declutter(texts: Sequence[Text], avoid: Sequence[Any] = (), *,
              anchors: Sequence[tuple[float, float] | None] | None = None,
              pad: float = 2.0) -> int:
    """Move texts so that no two overlap, nor any artist in `avoid` (e.g. markers; their
    window extents): each text in turn (earlier ones keep their place) tries its own place, then
    offsets around it nearest first (up to 4 widths and 6 heights away), and keeps the first
    whose box, padded by `pad` points, is clear and inside the figure (else the least
    overlapping). A text moved further than its height gets a thin leader line from its anchor
    (``anchors[i]``, in its axes' data coordinates; default its old place).

    Uses the real extents of the drawn texts, so call it last, on a figure with its final size;
    the texts and leader lines are taken out of the layout (``set_in_layout(False)``) so a
    constrained layout does not move the axes after them. Offsets are in points: placements
    hold at any dpi. Returns how many texts moved."""
    from matplotlib.transforms import Bbox, ScaledTranslation

    if not texts:
        return 0
    fig = texts[0].figure
    for t in texts:
        t.set_in_layout(False)
    fig.draw_without_rendering()
    frame = fig.bbox
    scale = fig.dpi / 72.0
    placed: list[Bbox] = [a.get_window_extent().padded(pad * scale / 2) for a in avoid]
    n_placed_avoid = len(placed)
    moved = 0

    def clash(b: Bbox) -> float:
        area = 0.0
        for o in placed:
            w = min(b.x1, o.x1) - max(b.x0, o.x0)
            h = min(b.y1, o.y1) - max(b.y0, o.y0)
            if w > 0 and h > 0:
                area += w * h
        return area

    for i, t in enumerate(texts):
        box = t.get_window_extent().padded(pad * scale / 2)
        w, h = box.width, box.height
        offsets = sorted(((kx * w / 2, ky * h) for kx in range(-8, 9) for ky in range(-6, 7)),
                         key=lambda o: (o[0] / max(w, 1)) ** 2 + (o[1] / max(h, 1)) ** 2)
        best, best_cost = (0.0, 0.0), math.inf
        for dx, dy in offsets:
            b = box.translated(dx, dy)
            inside = frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and \
                b.y1 <= frame.y1
            cost = clash(b) + (0.0 if inside else 1e12)
            if cost < best_cost:
                best, best_cost = (dx, dy), cost
            if cost == 0:
                break
        dx, dy = best
        if dx or dy:
            moved += 1
            t.set_transform(t.get_transform() + ScaledTranslation(
                dx / fig.dpi, dy / fig.dpi, fig.dpi_scale_trans))
            if math.hypot(dx, dy) > 1.2 * h and t.axes is not None:
                _leader(t, box, (dx, dy), anchors[i] if anchors else None)
        placed.append(box.translated(dx, dy))
    del placed[:n_placed_avoid]
    return moved


def _leader(t: Text, box: Any, shift: tuple[float, float],
            anchor: tuple[float, float] | None) -> None:
    """A thin line from `anchor` (data coordinates; default the text's old centre) to the
    nearest point of the text's new box (display `box` moved by `shift`)."""
    ax = t.axes
    to_data = ax.transData.inverted()
    new = box.translated(*shift)
    start = (ax.transData.transform(anchor) if anchor is not None
             else np.array([box.x0 + box.width / 2, box.y0 + box.height / 2]))
    end = (min(max(start[0], new.x0), new.x1), min(max(start[1], new.y0), new.y1))
    (x0, y0), (x1, y1) = to_data.transform([start, end])
    ln = ax.plot([x0, x1], [y0, y1], color="#6b6b6b", lw=0.6, ls=(0, (1, 1.5)),
                 zorder=max(t.get_zorder() - 0.5, 1), gid="leader-line", scalex=False,
                 scaley=False)[0]
    ln.set_in_layout(False)


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
