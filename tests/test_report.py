"""The report as an analyst reads it (scenario tables, inline SVG charts, values for people, CSV
downloads, a sweep led by its per-point table) and `negsim export` (CSV files equal to the
tables; bad input refused with exit 2 and nothing written)."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.results import KM_MEDIAN_LABEL, MEDIAN_AMONG_LABEL
from sim.scenario_tables import human, week_date

REPO = Path(__file__).resolve().parents[1]
LIBYA = REPO / "scenarios" / "libya_2019.toml"
DUEL = REPO / "scenarios" / "symmetric_duel.toml"
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# ============================================================================ reading the html
class _Tables(HTMLParser):
    """Every <table> of a page: its header, its rows (cell text and class), the CSV link after
    it, and the order of tables and charts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self.order: list[str] = []
        self._cell: list[str] | None = None
        self._row: list | None = None
        self._cls = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"head": [], "rows": [], "csv": None, "file": None})
            self.order.append("table")
        elif tag == "svg":
            self.order.append("svg")
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell, self._cls = [], a.get("class") or ""
        elif tag == "a" and (a.get("href") or "").startswith("data:text/csv"):
            self.tables[-1]["csv"] = a["href"]
            self.tables[-1]["file"] = a.get("download")

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(("".join(self._cell), self._cls, tag))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            t = self.tables[-1]
            if all(c[2] == "th" for c in self._row):
                t["head"] = [c[0] for c in self._row]
            else:
                t["rows"].append(self._row)
            self._row = None


def parse(path: Path) -> tuple[str, _Tables]:
    text = path.read_text(encoding="utf-8")
    p = _Tables()
    p.feed(text)
    return text, p


def frame(t: dict) -> pd.DataFrame:
    return pd.DataFrame([[c[0] for c in r] for r in t["rows"]], columns=t["head"])


def by_head(p: _Tables, *cols: str) -> dict:
    hits = [t for t in p.tables if all(c in t["head"] for c in cols)]
    assert hits, f"no table with columns {cols}"
    return hits[0]


def decoded(href: str) -> pd.DataFrame:
    head, data = href.split(",", 1)
    assert head == "data:text/csv;charset=utf-8;base64"
    return pd.read_csv(io.BytesIO(base64.b64decode(data)), dtype=str, keep_default_na=False)


