"""Score runs against the scenario's observations from the historical record (``[[observed]]``).

Every observation (:mod:`sim.observed`) is judged run by run: a run matches it, does not, or
is not counted (it cannot tell: no deal of that kind, a ceasefire still in force at the end
that had not yet lasted long enough, a date the run did not simulate to). For each
observation this gives the runs counted, the runs matching, the share with its 95% Wilson
interval, whether the share reaches the observation's ``share`` (met), and for dated kinds a
timing error in weeks. The overall score is the mean over observations of
``min(share / share required, 1)`` (an observation with no run counted scores 0), with the
count of observations met. Sweep folders are scored point by point. ``docs/observations.md``
has the rules of every kind.

>>> from sim.score import score, score_folder                   # doctest: +SKIP
>>> res = sim.run_replicates(scn, runs=200)                      # doctest: +SKIP
>>> print(score(res, scn).observations)                          # doctest: +SKIP
>>> score_folder("results/libya").overall                        # doctest: +SKIP

Everything is vectorised over runs (10,000 Libya runs score in a few seconds).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from sim.folder import ResultsError, ResultsFolder, atomic_json, scenario_from_manifest
from sim.observed import (
    Answer,
    BrokenWithin,
    CeasefireInForce,
    FirstCeasefire,
    Holds,
    NoCeasefireBefore,
    NoVictory,
    SiteHeld,
    SupportHigher,
    observed_line,
)
from sim.results import wilson
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from sim.text import count

__all__ = [
    "COLUMNS",
    "ScoreError",
    "ScoreTable",
    "load_observations",
    "read_folder",
    "scenario_from_manifest",
    "score",
    "score_folder",
    "write_json",
]

#: Columns of :attr:`ScoreTable.observations` (``point`` first in a sweep).
COLUMNS = ["id", "kind", "description", "source", "required", "runs", "counted", "matched",
           "share", "low", "high", "met", "timing_error_weeks", "note"]

_INF = 10**9  # a week beyond any run: a run ended by a victory stays as it ended
_DEAL_KINDS = ("truce", "ceasefire")
_END_KINDS = ("breakdown", "truce_end")  # the deal ended and fighting resumed that week
_EVENT_KINDS = ("capture", "handover", "proposal", "response", *_DEAL_KINDS, *_END_KINDS)
_EVENT_COLUMNS = ["point", "run", "step", "kind", "actor", "target", "proposal_id", "accepted"]


class ScoreError(ValueError):
    """Tables or a folder that cannot be scored; the message says why."""


# ============================================================================ result
@dataclass(frozen=True)
class ScoreTable:
    """Scores of one set of runs (or of every point of a sweep) against observations.

    * ``observations``: one row per observation (and point): :data:`COLUMNS` (``point``
      first in a sweep). ``share`` is ``matched / counted`` (NaN when no run counted),
      ``low``/``high`` its 95% Wilson interval, ``met`` whether ``share >= required``,
      ``timing_error_weeks`` the median timing error in weeks (dated kinds; NaN otherwise or when
      no run gives one), ``note`` why runs were not counted.
    * ``overall``: one row per point (one row for a run): ``score`` (mean over observations
      of min(share / required, 1), 0 for an observation no run counted), ``met``, ``total``
      and in a sweep ``point`` and the point's varied values.
    """

    observations: pd.DataFrame
    overall: pd.DataFrame
    sweep: bool = False
    scenario: str = ""
    varied: tuple[str, ...] = field(default=())

    @property
    def score(self) -> float:
        """The overall score (a run; for a sweep, see :attr:`overall` or :meth:`ranking`)."""
        if len(self.overall) != 1:
            raise ValueError(f"{len(self.overall)} points: read .overall or .ranking()")
        return float(self.overall["score"].iloc[0])

    def ranking(self) -> pd.DataFrame:
        """The points by overall score, best first (ties: more observations met, then the
        lower point)."""
        by = ["score", "met"] + (["point"] if "point" in self.overall else [])
        asc = [False, False] + ([True] if "point" in self.overall else [])
        return self.overall.sort_values(by, ascending=asc, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN as None): per observation and overall; for a sweep, per
        point with its varied values, plus the ranking."""
        def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")]

        def overall(r: Mapping[str, Any]) -> dict[str, Any]:
            return {"score": _plain(r["score"]), "met": int(r["met"]), "total": int(r["total"])}

        out: dict[str, Any] = {"scenario": self.scenario, "kind": "sweep" if self.sweep
                               else "run"}
        if not self.sweep:
            out["overall"] = overall(self.overall.iloc[0])
            out["observations"] = rows(self.observations)
            return out
        out["varied"] = list(self.varied)
        points = []
        for r in self.overall.to_dict("records"):
            p = int(r["point"])
            obs = self.observations[self.observations["point"] == p].drop(columns="point")
            points.append({"point": p, "values": {k: _plain(r[k]) for k in self.varied},
                           "overall": overall(r), "observations": rows(obs)})
        out["points"] = points
        out["ranking"] = [{"point": int(r["point"]), "score": _plain(r["score"]),
                           "met": int(r["met"])} for r in self.ranking().to_dict("records")]
        return out


