"""A self-contained HTML report of a results folder: summary tables, every chart that applies,
the scenario (every parameter, the overrides, a sweep's design) and the manifest.

The report is one file: charts are inline SVG (text kept as text: sharp and searchable), every
table carries its CSV as a ``data:`` download link, and the style is inline, so it has no
external links, scripts, fonts or style sheets and reads offline. Each chart comes with a
one-line reading computed from the same data it draws (:func:`reading`). A sweep's report
leads with its per-point table and the sweep charts.

>>> from sim.report import build_report              # doctest: +SKIP
>>> build_report("results/libya_2019-20250101-1200")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import logging
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import plots as P
from sim.outcomes import Outcome, per_point
from sim.results import (
    KM_MEDIAN_LABEL,
    MEDIAN_AMONG_LABEL,
    ceasefire_timing,
    outcome_shares,
    succeeded_by,
    wilson,
)
from sim.scenario_tables import Table, design_tables, human, override_table, scenario_tables
from sim.stats import km_at, km_median
from sim.text import count

__all__ = ["build_report", "reading", "render_html", "summary_tables", "sweep_points_table"]

log = logging.getLogger(__name__)


# ============================================================================ readings
def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def _ci(lo: float, hi: float) -> str:
    return f"95% CI {_pct(lo)}–{_pct(hi)}"


def _date(info: P.ScenarioInfo, step: float) -> str:
    return str(pd.Timestamp(info.dates([step])[0]).date())


def read_outcomes(t: P.Tables) -> str:
    df = P.outcomes_dataset(t)
    n = len(t.runs)
    if not n:
        return "No runs."
    d = df[df["outcome"] == "durable_ceasefire"].iloc[0]
    top = df.sort_values("share", ascending=False).iloc[0]
    text = (f"A durable ceasefire in {_pct(d['share'])} of {n} runs ({_ci(d['low'], d['high'])})"
            f"; the most common outcome: {top['label']} ({_pct(top['share'])}, "
            f"{_ci(top['low'], top['high'])}).")
    vic = df[df["outcome"].str.startswith("victory:")]
    if len(vic):
        text += f" A military victory in {_pct(vic['runs'].sum() / n)} of runs."
    return text


def read_survival(t: P.Tables) -> str:
    sd = P.survival_dataset(t)
    info = t.info
    k, n = int(sd.observed.sum()), sd.n
    if not k:
        return f"No run reached an open-ended ceasefire ({count(n, 'run')})."
    lo, hi = wilson(k, n)
    text = f"{k} of {n} runs reached an open-ended ceasefire ({_pct(k / n)}, {_ci(lo, hi)})"
    have = t.runs["first_ceasefire_date"].dropna()
    if len(have):
        text += (f"; {MEDIAN_AMONG_LABEL.format(n=len(have))}: "
                 f"{ceasefire_timing(t.runs)['median']}")
    if sd.median is not None:
        text += f"; {KM_MEDIAN_LABEL}: {_date(info, sd.median)}"
    else:
        s_end = float(sd.survival[-1])
        text += (f"; the Kaplan–Meier estimate never falls to 50%: {_pct(s_end)} of runs are "
                 "estimated to have none by the end")
    if sd.censored_by_victory:
        text += f"; {sd.censored_by_victory} runs ended in a military victory first"
    return text + "."


def read_fans(t: P.Tables) -> str:
    info = t.info
    parts = []
    for k in info.armed:
        col = f"control_{k}"
        if col not in t.steps.columns:
            continue
        f = P.fan_dataset(t, col).iloc[-1]
        parts.append(f"{info.label(k)} {_pct(f['q50'])} (90% of runs {_pct(f['q05'])}–"
                     f"{_pct(f['q95'])})")
    end = _date(info, info.weeks)
    return f"Median control of site value at the end ({end}): " + "; ".join(parts) + "."


def read_support(t: P.Tables) -> str:
    info = t.info
    df = P.support_dataset(t)
    backers = [c for c in df.columns if c not in ("step", "date")]
    end = df.iloc[-1]
    parts = sorted(((float(end[b]), b) for b in backers), reverse=True)
    peak_b = max(backers, key=lambda b: float(df[b].max()))
    i = int(df[peak_b].to_numpy().argmax())
    return ("Median weekly support at the end: "
            + ", ".join(f"{info.label(b)} {v:.1f}" for v, b in parts)
            + f" units/week; the highest median level is {info.label(peak_b)}'s "
              f"{float(df[peak_b].max()):.1f} units/week around {_date(info, df['step'][i])}.")


def read_diplomacy(t: P.Tables) -> str:
    d = P.diplomacy_dataset(t)
    info = t.info
    by = d.by_proposer
    total = int(by["proposals"].sum())
    text = f"{total / max(d.n_runs, 1):.1f} proposals per run"
    ok = by[by["proposals"] >= 5]
    if len(ok):
        best = ok.sort_values("share_in_force", ascending=False).iloc[0]
        text += (f"; {best['label']}'s came into force most often ({_pct(best['share_in_force'])},"
                 f" {best['in_force']} of {best['proposals']})")
    sb = d.first_ceasefire
    if len(sb):
        r = sb.iloc[0]
        text += (f"; the first open-ended ceasefire was most often proposed by "
                 f"{info.label(r['proposer'])} ({r['kind']}; {_pct(r['share'])} of runs)")
    else:
        text += "; no open-ended ceasefire came into force"
    return text + "."


def read_map(t: P.Tables) -> str:
    info = t.info
    df = P.site_control_dataset(t)
    blocs = info.blocs
    contested = (1 - df[blocs].max(axis=1)).sort_values(ascending=False)
    s = contested.index[0]
    shares = ", ".join(f"{info.bloc_label(b)} {_pct(df.loc[s, b])}" for b in blocs
                       if df.loc[s, b] > 0)
    text = f"Most contested site at the end: {df.loc[s, 'name']} ({shares})"
    kept = [df.loc[x, "name"] for x in df.index
            if df.loc[x, df.loc[x, "initial"]] >= 0.999]
    if kept:
        text += f"; always kept by its first holder: {', '.join(kept)}"
    return text + "."


def read_ceasefire_life(t: P.Tables) -> str:
    info = t.info
    d = P.ceasefire_life_dataset(t)
    cf = d.deals[d.deals["deal"] == "ceasefire"]
    bd = d.breakdowns
    n_def = int((bd["cause"] == "defection").sum())
    n_inc = int((bd["cause"] == "incident escalated").sum())
    text = (f"{len(cf)} open-ended ceasefires came into force and {len(bd)} deals broke down "
            f"({n_def} defections, {n_inc} escalated incidents)")
    if len(cf):
        held = km_at(d.times, d.survival, info.durable_weeks)
        text += (f"; by Kaplan–Meier {_pct(held)} of ceasefires held {info.durable_weeks} weeks "
                 "(the durable threshold)")
        med = km_median(d.times, d.survival)
        if med is not None:
            text += f", half broke down within {med:.0f} week{'s' if med != 1 else ''}"
    return text + "."


def _val(o: Outcome, v: float) -> str:
    """An outcome's value for people: a share as a percentage, a mean with its unit."""
    if o.binary:
        return _pct(v)
    if o.kind == "level":
        return _pct(v) + " of the sites' value"
    return f"{v:.0f} weeks" if np.isfinite(v) else "n/a"


