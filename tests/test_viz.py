"""`negsim viz`: the model the page steps, its knobs, the ensemble panel, the page rendered in
process (as Mesa tests its SolaraViz), the command's input errors, and the page in a real
headless Chromium with no request leaving this machine."""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from cli_run import bad, invoke
from scenario_text import DUEL, ROOT

from sim.experiment import run_replicates, run_seed
from sim.model import NegotiationModel
from sim.scenario import load_scenario
from sim.viz.ensemble import EnsembleCancelled, run_ensemble, shares_markdown
from sim.viz.knobs import knobs_for, latest_proposals, status_line, viz_model_class

LIBYA = ROOT / "scenarios" / "libya_2019.toml"


@pytest.fixture(scope="module")
def libya():
    return load_scenario(LIBYA)


@pytest.fixture(scope="module")
def duel():
    return load_scenario(DUEL)


# ---------------------------------------------------------------------- knobs and model
def test_knobs_cover_every_actor_with_the_scenarios_values(libya) -> None:
    knobs = {k.name: k for k in knobs_for(libya, seed=7)}
    assert knobs["seed"].value == 7 and knobs["seed"].integer
    for k, b in libya.backers.items():
        kn = knobs[f"capacity__{k}"]
        assert kn.path == f"backers.{k}.capacity" and kn.value == b.capacity
        assert kn.min <= kn.value <= kn.max and kn.max > 0
    for k, m in libya.mediators.items():
        assert knobs[f"leverage__{k}"].value == m.leverage
    for k, f in libya.factions.items():
        assert knobs[f"optimism__{k}"].value == f.optimism
        assert (knobs[f"optimism__{k}"].min, knobs[f"optimism__{k}"].max) == (-0.5, 0.5)
        assert knobs[f"war_cost__{k}"].value == f.war_cost
        assert knobs[f"war_cost__{k}"].max <= 1  # the field's own bound
    assert len(knobs) == 1 + len(libya.backers) + len(libya.mediators) + 2 * len(libya.factions)


def test_the_page_runs_run_0_of_negsim_run_with_the_same_seed(duel) -> None:
    cls = viz_model_class(duel, seed=5)
    params = inspect.signature(cls.__init__).parameters
    assert [p for p in params if p != "self"] == [k.name for k in cls.knobs]
    assert "scenario" not in params  # SolaraViz never hands it Mesa's scenario
    viz = cls()
    ref = NegotiationModel(duel, rng=run_seed(5, 0))
    for _ in range(30):
        viz.step()
        ref.step()
    assert viz.spec is duel
    assert viz.datacollector.model_vars == ref.datacollector.model_vars
    assert viz.datacollector.tables["events"] == ref.datacollector.tables["events"]


def test_a_knob_changes_its_field_and_nothing_else(libya) -> None:
    cls = viz_model_class(libya)
    m = cls(capacity__turkey=0.0, leverage__un=0.2, seed=3)
    assert m.spec.backers["turkey"].capacity == 0.0
    assert m.spec.mediators["un"].leverage == 0.2
    assert m.spec.backers["uae"] == libya.backers["uae"]
    assert m.settings_key() == (3, (("backers.turkey.capacity", 0.0),
                                    ("mediators.un.leverage", 0.2)), libya.model.weeks)
    with pytest.raises(TypeError, match="unknown parameters: nope"):
        cls(nope=1.0)


def test_changed_hands_and_the_diplomacy_panel_follow_the_records(libya) -> None:
    m = viz_model_class(libya, seed=1)()
    seen_changes = 0
    for _ in range(60):
        before = list(m.ctrl)
        m.step()
        want = {m.site_keys[i] for i, (a, b) in enumerate(zip(before, m.ctrl, strict=True))
                if a != b}
        assert set(m.changed) == want
        seen_changes += len(want)
        for s in want:
            assert m.changed_at[s] == m.step_no
    assert seen_changes > 0  # Libya's front moves in its first year
    ev = m.datacollector.tables["events"]
    proposals = [i for i, k in enumerate(ev["kind"]) if k == "proposal"]
    tabled = latest_proposals(m, 3)
    assert [t.id for t in tabled] == [ev["proposal_id"][i] for i in reversed(proposals)][:3]
    for t in tabled:
        answered = [ev["actor"][i] for i, k in enumerate(ev["kind"])
                    if k == "response" and ev["proposal_id"][i] == t.id]
        assert [a.actor for a in t.answers] == answered
        assert all(a.answer in ("accept", "reject", "counter") for a in t.answers)
    assert status_line(m).startswith(f"Week 60: {m.date(60).isoformat()}, ")


