"""Outcome specs (``--outcome``): parsing, per-run values and per-point summaries."""

import math

import numpy as np
import pandas as pd
import pytest

from sim.outcomes import OutcomeError, outcome_specs, parse_outcome, per_point
from sim.results import wilson

FACTIONS = ["east", "west"]


def _runs() -> pd.DataFrame:
    return pd.DataFrame({
        "point": [0, 0, 0, 1, 1],
        "outcome": ["durable_ceasefire", "victory:east", "stalemate", "victory:east",
                    "victory:east"],
        "weeks": [100, 40, 100, 30, 50],
        "first_ceasefire_step": pd.array([12, None, 60, None, 20], dtype="Int64"),
        "control_east": [0.5, 1.0, 0.4, 1.0, 0.9],
        "control_west": [0.5, 0.0, 0.6, 0.0, 0.1],
    })


def test_default_is_the_durable_ceasefire():
    o = parse_outcome(None, FACTIONS)
    assert (o.spec, o.kind, o.binary) == ("durable_ceasefire", "share", True)
    assert o.values(_runs()).tolist() == [1, 0, 0, 0, 0]


def test_victory_counts_that_factions_wins_only():
    o = parse_outcome("victory:east", FACTIONS)
    assert o.values(_runs()).tolist() == [0, 1, 0, 1, 1]
    assert o.label == "P(victory: east)"


def test_first_ceasefire_counts_a_run_without_one_at_the_horizon():
    """Runs 1 and 3 ended in victory at weeks 40 and 30, with no ceasefire: they count the
    horizon, not the week the victory ended them."""
    o = parse_outcome("first_ceasefire", FACTIONS)
    assert o.kind == "time" and not o.binary
    assert o.values(_runs()).tolist() == [12, 100, 60, 100, 20]   # the longest run: 100
    assert parse_outcome("first_ceasefire", FACTIONS, horizon=104).values(
        _runs()).tolist() == [12, 104, 60, 104, 20]


def test_control_reads_the_final_share():
    assert parse_outcome("control:west", FACTIONS).values(_runs()).tolist() == \
        [0.5, 0.0, 0.6, 0.0, 0.1]


@pytest.mark.parametrize("spec", ["victory:nobody", "control:", "durable", "", "first"])
def test_an_unknown_spec_names_the_valid_ones(spec):
    with pytest.raises(OutcomeError, match="expected one of") as e:
        parse_outcome(spec, FACTIONS)
    for valid in outcome_specs(FACTIONS):
        assert valid in str(e.value)


def test_per_point_shares_carry_wilson_intervals():
    df = per_point(_runs(), parse_outcome("victory:east", FACTIONS))
    assert df["point"].tolist() == [0, 1] and df["runs"].tolist() == [3, 2]
    assert df["value"].tolist() == [pytest.approx(1 / 3), 1.0]
    assert (df.loc[0, "low"], df.loc[0, "high"]) == pytest.approx(wilson(1, 3))


def test_per_point_means_carry_normal_intervals():
    df = per_point(_runs(), parse_outcome("control:east", FACTIONS))
    v = np.array([0.5, 1.0, 0.4])
    half = 1.959964 * v.std(ddof=1) / math.sqrt(3)
    assert df.loc[0, "value"] == pytest.approx(v.mean())
    assert (df.loc[0, "low"], df.loc[0, "high"]) == pytest.approx((v.mean() - half,
                                                                  v.mean() + half))


def test_mean_intervals_stay_within_the_values_range():
    control = parse_outcome("control:west", FACTIONS)
    est, lo, hi = control.summary(np.array([0.0, 0.0, 0.3]))
    assert est == pytest.approx(0.1) and lo == 0.0 and 0.1 < hi < 1.0   # unclipped: -0.24
    assert control.summary(np.array([1.0, 1.0, 0.7]))[2] == 1.0
    weeks = parse_outcome("first_ceasefire", FACTIONS)
    assert weeks.summary(np.array([1.0, 1.0, 30.0]))[1] == 0.0
    assert all(math.isnan(x) for x in control.summary(np.array([0.4]))[1:])