def _vci(o: Outcome, lo: float, hi: float) -> str:
    if o.binary or o.kind == "level":
        return _ci(lo, hi)
    return f"95% CI {lo:.0f}–{hi:.0f}"


def _said(o: Outcome) -> str:
    """The outcome as the subject of a sentence, e.g. "P(durable ceasefire)", "the mean weeks
    to the first ceasefire"."""
    if o.kind == "time":
        return "The mean weeks to the first ceasefire (runs without one count their length)"
    if o.kind == "level":
        return f"The mean final control of {o.spec.split(':', 1)[1]}"
    return o.label


def read_sweep_outcomes(t: P.Tables, path: str, outcome: Outcome | None = None) -> str:
    o = P.sweep_outcome(t, outcome)
    df = P.sweep_outcomes_dataset(t, path, outcome=o)
    d = df[df["outcome"] == o.spec].sort_values("x")
    if not len(d):
        return "No points."
    first, last = d.iloc[0], d.iloc[-1]
    best = d.sort_values("value", ascending=False).iloc[0]
    if d["value"].max() == d["value"].min():
        return (f"{_said(o)} is {_val(o, first['value'])} at every value of {path} "
                f"({int(d['n'].sum())} runs).")
    return (f"{_said(o)} is {_val(o, first['value'])} ({_vci(o, first['low'], first['high'])}) "
            f"at {path} = {first['label']} and {_val(o, last['value'])} "
            f"({_vci(o, last['low'], last['high'])}) at {last['label']}; highest "
            f"{_val(o, best['value'])} at {best['label']}.")