def test_a_step_holds_the_lock_that_readers_of_the_records_take(duel) -> None:
    """Play steps the model in one thread while Mesa's charts read its records in another:
    a read in the middle of a collect found columns of different lengths (a ValueError that
    blanked the page), so a step holds the model's lock and the collector reads under it."""
    m = viz_model_class(duel)()
    collect = m.datacollector.collect
    held: list[bool] = []

    def probe() -> None:
        got = m.lock.acquire(blocking=False)
        if got:
            m.lock.release()
        held.append(not got)

    def collect_and_probe(model) -> None:
        t = threading.Thread(target=probe)
        t.start()
        t.join()
        collect(model)

    m.datacollector.collect = collect_and_probe
    m.step()
    assert held == [True]
    got: list = []
    with m.lock:
        reader = threading.Thread(
            target=lambda: got.append(m.datacollector.get_model_vars_dataframe()))
        reader.start()
        reader.join(0.5)
        assert not got  # the reader waits for the step under way
    reader.join()
    assert len(got[0]) == 2


# ---------------------------------------------------------------------- ensemble
def test_ensemble_gives_negsim_runs_numbers_as_chunks_finish(duel) -> None:
    seen: list[int] = []
    got = run_ensemble(duel, 20, 11, jobs=1, on_update=lambda s: seen.append(s.done))
    assert seen == [10, 20] and got.finished
    ref = run_replicates(duel, 20, 11)
    counts = ref.runs["outcome"].value_counts()
    assert {r.outcome: r.runs for r in got.shares.itertuples()} == {
        r.outcome: int(counts.get(r.outcome, 0)) for r in got.shares.itertuples()}
    md = shares_markdown(got)
    assert "**20 of 20 runs**" in md and "95% interval" in md


def test_ensemble_stops_when_cancelled(duel) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def update(s):
        seen.append(s.done)
        cancel.set()  # new settings arrive after the first chunk

    with pytest.raises(EnsembleCancelled):
        run_ensemble(duel, 40, 0, jobs=1, on_update=update, cancel=cancel)
    assert seen == [10]


# ---------------------------------------------------------------------- the page, in process
def _texts(widget, out: list[str]) -> list[str]:
    """Every text in a widget tree (Markdown is a template; the grid's panels are `items`)."""
    import ipywidgets

    tpl = getattr(widget, "template", None)
    tpl = getattr(tpl, "template", tpl)
    if isinstance(tpl, str):
        out.append(tpl)
    for attr in ("children", "items"):
        for c in getattr(widget, attr, None) or []:
            if isinstance(c, str):
                out.append(c)
            elif isinstance(c, ipywidgets.Widget):
                _texts(c, out)
    return out