def _plain(v: Any) -> Any:
    """A JSON value: numpy scalars as Python ones, NaN / NA as None, dates as ISO text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dt.date | pd.Timestamp):
        return v.isoformat()
    return v


# ============================================================================ data
class _Data:
    """The tables of the runs, keyed by one integer per run (point and run), read lazily."""

    def __init__(self, runs: pd.DataFrame, steps: Callable[[], pd.DataFrame],
                 events: Callable[[], pd.DataFrame], scn: Scenario) -> None:
        need = {"run", "outcome", "weeks"} - set(runs.columns)
        if need:
            raise ScoreError(f"the runs table lacks the columns {', '.join(sorted(need))}")
        self.scn = scn
        self.horizon = scn.model.weeks
        self.sweep = "point" in runs.columns
        key = self.key(runs)
        outcome = runs["outcome"].astype(str)
        r = pd.DataFrame({
            "point": (runs["point"].to_numpy(np.int64) if self.sweep
                      else np.zeros(len(runs), np.int64)),
            "L": runs["weeks"].to_numpy(np.int64),
            "final": outcome.str.startswith("victory:").to_numpy(bool),
            "outcome": outcome.to_numpy(dtype=object),
        }, index=pd.Index(key, name="key"))
        if "first_ceasefire_step" in runs.columns:
            r["first"] = pd.to_numeric(runs["first_ceasefire_step"], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan)
        self.R = r[~r.index.duplicated()].sort_index()
        self._steps_src, self._events_src = steps, events
        self._steps: pd.DataFrame | None = None
        self._events: pd.DataFrame | None = None
        self._deals: pd.DataFrame | None = None

    @staticmethod
    def key(df: pd.DataFrame) -> np.ndarray:
        """One integer per run: ``point * 2**32 + run``."""
        run = df["run"].to_numpy(np.int64)
        if "point" in df.columns:
            return (df["point"].to_numpy(np.int64) << 32) + run
        return run

    def step(self, date: dt.date) -> int:
        return self.scn.date_step(date)

    def per_run(self, s: pd.Series) -> np.ndarray:
        """A Series indexed by run key as an array over the runs (NaN for runs not in it)."""
        return s.reindex(self.R.index).to_numpy(dtype=float, na_value=np.nan)

    # ------------------------------------------------------------------ tables
    @property
    def steps(self) -> pd.DataFrame:
        if self._steps is None:
            st = self._steps_src()
            if "run" not in st.columns or "step" not in st.columns:
                st = pd.DataFrame({"run": pd.Series(dtype=np.int64),
                                   "step": pd.Series(dtype=np.int64),
                                   "status": pd.Series(dtype=object)})
            st = st.assign(key=self.key(st), step=st["step"].to_numpy(np.int64))
            self._steps = st
        return self._steps

    @property
    def events(self) -> pd.DataFrame:
        """The events the observations read (other kinds are ignored), in the order they
        happened within each run (``order``)."""
        if self._events is None:
            ev = self._events_src()
            cols = [c for c in _EVENT_COLUMNS if c in ev.columns]
            if not {"run", "step", "kind"} <= set(cols):
                ev = pd.DataFrame({c: pd.Series(dtype=object) for c in _EVENT_COLUMNS
                                   if c != "point"})
                ev["run"] = ev["step"] = pd.Series(dtype=np.int64)
                cols = list(ev.columns)
            ev = ev[cols]
            ev = ev[ev["kind"].isin(_EVENT_KINDS).to_numpy(dtype=bool, na_value=False)]
            for c in ("actor", "target"):
                ev[c] = ev[c].astype(object) if c in ev.columns else None
            if "proposal_id" not in ev.columns:
                ev["proposal_id"] = pd.array([pd.NA] * len(ev), dtype="Int64")
            if "accepted" not in ev.columns:
                ev["accepted"] = pd.array([pd.NA] * len(ev), dtype="boolean")
            ev = ev.assign(key=self.key(ev), step=ev["step"].to_numpy(np.int64),
                           order=np.arange(len(ev)))
            self._events = ev.sort_values(["key", "step", "order"], kind="stable")
        return self._events

    def of_kind(self, *kinds: str) -> pd.DataFrame:
        ev = self.events
        return ev[ev["kind"].isin(kinds).to_numpy(dtype=bool, na_value=False)]

    @property
    def first(self) -> np.ndarray:
        """Step of each run's first open-ended ceasefire (NaN: none)."""
        if "first" not in self.R.columns:
            cf = self.of_kind("ceasefire")
            self.R["first"] = self.per_run(cf.groupby("key")["step"].min())
        return self.R["first"].to_numpy(dtype=float)

    @property
    def deals(self) -> pd.DataFrame:
        """Every truce and ceasefire that came into force: run key, ``start`` week, ``deal``
        (truce or ceasefire), ``end`` (the week it ended; NaN while in force at the end) and
        ``fought`` (it ended in fighting: a breakdown or a truce's expiry; else it was
        replaced by another deal). One deal is in force at a time, so a deal ends at the next
        breakdown, expiry or deal of its run."""
        if self._deals is None:
            lc = self.of_kind(*_DEAL_KINDS, *_END_KINDS)
            key, step = lc["key"].to_numpy(), lc["step"].to_numpy()
            kind = lc["kind"].astype(str).to_numpy()
            is_deal = np.isin(kind, _DEAL_KINDS)
            same = np.zeros(len(lc), bool)
            same[:-1] = key[1:] == key[:-1]
            nxt_step = np.full(len(lc), np.nan)
            nxt_step[:-1] = step[1:]
            nxt_kind = np.full(len(lc), "", dtype=object)
            nxt_kind[:-1] = kind[1:]
            end = np.where(same, nxt_step, np.nan)
            fought = same & np.isin(nxt_kind, _END_KINDS)
            self._deals = pd.DataFrame({"key": key[is_deal], "start": step[is_deal],
                                        "deal": kind[is_deal], "end": end[is_deal],
                                        "fought": fought[is_deal]})
        return self._deals

    def run_info(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(last simulated week, ended by a victory) of the runs with these keys."""
        r = self.R.reindex(keys)
        return (r["L"].to_numpy(dtype=float, na_value=np.nan),
                r["final"].to_numpy(dtype=bool, na_value=False))


class _Judged(NamedTuple):
    """Per run (in the order of ``_Data.R``): 1 matches, 0 does not, NaN not counted; the
    timing error in weeks (NaN: none); why a run was not counted (one reason, or one per
    run)."""

    match: np.ndarray
    timing: np.ndarray | None
    why: str | np.ndarray


def _judge(matched: np.ndarray, counted: np.ndarray, timing: np.ndarray | None,
           why: str | np.ndarray) -> _Judged:
    m = np.where(counted, matched.astype(float), np.nan)
    t = None if timing is None else np.where(counted, timing, np.nan)
    return _Judged(m, t, why)


def _window(d: _Data, start: dt.date | None, end: dt.date | None) -> tuple[int, int]:
    return (d.step(start) if start is not None else 0,
            d.step(end) if end is not None else _INF)


def _simulated_to(d: _Data, week: int) -> np.ndarray:
    """Runs whose outcome is known through `week` (clipped to the scenario's horizon): they
    simulated that far, or ended in a victory."""
    return d.R["final"].to_numpy() | (d.R["L"].to_numpy() >= min(week, d.horizon))


def _not_simulated(date: dt.date | str) -> str:
    return f"not simulated to {date}"


# ============================================================================ kinds
def _site_held(o: SiteHeld, d: _Data) -> _Judged:
    s0, tol = d.step(o.date), o.tolerance_weeks
    ch = d.of_kind("capture", "handover")
    ch = ch[(ch["target"] == o.site).to_numpy(dtype=bool, na_value=False)]
    init = d.scn.sites[o.site].controller
    rk = d.R.index.to_numpy()
    held = pd.concat([
        pd.DataFrame({"key": rk, "step": np.zeros(len(rk), np.int64),
                      "actor": np.full(len(rk), init, dtype=object),
                      "order": np.full(len(rk), -1)}),
        ch[["key", "step", "actor", "order"]]], ignore_index=True)
    held = held.sort_values(["key", "step", "order"], kind="stable")
    held = held.drop_duplicates(["key", "step"], keep="last")  # the holder at the week's end
    key, start = held["key"].to_numpy(), held["step"].to_numpy(np.int64)
    L, final = d.run_info(key)
    nxt = held.groupby("key")["step"].shift(-1).to_numpy(dtype=float, na_value=np.nan)
    end = np.where(np.isnan(nxt), np.where(final, _INF, L), nxt - 1)
    blocs = {k: f.bloc for k, f in d.scn.factions.items()}
    ours = held["actor"].map(blocs).to_numpy(dtype=object) == o.bloc
    dist = np.where(s0 < start, start - s0, np.where(s0 > end, s0 - end, 0)).astype(float)
    nearest = pd.Series(dist[ours], index=key[ours]).groupby(level=0).min()
    dist_run = d.per_run(nearest)
    matched = dist_run <= tol
    return _judge(matched, matched | _simulated_to(d, s0 + tol), dist_run,
                  _not_simulated(o.date))


def _ceasefire_in_force(o: CeasefireInForce, d: _Data) -> _Judged:
    s0, tol = d.step(o.date), o.tolerance_weeks
    st = d.steps
    if "status" not in st.columns:
        raise ScoreError("the steps table has no status column")
    cf = st[(st["status"].astype(str) == "ceasefire").to_numpy()]
    dist = d.per_run((cf["step"] - s0).abs().groupby(cf["key"]).min().astype(float))
    matched = dist <= tol
    return _judge(matched, matched | _simulated_to(d, s0 + tol), dist,
                  _not_simulated(o.date))


def _no_ceasefire_before(o: NoCeasefireBefore, d: _Data) -> _Judged:
    s0 = d.step(o.date)
    first = d.first
    early = first < s0
    timing = np.where(np.isnan(first), np.nan, np.maximum(s0 - first, 0))
    return _judge(~early, early | _simulated_to(d, s0 - 1), timing, _not_simulated(o.date))


def _first_ceasefire(o: FirstCeasefire, d: _Data) -> _Judged:
    a, b = d.step(o.start), d.step(o.end)
    first = d.first
    matched = (first >= a) & (first <= b)
    timing = np.where(np.isnan(first), np.nan,
                      np.where(first < a, a - first, np.where(first > b, first - b, 0.0)))
    return _judge(matched, ~np.isnan(first) | _simulated_to(d, b), timing,
                  _not_simulated(o.end))


def _broken_within(o: BrokenWithin, d: _Data) -> _Judged:
    a, b = _window(d, o.start, o.end)
    de = d.deals
    kinds = _DEAL_KINDS if o.deal == "any" else (o.deal,)
    de = de[de["deal"].isin(kinds).to_numpy() & (de["start"] >= a).to_numpy()
            & (de["start"] <= b).to_numpy()]
    key = de["key"].to_numpy()
    L, final = d.run_info(key)
    start, end = de["start"].to_numpy(float), de["end"].to_numpy(float)
    broken = de["fought"].to_numpy() & (end - start <= o.weeks)
    # settled: ended (in fighting or replaced by another deal), or in force for k weeks, or
    # in force when the war ended; else still in force, too young to tell (censored)
    settled = ~np.isnan(end) | (L - start >= o.weeks) | final
    g = pd.DataFrame({"n": settled, "broken": broken & settled}).groupby(key).sum()
    n, nb = d.per_run(g["n"]), d.per_run(g["broken"])
    n = np.nan_to_num(n)
    counted = n > 0
    matched = np.divide(nb, n, out=np.zeros_like(n), where=counted) >= o.min_share_of_deals - 1e-9
    what = "deal" if o.deal == "any" else o.deal
    return _judge(matched, counted, None,
                  f"no {what} came into force in the window (or only ones still in force "
                  f"at the end, fewer than {o.weeks} weeks after they started)")


def _answer(o: Answer, d: _Data) -> _Judged:
    a, b = d.step(o.start), d.step(o.end)
    ev = d.events
    kind = ev["kind"].to_numpy(dtype=object)
    actor = ev["actor"].to_numpy(dtype=object)
    step = ev["step"].to_numpy()
    props = ev[(kind == "proposal") & (actor == o.proposer) & (step >= a) & (step <= b)]
    resp = ev[(kind == "response") & (actor == o.responder)
              & (ev["target"].to_numpy(dtype=object) == o.proposer)]
    j = resp[["key", "proposal_id", "accepted", "order"]].merge(
        props[["key", "proposal_id", "step", "order"]].rename(
            columns={"step": "pstep", "order": "porder"}),
        on=["key", "proposal_id"], how="inner")
    j = j.sort_values(["key", "pstep", "porder", "order"], kind="stable")
    ok = j["accepted"].astype("boolean").to_numpy(dtype=object, na_value=None) == o.accepted
    s = pd.Series(ok, index=j["key"].to_numpy())
    if o.which == "first":
        per = s[~s.index.duplicated(keep="first")]
    elif o.which == "any":
        per = s.groupby(level=0).any()
    else:
        per = s.groupby(level=0).all()
    m = d.per_run(per.astype(float))
    return _Judged(m, None, f"no proposal by {o.proposer} in the window was answered by "
                            f"{o.responder}")


def _support_higher(o: SupportHigher, d: _Data) -> _Judged:
    cols = [f"support_{b}" for b in o.backer]
    st = d.steps
    missing = [c for c in cols if c not in st.columns]
    if missing:
        raise ScoreError(f"observation {o.id}: the steps table has no {', '.join(missing)} "
                         "column (weekly support of that backer)")
    val = st[cols].to_numpy(dtype=float).sum(axis=1)
    step, key = st["step"].to_numpy(), st["key"].to_numpy()

    def mean(w: Any) -> np.ndarray:
        a, b = d.step(w.start), d.step(w.end)
        sel = (step >= a) & (step <= b)
        return d.per_run(pd.Series(val[sel]).groupby(key[sel]).mean())

    hi, lo = mean(o.higher), mean(o.lower)
    counted = ~np.isnan(hi) & ~np.isnan(lo)
    return _judge(hi > o.factor * lo, counted, None,
                  "no simulated week in one of the windows")


def _holds(o: Holds, d: _Data) -> _Judged:
    a, b = _window(d, o.start, o.end)
    de = d.deals
    de = de[(de["deal"] == "ceasefire").to_numpy() & (de["start"] >= a).to_numpy()
            & (de["start"] <= b).to_numpy()]
    key = de["key"].to_numpy()
    L, final = d.run_info(key)
    start, end = de["start"].to_numpy(float), de["end"].to_numpy(float)
    lasted = np.where(np.isnan(end), L - start, end - start)
    ok = lasted >= o.weeks
    censored = np.isnan(end) & ~ok & ~final
    g = pd.DataFrame({"ok": ok, "censored": censored}).groupby(key).any()
    ok_run = d.per_run(g["ok"].astype(float)) == 1
    cens_run = d.per_run(g["censored"].astype(float)) == 1
    known = _simulated_to(d, b)
    counted = ok_run | (~cens_run & known)
    why = np.where(cens_run, f"censored: its ceasefire was still in force at the end, "
                             f"fewer than {o.weeks} weeks after it started",
                   _not_simulated(o.end or "the end of the run"))
    return _judge(ok_run, counted, None, why)


def _no_victory(o: NoVictory, d: _Data) -> _Judged:
    out = d.R["outcome"].to_numpy(dtype=object)
    won = np.array([s[8:] if s.startswith("victory:") else None for s in out], dtype=object)
    if o.faction is not None:
        lost = won == o.faction
    elif o.bloc is not None:
        blocs = {k: f.bloc for k, f in d.scn.factions.items()}
        lost = np.array([blocs.get(w) == o.bloc if w else False for w in won], dtype=bool)
    else:
        lost = won != None  # noqa: E711 - elementwise
    return _judge(~lost, np.ones(len(out), bool), None, "")


_KIND_FN: dict[type, Callable[[Any, _Data], _Judged]] = {
    SiteHeld: _site_held, CeasefireInForce: _ceasefire_in_force,
    NoCeasefireBefore: _no_ceasefire_before, FirstCeasefire: _first_ceasefire,
    BrokenWithin: _broken_within, Answer: _answer, SupportHigher: _support_higher,
    Holds: _holds, NoVictory: _no_victory,
}
_TIMED = (SiteHeld, CeasefireInForce, NoCeasefireBefore, FirstCeasefire)


# ============================================================================ scoring
def score(results: Any, scenario: Scenario | None = None, *,
          points: pd.DataFrame | None = None) -> ScoreTable:
    """Score runs against the observations of `scenario` (default: the scenario in the
    results folder's manifest).

    `results` is anything with ``runs``, ``steps`` and ``events`` tables: a
    :class:`sim.folder.Results` (as ``run_replicates`` returns it, or ``Results.load(folder)``),
    a :class:`sim.plots.Tables`, or a mapping of the three. A ``point`` column (a sweep) scores
    every point separately; `points` (default: the folder's ``points.parquet``) gives the
    points' varied values. Raises :class:`ScoreError` for tables that cannot be scored and
    for a scenario without observations.
    """
    if isinstance(results, Mapping):
        def get(name: str) -> pd.DataFrame:
            t = results.get(name)
            return t if t is not None else pd.DataFrame()
        manifest = results.get("manifest") or {}
        if points is None:
            points = results.get("points")
    else:
        def get(name: str) -> pd.DataFrame:
            return getattr(results, name)
        manifest = getattr(results, "manifest", None) or {}
        folder = getattr(results, "folder", None)
        if points is None and folder is not None:
            rf = ResultsFolder(Path(folder), manifest)
            points = rf.table("points") if rf.has("points") else None
    if scenario is None:
        if not manifest:
            raise ScoreError("no scenario given and no manifest to read it from")
        scenario = _scenario_of(manifest)
    return _score(get("runs"), lambda: get("steps"), lambda: get("events"), scenario, points)


def _score(runs: pd.DataFrame, steps: Callable[[], pd.DataFrame],
           events: Callable[[], pd.DataFrame], scn: Scenario,
           points: pd.DataFrame | None) -> ScoreTable:
    if not scn.observed:
        raise ScoreError(f"the scenario {scn.model.name!r} has no observations ([[observed]] "
                         "entries) to score against; see docs/observations.md")
    if not len(runs):
        raise ScoreError("no runs to score (did every run fail? see failures.parquet)")
    d = _Data(runs, steps, events, scn)
    sweep = d.sweep or points is not None
    pts = np.unique(d.R["point"].to_numpy())
    if points is not None and "point" in points.columns:
        pts = np.union1d(pts, points["point"].to_numpy(np.int64))
    point = d.R["point"].to_numpy()
    rows = []
    for o in scn.observed:
        j = _KIND_FN[type(o)](o, d)
        frame = pd.DataFrame({"point": point, "m": j.match,
                              "t": j.timing if j.timing is not None else np.nan,
                              "why": j.why if isinstance(j.why, np.ndarray) else j.why})
        g = frame.groupby("point")
        runs_n = g.size().reindex(pts, fill_value=0)
        counted = g["m"].count().reindex(pts, fill_value=0)
        matched = g["m"].sum().reindex(pts, fill_value=0)
        timing = g["t"].median().reindex(pts)
        out = frame[frame["m"].isna()]
        notes = (out.groupby(["point", "why"]).size() if len(out) else
                 pd.Series(dtype=np.int64))
        for p in pts:
            n, k = int(counted[p]), int(matched[p])
            share = k / n if n else math.nan
            lo, hi = wilson(k, n)
            note = "; ".join(f"{count(c, 'run')} not counted: {w}" if w
                             else f"{count(c, 'run')} not counted"
                             for (pp, w), c in notes.items() if pp == p)
            if not n:
                note = "no run counted" + (f" ({note})" if note else "")
            rows.append({"point": int(p), "id": o.id, "kind": o.kind,
                         "description": o.description, "source": o.source,
                         "required": o.share, "runs": int(runs_n[p]), "counted": n,
                         "matched": k, "share": share, "low": lo, "high": hi,
                         "met": bool(n and share >= o.share - 1e-12),
                         "timing_error_weeks": (float(timing[p]) if isinstance(o, _TIMED)
                                          else math.nan),
                         "note": note})
    table = pd.DataFrame(rows, columns=["point", *COLUMNS])
    table["credit"] = np.minimum(np.nan_to_num(table["share"].to_numpy(float))
                                 / table["required"].to_numpy(float), 1.0)
    overall = table.groupby("point", sort=True).agg(
        score=("credit", "mean"), met=("met", "sum"), total=("id", "size")).reset_index()
    overall["met"] = overall["met"].astype(int)
    table = table.drop(columns="credit")
    varied: tuple[str, ...] = ()
    if sweep:
        if points is not None and "point" in points.columns:
            varied = tuple(c for c in points.columns if c != "point")
            overall = overall.merge(points.astype({"point": np.int64}), on="point", how="left")
    else:
        table = table.drop(columns="point")
        overall = overall.drop(columns="point")
    return ScoreTable(table.reset_index(drop=True), overall, sweep, scn.model.name, varied)


# ============================================================================ folders
def load_observations(path: str | Path, base: Scenario | None = None) -> Scenario:
    """The observations of a scenario file, to score another run of the same war.

    The file is validated as any scenario (errors in ``[[observed]]`` name their line); with
    `base` (the scenario the runs used), its observations are then put into `base` and
    checked again against it (the names they use must exist there and their dates fall in
    its run), and that scenario is returned."""
    path = Path(path)
    try:
        scn = load_scenario(path)
    except ScenarioError as exc:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise exc from None
        exc.problems = [(p, observed_line(text, p) if p.startswith("observed[") else line, m)
                        for p, line, m in exc.problems]
        raise exc from None
    if base is None:
        return scn
    data = base.to_dict()
    data["observed"] = scn.to_dict()["observed"]
    return scenario_from_dict(
        data, source=f"{path} (its observations, checked against the scenario of the runs)")


def read_folder(folder: str | Path) -> ResultsFolder:
    """The results folder, checked to hold a runs table (ScoreError otherwise)."""
    try:
        return ResultsFolder.open(folder)
    except ResultsError as exc:
        raise ScoreError(str(exc)) from None


def _columns(folder: ResultsFolder, name: str, wanted: Callable[[str], bool]) -> pd.DataFrame:
    """The columns of a table that `wanted` keeps (an empty frame when there is no table)."""
    if not folder.has(name):
        return pd.DataFrame()
    try:
        names = folder.dataset(name).schema.names
        return folder.table(name, columns=[c for c in names if wanted(c)])
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise ScoreError(f"{folder.path / f'{name}.parquet'}: unreadable Parquet table "
                         f"({exc})") from None


def score_folder(folder: str | Path, scenario: Scenario | None = None) -> ScoreTable:
    """Score a results folder (run or sweep) against `scenario`'s observations (default: the
    scenario in its manifest). Reads only the columns the observations need."""
    folder = read_folder(folder)
    if scenario is None:
        scenario = _scenario_of(folder.manifest, str(folder.path / "manifest.json"))
    support = {f"support_{b}" for o in scenario.observed if isinstance(o, SupportHigher)
               for b in o.backer}
    runs = _columns(folder, "runs",
                    lambda c: c in ("point", "run", "outcome", "weeks", "first_ceasefire_step"))
    points = _columns(folder, "points", lambda c: True)
    return _score(
        runs,
        lambda: _columns(folder, "steps",
                         lambda c: c in ("point", "run", "step", "status") or c in support),
        lambda: _columns(folder, "events", lambda c: c in _EVENT_COLUMNS),
        scenario, points if len(points.columns) else None)


def _scenario_of(manifest: Mapping[str, Any], source: str = "manifest.json") -> Scenario:
    try:
        return scenario_from_manifest(dict(manifest), source)
    except ResultsError as exc:
        raise ScoreError(str(exc)) from None


def write_json(table: ScoreTable, path: str | Path, **extra: Any) -> dict[str, Any]:
    """Write ``table.to_dict()`` (plus `extra` fields) as JSON, atomically; return it."""
    path = Path(path)
    data = {**extra, **table.to_dict()}
    atomic_json(data, path)
    return data