def read_heatmap(t: P.Tables, x: str, y: str, outcome: Outcome | None = None) -> str:
    o = P.sweep_outcome(t, outcome)
    d = P.sweep_heatmap_dataset(t, x, y, outcome=o)
    share = d["value"]
    if not np.isfinite(share).any():
        return "No runs."
    if np.nanmax(share) == np.nanmin(share):
        return f"{_said(o)} is {_val(o, np.nanmax(share))} in every cell of {x} and {y}."
    i, j = np.unravel_index(np.nanargmax(share), share.shape)
    k, m = np.unravel_index(np.nanargmin(share), share.shape)
    return (f"{_said(o)}: highest {_val(o, share[i, j])} at {x} = {d['x_labels'][j]}, "
            f"{y} = {d['y_labels'][i]} ({d['n'][i, j]} runs); lowest {_val(o, share[k, m])} at "
            f"{x} = {d['x_labels'][m]}, {y} = {d['y_labels'][k]}.")


def read_influence(t: P.Tables, outcome: Outcome | None = None) -> str:
    o = P.sweep_outcome(t, outcome)
    what = "share" if o.binary else "mean"
    df = P.influence_dataset(t, outcome=o)
    ok = df.dropna(subset=["spearman"])
    parts = []
    if len(ok):
        r = ok.iloc[0]
        ptxt = "p<0.001" if r["p_value"] < 0.001 else f"p={r['p_value']:.2g}"
        parts.append(f"strongest rank correlation with the points' {o.label} {what}: {r['path']} "
                     f"(ρ = {r['spearman']:+.2f}, {ptxt})")
    fo = df.dropna(subset=["first_order"])
    if len(fo):
        r = fo.sort_values("first_order", ascending=False).iloc[0]
        parts.append(f"largest first-order index: {r['path']} ({r['first_order']:.2f})")
    if not parts:
        return f"{_said(o)} does not vary over the points."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def reading(t: P.Tables, rendered: P.Rendered, outcome: Outcome | None = None) -> str:
    """The one-line reading of a rendered chart, computed from the data (a sweep chart's of
    `outcome`, default the durable ceasefire)."""
    name, stem = rendered.chart, rendered.stem
    simple: dict[str, Callable[[P.Tables], str]] = {
        "outcomes": read_outcomes, "survival": read_survival, "fans": read_fans,
        "support": read_support, "diplomacy": read_diplomacy, "map": read_map,
        "ceasefire-life": read_ceasefire_life}
    if name in simple:
        return simple[name](t)
    if name == "sweep-influence":
        return read_influence(t, outcome)
    if name == "sweep-outcomes":
        return read_sweep_outcomes(t, stem[len("sweep-outcomes-"):], outcome)
    if name == "sweep-heatmap":
        x, y = P.heatmap_pairs(t)[0]
        for a, b in P.heatmap_pairs(t):
            if stem == f"sweep-heatmap-{a}-{b}":
                x, y = a, b
        return read_heatmap(t, x, y, outcome)
    return ""


