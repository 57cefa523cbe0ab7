"""A self-contained HTML report of a results folder: manifest, summary tables, every chart.

The report is one file: charts are embedded as base64 PNG data URIs and the style is inline, so
it has no external links, scripts, fonts or style sheets and reads offline. Each chart comes
with a one-line reading computed from the same data it draws (:func:`reading`).

>>> from sim.report import build_report              # doctest: +SKIP
>>> build_report("results/libya_2019-20250101-1200")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import plots as P
from sim.results import ceasefire_timing, outcome_shares, succeeded_by, wilson
from sim.stats import km_at, km_median
from sim.text import count

__all__ = ["build_report", "reading", "render_html", "summary_tables"]


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
    if sd.median is not None:
        text += (f"; the Kaplan–Meier median time to the first is {_date(info, sd.median)} "
                 f"(week {sd.median:.0f})")
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


def read_sweep_outcomes(t: P.Tables, path: str) -> str:
    df = P.sweep_outcomes_dataset(t, path)
    d = df[df["outcome"] == "durable_ceasefire"].sort_values("x")
    if not len(d):
        return "No points."
    first, last = d.iloc[0], d.iloc[-1]
    best = d.sort_values("share", ascending=False).iloc[0]
    if d["share"].max() == d["share"].min():
        return (f"P(durable ceasefire) is {_pct(first['share'])} at every value of {path} "
                f"({int(d['n'].sum())} runs).")
    return (f"P(durable ceasefire) is {_pct(first['share'])} ({_ci(first['low'], first['high'])}) "
            f"at {path} = {first['label']} and {_pct(last['share'])} "
            f"({_ci(last['low'], last['high'])}) at {last['label']}; highest "
            f"{_pct(best['share'])} at {best['label']}.")


def read_heatmap(t: P.Tables, x: str, y: str) -> str:
    d = P.sweep_heatmap_dataset(t, x, y)
    share = d["share"]
    if not np.isfinite(share).any():
        return "No runs."
    if np.nanmax(share) == np.nanmin(share):
        return (f"P(durable ceasefire) is {_pct(np.nanmax(share))} in every cell of {x} and "
                f"{y}.")
    i, j = np.unravel_index(np.nanargmax(share), share.shape)
    k, m = np.unravel_index(np.nanargmin(share), share.shape)
    return (f"Highest P(durable ceasefire) {_pct(share[i, j])} at {x} = {d['x_labels'][j]}, "
            f"{y} = {d['y_labels'][i]} ({d['n'][i, j]} runs); lowest {_pct(share[k, m])} at "
            f"{x} = {d['x_labels'][m]}, {y} = {d['y_labels'][k]}.")


def read_influence(t: P.Tables) -> str:
    df = P.influence_dataset(t)
    ok = df.dropna(subset=["spearman"])
    parts = []
    if len(ok):
        r = ok.iloc[0]
        ptxt = "p<0.001" if r["p_value"] < 0.001 else f"p={r['p_value']:.2g}"
        parts.append(f"strongest rank correlation with the durable-ceasefire share: {r['path']} "
                     f"(ρ = {r['spearman']:+.2f}, {ptxt})")
    fo = df.dropna(subset=["first_order"])
    if len(fo):
        r = fo.sort_values("first_order", ascending=False).iloc[0]
        parts.append(f"largest first-order index: {r['path']} ({r['first_order']:.2f})")
    if not parts:
        return "The durable-ceasefire share does not vary over the points."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def reading(t: P.Tables, rendered: P.Rendered) -> str:
    """The one-line reading of a rendered chart, computed from the data."""
    name, stem = rendered.chart, rendered.stem
    simple: dict[str, Callable[[P.Tables], str]] = {
        "outcomes": read_outcomes, "survival": read_survival, "fans": read_fans,
        "support": read_support, "diplomacy": read_diplomacy, "map": read_map,
        "ceasefire-life": read_ceasefire_life, "sweep-influence": read_influence}
    if name in simple:
        return simple[name](t)
    if name == "sweep-outcomes":
        return read_sweep_outcomes(t, stem[len("sweep-outcomes-"):])
    if name == "sweep-heatmap":
        x, y = P.heatmap_pairs(t)[0]
        for a, b in P.heatmap_pairs(t):
            if stem == f"sweep-heatmap-{a}-{b}":
                x, y = a, b
        return read_heatmap(t, x, y)
    return ""


# ============================================================================ tables
def summary_tables(t: P.Tables) -> dict[str, pd.DataFrame]:
    """The report's summary tables: outcomes, ceasefire timing, successful proposers (and, for
    a sweep, the points)."""
    info = t.info
    runs = t.runs
    out: dict[str, pd.DataFrame] = {}
    sh = outcome_shares(runs, info.armed)
    out["Outcomes"] = pd.DataFrame({
        "outcome": [P.outcome_label(o, info) for o in sh["outcome"]],
        "runs": sh["runs"], "share": [_pct(v) for v in sh["share"]],
        "95% interval": [f"{_pct(lo)}–{_pct(hi)}" for lo, hi in zip(sh["low"], sh["high"],
                                                                      strict=True)]})
    ct = ceasefire_timing(runs)
    rows = [("runs", ct["runs"]), ("runs with an open-ended ceasefire", ct["with_ceasefire"]),
            ("share with one", _pct(ct["share"]))]
    if ct["with_ceasefire"]:
        lo, hi = wilson(ct["with_ceasefire"], ct["runs"])
        rows += [("95% interval of the share", f"{_pct(lo)}–{_pct(hi)}"),
                 ("median date of the first (runs with one)", str(ct["median"])),
                 ("interquartile range", f"{ct['q25']} to {ct['q75']}"),
                 ("median week of the first", f"{ct['median_step']:g}")]
    out["First open-ended ceasefire"] = pd.DataFrame(rows, columns=["", "value"])
    sb = succeeded_by(runs)
    out["Who proposed the first open-ended ceasefire"] = pd.DataFrame({
        "proposer": [info.label(k) for k in sb["proposer"]], "kind": sb["kind"],
        "runs": sb["runs"], "share of all runs": [_pct(v) for v in sb["share"]]})
    if t.kind == "sweep" and t.points is not None and "point" in runs.columns:
        per = runs.assign(d=runs["outcome"].astype(str) == "durable_ceasefire").groupby(
            "point")["d"].agg(["sum", "size"])
        pts = t.points.set_index("point").join(per, how="left")
        pts["P(durable)"] = [f"{_pct(s / n)} ({_pct(wilson(int(s), int(n))[0])}–"
                             f"{_pct(wilson(int(s), int(n))[1])})" if n else "n/a"
                             for s, n in zip(pts["sum"].fillna(0), pts["size"].fillna(0),
                                             strict=True)]
        pts = pts.rename(columns={"size": "runs"}).drop(columns="sum").reset_index()
        out["Sweep points"] = pts
    return out


# ============================================================================ observations
def observations_html(t: P.Tables) -> str:
    """The section on the scenario's observations from the historical record and their
    scores (:mod:`sim.score`), or "" when the scenario has none."""
    if not (t.manifest.get("scenario") or {}).get("observed"):
        return ""
    head = "<h2 id=\"observations\">Observations</h2>"
    try:
        from sim.score import score

        st = score(t)
    except Exception as exc:  # noqa: BLE001 - a failed score must not lose the report
        return head + f"<p>(not scored: {_esc(type(exc).__name__)}: {_esc(exc)})</p>"
    obs = st.observations
    first = obs.drop_duplicates("id")
    parts = [head, "<p>Facts from the historical record and the share of runs that reproduce "
             "each (95% Wilson interval; <code>negsim score</code>). Overall score: the mean "
             "over observations of min(share / required share, 1).</p>",
             _table(pd.DataFrame({"id": first["id"], "kind": first["kind"],
                                  "description": first["description"],
                                  "source": first["source"],
                                  "required": [f"≥ {_pct(v)}" for v in first["required"]]}))]

    def share(r: Any) -> str:
        return (f"{_pct(r.share)} ({_pct(r.low)}–{_pct(r.high)}) {'✓' if r.met else '✗'}"
                if r.counted else "n/a ✗")

    if not st.sweep:
        o = st.overall.iloc[0]
        parts.append(_table(pd.DataFrame({
            "id": obs["id"], "runs counted": [f"{c} of {n}" for c, n in
                                              zip(obs["counted"], obs["runs"], strict=True)],
            "share matching": [share(r) for r in obs.itertuples()],
            "timing error": ["" if np.isnan(w) else f"{w:g} weeks"
                             for w in obs["timing_error_weeks"]],
            "note": obs["note"]})))
        parts.append(f"<p class=\"reading\">Overall score {o['score']:.2f}: "
                     f"{int(o['met'])} of {int(o['total'])} observations met.</p>")
        return "\n".join(parts)
    cells = {(r.point, r.id): share(r) for r in obs.itertuples()}
    rk = st.ranking()
    grid = rk[["point", *st.varied]].copy()
    for i in first["id"]:
        grid[i] = [cells.get((p, i), "") for p in rk["point"]]
    grid["score"] = [f"{v:.2f}" for v in rk["score"]]
    grid["met"] = [f"{m}/{n}" for m, n in zip(rk["met"], rk["total"], strict=True)]
    parts.append("<p>Per sweep point, best overall score first:</p>" + _table(grid))
    return "\n".join(parts)


# ============================================================================ html
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right}
figure{margin:1.2em 0 2.2em}figure img{max-width:100%;height:auto;border:1px solid #eee}
p.reading{font-size:1.05em;margin:.3em 0 .5em;padding:.4em .7em;background:#f3f8f4;
border-left:4px solid #1a9850}
.muted{color:#666;font-size:.9em}code{background:#f4f4f4;padding:0 .2em}
nav ul{columns:2}
"""


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _table(df: pd.DataFrame, cls: str = "") -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            text = f"{v:.4g}" if isinstance(v, (float, np.floating)) else v
            cls_ = ' class="num"' if num else ""
            cells.append(f"<td{cls_}>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table class=\"{cls}\"><thead><tr>{head}</tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")