# ============================================================================ fixtures
@pytest.fixture(scope="module")
def libya(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("libya") / "run"
    res = invoke("run", LIBYA, "--runs", 3, "--steps", 6, "--seed", 1, "--jobs", 1, "-q",
                 "--set", "mediators.un.leverage=0.07", "--out", out)
    assert res.exit_code == 0, res.output
    res = invoke("report", out, "--only", "outcomes,survival,map")
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "s"
    res = invoke("sweep", DUEL, "--vary", "backers.west_patron.capacity=2,10",
                 "--vary", "mediators.un.leverage=0,0.05", "--runs", 3, "--steps", 60,
                 "--jobs", 1, "-q", "--out", out)
    assert res.exit_code == 0, res.output
    res = invoke("report", out, "--only", "sweep-outcomes,outcomes,survival")
    assert res.exit_code == 0, res.output
    return out


# ============================================================================ values
def test_values_are_written_for_people():
    assert [human(v) for v in (True, False, None, np.nan, 250.0, 0.123456, 12345.678, 3,
                               ("a", "b"), {"x": 1.5}, pd.Timestamp("2020-10-19"))] == [
        "yes", "no", "", "", "250", "0.1235", "12346", "3", "a, b", "x = 1.5", "2020-10-19"]
    assert week_date("2019-04-01", 79.5) == "2020-10-08"
    assert week_date("2020-01-06", 0) == "2020-01-06"


# ============================================================================ run report
def test_run_report_shows_the_scenario_and_its_override(libya):
    text, p = parse(libya / "report.html")
    fac = frame(by_head(p, "field", "lna", "hor", "gna", "default"))
    assert fac.set_index("field").loc["name", "lna"] == "LNA (Haftar)"
    assert fac.set_index("field").loc["armed", "hor"] == "no"       # a boolean as yes/no
    ov = frame(by_head(p, "path", "value"))
    assert ov.values.tolist() == [["mediators.un.leverage", "0.07"]]
    med = by_head(p, "field", "un", "berlin", "default")
    row = next(r for r in med["rows"] if r[0][0] == "leverage")
    cell = row[med["head"].index("un")]
    assert cell[0] == "0.07" and "override" in cell[1] and "set" in cell[1]
    assert row[med["head"].index("berlin")][1] == ""                # the default, unmarked
    model = frame(by_head(p, "field", "value", "default", "unit", "kind")).set_index("field")
    assert model.loc["start_date", "value"] == "2019-04-04"
    events = frame(by_head(p, "#", "date", "description", "changes", "proposal"))
    assert len(events) == 17 and events["date"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    assert "russia_turkey proposes an open-ended ceasefire" in events["proposal"].tolist()
    sites = frame(by_head(p, "site", "held at the start by", "neighbours"))
    assert "tripoli" in sites["site"].tolist()


def test_run_report_charts_are_inline_svg_and_values_readable(libya):
    text, p = parse(libya / "report.html")
    assert p.order.count("svg") == 3 and "data:image/png" not in text
    assert 'font-family' in text or "font:" in text                  # text kept as text
    assert "do not apply" not in text.lower() and "sweep-heatmap" not in text
    no_data = re.sub(r'href="data:[^"]*"', "", text)
    assert "http" not in no_data and "<script" not in no_data and "<img" not in no_data
    cells = [c[0].strip() for t in p.tables for r in t["rows"] for c in r]
    for bad in ("True", "False", "None", "nan", "NaN", "{}", "[]", "()"):
        assert bad not in cells
    assert not [c for c in cells if re.search(r"\b(True|False|None)\b", c)]
    assert not re.search(r"median week", text)


def test_every_table_downloads_as_its_csv(libya, sweep):
    for folder in (libya, sweep):
        _, p = parse(folder / "report.html")
        assert len(p.tables) >= 8
        files = [t["file"] for t in p.tables]
        assert None not in files and len(set(files)) == len(files)
        assert all(f.startswith(f"{folder.name}-") and f.endswith(".csv") for f in files)
        for t in p.tables:
            df = decoded(t["csv"])
            assert list(df.columns) == t["head"], t["file"]
            assert df.values.tolist() == frame(t).values.tolist(), t["file"]


# ============================================================================ sweep report
def test_sweep_report_leads_with_its_per_point_table(sweep):
    text, p = parse(sweep / "report.html")
    assert p.order[:2] == ["table", "svg"]             # the points, then the sweep charts
    first = frame(p.tables[0])
    pts = pd.read_parquet(sweep / "points.parquet")
    runs = pd.read_parquet(sweep / "runs.parquet")
    assert len(first) == len(pts) == 4
    assert list(first.columns[:5]) == ["point", "backers.west_patron.capacity",
                                       "mediators.un.leverage", "runs", "P(durable ceasefire)"]
    assert {"95% interval", "Fragile ceasefire", "Stalemate (frozen front)"} <= set(first)
    for _, row in first.iterrows():
        g = runs[runs["point"] == int(row["point"])]
        assert row["runs"] == str(len(g))
        assert row["P(durable ceasefire)"] == f"{(g['outcome'] == 'durable_ceasefire').mean():.0%}"
    design = frame(by_head(p, "path", "spec", "values at the points"))
    assert design["spec"].tolist() == ["2,10", "0,0.05"]
    assert frame(by_head(p, "field", "value")).set_index("field").loc["runs per point",
                                                                      "value"] == "3"


def test_a_sweep_report_reads_the_outcome_it_is_asked_for(sweep, tmp_path):
    out = tmp_path / "r.html"
    res = invoke("report", sweep, "--only", "sweep-outcomes", "--outcome", "control:west",
                 "--out", out)
    assert res.exit_code == 0, res.output
    text, p = parse(out)
    first = frame(p.tables[0])
    assert first.columns[4] == "final control: west"
    runs = pd.read_parquet(sweep / "runs.parquet")
    for _, row in first.iterrows():
        g = runs[runs["point"] == int(row["point"])]
        assert row["final control: west"] == f"{g['control_west'].mean():.0%} of the sites' value"
    assert "Durable ceasefire" in first.columns       # the classes stay, as shares
    assert "The mean final control of west is" in text  # the sweep chart's reading
    bad = invoke("report", sweep, "--outcome", "control:nobody", "--out", tmp_path / "b.html")
    assert bad.exit_code == 2 and "control:west" in bad.output
    assert not (tmp_path / "b.html").exists()


def test_both_medians_of_the_first_ceasefire_are_named_dates(sweep):
    _, p = parse(sweep / "report.html")
    t = frame(by_head(p, "measure", "value")).set_index("measure")
    k = int(t.loc["runs with an open-ended ceasefire", "value"])
    assert k > 0
    for label in (MEDIAN_AMONG_LABEL.format(n=k), KM_MEDIAN_LABEL):
        assert re.fullmatch(r"\d{4}-\d\d-\d\d|not reached: .*", t.loc[label, "value"])


# ============================================================================ export
def test_export_writes_the_tables_as_csv(sweep, tmp_path):
    out = tmp_path / "csv"
    res = invoke("export", sweep, "--format", "csv", "--out", out, "-q")
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["events.csv", "failures.csv", "points.csv", "runs.csv", "steps.csv"]
    for name in ("runs", "events", "steps", "points", "failures"):
        want = pd.read_parquet(sweep / f"{name}.parquet")
        got = pd.read_csv(out / f"{name}.csv")
        assert list(got.columns) == list(want.columns)
        assert len(got) == len(want)
        for c in want.columns:
            w = want[c]
            if pd.api.types.is_datetime64_any_dtype(w):
                assert (pd.to_datetime(got[c]).values == w.values.astype("datetime64[ns]")
                        ).sum() == w.notna().sum(), (name, c)
            elif pd.api.types.is_numeric_dtype(w) and not pd.api.types.is_bool_dtype(w):
                np.testing.assert_array_equal(got[c].to_numpy(float), w.to_numpy(float),
                                              err_msg=f"{name}.{c}")
            else:
                assert got[c].fillna("").astype(str).str.lower().tolist() == \
                    w.astype(object).where(w.notna(), "").astype(str).str.lower().tolist()
    assert (out / "runs.csv").read_text().splitlines()[1].count("-") >= 2   # ISO dates
    res = invoke("export", sweep, "--out", out, "--tables", "runs", "--force", "-q")
    assert res.exit_code == 0 and "runs.csv" in res.output


def test_export_refuses_bad_input_and_writes_nothing(libya, tmp_path):
    def refused(*args, says: str, out: Path):
        res = invoke("export", *args, "-q")
        assert res.exit_code == 2, res.output
        assert says in res.output and "Traceback" not in res.output
        assert not out.exists() or not any(out.iterdir())

    out = tmp_path / "o"
    refused(libya, "--out", out, "--format", "xlsx", says="expected csv", out=out)
    refused(libya, "--out", out, "--tables", "runs,nonsense", says="nonsense", out=out)
    refused(libya, "--out", out, "--tables", "points", says="only a sweep", out=out)
    refused(tmp_path / "missing", "--out", out, says="no such folder", out=out)
    unfinished = tmp_path / "unfinished"
    shutil.copytree(libya, unfinished)
    m = json.loads((unfinished / "manifest.json").read_text())
    (unfinished / "manifest.json").write_text(json.dumps({**m, "complete": False}))
    refused(unfinished, "--out", out, says="--resume", out=out)
    broken = tmp_path / "broken"
    shutil.copytree(libya, broken)
    (broken / "steps.parquet").write_bytes(b"not parquet")
    refused(broken, "--out", out, says="steps.parquet", out=out)
    # an existing file is not replaced without --force, and nothing else is written
    out.mkdir()
    (out / "events.csv").write_text("mine\n")
    res = invoke("export", libya, "--out", out, "-q")
    assert res.exit_code == 2 and "--force" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["events.csv"]
    assert (out / "events.csv").read_text() == "mine\n"
    res = invoke("export", libya, "--out", out, "--force", "-q")
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out / "events.csv").shape[0] == pd.read_parquet(
        libya / "events.parquet").shape[0]


def test_export_help_has_an_example():
    res = invoke("export", "--help")
    assert res.exit_code == 0 and "Example" in res.output and "--tables" in res.output