# ============================================================================ tables
def summary_tables(t: P.Tables) -> dict[str, pd.DataFrame]:
    """The report's summary tables: outcomes, the first open-ended ceasefire (its share and
    both medians, named for what they are, as dates) and who proposed it."""
    info = t.info
    runs = t.runs
    out: dict[str, pd.DataFrame] = {}
    sh = outcome_shares(runs, info.armed)
    out["Outcomes"] = pd.DataFrame({
        "outcome": [P.outcome_label(o, info) for o in sh["outcome"]],
        "runs": sh["runs"], "share": [_pct(v) for v in sh["share"]],
        "95% interval": [f"{_pct(lo)}–{_pct(hi)}" for lo, hi in zip(sh["low"], sh["high"],
                                                                      strict=True)]})
    out["First open-ended ceasefire"] = pd.DataFrame(first_ceasefire_rows(t),
                                                     columns=["measure", "value"])
    sb = succeeded_by(runs)
    out["Who proposed the first open-ended ceasefire"] = pd.DataFrame({
        "proposer": [info.label(k) for k in sb["proposer"]], "kind": sb["kind"],
        "runs": sb["runs"], "share of all runs": [_pct(v) for v in sb["share"]]})
    return out


def first_ceasefire_rows(t: P.Tables) -> list[tuple[str, str]]:
    """The first open-ended ceasefire: how many runs had one, the median date among those
    runs and the Kaplan–Meier median over all runs (two different figures, each named)."""
    ct = ceasefire_timing(t.runs)
    k, n = ct["with_ceasefire"], ct["runs"]
    rows = [("runs", str(n)), ("runs with an open-ended ceasefire", str(k)),
            ("share with one", _pct(ct["share"]))]
    if not k:
        return rows
    lo, hi = wilson(k, n)
    rows += [("95% interval of the share", f"{_pct(lo)}–{_pct(hi)}"),
             (MEDIAN_AMONG_LABEL.format(n=k), str(ct["median"])),
             ("interquartile range of that date", f"{ct['q25']} to {ct['q75']}")]
    sd = P.survival_dataset(t)
    km = (_date(t.info, sd.median) if sd.median is not None else
          f"not reached: an estimated {_pct(float(sd.survival[-1]))} of runs have none by "
          "the end")
    rows.append((KM_MEDIAN_LABEL, km))
    return rows


def sweep_points_table(t: P.Tables, outcome: Outcome | None = None) -> pd.DataFrame:
    """One row per sweep point: its varied values, runs, the outcome (default P(durable
    ceasefire)) with its 95% interval, and the share of every other outcome class."""
    info = t.info
    o = P.sweep_outcome(t, outcome)
    runs = t.runs
    pts = t.points.sort_values("point").reset_index(drop=True)
    paths = [c for c in pts.columns if c != "point"]
    sh = outcome_shares(runs, info.armed, by="point")
    est = per_point(runs, o).set_index("point")
    rows = []
    for _, p in pts.iterrows():
        g = sh[sh["point"] == p["point"]].set_index("outcome")
        n = int((runs["point"] == p["point"]).sum())
        row: dict[str, Any] = {"point": int(p["point"]), **{c: p[c] for c in paths},
                               "runs": n}
        e = est.loc[p["point"]] if p["point"] in est.index and n else None
        row[o.label] = _val(o, e["value"]) if e is not None else "n/a"
        row["95% interval"] = (_vci(o, e["low"], e["high"]).removeprefix("95% CI ")
                               if e is not None else "n/a")
        for c in g.index:
            if c != o.spec:
                row[P.outcome_label(c, info)] = _pct(g.loc[c, "share"]) if n else "n/a"
        rows.append(row)
    return pd.DataFrame(rows)