def _wait_for(pred, seconds: float = 30.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_page_steps_and_resets_with_new_settings(duel) -> None:
    solara = pytest.importorskip("solara")
    vw = pytest.importorskip("ipyvuetify")
    import ipywidgets

    from sim.viz.app import VizOptions, make_page

    page = make_page(VizOptions(duel, str(DUEL), seed=2, ensemble_runs=10, jobs=1))
    box, rc = solara.render(solara.AppLayout(children=[page()]), handle_error=False)

    def text() -> str:
        return "\n".join(_texts(box, []))

    t = text()
    for shown in ("Week 0: 2020-01-06, war", "Sites map", "Diplomacy", "West Patron",
                  "Ensemble: 10 runs"):
        assert shown in t, shown
    charts = rc.find(ipywidgets.Image)  # the map and four time charts, as PNGs
    assert len(charts) == 5
    before = [c.widget.value for c in charts]
    rc.find(vw.Btn, children=["Step"]).widget.click()
    assert "Week 1: 2020-01-13" in text() and "Week 0:" not in text()
    after = [c.widget.value for c in rc.find(ipywidgets.Image)]
    assert all(a != b for a, b in zip(before, after, strict=True))  # every chart redrawn
    # Mesa's render interval: one click runs 11 steps and draws once
    rc.find(vw.Slider, label="Render Interval (steps)").widget.v_model = 11
    rc.find(vw.Btn, children=["Step"]).widget.click()
    assert "Week 12: 2020-03-30" in text()
    assert "No proposal yet." not in text()  # the duel's mediator and factions propose
    assert "surplus" in text()
    _wait_for(lambda: "**10 of 10 runs**" in text() or "<strong>10 of 10 runs" in text())

    # a knob applies on Reset (as every SolaraViz parameter): a new model, a new ensemble
    slider = rc.find(vw.Slider, label="West Patron: capacity (units/week)").widget
    slider.v_model = 0.0
    rc.find(vw.Btn, children=["Reset"]).widget.click()
    assert "Week 0: 2020-01-06" in text()
    assert "10 of 10 runs" not in text()
    _wait_for(lambda: "10 of 10 runs" in text())


# ---------------------------------------------------------------------- the command


def test_viz_rejects_a_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        bad(invoke("viz", DUEL, "--port", port), f"--port: cannot listen on 127.0.0.1:{port}",
             "--port 0")


def test_viz_rejects_bad_input_before_starting(tmp_path: Path) -> None:
    bad(invoke("viz", tmp_path / "none.toml"), "none.toml", "not found")
    bad(invoke("viz", DUEL, "--set", "backers.west_patron.capacity=-1"),
         "backers.west_patron.capacity")
    bad(invoke("viz", DUEL, "--port", "70000"), "--port")
    bad(invoke("viz", DUEL, "--host", "no.such.host.invalid"), "--host: cannot resolve")


def test_viz_without_the_extra_says_how_to_install_it(monkeypatch) -> None:
    import sim.viz

    monkeypatch.setattr(sim.viz, "viz_available", lambda: "solara")
    bad(invoke("viz", DUEL), "pip install 'negsim[viz]'", "solara is not installed")


# ---------------------------------------------------------------------- in a real browser
CHROMIUM = shutil.which("chromium")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install "
                                              "chromium; .ci/run installs it)")
def test_page_in_headless_chromium_stays_on_this_machine(tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
    from sim.viz.server import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    shots = Path(os.environ.get("NEGSIM_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "sim", "viz", str(DUEL), "--port", str(port),
         "--ensemble-runs", "10", "--jobs", "1"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def up() -> bool:
            assert server.poll() is None, server.stdout.read()
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
            return False

        _wait_for(up, 60)  # the server imports Solara and the model first
        urls: list[str] = []
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1900})
            page.on("request", lambda r: urls.append(r.url))
            page.on("websocket", lambda ws: urls.append(ws.url))
            page.goto(url)
            # the app arrives over a websocket after the page loads ("Loading app" before)
            page.get_by_text(re.compile(r"Week 0: 2020-01-06")).first.wait_for(timeout=45_000)
            for actor in ("West Patron", "East Patron", "Mediators: Un", "Sites map"):
                assert page.get_by_text(actor).count() >= 1, actor
            assert page.locator(".v-card", has_text="Sites map").locator("img").count() == 1
            page.get_by_role("button", name="Step").click()
            page.get_by_text(re.compile(r"Week 1: 2020-01-13")).first.wait_for(timeout=20_000)
            assert page.get_by_text(re.compile(r"Week 0: ")).count() == 0
            page.get_by_text(re.compile(r"10 of 10 runs")).first.wait_for(timeout=30_000)
            # Play steps in another thread while the charts draw (this once blanked the page)
            page.get_by_role("button", name="▶").click()
            page.get_by_text(re.compile(r"Week [3-9]: ")).first.wait_for(timeout=30_000)
            page.get_by_role("button", name="❚❚").click()
            assert page.get_by_text("Traceback").count() == 0
            page.screenshot(path=str(shots / "negsim-viz.png"), full_page=True)
            browser.close()
        hosts = {re.match(r"^(?:blob:)?\w+://([^/:]+)", u).group(1) for u in urls
                 if not u.startswith("data:")}
        assert hosts == {"127.0.0.1"}, hosts
        assert any(u.startswith(f"ws://127.0.0.1:{port}/") for u in urls)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