def _manifest_rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, label in (("kind", "kind"), ("scenario_name", "scenario"),
                       ("scenario_file", "scenario file"), ("scenario_digest", "scenario digest"),
                       ("seed", "seed"), ("runs", "runs"), ("steps", "weeks simulated"),
                       ("code_version", "code version"), ("command", "command"),
                       ("created", "created"), ("complete", "complete")):
        if key in m:
            rows.append((label, str(m[key])))
    ov = m.get("overrides") or []
    rows.insert(3, ("overrides", ", ".join(ov) if ov else "none"))
    design = m.get("design")
    if isinstance(design, dict):
        rows.append(("design", f"{design.get('design')} over {', '.join(design.get('paths', []))}"
                     + (f" ({design['points']} points)" if design.get("points") else "")))
        specs = design.get("specs")
        if specs:
            rows.append(("varied", "; ".join(f"{k} = {v}" for k, v in specs.items())))
    pk = m.get("packages") or {}
    if pk:
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in pk.items())))
    return rows


def _png_data_uri(fig) -> str:
    buf = io.BytesIO()
    P.save_figure(fig, buf, "png", dpi=110)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def render_html(t: P.Tables, rendered: list[P.Rendered], skipped: dict[str, str]) -> str:
    """The report as one HTML string (charts embedded as data URIs)."""
    info = t.info
    m = t.manifest
    name = m.get("scenario_name") or info.name
    desc = (m.get("scenario") or {}).get("model", {}).get("description", "")
    parts = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>{_esc(name)}: negsim report</title>",
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
             f"<style>{CSS}</style></head><body>",
             f"<h1>{_esc(name)}</h1>"]
    n = len(t.runs)
    kind = "sweep" if t.kind == "sweep" else "run"
    sub = count(n, "run") + (f" at {count(t.n_points, 'sweep point')}" if kind == "sweep" else "")
    sub += f", {info.weeks} weeks from {info.start.date()}"
    parts.append(f"<p class=\"muted\">{_esc(sub)}</p>")
    if desc:
        parts.append(f"<p>{_esc(desc)}</p>")
    if not m.get("complete", True):
        parts.append("<p><strong>Incomplete results:</strong> the runs were interrupted; these "
                     "tables hold only the finished runs.</p>")
    observed = observations_html(t)
    # contents
    parts.append("<nav><h2>Contents</h2><ul><li><a href=\"#manifest\">Manifest</a></li>"
                 "<li><a href=\"#summary\">Summary tables</a></li>"
                 + ("<li><a href=\"#observations\">Observations</a></li>" if observed else "")
                 + "".join(f"<li><a href=\"#chart-{_esc(r.stem)}\">{_esc(r.title)}</a></li>"
                           for r in rendered) + "</ul></nav>")
    parts.append("<h2 id=\"manifest\">Manifest</h2>")
    parts.append(_table(pd.DataFrame(_manifest_rows(m), columns=["field", "value"])))
    parts.append("<h2 id=\"summary\">Summary tables</h2>")
    for title, df in summary_tables(t).items():
        parts.append(f"<h3>{_esc(title)}</h3>")
        if len(df):
            parts.append(_table(df))
        else:
            parts.append("<p class=\"muted\">None.</p>")
    fails = t.source.failures if t.source is not None else pd.DataFrame()
    if len(fails):
        parts.append(f"<p><strong>{len(fails)} runs failed</strong> (see failures.parquet); "
                     "they are not in the tables above.</p>")
    parts.append(observed)
    parts.append("<h2 id=\"charts\">Charts</h2>")
    for r in rendered:
        parts.append(f"<figure id=\"chart-{_esc(r.stem)}\"><h3>{_esc(r.title)}</h3>")
        try:
            line = reading(t, r)
        except Exception as exc:  # noqa: BLE001 - a missing reading must not lose the report
            line = f"(no reading: {type(exc).__name__}: {exc})"
        parts.append(f"<p class=\"reading\">{_esc(line)}</p>")
        parts.append(f"<img alt=\"{_esc(r.title)}\" src=\"{_png_data_uri(r.figure)}\">")
        parts.append("</figure>")
    if skipped:
        parts.append("<h3>Charts that do not apply</h3><ul>"
                     + "".join(f"<li><code>{_esc(k)}</code>: {_esc(v)}</li>"
                               for k, v in skipped.items()) + "</ul>")
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    parts.append(f"<p class=\"muted\">Written by negsim report on {_esc(stamp)} from "
                 f"{_esc(t.folder or 'tables in memory')}.</p></body></html>")
    return "\n".join(parts)


def build_report(folder: str | Path, out: str | Path | None = None,
                 names: list[str] | None = None) -> Path:
    """Write ``<folder>/report.html`` (or `out`): one self-contained file."""
    res = P.open_results(folder, need=P.TABLES)
    t = P.as_tables(res)
    rendered, skipped = P.render_charts(t, names)
    text = render_html(t, rendered, skipped)
    path = Path(out) if out is not None else Path(folder) / "report.html"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