# ============================================================================ observations
def observation_tables(t: P.Tables) -> tuple[list[Table], str]:
    """The scenario's observations from the historical record and their scores
    (:mod:`sim.score`) as tables, with the closing sentence; nothing when it has none."""
    if not (t.manifest.get("scenario") or {}).get("observed"):
        return [], ""
    try:
        from sim.score import score

        st = score(t)
    except Exception as exc:  # noqa: BLE001 - a failed score must not lose the report
        return [], f"(not scored: {type(exc).__name__}: {exc})"
    obs = st.observations
    first = obs.drop_duplicates("id")
    tabs = [Table("Observations", pd.DataFrame({
        "id": first["id"], "kind": first["kind"], "description": first["description"],
        "source": first["source"], "required": [f"≥ {_pct(v)}" for v in first["required"]]}),
        "observations")]

    def share(r: Any) -> str:
        return (f"{_pct(r.share)} ({_pct(r.low)}–{_pct(r.high)}) {'✓' if r.met else '✗'}"
                if r.counted else "n/a ✗")

    if not st.sweep:
        o = st.overall.iloc[0]
        tabs.append(Table("Share of runs matching each observation", pd.DataFrame({
            "id": obs["id"], "runs counted": [f"{c} of {n}" for c, n in
                                              zip(obs["counted"], obs["runs"], strict=True)],
            "share matching": [share(r) for r in obs.itertuples()],
            "timing error": ["" if np.isnan(w) else f"{human(w)} weeks"
                             for w in obs["timing_error_weeks"]],
            "note": obs["note"]}), "observation-scores"))
        return tabs, (f"Overall score {o['score']:.2f}: {int(o['met'])} of {int(o['total'])} "
                      "observations met.")
    cells = {(r.point, r.id): share(r) for r in obs.itertuples()}
    rk = st.ranking()
    grid = rk[["point", *st.varied]].copy()
    for i in first["id"]:
        grid[i] = [cells.get((p, i), "") for p in rk["point"]]
    grid["score"] = [f"{v:.2f}" for v in rk["score"]]
    grid["met"] = [f"{m}/{n}" for m, n in zip(rk["met"], rk["total"], strict=True)]
    tabs.append(Table("Observations per sweep point, best overall score first", grid,
                      "observation-scores"))
    return tabs, ""


