"""The development wars' stylized facts, over many runs, with one set of behavioural defaults.

Each war's scenario lists its facts as ``[[observed]]`` entries, each with the share of runs that
must reproduce it: every entry is a test here (``test_observation``). The facts no observation
kind can state get a test of their own below, with the tolerance of the war's record. A fact the
model does not meet is marked ``xfail(strict=True)`` with the reason (see the README, "What the
model reproduces"): it is reported, never loosened, and the mark fails as soon as it is met.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.experiment import run_replicates
from sim.scenario import scenario_from_dict
from sim.score import score

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

#: war -> (scenario file, runs, seed); Sudan's tolerances assume at least 300 runs
WARS = {
    "libya": ("libya_2019.toml", 200, 20190404),
    "donbas": ("donbas_2014.toml", 200, 20140407),
    "bosnia": ("bosnia_1995.toml", 200, 19941219),
    "sudan": ("sudan_2023.toml", 300, 20230415),
}

# Why the model misses what it misses (see the README, "What the model reproduces").
_RSF = ("the RSF never advances: each side spreads its strength over its fronts by what is "
        "at stake there, so a side weaker overall is weaker on every front and its believed "
        "chance never passes its attack threshold (concentrating a share on a main effort was "
        "tried and made the stronger side win outright in every war)")
_KYIV = ("Kyiv rejects the Minsk agreements: its aims (all of Donbas) fall only while it loses "
         "ground, and the August 2014 reversal rarely comes on time because Russia commits its "
         "own troops far earlier (median week 5, history ~20): the separatists count as "
         "outgunned from the start")
_FRONT = ("the front does not follow history site by site: without the timely reversal the "
          "war is either decided early or keeps moving")
_OCTOBER = ("the advancing Federation rejects the October ceasefire (audience cost of "
            "conceding while advancing, its claims), so the first open-ended ceasefire comes "
            "with Dayton, median December 1995")
#: (war, observation id) -> why the model does not reproduce it
NOT_MET: dict[tuple[str, str], str] = {
    ("libya", "hist_gna_accepts_joint_call"):
        "the GNA values the Turkish deployment announced for January 2020 (its projected "
        "strength) above a freeze after losing Sirte; what made Serraj sign is not modelled",
    ("libya", "hist_gna_retakes_gharyan"):
        "the GNA's counter-attacks of June 2019 come later in the model: in 2019 its believed "
        "chance of taking Gharyan rarely passes its attack threshold",
    ("libya", "hist_october_ceasefire_holds"):
        "the model's first ceasefire comes in August-September 2020, not October, so few runs "
        "have one starting in October",
    ("donbas", "sf3_first_ceasefire_after_reversal"): _KYIV,
    ("donbas", "sf3_kyiv_signs_minsk_protocol"): _KYIV,
    ("donbas", "sf5_kyiv_signs_minsk_ii"): _KYIV,
    ("donbas", "sf5_minsk_ii_not_left"): _KYIV,
    ("donbas", "hist_minsk_protocol_in_force"): _KYIV,
    ("donbas", "hist_school_ceasefire_in_force"): _KYIV,
    ("donbas", "sf4_donetsk_airport_falls"): _FRONT,
    ("donbas", "sf6_debaltseve_sep_end_2015"): _FRONT,
    ("donbas", "sf6_airport_sep_end_2015"): _FRONT,
    ("donbas", "sf6_mariupol_gov_end_2015"): _FRONT,
    ("donbas", "hist_sloviansk_gov"): _FRONT,
    ("donbas", "hist_debaltseve_gov"): _FRONT,
    ("bosnia", "sf6_us_ceasefire_within_10_weeks"): _OCTOBER,
    ("bosnia", "sf6_us_settlement_within_16_weeks"): _OCTOBER,
    ("bosnia", "hist_first_ceasefire_october"): _OCTOBER,
    ("bosnia", "hist_arbih_accepts_october_ceasefire"): _OCTOBER,
    ("bosnia", "hist_arbih_accepts_dayton"):
        "the ARBiH rejects Dayton in most runs: the map hands back sites it holds, short of "
        "its claims",
    ("bosnia", "hist_storm_takes_knin"):
        "Knin falls late or not at all: the Krajina Serbs have few fronts, so spreading by "
        "stake puts most of their force there",
    ("bosnia", "hist_mrkonjic_grad_to_rs"):
        "only Dayton carries the handovers, and in most runs another deal came first",
    ("bosnia", "hist_prijedor_not_taken"):
        "the Federation's offensive does not stop short of Prijedor in most runs",
    ("sudan", "sf1_truces_break_within_a_week"):
        "truces expire without fighting resuming: " + _RSF,
    ("sudan", "hist_rsf_takes_nyala"): _RSF,
    ("sudan", "hist_rsf_takes_el_geneina"): _RSF,
    ("sudan", "hist_rsf_takes_wad_madani"): _RSF,
    ("sudan", "hist_rsf_holds_wad_madani_end"): _RSF,
    ("sudan", "hist_rsf_takes_sinja"): _RSF,
}


def not_met(reason: str):
    """A stylized fact the model misses, reported with its reason (fails once it is met)."""
    return pytest.mark.xfail(strict=True, reason=reason)


def scenario(war: str, *overrides: str) -> sim.Scenario:
    return sim.load_scenario(ROOT / "scenarios" / WARS[war][0], list(overrides))


@functools.cache
def results(war: str, *overrides: str):
    _, runs, seed = WARS[war]
    scn = scenario(war, *overrides)
    return scn, run_replicates(scn, runs, seed=seed, jobs=2)


@functools.cache
def scores(war: str) -> pd.DataFrame:
    scn, res = results(war)
    return score(res, scn).observations.set_index("id")


def _observations():
    for war, (name, _, _) in WARS.items():
        data = tomllib.loads((ROOT / "scenarios" / name).read_text())
        for o in data.get("observed", []):
            reason = NOT_MET.get((war, o["id"]))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(war, o["id"], id=f"{war}-{o['id']}", marks=marks)


@pytest.mark.parametrize(("war", "obs"), list(_observations()))
def test_observation(war: str, obs: str) -> None:
    row = scores(war).loc[obs]
    assert row["counted"] > 0, f"{obs}: no run could be judged ({row['note']})"
    assert row["met"], (f"{obs}: {row['share']:.0%} of {row['counted']} runs "
                        f"[{row['low']:.0%}, {row['high']:.0%}], required {row['required']:.0%}")


def test_every_development_war_keeps_at_most_five_behavioural_overrides() -> None:
    for war in WARS:
        found = sim.scenario.behaviour_overrides(scenario(war))
        assert len(found) <= 5, (war, [p for p, _, _ in found])


# ---------------------------------------------------------------------- helpers
def share_at_least(flags, required: float) -> None:
    """The share of runs where `flags` holds reaches `required` (the record's tolerance)."""
    flags = np.asarray(flags, dtype=bool)
    share = flags.mean() if len(flags) else math.nan
    assert share >= required, f"{share:.0%} of {len(flags)} runs; required {required:.0%}"


def share_at_most(flags, limit: float) -> None:
    flags = np.asarray(flags, dtype=bool)
    share = flags.mean() if len(flags) else math.nan
    assert share <= limit, f"{share:.0%} of {len(flags)} runs; at most {limit:.0%} allowed"


def holders(scn: sim.Scenario, res) -> tuple[np.ndarray, list[str], int]:
    """Bloc holding each site at the end of each week: array [run, week, site] of bloc names,
    the site keys, and the number of weeks (a run that ended early keeps its last map)."""
    sites = list(scn.sites)
    idx = {s: i for i, s in enumerate(sites)}
    bloc = {k: f.bloc for k, f in scn.factions.items()}
    runs = res.runs["run"].to_numpy()
    pos = {r: i for i, r in enumerate(runs)}
    weeks = scn.model.weeks + 1
    out = np.empty((len(runs), weeks, len(sites)), dtype=object)
    out[:, :, :] = np.array([bloc[s.controller] for s in scn.sites.values()], dtype=object)
    ev = res.events
    ch = ev[ev.kind.isin(["capture", "handover"])].sort_values(["run", "step"], kind="stable")
    for r, step, actor, target in ch[["run", "step", "actor", "target"]].itertuples(index=False):
        out[pos[r], int(step):, idx[target]] = bloc[actor]
    return out, sites, weeks


def step_of(scn: sim.Scenario, date: dt.date) -> int:
    return scn.date_step(date)


def deals(res) -> pd.DataFrame:
    """Truces and ceasefires that came into force: run, start, kind, end (NaN: in force at the
    end), how it ended (breakdown, truce_end or replaced)."""
    ev = res.events
    life = ev[ev.kind.isin(["truce", "ceasefire", "breakdown", "truce_end"])]
    rows = []
    for r, g in life.groupby("run", sort=False):
        g = g.sort_index()
        open_ = None
        for kind, step in g[["kind", "step"]].itertuples(index=False):
            if kind in ("truce", "ceasefire"):
                if open_ is not None:
                    rows.append({**open_, "end": step, "how": "replaced"})
                open_ = {"run": r, "start": step, "kind": kind}
            elif open_ is not None:
                rows.append({**open_, "end": step, "how": kind})
                open_ = None
        if open_ is not None:
            rows.append({**open_, "end": math.nan, "how": "in force"})
    return pd.DataFrame(rows, columns=["run", "start", "kind", "end", "how"])


# ---------------------------------------------------------------------- Donbas
DONBAS_KEY = ["donetsk", "horlivka", "luhansk", "donetsk_airport", "luhansk_airport",
              "sloviansk", "kramatorsk", "mariupol", "novoazovsk", "ilovaisk", "savur_mohyla",
              "debaltseve", "avdiivka", "maryinka", "shchastia", "izvaryne", "marynivka"]


@not_met(_KYIV)
def test_donbas_sf2_the_patron_intervenes_as_its_client_nears_defeat():
    """Own forces committed 0-6 weeks after the separatists lose >= 3 key sites (>= 70% of
    runs)."""
    scn, res = results("donbas")
    held, sites, _ = holders(scn, res)
    key = [sites.index(s) for s in DONBAS_KEY]
    start_sep = (held[:, 0, key] == "sep").sum(axis=1)
    lost = start_sep[:, None] - (held[:, :, key] == "sep").sum(axis=2)
    ev = res.events
    dep = ev[(ev.kind == "deployment") & ev.actor.str.startswith("russia")]
    first_dep = dep.groupby("run").step.min()
    ok = []
    for i, r in enumerate(res.runs.run):
        weeks = np.flatnonzero(lost[i] >= 3)
        d = first_dep.get(r)
        ok.append(len(weeks) > 0 and d is not None and 0 <= d - weeks[0] <= 6)
    share_at_least(ok, 0.70)


@not_met(_FRONT)
def test_donbas_sf6_then_the_line_freezes():
    """No key site changes hands from week 45 to week 90 (>= 70% of runs)."""
    scn, res = results("donbas")
    held, sites, weeks = holders(scn, res)
    key = [sites.index(s) for s in DONBAS_KEY]
    end = min(90, weeks - 1)
    frozen = (held[:, 45:end + 1, key] == held[:, 45:46, key]).all(axis=(1, 2))
    share_at_least(frozen, 0.70)


@not_met("fighting goes on after Minsk II in too many runs: " + _FRONT)
def test_donbas_sf7_deaths_are_front_loaded():
    """>= 60% of battle losses fall before the freeze (week 45), in >= 70% of runs."""
    scn, res = results("donbas")
    st = res.steps
    cols = [c for c in st.columns if c.startswith("losses_")]
    total = st.groupby("run")[cols].max().sum(axis=1)
    early = st[st.step == 45].set_index("run")[cols].sum(axis=1)
    share_at_least((early / total.replace(0, np.nan)).reindex(total.index).fillna(0) >= 0.6,
                   0.70)


def test_donbas_sf8_without_regular_units_kyiv_wins_by_end_2014():
    """Without Russia's regular units, Kyiv takes Ilovaisk or cuts Donetsk from Luhansk and the
    border (Debaltseve and Izvaryne) by the end of 2014, in most runs."""
    scn, res = results("donbas", "backers.russia.troops=0", "backers.russia_lpr.troops=0")
    held, sites, _ = holders(scn, res)
    w = step_of(scn, dt.date(2014, 12, 31))
    i, d, z = (sites.index(s) for s in ("ilovaisk", "debaltseve", "izvaryne"))
    gov = held[:, w, :] == "gov"
    share_at_least(gov[:, i] | (gov[:, d] & gov[:, z]), 0.5 + 1e-9)


# ---------------------------------------------------------------------- Bosnia
def test_bosnia_sf1_the_unguaranteed_cessation_lapses():
    """The four-month cessation of 1995-01-01 is not renewed (>= 80%): it ends, and fighting
    on >= 2 fronts resumes within 4 weeks of its end."""
    scn, res = results("bosnia")
    d = deals(res)
    start = step_of(scn, dt.date(1995, 1, 1))
    cess = d[(d.kind == "truce") & (d.start.between(start - 2, start + 2))]
    ev = res.events
    fights = ev[ev.kind.isin(["capture", "battle"])]
    ok = []
    for r in res.runs.run:
        c = cess[cess.run == r]
        if c.empty or math.isnan(c.end.iloc[0]):
            ok.append(False)
            continue
        end = c.end.iloc[0]
        f = fights[(fights.run == r) & fights.step.between(end, end + 4)]
        ok.append(f.target.nunique() >= 2)
    share_at_least(ok, 0.80)


def test_bosnia_sf2_the_gaining_side_rejects():
    """<= 20% of acceptances of open-ended proposals come from a faction whose bloc's share
    rose over the prior 4 weeks (pooled over runs)."""
    scn, res = results("bosnia")
    ev = res.events
    props = ev[(ev.kind == "proposal") & ev.reason.str.contains("open-ended")]
    open_ids = set(zip(props.run, props.proposal_id, strict=True))
    acc = ev[(ev.kind == "response") & (ev.accepted == True)]  # noqa: E712
    acc = acc[[(r, p) in open_ids for r, p in zip(acc.run, acc.proposal_id, strict=True)]]
    st = res.steps.set_index(["run", "step"])
    bloc = {k: f.bloc for k, f in scn.factions.items()}
    share_cols = {b: [f"control_{k}" for k, f in scn.factions.items()
                      if f.bloc == b and f.armed] for b in set(bloc.values())}
    rising = []
    for r, step, actor in acc[["run", "step", "actor"]].itertuples(index=False):
        cols = share_cols[bloc[actor]]
        now = st.loc[(r, max(step - 1, 0)), cols].sum()
        before = st.loc[(r, max(step - 5, 0)), cols].sum()
        rising.append(now > before + 1e-9)
    assert len(rising) > 0
    share_at_most(rising, 0.20)


def test_bosnia_sf3_unguarded_enclaves_fall_guarded_ones_hold():
    """Srebrenica and Zepa fall within 1-3 weeks of a VRS attack (>= 60%); Gorazde, under an
    air-power threat, falls in <= 20% of runs."""
    scn, res = results("bosnia")
    ev = res.events
    vrs = ev[ev.actor.isin(["vrs", "svk"]) & ev.kind.isin(["capture", "battle"])]
    for site in ("srebrenica", "zepa"):
        ok = []
        for r in res.runs.run:
            a = vrs[(vrs.run == r) & (vrs.target == site)].sort_values("step")
            cap = a[a.kind == "capture"]
            ok.append(not cap.empty and cap.step.iloc[0] - a.step.iloc[0] <= 3)
        share_at_least(ok, 0.60)
    fell = vrs[(vrs.kind == "capture") & (vrs.target == "gorazde")].run.unique()
    share_at_most(res.runs.run.isin(fell), 0.20)


@not_met("without the shocks the Federation still accepts a freeze at ~70% Serb share: its "
         "aims fall while it loses ground in 1995 and the shortfall term does not outweigh "
         "the cost of the war")
def test_bosnia_sf4_without_the_shocks_no_ceasefire_before_1996():
    """With neither the Croatian offensive nor NATO's air campaign, <= 30% of runs reach an
    open-ended ceasefire before 1996."""
    scn, res = results("bosnia", "backers.croatia.troops=0", "backers.nato.air=0")
    first = pd.to_datetime(res.runs.first_ceasefire_date)
    share_at_most(first < pd.Timestamp("1996-01-01"), 0.30)


@not_met("the Serb share at the first ceasefire is within 49% +- 5 in a third of runs: the "
         "Federation's offensive overshoots or the ceasefire comes before it")
def test_bosnia_sf5_the_gaining_side_stops_short():
    """At the first open-ended ceasefire Banja Luka is still Serb (>= 80% of runs) and the
    Serb share is 49% +- 5 points (>= 70%)."""
    scn, res = results("bosnia")
    held, sites, weeks = holders(scn, res)
    bl = sites.index("banja_luka")
    value = np.array([s.value for s in scn.sites.values()])
    first = res.runs.first_ceasefire_step.to_numpy(dtype=float)
    serb_bl, in_band = [], []
    for i, f in enumerate(first):
        if math.isnan(f):
            serb_bl.append(False)
            in_band.append(False)
            continue
        m = held[i, int(min(f, weeks - 1))]
        serb_bl.append(m[bl] == "serb")
        share = value[m == "serb"].sum() / value.sum()
        in_band.append(abs(share - 0.49) <= 0.05)
    share_at_least(serb_bl, 0.80)
    share_at_least(in_band, 0.70)


def _settlements(res, earliest: int, latest: int) -> tuple[np.ndarray, np.ndarray]:
    """Per run: whether an open-ended ceasefire started in weeks earliest..latest (so a year
    can be seen before the run ends), and whether the first such one held 52 weeks."""
    d = deals(res)
    cf = d[(d.kind == "ceasefire") & d.start.between(earliest, latest)]
    first = cf.groupby("run").first()
    has = res.runs.run.isin(first.index).to_numpy()
    held = first.reindex(res.runs.run)
    lasted = np.where(held.end.isna(), held.start.notna(), held.end - held.start >= 52)
    return has, lasted.astype(bool)


@not_met("the guaranteed settlement holds a year in 80% of runs, not 90%: incidents still "
         "break some deals in their first weeks")
def test_bosnia_sf8_a_heavily_guaranteed_deal_holds():
    """With ~60,000 guarantor troops (IFOR behind the US's proposals from 1995-11-01) the
    settlement holds 12 months (>= 90% of the runs that reach one early enough to tell); with
    monitors only, in at most half as many runs (Walter 2002)."""
    scn, res = results("bosnia")
    window = (step_of(scn, dt.date(1995, 11, 1)), scn.model.weeks - 52)
    has, held = _settlements(res, *window)
    share_at_least(held[has], 0.90)
    _, bare = results("bosnia", "backers.nato.guarantee_forces=0",
                      "events.1995-11-01.set.mediators.us.guarantee_forces=0",
                      "events.1996-12-20.set.backers.nato.guarantee_forces=0",
                      "events.1996-12-20.set.mediators.us.guarantee_forces=0")
    bare_has, bare_held = _settlements(bare, *window)
    assert bare_held[bare_has].mean() <= held[has].mean() / 2


# ---------------------------------------------------------------------- Sudan
SUDAN_WEEK_END = 89


def test_sudan_sf2_truce_making_dies_out():
    """<= 1 truce accepted in weeks 10-89 in >= 70% of runs."""
    _, res = results("sudan")
    ev = res.events
    late = ev[(ev.kind == "truce") & (ev.step >= 10)].groupby("run").size()
    share_at_least(late.reindex(res.runs.run).fillna(0) <= 1, 0.70)


def test_sudan_sf3_no_open_ended_ceasefire_in_force_at_the_end():
    """No open-ended ceasefire in force at week 89 in >= 80% of runs."""
    _, res = results("sudan")
    st = res.steps
    last = st[st.step == SUDAN_WEEK_END].set_index("run").status
    share_at_least(last.reindex(res.runs.run).fillna("war") != "ceasefire", 0.80)


@not_met(_RSF)
def test_sudan_sf6_the_front_moves_both_ways_and_nobody_collapses():
    """Each side takes a site from the other (>= 80%); the RSF's net gain is positive at week
    89 (>= 70%); the SAF holds >= 8 and the RSF >= 2 of the 20 key sites at every step
    (>= 70%)."""
    scn, res = results("sudan")
    held, sites, weeks = holders(scn, res)
    key = [i for i, s in enumerate(sites) if s != "adre"]
    ev = res.events
    cap = ev[ev.kind == "capture"]
    both = [set(cap[cap.run == r].actor) >= {"saf", "rsf"} for r in res.runs.run]
    share_at_least(both, 0.80)
    end = min(SUDAN_WEEK_END, weeks - 1)
    rsf_now = (held[:, end, key] == "rsf").sum(axis=1)
    share_at_least(rsf_now > (held[:, 0, key] == "rsf").sum(axis=1), 0.70)
    saf_min = (held[:, :end + 1, key] == "saf").sum(axis=2).min(axis=1)
    rsf_min = (held[:, :end + 1, key] == "rsf").sum(axis=2).min(axis=1)
    share_at_least((saf_min >= 8) & (rsf_min >= 2), 0.70)


def test_sudan_sf7_port_sudan_stays_saf_throughout():
    scn, res = results("sudan")
    held, sites, _ = holders(scn, res)
    share_at_least((held[:, :, sites.index("port_sudan")] == "saf").all(axis=1), 0.95)


def test_sudan_sf8_backers_keep_both_sides_supplied():
    """Each side's backers give support > 0 in every quarter (>= 80% of runs)."""
    scn, res = results("sudan")
    st = res.steps
    ok = np.ones(len(res.runs), dtype=bool)
    for bloc in ("saf", "rsf"):
        cols = [f"support_{k}" for k, b in scn.backers.items()
                if scn.factions[b.client].bloc == bloc]
        q = st.assign(q=st.step // 13, s=st[cols].sum(axis=1)).groupby(["run", "q"]).s.sum()
        ok &= (q > 0).groupby(level=0).all().reindex(res.runs.run).fillna(False).to_numpy()
    share_at_least(ok, 0.80)


@not_met("with a static front neither side needs a ceasefire, supplied or not: " + _RSF)
def test_sudan_sf9_cutting_external_supply_raises_ceasefires():
    """Cutting both sides' external supply from week 40 raises the share of runs with an
    open-ended ceasefire in force at week 89 by >= 20 points (an expectation, not a record)."""
    scn, res = results("sudan")
    data = tomllib.loads((ROOT / "scenarios" / WARS["sudan"][0]).read_text())
    cut = {f"backers.{k}.{f}": 0.0 for k in scn.backers
           for f in ("capacity", "baseline", "troops")}
    data.setdefault("events", []).append(
        {"date": scn.step_date(40), "description": "external supply cut", "set": cut})
    cut_scn = scenario_from_dict(data)
    _, runs, seed = WARS["sudan"]
    cut_res = run_replicates(cut_scn, runs, seed=seed, jobs=2)

    def in_force(r) -> float:
        st = r.steps
        return (st[st.step == SUDAN_WEEK_END].status == "ceasefire").sum() / len(r.runs)

    assert in_force(cut_res) - in_force(res) >= 0.20