# ============================================================================ html
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd}
.tbl{overflow-x:auto;margin:.6em 0 1.4em}
table{border-collapse:collapse;margin:.3em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.set{font-weight:600;background:#fff7e0}td.override{outline:2px solid #d95f02}
figure{margin:1.2em 0 2.2em}figure svg{max-width:100%;height:auto;border:1px solid #eee}
p.reading{font-size:1.05em;margin:.3em 0 .5em;padding:.4em .7em;background:#f3f8f4;
border-left:4px solid #1a9850}
.muted,p.note{color:#666;font-size:.9em}code{background:#f4f4f4;padding:0 .2em}
a.csv{font-size:.85em}nav ul{columns:2}
"""


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_))


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


class _Writer:
    """Renders tables (each with its CSV download, named after the results folder) and
    numbers them so that every anchor is unique."""

    def __init__(self, stem: str) -> None:
        self.stem = stem
        self.names: set[str] = set()

    def table(self, tab: Table, level: int = 3) -> str:
        df = tab.df
        shown = df.map(human) if len(df) else df.astype(str)
        name = tab.name or _slug(tab.title)
        while name in self.names:
            name += "-2"
        self.names.add(name)
        head = "".join(f"<th>{_esc(c)}</th>" for c in shown.columns)
        body = []
        for i in range(len(shown)):
            cells = []
            for c in shown.columns:
                cls = [*(["num"] if _numeric(df[c].iloc[i]) else []),
                       *(["set"] if (i, c) in tab.marked else []),
                       *(["override"] if (i, c) in tab.overridden else [])]
                attr = f' class="{" ".join(cls)}"' if cls else ""
                if (i, c) in tab.overridden:
                    attr += f' title="set by --set {_esc(tab.overridden[(i, c)])}"'
                cells.append(f"<td{attr}>{_esc(shown[c].iloc[i])}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        csv = shown.to_csv(index=False, lineterminator="\n").encode("utf-8")
        href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(csv).decode("ascii")
        file = f"{self.stem}-{name}.csv"
        parts = [f"<div class=\"tbl\" id=\"table-{_esc(name)}\">",
                 f"<h{level}>{_esc(tab.title)}</h{level}>"]
        if tab.note:
            parts.append(f"<p class=\"note\">{_esc(tab.note)}</p>")
        if len(df):
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
                         f"</tbody></table><a class=\"csv\" download=\"{_esc(file)}\" "
                         f"href=\"{href}\">Download as CSV ({_esc(file)})</a>")
        else:
            parts.append("<p class=\"muted\">None.</p>")
        return "".join(parts) + "</div>"


def _manifest_rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, label in (("kind", "kind"), ("scenario_name", "scenario"),
                       ("scenario_file", "scenario file"), ("scenario_digest", "scenario digest"),
                       ("seed", "master seed"), ("runs", "runs"), ("steps", "weeks simulated"),
                       ("code_version", "code version"), ("command", "command"),
                       ("created", "created"), ("complete", "complete"),
                       ("failures", "failed runs")):
        if key in m and m[key] is not None:
            rows.append((label, human(m[key])))
    ov = m.get("overrides") or []
    rows.insert(3, ("overrides", human(ov) if ov else "none"))
    pk = m.get("packages") or {}
    if pk:
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in pk.items())))
    return rows


def _svg(fig, stem: str) -> str:
    """A chart as inline SVG: text kept as text (sharp at any zoom, searchable), ids salted
    with the chart's stem so that several charts in one page never share one, and no XML
    prologue, metadata or namespace URLs (an HTML parser needs none of them)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": stem}):
        P.save_figure(fig, buf, "svg")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    for ns in (' xmlns:xlink="http://www.w3.org/1999/xlink"',
               ' xmlns="http://www.w3.org/2000/svg"'):
        text = text.replace(ns, "", 1)
    return text.replace("<svg", "<svg role=\"img\"", 1)


def _scenario(t: P.Tables) -> tuple[Any, str]:
    """The scenario the runs used, or None and why not."""
    from sim.folder import ResultsError, scenario_from_manifest
    from sim.scenario import ScenarioError

    try:
        return scenario_from_manifest(t.manifest), ""
    except (ResultsError, ScenarioError) as exc:
        return None, str(exc)


def _figure(t: P.Tables, r: P.Rendered, outcome: Outcome | None = None) -> str:
    try:
        line = reading(t, r, outcome)
    except Exception as exc:  # noqa: BLE001 - a missing reading must not lose the report
        line = f"(no reading: {type(exc).__name__}: {exc})"
    return (f"<figure id=\"chart-{_esc(r.stem)}\"><h3>{_esc(r.title)}</h3>"
            f"<p class=\"reading\">{_esc(line)}</p>{_svg(r.figure, r.stem)}</figure>")


def sensitivity_html(t: P.Tables, w: _Writer) -> str:
    """The sensitivity analyses ``negsim analyze`` kept in the folder (``analysis.json``):
    per analysis its indices as a table and a chart (SVG) and its warnings; "" when none."""
    from sim.analysis import INDEX_COLUMNS, index_cell, read_analyses
    from sim.plots.sensitivity import plot_indices

    kept = read_analyses(Path(t.folder)) if t.folder else {}
    if not kept:
        return ""
    parts = ["<p>Indices computed by SALib from the mean outcome at each sweep point "
             "(<code>negsim analyze</code>); ± is the half-width of a 95% interval. Sobol S1: "
             "the share of the outcome's variance due to a path alone; ST: with its "
             "interactions. Morris mu*: the mean absolute change of the outcome when the path "
             "moves over its range; sigma: how much that change depends on the other paths. "
             "Delta: Borgonovo's moment-independent index.</p>"]
    for key, a in kept.items():
        method = str(a.get("method", ""))
        rows = a.get("indices") or []
        cols = INDEX_COLUMNS.get(method, [])
        df = pd.DataFrame({"path": [r["path"] for r in rows],
                           **{h: [index_cell(r, c) for r in rows] for c, h in cols}})
        note = (f"{a.get('design')} design, {a.get('points')} points, "
                f"{(a.get('noise') or {}).get('replicates')} runs per point.")
        parts.append(w.table(Table(f"{method}: {a.get('outcome_label', '')}", df,
                                   _slug(f"sensitivity-{key}"), note)))
        parts += [f"<p class=\"warning\">Warning: {_esc(x)}</p>" for x in a.get("warnings") or []]
        if rows and method in INDEX_COLUMNS:
            fig = plot_indices(pd.DataFrame(rows), method, str(a.get("outcome_label", "")))
            stem = _slug(f"sensitivity-{key}")
            parts.append(f"<figure id=\"chart-{stem}\">{_svg(fig, stem)}</figure>")
    return "\n".join(parts)


def discovery_html(t: P.Tables, w: _Writer) -> str:
    """The scenario discovery ``negsim discover`` recorded in the folder (its box as a table,
    the peeling trajectory and the box's limits as SVG charts), or "" when it has none."""
    from sim.discovery import plot_box, plot_trajectory, read_discovery

    found = read_discovery(t.folder) if t.folder else None
    if found is None:
        return ""
    data, d = found
    b = d.box
    lim = d.limits
    box = pd.DataFrame({
        "parameter": lim["parameter"],
        "low": [", ".join(v) if isinstance(v, list) else lo
                for v, lo in zip(lim["values"], lim["low"], strict=True)],
        "high": [("" if isinstance(v, list) else hi)
                 for v, hi in zip(lim["values"], lim["high"], strict=True)],
        "sampled from": lim["range_low"], "sampled to": lim["range_high"],
        "quasi-p": lim["qp"]})
    parts = [f"<p>PRIM (the patient rule induction method) over the {d.points} sweep points, "
             f"{d.cases} of which are cases of interest ({_esc(data['case_of_interest'])}). "
             f"The chosen box, box {d.chosen} ({_esc(d.rule)}), holds {int(b['n'])} points: "
             f"coverage {_pct(b['coverage'])} (the share of all cases inside it), density "
             f"{_pct(b['density'])} (the share of its points that are cases).</p>",
             w.table(Table("The chosen box", box, "discovery-box",
                           "Each restricted parameter's limits; a quasi-p-value below 0.05 "
                           "says the restriction matters."))]
    for stem, fig in (("discovery-trajectory", plot_trajectory(d)),
                      ("discovery-box", plot_box(d))):
        parts.append(f"<figure id=\"chart-{stem}\">{_svg(fig, stem)}</figure>")
    return "\n".join(parts)


def render_html(t: P.Tables, rendered: list[P.Rendered],
                skipped: dict[str, str] | None = None, *, outcome: str | None = None) -> str:
    """The report as one HTML string: charts as inline SVG, every table with a CSV download.

    A sweep's report leads with its per-point table of `outcome` (a spec of
    :mod:`sim.outcomes`; default the durable ceasefire), the sweep charts (drawn for the same
    outcome by the caller) and, when ``negsim discover`` has been run on the folder, its
    scenario discovery. Charts that do not apply to the folder (`skipped`) are left out
    (logged at debug level)."""
    for name, why in (skipped or {}).items():
        log.debug("chart %s not in the report: %s", name, why)
    info = t.info
    m = t.manifest
    name = m.get("scenario_name") or info.name
    desc = (m.get("scenario") or {}).get("model", {}).get("description", "")
    w = _Writer(_slug(Path(t.folder).name) if t.folder else "negsim")
    sweep = t.kind == "sweep" and t.points is not None and "point" in t.runs.columns
    n = len(t.runs)
    sub = count(n, "run") + (f" at {count(t.n_points, 'sweep point')}" if sweep else "")
    sub += f", {info.weeks} weeks from {info.start.date()} to {info.end.date()}"
    head = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
            f"<title>{_esc(name)}: negsim report</title>",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            f"<style>{CSS}</style></head><body>", f"<h1>{_esc(name)}</h1>",
            f"<p class=\"muted\">{_esc(sub)}</p>"]
    if desc:
        head.append(f"<p>{_esc(desc)}</p>")
    if not m.get("complete", True):
        head.append("<p><strong>Incomplete results:</strong> the runs were interrupted; these "
                    "tables hold only the finished runs.</p>")
    sections: list[tuple[str, str, str]] = []   # (anchor, heading, body)
    sweep_charts = [r for r in rendered if r.chart.startswith("sweep-")]
    run_charts = [r for r in rendered if not r.chart.startswith("sweep-")]
    if sweep:
        o = P.sweep_outcome(t, outcome)
        how = ("its 95% Wilson interval" if o.binary else "its 95% interval (normal)")
        body = [w.table(Table("Outcomes per sweep point", sweep_points_table(t, o), "points",
                              f"{o.label} with {how}, then the share of every other "
                              "outcome, at each point."))]
        body += [_figure(t, r, o) for r in sweep_charts]
        sections.append(("points", "Sweep points", "\n".join(body)))
        found = sensitivity_html(t, w)
        if found:
            sections.append(("sensitivity", "Sensitivity analysis", found))
        found = discovery_html(t, w)
        if found:
            sections.append(("discovery", "Scenario discovery", found))
    body = [w.table(Table(title, df, _slug(title)))
            for title, df in summary_tables(t).items()]
    fails = t.source.failures if t.source is not None else pd.DataFrame()
    if len(fails):
        body.append(f"<p><strong>{count(len(fails), 'run')} failed</strong> (see "
                    "failures.parquet); they are not in the tables above.</p>")
    title = "Summary" + (" (all points pooled)" if sweep else "")
    sections.append(("summary", title, "\n".join(body)))
    obs, closing = observation_tables(t)
    if obs or closing:
        body = ["<p>Facts from the historical record and the share of runs that reproduce "
                "each (95% Wilson interval; <code>negsim score</code>). Overall score: the "
                "mean over observations of min(share / required share, 1).</p>"]
        body += [w.table(x) for x in obs]
        if closing:
            body.append(f"<p class=\"reading\">{_esc(closing)}</p>")
        sections.append(("observations", "Observations", "\n".join(body)))
    if run_charts:
        title = "Charts" + (" (all points pooled)" if sweep else "")
        sections.append(("charts", title, "\n".join(_figure(t, r) for r in run_charts)))
    sections.append(("scenario", "Scenario", scenario_html(t, w)))
    sections.append(("manifest", "Manifest", w.table(Table(
        "How the runs were made", pd.DataFrame(_manifest_rows(m), columns=["field", "value"]),
        "manifest"))))
    nav = ("<nav><h2>Contents</h2><ul>" + "".join(
        f"<li><a href=\"#{a}\">{_esc(h)}</a></li>" for a, h, _ in sections) + "</ul></nav>")
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    foot = (f"<p class=\"muted\">Written by negsim report on {_esc(stamp)} from "
            f"{_esc(t.folder or 'tables in memory')}.</p></body></html>")
    return "\n".join([*head, nav, *(f"<h2 id=\"{a}\">{_esc(h)}</h2>\n{b}"
                                     for a, h, b in sections), foot])


def scenario_html(t: P.Tables, w: _Writer) -> str:
    """The scenario section: the overrides, a sweep's design, then every parameter."""
    m = t.manifest
    parts = []
    ov = [str(o) for o in m.get("overrides") or []]
    if ov:
        parts.append(w.table(override_table(ov)))
    else:
        parts.append("<p class=\"muted\">No overrides (<code>--set</code>): the scenario file "
                     "as it is.</p>")
    pts = t.points if t.kind == "sweep" else None
    parts += [w.table(x) for x in design_tables(m, pts)]
    scn, why = _scenario(t)
    if scn is None:
        parts.append(f"<p class=\"muted\">The scenario's parameters are not shown: "
                     f"{_esc(why)}</p>")
        return "\n".join(parts)
    if m.get("kind") == "sweep":
        parts.append("<p class=\"note\">The base scenario; each point sets the varied paths "
                     "above.</p>")
    parts += [w.table(x) for x in scenario_tables(scn, ov)]
    return "\n".join(parts)


def build_report(folder: str | Path, out: str | Path | None = None,
                 names: list[str] | None = None, outcome: str | None = None) -> Path:
    """Write ``<folder>/report.html`` (or `out`): one self-contained file; a sweep's points and
    charts read `outcome` (a spec of :mod:`sim.outcomes`, default the durable ceasefire)."""
    res = P.open_results(folder, need=P.TABLES)
    t = P.as_tables(res)
    rendered, skipped = P.render_charts(t, names, options=P.ChartOptions(outcome=outcome))
    text = render_html(t, rendered, skipped, outcome=outcome)
    path = Path(out) if out is not None else Path(folder) / "report.html"
    from sim.folder import atomic_text

    atomic_text(text, path)
    return path
